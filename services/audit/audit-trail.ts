import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema';
import { engineOf } from '../store/dialect';
import { isConnectionError } from '../store/pg-resilience';
import { canonicalJson, chainHash, GENESIS_HASH, type JsonValue } from './canonical';
import type { AuditLogTable } from './schema';
import { ChainVerifier, type ChainAnchor, type ChainResult } from './verify-chain';

/** What the trail records. */
export type AuditKind =
  | 'evaluation'
  | 'card.decision'
  | 'graph.result'
  | 'nudge'
  | 'escalation'
  | 'digest.action'
  | 'self_activation'
  | 'request.closed'
  | 'callout.conflict'
  | 'callout.unbound'
  | 'extension.asked'
  | 'extension.decision'
  /** Break-glass (services/emergency): a grant or a refused emergency, its broadcast, the post-incident note, the second person's review. */
  | 'emergency.grant'
  | 'emergency.refused'
  | 'emergency.broadcast'
  | 'emergency.note'
  | 'emergency.review';

/** One thing to record; the trail adds seq, the hashes and (unless given) the time. */
export interface AuditEntry {
  kind: AuditKind;
  /** Who acted: an Entra object id, or `bot` for the bot's own timers. */
  actor: string;
  pimRequestId?: string | null;
  requestId?: string | null;
  evaluationId?: string | null;
  outcome: string;
  /** A small object of evidence (justification, rules that fired, Graph status). Never tokens or payloads. */
  details?: Record<string, JsonValue | undefined>;
  at?: Date;
}

/** Rows read per query while verifying or exporting. */
const PAGE_ROWS = 1000;
/** A string longer than this in details is cut (with a marker); PIM itself accepts far shorter justifications. */
const MAX_DETAIL_CHARS = 4000;
/** Keys that would hold credentials are refused outright: the trail is read by auditors, not an auth store. */
const SECRET_KEY = /token|secret|password|authorization|assertion|cookie|api[-_]?key/i;
/**
 * Standalone appends (not inside a state change's transaction) are tried this often in all, when the
 * connection was lost, the database refused the transaction as a conflict, or another process appended first.
 */
export const APPEND_ATTEMPTS = 5;

/** Details made safe to store: secret-looking keys refused, long strings cut, undefined values left out. */
export function boundedDetails(details: Record<string, JsonValue | undefined> | undefined): JsonValue {
  const walk = (v: JsonValue | undefined, path: string): JsonValue | undefined => {
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v.length > MAX_DETAIL_CHARS ? `${v.slice(0, MAX_DETAIL_CHARS)}… [cut at ${MAX_DETAIL_CHARS} characters]` : v;
    if (Array.isArray(v)) return v.slice(0, 50).map((x, i) => walk(x, `${path}[${i}]`) ?? null);
    if (v && typeof v === 'object') {
      const out: Record<string, JsonValue> = {};
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEY.test(k)) throw new Error(`audit details may not hold '${path}${k}': credentials never go into the audit trail`);
        const w = walk(x, `${path}${k}.`);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    return v;
  };
  return walk((details ?? {}) as JsonValue, '') ?? {};
}

/** The row that follows `prev` in the chain for this entry (pure: the hash covers every other column). */
export function chainRow(prev: { seq: number; hash: string }, e: AuditEntry): AuditLogTable {
  const details = boundedDetails(e.details);
  const fields = {
    seq: prev.seq + 1,
    at: (e.at ?? new Date()).toISOString(),
    kind: e.kind,
    actor: e.actor,
    pimRequestId: e.pimRequestId ?? null,
    requestId: e.requestId ?? null,
    evaluationId: e.evaluationId ?? null,
    outcome: e.outcome,
    details,
  };
  return {
    seq: fields.seq,
    at: fields.at,
    kind: fields.kind,
    actor: fields.actor,
    pim_request_id: fields.pimRequestId,
    request_id: fields.requestId,
    evaluation_id: fields.evaluationId,
    outcome: fields.outcome,
    details: canonicalJson(details),
    prev_hash: prev.hash,
    hash: chainHash(prev.hash, fields),
  };
}

/** A batch's row `index` (0-based) as stored in `entry_key`. */
export function entryKey(batch: string, index: number): string {
  return `${batch}:${index}`;
}

export interface AppendOptions {
  /**
   * An id unique to this set of entries (`record` takes a random UUID per call). Each row stores
   * `<batch>:<index>` (unique); when the batch's last row is already in the table (an earlier attempt
   * committed although its answer was lost), nothing is appended and that row's seq and hash are returned.
   */
  batch?: string;
}

