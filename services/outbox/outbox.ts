import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import pino, { type Logger } from 'pino';
import { transactionDb, type Tx } from '../store/database';
import type { Database } from '../store/schema';
import { TEAMS_CARD_MAX_BYTES } from '../teams/teams-limits';
import { type CollapseOptions, collapseOptions } from './collapse';
import { Pacer } from './pacer';
import { OutboxPacing } from './pacing';
import { checkMessage, OutboxQueue, resultOf } from './queue';
import { OutboxSendLoop } from './send-loop';
import { shortError } from './send-errors';
import type { SentCopyFinder } from './sent-copies';
import type { SharedPace } from './shared-pace';
import type { RenderSummary } from './summary';
import { SummaryWindows } from './summary-windows';
import type { DrainResult, EnqueueResult, FailedItem, OutboxMessage, OutboxMetrics, OutboxRow, OutboxSender, SentItem } from './types';

export { classifySendError, retryAfterOf } from './send-errors';
export type { RenderSummary, SummaryCardData, SummaryEntry } from './summary';
export type {
  CoveredItem,
  DrainResult,
  EnqueueResult,
  FailedItem,
  OutboxDelivery,
  OutboxKind,
  OutboxMessage,
  OutboxMeta,
  OutboxMetrics,
  OutboxPayload,
  OutboxSender,
  OutboxStatus,
  SendFailure,
  SentItem,
  UncertainResult,
} from './types';

export interface OutboxOptions {
  db: Kysely<Database>;
  sender: OutboxSender;
  /** Renders a summary card (cards/summary's renderSummaryCard): services never import cards, so it is injected. */
  renderSummary: RenderSummary;
  log?: Logger;
  now?: () => Date;
  /** For backoff jitter; injectable for tests. */
  random?: () => number;
  pacer?: Pacer;
  /** Teams' limits counted across every replica on the database; the pacer stays in front as a cheap pre-check. */
  sharedPace?: SharedPace;
  /** Summary collapse of approval cards (posts enqueued with `summary`); false turns it off. */
  collapse?: Partial<CollapseOptions> | false;
  /** The largest card Teams takes, in bytes of JSON: a summary page shrinks until its card fits (Teams' limit by default). */
  cardMaxBytes?: number;
  /** Tries before a 5xx or timeout becomes `failed` (429s do not count). */
  maxAttempts?: number;
  sendTimeoutMs?: number;
  leaseMs?: number;
  /** Rows looked at per drain. */
  batchSize?: number;
  /** Conversations sent to at the same time during a drain. */
  parallelConversations?: number;
  /** Rows per conversation looked at per drain. */
  duePerConversation?: number;
  /** Names this instance in leases; a random id by default. */
  instanceId?: string;
  /** Counts each send's result (sent, throttled, retry, failed). */
  metrics?: OutboxMetrics;
  /**
   * Reads a conversation back to tell whether a post whose answer was lost is there (services/teams has the
   * Graph one). Without it such a post is sent again, as before, and may show twice.
   */
  finder?: SentCopyFinder;
}

const DEFAULTS = {
  maxAttempts: 6,
  /** A Bot Connector post normally answers in well under a second; 15 s leaves room for its own retry of a 5xx. */
  sendTimeoutMs: 15_000,
  /** Longer than a send can take, so a live instance never loses its lease mid-send to another. */
  leaseMs: 60_000,
  batchSize: 200,
  parallelConversations: 8,
  /** More than Teams lets one conversation send in any two seconds (8), so a pass never runs dry for lack of rows. */
  duePerConversation: 10,
} as const;

/**
 * A durable, paced outbox for Bot Connector messages: the face the rest of the code uses. Its parts:
 * - queue.ts: the rows and their lifecycle (enqueue, claim with a compare-and-swap lease, so two
 *   instances never send the same row; sent, retry, failed, prune);
 * - pacing.ts: the Pacer's windows and the shared pace across replicas, a 429's Retry-After, backoff;
 * - summary-windows.ts (with the pure collapse.ts): busy minutes collapsed into summary cards;
 * - look-back.ts (with sent-copies.ts): a post whose answer was lost is looked for before it is sent again;
 * - send-loop.ts: one drain pass over them.
 */
export class Outbox {
  readonly instanceId: string;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly queue: OutboxQueue;
  private readonly windows: SummaryWindows;
  private readonly loop: OutboxSendLoop;

  private draining: Promise<DrainResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private intervalMs = 500;

