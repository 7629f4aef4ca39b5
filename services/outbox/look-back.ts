/**
 * Posts whose answer was lost (a timeout, a 5xx, a sender that died mid-send) may be in Teams already.
 * Before such a post is sent again the conversation is read back for it (through the SentCopyFinder port,
 * sent-copies.ts): found, it is recorded and not sent again; after a resend it is looked for once more, and
 * any second copy deleted. Without a finder such a post is sent again, as before, and may show twice.
 */
import type { Logger } from 'pino';
import type { OutboxPacing } from './pacing';
import { isPostOrReply, type OutboxQueue, parseMeta } from './queue';
import { clipText, LAST_ERROR_MAX, shortError, withTimeout } from './send-errors';
import { type CopyFinding, markerOf, type SentCopyFinder } from './sent-copies';
import type { OutboxMetrics, OutboxPayload, OutboxRow, OutboxSender, SendOutcome } from './types';

/** Clocks differ between this host and Teams: a copy is looked for from this much before the attempt began. */
const COPY_CLOCK_SKEW_MS = 2 * 60_000;
/** After sending again, Teams may still show a late first copy: looked for once more after this long. */
const VERIFY_AFTER_MS = 60_000;
/** A sent row's last look for a late copy is this long after it was sent; an unanswered look is retried until then. */
const VERIFY_FOR_MS = 30 * 60_000;

/** Records a leased row as sent with this message id (the send loop's markSent). */
export type MarkSent = (row: OutboxRow, activityId: string | null, now: Date, log: Logger, verifyAt: string | null) => Promise<'sent'>;

export interface LookBackOptions {
  queue: OutboxQueue;
  finder: SentCopyFinder | undefined;
  sender: OutboxSender;
  pacing: OutboxPacing;
  log: Logger;
  metrics: OutboxMetrics | undefined;
  maxAttempts: number;
  sendTimeoutMs: number;
  markSent: MarkSent;
}

export class CopyLookBack {
  constructor(private readonly o: LookBackOptions) {}

  /**
   * Before sending a leased row: when an earlier attempt may be in Teams, looks for it. Found, the row is
   * recorded as sent (`done`); not answered, the row waits and looks again (`done`); otherwise the send goes
   * ahead, with `verifyAt` set when the row is to be looked at once more after it.
   */
  async beforeSend(row: OutboxRow, clock: () => Date, log: Logger): Promise<{ done: SendOutcome } | { verifyAt: string | null }> {
    if (!(row.uncertain_since && this.o.finder && isPostOrReply(row))) return { verifyAt: null };
    // An earlier attempt may be in Teams (its answer was lost, or its sender died): look before sending again.
    const finding = await this.lookForCopy(row, row.uncertain_since);
    if (finding.status === 'found') return { done: await this.recordFound(row, finding.activityIds, clock(), log) };
    if (finding.status === 'unknown' && !finding.lasting && row.attempts < this.o.maxAttempts) {
      const now = clock();
      const waitMs = this.o.pacing.backoffMs(row.attempts);
      await this.o.queue.retryLater(row, {
        notBefore: new Date(now.getTime() + waitMs),
        lastError: clipText(`could not tell whether an earlier attempt is in Teams: ${finding.detail}`, LAST_ERROR_MAX),
      });
      this.o.metrics?.uncertainSend?.('waiting');
      log.warn({ detail: finding.detail, retryInMs: waitMs }, 'outbox: could not tell whether an earlier attempt is in Teams; looking again before sending');
      return { done: 'retry' };
    }
    this.o.metrics?.uncertainSend?.(finding.status === 'absent' ? 'absent' : 'unchecked');
    if (finding.status === 'unknown')
      log.warn(
        { detail: finding.detail },
        'outbox: could not tell whether an earlier attempt is in Teams; sending again (a second copy is looked for and deleted later)',
      );
    // Teams may still show the earlier copy late: look once more after this send.
    return { verifyAt: new Date(clock().getTime() + VERIFY_AFTER_MS).toISOString() };
  }

  /** Before giving up on a post: one that Teams took although no answer came is sent, not failed. */
  async foundBeforeGivingUp(row: OutboxRow, uncertainSince: string | null, now: Date, log: Logger): Promise<'sent' | undefined> {
    if (!(uncertainSince && this.o.finder && isPostOrReply(row))) return undefined;
    const finding = await this.lookForCopy(row, uncertainSince);
    if (finding.status === 'found') return this.recordFound(row, finding.activityIds, now, log);
    return undefined;
  }

