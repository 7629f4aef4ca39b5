/**
 * Wall-clock arithmetic in a user's time zone, with Intl.DateTimeFormat as the only source of zone
 * rules (Node ships full ICU and its tz database). Pure: no clock, no I/O.
 */

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DAY_MS = 86_400_000;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

// Building a DateTimeFormat costs far more than using one; the scheduler asks for the same few zones.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClock(at: Date | number, timeZone: string): WallClock {
  const out: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(at)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  // Some ICU versions still print midnight as 24 under h23.
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour! % 24, minute: out.minute!, second: out.second! };
}

/** The wall clock read as if it were UTC: comparable, and `wallMs(t) - t` is the zone's offset at t. */
function wallMs(at: number, timeZone: string): number {
  const w = wallClock(at, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) + (((at % 1000) + 1000) % 1000);
}

function offsetAt(at: number, timeZone: string): number {
  return wallMs(at, timeZone) - at;
}

function parseHhmm(hhmm: string): { hour: number; minute: number } {
  const m = HHMM.exec(hhmm);
  if (!m) throw new RangeError(`Time of day "${hhmm}" is not HH:MM (24-hour, 00:00 to 23:59)`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

function assertZone(timeZone: string): void {
  if (!validTimeZone(timeZone)) throw new RangeError(`Unknown time zone "${timeZone}": use an IANA name such as Europe/Amsterdam`);
}

/** True when Intl knows the zone (IANA names and their aliases, `UTC`, `Etc/GMT+5`). */
export function validTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The hour of day (0-23) the wall clock in `timeZone` shows at `at`. */
export function localHour(at: Date, timeZone: string): number {
  assertZone(timeZone);
  return wallClock(at, timeZone).hour;
}

/** The calendar date (YYYY-MM-DD) the wall clock in `timeZone` shows at `at`. */
export function localDate(at: Date, timeZone: string): string {
  assertZone(timeZone);
  const w = wallClock(at, timeZone);
  return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/**
 * The instant at which the wall clock in `timeZone` shows `hhmm` on local date `date` (YYYY-MM-DD).
 * When that time occurs twice (clocks go back), the first occurrence; when it does not occur (clocks go
 * forward over it), the first instant after the gap, i.e. the moment of the change.
 */
export function localTimeOn(date: string, timeZone: string, hhmm: string): Date {
  assertZone(timeZone);
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!d) throw new RangeError(`Date "${date}" is not YYYY-MM-DD`);
  const { hour, minute } = parseHhmm(hhmm);
  const wanted = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), hour, minute);
  // Zone offsets change at most once around a given wall time, so the offsets a day either side
  // (and the one at the naive guess) are the only candidates.
  const before = offsetAt(wanted - DAY_MS, timeZone);
  const after = offsetAt(wanted + DAY_MS, timeZone);
  const candidates = [...new Set([before, offsetAt(wanted, timeZone), after])]
    .map((o) => wanted - o)
    .filter((t) => wallMs(t, timeZone) === wanted)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // A gap: the offset grows from `before` to `after` somewhere in [wanted - after, wanted - before].
  // Search for the first instant already on the new offset.
  let lo = wanted - after;
  let hi = wanted - before;
  if (offsetAt(lo, timeZone) === after) return new Date(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return new Date(hi);
}

/**
 * The first instant strictly after `after` at which the wall clock in `timeZone` shows `hhmm`, once per
 * local day: on a day the clocks go back it is the first occurrence only, so a daily job does not run
 * twice; on a day they skip over `hhmm` it is the end of the gap.
 */
export function nextLocalTime(after: Date, timeZone: string, hhmm: string): Date {
  assertZone(timeZone);
  parseHhmm(hhmm);
  const start = after.getTime();
  if (!Number.isFinite(start)) throw new RangeError('nextLocalTime needs a valid date');
  // Start a day early: the local date at `after` may already be past hh:mm, or (near midnight across a
  // change) the candidate for the previous date can still lie ahead.
  let day = Date.UTC(...ymd(localDate(after, timeZone))) - DAY_MS;
  for (let i = 0; i < 4; i++, day += DAY_MS) {
    const date = new Date(day).toISOString().slice(0, 10);
    const t = localTimeOn(date, timeZone, hhmm);
    // A zone that skipped a whole calendar day (Samoa, 30 December 2011) has no occurrence that day;
    // the end of its gap belongs to the next date, which has its own.
    if (t.getTime() > start && localDate(t, timeZone) === date) return t;
  }
  throw new Error(`No ${hhmm} in ${timeZone} within three days of ${after.toISOString()}`);
}

function ymd(date: string): [number, number, number] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return [y, m - 1, d];
}

