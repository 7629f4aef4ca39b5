/**
 * CSV for the tab's admin exports: RFC 4180 (comma separated, CRLF line ends, a field quoted when it holds a
 * comma, a quote, CR or LF, quotes doubled), and no formulas: a text cell that a spreadsheet would read as one
 * (it starts with =, +, -, @, or a tab or CR before one) gets a leading apostrophe. Numbers are written as
 * numbers, so a negative count stays a number. Pure.
 */

export type CsvCell = string | number | boolean | null | undefined;

/** Characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: empty for null, a number as is, text neutralised and quoted as needed. */
export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole file: the header row, then one row per record, each line ended by CRLF. */
export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly CsvCell[]>): string {
  return [header, ...rows].map((r) => `${r.map(csvCell).join(',')}\r\n`).join('');
}

/** The Content-Disposition filename of an export: `<view>-<from>-<to>.csv` (the view and dates are checked before). */
export function csvFileName(view: string, from: string, to: string): string {
  return `${view}-${from}-${to}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
}
