/**
 * Summary collapse, stored: each collapsible post is counted in its channel's window (and held once the
 * window has had its cards), windows whose minute is over become summary cards, and a sent summary's
 * rows take its message id (or, refused for good, go out as their own cards). The decisions are the pure
 * ones in collapse.ts; the state lives in the outbox table (window_start, held rows) so every instance sees
 * the same minute.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { type Admission, admit, type CollapseOptions, planSummaryPages, summaryDedupeKey } from './collapse';
import { type OutboxQueue, type Placement, parseMeta } from './queue';
import type { RenderSummary, SummaryEntry } from './summary';
import type { CoveredItem, OutboxMessage, OutboxPayload, OutboxRow, OutboxStatus } from './types';

/**
 * Which statuses mean a window's row went out (or is going out) as its own card, and which mean it waits
 * for, or went out on, a summary. Every status is named, so a new one must be placed here.
 */
const OWN_CARD: Record<OutboxStatus, boolean> = {
  pending: true,
  sending: true,
  sent: true,
  failed: true,
  superseded: true,
  held: false,
  summarized: false,
};
const OWN_CARD_STATUSES = (Object.keys(OWN_CARD) as OutboxStatus[]).filter((s) => OWN_CARD[s]);

export class SummaryWindows {
  /**
   * Channels whose current window has had all its own cards, by the window's start (ms). Within that window
   * every further card is held, and that cannot change: only a closed window makes way for a new one, and a
   * window's count of own cards never goes down. So a burst reads the window's state once, not once per card.
   * (Read inside a transaction that then rolls back, a window can be taken as full a little early: its
   * remaining cards then go out on the minute's summary instead of one by one. Nothing is lost.)
   */
  private readonly fullWindows = new Map<string, number>();

  constructor(
    private readonly queue: OutboxQueue,
    /** Null: collapse is off (rows an earlier configuration summarised still finish). */
    private readonly options: CollapseOptions | null,
    private readonly render: RenderSummary,
    /** The largest card Teams takes: a summary page shrinks until its card fits. */
    private readonly cardMaxBytes: number,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.options !== null;
  }

  /** Where a new message starts: a collapsible post is counted in its channel's window, and held once the window has had its cards. */
  async place(message: OutboxMessage, now: Date, queue: OutboxQueue = this.queue): Promise<Placement> {
    const placement: Placement = {
      status: 'pending',
      notBefore: message.notBefore && message.notBefore > now ? message.notBefore : now,
      windowStart: null,
      summaryEntry: this.options && message.summary ? JSON.stringify(message.summary) : null,
    };
    if (this.options && message.kind === 'post' && message.summary) {
      const admission = await this.admission(message.conversationId, now, queue, this.options);
      placement.windowStart = admission.windowStart.toISOString();
      if (admission.hold) {
        placement.status = 'held';
        placement.notBefore = admission.closesAt;
      }
    }
    return placement;
  }

  private async admission(conversationId: string, now: Date, queue: OutboxQueue, options: CollapseOptions): Promise<Admission> {
    const full = this.fullWindows.get(conversationId);
    if (full !== undefined && full + options.windowMs > now.getTime()) {
      return { windowStart: new Date(full), hold: true, closesAt: new Date(full + options.windowMs) };
    }
    this.fullWindows.delete(conversationId);
    const admission = admit(await this.windowState(conversationId, queue), now, options);
    if (admission.hold) {
      // Channels are few; a bound keeps a long-lived process from holding every one it ever saw.
      if (this.fullWindows.size >= 10_000) this.fullWindows.clear();
      this.fullWindows.set(conversationId, admission.windowStart.getTime());
    }
    return admission;
  }

  /** Latest window of a channel and how many of its cards went out one by one. */
  private async windowState(conversationId: string, queue: OutboxQueue): Promise<{ latestStart: Date | null; individual: number }> {
    // One statement: the channel's latest window, and its cards that went out one by one counted up to the
    // threshold, which is all admit() asks (below it or not). A burst's window holds one row per card, nearly
    // all held: they are skipped in the index (outbox_window_status) by status, never read one by one.
    const cap = Math.max(1, this.options?.threshold ?? 1);
    const latest = sql`(SELECT max(l.window_start) FROM outbox l WHERE l.conversation_id = ${conversationId})`;
    const { rows } = await sql<{ start: string | null; n: number | string }>`
      SELECT ${latest} AS start,
        (SELECT count(*) FROM (
          SELECT 1 AS one FROM outbox w
          WHERE w.conversation_id = ${conversationId} AND w.window_start = ${latest} AND w.status IN (${sql.join(OWN_CARD_STATUSES)})
          LIMIT ${cap}
        ) c) AS n`.execute(queue.db);
    const start = rows[0]?.start ?? null;
    return start ? { latestStart: new Date(start), individual: Number(rows[0]!.n) } : { latestStart: null, individual: 0 };
  }

