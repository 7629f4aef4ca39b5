/**
 * Telling whether a message whose answer was lost is in the conversation, so the outbox never sends it a
 * second time (a slow Teams that accepted the post, a timeout, a process killed mid-send).
 *
 * Every card the outbox posts carries an invisible marker (an element id naming the outbox row); a text
 * message is recognised by its text. A finder (the port; the Graph adapter is in services/teams) reads the
 * conversation's recent messages from this bot and answers found (with the message ids, oldest first),
 * absent, or unknown (it could not look: a missing permission, an unknown team, Graph failing).
 */
import type { OutboxKind, OutboxMeta, OutboxPayload } from './types';

export interface CopySearch {
  kind: Extract<OutboxKind, 'post' | 'reply'>;
  conversationId: string;
  serviceUrl: string;
  /** For a reply: the thread's root message. */
  replyToId: string | null;
  payload: OutboxPayload;
  /** The marker the card carries (markerOf the row id). */
  marker: string;
  meta: OutboxMeta | null;
  /** Only messages created at or after this time count (the first attempt that may have landed, less clock skew). */
  since: Date;
}

export type CopyFinding =
  | { status: 'found'; activityIds: string[] }
  | { status: 'absent' }
  /** `lasting`: looking again will not help (no permission, no team id configured): do not wait for it. */
  | { status: 'unknown'; detail: string; lasting: boolean };

export interface SentCopyFinder {
  find(search: CopySearch): Promise<CopyFinding>;
}

const MARKER_PREFIX = 'pimbot-msg-';

/** The id a card posted for outbox row `rowId` carries on an invisible element. */
export function markerOf(rowId: string): string {
  return `${MARKER_PREFIX}${rowId}`;
}

/**
 * The card with the marker added as the last body element: an empty, hidden TextBlock (hosts never show
 * an element with isVisible false, and screen readers skip it). A card that already carries it is unchanged.
 */
export function markCard(card: object, marker: string): object {
  const c = card as { body?: unknown[] };
  const body = Array.isArray(c.body) ? c.body : [];
  if (body.some((e) => (e as { id?: unknown })?.id === marker)) return card;
  return { ...card, body: [...body, { type: 'TextBlock', id: marker, text: ' ', isVisible: false }] };
}

/** Whether a card's JSON (as Graph returns an attachment's content) carries the marker. */
export function carriesMarker(cardJson: string, marker: string): boolean {
  return cardJson.includes(`"${marker}"`);
}

/**
 * Text as Teams shows it, for comparing what was sent with what Graph returns as HTML: tags, Markdown
 * emphasis and entities removed, whitespace collapsed.
 */
export function plainText(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[*_`~]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
