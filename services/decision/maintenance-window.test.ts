import { insideMaintenanceWindow, zonedToUtc } from './maintenance-window';
import type { MaintenanceWindow } from './policy';

const at = (iso: string) => new Date(iso);
const hours = (d: Date, h: number) => new Date(d.getTime() + h * 3_600_000);

describe('maintenance windows', () => {
  const nightly: MaintenanceWindow[] = [{ timeZone: 'America/New_York', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '22:00', end: '02:00' }];

  it.each([
    ['Mon 23:00 New York (EST) for 2h fits', '2026-01-06T04:00:00Z', 2, true],
    ['Mon 23:00 for 4h runs past 02:00', '2026-01-06T04:00:00Z', 4, false],
    ['Sat night is not listed', '2026-01-11T04:00:00Z', 1, false],
    ["Tue 01:00 belongs to Monday's window", '2026-01-06T06:00:00Z', 1, true],
    ['after a DST change (EDT) 22:30 local is 02:30Z', '2026-03-10T02:30:00Z', 1, true],
    ['in EDT 21:30 local (01:30Z) is before the window', '2026-03-10T01:30:00Z', 1, false],
  ])('%s', (_name, start, h, expected) => {
    expect(insideMaintenanceWindow(nightly, at(start), hours(at(start), h))).toBe(expected);
  });

  it('accepts one-off windows with offsets', () => {
    const once: MaintenanceWindow[] = [{ start: '2026-05-01T20:00:00+02:00', end: '2026-05-02T02:00:00+02:00' }];
    expect(insideMaintenanceWindow(once, at('2026-05-01T19:00:00Z'), at('2026-05-01T21:00:00Z'))).toBe(true);
    expect(insideMaintenanceWindow(once, at('2026-05-01T17:00:00Z'), at('2026-05-01T19:00:00Z'))).toBe(false);
  });

  it('converts local wall-clock time to UTC across daylight-saving changes', () => {
    expect(new Date(zonedToUtc(2026, 1, 15, 9, 0, 'Europe/Berlin')).toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(new Date(zonedToUtc(2026, 7, 15, 9, 0, 'Europe/Berlin')).toISOString()).toBe('2026-07-15T07:00:00.000Z');
  });
});
