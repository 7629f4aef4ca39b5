import { pimStatusWords, policyRuleWords, scopeWords } from './plain-words';

const PIM_STATUSES = [
  'PendingAdminDecision',
  'PendingApproval',
  'PendingApprovalProvisioning',
  'PendingProvisioning',
  'PendingScheduleCreation',
  'ScheduleCreated',
  'Provisioned',
  'Granted',
  'Denied',
  'Revoked',
  'Canceled',
  'Failed',
  'TimedOut',
  'SomethingPimAddsNextYear',
];

describe("PIM's internal names in plain words", () => {
  test.each(PIM_STATUSES)('status %s never reaches the user as it is', (status) => {
    const words = pimStatusWords(status);
    expect(words).not.toContain(status);
    expect(words).not.toMatch(/[a-z][A-Z]/);
    expect(words.length).toBeGreaterThan(3);
  });

  test('the statuses users meet read as what happens next', () => {
    expect(pimStatusWords('PendingAdminDecision')).toBe('waiting for your administrators to decide');
    expect(pimStatusWords('PendingApproval')).toBe('waiting for an approver');
    expect(pimStatusWords('Provisioned')).toBe('active');
    expect(pimStatusWords('Canceled')).toBe('cancelled');
    expect(pimStatusWords(null)).toBe('in progress in PIM');
  });

  test('policy rule ids become what the user must change', () => {
    expect(policyRuleWords(['TicketingRule', 'ExpirationRule'])).toBe('a ticket number is required; the duration is longer than the policy allows');
    expect(policyRuleWords(['MadeUpRule'])).not.toContain('MadeUpRule');
    expect(policyRuleWords([])).toBe('a policy rule was not met');
  });

  test('an administrative-unit scope shows as its name, or as "an administrative unit", never as the raw id', () => {
    const au = '/administrativeUnits/6b2a1f0e-0000-4000-8000-00000000aa01';
    expect(scopeWords('entraRole', au)).toBe('an administrative unit');
    expect(scopeWords('entraRole', au, 'Seattle')).toBe('the Seattle administrative unit');
    expect(scopeWords('entraRole', '/')).toBeNull();
    expect(scopeWords('entraRole', '/0f1e2d3c-0000-4000-8000-000000000001')).toBe('one directory object');
    expect(scopeWords('group', 'b6c4d2e0-0000-4000-8000-000000000002')).toBeNull();
  });
});
