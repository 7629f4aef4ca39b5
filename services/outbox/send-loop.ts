/**
 * One drain pass: close summary windows, list the due rows, and send each conversation's rows in order
 * (conversations in parallel) as the pace allows; each send's outcome settles its row — sent (listeners
 * told), back to pending (a 429's pause, a retry's backoff) or failed — and sent rows due a second look
 * for a late copy get it.
 */
import type { Logger } from 'pino';
import { CopyLookBack } from './look-back';
import type { OutboxPacing } from './pacing';
import { isPostOrReply, type OutboxQueue, parseMeta } from './queue';
import { classifySendError, clipText, LAST_ERROR_MAX, shortError, withTimeout } from './send-errors';
import { markCard, markerOf, type SentCopyFinder } from './sent-copies';
import type { SummaryWindows } from './summary-windows';
import type {
  DrainResult,
  DueRow,
  FailedItem,
  OutboxDelivery,
  OutboxKind,
  OutboxMetrics,
  OutboxPayload,
  OutboxRow,
  OutboxSender,
  SendFailure,
  SendOutcome,
  SentItem,
} from './types';

export interface SendLoopOptions {
  queue: OutboxQueue;
  pacing: OutboxPacing;
  windows: SummaryWindows;
  sender: OutboxSender;
  finder: SentCopyFinder | undefined;
  log: Logger;
  metrics: OutboxMetrics | undefined;
  maxAttempts: number;
  sendTimeoutMs: number;
  batchSize: number;
  parallelConversations: number;
  duePerConversation: number;
}

export class OutboxSendLoop {
  readonly sentListeners: Array<(item: SentItem) => unknown> = [];
  readonly failedListeners: Array<(item: FailedItem) => unknown> = [];
  private readonly lookBack: CopyLookBack;

  constructor(private readonly o: SendLoopOptions) {
    this.lookBack = new CopyLookBack({
      queue: o.queue,
      finder: o.finder,
      sender: o.sender,
      pacing: o.pacing,
      log: o.log,
      metrics: o.metrics,
      maxAttempts: o.maxAttempts,
      sendTimeoutMs: o.sendTimeoutMs,
      markSent: (row, activityId, now, log, verifyAt) => this.markSent(row, activityId, now, log, verifyAt),
    });
  }

  /** One pass; `fixedNow` fixes the clock for the whole pass (tests), otherwise `now` is read before each send. */
  async drainOnce(fixedNow: Date | undefined, now: () => Date): Promise<DrainResult> {
    const clock = (): Date => fixedNow ?? now();
    const result: DrainResult = { sent: 0, throttled: 0, retried: 0, failed: 0, summaries: 0 };
    await this.o.pacing.seed(clock(), (since) => this.o.queue.sentSince(since));
    if (this.o.windows.enabled) result.summaries = await this.o.windows.closeWindows(clock());

    const due = await this.o.queue.due(clock().toISOString(), this.o.duePerConversation, this.o.batchSize);
    const byConversation = new Map<string, DueRow[]>();
    for (const row of due) {
      const list = byConversation.get(row.conversation_id) ?? byConversation.set(row.conversation_id, []).get(row.conversation_id)!;
      list.push(row);
    }
    const queue = [...byConversation.values()];
    const worker = async (): Promise<void> => {
      for (let rows = queue.shift(); rows; rows = queue.shift()) await this.sendConversation(rows, clock, result);
    };
    await Promise.all(Array.from({ length: Math.min(this.o.parallelConversations, queue.length) }, worker));
    await this.lookBack.verifySent(clock());
    return result;
  }

  /** Sends one conversation's due rows in order, stopping at the first the pace refuses. */
  private async sendConversation(rows: DueRow[], clock: () => Date, result: DrainResult): Promise<void> {
    for (const row of rows) {
      const now = clock();
      // The slot is taken before the claim, so a row is never claimed only to wait.
      const slot = await this.o.pacing.reserve(row.conversation_id, now);
      if (!slot.ok) return;
      const claimed = await this.o.queue.claim(row, now);
      // Lost to another instance (or an older update of the same message is in flight): the slot is
      // wasted, which only ever errs on the slow side (the shared one is given back).
      if (!claimed) {
        await this.o.pacing.release(slot);
        continue;
      }
      const outcome = await this.sendOne(claimed, clock);
      await this.o.pacing.settle(slot, clock);
      this.o.metrics?.teamsSend(outcome);
      if (outcome === 'sent') result.sent++;
      else if (outcome === 'throttled') {
        result.throttled++;
        return;
      } else if (outcome === 'retry') result.retried++;
      else result.failed++;
    }
  }

