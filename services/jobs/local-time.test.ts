import { KNOWN_WINDOWS_ZONES, isWithinLocalHours, localDate, localTimeOn, nextLocalTime, validTimeZone, windowsToIana } from './local-time';

const at = (iso: string) => new Date(iso);
/** The wall clock in a zone, for readable assertions ("2026-03-29 09:00"). */
const wall = (d: Date, timeZone: string) =>
  new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d);

/** Daily occurrences of hh:mm, each computed from the previous one, as the daily job does. */
function daily(from: Date, timeZone: string, hhmm: string, n: number): Date[] {
  const out: Date[] = [];
  let t = from;
  for (let i = 0; i < n; i++) {
    t = nextLocalTime(t, timeZone, hhmm);
    out.push(t);
  }
  return out;
}

describe('local time: DST in Europe/Amsterdam (2026: clocks forward 29 March, back 25 October)', () => {
  const tz = 'Europe/Amsterdam';

  it('keeps 09:00 at 09:00 local across the March change, so the UTC time moves an hour earlier', () => {
    const runs = daily(at('2026-03-27T12:00:00Z'), tz, '09:00', 4);
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-03-28T08:00:00.000Z', // CET, UTC+1
      '2026-03-29T07:00:00.000Z', // CEST, UTC+2, on the day of the change
      '2026-03-30T07:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
    ]);
    expect(runs.map((d) => wall(d, tz))).toEqual(['2026-03-28 09:00', '2026-03-29 09:00', '2026-03-30 09:00', '2026-03-31 09:00']);
  });

  it('keeps 09:00 at 09:00 local across the October change', () => {
    const runs = daily(at('2026-10-23T12:00:00Z'), tz, '09:00', 3);
    expect(runs.map((d) => d.toISOString())).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z']);
  });

  it('maps 02:30 on the spring-forward day (a time that does not exist) to 03:00, the first instant after the gap', () => {
    const t = nextLocalTime(at('2026-03-28T12:00:00Z'), tz, '02:30');
    expect(t.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(wall(t, tz)).toBe('2026-03-29 03:00');
    // And the day after, 02:30 exists again.
    expect(nextLocalTime(t, tz, '02:30').toISOString()).toBe('2026-03-30T00:30:00.000Z');
  });

  it('maps 02:30 on the fall-back day to its first occurrence, and does not run a second time an hour later', () => {
    const first = nextLocalTime(at('2026-10-24T12:00:00Z'), tz, '02:30');
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST; 02:30 CET would be 01:30Z
    expect(nextLocalTime(first, tz, '02:30').toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });
});

