import { EMERGENCY_ROW } from './decision-table';
import { assessEmergency, type EmergencyInput, isEmergencyMarked } from './emergency';
import { type CheckResult, verdictOf } from './evaluate-activation';
import { effectiveRule, parsePolicy } from './policy';

const SECURITY_OPERATOR = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';
const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';
const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';

const P1 = { number: 'INC0013001', system: 'ServiceNow', kind: 'incident' as const, priority: '1', priorityLabel: '1 - Critical' };

/** Every condition of an emergency grant met; each case below breaks one. */
function input(over: Partial<EmergencyInput> = {}): EmergencyInput {
  return {
    marked: true,
    rule: { incidentPriorities: ['1'], maxPerUserPerDay: 1 },
    humanOnly: false,
    roleName: 'Security Operator',
    onCall: { result: 'pass', summary: 'PagerDuty on call' },
    ticket: { result: 'pass', facts: P1 },
    grantsInLastDay: 0,
    ...over,
  };
}

describe('the break-glass mark', () => {
  it.each([
    ['EMERGENCY: P1 outage', true],
    ['emergency: p1 outage', true],
    ['  Emergency : P1 outage', true],
    ['P1 outage, EMERGENCY: restore access', false],
    ['EMERGENCY P1 outage', false],
    ['', false],
  ])('%j is marked: %s', (justification, marked) => {
    expect(isEmergencyMarked(justification)).toBe(marked);
  });
  it('is absent without a justification', () => {
    expect(isEmergencyMarked(null)).toBe(false);
    expect(isEmergencyMarked(undefined)).toBe(false);
  });
});

describe('an emergency grant', () => {
  it('qualifies when every condition holds', () => {
    expect(assessEmergency(input())).toMatchObject({ marked: true, met: true, whyNot: null, incident: P1, onCallEvidence: 'PagerDuty on call' });
  });

  it.each<[string, Partial<EmergencyInput>, RegExp]>([
    ['no break-glass on the role', { rule: null }, /has no break-glass/],
    ['a human-only role', { humanOnly: true }, /human-only role/],
    [
      'on-call could not be completed',
      { onCall: { result: 'unavailable', summary: 'PagerDuty could not tell (HTTP 503)' } },
      /on-call could not be confirmed \(PagerDuty/,
    ],
    ['on-call not checked', { onCall: { result: 'skipped', summary: 'not checked for this role' } }, /on-call could not be confirmed/],
    ['no on-call check at all', { onCall: undefined }, /on-call could not be confirmed/],
    ['not on call', { onCall: { result: 'fail', summary: 'PagerDuty not on call' } }, /not on call/],
    ['the ticket could not be confirmed', { ticket: { result: 'unavailable', facts: P1 } }, /could not be confirmed as an open incident/],
    ['a change, not an incident', { ticket: { result: 'pass', facts: { ...P1, kind: 'change', number: 'CHG0042001' } } }, /not an incident/],
    ['a ticket system that reports no kind', { ticket: { result: 'pass' } }, /not an incident/],
    ['an unknown priority', { ticket: { result: 'pass', facts: { ...P1, priority: null, priorityLabel: null } } }, /priority of INC0013001 could not be read/],
    [
      'a priority not listed',
      { ticket: { result: 'pass', facts: { ...P1, priority: '3', priorityLabel: '3 - Moderate' } } },
      /priority 3 - Moderate; break-glass needs priority 1/,
    ],
    ['the earlier grants could not be counted', { grantsInLastDay: null }, /could not be counted/],
    ['the daily limit reached', { grantsInLastDay: 1 }, /already had 1 emergency grant in the last 24 hours \(the limit is 1\)/],
  ])('is refused with %s', (_name, over, why) => {
    const a = assessEmergency(input(over));
    expect(a.met).toBe(false);
    expect(a.whyNot).toMatch(why);
  });

  it('is not asked for without the mark (and then says nothing)', () => {
    expect(assessEmergency(input({ marked: false }))).toMatchObject({ marked: false, met: false, whyNot: null });
  });

  it('allows more than one a day when the role says so', () => {
    expect(assessEmergency(input({ rule: { incidentPriorities: ['1', '2'], maxPerUserPerDay: 2 }, grantsInLastDay: 1 })).met).toBe(true);
    expect(assessEmergency(input({ rule: { incidentPriorities: ['1', '2'], maxPerUserPerDay: 2 }, grantsInLastDay: 2 })).met).toBe(false);
  });
});

describe('break-glass in the policy file', () => {
  const role = { ticket: { required: true }, onCall: true, emergency: { incidentPriorities: ['1'] } };

  it('is off unless the role has it, read from the role only, with defaults', () => {
    const p = parsePolicy({ version: 1, roles: { default: { onCall: true }, [SECURITY_OPERATOR]: role, [HELPDESK]: { ticket: { required: true } } } }, 'x');
    expect(effectiveRule(p, SECURITY_OPERATOR).emergency).toEqual({ incidentPriorities: ['1'], maxPerUserPerDay: 1 });
    expect(effectiveRule(p, HELPDESK).emergency).toBeNull();
    expect(p.emergency).toEqual({ reviewWithinHours: 24, securityChannel: 'security' });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'on a human-only role (built in)',
      { version: 1, roles: { [GLOBAL_ADMIN]: role } },
      /roles.62e90394-69f5-4237-9190-012177145e10.emergency: .* is a human-only role/,
    ],
    [
      'on a role listed as human-only',
      { version: 1, humanOnlyRoleIds: [SECURITY_OPERATOR], roles: { [SECURITY_OPERATOR]: role } },
      /roles.5f2222b1-57c3-48ba-8ad5-d4759f1fde6f.emergency: .* is a human-only role/,
    ],
    ['on default', { version: 1, roles: { default: role } }, /roles.default.emergency: break-glass is configured per role, never on default/],
    ['without an on-call check', { version: 1, roles: { [SECURITY_OPERATOR]: { ...role, onCall: false } } }, /emergency: needs onCall/],
    [
      'without a verified ticket',
      { version: 1, roles: { [SECURITY_OPERATOR]: { ...role, ticket: { required: true, verify: false } } } },
      /emergency: needs ticket with verify/,
    ],
    [
      'without priorities',
      { version: 1, roles: { [SECURITY_OPERATOR]: { ...role, emergency: { incidentPriorities: [] } } } },
      /incidentPriorities: name at least one priority/,
    ],
    ['with an unknown key', { version: 1, roles: { [SECURITY_OPERATOR]: { ...role, emergency: { incidentPriorities: ['1'], always: true } } } }, /emergency/],
    ['with a review time out of range', { version: 1, emergency: { reviewWithinHours: 0 } }, /emergency.reviewWithinHours/],
  ])('is a policy error %s', (_name, doc, problem) => {
    expect(() => parsePolicy(doc, 'x')).toThrow(problem);
  });
});

