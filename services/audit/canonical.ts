import { createHash } from 'node:crypto';

/** A JSON value as the audit trail stores it: no undefined, no NaN or Infinity, no Dates or class instances. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The chain starts from this "previous hash" (the first row has no predecessor). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical JSON of a value: object keys sorted by UTF-16 code units at every level, no whitespace,
 * strings and numbers as JSON.stringify writes them. This is the JSON Canonicalization Scheme's ordering
 * and number form (RFC 8785) for the values the trail stores, so any language can recompute a hash from an
 * export. Keys whose value is undefined are left out, as JSON.stringify does; anything JSON cannot carry
 * faithfully is refused rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError(`canonical JSON takes plain objects only, not ${(value as object).constructor?.name ?? 'this object'}`);
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

/** The fields of one audit row that its hash covers (everything but the hashes themselves). */
export interface ChainedFields {
  seq: number;
  /** ISO 8601 UTC, e.g. 2026-11-23T09:15:00.000Z. */
  at: string;
  kind: string;
  actor: string;
  pimRequestId: string | null;
  requestId: string | null;
  evaluationId: string | null;
  outcome: string;
  details: JsonValue;
}

/** hash = hex(sha256(prev_hash || canonical(row))): the previous row's hash (64 hex characters) followed by this row's canonical JSON. */
export function chainHash(prevHash: string, fields: ChainedFields): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(fields), 'utf8').digest('hex');
}
