import { Kysely, sql } from 'kysely';
import type { Database } from '../store/schema';
import { engineOf } from '../store/dialect';
import { canonicalJson, chainHash, GENESIS_HASH, type JsonValue } from './canonical';
import type { AuditLogTable } from './schema';
import { ChainVerifier, type ChainAnchor, type ChainResult } from './verify-chain';

/** What the trail records. */
export type AuditKind = 'evaluation' | 'card.decision' | 'graph.result' | 'nudge' | 'escalation' | 'digest.action' | 'self_activation' | 'request.closed' | 'callout.conflict' | 'callout.unbound';

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
/** Standalone appends (not inside a state change's transaction) retry this often on a conflict (another process appended first on SQLite). */
const APPEND_ATTEMPTS = 5;

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

/**
 * Appends entries to the chain inside the caller's transaction: the state change and its audit rows
 * commit together or not at all. Appends are serialised so the chain stays linear with many replicas:
 * on PostgreSQL a transaction-scoped advisory lock (keyed by schema) is taken before the head is read
 * and held until commit; on SQLite the one writer at a time does it, and seq's primary key turns a
 * cross-process race into an error (retried by `record`) instead of a fork.
 */
export async function appendAudit(trx: Kysely<Database>, entries: readonly AuditEntry[]): Promise<{ seq: number; hash: string }> {
  if (engineOf(trx) === 'postgres') {
    await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(trx);
  }
  const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  let prev = head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: GENESIS_HASH };
  for (const e of entries) {
    const row = chainRow(prev, e);
    await trx.insertInto('audit_log').values(row).execute();
    prev = { seq: row.seq, hash: row.hash };
  }
  return prev;
}

/** The audit trail of one database: append, read the head, verify, page through for export. */
export class AuditTrail {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends entries in a transaction of their own, for actions with no state change of ours to share a
   * transaction with (a nudge sent, a digest button). Retried on a conflict, so a busy moment does not
   * lose the record.
   */
  async record(...entries: AuditEntry[]): Promise<{ seq: number; hash: string }> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (this.db.isTransaction) return await appendAudit(this.db, entries);
        return await this.db.transaction().execute((trx) => appendAudit(trx, entries));
      } catch (err) {
        if (attempt >= APPEND_ATTEMPTS || this.db.isTransaction) throw err;
        await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
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
