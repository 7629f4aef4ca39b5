/**
 * Teams' limits counted across every replica: the sends and pauses of all processes sharing the
 * database live in two tables, and a slot is taken by one atomic statement that inserts the send only
 * if every window has room and no pause holds. The in-process Pacer stays in front as a cheap
 * pre-check; this has the last word.
 *
 * Counted where Teams counts: at arrival. A send reaches Teams some time after its slot was taken (the
 * claim, the HTTPS call, a busy event loop: hundreds of milliseconds on a loaded host), so a window of
 * reservation times says little about arrivals. Each send is counted instead until `arrives_by`, the
 * latest it can reach Teams: its answer's time once `settle` records it, until then the reservation
 * plus `inFlightMs`. A new send (arriving at or after now) may go while every window holds fewer than
 * `count` sends with arrives_by > now - perMs; then no `perMs` of arrivals ever holds more than `count`,
 * however late each message arrives within its bounds.
 *
 * Atomicity. PostgreSQL: a short transaction that first takes a transaction-scoped advisory lock (one
 * constant key: the tenant window is shared by every conversation, so reservations are serialised),
 * then runs the guarded insert; the lock goes with the transaction, and a connection lost midway rolls
 * both back. SQLite: the guarded insert is one statement, which SQLite runs under its single write lock
 * taken before the statement reads (BEGIN IMMEDIATE semantics), so no transaction spans an await and a
 * second connection in the same process never waits on a lock held across the event loop.
 *
 * Times are ISO-8601 UTC strings (they compare as text), like every other table. Replicas' clocks must
 * agree (NTP) to well under a second, as for leases.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import pino, { type Logger } from 'pino';
import { engineOf } from '../store/dialect';
import type { Database } from '../store/schema';
import { TEAMS_LIMITS, TENANT_SCOPE, type PacerLimits, type Reservation } from './pacer';

/** The advisory lock key every replica serialises its reservations on ('pim-pace' as a 64-bit number). */
export const SHARED_PACE_LOCK_KEY = '8100125446728934245';

export const sharedPaceMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('pace_sends')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull())
      .addColumn('reserved_at', 'text', (c) => c.notNull())
      .addColumn('arrives_by', 'text', (c) => c.notNull())
      .execute();
    // A conversation's windows, and the tenant's (and pruning).
    await db.schema.createIndex('pace_sends_conversation').on('pace_sends').columns(['conversation_id', 'arrives_by']).execute();
    await db.schema.createIndex('pace_sends_arrival').on('pace_sends').column('arrives_by').execute();
    await db.schema
      .createTable('pace_pauses')
      .addColumn('scope', 'text', (c) => c.primaryKey())
      .addColumn('until', 'text', (c) => c.notNull())
      .execute();
  },
};

export interface SharedPaceOptions {
  /** The windows every replica together keeps; Teams' by default. */
  limits?: PacerLimits;
  /**
   * How long a send not yet settled counts as possibly still arriving (its sender died, or never said):
   * longer than any send can take. The outbox's lease (60 s) bounds its sends.
   */
  inFlightMs?: number;
  /** How often (by the callers' clock) this instance deletes sends older than the longest window. */
  pruneEveryMs?: number;
  /** PostgreSQL: how long a reservation waits for another replica's before it gives up (an error: "not now"). */
  lockTimeoutMs?: number;
  log?: Logger;
}

interface Window {
  count: number;
  perMs: number;
  conversation: boolean;
}

const DEFAULTS = { inFlightMs: 60_000, pruneEveryMs: 60_000, lockTimeoutMs: 2_000 } as const;

/** A slot taken: `slot` names it for `settle` (the send was answered) or `release` (it never went). */
export type SharedReservation = { ok: true; slot: string } | { ok: false; retryAt: Date };

/**
 * One pace for all replicas sharing the database: `reserve` takes a slot for a send to a conversation
 * only if every conversation and tenant window has room counting every replica's sends, `settle` says
 * when Teams answered it, and `pause` (a 429's Retry-After) holds the conversation, or the tenant, for
 * every replica. A reservation's errors (a lost connection, a lock wait that ran out) are thrown: the
 * caller treats them as "not now" and asks again on its next pass; nothing is left taken or locked.
 */
