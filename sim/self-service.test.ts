import { decodeJwt } from 'jose';
import type { SimHandle } from './server';
import { AZURE, DEMO_BOT_APP, GROUP, ROLE, USER, seedTenant, type SeedTenant } from './seed';
import { GRAPH_SCOPE, control, oboCredential, startTestSim } from './test-support';

/**
 * Elevation by chat, as the bot does it: the user's Teams token from the token service, on-behalf-of
 * to Graph or ARM, then PIM's self-service calls with the user's own token.
 */
const RD = '/roleManagement/directory';
const PG = '/identityGovernance/privilegedAccess/group';
const AUTH = '/providers/Microsoft.Authorization';
const ARM_SCOPE = 'https://management.azure.com/.default';
const API = 'api-version=2020-10-01';
const DAY = 24 * 3600 * 1000;
const C1_CLAIMS = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';

function helpers(get: () => SimHandle) {
  /** The user's token as the Bot Framework token service hands it to the bot (session strength applies). */
  const ssoToken = async (user: string): Promise<string> => {
    const res = await fetch(`${get().url}/api/usertoken/GetToken?userId=${encodeURIComponent(user)}&connectionName=sso&channelId=msteams`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  };
  const oboRaw = async (assertion: string, scope: string, claims?: string) => {
    const form = new URLSearchParams({
      client_id: DEMO_BOT_APP.clientId,
      client_secret: DEMO_BOT_APP.clientSecret,
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      requested_token_use: 'on_behalf_of',
      assertion,
      scope,
      ...(claims ? { claims } : {}),
    });
    const res = await fetch(`${get().url}/${get().tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const tokenFor = async (user: string, scope = GRAPH_SCOPE): Promise<string> => {
    const r = await oboRaw(await ssoToken(user), scope);
    expect(r.status).toBe(200);
    return r.body.access_token as string;
  };
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${get().url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const graph = async (user: string, method: string, path: string, body?: unknown) => call(await tokenFor(user), method, path, body);
  const arm = async (user: string, method: string, path: string, body?: unknown) => call(await tokenFor(user, ARM_SCOPE), method, `/arm${path}`, body);
  const activation = (user: string, roleDefinitionId: string, extra: Record<string, unknown> = {}) => ({
    action: 'selfActivate',
    principalId: user,
    roleDefinitionId,
    directoryScopeId: '/',
    justification: 'Investigating INC0012345',
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' },
    ...extra,
  });
  const extension = (user: string, roleDefinitionId: string) => ({
    action: 'selfExtend',
    principalId: user,
    roleDefinitionId,
    directoryScopeId: '/',
    justification: 'Still on the incident rota',
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'P90D' } },
  });
  const armActivation = (user: string, duration = 'PT2H') => ({
    properties: {
      principalId: user,
      roleDefinitionId: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`,
      requestType: 'SelfActivate',
      justification: 'Deploy the hotfix',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'AfterDuration', duration } },
    },
  });
  const endsIn = (days: number) => new Date(get().state.startedAt.getTime() + days * DAY).toISOString();
  return { ssoToken, oboRaw, tokenFor, call, graph, arm, activation, extension, armActivation, endsIn };
}

