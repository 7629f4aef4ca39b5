import { GraphCallError } from '../graph/graph-errors';
import { authContextOf, checkDraft, claimsIn, classifyRefusal, stepUpClaims } from './activation-problems';
import { activationPolicyOf, isoDurationToMinutes, minutesToIsoDuration, policyApprovers, policyEscalationApprovers } from './policy-rules';
import type { ActivationPolicy } from './types';

const policy: ActivationPolicy = {
  maximumMinutes: 240,
  justificationRequired: true,
  ticketRequired: true,
  mfaRequired: false,
  authenticationContext: null,
  approvalRequired: true,
  approverIds: ['a'],
};
const full = { durationMinutes: 120, ticketSystem: 'ServiceNow', ticketNumber: 'INC0012345', justification: 'investigating alert 4711 on the SOC queue' };

describe('checking a draft against the PIM policy before submitting', () => {
  it('accepts a complete request as it is', () => {
    expect(checkDraft(full, policy, 'Security Operator')).toEqual({ values: full, problems: [] });
  });

  it('defaults a missing duration to an hour, or the maximum when that is shorter', () => {
    expect(checkDraft({ ...full, durationMinutes: null }, policy, 'X').values.durationMinutes).toBe(60);
    expect(checkDraft({ ...full, durationMinutes: null }, { ...policy, maximumMinutes: 30 }, 'X').values.durationMinutes).toBe(30);
  });

  it('caps a duration above the maximum and says what the maximum is', () => {
    const r = checkDraft({ ...full, durationMinutes: 300 }, policy, 'Security Operator');
    expect(r.values.durationMinutes).toBe(240);
    expect(r.problems).toEqual([expect.stringContaining('at most 4 hours')]);
  });

  it('asks for the ticket only when the policy requires one', () => {
    expect(checkDraft({ ...full, ticketNumber: null }, policy, 'Security Operator').problems).toEqual([
      expect.stringContaining('PIM needs a ticket for Security Operator'),
    ]);
    expect(checkDraft({ ...full, ticketNumber: null }, { ...policy, ticketRequired: false }, 'X').problems).toEqual([]);
  });

  it('asks for a reason, and for a better one when it is too short to judge', () => {
    expect(checkDraft({ ...full, justification: null }, policy, 'X').problems).toEqual([expect.stringContaining('PIM needs a reason for X')]);
    expect(checkDraft({ ...full, justification: 'fix' }, policy, 'X').problems).toEqual([expect.stringContaining('too short')]);
    expect(checkDraft({ ...full, justification: null }, { ...policy, justificationRequired: false }, 'X').problems).toEqual([]);
  });

  it('lists every problem at once', () => {
    expect(checkDraft({ durationMinutes: 600, ticketSystem: null, ticketNumber: null, justification: null }, policy, 'X').problems).toHaveLength(3);
  });
});

describe("reading PIM's refusals", () => {
  const policyError = (rules: string[]) =>
    new GraphCallError(
      400,
      'RoleAssignmentRequestPolicyValidationFailed',
      `Submitting the activation: The following policy rules failed: [${rules.map((r) => `"${r}"`).join(',')}]`,
      'req-1',
    );

  it.each([
    [['TicketingRule'], { kind: 'policy', rules: ['TicketingRule'] }],
    [['ExpirationRule', 'JustificationRule'], { kind: 'policy', rules: ['ExpirationRule', 'JustificationRule'] }],
    [['MfaRule'], { kind: 'mfa' }],
    [['EligibilityRule'], { kind: 'notEligible' }],
  ])('maps %j', (rules, expected) => {
    expect(classifyRefusal(policyError(rules))).toEqual(expected);
  });

  it('reads the claims challenge of an authentication-context refusal', () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const err = new GraphCallError(
      400,
      'RoleAssignmentRequestAcrsValidationFailed',
      `The Role assignment request requires authentication context. &claims=${encodeURIComponent(claims)}`,
    );
    expect(classifyRefusal(err)).toEqual({ kind: 'authContext', claims });
    expect(authContextOf(claims)).toBe('c1');
    expect(claimsIn('no challenge here')).toBeNull();
  });

  it("recognises Entra's step-up demand from on-behalf-of", () => {
    const err = Object.assign(new Error('AADSTS50076: you must use multi-factor authentication'), {
      name: 'AuthenticationError',
      errorResponse: { error: 'interaction_required', errorDescription: 'AADSTS50076', claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}' },
    });
    expect(stepUpClaims(err)).toContain('c1');
    expect(classifyRefusal(err).kind).toBe('authContext');
    expect(stepUpClaims(new Error('socket hang up'))).toBeUndefined();
  });

  it('keeps Graph message and request id for anything else, never a stack', () => {
    const r = classifyRefusal(new GraphCallError(503, 'ServiceUnavailable', 'Submitting the activation: try later', 'abc-123'));
    expect(r).toEqual({ kind: 'other', status: 503, code: 'ServiceUnavailable', message: 'Submitting the activation: try later', requestId: 'abc-123' });
    expect(classifyRefusal(new TypeError('x is undefined'))).toMatchObject({ kind: 'other', message: 'The request could not be sent to PIM.' });
  });

  it.each([
    ['RoleAssignmentExists', 'alreadyActive'],
    ['PendingRoleAssignmentRequest', 'alreadyPending'],
  ])('%s → %s', (code, kind) => {
    expect(classifyRefusal(new GraphCallError(400, code, 'x')).kind).toBe(kind);
  });
});

