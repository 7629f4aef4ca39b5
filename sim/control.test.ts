import type { SimHandle } from './server';
import { GROUP, ROLE, USER } from './seed';
import { control, startTestSim } from './test-support';

describe('simulator control API', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it('describes the directory with approvers resolved through groups', async () => {
    const { status, body } = await control(sim, 'GET', '/_sim/directory');
    expect(status).toBe(200);
    expect(body.users).toContainEqual(expect.objectContaining({ id: USER.megan, userPrincipalName: 'meganb@contoso.example', displayName: 'Megan Bowen' }));
    const secOp = body.roles.find((r: any) => r.id === ROLE.securityOperator);
    expect(secOp.displayName).toBe('Security Operator');
    expect([...secOp.approvers].sort()).toEqual([USER.megan, USER.patti, USER.alex].sort());
    expect(GROUP.secOpsApprovers).toBeDefined();
  });

  it('files a request by UPN and role name and shows it', async () => {
    const created = await control(sim, 'POST', '/_sim/requests', {
      principal: 'isaiahl@contoso.example',
      role: 'user administrator',
      justification: 'Bulk user import',
      durationMinutes: 90,
    });
    expect(created).toEqual({ status: 201, body: { id: expect.any(String), status: 'PendingApproval' } });
    const one = await control(sim, 'GET', `/_sim/requests/${created.body.id}`);
    expect(one.body).toMatchObject({
      id: created.body.id,
      status: 'PendingApproval',
      principalId: USER.isaiah,
      roleDefinitionId: ROLE.userAdministrator,
      approval: { steps: [{ status: 'InProgress', reviewResult: 'NotReviewed', reviewedBy: null, justification: null, reviewedDateTime: null }] },
      evaluation: null,
    });
    expect(one.body.scheduleInfo.expiration.duration).toBe('PT90M');
    const all = await control(sim, 'GET', '/_sim/requests');
    expect(all.body.value.map((r: any) => r.id)).toContain(created.body.id);
  });

  it('names the bad field in 400 errors', async () => {
    const badPrincipal = await control(sim, 'POST', '/_sim/requests', { principal: 'ghost@contoso.example', role: 'Security Operator' });
    expect(badPrincipal.status).toBe(400);
    expect(badPrincipal.body.error.message).toMatch(/^principal/);
    const badRole = await control(sim, 'POST', '/_sim/requests', { principal: USER.alex, role: 'Janitor' });
    expect(badRole.body.error.message).toMatch(/^role/);
    const policy = await control(sim, 'POST', '/_sim/requests', { principal: USER.alex, role: 'Security Operator', justification: 'x' });
    expect(policy.status).toBe(400);
    expect(policy.body.error).toEqual({ code: 'RoleAssignmentRequestPolicyValidationFailed', message: 'The following policy rules failed: ["TicketingRule"]' });
    const badFault = await control(sim, 'POST', '/_sim/faults', { status: 429 });
    expect(badFault.body.error.message).toMatch(/^pathPattern/);
  });

  it('records decisions made in the portal, with who decided', async () => {
    const { body: created } = await control(sim, 'POST', '/_sim/requests', {
      principal: 'pattif@contoso.example',
      role: ROLE.helpdeskAdministrator,
      justification: 'Password resets',
    });
    const self = await control(sim, 'POST', '/_sim/decide', {
      requestId: created.id,
      approver: 'pattif@contoso.example',
      reviewResult: 'Approve',
      justification: 'me',
    });
    expect(self.status).toBe(403);
    const ok = await control(sim, 'POST', '/_sim/decide', {
      requestId: created.id,
      approver: 'alexw@contoso.example',
      reviewResult: 'Approve',
      justification: 'Known issue',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      status: 'Granted',
      approval: {
        steps: [
          {
            status: 'Completed',
            reviewResult: 'Approve',
            reviewedBy: { id: USER.alex, userPrincipalName: 'alexw@contoso.example' },
            justification: 'Known issue',
          },
        ],
      },
    });
    const again = await control(sim, 'POST', '/_sim/decide', {
      requestId: created.id,
      approver: 'adelev@contoso.example',
      reviewResult: 'Deny',
      justification: 'late',
    });
    expect(again.status).toBe(409);
  });

  it('records calls and faults only outside /_sim', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/_sim', status: 500 });
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '/discovery/v2.0/keys$', status: 503, times: 1 });
    expect((await control(sim, 'GET', '/_sim/directory')).status).toBe(200);
    const keys1 = await fetch(`${sim.url}/${sim.tenantId}/discovery/v2.0/keys`);
    const keys2 = await fetch(`${sim.url}/${sim.tenantId}/discovery/v2.0/keys`);
    expect([keys1.status, keys2.status]).toEqual([503, 200]);
    expect(await control(sim, 'DELETE', '/_sim/faults')).toEqual({ status: 204, body: undefined });
    const calls = (await control(sim, 'GET', '/_sim/calls')).body.value;
    expect(calls.map((c: any) => [c.method, c.path, c.status])).toEqual([
      ['GET', `/${sim.tenantId}/discovery/v2.0/keys`, 503],
      ['GET', `/${sim.tenantId}/discovery/v2.0/keys`, 200],
    ]);
  });

  it('logs a call when it arrives and keeps it, marked abandoned, when the caller goes away before the answer', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    // The keys are served at once, but the answer is held for a second.
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '/discovery/v2.0/keys$', answerAfterMs: 1000, times: 1 });
    const keysPath = `/${sim.tenantId}/discovery/v2.0/keys`;
    const logged = async () => ((await control(sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.path === keysPath);
    const gaveUp = new AbortController();
    const call = fetch(`${sim.url}${keysPath}`, { signal: gaveUp.signal }).catch((err: Error) => err.name);
    const until = async (what: string, check: (calls: any[]) => boolean) => {
      const end = Date.now() + 10_000;
      for (let calls = await logged(); !check(calls); calls = await logged()) {
        if (Date.now() > end) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(calls)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // In the log while its answer is held: no status yet.
    await until('the call is logged', (calls) => calls.length === 1);
    expect((await logged())[0]).toMatchObject({ method: 'GET', status: 0 });
    expect((await logged())[0].abandoned).toBeUndefined();
    gaveUp.abort();
    expect(await call).toBe('AbortError');
    await until('the call is marked abandoned', (calls) => calls[0]?.abandoned === true);
    // When the held answer is ready, the entry takes its status and stays marked: nobody read it.
    await until('the held answer is ready', (calls) => calls[0]?.status === 200);
    expect(await logged()).toEqual([expect.objectContaining({ method: 'GET', path: keysPath, status: 200, abandoned: true, answeredAt: expect.any(String) })]);
    // An answered call is not marked.
    const answered = await fetch(`${sim.url}${keysPath}`);
    expect(answered.status).toBe(200);
    await answered.text();
    const [, second] = await logged();
    expect(second).toMatchObject({ status: 200, answeredAt: expect.any(String) });
    expect(second.abandoned).toBeUndefined();
    await control(sim, 'DELETE', '/_sim/faults');
  });
});