describe('simulated PIM self-service: eligibility and active assignments for the signed-in user', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it("lists a user's Entra eligibilities with their end dates, permanent ones with null", async () => {
    const r = await h.graph(USER.alex, 'GET', `/v1.0${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')?$expand=roleDefinition`);
    expect(r.status).toBe(200);
    const byRole = new Map<string, any>(r.body.value.map((i: any) => [i.roleDefinitionId, i]));
    expect([...byRole.keys()].sort()).toEqual([ROLE.globalAdministrator, ROLE.securityOperator, ROLE.reportsReader, ROLE.exchangeAdministrator].sort());
    expect(byRole.get(ROLE.securityOperator)).toMatchObject({
      principalId: USER.alex,
      directoryScopeId: '/',
      memberType: 'Direct',
      endDateTime: h.endsIn(9),
      roleDefinition: { displayName: 'Security Operator' },
    });
    expect(byRole.get(ROLE.globalAdministrator).endDateTime).toBeNull();
    expect(byRole.get(ROLE.exchangeAdministrator).roleDefinition.displayName).toBe('Exchange Administrator');
    // The end is nine days from "now" on the simulator clock.
    const now = Date.parse((await control(sim, 'GET', '/_sim/clock')).body.now);
    expect(Date.parse(byRole.get(ROLE.securityOperator).endDateTime) - now).toBeGreaterThan(9 * DAY - 60_000);
    expect(Date.parse(byRole.get(ROLE.securityOperator).endDateTime) - now).toBeLessThanOrEqual(9 * DAY);

    const lynne = await h.graph(USER.lynne, 'GET', `/beta${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(lynne.body.value.find((i: any) => i.roleDefinitionId === ROLE.helpdeskAdministrator).endDateTime).toBe(h.endsIn(10));
    const patti = await h.graph(USER.patti, 'GET', `/v1.0${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(patti.body.value.find((i: any) => i.roleDefinitionId === ROLE.userAdministrator).endDateTime).toBe(h.endsIn(40));
    expect(patti.body.value.map((i: any) => i.principalId)).toEqual(patti.body.value.map(() => USER.patti));
  });

  it('describes the authentication context in the role policy rules', async () => {
    const rules = async (roleId: string) => {
      const r = await h.graph(
        USER.alex,
        'GET',
        `/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${roleId}'&$expand=policy($expand=rules)`,
      );
      expect(r.status).toBe(200);
      return r.body.value[0].policy.rules.find((x: any) => x.id === 'AuthenticationContext_EndUser_Assignment');
    };
    expect(await rules(ROLE.exchangeAdministrator)).toMatchObject({
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule',
      isEnabled: true,
      claimValue: 'c1',
    });
    expect(await rules(ROLE.reportsReader)).toMatchObject({ isEnabled: false, claimValue: null });
  });

  it('activates a role without approval at once', async () => {
    const r = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.lynne, ROLE.reportsReader));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'Provisioned', action: 'selfActivate', approvalId: null });
    const active = await h.graph(USER.lynne, 'GET', `/v1.0${RD}/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(active.body.value).toEqual([expect.objectContaining({ roleDefinitionId: ROLE.reportsReader, assignmentType: 'Activated' })]);
  });

  it('lists PIM for Groups eligibilities with the group expanded; app tokens are refused', async () => {
    const r = await h.graph(USER.isaiah, 'GET', `/v1.0${PG}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')?$expand=group`);
    expect(r.status).toBe(200);
    expect(r.body.value).toEqual([
      {
        id: expect.any(String),
        groupId: GROUP.sqlAdmins,
        principalId: USER.isaiah,
        accessId: 'member',
        memberType: 'Direct',
        startDateTime: expect.any(String),
        endDateTime: null,
        eligibilityScheduleId: expect.any(String),
        group: expect.objectContaining({ id: GROUP.sqlAdmins, displayName: 'SQL Admins' }),
      },
    ]);
    const adele = await h.graph(USER.adele, 'GET', `/beta${PG}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(adele.body.value.map((i: any) => i.accessId)).toEqual(['owner']);
    expect(adele.body.value[0].group).toBeUndefined();
    const app = await fetch(`${sim.url}/v1.0${PG}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')`, {
      headers: {
        Authorization: `Bearer ${await sim.issueToken({ aud: 'https://graph.microsoft.com', idtyp: 'app', roles: ['PrivilegedAssignmentSchedule.Read.AzureADGroup'], oid: 'app' })}`,
      },
    });
    expect(app.status).toBe(403);
  });

  it('lists a group activation in my requests and, once approved, in my active memberships', async () => {
    const filed = await h.graph(USER.isaiah, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, {
      action: 'selfActivate',
      principalId: USER.isaiah,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'Restore the payroll DB',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT2H' } },
    });
    expect(filed.status).toBe(201);
    expect(filed.body.status).toBe('PendingApproval');
    const mine = await h.graph(USER.isaiah, 'GET', `/v1.0${PG}/assignmentScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(mine.status).toBe(200);
    expect(mine.body.value).toEqual([
      expect.objectContaining({ id: filed.body.id, status: 'PendingApproval', groupId: GROUP.sqlAdmins, accessId: 'member', action: 'selfActivate' }),
    ]);
    expect((await h.graph(USER.lynne, 'GET', `/v1.0${PG}/assignmentScheduleRequests/filterByCurrentUser(on='principal')`)).body.value).toEqual([]);

    expect(
      (await control(sim, 'POST', '/_sim/decide', { requestId: filed.body.id, approver: USER.megan, reviewResult: 'Approve', justification: 'ok' })).status,
    ).toBe(200);
    const active = await h.graph(USER.isaiah, 'GET', `/v1.0${PG}/assignmentScheduleInstances/filterByCurrentUser(on='principal')?$expand=group`);
    expect(active.status).toBe(200);
    expect(active.body.value).toEqual([
      expect.objectContaining({
        groupId: GROUP.sqlAdmins,
        principalId: USER.isaiah,
        accessId: 'member',
        memberType: 'Direct',
        assignmentType: 'Activated',
        group: expect.objectContaining({ displayName: 'SQL Admins' }),
      }),
    ]);
    expect(Date.parse(active.body.value[0].endDateTime) - Date.parse(active.body.value[0].startDateTime)).toBe(2 * 3600 * 1000);
  });

  it('lists Azure eligibilities as target at the tenant root and at the subscription, with expanded properties', async () => {
    for (const scope of ['', AZURE.subscription]) {
      const r = await h.arm(USER.isaiah, 'GET', `${scope}${AUTH}/roleEligibilityScheduleInstances?$filter=asTarget()&${API}`);
      expect(r.status).toBe(200);
      expect(r.body.value).toHaveLength(1);
      const item = r.body.value[0];
      expect(item.type).toBe('Microsoft.Authorization/roleEligibilityScheduleInstances');
      expect(item.id).toBe(`${AZURE.subscription}${AUTH}/roleEligibilityScheduleInstances/${item.name}`);
      expect(item.properties).toMatchObject({
        scope: AZURE.subscription,
        roleDefinitionId: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`,
        principalId: USER.isaiah,
        principalType: 'User',
        status: 'Provisioned',
        memberType: 'Direct',
        endDateTime: h.endsIn(7),
        expandedProperties: {
          principal: { id: USER.isaiah, displayName: 'Isaiah Langer', type: 'User' },
          roleDefinition: { id: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`, displayName: 'Contributor', type: 'BuiltInRole' },
          scope: { id: AZURE.subscription, displayName: 'Contoso Production', type: 'subscription' },
        },
      });
    }
    const adele = await h.arm(USER.adele, 'GET', `${AUTH}/roleEligibilityScheduleInstances?$filter=asTarget()&${API}`);
    expect(adele.body.value.map((i: any) => i.properties.endDateTime)).toEqual([null]);
    expect((await h.arm(USER.megan, 'GET', `${AUTH}/roleEligibilityScheduleInstances?$filter=asTarget()&${API}`)).body.value).toEqual([]);
    expect((await h.arm(USER.megan, 'GET', `${AUTH}/roleEligibilityScheduleInstances?$filter=bogus()&${API}`)).status).toBe(400);
  });

  it('lists an approved Azure activation among my active Azure assignments', async () => {
    const put = await h.arm(
      USER.isaiah,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000001?${API}`,
      h.armActivation(USER.isaiah),
    );
    expect(put.status).toBe(201);
    expect(put.body.properties).toMatchObject({ status: 'PendingApproval', requestType: 'SelfActivate' });
    expect(
      (
        await control(sim, 'POST', '/_sim/decide', {
          requestId: (await control(sim, 'GET', '/_sim/requests')).body.value.find((r: any) => r.kind === 'azureResource').id,
          approver: USER.megan,
          reviewResult: 'Approve',
          justification: 'ok',
        })
      ).status,
    ).toBe(200);
    const active = await h.arm(USER.isaiah, 'GET', `${AUTH}/roleAssignmentScheduleInstances?$filter=asTarget()&${API}`);
    expect(active.status).toBe(200);
    expect(active.body.value).toHaveLength(1);
    expect(active.body.value[0].properties).toMatchObject({
      scope: AZURE.subscription,
      principalId: USER.isaiah,
      principalType: 'User',
      status: 'Provisioned',
      assignmentType: 'Activated',
      memberType: 'Direct',
      expandedProperties: { roleDefinition: { displayName: 'Contributor' }, scope: { displayName: 'Contoso Production', type: 'subscription' } },
    });
    expect((await h.arm(USER.adele, 'GET', `${AUTH}/roleAssignmentScheduleInstances?$filter=asTarget()&${API}`)).body.value).toEqual([]);
  });
});

