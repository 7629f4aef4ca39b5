import type { SimHandle } from './server';
import { ROLE, USER } from './seed';
import { GRAPH_SCOPE, botAppCredential, control, delegatedGraphToken, startTestSim } from './test-support';

const RD = '/roleManagement/directory';

describe('simulated PIM: activation and approval rules', () => {
  let sim: SimHandle;
  const tokens = new Map<string, string>();
  const tokenFor = async (user: string) => {
    if (!tokens.has(user)) tokens.set(user, await delegatedGraphToken(sim, user));
    return tokens.get(user)!;
  };
  const graph = async (user: string | 'app', method: string, path: string, body?: unknown) => {
    const token = user === 'app' ? (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token : await tokenFor(user);
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const file = async (principal: string, role: string, extra: Record<string, unknown> = {}) => {
    const r = await control(sim, 'POST', '/_sim/requests', {
      principal,
      role,
      justification: 'Investigate incident',
      ticketNumber: 'INC0012345',
      durationMinutes: 60,
      ...extra,
    });
    expect(r.status).toBe(201);
    return r.body as { id: string; status: string };
  };
  const stepOf = async (id: string, user: string) => (await graph(user, 'GET', `/beta${RD}/roleAssignmentApprovals/${id}`)).body.steps[0];
  const patch = (user: string | 'app', id: string, stepId: string, body: unknown) =>
    graph(user, 'PATCH', `/beta${RD}/roleAssignmentApprovals/${id}/steps/${stepId}`, body);

  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  describe('selfActivate through Graph', () => {
    const activate = (user: string, body: Record<string, unknown>) =>
      graph(user, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, {
        action: 'selfActivate',
        principalId: user,
        roleDefinitionId: ROLE.userAdministrator,
        directoryScopeId: '/',
        justification: 'Reset a locked-out account for the payroll team',
        scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT2H' } },
        ticketInfo: { ticketNumber: 'INC1', ticketSystem: 'ServiceNow' },
        ...body,
      });

    it('files a pending request for an eligible user', async () => {
      const r = await activate(USER.lynne, {});
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        status: 'PendingApproval',
        action: 'selfActivate',
        principalId: USER.lynne,
        roleDefinitionId: ROLE.userAdministrator,
        directoryScopeId: '/',
      });
      expect(r.body.approvalId).toBe(r.body.id);
      const got = await graph('app', 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/${r.body.id}`);
      expect(got.body.status).toBe('PendingApproval');
    });

    it.each([
      ['EligibilityRule', USER.megan, {}],
      ['ExpirationRule', USER.patti, { scheduleInfo: { expiration: { type: 'afterDuration', duration: 'PT9H' } } }],
      ['JustificationRule', USER.patti, { justification: '' }],
    ])('fails %s', async (rule, user, body) => {
      const r = await activate(user, body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('RoleAssignmentRequestPolicyValidationFailed');
      expect(r.body.error.message).toBe(`The following policy rules failed: ["${rule}"]`);
    });

    it('fails TicketingRule where the role requires a ticket', async () => {
      const r = await activate(USER.lynne, { roleDefinitionId: ROLE.securityOperator, ticketInfo: {} });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe('The following policy rules failed: ["TicketingRule"]');
    });

    it('refuses selfActivate with an app-only token', async () => {
      const r = await activate(USER.lynne, {});
      const app = await graph('app', 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, { action: 'selfActivate', principalId: USER.lynne });
      expect(r.status).toBe(400); // already pending from the first test
      expect(r.body.error.code).toBe('PendingRoleAssignmentRequest');
      expect(app.status).toBe(403);
    });
  });

  it('lists requests pending my approval with filterByCurrentUser', async () => {
    const { id } = await file('isaiahl@contoso.example', 'Helpdesk Administrator');
    const asAlex = await graph(
      USER.alex,
      'GET',
      `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status eq 'PendingApproval'`,
    );
    expect(asAlex.status).toBe(200);
    expect(asAlex.body.value.map((r: any) => r.id)).toContain(id);
    const asLynne = await graph(
      USER.lynne,
      'GET',
      `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status eq 'PendingApproval'`,
    );
    expect(asLynne.body.value.map((r: any) => r.id)).not.toContain(id);
    const mine = await graph(USER.isaiah, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(mine.body.value.map((r: any) => r.id)).toContain(id);
  });

  it('shows the approval step with assignedToMe for an approver and not for the requester', async () => {
    const { id } = await file('alexw@contoso.example', 'Security Operator');
    const forMegan = await stepOf(id, USER.megan);
    expect(forMegan).toMatchObject({
      displayName: null,
      reviewResult: 'NotReviewed',
      status: 'InProgress',
      assignedToMe: true,
      reviewedBy: null,
      reviewedDateTime: null,
    });
    expect((await stepOf(id, USER.alex)).assignedToMe).toBe(false);
    const steps = await graph(USER.megan, 'GET', `/beta${RD}/roleAssignmentApprovals/${id}/steps`);
    expect(steps.body.value[0].id).toBe(forMegan.id);
  });

  it('refuses service principals: reading or deciding approvals with an app token is 403', async () => {
    const { id } = await file('isaiahl@contoso.example', 'User Administrator');
    const step = await stepOf(id, USER.adele);
    expect((await graph('app', 'GET', `/beta${RD}/roleAssignmentApprovals/${id}`)).status).toBe(403);
    expect((await patch('app', id, step.id, { reviewResult: 'Approve', justification: 'ok' })).status).toBe(403);
  });

  it('refuses self-approval even when the requester is a listed approver', async () => {
    // Alex is an approver of Security Operator and eligible for it.
    const r = (await control(sim, 'GET', '/_sim/requests')).body.value.find((x: any) => x.principalId === USER.alex && x.status === 'PendingApproval');
    const step = await stepOf(r.id, USER.megan);
    const res = await patch(USER.alex, r.id, step.id, { reviewResult: 'Approve', justification: 'me' });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/own requests/);
  });

  it('refuses a user who is not an approver', async () => {
    const { id } = await file('pattif@contoso.example', 'User Administrator');
    const step = await stepOf(id, USER.adele);
    const res = await patch(USER.isaiah, id, step.id, { reviewResult: 'Approve', justification: 'looks fine' });
    expect(res.status).toBe(403);
  });

  it('lets a member of an approver group approve, provisions the role, and the second decision gets 409', async () => {
    const { id } = await file('lynner@contoso.example', 'Security Operator');
    const step = await stepOf(id, USER.patti);
    expect(step.assignedToMe).toBe(true);
    expect((await patch(USER.patti, id, step.id, { reviewResult: 'Approve', justification: 'On call for INC0012345' })).status).toBe(204);
    const after = await stepOf(id, USER.megan);
    expect(after).toMatchObject({
      status: 'Completed',
      reviewResult: 'Approve',
      justification: 'On call for INC0012345',
      reviewedBy: { id: USER.patti, userPrincipalName: 'pattif@contoso.example' },
    });
    const second = await patch(USER.megan, id, step.id, { reviewResult: 'Deny', justification: 'too late' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/Patti Fernandez/);
    expect((await graph('app', 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/${id}`)).body.status).toBe('Provisioned');
    const inst = await graph('app', 'GET', `/v1.0${RD}/roleAssignmentScheduleInstances?$filter=principalId eq '${USER.lynne}'`);
    expect(inst.body.value).toEqual([expect.objectContaining({ roleDefinitionId: ROLE.securityOperator, assignmentType: 'Activated' })]);
    const ctl = (await control(sim, 'GET', `/_sim/requests/${id}`)).body;
    expect(ctl.status).toBe('Granted');
  });

  it('gives 409 when a decision was already taken in the portal, and records a Deny', async () => {
    const { id } = await file('isaiahl@contoso.example', 'Global Administrator');
    const portal = await control(sim, 'POST', '/_sim/decide', {
      requestId: id,
      approver: 'adelev@contoso.example',
      reviewResult: 'Deny',
      justification: 'No change window',
    });
    expect(portal.status).toBe(200);
    expect(portal.body.status).toBe('Denied');
    const step = await stepOf(id, USER.megan);
    expect((await patch(USER.megan, id, step.id, { reviewResult: 'Approve', justification: 'fine' })).status).toBe(409);
  });

  it('validates the decision body: justification required, reviewResult Approve or Deny; unknown ids are 404', async () => {
    const { id } = await file('pattif@contoso.example', 'Helpdesk Administrator');
    const step = await stepOf(id, USER.adele);
    expect((await patch(USER.adele, id, step.id, { reviewResult: 'Approve' })).status).toBe(400);
    expect((await patch(USER.adele, id, step.id, { reviewResult: 'Maybe', justification: 'x' })).status).toBe(400);
    expect((await patch(USER.adele, '00000000-0000-4000-8000-000000000000', step.id, { reviewResult: 'Approve', justification: 'x' })).status).toBe(404);
    expect((await patch(USER.adele, id, '00000000-0000-4000-8000-000000000000', { reviewResult: 'Approve', justification: 'x' })).status).toBe(404);
    expect((await stepOf(id, USER.adele)).status).toBe('InProgress');
  });

  it('expires a request left pending for 24 hours', async () => {
    const { id } = await file('lynner@contoso.example', 'Helpdesk Administrator');
    const step = await stepOf(id, USER.adele);
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 23 * 60 });
    expect((await control(sim, 'GET', `/_sim/requests/${id}`)).body.status).toBe('PendingApproval');
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 61 });
    expect((await control(sim, 'GET', `/_sim/requests/${id}`)).body.status).toBe('TimedOut');
    const res = await patch(USER.adele, id, step.id, { reviewResult: 'Approve', justification: 'sorry, late' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/expired/);
    expect(await stepOf(id, USER.adele)).toMatchObject({ status: 'Completed', reviewResult: 'NotReviewed' });
  });
});
