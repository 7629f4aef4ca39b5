import type { SimHandle } from './server';
import { DEMO_BOT_APP, GROUP, ROLE, USER } from './seed';
import { GRAPH_SCOPE, botAppCredential, control, graphClientWithToken, startTestSim } from './test-support';

describe('simulated Microsoft Graph: directory reads', () => {
  let sim: SimHandle;
  let appToken: () => Promise<string>;
  beforeAll(async () => {
    sim = await startTestSim();
    const cred = botAppCredential(sim);
    appToken = async () => (await cred.getToken(GRAPH_SCOPE)).token;
  });
  afterAll(() => sim.close());
  afterEach(async () => {
    await control(sim, 'DELETE', '/_sim/faults');
  });

  it('reads a user by id and by UPN, with $select and the OData context', async () => {
    const graph = graphClientWithToken(sim, appToken);
    const byId = await graph.api(`/users/${USER.megan}`).get();
    expect(byId).toMatchObject({
      id: USER.megan,
      displayName: 'Megan Bowen',
      userPrincipalName: 'meganb@contoso.example',
      department: 'Security Operations',
      accountEnabled: true,
    });
    expect(byId['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#users/$entity`);
    const byUpn = await graph.api('/users/meganb@contoso.example').select(['id', 'jobTitle']).get();
    expect(byUpn).toEqual({ '@odata.context': expect.any(String), id: USER.megan, jobTitle: 'Security Lead' });
  });

  it('filters users by userPrincipalName', async () => {
    const graph = graphClientWithToken(sim, appToken);
    const res = await graph.api('/users').filter("userPrincipalName eq 'adelev@contoso.example'").get();
    expect(res.value).toHaveLength(1);
    expect(res.value[0].id).toBe(USER.adele);
  });

  it('answers 404 with a Graph error envelope and request-id header for an unknown user', async () => {
    const res = await fetch(`${sim.url}/v1.0/users/nobody@contoso.example`, {
      headers: { Authorization: `Bearer ${await appToken()}`, 'client-request-id': 'abc-123' },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe('Request_ResourceNotFound');
    expect(body.error.innerError).toMatchObject({ 'request-id': res.headers.get('request-id'), 'client-request-id': 'abc-123' });
    expect(body.error.innerError.date).toEqual(expect.any(String));
  });

  it('pages group transitive members with @odata.nextLink', async () => {
    const graph = graphClientWithToken(sim, appToken);
    const first = await graph.api(`/groups/${GROUP.secOpsApprovers}/transitiveMembers/microsoft.graph.user`).top(1).get();
    expect(first.value).toHaveLength(1);
    expect(first['@odata.nextLink']).toMatch(/\$skiptoken=/);
    const second = await graph.api(first['@odata.nextLink']).get();
    expect(second.value).toHaveLength(1);
    expect(second['@odata.nextLink']).toBeUndefined();
    expect([first.value[0].id, second.value[0].id].sort()).toEqual([USER.megan, USER.patti].sort());
  });

  it('lists role definitions and reads one', async () => {
    const graph = graphClientWithToken(sim, appToken);
    const list = await graph.api('/roleManagement/directory/roleDefinitions').get();
    expect(list.value.map((r: any) => r.displayName)).toEqual(expect.arrayContaining(['Global Administrator', 'Security Operator']));
    const one = await graph.api(`/roleManagement/directory/roleDefinitions/${ROLE.securityOperator}`).get();
    expect(one).toMatchObject({
      id: ROLE.securityOperator,
      templateId: ROLE.securityOperator,
      isBuiltIn: true,
      isEnabled: true,
      displayName: 'Security Operator',
    });
  });

  it('returns the role policy with rules in Graph shapes', async () => {
    const graph = graphClientWithToken(sim, appToken);
    const res = await graph
      .api('/policies/roleManagementPolicyAssignments')
      .filter(`scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${ROLE.securityOperator}'`)
      .expand('policy($expand=rules)')
      .get();
    expect(res.value).toHaveLength(1);
    const rules = res.value[0].policy.rules as any[];
    const approval = rules.find((r) => r.id === 'Approval_EndUser_Assignment');
    expect(approval['@odata.type']).toBe('#microsoft.graph.unifiedRoleManagementPolicyApprovalRule');
    expect(approval.target).toMatchObject({ caller: 'EndUser', operations: ['All'], level: 'Assignment' });
    expect(approval.setting).toMatchObject({ '@odata.type': '#microsoft.graph.approvalSettings', isApprovalRequired: true, approvalMode: 'SingleStage' });
    const stage = approval.setting.approvalStages[0];
    expect(stage).toMatchObject({
      approvalStageTimeOutInDays: 1,
      isApproverJustificationRequired: true,
      escalationTimeInMinutes: 0,
      isEscalationEnabled: false,
      escalationApprovers: [],
    });
    expect(stage.primaryApprovers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ '@odata.type': '#microsoft.graph.groupMembers', groupId: GROUP.secOpsApprovers }),
        expect.objectContaining({ '@odata.type': '#microsoft.graph.singleUser', userId: USER.alex }),
      ]),
    );
    expect(rules.find((r) => r.id === 'Enablement_EndUser_Assignment').enabledRules).toEqual(['Justification', 'Ticketing']);
    expect(rules.find((r) => r.id === 'Expiration_EndUser_Assignment')).toMatchObject({ isExpirationRequired: true, maximumDuration: 'PT4H' });
  });

  it('refuses missing, forged, expired and wrong-audience tokens with 401 InvalidAuthenticationToken', async () => {
    const url = `${sim.url}/v1.0/users/${USER.megan}`;
    const call = async (token?: string) => {
      const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      return { status: res.status, code: ((await res.json()) as any).error?.code };
    };
    const claims = { aud: 'https://graph.microsoft.com', idtyp: 'app', roles: ['User.Read.All'], appid: DEMO_BOT_APP.clientId, azp: DEMO_BOT_APP.clientId };
    expect(await call()).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(await call(await sim.issueToken(claims, { signWith: 'foreign' }))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(await call(await sim.issueToken(claims, { expiresInSeconds: -3600 }))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(await call(await sim.issueToken({ ...claims, aud: 'api://other' }))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(await call(await sim.issueToken({ ...claims, roles: [] }))).toEqual({ status: 401, code: 'InvalidAuthenticationToken' });
    expect((await call(await sim.issueToken(claims))).status).toBe(200);
  });

  it('injects a 429 with Retry-After and a TooManyRequests body, then recovers', async () => {
    const f = await control(sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: '^/v1\\.0/users/', status: 429, retryAfterSeconds: 2, times: 1 });
    expect(f.status).toBe(201);
    expect(f.body.id).toEqual(expect.any(String));
    const token = await appToken();
    const res = await fetch(`${sim.url}/v1.0/users/${USER.megan}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as any).error.code).toBe('TooManyRequests');
    const again = await fetch(`${sim.url}/v1.0/users/${USER.megan}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
  });

  it('lets the Graph SDK retry a throttled call after Retry-After', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `/users/${USER.adele}$`, status: 429, retryAfterSeconds: 1, times: 1 });
    const graph = graphClientWithToken(sim, appToken);
    const started = Date.now();
    const u = await graph.api(`/users/${USER.adele}`).get();
    expect(u.id).toBe(USER.adele);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const calls = (await control(sim, 'GET', '/_sim/calls')).body.value.filter((c: any) => c.path === `/v1.0/users/${USER.adele}`);
    expect(calls.map((c: any) => c.status)).toEqual([429, 200]);
    expect(calls[1].appid).toBe(DEMO_BOT_APP.clientId);
  });

  it('delays calls with injected latency', async () => {
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '/roleDefinitions$', latencyMs: 400, times: 1 });
    const graph = graphClientWithToken(sim, appToken);
    const started = Date.now();
    await graph.api('/roleManagement/directory/roleDefinitions').get();
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });
});