describe('policy rules from Graph and ARM', () => {
  it('reads the Graph shape', () => {
    const rules = [
      { '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyExpirationRule', id: 'Expiration_EndUser_Assignment', maximumDuration: 'PT2H' },
      { id: 'Enablement_EndUser_Assignment', enabledRules: ['MultiFactorAuthentication', 'Justification', 'Ticketing'] },
      { id: 'AuthenticationContext_EndUser_Assignment', isEnabled: false, claimValue: null },
      {
        id: 'Approval_EndUser_Assignment',
        setting: {
          isApprovalRequired: true,
          approvalStages: [
            {
              primaryApprovers: [
                { '@odata.type': '#microsoft.graph.singleUser', userId: 'u1' },
                { '@odata.type': '#microsoft.graph.groupMembers', groupId: 'g1' },
              ],
            },
          ],
        },
      },
    ];
    expect(policyApprovers(rules)).toEqual([
      { kind: 'user', id: 'u1' },
      { kind: 'group', id: 'g1' },
    ]);
    expect(activationPolicyOf(rules, ['u1', 'u2'])).toEqual({
      maximumMinutes: 120,
      justificationRequired: true,
      ticketRequired: true,
      mfaRequired: true,
      authenticationContext: null,
      approvalRequired: true,
      approverIds: ['u1', 'u2'],
    });
  });

  it('reads the ARM shape, with an authentication context and no approval', () => {
    const rules = [
      { id: 'Expiration_EndUser_Assignment', ruleType: 'RoleManagementPolicyExpirationRule', maximumDuration: 'PT8H' },
      { id: 'Enablement_EndUser_Assignment', enabledRules: ['Justification'] },
      { id: 'AuthenticationContext_EndUser_Assignment', isEnabled: true, claimValue: 'c1' },
      { id: 'Approval_EndUser_Assignment', setting: { isApprovalRequired: false, approvalStages: [{ primaryApprovers: [{ id: 'g2', userType: 'Group' }] }] } },
    ];
    expect(policyApprovers(rules)).toEqual([{ kind: 'group', id: 'g2' }]);
    expect(activationPolicyOf(rules, ['x'])).toMatchObject({
      maximumMinutes: 480,
      authenticationContext: 'c1',
      approvalRequired: false,
      approverIds: [],
      mfaRequired: false,
      ticketRequired: false,
    });
  });

  it('reads escalation approvers only when the stage enables escalation', () => {
    const stage = (isEscalationEnabled: boolean) => [
      {
        id: 'Approval_EndUser_Assignment',
        setting: {
          isApprovalRequired: true,
          approvalStages: [
            {
              isEscalationEnabled,
              primaryApprovers: [{ id: 'u1', userType: 'User' }],
              escalationApprovers: [
                { '@odata.type': '#microsoft.graph.singleUser', userId: 'u9' },
                { id: 'g3', userType: 'Group' },
              ],
            },
          ],
        },
      },
    ];
    expect(policyEscalationApprovers(stage(true))).toEqual([
      { kind: 'user', id: 'u9' },
      { kind: 'group', id: 'g3' },
    ]);
    expect(policyEscalationApprovers(stage(false))).toEqual([]);
    expect(policyApprovers(stage(true))).toEqual([{ kind: 'user', id: 'u1' }]);
  });

  it('converts durations both ways', () => {
    expect(isoDurationToMinutes('PT1H30M')).toBe(90);
    expect(isoDurationToMinutes('P1D')).toBe(1440);
    expect(isoDurationToMinutes('PT')).toBeNull();
    expect(minutesToIsoDuration(90)).toBe('PT1H30M');
    expect(minutesToIsoDuration(120)).toBe('PT2H');
    expect(minutesToIsoDuration(45)).toBe('PT45M');
  });
});
