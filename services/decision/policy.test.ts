import { effectiveRule, parsePolicy } from './policy';

const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';

describe('the decision policy file', () => {
  it('merges a role over default', () => {
    const p = parsePolicy(
      {
        version: 1,
        roles: {
          default: { justification: 'deny', hr: true },
          [HELPDESK]: { onCall: true, ticket: { required: true }, autoApprove: { when: ['onCall', 'ticket'] } },
        },
      },
      'x',
    );
    expect(effectiveRule(p, HELPDESK.toUpperCase())).toMatchObject({
      justification: 'deny',
      hr: true,
      onCall: true,
      ticket: { required: true, verify: true },
      autoApprove: ['onCall', 'ticket'],
      mode: 'enforce',
    });
    expect(effectiveRule(p, 'group:7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01')).toMatchObject({ onCall: false, autoApprove: null });
  });

  it.each([
    [{ version: 2 }, /version/],
    [{ version: 1, roles: { 'not-a-role': {} } }, /roles.not-a-role: keys are a role definition id/],
    [{ version: 1, roles: { default: { justification: 'maybe' } } }, /roles.default.justification/],
    [
      { version: 1, roles: { default: { autoApprove: { when: ['onCall'] } } } },
      /roles.default.autoApprove.when.0: 'onCall' is listed but neither the role nor default configures that check/,
    ],
    [
      { version: 1, roles: { default: { maintenanceWindows: { windows: [{ timeZone: 'Mars/Olympus', days: ['Sat'], start: '22:00', end: '04:00' }] } } } },
      /IANA time zone/,
    ],
    [{ version: 1, roles: { default: { maintenanceWindows: { windows: [{ timeZone: 'UTC', days: ['Sat'], start: '25:00', end: '04:00' }] } } } }, /HH:MM/],
    [{ version: 1, roles: { default: { surprise: true } } }, /Unrecognized key/],
  ])('rejects %j naming the problem', (doc, message) => {
    expect(() => parsePolicy(doc, 'in policy.yaml')).toThrow(message);
    expect(() => parsePolicy(doc, 'in policy.yaml')).toThrow(/in policy.yaml is invalid/);
  });

  it('counts a check configured on default for a role that lists it in autoApprove.when', () => {
    const p = parsePolicy({ version: 1, roles: { default: { hr: true }, [HELPDESK]: { autoApprove: { when: ['hr'] } } } }, 'x');
    expect(effectiveRule(p, HELPDESK)).toMatchObject({ hr: true, autoApprove: ['hr'] });
  });

  it('lists every problem with its path at once, schema and semantics together', () => {
    const doc = {
      version: 1,
      roles: {
        default: { justification: 'block' },
        [HELPDESK]: { autoApprove: { when: ['onCall', 'maintenanceWindow'] } },
        'group:not-a-guid': {},
        '29232cdf-9323-42fd-ade2-1d097af3e4de': { onCall: 'yes' },
      },
    };
    let message = '';
    try {
      parsePolicy(doc, 'in policy.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    // The schema problems are reported even though the semantic pass needs a parsed policy: run it on a fixed copy too.
    expect(message).toMatch(/is invalid \(\d+ problems\)/);
    expect(message).toContain('roles.default.justification:');
    expect(message).toContain('roles.29232cdf-9323-42fd-ade2-1d097af3e4de.onCall: must be true, false or {anyProviderSuffices: true|false}');
    expect(message).toContain('roles.group:not-a-guid: keys are a role definition id');
  });

  it('reports each start problem of autoApprove.when once, all of them', () => {
    const doc = { version: 1, roles: { [HELPDESK]: { autoApprove: { when: ['onCall', 'maintenanceWindow'] } }, default: {} } };
    expect(() => parsePolicy(doc, 'x')).toThrow(
      /\(2 problems\):\n {2}- roles.729827e3-9c14-49f7-bb1b-9608f156bbb8.autoApprove.when.0: 'onCall'.*\n {2}- roles.729827e3-9c14-49f7-bb1b-9608f156bbb8.autoApprove.when.1: 'maintenanceWindow'/,
    );
  });

  it('accepts onCall: {anyProviderSuffices} and offHours, and reads them into the rule', () => {
    const p = parsePolicy({ version: 1, roles: { [HELPDESK]: { onCall: { anyProviderSuffices: true }, offHours: 'ignore' } } }, 'x');
    expect(effectiveRule(p, HELPDESK)).toMatchObject({ onCall: true, onCallAnyProviderSuffices: true, offHours: 'ignore' });
    expect(effectiveRule(p, 'default')).toMatchObject({ onCall: false, onCallAnyProviderSuffices: false, offHours: 'flag' });
  });
});
