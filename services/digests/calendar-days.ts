/**
 * Calendar days in a time zone for the digests, on the scheduler's DST-aware clock arithmetic
 * (`services/jobs/local-time.ts`). A missing or unknown zone counts as UTC rather than failing a digest.
 */
import { localDate as jobsLocalDate, localTimeOn, validTimeZone } from '../jobs/local-time';

/** The zone itself if ICU knows it, else 'UTC'. */
export function safeZone(timeZone: string | null | undefined): string {
  const zone = timeZone?.trim();
  return zone && validTimeZone(zone) ? zone : 'UTC';
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(instant: Date | number | string, timeZone: string | null | undefined): string {
  return jobsLocalDate(new Date(instant), safeZone(timeZone));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The date `days` after `date` (YYYY-MM-DD), in the calendar, not in hours. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** The instant (epoch ms) a wall-clock time happens in a zone: the first one in an overlap, the end of a gap. */
export function zonedInstant(date: string, time: string, timeZone: string | null | undefined): number {
  return localTimeOn(date, safeZone(timeZone), time).getTime();
}

/** Midnight at the start of `date` in the zone (epoch ms). */
export function startOfLocalDay(date: string, timeZone: string | null | undefined): number {
  return zonedInstant(date, '00:00', timeZone);
}
