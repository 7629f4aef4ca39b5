import { chainHash, GENESIS_HASH, type JsonValue } from './canonical';
import type { AuditLogTable } from './schema';

export type AuditRow = AuditLogTable;

/** What is wrong at one row: the first problem verify finds, with the seq to look at. */
export interface ChainProblem {
  seq: number;
  /** edited: its fields do not match its hash; deleted: seq numbers are missing before it; relinked: its prev_hash is not its predecessor's hash; out_of_order: seq does not increase; unreadable: details is not JSON; truncated: the anchor is past the end. */
  kind: 'edited' | 'deleted' | 'relinked' | 'out_of_order' | 'unreadable' | 'truncated';
  message: string;
}

/** A point of the chain recorded elsewhere (the bot's log, a ticket, an auditor's notes): `<seq>:<hash>` or just `<hash>`. */
export interface ChainAnchor {
  seq?: number;
  hash: string;
}

export interface ChainResult {
  ok: boolean;
  rows: number;
  /** The last row's seq and hash (seq 0 and the genesis hash for an empty trail). */
  head: { seq: number; hash: string };
  problem?: ChainProblem;
  /** Where the anchor was found, when one was given and the chain reached it. */
  anchorSeq?: number;
}

/** Reads `<seq>:<hash>` or `<hash>` (64 hex characters); null when it is neither. */
export function parseAnchor(text: string): ChainAnchor | null {
  const m = /^(?:(\d{1,15}):)?([0-9a-f]{64})$/i.exec(text.trim());
  if (!m) return null;
  return { ...(m[1] ? { seq: Number(m[1]) } : {}), hash: m[2]!.toLowerCase() };
}

export function formatAnchor(head: { seq: number; hash: string }): string {
  return `${head.seq}:${head.hash}`;
}

/** The fields of a stored row its hash covers; throws if details is not JSON (an edit outside the bot). */
export function chainedFieldsOf(row: AuditRow): Parameters<typeof chainHash>[1] {
  return {
    seq: Number(row.seq),
    at: row.at,
    kind: row.kind,
    actor: row.actor,
    pimRequestId: row.pim_request_id,
    requestId: row.request_id,
    evaluationId: row.evaluation_id,
    outcome: row.outcome,
    details: JSON.parse(row.details) as JsonValue,
  };
}

/**
 * Checks the chain one row at a time, in seq order, so a trail of any size is verified in pages. Stops
 * at the first problem: after one, every later link is suspect anyway.
 *
 * What a chain alone can and cannot show: an edited row (its hash no longer matches), a deleted row in the
 * middle (a gap in seq), a row whose hash was recomputed after an edit (the next row's prev_hash no longer
 * matches). It cannot show rows deleted from the end, nor a chain recomputed from some row onwards: for
 * that, compare with an anchor (a seq and hash recorded outside the database, which the bot logs).
 */
export class ChainVerifier {
  private count = 0;
  private last = { seq: 0, hash: GENESIS_HASH };
  private problem: ChainProblem | undefined;
  private anchorSeq: number | undefined;

  constructor(private readonly anchor?: ChainAnchor) {}

  /** Feeds the next row; false once a problem was found (stop reading). */
  push(row: AuditRow): boolean {
    if (this.problem) return false;
    const seq = Number(row.seq);
    const expected = this.last.seq + 1;
    if (seq < expected)
      return this.fail({ seq, kind: 'out_of_order', message: `seq ${seq} comes after seq ${this.last.seq}: rows are out of order or a seq was changed` });
    if (seq > expected) {
      const missing = seq - 1 === expected ? `seq ${expected} is missing` : `seq ${expected}..${seq - 1} are missing`;
      return this.fail({ seq: expected, kind: 'deleted', message: `${missing} (deleted): seq ${this.last.seq} is followed by seq ${seq}` });
    }
    let fields: ReturnType<typeof chainedFieldsOf>;
    try {
      fields = chainedFieldsOf(row);
    } catch {
      return this.fail({ seq, kind: 'unreadable', message: `seq ${seq} was edited: its details are not valid JSON` });
    }
    let recomputed: string;
    try {
      recomputed = chainHash(row.prev_hash, fields);
    } catch {
      return this.fail({ seq, kind: 'unreadable', message: `seq ${seq} was edited: its details hold a value the trail never writes` });
    }
    if (recomputed !== row.hash) return this.fail({ seq, kind: 'edited', message: `seq ${seq} was edited: its fields no longer match its hash` });
    if (row.prev_hash !== this.last.hash) {
      return this.fail({
        seq,
        kind: 'relinked',
        message: `seq ${seq} does not follow seq ${this.last.seq}: its prev_hash is not seq ${this.last.seq}'s hash (seq ${this.last.seq} or an earlier row was edited and its hash recomputed)`,
      });
    }
    if (this.anchor && row.hash === this.anchor.hash) {
      if (this.anchor.seq !== undefined && this.anchor.seq !== seq) {
        return this.fail({ seq, kind: 'relinked', message: `the anchor's hash is at seq ${seq}, not at seq ${this.anchor.seq} as the anchor says` });
      }
      this.anchorSeq = seq;
    }
    this.count += 1;
    this.last = { seq, hash: row.hash };
    return true;
  }

  result(): ChainResult {
    const base = { rows: this.count, head: { ...this.last } };
    if (this.problem) return { ok: false, ...base, problem: this.problem };
    if (this.anchor && this.anchorSeq === undefined) {
      const seq = this.anchor.seq ?? this.last.seq + 1;
      if (this.anchor.seq !== undefined && this.anchor.seq <= this.last.seq) {
        return {
          ok: false,
          ...base,
          problem: {
            seq,
            kind: 'edited',
            message: `seq ${seq} does not have the anchor's hash: it, or a row before it, was rewritten and the chain recomputed`,
          },
        };
      }
      const what =
        this.anchor.seq !== undefined
          ? `the trail ends at seq ${this.last.seq} but the anchor is at seq ${this.anchor.seq}: rows ${this.last.seq + 1}..${this.anchor.seq} were deleted from the end`
          : `the anchor's hash is not in the trail: rows were deleted from the end (the trail ends at seq ${this.last.seq}), or the chain was rewritten`;
      return { ok: false, ...base, problem: { seq, kind: 'truncated', message: what } };
    }
    return { ok: true, ...base, ...(this.anchorSeq !== undefined ? { anchorSeq: this.anchorSeq } : {}) };
  }

  private fail(problem: ChainProblem): false {
    this.problem = problem;
    return false;
  }
}

/** Verifies rows already in memory (tests, small exports). */
export function verifyChain(rows: Iterable<AuditRow>, anchor?: ChainAnchor): ChainResult {
  const v = new ChainVerifier(anchor);
  for (const row of rows) if (!v.push(row)) break;
  return v.result();
}
