import type { MaintenanceWindow, Weekday } from './policy';
import { WEEKDAYS } from './policy';

/**
 * Whether the whole activation [start, end) lies inside one maintenance window. Weekly windows are
 * wall-clock times in their own time zone, so they follow daylight-saving changes.
 */
export function insideMaintenanceWindow(windows: MaintenanceWindow[], start: Date, end: Date): boolean {
  return windows.some((w) => ('timeZone' in w ? weeklyCovers(w, start, end) : Date.parse(w.start) <= start.getTime() && end.getTime() <= Date.parse(w.end)));
}

function weeklyCovers(w: { timeZone: string; days: Weekday[]; start: string; end: string }, start: Date, end: Date): boolean {
  // Check each minute boundary would be exact but slow; instead find the occurrence that contains
  // `start` (today's or yesterday's, for windows past midnight) and compare its end with `end`.
  for (const dayOffset of [0, -1]) {
    const occurrence = occurrenceAround(w, start, dayOffset);
    if (occurrence && occurrence.start <= start.getTime() && end.getTime() <= occurrence.end) return true;
  }
  return false;
}

/** The window occurrence that starts on the local day of `at` shifted by `dayOffset`, in epoch ms. */
function occurrenceAround(
  w: { timeZone: string; days: Weekday[]; start: string; end: string },
  at: Date,
  dayOffset: number,
): { start: number; end: number } | null {
  const local = localParts(at, w.timeZone);
  const day = new Date(Date.UTC(local.year, local.month - 1, local.day + dayOffset));
  const weekday = WEEKDAYS[day.getUTCDay()]!;
  if (!w.days.includes(weekday)) return null;
  const [sh, sm] = w.start.split(':').map(Number) as [number, number];
  const [eh, em] = w.end.split(':').map(Number) as [number, number];
  const overnight = eh * 60 + em <= sh * 60 + sm;
  const startMs = zonedToUtc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), sh, sm, w.timeZone);
  const endDay = new Date(day.getTime() + (overnight ? 86_400_000 : 0));
  const endMs = zonedToUtc(endDay.getUTCFullYear(), endDay.getUTCMonth() + 1, endDay.getUTCDate(), eh, em, w.timeZone);
  return { start: startMs, end: endMs };
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

function localParts(at: Date, timeZone: string): LocalParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** The UTC instant of a local wall-clock time in `timeZone` (the offset found by two passes, DST-safe). */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wanted = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const p = localParts(new Date(guess), timeZone);
    const seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    guess += wanted - seen;
  }
  return guess;
}
