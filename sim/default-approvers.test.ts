import type { SimHandle } from './server';
import { AZURE, ROLE, USER, seedTenant, type SeedTenant } from './seed';
import { ARM_SCOPE } from '../services/graph/arm';
import { GRAPH_SCOPE, botAppCredential, control, delegatedGraphToken, startTestSim } from './test-support';

const RD = '/roleManagement/directory';
const GOOD = 'Reset the MFA methods of a locked-out engineer under INC0012345';

describe('simulated PIM: default approvers, escalation approvers and who holds a role', () => {
  let sim: SimHandle;
  const tokens = new Map<string, string>();
  const graph = async (user: string | 'app', method: string, path: string, body?: unknown) => {
    if (!tokens.has(user)) tokens.set(user, user === 'app' ? (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token : await delegatedGraphToken(sim, user));
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tokens.get(user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const file = async (principal: string, role: string) => {
    const r = await control(sim, 'POST', '/_sim/requests', { principal, role, justification: GOOD, durationMinutes: 60, ticketNumber: 'INC0012345' });
    expect(r.status).toBe(201);
    return r.body as { id: string; status: string };
  };
  const approve = (user: string, id: string, stepId: string) =>
    graph(user, 'PATCH', `/beta${RD}/roleAssignmentApprovals/${id}/steps/${stepId}`, { reviewResult: 'Approve', justification: 'Checked with the requester' });
  const step = async (id: string, user: string) => (await graph(user, 'GET', `/beta${RD}/roleAssignmentApprovals/${id}`)).body.steps[0];

  afterEach(async () => {
    tokens.clear();
    await sim.close();
  });

  describe('Graph roleAssignments', () => {
    beforeEach(async () => {
      sim = await startTestSim();
    });

    it('lists the permanent holders of a role, with their principal when expanded', async () => {
      const q = `$filter=${encodeURIComponent(`roleDefinitionId eq '${ROLE.privilegedRoleAdministrator}'`)}&$expand=principal`;
      const r = await graph('app', 'GET', `/v1.0${RD}/roleAssignments?${q}`);
      expect(r.status).toBe(200);
      expect(r.body.value).toEqual([
        {
          id: `${USER.diego}_${ROLE.privilegedRoleAdministrator}_/`,
          principalId: USER.diego,
          roleDefinitionId: ROLE.privilegedRoleAdministrator,
          directoryScopeId: '/',
          principal: { '@odata.type': '#microsoft.graph.user', id: USER.diego, displayName: 'Diego Siciliani', userPrincipalName: 'diegos@contoso.example' },
        },
      ]);
    });

    it('counts a PIM activation of the role while it runs, and not after', async () => {
      const filed = await file(USER.isaiah, 'Global Administrator');
      expect(
        (await control(sim, 'POST', '/_sim/decide', { requestId: filed.id, approver: USER.megan, reviewResult: 'Approve', justification: 'ok' })).status,
      ).toBe(200);
      const holders = async () =>
        (
          (await graph('app', 'GET', `/v1.0${RD}/roleAssignments?$filter=${encodeURIComponent(`roleDefinitionId eq '${ROLE.globalAdministrator}'`)}`)).body
            .value as Array<{
            principalId: string;
          }>
        ).map((a) => a.principalId);
      expect(await holders()).toEqual([USER.adele, USER.isaiah]);
      await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 61 });
      expect(await holders()).toEqual([USER.adele]);
    });
  });

  describe('ARM roleAssignments', () => {
    beforeEach(async () => {
      sim = await startTestSim();
    });

    it('lists the Owner of the subscription at a scope below it (atScope)', async () => {
      const token = (await botAppCredential(sim).getToken(ARM_SCOPE)).token;
      const scope = `${AZURE.subscription}/resourceGroups/payroll`;
      const res = await fetch(`${sim.url}/arm${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { value: Array<{ properties: Record<string, unknown> }> };
      expect(body.value.map((a) => a.properties)).toEqual([
        expect.objectContaining({
          roleDefinitionId: `${AZURE.subscription}/providers/Microsoft.Authorization/roleDefinitions/${AZURE.owner}`,
          principalId: USER.diego,
          principalType: 'User',
          scope: AZURE.subscription,
        }),
      ]);
      const unauthenticated = await fetch(`${sim.url}/arm${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`);
      expect(unauthenticated.status).toBe(401);
    });
  });

  describe('default approvers', () => {
    beforeEach(async () => {
      sim = await startTestSim();
    });

    it('an Entra role that names no approvers is approved by a Privileged Role Administrator or a Global Administrator, nobody else', async () => {
      const filed = await file(USER.lynne, 'Authentication Administrator');
      expect(filed.status).toBe('PendingApproval');
      const view = await control(sim, 'GET', `/_sim/requests/${filed.id}`);
      expect(view.body.approval.steps[0].approverIds).toEqual([USER.diego, USER.adele]);
      expect((await step(filed.id, USER.diego)).assignedToMe).toBe(true);
      expect((await step(filed.id, USER.alex)).assignedToMe).toBe(false);
      const stepId = (await step(filed.id, USER.diego)).id as string;
      expect((await approve(USER.alex, filed.id, stepId)).status).toBe(403);
      expect((await approve(USER.lynne, filed.id, stepId)).status).toBe(403);
      expect((await approve(USER.diego, filed.id, stepId)).status).toBe(204);
      expect((await control(sim, 'GET', `/_sim/requests/${filed.id}`)).body.status).toBe('Granted');
    });

    it('a PIM group that names no approvers has none (no documented defaults)', async () => {
      const seed: SeedTenant = structuredClone(seedTenant);
      seed.pimGroups![0]!.policy.primaryApprovers = [];
      await sim.close();
      sim = await startTestSim({ seed });
      const filed = await control(sim, 'POST', '/_sim/requests', { principal: USER.isaiah, group: 'SQL Admins', justification: GOOD });
      expect(filed.status).toBe(201);
      const view = await control(sim, 'GET', `/_sim/requests/${filed.body.id}`);
      expect(view.body.status).toBe('PendingApproval');
      expect(view.body.approval.steps[0].approverIds).toEqual([]);
    });
  });

  describe('escalation approvers', () => {
    beforeEach(async () => {
      sim = await startTestSim();
    });

    it('may decide only once the escalation time (720 minutes) has passed since the step opened', async () => {
      const filed = await file(USER.isaiah, 'User Administrator');
      const policy = await graph(
        'app',
        'GET',
        `/v1.0/policies/roleManagementPolicyAssignments?$filter=${encodeURIComponent(`scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${ROLE.userAdministrator}'`)}&$expand=policy($expand=rules)`,
      );
      const stage = policy.body.value[0].policy.rules.find((r: { id: string }) => r.id === 'Approval_EndUser_Assignment').setting.approvalStages[0];
      expect(stage).toMatchObject({ isEscalationEnabled: true, escalationTimeInMinutes: 720 });
      const stepId = (await step(filed.id, USER.adele)).id as string;

      await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 719 });
      expect((await step(filed.id, USER.alex)).assignedToMe).toBe(false);
      const early = await approve(USER.alex, filed.id, stepId);
      expect(early.status).toBe(403);
      expect(early.body.error.message).toBe('The caller is not an approver of this request.');
      const listed = await graph(USER.alex, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')`);
      expect(listed.body.value.map((r: { id: string }) => r.id)).not.toContain(filed.id);

      await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 1 });
      expect((await step(filed.id, USER.alex)).assignedToMe).toBe(true);
      const relisted = await graph(USER.alex, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')`);
      expect(relisted.body.value.map((r: { id: string }) => r.id)).toContain(filed.id);
      expect((await approve(USER.alex, filed.id, stepId)).status).toBe(204);
      const view = await control(sim, 'GET', `/_sim/requests/${filed.id}`);
      expect(view.body.status).toBe('Granted');
      expect(view.body.approval.steps[0].reviewedBy.id).toBe(USER.alex);
    });

    it('a primary approver may still decide after the escalation time', async () => {
      const filed = await file(USER.isaiah, 'User Administrator');
      const stepId = (await step(filed.id, USER.adele)).id as string;
      await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 800 });
      expect((await approve(USER.adele, filed.id, stepId)).status).toBe(204);
    });
  });
});
