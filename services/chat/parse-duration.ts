import type { WorkingText } from './working-text';

/** PIM caps an activation at 24 hours (policy maxima are lower and checked later, against the role's rule). */
export const MAX_DURATION_MINUTES = 24 * 60;

export const DURATION_HELP = 'Durations go from 1 minute up to 24 hours, for example "for 2h", "90m", "1h30" or "until 17:30".';

export type DurationResult = { kind: 'none' } | { kind: 'ok'; minutes: number } | { kind: 'invalid'; question: string };

const NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
};

// Optional lead-in words that belong to the duration, so they do not leak into the justification.
const LEAD = String.raw`(?:\b(?:for|during)\s+(?:about\s+|around\s+)?)?`;
const NUM = String.raw`(-?\d+(?:[.,]\d+)?)`;
const NOT_AFTER = String.raw`(?<![\w.\-])`;
const HOURS = '(?:hours?|hrs?|h)(?![a-z])';
const MINUTES = '(?:minutes?|mins?|m)(?![a-z])';

function num(raw: string): number {
  return Number(raw.replace(',', '.'));
}

function checked(minutes: number, said: string): DurationResult {
  const rounded = Math.round(minutes);
  if (!Number.isFinite(rounded) || rounded <= 0) {
    return { kind: 'invalid', question: `"${said}" is not a duration I can activate for. ${DURATION_HELP}` };
  }
  if (rounded > MAX_DURATION_MINUTES) {
    return { kind: 'invalid', question: `"${said}" is longer than PIM allows. ${DURATION_HELP}` };
  }
  return { kind: 'ok', minutes: rounded };
}

/** Wall-clock minutes since midnight of `now` in `timeZone`. */
function minutesOfDay(now: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value);
  return hour * 60 + minute;
}

function untilTime(match: RegExpExecArray, now: Date, timeZone: string): DurationResult {
  const said = match[0].trim();
  const word = match[1]!;
  const nowMinutes = minutesOfDay(now, timeZone);
  const ahead = (target: number): number => {
    const diff = (target - nowMinutes + 1440) % 1440;
    // "until 17:00" said at 17:00 means tomorrow's 17:00, the next occurrence.
    return diff === 0 ? 1440 : diff;
  };
  if (word === 'noon') return checked(ahead(12 * 60), said);
  if (word === 'midnight') return checked(ahead(0), said);
  const hour = Number(match[2]);
  const minute = match[3] === undefined ? 0 : Number(match[3]);
  const meridiem = match[4]?.replace(/\./g, '');
  if (minute > 59 || hour > 23 || (meridiem !== undefined && (hour < 1 || hour > 12))) {
    return { kind: 'invalid', question: `"${said}" is not a time of day. ${DURATION_HELP}` };
  }
  if (meridiem !== undefined) {
    const h24 = (hour % 12) + (meridiem === 'pm' ? 12 : 0);
    return checked(ahead(h24 * 60 + minute), said);
  }
  if (hour >= 1 && hour <= 12) {
    // "until 5" without am/pm: whichever 5 o'clock comes first.
    return checked(Math.min(ahead(hour * 60 + minute), ahead(((hour % 12) + 12) * 60 + minute)), said);
  }
  return checked(ahead(hour * 60 + minute), said);
}

/**
 * Finds one duration in the unconsumed text, consumes it, and checks it is between 1 minute and 24 hours.
 * Forms are tried longest first so "an hour and a half" is not read as "an hour".
 */
export function takeDuration(text: WorkingText, now: Date, timeZone: string): DurationResult {
  let m: RegExpExecArray | null;

  m = text.take(/\b(?:until|till|til)\s+(noon|midnight|(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?)(?![\w:])/);
  if (m) {
    return untilTime(m, now, timeZone);
  }
  m = text.take(new RegExp(String.raw`${LEAD}\bpt(?=\d)(?:(\d+(?:\.\d+)?)h)?(?:(\d+)m)?\b`));
  if (m) {
    if (m[1] !== undefined || m[2] !== undefined) {
      return checked(num(m[1] ?? '0') * 60 + num(m[2] ?? '0'), m[0].trim());
    }
  }
  m = text.take(new RegExp(String.raw`${LEAD}\b(?:an?|one)\s+hour\s+and\s+a\s+half\b`));
  if (m) return checked(90, m[0].trim());
  m = text.take(new RegExp(String.raw`${LEAD}\b(?:half\s+an?\s+hour|half\s+hour)\b`));
  if (m) return checked(30, m[0].trim());
  m = text.take(new RegExp(String.raw`${LEAD}\b(?:an?|one)\s+(hour|day)\b`));
  if (m) {
    return checked(m[1] === 'day' ? 1440 : 60, m[0].trim());
  }
  const words = Object.keys(NUMBER_WORDS).join('|');
  m = text.take(new RegExp(String.raw`${LEAD}\b(${words})\s+(hours?|minutes?|mins?)\b`));
  if (m) {
    const n = NUMBER_WORDS[m[1]!]!;
    return checked(m[2]!.startsWith('h') ? n * 60 : n, m[0].trim());
  }
  // "2h", "1.5 hours", "1h30", "1h 30m", "2 hours and 15 minutes".
  m = text.take(new RegExp(String.raw`${LEAD}${NOT_AFTER}${NUM}\s*${HOURS}(?:\s*(?:and\s+)?(\d{1,2})\s*${MINUTES}|(\d{2})(?![\w.:]))?`));
  if (m) {
    const extra = m[2] ?? m[3];
    const hours = num(m[1]!);
    const minutes = hours * 60 + (extra === undefined ? 0 : Math.sign(hours || 1) * Number(extra));
    return checked(minutes, m[0].trim());
  }
  m = text.take(new RegExp(String.raw`${LEAD}${NOT_AFTER}${NUM}\s*${MINUTES}`));
  if (m) return checked(num(m[1]!), m[0].trim());
  m = text.take(new RegExp(String.raw`${LEAD}${NOT_AFTER}${NUM}\s*(?:(days?|d)|(weeks?|w))(?![a-z])`));
  if (m) {
    return checked(num(m[1]!) * (m[2] !== undefined ? 1440 : 7 * 1440), m[0].trim());
  }
  m = text.take(/\bfor\s+(-?\d+(?:[.,]\d+)?)(?![\w.:,])/);
  if (m) {
    return {
      kind: 'invalid',
      question: `Did you mean ${m[1]} hours or ${m[1]} minutes? Say "for ${m[1]}h" or "for ${m[1]}m". ${DURATION_HELP}`,
    };
  }
  m = text.take(/\bfor\s+(?:a\s+while|a\s+bit|some\s+time|a\s+few\s+hours|the\s+day|the\s+night|today)\b/);
  if (m) {
    return { kind: 'invalid', question: `How long exactly is "${m[0].trim()}"? ${DURATION_HELP}` };
  }
  return { kind: 'none' };
}
