import { csvField, csvRecord } from '../text/csv';
import type { AuditRow } from './verify-chain';

export { csvField, csvRecord };

export type ExportFormat = 'csv' | 'json';

export const CSV_COLUMNS = ['seq', 'at', 'kind', 'actor', 'pim_request_id', 'request_id', 'evaluation_id', 'outcome', 'details', 'prev_hash', 'hash'] as const;

/** A row as the JSON export gives it: details as an object, names in camelCase. */
export function jsonRecord(row: AuditRow): Record<string, unknown> {
  let details: unknown;
  try {
    details = JSON.parse(row.details);
  } catch {
    details = row.details; // not JSON (edited outside the bot): exported as found, verify names the row
  }
  return {
    seq: Number(row.seq),
    at: row.at,
    kind: row.kind,
    actor: row.actor,
    pimRequestId: row.pim_request_id,
    requestId: row.request_id,
    evaluationId: row.evaluation_id,
    outcome: row.outcome,
    details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Writes rows as CSV (a header line, then one record per row, CRLF line ends) or as a JSON array, one
 * row per line. The JSON keeps every value exactly, so each row's hash can be recomputed from it; the
 * CSV is for reading (its apostrophe guard changes cells that start like a formula).
 */
export async function writeExport(
  rows: AsyncIterable<AuditRow> | Iterable<AuditRow>,
  format: ExportFormat,
  write: (chunk: string) => unknown,
): Promise<number> {
  let n = 0;
  if (format === 'csv') {
    await write(csvRecord([...CSV_COLUMNS]));
    for await (const row of rows) {
      await write(csvRecord(CSV_COLUMNS.map((c) => (c === 'seq' ? Number(row.seq) : row[c]))));
      n += 1;
    }
    return n;
  }
  await write('[');
  for await (const row of rows) {
    await write(`${n === 0 ? '\n' : ',\n'}${JSON.stringify(jsonRecord(row))}`);
    n += 1;
  }
  await write(n === 0 ? ']\n' : '\n]\n');
  return n;
}
