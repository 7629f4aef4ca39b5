import { DEFAULT_REMINDERS } from '../decision/policy';
import { afterQuietHours, inQuietHours, nextStep, nudgeOffsetMinutes } from './reminder-ladder';

const T0 = new Date('2026-11-23T10:00:00Z');
const min = (m: number) => new Date(T0.getTime() + m * 60_000);
const none = { nudges: 0, escalated: false };

describe('the stale-request ladder', () => {
  it('nudges after 15 minutes, then doubles the gap', () => {
    expect([0, 1, 2, 3].map((i) => nudgeOffsetMinutes(i, 15))).toEqual([15, 45, 105, 225]);
    expect(nextStep(T0, none, DEFAULT_REMINDERS, null, T0)).toEqual({ kind: 'nudge', index: 0, at: min(15) });
    expect(nextStep(T0, { nudges: 1, escalated: false }, DEFAULT_REMINDERS, null, min(15))).toEqual({ kind: 'nudge', index: 1, at: min(45) });
  });

  it("stops nudging at the cap and escalates at 75% of PIM's 24 hours, then waits for the expiry", () => {
    const capped = { ...DEFAULT_REMINDERS, maxNudges: 2 };
    expect(nextStep(T0, { nudges: 2, escalated: false }, capped, null, min(50))).toEqual({ kind: 'escalate', at: min(18 * 60) });
    expect(nextStep(T0, { nudges: 2, escalated: true }, capped, null, min(18 * 60))).toEqual({ kind: 'expire', at: min(24 * 60) });
    // With the default cap of 5 the fifth nudge (at 465 min) still comes before the escalation.
    expect(nextStep(T0, { nudges: 4, escalated: false }, DEFAULT_REMINDERS, null, min(300))).toEqual({ kind: 'nudge', index: 4, at: min(465) });
    expect(nextStep(T0, { nudges: 5, escalated: false }, DEFAULT_REMINDERS, null, min(470))).toEqual({ kind: 'escalate', at: min(18 * 60) });
  });

  it('after downtime sends one nudge, the latest overdue, not a burst', () => {
    expect(nextStep(T0, none, DEFAULT_REMINDERS, null, min(230))).toEqual({ kind: 'nudge', index: 3, at: min(225) });
  });

  it('moves non-urgent nudges out of quiet hours, and never past the escalation', () => {
    const quiet = { timeZone: 'Europe/Amsterdam', start: '22:00', end: '07:00' };
    // 21:50 local (20:50 UTC in November): the nudge due at 22:05 local waits until 07:00 local.
    const late = new Date('2026-11-23T20:50:00Z');
    expect(nextStep(late, none, DEFAULT_REMINDERS, quiet, late)).toEqual({ kind: 'nudge', index: 0, at: new Date('2026-11-24T06:00:00Z') });
    expect(nextStep(late, none, { ...DEFAULT_REMINDERS, urgent: true }, quiet, late)).toEqual({
      kind: 'nudge',
      index: 0,
      at: new Date('2026-11-23T21:05:00Z'),
    });
    // Quiet hours longer than what is left before escalation: straight to the escalation.
    const quietAllDay = { timeZone: 'UTC', start: '00:00', end: '23:59' };
    expect(nextStep(T0, none, DEFAULT_REMINDERS, quietAllDay, T0).kind).toBe('escalate');
  });

  it('reads quiet hours in the zone, across midnight and a DST change', () => {
    const q = { timeZone: 'America/New_York', start: '22:00', end: '06:00' };
    expect(inQuietHours(new Date('2026-03-08T03:30:00Z'), q)).toBe(true); // 22:30 EST
    expect(inQuietHours(new Date('2026-03-08T11:30:00Z'), q)).toBe(false); // 07:30 EDT, after the switch
    expect(afterQuietHours(new Date('2026-03-08T04:00:00Z'), q)).toEqual(new Date('2026-03-08T10:00:00Z')); // 06:00 EDT
  });
});
