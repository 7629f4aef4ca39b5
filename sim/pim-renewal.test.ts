import { GraphSelfService } from '../services/elevation/self-service';
import type { SimHandle } from './server';
import { GROUP, ROLE, USER } from './seed';
import { control, delegatedGraphToken, graphClientWithToken, startTestSim } from './test-support';

/**
 * PIM's renewal of an expired eligibility as the simulator plays it: the schedules keep an ended eligibility
 * for 30 days, selfRenew files one request that waits for an administrator, and PIM's refusals say why.
 * The seed: Patti's Exchange Administrator eligibility ended 3 days before the simulator started, her SQL
 * Admins membership 5 days before.
 */
const RD = '/roleManagement/directory';
const PG = '/identityGovernance/privilegedAccess/group';
const DAY = 24 * 3600 * 1000;

describe('simulated PIM: renewing an expired eligibility (selfRenew)', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  const graph = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/v1.0${path}`, {
      method,
      headers: { Authorization: `Bearer ${await delegatedGraphToken(sim, user)}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const renewal = (user: string, roleDefinitionId: string) => ({
    action: 'selfRenew',
    principalId: user,
    roleDefinitionId,
    directoryScopeId: '/',
    justification: 'Back on the Exchange migration',
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'P90D' } },
  });
  const endedAt = (days: number) => new Date(sim.state.startedAt.getTime() + days * DAY).toISOString();
  const myRenewals = async (user: string) =>
    ((await graph(user, 'GET', `${RD}/roleEligibilityScheduleRequests/filterByCurrentUser(on='principal')`)).body.value as any[]).filter(
      (r) => r.action === 'selfRenew',
    );

  it('keeps an expired eligibility in the schedules (not the instances), with its end', async () => {
    const schedules = await graph(USER.patti, 'GET', `${RD}/roleEligibilitySchedules/filterByCurrentUser(on='principal')?$expand=roleDefinition`);
    expect(schedules.status).toBe(200);
    const exo = schedules.body.value.find((s: any) => s.roleDefinitionId === ROLE.exchangeAdministrator);
    expect(exo).toMatchObject({
      principalId: USER.patti,
      directoryScopeId: '/',
      status: 'Provisioned',
      scheduleInfo: { expiration: { type: 'afterDateTime', endDateTime: endedAt(-3) } },
      roleDefinition: { displayName: 'Exchange Administrator' },
    });
    const instances = await graph(USER.patti, 'GET', `${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`);
    expect(instances.body.value.map((i: any) => i.roleDefinitionId)).not.toContain(ROLE.exchangeAdministrator);

    const groups = await graph(USER.patti, 'GET', `${PG}/eligibilitySchedules/filterByCurrentUser(on='principal')?$expand=group`);
    expect(groups.status).toBe(200);
    expect(groups.body.value).toEqual([
      expect.objectContaining({
        groupId: GROUP.sqlAdmins,
        accessId: 'member',
        scheduleInfo: expect.objectContaining({ expiration: expect.objectContaining({ endDateTime: endedAt(-5) }) }),
        group: expect.objectContaining({ displayName: 'SQL Admins' }),
      }),
    ]);
    // Without a group or principal filter Graph refuses the list.
    const unscoped = await fetch(`${sim.url}/v1.0${PG}/eligibilitySchedules`, {
      headers: { Authorization: `Bearer ${await delegatedGraphToken(sim, USER.patti)}` },
    });
    expect(unscoped.status).toBe(400);
  });

  it('files one selfRenew as PendingAdminDecision; a second is refused while the first waits', async () => {
    const first = await graph(USER.patti, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.patti, ROLE.exchangeAdministrator));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      action: 'selfRenew',
      status: 'PendingAdminDecision',
      principalId: USER.patti,
      roleDefinitionId: ROLE.exchangeAdministrator,
    });
    const second = await graph(USER.patti, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.patti, ROLE.exchangeAdministrator));
    expect(second.status).toBe(400);
    expect(second.body.error).toMatchObject({ code: 'PendingRoleAssignmentRequest', message: 'There is already an existing pending Role assignment request.' });
    expect((await myRenewals(USER.patti)).map((r) => r.id)).toEqual([first.body.id]);
  });

  it('refuses a renewal of an eligibility that has not expired, of one never held, and one filed for someone else', async () => {
    // Alex's Security Operator eligibility ends in 9 days: extend it, not renew.
    const running = await graph(USER.alex, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.alex, ROLE.securityOperator));
    expect(running.status).toBe(400);
    expect(running.body.error.code).toBe('RoleAssignmentRequestPolicyValidationFailed');
    expect(running.body.error.message).toMatch(/has not expired .*ask to extend it instead/);
    // Diego never held Exchange Administrator.
    const never = await graph(USER.diego, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.diego, ROLE.exchangeAdministrator));
    expect(never.status).toBe(400);
    expect(never.body.error.message).toBe('The following policy rules failed: ["EligibilityRule"]');
    const forOther = await graph(USER.alex, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.patti, ROLE.exchangeAdministrator));
    expect(forOther.status).toBe(400);
    expect(forOther.body.error.message).toBe('For selfRenew the principalId must be the signed-in user.');
    expect(await myRenewals(USER.alex)).toEqual([]);
  });

  it('says PIM for Groups has no selfRenew', async () => {
    const r = await graph(USER.patti, 'POST', `${PG}/assignmentScheduleRequests`, {
      action: 'selfRenew',
      principalId: USER.patti,
      groupId: GROUP.sqlAdmins,
      accessId: 'member',
      justification: 'x',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/selfRenew' is not supported for PIM for Groups/);
  });

  it("through the bot's self-service client: the expired list, then renew, as the signed-in user", async () => {
    const svc = new GraphSelfService(graphClientWithToken(sim, () => delegatedGraphToken(sim, USER.patti)));
    const expired = await svc.expired(sim.state.now());
    expect(expired).toEqual([
      { kind: 'entraRole', roleDefinitionId: ROLE.exchangeAdministrator, scope: '/', displayName: 'Exchange Administrator', endedAt: endedAt(-3) },
      { kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins, displayName: 'SQL Admins (member)', endedAt: endedAt(-5) },
    ]);
    // Alex's running eligibilities are not expired ones.
    expect(await new GraphSelfService(graphClientWithToken(sim, () => delegatedGraphToken(sim, USER.alex))).expired(sim.state.now())).toEqual([]);
    // Patti already has one waiting (the test above): PIM refuses a second, the client throws PIM's code.
    await expect(svc.renew(expired[0]!, { principalId: USER.patti, justification: 'again', renewForDays: 90, start: sim.state.now() })).rejects.toMatchObject({
      code: 'PendingRoleAssignmentRequest',
    });
    await expect(svc.renew(expired[1]!, { principalId: USER.patti, justification: 'x', renewForDays: 90, start: sim.state.now() })).rejects.toThrow(
      'PIM for Groups has no self-renew',
    );
  });

  it('after 30 days PIM no longer lists it and refuses to renew it, saying why', async () => {
    await control(sim, 'POST', '/_sim/clock', { advanceMinutes: 28 * 24 * 60 });
    const late = await graph(USER.patti, 'POST', `${RD}/roleEligibilityScheduleRequests`, renewal(USER.patti, ROLE.exchangeAdministrator));
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('RoleAssignmentRequestPolicyValidationFailed');
    expect(late.body.error.message).toMatch(/more than 30 days ago: PIM renews an expired assignment only within 30 days/);
    const schedules = await graph(USER.patti, 'GET', `${RD}/roleEligibilitySchedules/filterByCurrentUser(on='principal')`);
    expect(schedules.body.value.map((s: any) => s.roleDefinitionId)).not.toContain(ROLE.exchangeAdministrator);
    const svc = new GraphSelfService(graphClientWithToken(sim, () => delegatedGraphToken(sim, USER.patti)));
    expect(await svc.expired(sim.state.now())).toEqual([]);
  });
});