  private async sendOne(row: OutboxRow, clock: () => Date): Promise<SendOutcome> {
    const meta = parseMeta(row.meta);
    const log = this.o.log.child({
      outboxId: row.id,
      conversationId: row.conversation_id,
      kind: row.kind,
      attempt: row.attempts,
      ...(typeof meta?.requestId === 'string' ? { requestId: meta.requestId } : {}),
    });
    const payload = JSON.parse(row.payload) as OutboxPayload;
    const delivery: OutboxDelivery = {
      id: row.id,
      kind: row.kind as OutboxKind,
      conversationId: row.conversation_id,
      serviceUrl: row.service_url,
      activityId: row.activity_id,
      replyToId: row.reply_to_id,
      // A posted card carries the row's marker, so a copy whose answer is lost can be found again.
      payload: row.kind === 'post' && payload.type === 'card' ? { type: 'card', card: markCard(payload.card, markerOf(row.id)) } : payload,
      attempt: row.attempts,
      meta,
    };
    const before = await this.lookBack.beforeSend(row, clock, log);
    if ('done' in before) return before.done;
    let sent: { activityId?: string };
    try {
      sent = await withTimeout(this.o.sender.send(delivery), this.o.sendTimeoutMs);
    } catch (err) {
      // Retry-After and backoff count from the answer, not from when the send started.
      const now = clock();
      return this.onSendError(row, classifySendError(err, now), now, log);
    }
    this.o.pacing.sent(row.conversation_id);
    const activityId = sent?.activityId ?? (row.kind === 'update' ? row.activity_id : null);
    return this.markSent(row, activityId, clock(), log, before.verifyAt);
  }

  /** Records a row as sent with its message id and tells the listeners (only the lease holder does). */
  private async markSent(row: OutboxRow, activityId: string | null, now: Date, log: Logger, verifyAt: string | null): Promise<'sent'> {
    const meta = parseMeta(row.meta);
    const sentAt = now.toISOString();
    const done = await this.o.queue.markSent(row, activityId, sentAt, verifyAt);
    if (!done) {
      // Another instance took the row over after our lease ran out and owns its outcome; telling
      // listeners too would record a second message id for one row.
      log.warn({ activityId }, 'outbox: sent after the lease ran out; another instance owns the row, so this copy may be a duplicate');
      return 'sent';
    }
    const covers = row.covered_ids ? await this.o.windows.finishSummary(row, activityId, sentAt) : [];
    log.debug({ covers: covers.length }, 'outbox: sent');
    await this.notify(this.sentListeners, {
      id: row.id,
      kind: row.kind as OutboxKind,
      conversationId: row.conversation_id,
      serviceUrl: row.service_url,
      dedupeKey: row.dedupe_key,
      meta,
      activityId,
      sentAt: now,
      covers,
    });
    return 'sent';
  }

  private async onSendError(row: OutboxRow, failure: SendFailure, now: Date, log: Logger): Promise<SendOutcome> {
    if (failure.kind === 'throttled') {
      const { until, waitMs } = await this.o.pacing.throttled(row.conversation_id, failure.retryAfterMs, now, log);
      // A 429 is the platform asking us to wait, not the message failing: the attempt is given back.
      await this.o.queue.retryLater(row, { notBefore: until, lastError: failure.summary, giveBackAttempt: true });
      log.info({ retryAfterMs: waitMs }, 'outbox: throttled by Teams; the conversation waits');
      return 'throttled';
    }
    // A timeout, a dropped connection or a 5xx says nothing about whether Teams took the post: it may be there.
    const uncertainSince = failure.kind === 'transient' && isPostOrReply(row) ? (row.uncertain_since ?? row.attempt_started_at) : row.uncertain_since;
    if (failure.kind === 'transient' && row.attempts < this.o.maxAttempts) {
      const waitMs = this.o.pacing.backoffMs(row.attempts);
      await this.o.queue.retryLater(row, { notBefore: new Date(now.getTime() + waitMs), lastError: failure.summary, uncertainSince });
      log.warn({ err: failure.summary, retryInMs: waitMs }, 'outbox: send failed; retrying');
      return 'retry';
    }
    // Before giving up on a post: one that Teams took although no answer came is sent, not failed.
    if ((await this.lookBack.foundBeforeGivingUp(row, uncertainSince, now, log)) === 'sent') return 'sent';
    const lastError = failure.kind === 'transient' ? `gave up after ${row.attempts} attempts; last: ${failure.summary}` : failure.summary;
    await this.o.queue.markFailed(row, clipText(lastError, LAST_ERROR_MAX));
    log.warn({ err: lastError }, 'outbox: send failed for good');
    if (row.covered_ids) await this.o.windows.releaseSummary(row, now);
    await this.notify(this.failedListeners, {
      id: row.id,
      kind: row.kind as OutboxKind,
      conversationId: row.conversation_id,
      dedupeKey: row.dedupe_key,
      meta: parseMeta(row.meta),
      attempts: row.attempts,
      lastError: clipText(lastError, LAST_ERROR_MAX),
    });
    return 'failed';
  }

  private async notify<T>(listeners: Array<(item: T) => unknown>, item: T): Promise<void> {
    for (const listener of listeners) {
      try {
        await listener(item);
      } catch (err) {
        this.o.log.warn({ err: shortError(err), outboxId: (item as { id: string }).id }, 'outbox: a listener failed; the row keeps its state');
      }
    }
  }
}