describe('simulated PIM self-service: cancelling a pending request', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it('lets the principal cancel a pending role request; others are refused; the approval closes', async () => {
    const filed = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.lynne, ROLE.userAdministrator));
    expect(filed.status).toBe(201);
    const id = filed.body.id as string;
    const byApprover = await h.graph(USER.adele, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${id}/cancel`);
    expect(byApprover.status).toBe(403);
    expect(byApprover.body.error.message).toMatch(/principal/);

    const ok = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${id}/cancel`);
    expect(ok).toEqual({ status: 204, body: undefined });
    const got = await h.graph(USER.lynne, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/${id}`);
    expect(got.body.status).toBe('Canceled');
    expect(got.body.completedDateTime).toEqual(expect.any(String));
    const step = (await h.graph(USER.adele, 'GET', `/beta${RD}/roleAssignmentApprovals/${id}`)).body.steps[0];
    expect(step).toMatchObject({ status: 'Completed', reviewResult: 'NotReviewed', reviewedBy: null });
    const late = await h.graph(USER.adele, 'PATCH', `/beta${RD}/roleAssignmentApprovals/${id}/steps/${step.id}`, {
      reviewResult: 'Approve',
      justification: 'ok',
    });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toMatch(/canceled/);

    const again = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${id}/cancel`);
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('RequestCannotBeCancelled');
    expect((await control(sim, 'GET', `/_sim/requests/${id}`)).body).toMatchObject({ status: 'Canceled', action: 'selfActivate' });
    // Cancelled, the role can be requested again.
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.lynne, ROLE.userAdministrator))).status).toBe(201);
  });

  it('refuses to cancel a request already decided, an unknown one, or with an app token', async () => {
    const filed = await h.graph(USER.isaiah, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.isaiah, ROLE.helpdeskAdministrator));
    expect(filed.status).toBe(201);
    expect(
      (await control(sim, 'POST', '/_sim/decide', { requestId: filed.body.id, approver: USER.alex, reviewResult: 'Deny', justification: 'no' })).status,
    ).toBe(200);
    const denied = await h.graph(USER.isaiah, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${filed.body.id}/cancel`);
    expect(denied.status).toBe(400);
    expect(denied.body.error).toMatchObject({ code: 'RequestCannotBeCancelled', message: expect.stringMatching(/not in cancellable state.*Denied/) });
    expect((await h.graph(USER.isaiah, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/00000000-0000-4000-8000-000000000000/cancel`)).status).toBe(404);
    const app = await fetch(`${sim.url}/v1.0${RD}/roleAssignmentScheduleRequests/${filed.body.id}/cancel`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await sim.issueToken({ aud: 'https://graph.microsoft.com', idtyp: 'app', roles: ['RoleManagement.ReadWrite.Directory'], oid: 'app' })}`,
      },
    });
    expect(app.status).toBe(403);
  });

  it('cancels a pending group request for its principal only', async () => {
    const filed = await h.graph(USER.lynne, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, {
      action: 'selfActivate',
      principalId: USER.lynne,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'Index rebuild',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    });
    expect(filed.status).toBe(201);
    expect((await h.graph(USER.megan, 'POST', `/v1.0${PG}/assignmentScheduleRequests/${filed.body.id}/cancel`)).status).toBe(403);
    // A role request's cancel does not reach a group request.
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${filed.body.id}/cancel`)).status).toBe(404);
    expect((await h.graph(USER.lynne, 'POST', `/beta${PG}/assignmentScheduleRequests/${filed.body.id}/cancel`)).status).toBe(204);
    const mine = await h.graph(USER.lynne, 'GET', `/v1.0${PG}/assignmentScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(mine.body.value).toEqual([expect.objectContaining({ id: filed.body.id, status: 'Canceled' })]);
    const again = await h.graph(USER.lynne, 'POST', `/v1.0${PG}/assignmentScheduleRequests/${filed.body.id}/cancel`);
    expect(again.body.error.code).toBe('RequestCannotBeCancelled');
  });

  it('cancels a pending Azure request over ARM with 200 and no body', async () => {
    const name = '7d0c3a52-5c5f-4b8e-9d0a-000000000002';
    const path = `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/${name}`;
    expect((await h.arm(USER.isaiah, 'PUT', `${path}?${API}`, h.armActivation(USER.isaiah))).status).toBe(201);
    const other = await h.arm(USER.adele, 'POST', `${path}/cancel?${API}`);
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('AuthorizationFailed');
    expect(await h.arm(USER.isaiah, 'POST', `${path}/cancel?${API}`)).toEqual({ status: 200, body: undefined });
    expect((await h.arm(USER.isaiah, 'GET', `${path}?${API}`)).body.properties.status).toBe('Canceled');
    const again = await h.arm(USER.isaiah, 'POST', `${path}/cancel?${API}`);
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('RequestCannotBeCancelled');
    expect((await h.arm(USER.isaiah, 'POST', `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/nope/cancel?${API}`)).status).toBe(404);
  });
});

describe('simulated PIM self-service: selfExtend within 14 days of the end', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it('files an extension of an eligibility ending in 9 days as PendingAdminDecision, once', async () => {
    const r = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.alex, ROLE.securityOperator));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      status: 'PendingAdminDecision',
      action: 'selfExtend',
      principalId: USER.alex,
      roleDefinitionId: ROLE.securityOperator,
      approvalId: null,
      completedDateTime: null,
    });
    expect(r.body.scheduleInfo.expiration).toEqual({ type: 'afterDuration', duration: 'P90D' });
    const mine = await h.graph(USER.alex, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(mine.body.value).toEqual([expect.objectContaining({ id: r.body.id, status: 'PendingAdminDecision', action: 'selfExtend' })]);
    expect((await control(sim, 'GET', `/_sim/requests/${r.body.id}`)).body).toMatchObject({
      status: 'PendingAdminDecision',
      action: 'selfExtend',
      approval: null,
    });

    const second = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.alex, ROLE.securityOperator));
    expect(second.status).toBe(400);
    expect(second.body.error.code).toBe('PendingRoleAssignmentRequest');
    // A pending extension does not block activating the role meanwhile.
    expect((await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.alex, ROLE.securityOperator))).body.status).toBe(
      'PendingApproval',
    );

    expect((await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests/${r.body.id}/cancel`)).status).toBe(204);
    expect((await control(sim, 'GET', `/_sim/requests/${r.body.id}`)).body.status).toBe('Canceled');
  });

  it('refuses a permanent eligibility, one ending in 40 days, and a user who is not eligible', async () => {
    const permanent = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.alex, ROLE.globalAdministrator));
    expect(permanent.status).toBe(400);
    expect(permanent.body.error.code).toBe('RoleAssignmentRequestPolicyValidationFailed');
    expect(permanent.body.error.message).toMatch(/does not expire within the next 14 days/);
    const later = await h.graph(USER.patti, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.patti, ROLE.userAdministrator));
    expect(later.status).toBe(400);
    expect(later.body.error.message).toMatch(new RegExp(`ends ${h.endsIn(40).replace(/\./g, '\\.')}: it does not expire within the next 14 days`));
    const notEligible = await h.graph(USER.megan, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.megan, ROLE.userAdministrator));
    expect(notEligible.status).toBe(400);
    expect(notEligible.body.error).toMatchObject({
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: 'The following policy rules failed: ["EligibilityRule"]',
    });
    const other = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.lynne, ROLE.helpdeskAdministrator));
    expect(other.status).toBe(400);
  });

  it('also files it where Graph documents eligibility extensions, roleEligibilityScheduleRequests', async () => {
    const r = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleEligibilityScheduleRequests`, h.extension(USER.lynne, ROLE.helpdeskAdministrator));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'PendingAdminDecision', action: 'selfExtend' });
    expect(r.body['@odata.context']).toMatch(/roleEligibilityScheduleRequests\/\$entity$/);
    const mine = await h.graph(USER.lynne, 'GET', `/v1.0${RD}/roleEligibilityScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(mine.body.value.map((x: any) => x.id)).toEqual([r.body.id]);
    const assignmentRequests = await h.graph(USER.lynne, 'GET', `/v1.0${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')`);
    expect(assignmentRequests.body.value.map((x: any) => x.id)).not.toContain(r.body.id);
    // The same pending-extension rule across both collections.
    expect(
      (await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.lynne, ROLE.helpdeskAdministrator))).body.error.code,
    ).toBe('PendingRoleAssignmentRequest');
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleEligibilityScheduleRequests/${r.body.id}/cancel`)).status).toBe(204);
  });

  it('says PIM for Groups has no selfExtend', async () => {
    const r = await h.graph(USER.isaiah, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, {
      action: 'selfExtend',
      principalId: USER.isaiah,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'more time',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/selfExtend' is not supported for PIM for Groups/);
  });

  it('files a SelfExtend over ARM inside the window and refuses a permanent eligibility', async () => {
    const body = (user: string) => ({
      properties: {
        principalId: user,
        roleDefinitionId: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`,
        requestType: 'SelfExtend',
        justification: 'Project runs another quarter',
        scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'AfterDuration', duration: 'P90D' } },
      },
    });
    const ok = await h.arm(
      USER.isaiah,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000010?${API}`,
      body(USER.isaiah),
    );
    expect(ok.status).toBe(201);
    expect(ok.body.properties).toMatchObject({ requestType: 'SelfExtend', status: 'PendingAdminDecision', approvalId: null, principalId: USER.isaiah });
    const viaEligibility = await h.arm(
      USER.isaiah,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleEligibilityScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000011?${API}`,
      body(USER.isaiah),
    );
    expect(viaEligibility.status).toBe(400);
    expect(viaEligibility.body.error.code).toBe('PendingRoleAssignmentRequest');
    expect(
      (await h.arm(USER.isaiah, 'POST', `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000010/cancel?${API}`))
        .status,
    ).toBe(200);
    const again = await h.arm(
      USER.isaiah,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleEligibilityScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000012?${API}`,
      body(USER.isaiah),
    );
    expect(again.status).toBe(201);
    expect(again.body.type).toBe('Microsoft.Authorization/RoleEligibilityScheduleRequests');
    expect(again.body.properties.status).toBe('PendingAdminDecision');

    const permanent = await h.arm(
      USER.adele,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000013?${API}`,
      body(USER.adele),
    );
    expect(permanent.status).toBe(400);
    expect(permanent.body.error).toMatchObject({
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: expect.stringMatching(/does not expire within the next 14 days/),
    });
  });

  it('opens the window as the clock nears the end, and drops an eligibility once it ends', async () => {
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 27 * 24 * 60 });
    // Patti's User Administrator eligibility now ends in 13 days.
    const patti = await h.graph(USER.patti, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.extension(USER.patti, ROLE.userAdministrator));
    expect(patti.status).toBe(201);
    expect(patti.body.status).toBe('PendingAdminDecision');
    // Alex's Security Operator eligibility (9 days) has ended: not listed, cannot be activated or extended.
    const listed = await h.graph(USER.alex, 'GET', `/v1.0${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(listed.body.value.map((i: any) => i.roleDefinitionId)).not.toContain(ROLE.securityOperator);
    const activate = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.alex, ROLE.securityOperator));
    expect(activate.status).toBe(400);
    expect(activate.body.error.message).toBe('The following policy rules failed: ["EligibilityRule"]');
  });
});

describe('simulated PIM self-service: sign-in strength, MFA and authentication context', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it('issues tokens whose amr and acrs follow the session set by /_sim/signin', async () => {
    const weak = await control(sim, 'POST', '/_sim/signin', { user: 'isaiahl@contoso.example', mfa: false });
    expect(weak).toEqual({ status: 200, body: { user: USER.isaiah, signedIn: true, mfa: false, acrs: [] } });
    const sso = decodeJwt(await h.ssoToken(USER.isaiah));
    expect(sso.amr).toEqual(['pwd']);
    expect(sso.acrs).toBeUndefined();
    expect(decodeJwt(await h.tokenFor(USER.isaiah)).amr).toEqual(['pwd']);

    expect((await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah, acrs: ['c1'] })).body).toMatchObject({ mfa: true, acrs: ['c1'] });
    const strong = decodeJwt(await h.ssoToken('user-id-3'));
    expect(strong).toMatchObject({ amr: ['pwd', 'mfa'], acrs: ['c1'] });
    expect(decodeJwt(await h.tokenFor(USER.isaiah))).toMatchObject({ amr: ['pwd', 'mfa'], acrs: ['c1'] });
    const aad = await fetch(`${sim.url}/api/usertoken/GetAadTokens?userId=user-id-3&connectionName=sso&channelId=msteams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ resourceUrls: ['https://management.azure.com'] }),
    });
    expect(decodeJwt(((await aad.json()) as any)['https://management.azure.com'].token)).toMatchObject({ amr: ['pwd', 'mfa'], acrs: ['c1'] });

    expect((await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah, acrs: 'c1' })).status).toBe(400);
    expect((await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah, mfa: 'yes' })).status).toBe(400);
    expect((await control(sim, 'POST', '/_sim/signout', { user: USER.isaiah })).body).toEqual({ user: USER.isaiah, signedIn: false });
    expect((await fetch(`${sim.url}/api/usertoken/GetToken?userId=user-id-3&connectionName=sso&channelId=msteams`)).status).toBe(404);
    // Back to the default strength.
    await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah });
    expect(decodeJwt(await h.ssoToken(USER.isaiah)).amr).toEqual(['pwd', 'mfa']);
  });

  it('takes the session strength from the SSO token Teams exchanges', async () => {
    const sso = await sim.issueUserAssertion(USER.megan, { amr: ['pwd'] });
    const res = await fetch(`${sim.url}/api/usertoken/exchange?userId=user-id-1&connectionName=sso&channelId=msteams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: sso }),
    });
    expect(res.status).toBe(200);
    expect(decodeJwt(((await res.json()) as any).token).amr).toEqual(['pwd']);
    expect(sim.state.session(USER.megan)).toEqual({ mfa: false, acrs: [] });
  });

  it('fails MfaRule for a self-activation with a token from a sign-in without MFA, and passes after MFA', async () => {
    await control(sim, 'POST', '/_sim/signin', { user: USER.alex, mfa: false });
    const body = h.activation(USER.alex, ROLE.globalAdministrator);
    const weak = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, body);
    expect(weak.status).toBe(400);
    expect(weak.body.error).toMatchObject({ code: 'RoleAssignmentRequestPolicyValidationFailed', message: 'The following policy rules failed: ["MfaRule"]' });
    await control(sim, 'POST', '/_sim/signin', { user: USER.alex, mfa: true });
    const strong = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, body);
    expect(strong.status).toBe(201);
    expect(strong.body.status).toBe('PendingApproval');
  });

  it("answers the authentication context with PIM's claims challenge, OBO steps up, and the activation passes", async () => {
    await control(sim, 'POST', '/_sim/signin', { user: USER.alex });
    const body = h.activation(USER.alex, ROLE.exchangeAdministrator);
    const first = await h.graph(USER.alex, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, body);
    expect(first.status).toBe(400);
    expect(first.body.error.code).toBe('RoleAssignmentRequestAcrsValidationFailed');
    expect(first.body.error.message).toMatch(/authentication context 'c1'/);
    expect(first.body.error.message).toContain('&claims=%7B%22access_token%22%3A%7B%22acrs%22%3A%7B%22essential%22%3Atrue%2C%22value%22%3A%22c1%22%7D%7D%7D');
    const claims = decodeURIComponent(/&claims=(\S+)/.exec(first.body.error.message)![1]!);
    expect(JSON.parse(claims)).toEqual(JSON.parse(C1_CLAIMS));

    // OBO with the claims while the sign-in lacks c1: Entra asks for interaction and hands the claims back.
    const unsatisfied = await h.oboRaw(await h.ssoToken(USER.alex), GRAPH_SCOPE, claims);
    expect(unsatisfied.status).toBe(400);
    expect(unsatisfied.body).toMatchObject({ error: 'interaction_required', error_codes: [50076], claims });
    expect(unsatisfied.body.error_description).toMatch(/^AADSTS50076: /);
    expect(unsatisfied.body.access_token).toBeUndefined();
    // Through MSAL, as the bot would call it.
    await expect(oboCredential(sim, await h.ssoToken(USER.alex)).getToken(GRAPH_SCOPE, { claims })).rejects.toThrow(/AADSTS50076|interaction_required/);

    // The user steps up (the sign-in now satisfies c1); OBO with the same claims succeeds.
    await control(sim, 'POST', '/_sim/signin', { user: USER.alex, acrs: ['c1'] });
    const token = await oboCredential(sim, await h.ssoToken(USER.alex)).getToken(GRAPH_SCOPE, { claims });
    expect(decodeJwt(token.token)).toMatchObject({ oid: USER.alex, acrs: ['c1'], amr: ['pwd', 'mfa'] });
    const second = await h.call(token.token, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, body);
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ status: 'Provisioned', roleDefinitionId: ROLE.exchangeAdministrator });
  });

  it('accepts claims naming several contexts when the sign-in has one, and refuses claims that are not JSON', async () => {
    await control(sim, 'POST', '/_sim/signin', { user: USER.lynne, acrs: ['c1'] });
    const assertion = await h.ssoToken(USER.lynne);
    const any = await h.oboRaw(assertion, GRAPH_SCOPE, '{"access_token":{"acrs":{"essential":true,"values":["c2","c1"]}}}');
    expect(any.status).toBe(200);
    expect(decodeJwt(any.body.access_token).acrs).toEqual(['c1']);
    const none = await h.oboRaw(assertion, GRAPH_SCOPE, '{"access_token":{"acrs":{"essential":true,"values":["c3"]}}}');
    expect(none.body.error).toBe('interaction_required');
    // Claims without acrs (client capabilities) ask for nothing to step up to.
    expect((await h.oboRaw(assertion, GRAPH_SCOPE, '{"access_token":{"xms_cc":{"values":["cp1"]}}}')).status).toBe(200);
    const bad = await h.oboRaw(assertion, GRAPH_SCOPE, 'not json');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
  });
});

describe('simulated PIM self-service: MFA for groups and Azure resources follows the token', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeAll(async () => {
    const seed: SeedTenant = structuredClone(seedTenant);
    seed.pimGroups![0]!.policy.enabledRules = ['MultiFactorAuthentication', 'Justification'];
    seed.azureRoles![0]!.policy.enabledRules = ['MultiFactorAuthentication', 'Justification'];
    sim = await startTestSim({ seed });
  });
  afterAll(() => sim.close());

  it('fails MfaRule for a group self-activation without MFA', async () => {
    await control(sim, 'POST', '/_sim/signin', { user: USER.lynne, mfa: false });
    const body = {
      action: 'selfActivate',
      principalId: USER.lynne,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'Index rebuild',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    };
    const weak = await h.graph(USER.lynne, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, body);
    expect(weak.status).toBe(400);
    expect(weak.body.error.message).toBe('The following policy rules failed: ["MfaRule"]');
    await control(sim, 'POST', '/_sim/signin', { user: USER.lynne });
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, body)).status).toBe(201);
  });

  it('fails MfaRule for an ARM SelfActivate without MFA', async () => {
    await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah, mfa: false });
    const path = `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000020?${API}`;
    const weak = await h.arm(USER.isaiah, 'PUT', path, h.armActivation(USER.isaiah));
    expect(weak.status).toBe(400);
    expect(weak.body.error).toEqual({ code: 'RoleAssignmentRequestPolicyValidationFailed', message: 'The following policy rules failed: ["MfaRule"]' });
    await control(sim, 'POST', '/_sim/signin', { user: USER.isaiah });
    const strong = await h.arm(USER.isaiah, 'PUT', path, h.armActivation(USER.isaiah));
    expect(strong.status).toBe(201);
    expect(strong.body.properties.status).toBe('PendingApproval');
  });
});

describe('simulated PIM self-service: ending a running activation early (selfDeactivate)', () => {
  let sim: SimHandle;
  const h = helpers(() => sim);
  beforeEach(async () => {
    sim = await startTestSim();
  });
  afterEach(() => sim.close());

  const activeRoles = async (user: string) =>
    (await h.graph(user, 'GET', `/v1.0${RD}/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')`)).body.value as any[];
  const deactivation = (user: string, roleDefinitionId: string) => ({ action: 'selfDeactivate', principalId: user, roleDefinitionId, directoryScopeId: '/' });

  it('refuses within five minutes of the start (ActiveDurationTooShort), then revokes it at once; a second time there is nothing to end', async () => {
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.lynne, ROLE.reportsReader))).status).toBe(201);
    const early = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, deactivation(USER.lynne, ROLE.reportsReader));
    expect(early).toMatchObject({ status: 400, body: { error: { code: 'ActiveDurationTooShort' } } });
    expect(await activeRoles(USER.lynne)).toHaveLength(1);

    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 6 });
    const ended = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, deactivation(USER.lynne, ROLE.reportsReader));
    expect(ended.status).toBe(201);
    expect(ended.body).toMatchObject({ action: 'selfDeactivate', status: 'Revoked', principalId: USER.lynne, roleDefinitionId: ROLE.reportsReader });
    expect(await activeRoles(USER.lynne)).toEqual([]);
    const again = await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, deactivation(USER.lynne, ROLE.reportsReader));
    expect(again).toMatchObject({ status: 400, body: { error: { code: 'RoleAssignmentDoesNotExist' } } });
  });

  it("refuses someone else's activation and an app token", async () => {
    expect((await h.graph(USER.lynne, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, h.activation(USER.lynne, ROLE.reportsReader))).status).toBe(201);
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 6 });
    const other = await h.graph(USER.patti, 'POST', `/v1.0${RD}/roleAssignmentScheduleRequests`, deactivation(USER.lynne, ROLE.reportsReader));
    expect(other.status).toBe(400);
    expect(await activeRoles(USER.lynne)).toHaveLength(1);
  });

  it('ends a group membership activation and an Azure role activation (ARM SelfDeactivate)', async () => {
    const filed = await h.graph(USER.isaiah, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, {
      action: 'selfActivate',
      principalId: USER.isaiah,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'Restore the payroll DB',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT2H' } },
    });
    await control(sim, 'POST', '/_sim/decide', { requestId: filed.body.id, approver: USER.megan, reviewResult: 'Approve', justification: 'ok' });
    const put = await h.arm(
      USER.isaiah,
      'PUT',
      `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000011?${API}`,
      h.armActivation(USER.isaiah),
    );
    const azureId = (await control(sim, 'GET', '/_sim/requests')).body.value.find((r: any) => r.kind === 'azureResource').id;
    expect(put.status).toBe(201);
    await control(sim, 'POST', '/_sim/decide', { requestId: azureId, approver: USER.megan, reviewResult: 'Approve', justification: 'ok' });
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 6 });

    const group = await h.graph(USER.isaiah, 'POST', `/v1.0${PG}/assignmentScheduleRequests`, {
      action: 'selfDeactivate',
      principalId: USER.isaiah,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
    });
    expect(group.status).toBe(201);
    expect(group.body).toMatchObject({ action: 'selfDeactivate', status: 'Revoked', groupId: GROUP.sqlAdmins, accessId: 'member' });
    expect((await h.graph(USER.isaiah, 'GET', `/v1.0${PG}/assignmentScheduleInstances/filterByCurrentUser(on='principal')`)).body.value).toEqual([]);

    const azure = await h.arm(USER.isaiah, 'PUT', `${AZURE.subscription}${AUTH}/roleAssignmentScheduleRequests/7d0c3a52-5c5f-4b8e-9d0a-000000000012?${API}`, {
      properties: {
        principalId: USER.isaiah,
        roleDefinitionId: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`,
        requestType: 'SelfDeactivate',
      },
    });
    expect(azure.status).toBe(201);
    expect(azure.body.properties).toMatchObject({ requestType: 'SelfDeactivate', status: 'Revoked' });
    expect((await h.arm(USER.isaiah, 'GET', `${AUTH}/roleAssignmentScheduleInstances?$filter=asTarget()&${API}`)).body.value).toEqual([]);
  });
});