  /**
   * Builds summaries for windows that have closed. Each summary row records the rows it lists, and the
   * rows are marked in a second statement that any instance can repeat: a crash in between leaves the
   * rows held, the next pass computes the same page (same dedupe key) and finishes marking them.
   */
  async closeWindows(now: Date): Promise<number> {
    if (!this.options) return 0;
    const options = this.options;
    const db = this.queue.db;
    const at = now.toISOString();
    const windows = await db
      .selectFrom('outbox')
      .select(['conversation_id', 'window_start'])
      .distinct()
      .where('status', '=', 'held')
      .where('not_before', '<=', at)
      .execute();
    let created = 0;
    for (const w of windows) {
      if (!w.window_start) continue;
      const held = await db
        .selectFrom('outbox')
        .selectAll()
        .where('conversation_id', '=', w.conversation_id)
        .where('window_start', '=', w.window_start)
        .where('status', '=', 'held')
        .orderBy('created_at')
        .orderBy(this.queue.order)
        .execute();
      if (held.length === 1) {
        // A summary of one would only hide the card: it goes out as itself.
        await db.updateTable('outbox').set({ status: 'pending', not_before: at }).where('id', '=', held[0]!.id).where('status', '=', 'held').execute();
        continue;
      }
      const entries = (rows: readonly OutboxRow[]) => rows.map((r) => JSON.parse(r.summary_entry!) as SummaryEntry);
      const pages = planSummaryPages(
        held,
        options,
        (page) => cardBytes(this.render({ entries: entries(page), part: 1, parts: 1, batchTotal: held.length, now })) <= this.cardMaxBytes,
      );
      for (const [index, page] of pages.entries()) {
        const card = this.render({ entries: entries(page), part: index + 1, parts: pages.length, batchTotal: held.length, now });
        const dedupeKey = summaryDedupeKey(w.conversation_id, w.window_start, page[0]!.id);
        const inserted = await db
          .insertInto('outbox')
          .values({
            id: randomUUID(),
            conversation_id: w.conversation_id,
            service_url: page[0]!.service_url,
            kind: 'post',
            activity_id: null,
            reply_to_id: null,
            payload: JSON.stringify({ type: 'card', card } satisfies OutboxPayload),
            dedupe_key: dedupeKey,
            status: 'pending',
            attempts: 0,
            not_before: at,
            lease_owner: null,
            lease_until: null,
            last_error: null,
            created_at: at,
            sent_at: null,
            result_activity_id: null,
            // What a later re-rendering (requests decided) needs to say the same about the batch.
            meta: JSON.stringify({ part: index + 1, parts: pages.length, batchTotal: held.length }),
            revision: null,
            summary_entry: null,
            window_start: null,
            summary_id: null,
            covered_ids: JSON.stringify(page.map((r) => r.id)),
          })
          .onConflict((oc) => oc.column('dedupe_key').doNothing())
          .returningAll()
          .executeTakeFirst();
        const summary = inserted ?? (await this.queue.byDedupeKey(dedupeKey))!;
        if (inserted) created++;
        const ids = JSON.parse(summary.covered_ids ?? '[]') as string[];
        if (ids.length > 0) {
          await db.updateTable('outbox').set({ status: 'summarized', summary_id: summary.id }).where('id', 'in', ids).where('status', '=', 'held').execute();
        }
      }
      this.log.info({ conversationId: w.conversation_id, held: held.length, summaries: pages.length }, 'outbox: collapsed a busy minute into summary cards');
    }
    return created;
  }

  /** The rows a sent summary lists take its message id, so a re-enqueue of one of them returns it. */
  async finishSummary(summary: OutboxRow, activityId: string | null, sentAt: string): Promise<CoveredItem[]> {
    const db = this.queue.db;
    const rows = await db.selectFrom('outbox').selectAll().where('summary_id', '=', summary.id).orderBy('created_at').orderBy(this.queue.order).execute();
    await db
      .updateTable('outbox')
      .set({ result_activity_id: activityId, sent_at: sentAt })
      .where('summary_id', '=', summary.id)
      .where('status', '=', 'summarized')
      .execute();
    return rows.map((r) => ({ id: r.id, dedupeKey: r.dedupe_key, meta: parseMeta(r.meta), entry: JSON.parse(r.summary_entry!) as SummaryEntry }));
  }

  /** A summary Teams refused for good: its requests go out as their own cards rather than be lost. */
  async releaseSummary(summary: OutboxRow, now: Date): Promise<void> {
    const r = await this.queue.db
      .updateTable('outbox')
      .set({ status: 'pending', summary_id: null, not_before: now.toISOString() })
      .where('summary_id', '=', summary.id)
      .where('status', '=', 'summarized')
      .executeTakeFirst();
    this.log.warn({ outboxId: summary.id, released: Number(r.numUpdatedRows) }, 'outbox: summary refused; its requests go out as cards');
  }
}

function cardBytes(card: object): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}
