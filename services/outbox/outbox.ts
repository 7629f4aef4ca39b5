import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import pino, { type Logger } from 'pino';
import { renderSummaryCard, type SummaryCardData, type SummaryEntry } from '../../cards/summary/summary-card';
import { TEAMS_CARD_MAX_BYTES } from '../../cards/card-limits';
import type { Database } from '../store/schema';
import { engineOf } from '../store/dialect';
import { admit, collapseOptions, planSummaryPages, summaryDedupeKey, type CollapseOptions } from './collapse';
import { Pacer } from './pacer';
import type { SharedPace } from './shared-pace';
import type { OutboxTable } from './schema';
import { markCard, markerOf, type CopyFinding, type SentCopyFinder } from './sent-copies';

export type OutboxKind = 'post' | 'update' | 'reply';
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'held' | 'summarized' | 'superseded';

/** What to send: a card (an Adaptive Card's JSON) or a plain-text message. */
export type OutboxPayload = { type: 'card'; card: object } | { type: 'text'; text: string; mentions?: Array<{ id: string; name: string }> };

/** Small ids the caller gets back when the message is sent (never the payload). */
export type OutboxMeta = Record<string, string | number | boolean | null>;

export interface OutboxMessage {
  conversationId: string;
  serviceUrl: string;
  kind: OutboxKind;
  /** For an update: the message to rewrite. */
  activityId?: string;
  /** For a reply: the message (thread root) to reply under. */
  replyToId?: string;
  payload: OutboxPayload;
  /** Unique per thing to send, e.g. `card:<requestId>:v<version>:<conversationId>`; a repeat is a no-op. */
  dedupeKey: string;
  meta?: OutboxMeta;
  /** For updates: an update never replaces one with a higher revision (e.g. the request's version). */
  revision?: number;
  /** For approval-card posts: makes the post collapsible into a summary card, listed with these details. */
  summary?: SummaryEntry;
  /** Do not send before this time. */
  notBefore?: Date;
}

/** What the sender port receives. */
export interface OutboxDelivery {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  serviceUrl: string;
  activityId: string | null;
  replyToId: string | null;
  payload: OutboxPayload;
  /** 1 for the first try. */
  attempt: number;
  meta: OutboxMeta | null;
}

/**
 * The port the outbox sends through (the bot adapts ChatNotifier to it). Errors should carry
 * `statusCode` or `status`, and for a 429 `retryAfterMs` or the response's Retry-After header.
 */
export interface OutboxSender {
  send(item: OutboxDelivery): Promise<{ activityId?: string }>;
  /** Deletes a message (a second copy of a post whose first answer was lost); without it extras stay. */
  remove?(target: { conversationId: string; serviceUrl: string; personal: boolean }, activityId: string): Promise<void>;
}

/** A row a summary card listed in its place. */
export interface CoveredItem {
  id: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  entry: SummaryEntry;
}

export interface SentItem {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  serviceUrl: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  /** The posted message's id (for an update, the updated message's). */
  activityId: string | null;
  sentAt: Date;
  /** For a summary card: the requests it lists (empty otherwise). */
  covers: CoveredItem[];
}

export interface FailedItem {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  attempts: number;
  lastError: string;
}

export interface EnqueueResult {
  id: string;
  /** False when the dedupe key was already there: the existing row's state is returned. */
  created: boolean;
  status: OutboxStatus;
  /** The sent message's id once there is one (for a summarized row, the summary's). */
  resultActivityId: string | null;
}

export interface DrainResult {
  sent: number;
  throttled: number;
  retried: number;
  failed: number;
  summaries: number;
}

export interface OutboxOptions {
  db: Kysely<Database>;
  sender: OutboxSender;
  log?: Logger;
  now?: () => Date;
  /** For backoff jitter; injectable for tests. */
  random?: () => number;
  pacer?: Pacer;
  /** Teams' limits counted across every replica on the database; the pacer stays in front as a cheap pre-check. */
  sharedPace?: SharedPace;
  /** Summary collapse of approval cards (posts enqueued with `summary`); false turns it off. */
  collapse?: Partial<CollapseOptions> | false;
  renderSummary?: (data: SummaryCardData) => object;
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
  metrics?: { teamsSend(result: 'sent' | 'throttled' | 'retry' | 'failed'): void; uncertainSend?(result: UncertainResult): void };
  /**
   * Reads a conversation back to tell whether a post whose answer was lost is there (services/teams has the
   * Graph one). Without it such a post is sent again, as before, and may show twice.
   */
  finder?: SentCopyFinder;
}

/**
 * What became of a post that may already be in Teams: found (recorded, not sent again), absent (sent
 * again), unchecked (could not look; sent again), removed (a second copy deleted), waiting (looking again later).
 */
export type UncertainResult = 'found' | 'absent' | 'unchecked' | 'removed' | 'waiting';

type OutboxRow = Selectable<OutboxTable>;
type DueRow = Pick<OutboxRow, 'id' | 'conversation_id' | 'kind' | 'activity_id'>;

