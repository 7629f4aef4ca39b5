import { localDate, localTimeOn } from '../jobs/local-time';
/**
 * The admin dashboard's arithmetic, pure: decision-time buckets, medians, pending ages against PIM's 24 hours,
 * top lists, and the date range a query names. Unit-tested beside this file.
 */

const DAY_MS = 86_400_000;

/** Decision time buckets, upper bounds in minutes (exclusive); the last is open. */
export const DECISION_BUCKETS: ReadonlyArray<{ label: string; belowMinutes: number }> = [
  { label: '<5m', belowMinutes: 5 },
  { label: '5-15m', belowMinutes: 15 },
  { label: '15-60m', belowMinutes: 60 },
  { label: '1-4h', belowMinutes: 240 },
  { label: '4-24h', belowMinutes: 1440 },
  { label: '24h+', belowMinutes: Number.POSITIVE_INFINITY },
];

/** Pending requests by age, against PIM's 24 hours (a request still pending past them is about to be dropped). */
export const PENDING_BUCKETS: ReadonlyArray<{ label: string; belowMinutes: number }> = [
  { label: '<1h', belowMinutes: 60 },
  { label: '1-4h', belowMinutes: 240 },
  { label: '4-12h', belowMinutes: 720 },
  { label: '12-20h', belowMinutes: 1200 },
  { label: '20-24h', belowMinutes: 1440 },
  { label: '24h+', belowMinutes: Number.POSITIVE_INFINITY },
];

/** Minutes from `from` to `to` (ISO times); null when either is missing or unreadable, or `to` is earlier. */
export function minutesBetween(from: string | null | undefined, to: string | null | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isNaN(ms) || ms < 0 ? null : ms / 60_000;
}

/** The median (mean of the two middle values for an even count), rounded to 0.1; null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const m = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return Math.round(m * 10) / 10;
}

/** How many values fall in each bucket (every bucket listed, zeros included). */
export function bucketCounts(minutes: readonly number[], buckets = DECISION_BUCKETS): Array<{ label: string; count: number }> {
  const counts = buckets.map((b) => ({ label: b.label, count: 0 }));
  for (const m of minutes) {
    const i = buckets.findIndex((b) => m < b.belowMinutes);
    counts[i]!.count++;
  }
  return counts;
}

/** The `n` largest counts, ties by name; `name` is the key. */
export function topCounts(counts: ReadonlyMap<string, number>, n: number): Array<{ name: string; count: number }> {
  return [...counts]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, n);
}

/** Groups values by key, then gives each key's count and median. */
export function countAndMedian(pairs: ReadonlyArray<{ key: string; minutes: number | null }>): Map<string, { count: number; medianMinutes: number | null }> {
  const by = new Map<string, number[]>();
  const counts = new Map<string, number>();
  for (const p of pairs) {
    counts.set(p.key, (counts.get(p.key) ?? 0) + 1);
    if (!by.has(p.key)) by.set(p.key, []);
    if (p.minutes !== null) by.get(p.key)!.push(p.minutes);
  }
  return new Map([...counts].map(([k, count]) => [k, { count, medianMinutes: median(by.get(k)!) }]));
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date `YYYY-MM-DD` that exists (2026-02-30 does not). */
export function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The most days a dashboard or export covers. */
export const MAX_RANGE_DAYS = 366;

/**
 * The range `from`..`to` (UTC dates, both included) as ISO instants [fromIso, toIso): default the last 30 days
 * up to today. Throws a message naming the field at fault.
 */
export function dateRange(
  q: { from?: string; to?: string },
  now: Date,
  timeZone = 'UTC',
): { from: string; to: string; fromIso: string; toIso: string } | { field: 'from' | 'to'; message: string } {
  // Days are the reader's calendar days: from local midnight of `from` to local midnight after `to`.
  const today = localDate(now, timeZone);
  const to = q.to ?? today;
  if (!validDate(to)) return { field: 'to', message: 'to must be a date, YYYY-MM-DD' };
  const from = q.from ?? shiftDate(to, -29);
  if (!validDate(from)) return { field: 'from', message: 'from must be a date, YYYY-MM-DD' };
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days < 1) return { field: 'from', message: 'from must not be after to' };
  if (days > MAX_RANGE_DAYS) return { field: 'from', message: `the range is at most ${MAX_RANGE_DAYS} days` };
  const fromIso = localTimeOn(from, timeZone, '00:00').toISOString();
  const toIso = localTimeOn(shiftDate(to, 1), timeZone, '00:00').toISOString();
  return { from, to, fromIso, toIso };
}

/** The calendar date `days` after (or before) `date`, both YYYY-MM-DD. */
function shiftDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
