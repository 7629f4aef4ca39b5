import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseActivationRequest } from './activation-request';
import { type DecisionPorts, evaluateActivation, identityRiskResult } from './evaluate-activation';
import { activeRiskOf, DEFAULT_IDENTITY_RISK_RULE } from './identity-risk';
import { effectiveRule, parsePolicy } from './policy';
import { IntegrationUnavailable, type IdentityRiskSignals, type UserRiskRecord } from '../integrations/ports';

const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';
const WEEKDAY_NOON = new Date('2026-03-02T12:00:00Z');
const body = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/pim-extension/request-entra-role.json'), 'utf8')) as Record<string, unknown>;
const entra = (roleDefinitionId: string) =>
  normaliseActivationRequest({
    ...body,
    roleDefinitionId,
    scheduleInfo: { startDateTime: WEEKDAY_NOON.toISOString(), expiration: { type: 'afterDuration', duration: 'PT2H' } },
    ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' },
  });

const record = (riskLevel: UserRiskRecord['riskLevel'], riskState: string): UserRiskRecord => ({
  riskLevel,
  riskState,
  riskDetail: 'none',
  riskLastUpdatedDateTime: '2026-03-02T10:00:00Z',
  detections: [],
  detectionsUnavailable: false,
});
const riskPort = (answer: UserRiskRecord | Error | 'hang'): IdentityRiskSignals => ({
  userRisk: (_id, signal) =>
    answer === 'hang'
      ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
      : answer instanceof Error
        ? Promise.reject(answer)
        : Promise.resolve(answer),
});

/** A role that auto-approves with a ticket (format only), so a risk that sends it to a person is visible. */
const AUTO = { ticket: { required: true, verify: false }, autoApprove: { when: ['ticket'] } };
const ports = (identityRisk?: IdentityRiskSignals): DecisionPorts => ({
  requester: async () => ({
    status: 'found',
    requester: { id: 'x', userPrincipalName: 'x@contoso.example', mail: null },
    evidence: { asked: 'the requester', system: 'test', answer: 'found', ms: 0 },
  }),
  tickets: [],
  onCall: [],
  ...(identityRisk ? { identityRisk } : {}),
});
const decide = (roleId: string, roles: Record<string, unknown>, port?: IdentityRiskSignals, budgetMs = 300) =>
  evaluateActivation(entra(roleId), { policy: parsePolicy({ version: 1, roles }, 'in the test'), ports: ports(port), budgetMs, now: WEEKDAY_NOON });

describe('active identity risk', () => {
  it.each([
    ['high', 'atRisk', 'high'],
    ['medium', 'atRisk', 'medium'],
    ['low', 'atRisk', 'low'],
    ['high', 'dismissed', 'none'],
    ['high', 'remediated', 'none'],
    ['medium', 'confirmedSafe', 'none'],
    ['none', 'none', 'none'],
    ['low', 'confirmedCompromised', 'high'],
    ['hidden', 'atRisk', 'hidden'],
    ['unknownFutureValue', 'atRisk', 'hidden'],
    ['none', 'atRisk', 'hidden'],
  ] as const)('level %s in state %s is %s', (level, state, expected) => {
    expect(activeRiskOf({ riskLevel: level, riskState: state })).toBe(expected);
  });
});

describe('the identity risk check', () => {
  const rule = DEFAULT_IDENTITY_RISK_RULE;
  it('denies high risk with a reason that sends the requester to the security team', () => {
    const r = identityRiskResult(rule, record('high', 'atRisk'));
    expect(r).toMatchObject({ result: 'fail', label: 'High user risk' });
    expect(r.detail).toMatch(/contact your security team/);
  });
  it('flags medium risk for a person, informs about low risk, passes when there is none', () => {
    expect(identityRiskResult(rule, record('medium', 'atRisk'))).toMatchObject({ result: 'fail', onFail: 'review', label: 'Medium user risk' });
    expect(identityRiskResult(rule, record('low', 'atRisk'))).toMatchObject({ result: 'pass', label: 'Low user risk (allowed)' });
    expect(identityRiskResult(rule, record('high', 'remediated'))).toMatchObject({ result: 'pass', detail: expect.stringMatching(/earlier risk remediated/) });
  });
  it('sends a hidden level to a person even where every level is allowed', () => {
    expect(identityRiskResult({ high: 'allow', medium: 'allow', low: 'allow' }, record('hidden', 'atRisk'))).toMatchObject({
      result: 'fail',
      onFail: 'review',
    });
  });
});