export type SendFailure =
  | { kind: 'throttled'; retryAfterMs: number | null; summary: string }
  | { kind: 'transient'; summary: string }
  | { kind: 'permanent'; summary: string };

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

/** Clocks differ between this host and Teams: a copy is looked for from this much before the attempt began. */
const COPY_CLOCK_SKEW_MS = 2 * 60_000;
/** After sending again, Teams may still show a late first copy: looked for once more after this long. */
const VERIFY_AFTER_MS = 60_000;
/** A sent row's last look for a late copy is this long after it was sent; an unanswered look is retried until then. */
const VERIFY_FOR_MS = 30 * 60_000;

/** Backoff for 5xx and timeouts: 2 s doubling to 5 min, with jitter so replicas do not retry in step. */
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_CAP_MS = 5 * 60_000;
/** A 429 without Retry-After: 1 s doubling per consecutive 429 to a minute. */
const THROTTLE_BASE_MS = 1_000;
const THROTTLE_CAP_MS = 60_000;
/** An absurd Retry-After (hours) is capped: the card would be useless by then anyway. */
const RETRY_AFTER_CAP_MS = 60 * 60_000;
/** How far back sent rows seed the pacer after a restart: the longest Teams window. */
const SEED_HORIZON_MS = 60 * 60_000;
const LAST_ERROR_MAX = 200;
/**
 * Rows enqueued in the same millisecond keep their order by SQLite's rowid or PostgreSQL's `seq`
 * sequence column (ids are random UUIDs).
 */
function insertionOrder(db: Kysely<Database>) {
  return engineOf(db) === 'postgres' ? sql<number>`seq` : sql<number>`rowid`;
}

/**
 * A durable, paced outbox for Bot Connector messages. Rows are claimed with a compare-and-swap lease,
 * so two instances never send the same row; sends honour the Pacer's windows and a 429's Retry-After.
 * Each statement stands alone (no transaction spans an await), so instances sharing one SQLite file
 * never hold a write lock while another waits on it.
 *
 * The pacer's windows live in this process. With several instances draining at once, give each the
 * same `sharedPace` (shared-pace.ts): it counts every instance's sends in the database and shares a
 * 429's pause. Without it each paces alone (a 429 pauses only whoever gets it).
 */
export class Outbox {
  private readonly db: Kysely<Database>;
  private readonly sender: OutboxSender;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly pacer: Pacer;
  private readonly sharedPace: SharedPace | undefined;
  private readonly collapse: CollapseOptions | null;
  private readonly renderSummary: (data: SummaryCardData) => object;
  private readonly maxAttempts: number;
  private readonly sendTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly parallel: number;
  private readonly perConversation: number;
  private readonly metrics: OutboxOptions['metrics'];
  private readonly finder: SentCopyFinder | undefined;
  readonly instanceId: string;
  private readonly order: ReturnType<typeof insertionOrder>;
  private readonly postgres: boolean;

  private readonly sentListeners: Array<(item: SentItem) => unknown> = [];
  private readonly failedListeners: Array<(item: FailedItem) => unknown> = [];
  private readonly throttleStreak = new Map<string, number>();
  private seeded = false;
  private draining: Promise<DrainResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private intervalMs = 500;

  constructor(options: OutboxOptions) {
    this.db = options.db;
    this.sender = options.sender;
    this.log = options.log ?? pino({ level: 'silent' });
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.pacer = options.pacer ?? new Pacer();
    this.sharedPace = options.sharedPace;
    this.collapse = options.collapse === false ? null : collapseOptions(options.collapse ?? {});
    this.renderSummary = options.renderSummary ?? renderSummaryCard;
    this.maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
    this.sendTimeoutMs = options.sendTimeoutMs ?? DEFAULTS.sendTimeoutMs;
    this.leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    this.batchSize = options.batchSize ?? DEFAULTS.batchSize;
    this.parallel = options.parallelConversations ?? DEFAULTS.parallelConversations;
    this.perConversation = options.duePerConversation ?? DEFAULTS.duePerConversation;
    this.instanceId = options.instanceId ?? randomUUID();
    this.metrics = options.metrics;
    this.finder = options.finder;
    this.order = insertionOrder(this.db);
    this.postgres = engineOf(this.db) === 'postgres';
    if (this.leaseMs <= this.sendTimeoutMs)
      throw new Error(`Outbox leaseMs (${this.leaseMs}) must exceed sendTimeoutMs (${this.sendTimeoutMs}), or a slow send could be taken over and sent twice`);
  }

  /** Called after every successful send (a summary reports the requests it lists in `covers`). Errors are logged. */
  onSent(callback: (item: SentItem) => unknown): void {
    this.sentListeners.push(callback);
  }

  /** Called when a row gives up (a 4xx other than 429, or retries used up). */
  onFailed(callback: (item: FailedItem) => unknown): void {
    this.failedListeners.push(callback);
  }

