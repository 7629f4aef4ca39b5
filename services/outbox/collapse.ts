import { SUMMARY_MAX_ENTRIES } from './summary';

/**
 * Summary collapse: when a channel gets more approval cards in a minute than approvers can read, the
 * first `threshold` go out as cards and the rest wait for the minute to close, then go out together on
 * summary cards (as many as the batch needs, each listing at most `pageSize`). Pure decisions here; the
 * outbox stores the state (window_start, held rows) so every instance sees the same minute.
 */
export interface CollapseOptions {
  /** Cards per channel per window that go out one by one. */
  threshold: number;
  /** The window: it opens with the first card after the previous one closed. */
  windowMs: number;
  /** Most requests listed on one summary card. */
  pageSize: number;
}

export const DEFAULT_COLLAPSE: CollapseOptions = { threshold: 5, windowMs: 60_000, pageSize: SUMMARY_MAX_ENTRIES };

export function collapseOptions(partial: Partial<CollapseOptions> = {}): CollapseOptions {
  const o = { ...DEFAULT_COLLAPSE, ...partial };
  if (!(Number.isInteger(o.threshold) && o.threshold >= 0))
    throw new Error(`Summary threshold ${o.threshold} must be a whole number ≥ 0 (cards per channel per minute before collapsing)`);
  if (!(o.windowMs > 0)) throw new Error(`Summary window ${o.windowMs} ms must be positive`);
  if (!(Number.isInteger(o.pageSize) && o.pageSize >= 2 && o.pageSize <= SUMMARY_MAX_ENTRIES)) {
    throw new Error(`Summary page size ${o.pageSize} must be between 2 and ${SUMMARY_MAX_ENTRIES} (what one card can list under Teams' size limit)`);
  }
  return o;
}

/** What the outbox knows about a channel's latest window when a collapsible card arrives. */
export interface WindowState {
  /** Start of the channel's most recent window, if any. */
  latestStart: Date | null;
  /** Cards of that window that went (or are going) out one by one; the outbox counts them only up to the threshold. */
  individual: number;
}

export interface Admission {
  windowStart: Date;
  /** True: hold the card for the summary; false: send it as its own card now. */
  hold: boolean;
  /** When a held card's window closes and its summary can be built. */
  closesAt: Date;
}

/** Places an incoming card in its channel's window and says whether it goes now or waits for the summary. */
export function admit(state: WindowState, now: Date, options: CollapseOptions): Admission {
  const open = state.latestStart !== null && state.latestStart.getTime() + options.windowMs > now.getTime();
  const windowStart = open ? state.latestStart! : now;
  const individual = open ? state.individual : 0;
  return { windowStart, hold: individual >= options.threshold, closesAt: new Date(windowStart.getTime() + options.windowMs) };
}

/**
 * Splits a closed window's held cards into summary pages, in order, each at most `pageSize` long and,
 * when `fits` is given, small enough for it (a page shrinks until it fits; a single entry always goes).
 * Every entry lands on exactly one page. A window with one held card needs no summary: the caller
 * sends it as a card (an empty result means "nothing to summarise").
 */
export function planSummaryPages<T>(held: readonly T[], options: Pick<CollapseOptions, 'pageSize'>, fits: (page: readonly T[]) => boolean = () => true): T[][] {
  if (held.length < 2) return [];
  const pages: T[][] = [];
  let i = 0;
  while (i < held.length) {
    let size = Math.min(options.pageSize, held.length - i);
    while (size > 1 && !fits(held.slice(i, i + size))) size--;
    pages.push(held.slice(i, i + size));
    i += size;
  }
  return pages;
}

/**
 * The summary row's dedupe key: the channel, the window and the first row it lists. Two instances
 * closing the same window compute the same pages and so the same keys; only one summary is stored.
 */
export function summaryDedupeKey(conversationId: string, windowStart: string, firstRowId: string): string {
  return `summary:${conversationId}:${windowStart}:${firstRowId}`;
}
