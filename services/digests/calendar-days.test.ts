import { addDays, localDate, startOfLocalDay, zonedInstant } from './calendar-days';

describe('calendar days in a time zone', () => {
  it('gives the local date of an instant', () => {
    const t = '2026-11-23T23:30:00Z';
    expect(localDate(t, 'UTC')).toBe('2026-11-23');
    expect(localDate(t, 'Europe/Berlin')).toBe('2026-11-24');
    expect(localDate(t, 'America/Los_Angeles')).toBe('2026-11-23');
    expect(localDate(t, 'Asia/Kolkata')).toBe('2026-11-24');
    expect(localDate(t, 'Not/A_Zone')).toBe('2026-11-23');
  });

  it('finds local midnight and local 09:00, across DST changes', () => {
    expect(new Date(startOfLocalDay('2026-11-23', 'Europe/Berlin')).toISOString()).toBe('2026-11-22T23:00:00.000Z');
    expect(new Date(startOfLocalDay('2026-07-01', 'Europe/Berlin')).toISOString()).toBe('2026-06-30T22:00:00.000Z');
    // Berlin moves to summer time on 29 March 2026 at 02:00: the day is 23 hours long.
    expect(startOfLocalDay('2026-03-30', 'Europe/Berlin') - startOfLocalDay('2026-03-29', 'Europe/Berlin')).toBe(23 * 3600 * 1000);
    expect(new Date(zonedInstant('2026-03-29', '09:00', 'Europe/Berlin')).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    // 02:30 does not exist that night: the end of the gap (03:00 summer time), as the scheduler does it.
    expect(new Date(zonedInstant('2026-03-29', '02:30', 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // New York falls back on 1 November 2026: 01:30 happens twice, the first one is taken.
    expect(new Date(zonedInstant('2026-11-01', '01:30', 'America/New_York')).toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });

  it('adds calendar days across month ends', () => {
    expect(addDays('2026-11-30', 1)).toBe('2026-12-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});