  /**
   * Stores a message to send. A repeated dedupe key returns the existing row (with its result message
   * id once sent, so a caller that lost an onSent can still record it). An update supersedes older
   * unsent updates of the same message; a collapsible post may be held for a summary card.
   */
  async enqueue(message: OutboxMessage, now: Date = this.now()): Promise<EnqueueResult> {
    checkMessage(message);
    const existing = await this.byDedupeKey(message.dedupeKey);
    if (existing) return resultOf(existing, false);

    let status: OutboxStatus = 'pending';
    let notBefore = message.notBefore && message.notBefore > now ? message.notBefore : now;
    let windowStart: string | null = null;
    if (this.collapse && message.kind === 'post' && message.summary) {
      const admission = admit(await this.windowState(message.conversationId), now, this.collapse);
      windowStart = admission.windowStart.toISOString();
      if (admission.hold) {
        status = 'held';
        notBefore = admission.closesAt;
      }
    }
    const row: OutboxRow = {
      id: randomUUID(),
      conversation_id: message.conversationId,
      service_url: message.serviceUrl,
      kind: message.kind,
      activity_id: message.activityId ?? null,
      reply_to_id: message.replyToId ?? null,
      payload: JSON.stringify(message.payload),
      dedupe_key: message.dedupeKey,
      status,
      attempts: 0,
      not_before: notBefore.toISOString(),
      lease_owner: null,
      lease_until: null,
      last_error: null,
      created_at: now.toISOString(),
      sent_at: null,
      result_activity_id: null,
      meta: message.meta ? JSON.stringify(message.meta) : null,
      revision: message.revision ?? null,
      summary_entry: this.collapse && message.summary ? JSON.stringify(message.summary) : null,
      window_start: windowStart,
      summary_id: null,
      covered_ids: null,
      attempt_started_at: null,
      uncertain_since: null,
      verify_at: null,
    };
    const inserted = await this.db
      .insertInto('outbox')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) return resultOf((await this.byDedupeKey(message.dedupeKey))!, false);
    if (inserted.kind === 'update') {
      const superseded = await this.supersedeUpdates(inserted);
      if (superseded) return resultOf(superseded, true);
    }
    this.log.debug({ outboxId: inserted.id, conversationId: inserted.conversation_id, kind: inserted.kind, status: inserted.status }, 'outbox: enqueued');
    this.wake();
    return resultOf(inserted, true);
  }

  async byDedupeKey(dedupeKey: string): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('outbox').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirst();
  }

  /**
   * One pass: closes channel windows whose minute is over (building their summaries), then sends every
   * due row the pacer allows. `now` fixes the clock for the whole pass (tests); otherwise the injected
   * clock is read before each send. Concurrent calls share one pass.
   */
  async drain(now?: Date): Promise<DrainResult> {
    if (this.draining) return this.draining;
    this.draining = this.drainOnce(now).finally(() => {
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
    const at = now.toISOString();
    const row = await this.db
      .selectFrom('outbox')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('status', '=', 'pending'), eb('not_before', '<=', at)]), eb('status', '=', 'sending')]))
      .limit(1)
      .executeTakeFirst();
    return !!row;
  }

  /** Which part of its batch a sent summary card was, for re-rendering it in place (undefined once pruned). */
  async summaryBatch(conversationId: string, activityId: string): Promise<{ part: number; parts: number; batchTotal: number } | undefined> {
    const summary = await this.db
      .selectFrom('outbox')
      .select('meta')
      .where('conversation_id', '=', conversationId)
      .where('result_activity_id', '=', activityId)
      .where('covered_ids', 'is not', null)
      .where('status', '=', 'sent')
      .executeTakeFirst();
    const meta = summary ? parseMeta(summary.meta) : null;
    if (!meta) return undefined;
    return { part: Number(meta.part), parts: Number(meta.parts), batchTotal: Number(meta.batchTotal) };
  }

  /** Deletes finished rows created before `before` (sent, failed, superseded, summarized); returns how many. */
  async prune(before: Date): Promise<number> {
    const r = await this.db
      .deleteFrom('outbox')
      .where('status', 'in', ['sent', 'failed', 'superseded', 'summarized'])
      .where('created_at', '<', before.toISOString())
      .executeTakeFirst();
    return Number(r.numDeletedRows);
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

  private wake(): void {
    if (this.running && !this.draining) this.schedule(0);
  }

  private async drainOnce(fixedNow: Date | undefined): Promise<DrainResult> {
    const clock = (): Date => fixedNow ?? this.now();
    const result: DrainResult = { sent: 0, throttled: 0, retried: 0, failed: 0, summaries: 0 };
    await this.seedPacer(clock());
    if (this.collapse) result.summaries = await this.closeWindows(clock());

    const at = clock().toISOString();
    // Ids and routing only (the claim reads the payload, for the few rows the pacer lets through), and
    // a few rows per conversation, so one channel's backlog never keeps another channel's cards waiting.
    const { rows: due } = await sql<DueRow>`
      SELECT id, conversation_id, kind, activity_id FROM (
        SELECT id, conversation_id, kind, activity_id, created_at, ${this.order} AS ord,
               row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, ${this.order}) AS n
        FROM outbox
        WHERE (status = 'pending' AND not_before <= ${at}) OR (status = 'sending' AND lease_until <= ${at})
      ) AS due
      WHERE n <= ${this.perConversation}
      ORDER BY created_at, ord
      LIMIT ${this.batchSize}`.execute(this.db);

    const byConversation = new Map<string, DueRow[]>();
    for (const row of due) {
      const list = byConversation.get(row.conversation_id) ?? byConversation.set(row.conversation_id, []).get(row.conversation_id)!;
      list.push(row);
    }
    const queue = [...byConversation.values()];
    const worker = async (): Promise<void> => {
      for (let rows = queue.shift(); rows; rows = queue.shift()) await this.sendConversation(rows, clock, result);
    };
    await Promise.all(Array.from({ length: Math.min(this.parallel, queue.length) }, worker));
    await this.verifySent(clock());
    return result;
  }

  /** Sends one conversation's due rows in order, stopping at the first the pacer refuses. */
  private async sendConversation(rows: DueRow[], clock: () => Date, result: DrainResult): Promise<void> {
    for (const row of rows) {
      const now = clock();
      // The slot is taken before the claim (before any await), so conversations sending in parallel
      // cannot overrun the tenant window between them, and a row is never claimed only to wait.
      if (!this.pacer.reserve(row.conversation_id, now).ok) return;
      // Every replica's sends count: the shared pace in the database has the last word. Refused, or not
      // answering ("not now": the next pass asks again), the local slot is given back.
      let slot: string | undefined;
      if (this.sharedPace) {
        const shared = await this.sharedPace.reserve(row.conversation_id, now).catch((err: unknown) => {
          this.log.warn({ err: shortError(err), conversationId: row.conversation_id }, 'outbox: the shared pace did not answer; the next pass asks again');
          return null;
        });
        if (!shared?.ok) {
          this.pacer.forget(row.conversation_id, now);
          return;
        }
        slot = shared.slot;
      }
      const claimed = await this.claim(row, now);
      // Lost to another instance (or an older update of the same message is in flight): the slot is
      // wasted, which only ever errs on the slow side (the shared one is given back).
      if (!claimed) {
        if (slot) await this.sharedPace!.release(slot);
        continue;
      }
      const outcome = await this.sendOne(claimed, clock);
      // Teams had the message by its answer: the shared windows count it until then, not until the slot's in-flight bound.
      if (slot) await this.sharedPace!.settle(slot, clock());
      this.metrics?.teamsSend(outcome);
      if (outcome === 'sent') result.sent++;
      else if (outcome === 'throttled') {
        result.throttled++;
        return;
      } else if (outcome === 'retry') result.retried++;
      else result.failed++;
    }
  }

  private async claim(row: DueRow, now: Date): Promise<OutboxRow | undefined> {
    const at = now.toISOString();
    let q = this.db
      .updateTable('outbox')
      .set((eb) => ({
        status: 'sending',
        lease_owner: this.instanceId,
        lease_until: new Date(now.getTime() + this.leaseMs).toISOString(),
        attempts: eb('attempts', '+', 1),
        attempt_started_at: at,
        // A row still 'sending' was left by a sender that died or stalled mid-send: its copy may be in Teams.
        uncertain_since: eb
          .case()
          .when('status', '=', 'sending')
          .then(eb.fn.coalesce('uncertain_since', 'attempt_started_at'))
          .else(eb.ref('uncertain_since'))
          .end(),
      }))
      .where((eb) =>
        eb.or([eb.and([eb('status', '=', 'pending'), eb('not_before', '<=', at)]), eb.and([eb('status', '=', 'sending'), eb('lease_until', '<=', at)])]),
      );
    // PostgreSQL: a row another replica is claiming right now is skipped, not waited for (FOR UPDATE SKIP
    // LOCKED); the compare-and-swap above still decides who wins. SQLite has one writer at a time anyway.
    q = this.postgres
      ? q.where('id', 'in', (eb) => eb.selectFrom('outbox as locked').select('locked.id').where('locked.id', '=', row.id).forUpdate().skipLocked())
      : q.where('id', '=', row.id);
    if (row.kind === 'update' && row.activity_id) {
      // Updates of one message go one at a time, so an older one can never land after a newer one.
      const activityId = row.activity_id;
      q = q.where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('outbox as other')
              .select('other.id')
              .where('other.conversation_id', '=', row.conversation_id)
              .where('other.activity_id', '=', activityId)
              .where('other.kind', '=', 'update')
              .where('other.status', '=', 'sending')
              .where('other.lease_until', '>', at)
              .where('other.id', '!=', row.id),
          ),
        ),
      );
    }
    return q.returningAll().executeTakeFirst();
  }

  private async sendOne(row: OutboxRow, clock: () => Date): Promise<'sent' | 'throttled' | 'retry' | 'failed'> {
    const meta = parseMeta(row.meta);
    const log = this.log.child({
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
    let verifyAt: string | null = null;
    if (row.uncertain_since && this.finder && isPostOrReply(row)) {
      // An earlier attempt may be in Teams (its answer was lost, or its sender died): look before sending again.
      const finding = await this.lookForCopy(row, row.uncertain_since);
      if (finding.status === 'found') return this.recordFound(row, finding.activityIds, clock(), log);
      if (finding.status === 'unknown' && !finding.lasting && row.attempts < this.maxAttempts) {
        const now = clock();
        const waitMs = this.backoffMs(row.attempts);
        await this.db
          .updateTable('outbox')
          .set({
            status: 'pending',
            not_before: new Date(now.getTime() + waitMs).toISOString(),
            lease_owner: null,
            lease_until: null,
            last_error: clipText(`could not tell whether an earlier attempt is in Teams: ${finding.detail}`, LAST_ERROR_MAX),
          })
          .where('id', '=', row.id)
          .where('lease_owner', '=', this.instanceId)
          .where('status', '=', 'sending')
          .execute();
        this.metrics?.uncertainSend?.('waiting');
        log.warn({ detail: finding.detail, retryInMs: waitMs }, 'outbox: could not tell whether an earlier attempt is in Teams; looking again before sending');
        return 'retry';
      }
      this.metrics?.uncertainSend?.(finding.status === 'absent' ? 'absent' : 'unchecked');
      if (finding.status === 'unknown')
        log.warn(
          { detail: finding.detail },
          'outbox: could not tell whether an earlier attempt is in Teams; sending again (a second copy is looked for and deleted later)',
        );
      // Teams may still show the earlier copy late: look once more after this send.
      verifyAt = new Date(clock().getTime() + VERIFY_AFTER_MS).toISOString();
    }
    let sent: { activityId?: string };
    try {
      sent = await withTimeout(this.sender.send(delivery), this.sendTimeoutMs);
    } catch (err) {
      // Retry-After and backoff count from the answer, not from when the send started.
      const now = clock();
      return this.onSendError(row, classifySendError(err, now), now, log);
    }
    this.throttleStreak.delete(row.conversation_id);
    const activityId = sent?.activityId ?? (row.kind === 'update' ? row.activity_id : null);
    return this.markSent(row, activityId, clock(), log, verifyAt);
  }

  /** Records a row as sent with its message id and tells the listeners (only the lease holder does). */
  private async markSent(row: OutboxRow, activityId: string | null, now: Date, log: Logger, verifyAt: string | null): Promise<'sent'> {
    const meta = parseMeta(row.meta);
    const sentAt = now.toISOString();
    const done = await this.db
      .updateTable('outbox')
      .set({ status: 'sent', sent_at: sentAt, result_activity_id: activityId, lease_owner: null, lease_until: null, last_error: null, verify_at: verifyAt })
      .where('id', '=', row.id)
      .where('lease_owner', '=', this.instanceId)
      .where('status', '=', 'sending')
      .returningAll()
      .executeTakeFirst();
    if (!done) {
      // Another instance took the row over after our lease ran out and owns its outcome; telling
      // listeners too would record a second message id for one row.
      log.warn({ activityId }, 'outbox: sent after the lease ran out; another instance owns the row, so this copy may be a duplicate');
      return 'sent';
    }
    const covers = row.covered_ids ? await this.finishSummary(row, activityId, sentAt) : [];
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

  private async onSendError(row: OutboxRow, failure: SendFailure, now: Date, log: Logger): Promise<'sent' | 'throttled' | 'retry' | 'failed'> {
    // Only the lease holder settles a row: if the lease was taken over, the other instance owns it now.
    const mine = () => this.db.updateTable('outbox').where('id', '=', row.id).where('lease_owner', '=', this.instanceId).where('status', '=', 'sending');
    if (failure.kind === 'throttled') {
      const streak = (this.throttleStreak.get(row.conversation_id) ?? 0) + 1;
      this.throttleStreak.set(row.conversation_id, streak);
      const waitMs = failure.retryAfterMs ?? this.jitter(Math.min(THROTTLE_CAP_MS, THROTTLE_BASE_MS * 2 ** (streak - 1)));
      const until = new Date(now.getTime() + waitMs);
      this.pacer.pause(row.conversation_id, until);
      // Every replica holds the conversation too (the row's not_before below holds only this row).
      await this.sharedPace
        ?.pause(row.conversation_id, until)
        .catch((err: unknown) =>
          log.warn({ err: shortError(err) }, 'outbox: could not share the pause; other replicas may send to the conversation before it ends'),
        );
      // A 429 is the platform asking us to wait, not the message failing: the attempt is given back.
      await mine()
        .set((eb) => ({
          status: 'pending',
          not_before: until.toISOString(),
          attempts: eb('attempts', '-', 1),
          lease_owner: null,
          lease_until: null,
          last_error: failure.summary,
        }))
        .execute();
      log.info({ retryAfterMs: waitMs }, 'outbox: throttled by Teams; the conversation waits');
      return 'throttled';
    }
    // A timeout, a dropped connection or a 5xx says nothing about whether Teams took the post: it may be there.
    const uncertainSince = failure.kind === 'transient' && isPostOrReply(row) ? (row.uncertain_since ?? row.attempt_started_at) : row.uncertain_since;
    if (failure.kind === 'transient' && row.attempts < this.maxAttempts) {
      const waitMs = this.backoffMs(row.attempts);
      await mine()
        .set({
          status: 'pending',
          not_before: new Date(now.getTime() + waitMs).toISOString(),
          lease_owner: null,
          lease_until: null,
          last_error: failure.summary,
          uncertain_since: uncertainSince,
        })
        .execute();
      log.warn({ err: failure.summary, retryInMs: waitMs }, 'outbox: send failed; retrying');
      return 'retry';
    }
    if (uncertainSince && this.finder && isPostOrReply(row)) {
      // Before giving up on a post: one that Teams took although no answer came is sent, not failed.
      const finding = await this.lookForCopy(row, uncertainSince);
      if (finding.status === 'found') return this.recordFound(row, finding.activityIds, now, log);
    }
    const lastError = failure.kind === 'transient' ? `gave up after ${row.attempts} attempts; last: ${failure.summary}` : failure.summary;
    await mine()
      .set({ status: 'failed', lease_owner: null, lease_until: null, last_error: clipText(lastError, LAST_ERROR_MAX) })
      .execute();
    log.warn({ err: lastError }, 'outbox: send failed for good');
    if (row.covered_ids) await this.releaseSummary(row, now);
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

  /** An earlier attempt is in Teams: the oldest copy is recorded as the row's message, the others deleted. */
  private async recordFound(row: OutboxRow, activityIds: readonly string[], now: Date, log: Logger): Promise<'sent'> {
    const [keep, ...extras] = activityIds;
    await this.removeExtras(row, extras, log);
    this.metrics?.uncertainSend?.('found');
    log.info({ activityId: keep, extras: extras.length }, 'outbox: an attempt whose answer was lost is in Teams; recorded, not sent again');
    return this.markSent(row, keep!, now, log, null);
  }

  /** Backoff for 5xx, timeouts and a look that could not be made, with jitter. */
  private backoffMs(attempts: number): number {
    return this.jitter(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)));
  }

  /** Asks the finder whether a copy of the row's message is in its conversation (never throws). */
  private async lookForCopy(row: OutboxRow, since: string): Promise<CopyFinding> {
    try {
      return await withTimeout(
        this.finder!.find({
          kind: row.kind as 'post' | 'reply',
          conversationId: row.conversation_id,
          serviceUrl: row.service_url,
          replyToId: row.reply_to_id,
          payload: JSON.parse(row.payload) as OutboxPayload,
          marker: markerOf(row.id),
          meta: parseMeta(row.meta),
          since: new Date(Date.parse(since) - COPY_CLOCK_SKEW_MS),
        }),
        this.sendTimeoutMs,
      );
    } catch (err) {
      return { status: 'unknown', detail: shortError(err), lasting: false };
    }
  }

  /** Deletes second copies of one message (the one recorded stays); a copy that cannot be deleted is logged. */
  private async removeExtras(row: OutboxRow, activityIds: readonly string[], log: Logger): Promise<number> {
    let removed = 0;
    for (const activityId of activityIds) {
      if (!this.sender.remove) {
        log.warn({ activityId }, 'outbox: a second copy of a message is in Teams and this sender cannot delete it');
        continue;
      }
      try {
        await withTimeout(
          this.sender.remove(
            { conversationId: row.conversation_id, serviceUrl: row.service_url, personal: parseMeta(row.meta)?.chat === 'personal' },
            activityId,
          ),
          this.sendTimeoutMs,
        );
        removed += 1;
        this.metrics?.uncertainSend?.('removed');
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
  private async verifySent(now: Date): Promise<void> {
    if (!this.finder) return;
    const at = now.toISOString();
    const rows = await this.db
      .selectFrom('outbox')
      .selectAll()
      .where('verify_at', '<=', at)
      .where('status', '=', 'sent')
      .orderBy('verify_at')
      .limit(20)
      .execute();
    for (const row of rows) {
      const next = new Date(now.getTime() + VERIFY_AFTER_MS).toISOString();
      const took = await this.db
        .updateTable('outbox')
        .set({ verify_at: next })
        .where('id', '=', row.id)
        .where('verify_at', '=', row.verify_at)
        .executeTakeFirst();
      if (Number(took.numUpdatedRows) !== 1) continue;
      const log = this.log.child({ outboxId: row.id, conversationId: row.conversation_id, kind: row.kind });
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
      await this.db.updateTable('outbox').set({ verify_at: null }).where('id', '=', row.id).where('verify_at', '=', next).execute();
    }
  }

  /** The rows a sent summary lists take its message id, so a re-enqueue of one of them returns it. */
  private async finishSummary(summary: OutboxRow, activityId: string | null, sentAt: string): Promise<CoveredItem[]> {
    const rows = await this.db.selectFrom('outbox').selectAll().where('summary_id', '=', summary.id).orderBy('created_at').orderBy(this.order).execute();
    await this.db
      .updateTable('outbox')
      .set({ result_activity_id: activityId, sent_at: sentAt })
      .where('summary_id', '=', summary.id)
      .where('status', '=', 'summarized')
      .execute();
    return rows.map((r) => ({ id: r.id, dedupeKey: r.dedupe_key, meta: parseMeta(r.meta), entry: JSON.parse(r.summary_entry!) as SummaryEntry }));
  }

  /** A summary Teams refused for good: its requests go out as their own cards rather than be lost. */
  private async releaseSummary(summary: OutboxRow, now: Date): Promise<void> {
    const r = await this.db
      .updateTable('outbox')
      .set({ status: 'pending', summary_id: null, not_before: now.toISOString() })
      .where('summary_id', '=', summary.id)
      .where('status', '=', 'summarized')
      .executeTakeFirst();
    this.log.warn({ outboxId: summary.id, released: Number(r.numUpdatedRows) }, 'outbox: summary refused; its requests go out as cards');
  }

  /** Latest window of a channel and how many of its cards went out one by one. */
  private async windowState(conversationId: string): Promise<{ latestStart: Date | null; individual: number }> {
    const latest = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.max('window_start').as('start'))
      .where('conversation_id', '=', conversationId)
      .executeTakeFirst();
    const start = latest?.start ?? null;
    if (!start) return { latestStart: null, individual: 0 };
    const counted = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('conversation_id', '=', conversationId)
      .where('window_start', '=', start)
      .where('status', 'not in', ['held', 'summarized'])
      .executeTakeFirstOrThrow();
    return { latestStart: new Date(start), individual: Number(counted.n) };
  }

  /**
   * Builds summaries for windows that have closed. Each summary row records the rows it lists, and the
   * rows are marked in a second statement that any instance can repeat: a crash in between leaves the
   * rows held, the next pass computes the same page (same dedupe key) and finishes marking them.
   */
  private async closeWindows(now: Date): Promise<number> {
    const at = now.toISOString();
    const windows = await this.db
      .selectFrom('outbox')
      .select(['conversation_id', 'window_start'])
      .distinct()
      .where('status', '=', 'held')
      .where('not_before', '<=', at)
      .execute();
    let created = 0;
    for (const w of windows) {
      if (!w.window_start) continue;
      const held = await this.db
        .selectFrom('outbox')
        .selectAll()
        .where('conversation_id', '=', w.conversation_id)
        .where('window_start', '=', w.window_start)
        .where('status', '=', 'held')
        .orderBy('created_at')
        .orderBy(this.order)
        .execute();
      if (held.length === 1) {
        // A summary of one would only hide the card: it goes out as itself.
        await this.db.updateTable('outbox').set({ status: 'pending', not_before: at }).where('id', '=', held[0]!.id).where('status', '=', 'held').execute();
        continue;
      }
      const entries = (rows: readonly OutboxRow[]) => rows.map((r) => JSON.parse(r.summary_entry!) as SummaryEntry);
      const pages = planSummaryPages(
        held,
        this.collapse!,
        (page) => cardBytes(this.renderSummary({ entries: entries(page), part: 1, parts: 1, batchTotal: held.length, now })) <= TEAMS_CARD_MAX_BYTES,
      );
      for (const [index, page] of pages.entries()) {
        const card = this.renderSummary({ entries: entries(page), part: index + 1, parts: pages.length, batchTotal: held.length, now });
        const dedupeKey = summaryDedupeKey(w.conversation_id, w.window_start, page[0]!.id);
        const inserted = await this.db
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
        const summary = inserted ?? (await this.byDedupeKey(dedupeKey))!;
        if (inserted) created++;
        const ids = JSON.parse(summary.covered_ids ?? '[]') as string[];
        if (ids.length > 0) {
          await this.db
            .updateTable('outbox')
            .set({ status: 'summarized', summary_id: summary.id })
            .where('id', 'in', ids)
            .where('status', '=', 'held')
            .execute();
        }
      }
      this.log.info({ conversationId: w.conversation_id, held: held.length, summaries: pages.length }, 'outbox: collapsed a busy minute into summary cards');
    }
    return created;
  }

  private async supersedeUpdates(row: OutboxRow): Promise<OutboxRow | undefined> {
    const same = this.db
      .updateTable('outbox')
      .set({ status: 'superseded' })
      .where('conversation_id', '=', row.conversation_id)
      .where('activity_id', '=', row.activity_id)
      .where('kind', '=', 'update')
      .where('id', '!=', row.id);
    if (row.revision !== null) {
      const newer = await this.db
        .selectFrom('outbox')
        .select('id')
        .where('conversation_id', '=', row.conversation_id)
        .where('activity_id', '=', row.activity_id)
        .where('kind', '=', 'update')
        .where('status', 'in', ['pending', 'sending', 'sent'])
        .where('revision', '>', row.revision)
        .executeTakeFirst();
      if (newer) {
        // A newer rendering is already queued or shown: this one would only take the message back.
        return this.db
          .updateTable('outbox')
          .set({ status: 'superseded' })
          .where('id', '=', row.id)
          .where('status', '=', 'pending')
          .returningAll()
          .executeTakeFirst();
      }
      await same
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('revision', 'is', null), eb('revision', '<=', row.revision)]))
        .execute();
    } else {
      await same.where('status', '=', 'pending').where('created_at', '<=', row.created_at).execute();
    }
    return undefined;
  }

  private async seedPacer(now: Date): Promise<void> {
    if (this.seeded) return;
    this.seeded = true;
    const since = new Date(now.getTime() - SEED_HORIZON_MS).toISOString();
    const rows = await this.db.selectFrom('outbox').select(['conversation_id', 'sent_at']).where('status', '=', 'sent').where('sent_at', '>', since).execute();
    for (const r of rows) this.pacer.record(r.conversation_id, new Date(r.sent_at!));
  }

  private jitter(ms: number): number {
    return Math.round(ms * (0.5 + 0.5 * this.random()));
  }

  private async notify<T>(listeners: Array<(item: T) => unknown>, item: T): Promise<void> {
    for (const listener of listeners) {
      try {
        await listener(item);
      } catch (err) {
        this.log.warn({ err: shortError(err), outboxId: (item as { id: string }).id }, 'outbox: a listener failed; the row keeps its state');
      }
    }
  }
}

