import { effectiveRule, parsePolicy } from './policy';

const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';

describe('the decision policy file', () => {
  it('merges a role over default', () => {
    const p = parsePolicy({ version: 1, roles: { default: { justification: 'deny', hr: true }, [HELPDESK]: { onCall: true, ticket: { required: true }, autoApprove: { when: ['onCall', 'ticket'] } } } }, 'x');
    expect(effectiveRule(p, HELPDESK.toUpperCase())).toMatchObject({ justification: 'deny', hr: true, onCall: true, ticket: { required: true, verify: true }, autoApprove: ['onCall', 'ticket'], mode: 'enforce' });
    expect(effectiveRule(p, 'group:7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01')).toMatchObject({ onCall: false, autoApprove: null });
  });

  it.each([
    [{ version: 2 }, /version/],
    [{ version: 1, roles: { 'not-a-role': {} } }, /roles.not-a-role: keys are a role definition id/],
    [{ version: 1, roles: { default: { justification: 'maybe' } } }, /roles.default.justification/],
    [{ version: 1, roles: { default: { autoApprove: { when: ['onCall'] } } } }, /'onCall' is listed but the role does not configure that check/],
    [{ version: 1, roles: { default: { maintenanceWindows: { windows: [{ timeZone: 'Mars/Olympus', days: ['Sat'], start: '22:00', end: '04:00' }] } } } }, /IANA time zone/],
    [{ version: 1, roles: { default: { maintenanceWindows: { windows: [{ timeZone: 'UTC', days: ['Sat'], start: '25:00', end: '04:00' }] } } } }, /HH:MM/],
    [{ version: 1, roles: { default: { surprise: true } } }, /Unrecognized key/],
  ])('rejects %j naming the problem', (doc, message) => {
    expect(() => parsePolicy(doc, 'in policy.yaml')).toThrow(message);
    expect(() => parsePolicy(doc, 'in policy.yaml')).toThrow(/in policy.yaml is invalid/);
  });
});
