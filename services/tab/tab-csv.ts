import { type CsvCell, csvRecord } from '../text/csv';

/** The tab's admin exports as CSV: services/text/csv.ts writes the fields (RFC 4180, formulas neutralised). */

export type { CsvCell };
export { csvField as csvCell } from '../text/csv';

/** A whole file: the header row, then one row per record, each line ended by CRLF. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly CsvCell[]>): string {
  return [header, ...rows].map(csvRecord).join('');
}

/** The Content-Disposition filename of an export: `<view>-<from>-<to>.csv` (the view and dates are checked before). */
export function csvFileName(view: string, from: string, to: string): string {
  return `${view}-${from}-${to}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
}
