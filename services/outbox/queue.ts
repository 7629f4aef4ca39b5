/**
 * The outbox's rows and their lifecycle: enqueue (with dedupe and superseded updates), the due list,
 * the compare-and-swap claim and its lease, marking a row sent, back to pending or failed, and pruning.
 * Each statement stands alone (no transaction spans an await), so instances sharing one SQLite file
 * never hold a write lock while another waits on it.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { engineOf } from '../store/dialect';
import type { Database } from '../store/schema';
import type { DueRow, EnqueueResult, OutboxMessage, OutboxMeta, OutboxRow, OutboxStatus } from './types';

/** Where a new row starts: pending or held for a summary, from when, and in which collapse window. */
export interface Placement {
  status: OutboxStatus;
  notBefore: Date;
  windowStart: string | null;
  /** What a summary card would list about it (JSON), for collapsible posts. */
  summaryEntry: string | null;
}

/** What enqueueing a message did: found the dedupe key's row, inserted one, or inserted one a newer update supersedes. */
export type Added = { kind: 'existing' | 'inserted' | 'superseded'; row: OutboxRow };

/** The fields a failed attempt writes when its row goes back to pending (unset: left as is). */
export interface Retry {
  notBefore: Date;
  lastError: string;
  /** A 429 is the platform asking us to wait, not the message failing: the attempt is given back. */
  giveBackAttempt?: boolean;
  uncertainSince?: string | null;
}

/**
 * Rows enqueued in the same millisecond keep their order by SQLite's rowid or PostgreSQL's `seq`
 * sequence column (ids are random UUIDs).
 */
function insertionOrder(db: Kysely<Database>) {
  return engineOf(db) === 'postgres' ? sql<number>`seq` : sql<number>`rowid`;
}

export class OutboxQueue {
  /** Insertion order, the tie-break after created_at. */
  readonly order: ReturnType<typeof insertionOrder>;
  private readonly postgres: boolean;

  constructor(
    readonly db: Kysely<Database>,
    private readonly lease: { instanceId: string; leaseMs: number },
  ) {
    this.order = insertionOrder(db);
    this.postgres = engineOf(db) === 'postgres';
  }

  /** The same queue, writing in `db` (a transaction the caller holds). */
  within(db: Kysely<Database>): OutboxQueue {
    return db === this.db ? this : new OutboxQueue(db, this.lease);
  }