/**
 * Appends entries to the chain inside the caller's transaction: the state change and its audit rows
 * commit together or not at all. Appends are serialised so the chain stays linear with many replicas:
 * on PostgreSQL a transaction-scoped advisory lock (keyed by schema) is taken before the head is read
 * and held until commit; on SQLite the one writer at a time does it, and seq's primary key turns a
 * cross-process race into an error (retried by `record`) instead of a fork.
 */
export async function appendAudit(trx: Kysely<Database>, entries: readonly AuditEntry[], options: AppendOptions = {}): Promise<{ seq: number; hash: string }> {
  if (engineOf(trx) === 'postgres') {
    await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(trx);
  }
  const { batch } = options;
  if (batch && entries.length > 0) {
    // Read under the append lock: an earlier attempt whose COMMIT was still being processed held it, so
    // by now its rows are either all there (committed together) or none are.
    const done = await trx
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .where('entry_key', '=', entryKey(batch, entries.length - 1))
      .executeTakeFirst();
    if (done) return { seq: Number(done.seq), hash: done.hash };
  }
  const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  let prev = head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: GENESIS_HASH };
  for (const [index, e] of entries.entries()) {
    const row = chainRow(prev, e);
    await trx
      .insertInto('audit_log')
      .values(batch ? { ...row, entry_key: entryKey(batch, index) } : row)
      .execute();
    prev = { seq: row.seq, hash: row.hash };
  }
  return prev;
}

/**
 * Errors after which `record` runs its append again: a lost connection (PostgreSQL's connection
 * SQLSTATEs and socket errors, as pg-resilience classifies them; the batch id makes a COMMIT that landed
 * anyway harmless), a transaction the database refused as a conflict (serialization failure, deadlock,
 * SQLite busy or a stale snapshot), and a unique violation on audit_log (another process took the seq
 * first, or this batch's rows landed after all). Anything else (bad details, a bug, a full disk) fails
 * at once: running it again would only fail again.
 */
export function isRetryableAppendError(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  const e = err as { code?: unknown; table?: unknown; message?: unknown } | undefined;
  const code = e?.code;
  if (typeof code !== 'string') return false;
  if (code === '40001' || code === '40P01') return true;
  if (code === '23505') return e?.table === 'audit_log';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) return true;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return /\baudit_log\./.test(String(e?.message));
  return false;
}

/** The audit trail of one database: append, read the head, verify, page through for export. */
export class AuditTrail {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends entries in a transaction of their own, for actions with no state change of ours to share a
   * transaction with (a nudge sent, a digest button). Retried on a lost connection or a conflict (see
   * isRetryableAppendError), so a busy moment or a database restart does not lose the record; and
   * retried safely: the call's entries carry one batch id, so when a COMMIT reached the database but its
   * answer was lost, the next attempt finds them and returns their head instead of appending them twice.
   * Inside a transaction already, appends in it once (the caller's transaction decides).
   */
  async record(...entries: AuditEntry[]): Promise<{ seq: number; hash: string }> {
    if (this.db.isTransaction) return appendAudit(this.db, entries);
    const batch = randomUUID();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction().execute((trx) => appendAudit(trx, entries, { batch }));
      } catch (err) {
        if (attempt >= APPEND_ATTEMPTS || !isRetryableAppendError(err)) throw err;
        // A lost connection waits longer (a restart or failover takes a moment) than a conflict.
        const delay = isConnectionError(err) ? 50 * 2 ** (attempt - 1) : 10 * attempt + Math.random() * 20;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** The last row's seq and hash: the anchor to keep outside the database. */
  async head(): Promise<{ seq: number; hash: string }> {
    const row = await this.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Rows in seq order, a page at a time; `from`/`to` (ISO, to exclusive) select by time. */
  async *rows(range: { from?: string; to?: string } = {}): AsyncGenerator<AuditLogTable> {
    let after = 0;
    for (;;) {
      let q = this.db.selectFrom('audit_log').selectAll().where('seq', '>', after);
      if (range.from) q = q.where('at', '>=', range.from);
      if (range.to) q = q.where('at', '<', range.to);
      const page = await q.orderBy('seq').limit(PAGE_ROWS).execute();
      for (const row of page) yield { ...row, seq: Number(row.seq) };
      if (page.length < PAGE_ROWS) return;
      after = Number(page[page.length - 1]!.seq);
    }
  }

  /** Walks the whole chain from seq 1; stops at the first problem. */
  async verify(anchor?: ChainAnchor): Promise<ChainResult> {
    const verifier = new ChainVerifier(anchor);
    for await (const row of this.rows()) if (!verifier.push(row)) break;
    return verifier.result();
  }
}