describe('the verdict of a request marked EMERGENCY (verdictOf)', () => {
  const check = (name: CheckResult['name'], result: CheckResult['result'], onFail: CheckResult['onFail'] = 'review'): CheckResult => ({
    name,
    result,
    onFail,
    detail: `${name} ${result}`,
    summary: `${name} ${result}`,
    evidence: [],
    latencyMs: 0,
  });
  const checks = [check('justification', 'pass'), check('ticket', 'pass', 'deny'), check('onCall', 'pass')];
  const met = assessEmergency(input());

  it('is AutoApproved on the emergency row, the first reason starting "Emergency"', () => {
    const v = verdictOf(checks, { mode: 'enforce', autoApprove: null }, false, 'Security Operator', met);
    expect(v).toMatchObject({ outcome: 'AutoApproved', row: EMERGENCY_ROW, emergency: { granted: true } });
    expect(v.reasons[0]).toMatch(/^Emergency \(break-glass\) access granted without an approver: .*INC0013001 is an open priority 1 - Critical incident/);
  });

  it('in audit mode answers Approved and says what enforce mode would have done', () => {
    const v = verdictOf(checks, { mode: 'audit', autoApprove: null }, false, 'Security Operator', met);
    expect(v).toMatchObject({ outcome: 'Approved', wouldBe: 'AutoApproved', row: EMERGENCY_ROW, emergency: { granted: false } });
    expect(v.reasons.join(' ')).toMatch(/Not applied \(audit mode\): enforce mode would have granted emergency \(break-glass\) access/);
  });

  it('with a flag or a check that could not be completed goes to a person, saying why there is no emergency grant', () => {
    const flagged = verdictOf([...checks, check('identityRisk', 'fail')], { mode: 'enforce', autoApprove: null }, false, 'Security Operator', met);
    expect(flagged).toMatchObject({ outcome: 'Approved', row: 4, emergency: { granted: false, whyNot: 'a check flagged the request' } });
    expect(flagged.reasons.at(-1)).toBe('No emergency (break-glass) grant: a check flagged the request.');
    const unknown = verdictOf([...checks, check('hr', 'unavailable', 'deny')], { mode: 'enforce', autoApprove: null }, false, 'Security Operator', met);
    expect(unknown).toMatchObject({ outcome: 'Approved', row: 3 });
    expect(unknown.reasons.at(-1)).toBe('No emergency (break-glass) grant: a check could not be completed.');
    expect(unknown.riskFlags).toContain('Emergency request (no break-glass grant)');
  });

  it('that does not qualify keeps the normal decision and adds why', () => {
    const v = verdictOf(checks, { mode: 'enforce', autoApprove: null }, false, 'Security Operator', assessEmergency(input({ grantsInLastDay: 1 })));
    expect(v).toMatchObject({ outcome: 'Approved', row: 7 });
    expect(v.reasons.at(-1)).toMatch(/^No emergency \(break-glass\) grant: the requester already had 1 emergency grant/);
  });
});
