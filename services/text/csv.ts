/**
 * CSV (RFC 4180) for every export: the audit trail's and the PIM tab's. Comma separated, CRLF line ends, a
 * field quoted when it holds a comma, quote, CR or LF, quotes doubled. A text field a spreadsheet would run
 * as a formula (starting with = + - @, or a tab or CR that some strip first) gets a leading apostrophe, the
 * OWASP advice for CSV injection: a requester's justification is attacker-chosen text. A number is written
 * as the number (a negative count stays a number); null and undefined are empty. Pure.
 */

export type CsvCell = string | number | boolean | null | undefined;

/** Characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field. */
export function csvField(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated. */
export function csvRecord(values: ReadonlyArray<CsvCell>): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