describe('the policy file', () => {
  it('merges a role over default level by level, and false turns the check off', () => {
    const p = parsePolicy(
      {
        version: 1,
        roles: {
          default: { identityRisk: { high: 'review', low: 'review' } },
          [HELPDESK]: { identityRisk: { high: 'deny' } },
          [GLOBAL_ADMIN]: { identityRisk: false },
        },
      },
      'in the test',
    );
    expect(effectiveRule(p, HELPDESK).identityRisk).toEqual({ high: 'deny', medium: 'review', low: 'review' });
    expect(effectiveRule(p, 'fe930be7-5e62-47db-91af-98c3a49a38b1').identityRisk).toEqual({ high: 'review', medium: 'review', low: 'review' });
    expect(effectiveRule(p, GLOBAL_ADMIN).identityRisk).toBeNull();
    expect(effectiveRule(parsePolicy({ version: 1 }, 'x'), HELPDESK).identityRisk).toBeNull();
  });
  it('names the key and the allowed values when an action is wrong', () => {
    expect(() => parsePolicy({ version: 1, roles: { default: { identityRisk: { high: 'block' } } } }, 'in the test')).toThrow(
      /roles\.default\.identityRisk: must be false, or \{high, medium, low\} with each deny, review or allow/,
    );
  });
});

describe('decisions with identity risk', () => {
  const roles = { [HELPDESK]: { ...AUTO, identityRisk: { high: 'deny', medium: 'review' } } };

  it('denies a high-risk requester as the policy says, with the reason for PIM', async () => {
    const v = await decide(HELPDESK, roles, riskPort(record('high', 'atRisk')));
    expect(v.outcome).toBe('Denied');
    expect(v.reasons.join(' ')).toMatch(/security team/);
    expect(v.riskFlags).toContain('High user risk');
  });

  it('sends a medium-risk requester to a person where the role would auto-approve', async () => {
    const v = await decide(HELPDESK, roles, riskPort(record('medium', 'atRisk')));
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Medium user risk');
    expect(v.reasons.join(' ')).toMatch(/user risk medium/);
  });

  it('leaves the decision unchanged when there is no active risk', async () => {
    expect((await decide(HELPDESK, roles, riskPort(record('high', 'dismissed')))).outcome).toBe('AutoApproved');
    expect((await decide(HELPDESK, roles, riskPort(record('none', 'none')))).outcome).toBe('AutoApproved');
  });

  it.each([
    ['fails', riskPort(new IntegrationUnavailable('Microsoft Graph', 'HTTP 503')), /ID Protection is unavailable/],
    ['does not answer in time', riskPort('hang'), /did not answer in time/],
    ['is not configured', undefined, /not configured/],
  ])('never auto-approves when the lookup %s: a person decides, told the risk could not be checked', async (_what, port, why) => {
    const v = await decide(HELPDESK, roles, port);
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Identity risk could not be checked');
    expect(v.reasons.join(' ')).toMatch(why);
    expect(v.reasons.join(' ')).toMatch(/Identity risk could not be checked/);
  });

  it('keeps a deny a deny when the lookup fails', async () => {
    // No ticket where the role requires one: denied whatever the risk lookup does.
    const denied = await evaluateActivation(normaliseActivationRequest({ ...body, roleDefinitionId: HELPDESK, ticketInfo: null }), {
      policy: parsePolicy({ version: 1, roles: { [HELPDESK]: { ...AUTO, identityRisk: {} } } }, 'x'),
      ports: ports(riskPort(new Error('boom'))),
      budgetMs: 300,
      now: WEEKDAY_NOON,
    });
    expect(denied.outcome).toBe('Denied');
    expect(denied.checks.find((c) => c.name === 'identityRisk')).toMatchObject({ result: 'unavailable' });
  });

  it('does not look the risk up for a role without the rule', async () => {
    let asked = 0;
    const v = await decide(
      HELPDESK,
      { [HELPDESK]: AUTO },
      {
        userRisk: async () => {
          asked++;
          return record('high', 'atRisk');
        },
      },
    );
    expect(v.outcome).toBe('AutoApproved');
    expect(asked).toBe(0);
  });
});
