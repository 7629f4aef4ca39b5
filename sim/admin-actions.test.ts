import type { SimHandle } from './server';
import { AZURE, GROUP, ROLE, USER } from './seed';
import { delegatedGraphToken, startTestSim } from './test-support';

/**
 * An administrator's answer to an extension or renewal ask: adminExtend / adminRenew of someone's eligible
 * assignment, as the administrator (delegated), applied at once; refused for anyone PIM does not let manage it.
 */
const RD = '/roleManagement/directory';
const PG = '/identityGovernance/privilegedAccess/group';
const AUTH = '/providers/Microsoft.Authorization';
const DAY = 24 * 3600 * 1000;

describe('simulated PIM: adminExtend and adminRenew', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  const endsIn = (days: number) => new Date(sim.state.startedAt.getTime() + days * DAY).toISOString();
  const call = async (user: string, method: string, path: string, body?: unknown, scope?: string) => {
    const token = scope ? await armToken(user) : await delegatedGraphToken(sim, user);
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const armToken = async (user: string) => {
    const sso = await fetch(`${sim.url}/api/usertoken/GetToken?userId=${encodeURIComponent(user)}&connectionName=sso&channelId=msteams`).then(
      (r) => r.json() as Promise<{ token: string }>,
    );
    const { DEMO_BOT_APP } = await import('./seed');
    const form = new URLSearchParams({
      client_id: DEMO_BOT_APP.clientId,
      client_secret: DEMO_BOT_APP.clientSecret,
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      requested_token_use: 'on_behalf_of',
      assertion: sso.token,
      scope: 'https://management.azure.com/.default',
    });
    const res = await fetch(`${sim.url}/${sim.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const roleExtension = (action: string, principalId: string, roleDefinitionId: string, endDateTime: string) => ({
    action,
    principalId,
    roleDefinitionId,
    directoryScopeId: '/',
    justification: 'Still on the incident rota for Q1',
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDateTime', endDateTime } },
  });
  const eligibleEnd = async (user: string, roleDefinitionId: string) => {
    const token = await delegatedGraphToken(sim, user);
    const res = await fetch(`${sim.url}/v1.0${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { value: Array<{ roleDefinitionId: string; endDateTime: string | null }> };
    return body.value.find((v) => v.roleDefinitionId === roleDefinitionId)?.endDateTime;
  };

  it("lets a Global Administrator extend someone's eligible role, at once and as themselves", async () => {
    expect(await eligibleEnd(USER.alex, ROLE.securityOperator)).toBe(endsIn(9));
    const newEnd = endsIn(100);
    const r = await call(
      USER.adele,
      'POST',
      `/v1.0${RD}/roleEligibilityScheduleRequests`,
      roleExtension('adminExtend', USER.alex, ROLE.securityOperator, newEnd),
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ action: 'adminExtend', status: 'Provisioned', principalId: USER.alex, createdBy: { user: { id: USER.adele } } });
    expect(await eligibleEnd(USER.alex, ROLE.securityOperator)).toBe(newEnd);
    // The same end again is no extension.
    const again = await call(
      USER.adele,
      'POST',
      `/v1.0${RD}/roleEligibilityScheduleRequests`,
      roleExtension('adminExtend', USER.alex, ROLE.securityOperator, newEnd),
    );
    expect(again.status).toBe(400);
    expect(again.body.error.message).toMatch(/ExpirationRule/);
  });

  it('refuses anyone PIM does not let manage the role, the requester included, and changes nothing', async () => {
    const before = await eligibleEnd(USER.lynne, ROLE.helpdeskAdministrator);
    for (const who of [USER.megan, USER.lynne]) {
      const r = await call(
        who,
        'POST',
        `/v1.0${RD}/roleEligibilityScheduleRequests`,
        roleExtension('adminExtend', USER.lynne, ROLE.helpdeskAdministrator, endsIn(60)),
      );
      expect(r.status).toBe(403);
      expect(r.body.error.message).toMatch(/Privileged Role Administrators and Global Administrators/);
    }
    expect(await eligibleEnd(USER.lynne, ROLE.helpdeskAdministrator)).toBe(before);
  });

  it('renews only an assignment that has ended, and extends only one that has not', async () => {
    const renewLive = await call(
      USER.diego,
      'POST',
      `/v1.0${RD}/roleEligibilityScheduleRequests`,
      roleExtension('adminRenew', USER.lynne, ROLE.helpdeskAdministrator, endsIn(60)),
    );
    expect(renewLive.status).toBe(400);
    expect(renewLive.body.error.message).toMatch(/has not ended/);
    const extendEnded = await call(
      USER.diego,
      'POST',
      `/v1.0${RD}/roleEligibilityScheduleRequests`,
      roleExtension('adminExtend', USER.patti, ROLE.exchangeAdministrator, endsIn(60)),
    );
    expect(extendEnded.status).toBe(400);
    expect(extendEnded.body.error.message).toMatch(/renewed \(adminRenew\), not extended/);
    expect(await eligibleEnd(USER.patti, ROLE.exchangeAdministrator)).toBeUndefined();
    const renewed = await call(
      USER.diego,
      'POST',
      `/v1.0${RD}/roleEligibilityScheduleRequests`,
      roleExtension('adminRenew', USER.patti, ROLE.exchangeAdministrator, endsIn(60)),
    );
    expect(renewed.status).toBe(201);
    expect(renewed.body).toMatchObject({ action: 'adminRenew', status: 'Provisioned' });
    expect(await eligibleEnd(USER.patti, ROLE.exchangeAdministrator)).toBe(endsIn(60));
  });

  it('refuses a renewal more than 30 days after the end', async () => {
    const role = sim.state.seed.roles.find((r) => r.id === ROLE.exchangeAdministrator)!;
    const saved = role.eligibilityEnds;
    role.eligibilityEnds = [{ userId: USER.isaiah, daysFromNow: -31 }];
    try {
      const r = await call(
        USER.adele,
        'POST',
        `/v1.0${RD}/roleEligibilityScheduleRequests`,
        roleExtension('adminRenew', USER.isaiah, ROLE.exchangeAdministrator, endsIn(60)),
      );
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('RoleAssignmentDoesNotExist');
      expect(r.body.error.message).toMatch(/more than 30 days ago/);
    } finally {
      role.eligibilityEnds = saved;
    }
  });

  it("lets a group's owner extend a membership, and refuses a member who is not an owner", async () => {
    const body = (endDateTime: string) => ({
      action: 'adminExtend',
      principalId: USER.alex,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'Migration runs to March',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDateTime', endDateTime } },
    });
    const refused = await call(USER.isaiah, 'POST', `/v1.0${PG}/eligibilityScheduleRequests`, body(endsIn(80)));
    expect(refused.status).toBe(403);
    const ok = await call(USER.megan, 'POST', `/v1.0${PG}/eligibilityScheduleRequests`, body(endsIn(80)));
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ action: 'adminExtend', status: 'Provisioned', groupId: GROUP.sqlAdmins, accessId: 'member' });
    expect(sim.state.eligibilityEnd(sim.state.pimGroup(GROUP.sqlAdmins)!.pim, USER.alex, 'member')).toBe(endsIn(80));
    // Patti's expired membership keeps its own end.
    expect(sim.state.eligibilityEnd(sim.state.pimGroup(GROUP.sqlAdmins)!.pim, USER.patti, 'member')).toBe(endsIn(-5));
    const badEnd = await call(USER.megan, 'POST', `/v1.0${PG}/eligibilityScheduleRequests`, {
      ...body(endsIn(90)),
      scheduleInfo: { expiration: { type: 'afterDuration', duration: 'P30D' } },
    });
    expect(badEnd.status).toBe(400);
    expect(badEnd.body.error.message).toMatch(/afterDateTime/);
  });

  it("lets the subscription's Owner extend an Azure eligibility through ARM (AdminExtend), and nobody else", async () => {
    const path = (name: string) => `/arm${AZURE.subscription}${AUTH}/roleEligibilityScheduleRequests/${name}?api-version=2020-10-01`;
    const body = {
      properties: {
        principalId: USER.isaiah,
        roleDefinitionId: `${AZURE.subscription}${AUTH}/roleDefinitions/${AZURE.contributor}`,
        requestType: 'AdminExtend',
        justification: 'Platform migration continues',
        scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'AfterDateTime', endDateTime: endsIn(70) } },
      },
    };
    const refused = await call(USER.adele, 'PUT', path('a1'), body, 'arm');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('AuthorizationFailed');
    const ok = await call(USER.diego, 'PUT', path('a2'), body, 'arm');
    expect(ok.status).toBe(201);
    expect(ok.body.properties).toMatchObject({ requestType: 'AdminExtend', status: 'Provisioned', requestorId: USER.diego });
  });
});
