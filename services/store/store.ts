import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool } from 'pg';
import { AuditTrail } from '../audit/audit-trail';
import { AuditReviews } from '../digests/audit-reviews';
import { EmergencyGrants } from '../emergency/emergency-grants';
import { JobScheduler, type JobSchedulerOptions } from '../jobs/scheduler';
import type { ScrapeSources } from '../observability/metrics';
import type { ReadinessCheck } from '../observability/readiness';
import { databaseCheck } from '../observability/readiness-checks';
import { storeScrapeSources } from '../observability/store-sources';
import { Outbox, type OutboxOptions } from '../outbox/outbox';
import { SharedPace, type SharedPaceOptions } from '../outbox/shared-pace';
import { CardCopyStore } from './card-copies';
import { ChatStore } from './chat-store';
import { ExtensionAskStore } from './extension-asks';
import { ConversationStore } from './conversations';
import { type Db, type Tx, transactor } from './database';
import { engineOfUrl } from './dialect';
import { EvaluationStore } from './evaluations';
import { InboundEventStore } from './inbound-events';
import { tryLease } from './leases';
import { migrationProvider } from './migrations';
import { attachErrorListeners, ConnectionHealth, isConnectionError } from './pg-resilience';
import { RequestRangeReads, RequestStore } from './requests';
import type { Database } from './schema';
import { withStatementCache } from './sqlite-statements';

// The row types live with their aggregate; re-exported here because some 20 files (bot/, services/, test/) import them from the store.
export type { CardPostRow, SentCardRow } from './card-copies';
export type { PageCursor, Tx } from './database';
export type { EvaluationRow } from './evaluations';
export type { InboundEventRow } from './inbound-events';
export type { ApprovalRequestRow, HistoryApprovalRow, HistoryEvaluationRow, RequestPatch } from './requests';

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

/**
 * The bot's database, split by aggregate: approval requests (whose status only the request lifecycle
 * moves), evaluations, card copies, conversation references, inbound events, chat elevation and the
 * audit trail, one module each in this folder. The Store opens the database, migrates it and closes it.
 *
 * The kysely handle stays here. Services with SQL of their own (the job scheduler, the outbox and its
 * shared pace, spot-audit reviews, the metrics' gauges, the readiness probe, leases) are built by a Store
 * method that hands them the handle: the composition root asks `store.scheduler(...)`, never for the
 * handle, so bot/ cannot write a table behind an aggregate's back. `db` itself is for this folder, for
 * those services' own tests and for scripts that inspect the database.
 */
export class Store {
  readonly requests: RequestStore;
  /** Date-range reads for the PIM tab's history, dashboard and exports. */
  readonly requestRanges: RequestRangeReads;
  readonly evaluations: EvaluationStore;
  /** Every message in Teams that shows an approval request (table card_posts). */
  readonly cardCopies: CardCopyStore;
  /** How to reach a user's personal chat (table conversation_refs). */
  readonly conversations: ConversationStore;
  /** PIM's post-approval and escalation events, claimed by id (table inbound_events). */
  readonly events: InboundEventStore;
  /** Elevation by chat: drafts, requests and their status messages. */
  readonly chat: ChatStore;
  /** Asks to extend or renew an assignment, decided by an administrator from a card. */
  readonly extensionAsks: ExtensionAskStore;
  /** The hash-chained audit trail; state changes take entries to append in their own transaction. */
  readonly audit: AuditTrail;

  /**
   * PostgreSQL: what the store has seen of its connections (errors, retries, recovery); undefined on
   * SQLite, which has no connection to lose.
   */
  readonly connections: ConnectionHealth | undefined;

  private constructor(
    /** The handle: not for bot/ (see above). */
    readonly db: Db,
    connections?: ConnectionHealth,
  ) {
    this.connections = connections;
    const transact = transactor(db, connections);
    this.requests = new RequestStore(db, transact);
    this.requestRanges = new RequestRangeReads(db);
    this.evaluations = new EvaluationStore(db, transact);
    this.cardCopies = new CardCopyStore(db);
    this.conversations = new ConversationStore(db);
    this.events = new InboundEventStore(db);
    this.chat = new ChatStore(db);
    this.extensionAsks = new ExtensionAskStore(db);
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
  async transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return transactor(this.db, this.connections)(work);
  }

  /**
   * One transaction across the approval requests and the services that write to this database (the outbox,
   * the job scheduler: pass them `tx`). Everything `work` writes commits together or not at all, and costs
   * one commit. Retried on PostgreSQL as `transaction` is, so `work` must only touch the database.
   */
  async unitOfWork<T>(work: (uow: { tx: Tx; requests: RequestStore }) => Promise<T>): Promise<T> {
    return this.transaction((trx) => work({ tx: trx as unknown as Tx, requests: new RequestStore(trx, transactor(trx)) }));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /** The durable job scheduler, on this database. */
  scheduler(options: JobSchedulerOptions): JobScheduler {
    return new JobScheduler(this.db, options);
  }

  /** The outbox (durable, idempotent, paced sends to Teams), on this database. */
  outbox(options: Omit<OutboxOptions, 'db'>): Outbox {
    return new Outbox({ ...options, db: this.db });
  }

  /** Teams' send limits counted across every replica on this database, for the outbox. */
  sharedPace(options?: SharedPaceOptions): SharedPace {
    return new SharedPace(this.db, options);
  }

  /** Spot-audit reviews of approvals (the digests' "Looks right" / "Flag"). */
  auditReviews(clock?: () => Date): AuditReviews {
    return new AuditReviews(this.db, clock);
  }

  /** Break-glass grants: the per-user limit's count, post-incident notes and second-person reviews. */
  emergencyGrants(clock?: () => Date): EmergencyGrants {
    return new EmergencyGrants(this.db, clock);
  }

  /** The metrics' database gauges (open requests by age, the outbox's depth). */
  scrapeSources(now?: () => Date): ScrapeSources {
    return storeScrapeSources(this.db, now);
  }

  /** The readiness probe's database check (and, on PostgreSQL, what the store saw of its connections). */
  readinessCheck(): ReadinessCheck {
    return databaseCheck(this.db, this.connections);
  }

  /** Takes or renews the named lease for `owner` until `now + ms`: true when `owner` holds it now (see leases.ts). */
  tryLease(name: string, owner: string, ms: number, now?: Date): Promise<boolean> {
    return tryLease(this.db, name, owner, ms, now);
  }
}