function checkMessage(m: OutboxMessage): void {
  if (!m.conversationId || !m.serviceUrl)
    throw new Error('Outbox message needs conversationId and serviceUrl (from the channel target or conversation reference)');
  if (!m.dedupeKey) throw new Error('Outbox message needs a dedupeKey, e.g. card:<requestId>:v<version>:<conversationId>');
  if (m.kind === 'update' && !m.activityId) throw new Error('An outbox update needs activityId: the message it rewrites');
  if (m.kind === 'reply' && !m.replyToId) throw new Error('An outbox reply needs replyToId: the message it replies under');
  if (m.summary && m.kind !== 'post') throw new Error('Only posts can be collapsed into a summary card; drop `summary` for updates and replies');
}

function isPostOrReply(row: OutboxRow): boolean {
  return row.kind === 'post' || row.kind === 'reply';
}

function resultOf(row: OutboxRow, created: boolean): EnqueueResult {
  return { id: row.id, created, status: row.status as OutboxStatus, resultActivityId: row.result_activity_id };
}

function parseMeta(meta: string | null): OutboxMeta | null {
  return meta ? (JSON.parse(meta) as OutboxMeta) : null;
}

function cardBytes(card: object): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function shortError(err: unknown): string {
  const e = err as { message?: unknown };
  return clipText(typeof e?.message === 'string' ? e.message : String(err), LAST_ERROR_MAX);
}

class SendTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeoutError(`no answer from the Bot Connector within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sorts a send error: 429 → throttled (with the Retry-After it carries, if any); 408, 412, 5xx and
 * errors without a status (network, timeout) → transient; other 4xx → permanent. 412 is on Teams'
 * list of codes to retry.
 */
export function classifySendError(err: unknown, now: Date): SendFailure {
  const status = statusOf(err);
  const summary = clipText(`${status ?? codeOf(err) ?? 'error'}: ${shortError(err)}`, LAST_ERROR_MAX);
  if (status === 429) return { kind: 'throttled', retryAfterMs: retryAfterOf(err, now), summary };
  if (status === undefined || status === 408 || status === 412 || status >= 500) return { kind: 'transient', summary };
  if (status >= 400) return { kind: 'permanent', summary };
  return { kind: 'transient', summary };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const v of [e?.statusCode, e?.status, e?.response?.status]) if (typeof v === 'number' && v >= 100 && v < 600) return v;
  return undefined;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Retry-After from `retryAfterMs`, or the error's (or its response's) headers: seconds or an HTTP date. */
export function retryAfterOf(err: unknown, now: Date): number | null {
  const e = err as { retryAfterMs?: unknown; headers?: unknown; response?: { headers?: unknown } } | null;
  if (typeof e?.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs)) return clampRetryAfter(e.retryAfterMs);
  for (const headers of [e?.headers, e?.response?.headers]) {
    const ms = header(headers, 'retry-after-ms') ?? header(headers, 'x-ms-retry-after-ms');
    if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return clampRetryAfter(Number(ms));
    const value = header(headers, 'retry-after')?.trim();
    if (!value) continue;
    if (/^\d+(\.\d+)?$/.test(value)) return clampRetryAfter(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return clampRetryAfter(date - now.getTime());
  }
  return null;
}

function clampRetryAfter(ms: number): number {
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.round(ms)));
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') {
    const v = h.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  for (const [key, v] of Object.entries(h))
    if (key.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  return undefined;
}