  async byDedupeKey(dedupeKey: string): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('outbox').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirst();
  }

  /**
   * Stores a checked message where `placement` puts it. A repeated dedupe key returns the existing row;
   * an update supersedes older unsent updates of the same message (or is superseded by a newer one).
   */
  async add(message: OutboxMessage, placement: Placement, now: Date): Promise<Added> {
    const row: OutboxRow = {
      id: randomUUID(),
      conversation_id: message.conversationId,
      service_url: message.serviceUrl,
      kind: message.kind,
      activity_id: message.activityId ?? null,
      reply_to_id: message.replyToId ?? null,
      payload: JSON.stringify(message.payload),
      dedupe_key: message.dedupeKey,
      status: placement.status,
      attempts: 0,
      not_before: placement.notBefore.toISOString(),
      lease_owner: null,
      lease_until: null,
      last_error: null,
      created_at: now.toISOString(),
      sent_at: null,
      result_activity_id: null,
      meta: message.meta ? JSON.stringify(message.meta) : null,
      revision: message.revision ?? null,
      summary_entry: placement.summaryEntry,
      window_start: placement.windowStart,
      summary_id: null,
      covered_ids: null,
      attempt_started_at: null,
      uncertain_since: null,
      verify_at: null,
    };
    // The row is what was inserted: only its id comes back (a card's payload is kilobytes; reading it back
    // cost about a tenth of a decision's CPU).
    const inserted = await this.db
      .insertInto('outbox')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return { kind: 'existing', row: (await this.byDedupeKey(message.dedupeKey))! };
    if (row.kind === 'update') {
      const superseded = await this.supersedeUpdates(row);
      if (superseded) return { kind: 'superseded', row: superseded };
    }
    return { kind: 'inserted', row };
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

  /**
   * Rows due at `at` (pending and due, or leased by a send that may have died), ids and routing only (the
   * claim reads the payload, for the few rows the pacer lets through), and at most `perConversation` per
   * conversation, so one channel's backlog never keeps another channel's cards waiting.
   */
  async due(at: string, perConversation: number, batchSize: number): Promise<DueRow[]> {
    const { rows } = await sql<DueRow>`
      SELECT id, conversation_id, kind, activity_id FROM (
        SELECT id, conversation_id, kind, activity_id, created_at, ${this.order} AS ord,
               row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, ${this.order}) AS n
        FROM outbox
        WHERE (status = 'pending' AND not_before <= ${at}) OR (status = 'sending' AND lease_until <= ${at})
      ) AS due
      WHERE n <= ${perConversation}
      ORDER BY created_at, ord
      LIMIT ${batchSize}`.execute(this.db);
    return rows;
  }

  /** Whether any row is waiting to be sent now (due, or leased by a send that may have died). */
  async hasDue(at: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('outbox')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('status', '=', 'pending'), eb('not_before', '<=', at)]), eb('status', '=', 'sending')]))
      .limit(1)
      .executeTakeFirst();
    return !!row;
  }

  /** Takes a due row with a lease (compare-and-swap); undefined when another instance has it. */
  async claim(row: DueRow, now: Date): Promise<OutboxRow | undefined> {
    const at = now.toISOString();
    let q = this.db
      .updateTable('outbox')
      .set((eb) => ({
        status: 'sending',
        lease_owner: this.lease.instanceId,
        lease_until: new Date(now.getTime() + this.lease.leaseMs).toISOString(),
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

  /** Only the lease holder settles a row: if the lease was taken over, the other instance owns it now. */
  private mine(row: OutboxRow) {
    return this.db.updateTable('outbox').where('id', '=', row.id).where('lease_owner', '=', this.lease.instanceId).where('status', '=', 'sending');
  }

  /** Records a leased row as sent with its message id; undefined when the lease was lost to another instance. */
  async markSent(row: OutboxRow, activityId: string | null, sentAt: string, verifyAt: string | null): Promise<OutboxRow | undefined> {
    return this.mine(row)
      .set({ status: 'sent', sent_at: sentAt, result_activity_id: activityId, lease_owner: null, lease_until: null, last_error: null, verify_at: verifyAt })
      .returningAll()
      .executeTakeFirst();
  }

  /** A leased row goes back to pending until `retry.notBefore`. */
  async retryLater(row: OutboxRow, retry: Retry): Promise<void> {
    await this.mine(row)
      .set((eb) => ({
        status: 'pending',
        not_before: retry.notBefore.toISOString(),
        ...(retry.giveBackAttempt ? { attempts: eb('attempts', '-', 1) } : {}),
        lease_owner: null,
        lease_until: null,
        last_error: retry.lastError,
        ...(retry.uncertainSince !== undefined ? { uncertain_since: retry.uncertainSince } : {}),
      }))
      .execute();
  }

  /** A leased row gives up for good. */
  async markFailed(row: OutboxRow, lastError: string): Promise<void> {
    await this.mine(row).set({ status: 'failed', lease_owner: null, lease_until: null, last_error: lastError }).execute();
  }

  /** Sent rows since `since`, to seed the pacer after a restart. */
  async sentSince(since: string): Promise<Array<{ conversation_id: string; sent_at: string | null }>> {
    return this.db.selectFrom('outbox').select(['conversation_id', 'sent_at']).where('status', '=', 'sent').where('sent_at', '>', since).execute();
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
}

export function checkMessage(m: OutboxMessage): void {
  if (!m.conversationId || !m.serviceUrl)
    throw new Error('Outbox message needs conversationId and serviceUrl (from the channel target or conversation reference)');
  if (!m.dedupeKey) throw new Error('Outbox message needs a dedupeKey, e.g. card:<requestId>:v<version>:<conversationId>');
  if (m.kind === 'update' && !m.activityId) throw new Error('An outbox update needs activityId: the message it rewrites');
  if (m.kind === 'reply' && !m.replyToId) throw new Error('An outbox reply needs replyToId: the message it replies under');
  if (m.summary && m.kind !== 'post') throw new Error('Only posts can be collapsed into a summary card; drop `summary` for updates and replies');
}

export function resultOf(row: OutboxRow, created: boolean): EnqueueResult {
  return { id: row.id, created, status: row.status as OutboxStatus, resultActivityId: row.result_activity_id };
}

export function parseMeta(meta: string | null): OutboxMeta | null {
  return meta ? (JSON.parse(meta) as OutboxMeta) : null;
}

export function isPostOrReply(row: OutboxRow): boolean {
  return row.kind === 'post' || row.kind === 'reply';
}