  constructor(options: OutboxOptions) {
    this.log = options.log ?? pino({ level: 'silent' });
    this.now = options.now ?? (() => new Date());
    this.instanceId = options.instanceId ?? randomUUID();
    const collapse = options.collapse === false ? null : collapseOptions(options.collapse ?? {});
    const sendTimeoutMs = options.sendTimeoutMs ?? DEFAULTS.sendTimeoutMs;
    const leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    if (leaseMs <= sendTimeoutMs)
      throw new Error(`Outbox leaseMs (${leaseMs}) must exceed sendTimeoutMs (${sendTimeoutMs}), or a slow send could be taken over and sent twice`);
    this.queue = new OutboxQueue(options.db, { instanceId: this.instanceId, leaseMs });
    const pacing = new OutboxPacing(options.pacer ?? new Pacer(), options.sharedPace, this.log, options.random ?? Math.random);
    this.windows = new SummaryWindows(this.queue, collapse, options.renderSummary, options.cardMaxBytes ?? TEAMS_CARD_MAX_BYTES, this.log);
    this.loop = new OutboxSendLoop({
      queue: this.queue,
      pacing,
      windows: this.windows,
      sender: options.sender,
      finder: options.finder,
      log: this.log,
      metrics: options.metrics,
      maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
      sendTimeoutMs,
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      parallelConversations: options.parallelConversations ?? DEFAULTS.parallelConversations,
      duePerConversation: options.duePerConversation ?? DEFAULTS.duePerConversation,
    });
  }

  /** Called after every successful send (a summary reports the requests it lists in `covers`). Errors are logged. */
  onSent(callback: (item: SentItem) => unknown): void {
    this.loop.sentListeners.push(callback);
  }

  /** Called when a row gives up (a 4xx other than 429, or retries used up). */
  onFailed(callback: (item: FailedItem) => unknown): void {
    this.loop.failedListeners.push(callback);
  }

  /**
   * Stores a message to send. A repeated dedupe key returns the existing row (with its result message
   * id once sent, so a caller that lost an onSent can still record it). An update supersedes older
   * unsent updates of the same message; a collapsible post may be held for a summary card.
   */
  async enqueue(message: OutboxMessage, now: Date = this.now()): Promise<EnqueueResult> {
    const { result, inserted } = await this.stage(message, now, this.queue);
    if (inserted) this.wake();
    return result;
  }

  /**
   * `enqueue`, as part of the caller's transaction (`Store.unitOfWork`): the message commits with the
   * caller's other writes, or not at all. The caller calls `wake()` once the transaction has committed
   * (until then the send loop cannot see the row; the next tick would find it anyway).
   */
  async enqueueIn(tx: Tx, message: OutboxMessage, now: Date = this.now()): Promise<EnqueueResult> {
    return (await this.stage(message, now, this.queue.within(transactionDb(tx)))).result;
  }

  /** Stores the message through `queue`; `inserted`: a new row the send loop has to look at. */
  private async stage(message: OutboxMessage, now: Date, queue: OutboxQueue): Promise<{ result: EnqueueResult; inserted: boolean }> {
    checkMessage(message);
    // A repeated key is found by the insert itself (ON CONFLICT DO NOTHING, then the existing row is read):
    // looking it up first cost a statement on every new message.
    const added = await queue.add(message, await this.windows.place(message, now, queue), now);
    if (added.kind === 'existing') return { result: resultOf(added.row, false), inserted: false };
    if (added.kind !== 'inserted') return { result: resultOf(added.row, added.kind === 'superseded'), inserted: false };
    const row = added.row;
    this.log.debug({ outboxId: row.id, conversationId: row.conversation_id, kind: row.kind, status: row.status }, 'outbox: enqueued');
    return { result: resultOf(row, true), inserted: true };
  }

  async byDedupeKey(dedupeKey: string): Promise<OutboxRow | undefined> {
    return this.queue.byDedupeKey(dedupeKey);
  }

  /**
   * One pass: closes channel windows whose minute is over (building their summaries), then sends every
   * due row the pacer allows. `now` fixes the clock for the whole pass (tests); otherwise the injected
   * clock is read before each send. Concurrent calls share one pass.
   */
  async drain(now?: Date): Promise<DrainResult> {
    if (this.draining) return this.draining;
    this.draining = this.loop.drainOnce(now, this.now).finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** Drains every `intervalMs` until stop(); an enqueue also wakes it. */
  start(intervalMs = 500): void {
    if (this.running) return;
    this.running = true;
    this.intervalMs = intervalMs;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.draining?.catch(() => undefined);
  }

  /** Whether any row is waiting to be sent now (due, or leased by a send that may have died). */
  async hasDue(now: Date = this.now()): Promise<boolean> {
    return this.queue.hasDue(now.toISOString());
  }

  /** Which part of its batch a sent summary card was, for re-rendering it in place (undefined once pruned). */
  async summaryBatch(conversationId: string, activityId: string): Promise<{ part: number; parts: number; batchTotal: number } | undefined> {
    return this.queue.summaryBatch(conversationId, activityId);
  }

  /** Deletes finished rows created before `before` (sent, failed, superseded, summarized); returns how many. */
  async prune(before: Date): Promise<number> {
    return this.queue.prune(before);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.drain()
        .catch((err: unknown) => this.log.warn({ err: shortError(err) }, 'outbox: drain failed; the next tick retries'))
        .finally(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref?.();
  }

  /** Has the send loop look at once (after messages staged with `enqueueIn` have committed). */
  wake(): void {
    if (this.running && !this.draining) this.schedule(0);
  }
}