/**
 * Whether the wall clock in `timeZone` is inside [start, end). The window may wrap midnight
 * (22:00–07:00); a window whose start equals its end is empty.
 */
export function isWithinLocalHours(at: Date, timeZone: string, startHHMM: string, endHHMM: string): boolean {
  assertZone(timeZone);
  const s = parseHhmm(startHHMM);
  const e = parseHhmm(endHHMM);
  const w = wallClock(at, timeZone);
  const now = w.hour * 60 + w.minute;
  const start = s.hour * 60 + s.minute;
  const end = e.hour * 60 + e.minute;
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * Windows time zone ids (what Exchange, and so Graph's mailboxSettings, returns by default) to IANA
 * names: CLDR's windowsZones mapping for territory "001", written with current IANA names where CLDR
 * still lists an older alias (Asia/Kolkata for Asia/Calcutta, Europe/Kyiv for Europe/Kiev, ...).
 */
const WINDOWS_TO_IANA: Record<string, string> = {
  // UTC and fixed offsets
  UTC: 'Etc/UTC',
  'Coordinated Universal Time': 'Etc/UTC',
  'Dateline Standard Time': 'Etc/GMT+12',
  'UTC-11': 'Etc/GMT+11',
  'UTC-09': 'Etc/GMT+9',
  'UTC-08': 'Etc/GMT+8',
  'UTC-02': 'Etc/GMT+2',
  'UTC+12': 'Etc/GMT-12',
  'UTC+13': 'Etc/GMT-13',
  // North America
  'Aleutian Standard Time': 'America/Adak',
  'Hawaiian Standard Time': 'Pacific/Honolulu',
  'Alaskan Standard Time': 'America/Anchorage',
  'Pacific Standard Time': 'America/Los_Angeles',
  'Pacific Standard Time (Mexico)': 'America/Tijuana',
  'US Mountain Standard Time': 'America/Phoenix',
  'Mountain Standard Time': 'America/Denver',
  'Mountain Standard Time (Mexico)': 'America/Mazatlan',
  'Yukon Standard Time': 'America/Whitehorse',
  'Central Standard Time': 'America/Chicago',
  'Central Standard Time (Mexico)': 'America/Mexico_City',
  'Canada Central Standard Time': 'America/Regina',
  'Eastern Standard Time': 'America/New_York',
  'Eastern Standard Time (Mexico)': 'America/Cancun',
  'US Eastern Standard Time': 'America/Indiana/Indianapolis',
  'Atlantic Standard Time': 'America/Halifax',
  'Newfoundland Standard Time': 'America/St_Johns',
  'Greenland Standard Time': 'America/Nuuk',
  'Saint Pierre Standard Time': 'America/Miquelon',
  // Central America, Caribbean, South America
  'Central America Standard Time': 'America/Guatemala',
  'SA Pacific Standard Time': 'America/Bogota',
  'Haiti Standard Time': 'America/Port-au-Prince',
  'Cuba Standard Time': 'America/Havana',
  'Turks And Caicos Standard Time': 'America/Grand_Turk',
  'Venezuela Standard Time': 'America/Caracas',
  'SA Western Standard Time': 'America/La_Paz',
  'Paraguay Standard Time': 'America/Asuncion',
  'Central Brazilian Standard Time': 'America/Cuiaba',
  'Pacific SA Standard Time': 'America/Santiago',
  'Magallanes Standard Time': 'America/Punta_Arenas',
  'Easter Island Standard Time': 'Pacific/Easter',
  'E. South America Standard Time': 'America/Sao_Paulo',
  'Tocantins Standard Time': 'America/Araguaina',
  'Bahia Standard Time': 'America/Bahia',
  'SA Eastern Standard Time': 'America/Cayenne',
  'Argentina Standard Time': 'America/Argentina/Buenos_Aires',
  'Montevideo Standard Time': 'America/Montevideo',
  // Atlantic and Europe
  'Azores Standard Time': 'Atlantic/Azores',
  'Cape Verde Standard Time': 'Atlantic/Cape_Verde',
  'GMT Standard Time': 'Europe/London',
  'Greenwich Standard Time': 'Atlantic/Reykjavik',
  'W. Europe Standard Time': 'Europe/Berlin',
  'Central Europe Standard Time': 'Europe/Budapest',
  'Romance Standard Time': 'Europe/Paris',
  'Central European Standard Time': 'Europe/Warsaw',
  'GTB Standard Time': 'Europe/Bucharest',
  'E. Europe Standard Time': 'Europe/Chisinau',
  'FLE Standard Time': 'Europe/Kyiv',
  'Kaliningrad Standard Time': 'Europe/Kaliningrad',
  'Turkey Standard Time': 'Europe/Istanbul',
  'Belarus Standard Time': 'Europe/Minsk',
  'Russian Standard Time': 'Europe/Moscow',
  'Volgograd Standard Time': 'Europe/Volgograd',
  'Astrakhan Standard Time': 'Europe/Astrakhan',
  'Saratov Standard Time': 'Europe/Saratov',
  'Russia Time Zone 3': 'Europe/Samara',
  // Africa
  'Morocco Standard Time': 'Africa/Casablanca',
  'Sao Tome Standard Time': 'Africa/Sao_Tome',
  'W. Central Africa Standard Time': 'Africa/Lagos',
  'Egypt Standard Time': 'Africa/Cairo',
  'South Africa Standard Time': 'Africa/Johannesburg',
  'Libya Standard Time': 'Africa/Tripoli',
  'Namibia Standard Time': 'Africa/Windhoek',
  'Sudan Standard Time': 'Africa/Khartoum',
  'South Sudan Standard Time': 'Africa/Juba',
  'E. Africa Standard Time': 'Africa/Nairobi',
  'Mauritius Standard Time': 'Indian/Mauritius',
  // Middle East
  'Jordan Standard Time': 'Asia/Amman',
  'Middle East Standard Time': 'Asia/Beirut',
  'Syria Standard Time': 'Asia/Damascus',
  'West Bank Standard Time': 'Asia/Hebron',
  'Israel Standard Time': 'Asia/Jerusalem',
  'Arabic Standard Time': 'Asia/Baghdad',
  'Arab Standard Time': 'Asia/Riyadh',
  'Iran Standard Time': 'Asia/Tehran',
  'Arabian Standard Time': 'Asia/Dubai',
  'Azerbaijan Standard Time': 'Asia/Baku',
  'Georgian Standard Time': 'Asia/Tbilisi',
  'Caucasus Standard Time': 'Asia/Yerevan',
  // Central and South Asia
  'Afghanistan Standard Time': 'Asia/Kabul',
  'West Asia Standard Time': 'Asia/Tashkent',
  'Ekaterinburg Standard Time': 'Asia/Yekaterinburg',
  'Pakistan Standard Time': 'Asia/Karachi',
  'Qyzylorda Standard Time': 'Asia/Qyzylorda',
  'India Standard Time': 'Asia/Kolkata',
  'Sri Lanka Standard Time': 'Asia/Colombo',
  'Nepal Standard Time': 'Asia/Kathmandu',
  'Central Asia Standard Time': 'Asia/Bishkek',
  'Bangladesh Standard Time': 'Asia/Dhaka',
  'Omsk Standard Time': 'Asia/Omsk',
  'Myanmar Standard Time': 'Asia/Yangon',
  // East and South-East Asia
  'SE Asia Standard Time': 'Asia/Bangkok',
  'Altai Standard Time': 'Asia/Barnaul',
  'W. Mongolia Standard Time': 'Asia/Hovd',
  'North Asia Standard Time': 'Asia/Krasnoyarsk',
  'N. Central Asia Standard Time': 'Asia/Novosibirsk',
  'Tomsk Standard Time': 'Asia/Tomsk',
  'China Standard Time': 'Asia/Shanghai',
  'North Asia East Standard Time': 'Asia/Irkutsk',
  'Singapore Standard Time': 'Asia/Singapore',
  'Taipei Standard Time': 'Asia/Taipei',
  'Ulaanbaatar Standard Time': 'Asia/Ulaanbaatar',
  'Transbaikal Standard Time': 'Asia/Chita',
  'Tokyo Standard Time': 'Asia/Tokyo',
  'North Korea Standard Time': 'Asia/Pyongyang',
  'Korea Standard Time': 'Asia/Seoul',
  'Yakutsk Standard Time': 'Asia/Yakutsk',
  'Vladivostok Standard Time': 'Asia/Vladivostok',
  'Sakhalin Standard Time': 'Asia/Sakhalin',
  'Magadan Standard Time': 'Asia/Magadan',
  'Russia Time Zone 10': 'Asia/Srednekolymsk',
  'Russia Time Zone 11': 'Asia/Kamchatka',
  // Australia and the Pacific
  'W. Australia Standard Time': 'Australia/Perth',
  'Aus Central W. Standard Time': 'Australia/Eucla',
  'Cen. Australia Standard Time': 'Australia/Adelaide',
  'AUS Central Standard Time': 'Australia/Darwin',
  'E. Australia Standard Time': 'Australia/Brisbane',
  'AUS Eastern Standard Time': 'Australia/Sydney',
  'Tasmania Standard Time': 'Australia/Hobart',
  'Lord Howe Standard Time': 'Australia/Lord_Howe',
  'West Pacific Standard Time': 'Pacific/Port_Moresby',
  'Bougainville Standard Time': 'Pacific/Bougainville',
  'Norfolk Standard Time': 'Pacific/Norfolk',
  'Central Pacific Standard Time': 'Pacific/Guadalcanal',
  'New Zealand Standard Time': 'Pacific/Auckland',
  'Fiji Standard Time': 'Pacific/Fiji',
  'Chatham Islands Standard Time': 'Pacific/Chatham',
  'Tonga Standard Time': 'Pacific/Tongatapu',
  'Samoa Standard Time': 'Pacific/Apia',
  'Line Islands Standard Time': 'Pacific/Kiritimati',
  'Marquesas Standard Time': 'Pacific/Marquesas',
  // Retired ids that older mailboxes may still carry
  'Mid-Atlantic Standard Time': 'Etc/GMT+2',
  'Kamchatka Standard Time': 'Asia/Kamchatka',
  'Mexico Standard Time': 'America/Mexico_City',
  'Mexico Standard Time 2': 'America/Chihuahua',
};

const WINDOWS_LOWER = new Map(Object.entries(WINDOWS_TO_IANA).map(([k, v]) => [k.toLowerCase(), v]));

/** Every Windows id `windowsToIana` knows (for tests and diagnostics). */
export const KNOWN_WINDOWS_ZONES: readonly string[] = Object.keys(WINDOWS_TO_IANA);

/** The IANA name for a Windows time zone id, or null when the id is not in the table. */
export function windowsToIana(windowsName: string): string | null {
  if (typeof windowsName !== 'string') return null;
  return WINDOWS_TO_IANA[windowsName] ?? WINDOWS_LOWER.get(windowsName.trim().toLowerCase()) ?? null;
}