describe('local time: DST in America/New_York (2026: clocks forward 8 March, back 1 November)', () => {
  const tz = 'America/New_York';

  it('keeps 09:00 at 09:00 local across both changes', () => {
    expect(daily(at('2026-03-06T20:00:00Z'), tz, '09:00', 3).map((d) => d.toISOString())).toEqual([
      '2026-03-07T14:00:00.000Z', // EST, UTC-5
      '2026-03-08T13:00:00.000Z', // EDT, UTC-4
      '2026-03-09T13:00:00.000Z',
    ]);
    expect(daily(at('2026-10-30T20:00:00Z'), tz, '09:00', 3).map((d) => d.toISOString())).toEqual([
      '2026-10-31T13:00:00.000Z',
      '2026-11-01T14:00:00.000Z',
      '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('maps 02:30 on 8 March to 03:00 EDT', () => {
    const t = nextLocalTime(at('2026-03-07T12:00:00Z'), tz, '02:30');
    expect(t.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(wall(t, tz)).toBe('2026-03-08 03:00');
  });

  it('maps 01:30 on 1 November to the first occurrence (EDT), once', () => {
    const first = nextLocalTime(at('2026-10-31T12:00:00Z'), tz, '01:30');
    expect(first.toISOString()).toBe('2026-11-01T05:30:00.000Z'); // the EST one would be 06:30Z
    expect(nextLocalTime(first, tz, '01:30').toISOString()).toBe('2026-11-02T06:30:00.000Z');
  });
});

describe('local time: other rules', () => {
  it('is strictly after: asking at exactly 09:00 gives tomorrow 09:00', () => {
    const nine = at('2026-05-04T07:00:00Z'); // 09:00 in Amsterdam
    expect(nextLocalTime(nine, 'Europe/Amsterdam', '09:00').toISOString()).toBe('2026-05-05T07:00:00.000Z');
    expect(nextLocalTime(new Date(nine.getTime() - 1), 'Europe/Amsterdam', '09:00').toISOString()).toBe('2026-05-04T07:00:00.000Z');
  });

  it('handles half-hour zones and a half-hour DST shift (Lord Howe Island)', () => {
    expect(nextLocalTime(at('2026-05-04T00:00:00Z'), 'Asia/Kolkata', '09:00').toISOString()).toBe('2026-05-04T03:30:00.000Z');
    // Lord Howe goes from UTC+10:30 to UTC+11 at 02:00 on 4 October 2026: 02:15 does not exist.
    expect(localTimeOn('2026-10-04', 'Australia/Lord_Howe', '02:15').toISOString()).toBe('2026-10-03T15:30:00.000Z');
  });

  it('runs once on the next date when a zone skipped a whole day (Samoa, 30 December 2011)', () => {
    const before = nextLocalTime(at('2011-12-29T12:00:00Z'), 'Pacific/Apia', '09:00');
    expect(before.toISOString()).toBe('2011-12-29T19:00:00.000Z'); // UTC-10
    const after = nextLocalTime(before, 'Pacific/Apia', '09:00');
    expect(after.toISOString()).toBe('2011-12-30T19:00:00.000Z'); // 31 December 09:00, UTC+14
  });

  it('gives the local date, which may differ from the UTC date', () => {
    expect(localDate(at('2026-03-29T23:30:00Z'), 'Europe/Amsterdam')).toBe('2026-03-30');
    expect(localDate(at('2026-03-29T23:30:00Z'), 'America/New_York')).toBe('2026-03-29');
    expect(localDate(at('2026-03-29T13:00:00Z'), 'Pacific/Auckland')).toBe('2026-03-30');
  });

  it('tells quiet hours, including a window that wraps midnight', () => {
    const tz = 'Europe/Amsterdam'; // UTC+2 in June
    const local = (hhmm: string) => new Date(Date.UTC(2026, 5, 10, Number(hhmm.slice(0, 2)) - 2, Number(hhmm.slice(3))));
    const cases: Array<[string, boolean]> = [
      ['21:59', false],
      ['22:00', true],
      ['23:30', true],
      ['00:00', true],
      ['06:59', true],
      ['07:00', false],
      ['12:00', false],
    ];
    for (const [hhmm, quiet] of cases) expect([hhmm, isWithinLocalHours(local(hhmm), tz, '22:00', '07:00')]).toEqual([hhmm, quiet]);
    expect(isWithinLocalHours(local('12:00'), tz, '09:00', '17:00')).toBe(true);
    expect(isWithinLocalHours(local('17:00'), tz, '09:00', '17:00')).toBe(false);
    expect(isWithinLocalHours(local('12:00'), tz, '09:00', '09:00')).toBe(false);
  });

  it('refuses malformed times and unknown zones with a message that says what to use', () => {
    expect(() => nextLocalTime(at('2026-01-01T00:00:00Z'), 'Europe/Amsterdam', '9:00')).toThrow(/HH:MM/);
    expect(() => nextLocalTime(at('2026-01-01T00:00:00Z'), 'Europe/Amsterdam', '24:00')).toThrow(/HH:MM/);
    expect(() => localDate(at('2026-01-01T00:00:00Z'), 'Mars/Olympus_Mons')).toThrow(/IANA/);
    expect(validTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(validTimeZone('')).toBe(false);
    expect(validTimeZone('Europe/Amsterdam')).toBe(true);
  });
});

describe('Windows time zone ids from mailbox settings', () => {
  it('maps the common ids to IANA names', () => {
    expect(windowsToIana('Pacific Standard Time')).toBe('America/Los_Angeles');
    expect(windowsToIana('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(windowsToIana('GMT Standard Time')).toBe('Europe/London');
    expect(windowsToIana('Eastern Standard Time')).toBe('America/New_York');
    expect(windowsToIana('India Standard Time')).toBe('Asia/Kolkata');
    expect(windowsToIana('AUS Eastern Standard Time')).toBe('Australia/Sydney');
    expect(windowsToIana('Romance Standard Time')).toBe('Europe/Paris');
    expect(windowsToIana('E. South America Standard Time')).toBe('America/Sao_Paulo');
    expect(windowsToIana('Arabian Standard Time')).toBe('Asia/Dubai');
    expect(windowsToIana('South Africa Standard Time')).toBe('Africa/Johannesburg');
    expect(windowsToIana('Tokyo Standard Time')).toBe('Asia/Tokyo');
    expect(windowsToIana('UTC')).toBe('Etc/UTC');
    expect(windowsToIana('pacific standard time')).toBe('America/Los_Angeles');
  });

  it('answers null for ids it does not know', () => {
    expect(windowsToIana('Mars Standard Time')).toBeNull();
    expect(windowsToIana('')).toBeNull();
  });

  it('covers at least sixty ids, each mapped to a zone this runtime knows', () => {
    expect(KNOWN_WINDOWS_ZONES.length).toBeGreaterThanOrEqual(60);
    const unknown = KNOWN_WINDOWS_ZONES.filter((w) => !validTimeZone(windowsToIana(w)!));
    expect(unknown).toEqual([]);
  });
});
