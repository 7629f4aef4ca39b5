import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Insertable, Kysely, Migrator, PostgresDialect, type Selectable, SqliteDialect, sql, type Updateable } from 'kysely';
import { Pool } from 'pg';
import { withStatementCache } from './sqlite-statements';
import { engineOfUrl } from './dialect';
import { attachErrorListeners, ConnectionHealth, isConnectionError, withConnectionRetry } from './pg-resilience';
import { ChatStore } from './chat-store';
import { appendAudit, AuditTrail, type AuditEntry } from '../audit/audit-trail';
import { migrationProvider } from './migrations';
import type { ApprovalRequestTable, CardPostTable, Database, EvaluationTable, InboundEventTable } from './schema';

export type EvaluationRow = Selectable<EvaluationTable>;
export type ApprovalRequestRow = Selectable<ApprovalRequestTable>;
export type CardPostRow = Selectable<CardPostTable>;
export type InboundEventRow = Selectable<InboundEventTable>;

/** Persistence for evaluations, approval requests and posted card copies. */
const MIGRATE_ATTEMPTS = 8;

/** Brings the schema up to date; the error (thrown or reported by the migrator) is returned, not thrown. */
async function migrate(db: Kysely<Database>, engine: string): Promise<{ error?: unknown; failed: string }> {
  try {
    // PostgreSQL: the migration tables live in the connection's own schema (search_path). Without naming it,
    // kysely would see another schema's migration tables in the same database and skip creating its own.
    const migrationTableSchema =
      engine === 'postgres' ? (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]?.schema : undefined;
    const { error, results } = await new Migrator({
      db,
      provider: migrationProvider,
      ...(migrationTableSchema ? { migrationTableSchema } : {}),
    }).migrateToLatest();
    return { error, failed: results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown' };
  } catch (error) {
    return { error, failed: 'unknown' };
  }
}

/** The columns of an approval request the requester history reads (Store.requestHistory). */
export type HistoryApprovalRow = Pick<
  ApprovalRequestRow,
  'pim_request_id' | 'status' | 'created_at' | 'decided_by_name' | 'decided_by_upn' | 'decision_justification'
>;
/** The columns of an evaluation the requester history reads. */
export type HistoryEvaluationRow = Pick<EvaluationRow, 'pim_request_id' | 'request_key' | 'evaluation_id' | 'outcome' | 'reasons' | 'created_at'>;

export class Store {
  /** Elevation by chat: drafts, requests and their status messages. */
  readonly chat: ChatStore;
  /** The hash-chained audit trail; state changes below take entries to append in their own transaction. */
  readonly audit: AuditTrail;

  /**
   * PostgreSQL: what the store has seen of its connections (errors, retries, recovery); undefined on
   * SQLite, which has no connection to lose.
   */
  readonly connections: ConnectionHealth | undefined;

  private constructor(
    readonly db: Kysely<Database>,
    connections?: ConnectionHealth,
  ) {
    this.connections = connections;
    this.chat = new ChatStore(db);
    this.audit = new AuditTrail(db);
  }

  /**
   * Opens the database and brings its schema up to date. `sqlite:<path>` (or `sqlite::memory:`) for one
   * process; `postgres://user@host:port/db` for several replicas on one database. Replicas starting
   * together run the migrations once: kysely's PostgreSQL migrator takes an advisory lock first.
   */
  static async open(databaseUrl: string, options: { poolSize?: number } = {}): Promise<Store> {
    const engine = engineOfUrl(databaseUrl);
    let db: Kysely<Database>;
    let connections: ConnectionHealth | undefined;
    if (engine === 'postgres') {
      const pool = new Pool({ connectionString: databaseUrl, max: options.poolSize ?? 10, connectionTimeoutMillis: 10_000 });
      // A client losing its connection (the database restarted, a backend was terminated) must not crash
      // the process, idle or checked out: every client has an error listener for its whole life. An
      // idle one is dropped by the pool; a checked-out one fails its next query, and a transaction that
      // failed so is run again by `transaction` below. See pg-resilience.ts.
      connections = new ConnectionHealth();
      attachErrorListeners(pool, connections);
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    } else if (engine === 'sqlite') {
      const path = databaseUrl.slice('sqlite:'.length) || ':memory:';
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const sqlite = new SqliteDatabase(path);
      // WAL lets readers proceed while a writer commits; busy_timeout makes concurrent writers wait
      // instead of failing with SQLITE_BUSY.
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('busy_timeout = 5000');
      sqlite.pragma('foreign_keys = ON');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    } else {
      throw new Error(`DATABASE_URL must be sqlite:<path> or postgres://user@host:port/database; got a '${databaseUrl.split(':')[0]}:' URL`);
    }
    // A connection lost while migrating (the database restarting, a backend terminated) rolls the migration's
    // transaction back: it is run again, up to MIGRATE_ATTEMPTS times, rather than the process exiting.
    for (let attempt = 1; ; attempt++) {
      const { error, failed } = await migrate(db, engine);
      if (!error) return new Store(db, connections);
      if (attempt < MIGRATE_ATTEMPTS && isConnectionError(error)) {
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** (attempt - 1))));
        continue;
      }
      await db.destroy();
      throw new Error(`Database migration ${failed} failed: ${(error as Error).message}`);
    }
  }

  /**
   * Runs `work` in one transaction. On PostgreSQL, when the connection is lost while `work` runs (before
   * COMMIT), the database rolled the whole transaction back, so `work` is run again in a new one: up to
   * 4 attempts, 50/100/200 ms apart. A connection lost during COMMIT is not retried (the commit may have
   * happened). `work` must only touch the database. Inside a transaction already, runs `work` in it.
   */
  async transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this.db);
    if (!this.connections) return this.db.transaction().execute(work);
    return withConnectionRetry((w) => this.db.transaction().execute(w), work, this.connections);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async findEvaluation(requestKey: string): Promise<EvaluationRow | undefined> {
    return this.db.selectFrom('evaluations').selectAll().where('request_key', '=', requestKey).executeTakeFirst();
  }

  /**
   * Records an evaluation, unless one exists for the same request key (a PIM retry racing the first
   * call): then the stored one wins and is returned, so both answers carry the same evaluationId.
   */
  async insertEvaluation(
    row: Insertable<EvaluationTable>,
    approval?: Insertable<ApprovalRequestTable>,
    audit?: AuditEntry | AuditEntry[],
  ): Promise<{ row: EvaluationRow; created: boolean }> {
    return this.transaction(async (trx) => {
      const inserted = await trx
        .insertInto('evaluations')
        .values(row)
        .onConflict((oc) => oc.column('request_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) {
        const existing = await trx.selectFrom('evaluations').selectAll().where('request_key', '=', row.request_key).executeTakeFirstOrThrow();
        return { row: existing, created: false };
      }
      if (approval)
        await trx
          .insertInto('approval_requests')
          .values(approval)
          .onConflict((oc) => oc.column('pim_request_id').doNothing())
          .execute();
      // The audit row commits with the evaluation: no answer PIM logs without its audit record.
      if (audit) await appendAudit(trx, Array.isArray(audit) ? audit : [audit]);
      return { row: inserted, created: true };
    });
  }

  async getRequest(id: string): Promise<ApprovalRequestRow | undefined> {
    return this.db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getRequestByPimId(pimRequestId: string): Promise<ApprovalRequestRow | undefined> {
    return this.db.selectFrom('approval_requests').selectAll().where('pim_request_id', '=', pimRequestId).executeTakeFirst();
  }

  /**
   * Compare-and-swap: applies `patch` only if the row still has `expectedVersion`, bumping the
   * version. Returns the new row, or undefined when someone else changed it first.
   */
  async updateRequestIfVersion(
    id: string,
    expectedVersion: number,
    patch: Updateable<ApprovalRequestTable>,
    audit?: readonly AuditEntry[],
  ): Promise<ApprovalRequestRow | undefined> {
    // With audit entries: the change and its audit rows commit together, and only if the swap won.
    if (audit?.length && !this.db.isTransaction) return this.transaction((trx) => new Store(trx).updateRequestIfVersion(id, expectedVersion, patch, audit));
    const updated = await this.db
      .updateTable('approval_requests')
      .set({ ...patch, version: expectedVersion + 1, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('version', '=', expectedVersion)
      .returningAll()
      .executeTakeFirst();
    if (updated && audit?.length) await appendAudit(this.db, audit);
    return updated;
  }

  async requestsWithoutCards(limit = 20): Promise<ApprovalRequestRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('cards_posted_at', 'is', null)
      .where('unbound_at', 'is', null)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /** Every evaluation stored for a request key: the first callout's, and those of other bodies for the same id (`key~digest`). */
  async evaluationsFor(requestKey: string): Promise<EvaluationRow[]> {
    const k = requestKey.replace(/[%_\\]/g, '');
    return this.db
      .selectFrom('evaluations')
      .selectAll()
      .where((eb) => eb.or([eb('request_key', '=', requestKey), eb('request_key', 'like', `${k}~%`), eb('request_key', 'like', `${k}:%`)]))
      .orderBy('created_at')
      .execute();
  }

  /** No callout matches PIM's copy: the card waits (unbound) until one does. */
  async markUnbound(id: string, at: string | null, audit?: AuditEntry): Promise<void> {
    await this.transaction(async (trx) => {
      await trx.updateTable('approval_requests').set({ unbound_at: at }).where('id', '=', id).execute();
      if (audit) await appendAudit(trx, [audit]);
    });
  }

  /**
   * Binds a request that has no card yet to the callout whose content equals PIM's own copy: its
   * justification, ticket, evaluation, reasons, flags and check lines. Only while no card was posted.
   */
  async rebindRequest(
    id: string,
    values: Pick<
      Updateable<ApprovalRequestTable>,
      | 'evaluation_id'
      | 'justification'
      | 'ticket_system'
      | 'ticket_number'
      | 'reasons'
      | 'risk_flags'
      | 'check_lines'
      | 'duration'
      | 'duration_minutes'
      | 'start_at'
    >,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('approval_requests')
      .set({ ...values, unbound_at: null })
      .where('id', '=', id)
      .where('cards_posted_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Requests with a posted copy rendered at an older version than the request's. */
  async requestsWithStaleCards(limit = 50): Promise<ApprovalRequestRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll('approval_requests')
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('card_posts')
            .select('card_posts.id')
            .whereRef('card_posts.request_id', '=', 'approval_requests.id')
            .whereRef('card_posts.rendered_version', '<', 'approval_requests.version'),
        ),
      )
      .limit(limit)
      .execute();
  }

  /** Requests that reached a final state (approved, denied, expired, cancelled) at or after `since`. */
  async requestsClosedSince(since: string, limit = 100): Promise<ApprovalRequestRow[]> {
    return (
      this.db
        .selectFrom('approval_requests')
        .selectAll()
        .where('status', 'in', ['approved', 'denied', 'expired', 'cancelled'])
        .where('updated_at', '>=', since)
        // A request no callout bound to PIM's copy had no card: its requester is never told about it.
        .where('unbound_at', 'is', null)
        .orderBy('updated_at')
        .limit(limit)
        .execute()
    );
  }

  /**
   * A page of requests with no card posted yet (and bound to PIM's copy), ordered by (created_at, id)
   * after `after`: the sweep pages through all of them, however many a burst left.
   */
  async requestsWithoutCardsAfter(after: PageCursor | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('cards_posted_at', 'is', null).where('unbound_at', 'is', null);
    if (after) q = q.where((eb) => eb.or([eb('created_at', '>', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)])]));
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /**
   * A page of closed requests (approved, denied, expired, cancelled; bound to PIM's copy) updated at or
   * after `since`, whose requester has a personal chat with the bot and whose notice for the current
   * status (outbox key `notice:<id>:<status>`) was never queued: what is owed, not a window's oldest.
   * Ordered by (updated_at, id) after `after`. `since` only keeps the look-back inside the outbox's
   * retention (an older notice row may have been pruned; telling it again would be a duplicate).
   */
  async requestsOwingNotice(since: string, after: PageCursor | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db
      .selectFrom('approval_requests as r')
      .selectAll('r')
      .where('r.status', 'in', ['approved', 'denied', 'expired', 'cancelled'])
      .where('r.updated_at', '>=', since)
      // A request no callout bound to PIM's copy had no card: its requester is never told about it.
      .where('r.unbound_at', 'is', null)
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('conversation_refs as c').select('c.aad_object_id').whereRef('c.aad_object_id', '=', 'r.principal_id')),
      )
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('outbox as o').select('o.id').where(sql<boolean>`o.dedupe_key = 'notice:' || r.id || ':' || r.status`))),
      );
    if (after) q = q.where((eb) => eb.or([eb('r.updated_at', '>', after.at), eb.and([eb('r.updated_at', '=', after.at), eb('r.id', '>', after.id)])]));
    return q.orderBy('r.updated_at').orderBy('r.id').limit(limit).execute();
  }

  /**
   * A page of approval-card outbox rows Teams accepted (sent alone, or listed on a sent summary) whose
   * copy has no card_posts row: a process stopped between the outbox marking the send and the copy being
   * recorded. Ordered by (sent_at, id) after `after`. The outbox row (key `card:<request>:<conversation>`,
   * meta {requestId, version}) was written before the send, so the copy is derivable from it.
   */
  async sentCardsWithoutCopies(after: PageCursor | null, limit = 100): Promise<SentCardRow[]> {
    let q = this.db
      .selectFrom('outbox as o')
      .select(['o.id', 'o.conversation_id', 'o.service_url', 'o.result_activity_id', 'o.meta', 'o.status', 'o.sent_at', 'o.dedupe_key'])
      .where('o.dedupe_key', 'like', 'card:%')
      .where('o.status', 'in', ['sent', 'summarized'])
      .where('o.result_activity_id', 'is not', null)
      .where('o.sent_at', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('card_posts as cp')
              .select('cp.id')
              .whereRef('cp.conversation_id', '=', 'o.conversation_id')
              .where(sql<boolean>`o.dedupe_key = 'card:' || cp.request_id || ':' || cp.conversation_id`),
          ),
        ),
      );
    if (after) q = q.where((eb) => eb.or([eb('o.sent_at', '>', after.at), eb.and([eb('o.sent_at', '=', after.at), eb('o.id', '>', after.id)])]));
    return (await q.orderBy('o.sent_at').orderBy('o.id').limit(limit).execute()) as SentCardRow[];
  }

  /** Claims older than `before`: the process that held them died or lost its Graph call. */
  async staleClaims(before: string, limit = 20): Promise<ApprovalRequestRow[]> {
    return this.db.selectFrom('approval_requests').selectAll().where('status', '=', 'recording').where('claimed_at', '<', before).limit(limit).execute();
  }

  async markCardsPosted(id: string, display: string): Promise<void> {
    await this.db.updateTable('approval_requests').set({ cards_posted_at: new Date().toISOString(), display }).where('id', '=', id).execute();
  }

  async setDisplay(id: string, display: string): Promise<void> {
    await this.db.updateTable('approval_requests').set({ display }).where('id', '=', id).execute();
  }

  async cardPosts(requestId: string): Promise<CardPostRow[]> {
    return this.db.selectFrom('card_posts').selectAll().where('request_id', '=', requestId).orderBy('id').execute();
  }

  async addCardPost(post: Insertable<CardPostTable>): Promise<void> {
    await this.db
      .insertInto('card_posts')
      .values(post)
      .onConflict((oc) => oc.columns(['request_id', 'conversation_id']).doNothing())
      .execute();
  }

  /** The requests listed on one summary card, in the order they were listed. */
  async summaryPosts(conversationId: string, activityId: string): Promise<CardPostRow[]> {
    return this.db
      .selectFrom('card_posts')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('activity_id', '=', activityId)
      .where('summary', '=', 1)
      .orderBy('id')
      .execute();
  }

  async markCardRendered(postId: number, version: number): Promise<void> {
    await this.db.updateTable('card_posts').set({ rendered_version: version }).where('id', '=', postId).where('rendered_version', '<', version).execute();
  }

  async saveConversationRef(aadObjectId: string, reference: unknown): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('conversation_refs')
      .values({ aad_object_id: aadObjectId, reference: JSON.stringify(reference), updated_at: now })
      .onConflict((oc) => oc.column('aad_object_id').doUpdateSet({ reference: JSON.stringify(reference), updated_at: now }))
      .execute();
  }

  /** Forgets a chat Teams says is gone (the user removed the app, or the conversation no longer exists). */
  async forgetConversationRef(aadObjectId: string, reference: unknown): Promise<void> {
    // Only the reference that failed: a newer one (the user just opened the chat again) is kept.
    await this.db.deleteFrom('conversation_refs').where('aad_object_id', '=', aadObjectId).where('reference', '=', JSON.stringify(reference)).execute();
  }

  async conversationRef(aadObjectId: string): Promise<unknown | undefined> {
    const row = await this.db.selectFrom('conversation_refs').select('reference').where('aad_object_id', '=', aadObjectId).executeTakeFirst();
    return row ? (JSON.parse(row.reference) as unknown) : undefined;
  }

  /** The newest evaluation of a request PIM filed with this id (Entra roles and groups carry it). */
  async evaluationByPimId(pimRequestId: string): Promise<EvaluationRow | undefined> {
    return this.db.selectFrom('evaluations').selectAll().where('pim_request_id', '=', pimRequestId).orderBy('created_at', 'desc').executeTakeFirst();
  }

  /** The newest evaluation for this principal, role and scope since a time (ARM bodies carry no request id). */
  async latestEvaluationFor(kind: string, principalId: string, roleDefinitionId: string, scope: string, since: string): Promise<EvaluationRow | undefined> {
    return this.newestFor('evaluations', { kind, principalId, roleDefinitionId, scope, since });
  }

  /** The approval row for a request of this principal, role and scope created since a time. */
  async latestApprovalFor(kind: string, principalId: string, roleDefinitionId: string, scope: string, since: string): Promise<ApprovalRequestRow | undefined> {
    return this.newestFor('approval_requests', { kind, principalId, roleDefinitionId, scope, since });
  }

  private async newestFor<T extends 'evaluations' | 'approval_requests'>(
    table: T,
    m: { kind: string; principalId: string; roleDefinitionId: string; scope: string; since: string },
  ): Promise<Selectable<Database[T]> | undefined> {
    // Both tables have these columns; kysely cannot see that through a union of table names.
    const row = await this.db
      .selectFrom(table as 'evaluations')
      .selectAll()
      .where('kind', '=', m.kind)
      .where('principal_id', '=', m.principalId)
      .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
      .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
      .where('created_at', '>=', m.since)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    return row as unknown as Selectable<Database[T]> | undefined;
  }

  /**
   * One person's earlier requests and evaluations for one role and scope, newest first (the card's
   * requester history): approval rows say who decided and why, evaluations what the decision service
   * answered without a person. Capped: the card needs the last few months, not everything.
   */
  async requestHistory(m: {
    kind: string;
    principalId: string;
    roleDefinitionId: string;
    scope: string;
    limit?: number;
  }): Promise<{ approvals: HistoryApprovalRow[]; evaluations: HistoryEvaluationRow[] }> {
    const limit = m.limit ?? 200;
    const principal = m.principalId.toLowerCase();
    // The columns the history uses only: a card is posted after this read, and whole rows (display, request
    // JSON) made it the costliest read of a card for a requester with many requests.
    const [approvals, evaluations] = await Promise.all([
      this.db
        .selectFrom('approval_requests')
        .select(['pim_request_id', 'status', 'created_at', 'decided_by_name', 'decided_by_upn', 'decision_justification'])
        .where('principal_id', '=', principal)
        .where('kind', '=', m.kind)
        .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
        .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
      this.db
        .selectFrom('evaluations')
        .select(['pim_request_id', 'request_key', 'evaluation_id', 'outcome', 'reasons', 'created_at'])
        .where('principal_id', '=', principal)
        .where('kind', '=', m.kind)
        .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
        .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
    ]);
    return { approvals, evaluations };
  }

  /** Records the reminder ladder's progress; no version bump, since the cards do not show it. */
  async recordLadder(id: string, patch: { nudge_count?: number; escalated_at?: string }, audit?: AuditEntry): Promise<void> {
    if (!audit) {
      await this.db.updateTable('approval_requests').set(patch).where('id', '=', id).execute();
      return;
    }
    await this.transaction(async (trx) => {
      await trx.updateTable('approval_requests').set(patch).where('id', '=', id).execute();
      await appendAudit(trx, [audit]);
    });
  }

  /** Presence routing: an approver was reachable at this check. */
  async recordApproversReachable(id: string, at: string): Promise<void> {
    await this.db.updateTable('approval_requests').set({ approvers_reachable_at: at }).where('id', '=', id).execute();
  }

  /**
   * Compare-and-swap: marks an open request escalated early, unless it escalated already. True for the one
   * caller (replica, retry) that may send the escalation.
   */
  async claimEarlyEscalation(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('approval_requests')
      .set({ escalated_at: at, escalated_early: 1 })
      .where('id', '=', id)
      .where('escalated_at', 'is', null)
      .where('status', 'in', ['pending', 'recording'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Undoes this caller's early-escalation claim when sending it failed, so a retry sends it. */
  async releaseEarlyEscalation(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('approval_requests')
      .set({ escalated_at: null, escalated_early: 0 })
      .where('id', '=', id)
      .where('escalated_at', '=', at)
      .where('escalated_early', '=', 1)
      .execute();
  }

  /** Compare-and-swap on the requester's last reminder time: true for the one caller that may send a reminder now. */
  async claimRequesterReminder(id: string, previous: string | null, at: string): Promise<boolean> {
    let q = this.db.updateTable('approval_requests').set({ requester_reminded_at: at }).where('id', '=', id);
    q = previous === null ? q.where('requester_reminded_at', 'is', null) : q.where('requester_reminded_at', '=', previous);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Requests still waiting for an approver, oldest first. */
  async pendingApprovals(limit = 500): Promise<ApprovalRequestRow[]> {
    return this.db.selectFrom('approval_requests').selectAll().where('status', 'in', ['pending', 'recording']).orderBy('created_at').limit(limit).execute();
  }

  async countEvaluations(): Promise<number> {
    const r = await this.db
      .selectFrom('evaluations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Records an approval request that reached us as an escalation rather than through our own
   * evaluation. The evaluation for the same request key is reused when there is one (our endpoint
   * evaluated it first); `created` is false when the PIM request already has an approval request.
   */
  async insertEscalatedRequest(
    evaluation: Insertable<EvaluationTable>,
    approval: Insertable<ApprovalRequestTable>,
  ): Promise<{ row: ApprovalRequestRow; created: boolean }> {
    return this.transaction(async (trx) => {
      await trx
        .insertInto('evaluations')
        .values(evaluation)
        .onConflict((oc) => oc.column('request_key').doNothing())
        .execute();
      const { evaluation_id } = await trx
        .selectFrom('evaluations')
        .select('evaluation_id')
        .where('request_key', '=', evaluation.request_key)
        .executeTakeFirstOrThrow();
      const inserted = await trx
        .insertInto('approval_requests')
        .values({ ...approval, evaluation_id })
        .onConflict((oc) => oc.column('pim_request_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { row: inserted, created: true };
      const existing = await trx.selectFrom('approval_requests').selectAll().where('pim_request_id', '=', approval.pim_request_id).executeTakeFirstOrThrow();
      return { row: existing, created: false };
    });
  }

  /** Claims an inbound event by its id: true for the first caller, false for a duplicate. */
  async claimInboundEvent(row: Insertable<InboundEventTable>): Promise<boolean> {
    const inserted = await this.db
      .insertInto('inbound_events')
      .values(row)
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async setInboundEventResult(eventId: string, result: string): Promise<void> {
    await this.db.updateTable('inbound_events').set({ result }).where('event_id', '=', eventId).execute();
  }

  /** Gives up a claim whose processing failed, so the sender's retry is processed instead of answered as a duplicate. */
  async releaseInboundEvent(eventId: string): Promise<void> {
    await this.db.deleteFrom('inbound_events').where('event_id', '=', eventId).where('result', 'is', null).execute();
  }

  async inboundEvent(eventId: string): Promise<InboundEventRow | undefined> {
    return this.db.selectFrom('inbound_events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
  }

  async countInboundEvents(): Promise<number> {
    const r = await this.db
      .selectFrom('inbound_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * One page of `pending` requests of a kind, oldest first, after the keyset `after` (created_at, id):
   * stable while rows of the page leave `pending`, so a reconciler closing rows never skips one.
   */
  async pendingRequestsPage(kind: string, after: { createdAt: string; id: string } | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('status', '=', 'pending').where('kind', '=', kind);
    if (after) {
      q = q.where((eb) => eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]));
    }
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }
}

/** Where a paged sweep stopped: the ordering time and id of the last row it read. */
export interface PageCursor {
  at: string;
  id: string;
}

/** An approval card's outbox row that Teams accepted (see Store.sentCardsWithoutCopies). */
export interface SentCardRow {
  id: string;
  conversation_id: string;
  service_url: string;
  result_activity_id: string;
  meta: string | null;
  status: string;
  sent_at: string;
  dedupe_key: string;
}