export class SharedPace {
  private readonly windows: Window[];
  private readonly keepMs: number;
  private readonly inFlightMs: number;
  private readonly pruneEveryMs: number;
  private readonly lockTimeoutMs: number;
  private readonly postgres: boolean;
  private readonly log: Logger;
  private nextPruneAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Kysely<Database>,
    options: SharedPaceOptions = {},
  ) {
    const limits = options.limits ?? TEAMS_LIMITS;
    this.windows = [...limits.tenant.map((l) => ({ ...l, conversation: false })), ...limits.conversation.map((l) => ({ ...l, conversation: true }))];
    for (const w of this.windows) {
      if (!(Number.isInteger(w.count) && w.count >= 1) || !(Number.isInteger(w.perMs) && w.perMs > 0)) {
        throw new Error(`SharedPace limit ${JSON.stringify({ count: w.count, perMs: w.perMs })} is not usable: count and perMs must be whole numbers ≥ 1`);
      }
    }
    this.inFlightMs = options.inFlightMs ?? DEFAULTS.inFlightMs;
    this.pruneEveryMs = options.pruneEveryMs ?? DEFAULTS.pruneEveryMs;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
    if (!(Number.isInteger(this.inFlightMs) && this.inFlightMs >= 1))
      throw new Error(`SharedPace inFlightMs must be a whole number ≥ 1; got ${this.inFlightMs}`);
    if (!(Number.isInteger(this.lockTimeoutMs) && this.lockTimeoutMs >= 1))
      throw new Error(`SharedPace lockTimeoutMs must be a whole number ≥ 1; got ${this.lockTimeoutMs}`);
    this.keepMs = Math.max(...this.windows.map((w) => w.perMs));
    this.postgres = engineOf(db) === 'postgres';
    this.log = options.log ?? pino({ level: 'silent' });
  }

  /**
   * Takes a slot for a send to `conversationId` at `now` if every window and pause, across replicas,
   * allows it. Give it back with `release` if the send does not go; `settle` it when Teams answers.
   */
  async reserve(conversationId: string, now: Date): Promise<SharedReservation> {
    await this.pruneNowAndThen(now);
    const t = now.getTime();
    const slot = randomUUID();
    const taken = await this.atomically(async (db) => {
      const { rows } = await sql<{ id: string }>`
        INSERT INTO pace_sends (id, conversation_id, reserved_at, arrives_by)
        SELECT CAST(${slot} AS text), CAST(${conversationId} AS text), CAST(${iso(t)} AS text), CAST(${iso(t + this.inFlightMs)} AS text)
        WHERE ${this.roomFor(conversationId, t)}
        RETURNING id`.execute(db);
      return rows.length > 0;
    });
    if (taken) return { ok: true, slot };
    // When to ask again is only a hint, so it is read after the lock is gone.
    return { ok: false, retryAt: new Date(await this.freeAt(conversationId, t)) };
  }

  /**
   * Teams answered the send (any status: a 429 was received too) at `answeredAt`, so it arrived by then:
   * the windows count it until `answeredAt` + their length. Never throws: an unsettled slot only counts
   * longer (until the reservation + inFlightMs).
   */
  async settle(slot: string, answeredAt: Date): Promise<void> {
    try {
      await this.db.updateTable('pace_sends').set({ arrives_by: answeredAt.toISOString() }).where('id', '=', slot).execute();
    } catch (err) {
      this.log.warn({ err: { message: (err as Error)?.message } }, 'shared pace: could not settle a send; it counts until its in-flight bound');
    }
  }

  /** The send did not go (its row went to another replica): gives the slot back. Never throws: a slot not given back only slows. */
  async release(slot: string): Promise<void> {
    try {
      await this.db.deleteFrom('pace_sends').where('id', '=', slot).execute();
    } catch (err) {
      this.log.warn({ err: { message: (err as Error)?.message } }, 'shared pace: could not give a slot back; it counts until it expires');
    }
  }

  /** Whether a send may go now and, if not, when it may (a hint); takes nothing (what reserve would say, racing nobody). */
  async check(conversationId: string, now: Date): Promise<Reservation> {
    const t = now.getTime();
    const at = await this.freeAt(conversationId, t, t);
    return at > t ? { ok: false, retryAt: new Date(at) } : { ok: true };
  }

  /** Holds every replica's sends to a conversation, or to the whole tenant with `TENANT_SCOPE`, until `until`. Never shortens a pause. */
  async pause(scope: string, until: Date): Promise<void> {
    const at = until.toISOString();
    await this.db
      .insertInto('pace_pauses')
      .values({ scope, until: at })
      .onConflict((oc) => oc.column('scope').doUpdateSet({ until: at }).where('pace_pauses.until', '<', at))
      .execute();
  }

  /** When the scope's pause ends, or null when it is not paused at `now`. */
  async pausedUntil(scope: string, now: Date): Promise<Date | null> {
    const row = await this.db.selectFrom('pace_pauses').select('until').where('scope', '=', scope).where('until', '>', now.toISOString()).executeTakeFirst();
    return row ? new Date(row.until) : null;
  }

  /** Deletes sends no window can count any more and pauses that are over; returns how many sends went. */
  async prune(now: Date): Promise<number> {
    const sends = await this.db
      .deleteFrom('pace_sends')
      .where('arrives_by', '<=', iso(now.getTime() - this.keepMs))
      .executeTakeFirst();
    await this.db.deleteFrom('pace_pauses').where('until', '<=', now.toISOString()).execute();
    return Number(sends.numDeletedRows);
  }

  private async pruneNowAndThen(now: Date): Promise<void> {
    const t = now.getTime();
    if (t < this.nextPruneAt) return;
    this.nextPruneAt = t + this.pruneEveryMs;
    try {
      await this.prune(now);
    } catch (err) {
      this.log.warn({ err: { message: (err as Error)?.message } }, 'shared pace: pruning old sends failed; the next prune retries');
    }
  }

  /** Runs the guarded insert so no other replica's reservation interleaves with it. */
  private async atomically<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (!this.postgres) return work(this.db);
    return this.db.transaction().execute(async (trx) => {
      // A replica stuck holding the lock (frozen process, half-open connection) must not stall the others for long.
      await sql`SET LOCAL lock_timeout = ${sql.raw(String(this.lockTimeoutMs))}`.execute(trx);
      await sql`SELECT pg_advisory_xact_lock(${sql.raw(SHARED_PACE_LOCK_KEY)})`.execute(trx);
      return work(trx);
    });
  }

  /**
   * No pause holds the conversation or the tenant, and no window already holds `count` sends that may
   * arrive after t - perMs.
   */
  private roomFor(conversationId: string, t: number): RawBuilder<unknown> {
    const conditions = [sql`NOT EXISTS (SELECT 1 FROM pace_pauses WHERE scope IN (${conversationId}, ${TENANT_SCOPE}) AND until > ${iso(t)})`];
    for (const w of this.windows) {
      conditions.push(
        sql`NOT EXISTS (SELECT 1 FROM pace_sends WHERE ${this.scopeOf(w, conversationId)} arrives_by > ${iso(t - w.perMs)} LIMIT 1 OFFSET ${sql.lit(w.count - 1)})`,
      );
    }
    return sql.join(conditions, sql` AND `);
  }

  /**
   * The earliest time (after `t`, or at `t` with `earliest`) every pause is over and every window has a
   * free slot: a full window frees when its `count`-th latest arrival bound leaves it. A hint: a send in
   * flight counts until its in-flight bound here, though its answer will most likely bring that forward.
   */
  private async freeAt(conversationId: string, t: number, earliest = t + 1): Promise<number> {
    const columns = [sql`(SELECT max(until) FROM pace_pauses WHERE scope IN (${conversationId}, ${TENANT_SCOPE})) AS paused`];
    this.windows.forEach((w, i) => {
      columns.push(
        sql`(SELECT arrives_by FROM pace_sends WHERE ${this.scopeOf(w, conversationId)} arrives_by > ${iso(t - w.perMs)} ORDER BY arrives_by DESC LIMIT 1 OFFSET ${sql.lit(w.count - 1)}) AS ${sql.raw(`w${i}`)}`,
      );
    });
    const { rows } = await sql<Record<string, string | null>>`SELECT ${sql.join(columns)}`.execute(this.db);
    const row = rows[0] ?? {};
    let at = earliest;
    if (row.paused) at = Math.max(at, Date.parse(row.paused));
    this.windows.forEach((w, i) => {
      const nth = row[`w${i}`];
      if (nth) at = Math.max(at, Date.parse(nth) + w.perMs);
    });
    return at;
  }

  private scopeOf(w: Window, conversationId: string): RawBuilder<unknown> {
    return w.conversation ? sql`conversation_id = ${conversationId} AND` : sql``;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