  /** An earlier attempt is in Teams: the oldest copy is recorded as the row's message, the others deleted. */
  private async recordFound(row: OutboxRow, activityIds: readonly string[], now: Date, log: Logger): Promise<'sent'> {
    const [keep, ...extras] = activityIds;
    await this.removeExtras(row, extras, log);
    this.o.metrics?.uncertainSend?.('found');
    log.info({ activityId: keep, extras: extras.length }, 'outbox: an attempt whose answer was lost is in Teams; recorded, not sent again');
    return this.o.markSent(row, keep!, now, log, null);
  }

  /** Asks the finder whether a copy of the row's message is in its conversation (never throws). */
  private async lookForCopy(row: OutboxRow, since: string): Promise<CopyFinding> {
    try {
      return await withTimeout(
        this.o.finder!.find({
          kind: row.kind as 'post' | 'reply',
          conversationId: row.conversation_id,
          serviceUrl: row.service_url,
          replyToId: row.reply_to_id,
          payload: JSON.parse(row.payload) as OutboxPayload,
          marker: markerOf(row.id),
          meta: parseMeta(row.meta),
          since: new Date(Date.parse(since) - COPY_CLOCK_SKEW_MS),
        }),
        this.o.sendTimeoutMs,
      );
    } catch (err) {
      return { status: 'unknown', detail: shortError(err), lasting: false };
    }
  }

  /** Deletes second copies of one message (the one recorded stays); a copy that cannot be deleted is logged. */
  private async removeExtras(row: OutboxRow, activityIds: readonly string[], log: Logger): Promise<number> {
    let removed = 0;
    const sender = this.o.sender;
    for (const activityId of activityIds) {
      if (!sender.remove) {
        log.warn({ activityId }, 'outbox: a second copy of a message is in Teams and this sender cannot delete it');
        continue;
      }
      try {
        await withTimeout(
          sender.remove({ conversationId: row.conversation_id, serviceUrl: row.service_url, personal: parseMeta(row.meta)?.chat === 'personal' }, activityId),
          this.o.sendTimeoutMs,
        );
        removed += 1;
        this.o.metrics?.uncertainSend?.('removed');
        log.warn({ activityId }, 'outbox: deleted a second copy of a message');
      } catch (err) {
        log.warn({ activityId, err: shortError(err) }, 'outbox: could not delete a second copy of a message');
      }
    }
    return removed;
  }

  /**
   * Sent rows that were sent again after an uncertain attempt: Teams may show the earlier copy late, so the
   * conversation is read once more and any copy but the recorded one deleted. Replicas take a row by moving
   * its verify_at (compare-and-swap); a look that could not be made is repeated until VERIFY_FOR_MS after sending.
   */
  async verifySent(now: Date): Promise<void> {
    if (!this.o.finder) return;
    const db = this.o.queue.db;
    const at = now.toISOString();
    const rows = await db.selectFrom('outbox').selectAll().where('verify_at', '<=', at).where('status', '=', 'sent').orderBy('verify_at').limit(20).execute();
    for (const row of rows) {
      const next = new Date(now.getTime() + VERIFY_AFTER_MS).toISOString();
      const took = await db.updateTable('outbox').set({ verify_at: next }).where('id', '=', row.id).where('verify_at', '=', row.verify_at).executeTakeFirst();
      if (Number(took.numUpdatedRows) !== 1) continue;
      const log = this.o.log.child({ outboxId: row.id, conversationId: row.conversation_id, kind: row.kind });
      const finding = await this.lookForCopy(row, row.uncertain_since ?? row.sent_at ?? at);
      if (finding.status === 'unknown' && now.getTime() - Date.parse(row.sent_at ?? at) < VERIFY_FOR_MS) continue;
      if (finding.status === 'found') {
        // The copy this row recorded stays; when Teams gave no id for it, the oldest copy stays.
        const keep = row.result_activity_id && finding.activityIds.includes(row.result_activity_id) ? row.result_activity_id : finding.activityIds[0];
        await this.removeExtras(
          row,
          finding.activityIds.filter((id) => id !== keep),
          log,
        );
      }
      await db.updateTable('outbox').set({ verify_at: null }).where('id', '=', row.id).where('verify_at', '=', next).execute();
    }
  }
}
