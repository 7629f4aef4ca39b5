import { DEFAULT_REMINDERS } from '../decision/policy';
import { nextStep } from './reminder-ladder';
import { classify, earlyEscalationDue, nextPresenceCheck, planMentions, reachText, type PresenceView } from './presence-routing';

const p = (availability: string, activity = availability, outOfOffice = false): PresenceView => ({ availability, activity, outOfOffice });
const T0 = new Date('2026-11-23T10:00:00Z');
const min = (m: number) => new Date(T0.getTime() + m * 60_000);

describe('presence classes', () => {
  it.each([
    ['Available', 'available'],
    ['AvailableIdle', 'available'],
    ['Busy', 'busy'],
    ['BusyIdle', 'busy'],
    ['DoNotDisturb', 'busy'],
    ['Away', 'away'],
    ['BeRightBack', 'away'],
    ['Offline', 'away'],
    ['PresenceUnknown', 'away'],
    ['SomethingNew', 'away'],
  ])('%s is %s', (availability, reach) => {
    expect(classify(p(availability))).toBe(reach);
  });

  it('out of office wins over any availability, and no presence at all is unknown', () => {
    expect(classify(p('Available', 'Available', true))).toBe('outOfOffice');
    expect(classify(p('Offline', 'OutOfOffice'))).toBe('outOfOffice');
    expect(classify(undefined)).toBe('unknown');
  });
});

describe('who a nudge mentions', () => {
  const alex = { id: 'a', name: 'Alex' };
  const megan = { id: 'm', name: 'Megan' };
  const patti = { id: 'p', name: 'Patti' };
  const lynne = { id: 'l', name: 'Lynne' };

  it('mentions available approvers first, then busy ones, and names those away or out of office', () => {
    const plan = planMentions(
      [patti, megan, lynne, alex],
      new Map([
        ['p', p('Offline', 'OffWork', true)],
        ['m', p('Busy', 'InAMeeting')],
        ['l', p('BeRightBack')],
        ['a', p('Available')],
      ]),
    );
    expect(plan.mention.map((x) => x.name)).toEqual(['Alex', 'Megan']);
    expect(plan.named.map((x) => [x.name, reachText(x)])).toEqual([
      ['Lynne', 'away for a moment'],
      ['Patti', 'out of office'],
    ]);
    expect(plan.anyReachable).toBe(true);
  });

  it('keeps people Graph said nothing about in the mentions, after the busy ones', () => {
    const plan = planMentions([alex, megan], new Map([['m', p('DoNotDisturb', 'Presenting')]]));
    expect(plan.mention.map((x) => x.name)).toEqual(['Megan', 'Alex']);
    expect(plan.anyReachable).toBe(true);
  });

  it('with nobody reachable mentions those away (they see it when back) but never those out of office', () => {
    const plan = planMentions(
      [patti, lynne],
      new Map([
        ['p', p('Away', 'Away', true)],
        ['l', p('Offline')],
      ]),
    );
    expect(plan.mention.map((x) => x.name)).toEqual(['Lynne']);
    expect(plan.named.map((x) => [x.name, reachText(x)])).toEqual([['Patti', 'out of office']]);
    expect(plan.anyReachable).toBe(false);
  });

  it('matches presence by object id whatever its case', () => {
    const plan = planMentions([{ id: 'ABC', name: 'Upper' }], new Map([['abc', p('Away')]]));
    expect(plan.anyReachable).toBe(false);
  });
});

describe('early escalation', () => {
  const after = 15 * 60_000;

  it('is due once no approver has been reachable for the configured time since the request', () => {
    expect(earlyEscalationDue({ createdAt: T0, lastReachableAt: null, anyReachableNow: false, afterMs: after, now: min(14) })).toBe(false);
    expect(earlyEscalationDue({ createdAt: T0, lastReachableAt: null, anyReachableNow: false, afterMs: after, now: min(15) })).toBe(true);
    expect(earlyEscalationDue({ createdAt: T0, lastReachableAt: null, anyReachableNow: true, afterMs: after, now: min(60) })).toBe(false);
  });

  it('measures from the last check that found an approver reachable', () => {
    expect(nextPresenceCheck(T0, min(20), after)).toEqual(min(35));
    expect(earlyEscalationDue({ createdAt: T0, lastReachableAt: min(20), anyReachableNow: false, afterMs: after, now: min(30) })).toBe(false);
    expect(earlyEscalationDue({ createdAt: T0, lastReachableAt: min(20), anyReachableNow: false, afterMs: after, now: min(35) })).toBe(true);
  });

  it('leaves the ladder nudging after an early escalation, and never escalates a second time', () => {
    const early = { nudges: 1, escalated: true, escalatedEarly: true };
    expect(nextStep(T0, early, DEFAULT_REMINDERS, null, min(16))).toEqual({ kind: 'nudge', index: 1, at: min(45) });
    const done = { nudges: DEFAULT_REMINDERS.maxNudges, escalated: true, escalatedEarly: true };
    expect(nextStep(T0, done, DEFAULT_REMINDERS, null, min(500))).toEqual({ kind: 'expire', at: min(24 * 60) });
    // A late escalation still ends the nudging as before.
    expect(nextStep(T0, { nudges: 1, escalated: true }, DEFAULT_REMINDERS, null, min(16)).kind).toBe('expire');
  });
});
