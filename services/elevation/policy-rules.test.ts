import { approverNamesOf, policyApprovers, policyEscalationMinutes } from './policy-rules';

describe('who can approve, in words', () => {
  const stage = (primaryApprovers: unknown[]) => [
    { id: 'Approval_EndUser_Assignment', setting: { isApprovalRequired: true, approvalStages: [{ primaryApprovers }] } },
  ];

  test('people by the name PIM keeps with them, groups as their members, and a subject without a name counted', () => {
    const rules = stage([
      { '@odata.type': '#microsoft.graph.singleUser', userId: 'u1', description: 'Adele Vance' },
      { '@odata.type': '#microsoft.graph.groupMembers', groupId: 'g1', description: 'Helpdesk approvers' },
      { '@odata.type': '#microsoft.graph.singleUser', userId: 'u2', description: null },
      { '@odata.type': '#microsoft.graph.singleUser', userId: 'u3' },
    ]);
    expect(approverNamesOf(policyApprovers(rules as never))).toEqual(['Adele Vance', 'members of Helpdesk approvers', '2 more approvers']);
  });

  test("ARM's user sets name them the same way", () => {
    const rules = stage([
      { id: 'u1', userType: 'User', description: 'Megan Bowen' },
      { id: 'g1', userType: 'Group', description: 'SQL admins' },
    ]);
    expect(approverNamesOf(policyApprovers(rules as never))).toEqual(['Megan Bowen', 'members of SQL admins']);
  });
});

describe("PIM's escalation time", () => {
  const rules = (stage: Record<string, unknown>) => [{ id: 'Approval_EndUser_Assignment', setting: { isApprovalRequired: true, approvalStages: [stage] } }];
  const alex = [{ '@odata.type': '#microsoft.graph.singleUser', userId: 'alex' }];

  it('is the stage’s escalationTimeInMinutes when escalation is on and names someone', () => {
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationTimeInMinutes: 720, escalationApprovers: alex }))).toBe(720);
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationTimeInMinutes: 0, escalationApprovers: alex }))).toBe(0);
  });

  it('is unknown (null) when escalation is off, names nobody, or the time is missing or not whole minutes', () => {
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: false, escalationTimeInMinutes: 720, escalationApprovers: alex }))).toBeNull();
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationTimeInMinutes: 720, escalationApprovers: [] }))).toBeNull();
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationApprovers: alex }))).toBeNull();
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationTimeInMinutes: -5, escalationApprovers: alex }))).toBeNull();
    expect(policyEscalationMinutes(rules({ isEscalationEnabled: true, escalationTimeInMinutes: 'PT12H', escalationApprovers: alex }) as never)).toBeNull();
    expect(policyEscalationMinutes([])).toBeNull();
  });
});
