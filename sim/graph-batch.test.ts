import type { SimHandle } from './server';
import { USER } from './seed';
import { GRAPH_SCOPE, botAppCredential, control, startTestSim } from './test-support';

const REQ = '/roleManagement/directory/roleAssignmentScheduleRequests';

describe('simulated Microsoft Graph: JSON batching', () => {
  let sim: SimHandle;
  let token: string;
  // A fresh tenant per test: PIM allows one pending request per user and role.
  beforeEach(async () => {
    sim = await startTestSim();
    token = (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token;
  });
  afterEach(() => sim.close());

  async function batch(body: unknown, opts: { version?: string; auth?: string | null } = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (opts.auth !== null) headers.Authorization = opts.auth ?? `Bearer ${token}`;
    const res = await fetch(`${sim.url}/${opts.version ?? 'v1.0'}/$batch`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  async function pendingRequest(): Promise<string> {
    const created = await control(sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: 'Batch test request for INC0012345',
    });
    expect(created.body.status).toBe('PendingApproval');
    return created.body.id as string;
  }

  it('answers each request with its own status, correlated by id', async () => {
    const pimId = await pendingRequest();
    const res = await batch({
      requests: [
        { id: 'a', method: 'GET', url: `${REQ}/${pimId}?$select=id,status` },
        { id: 'b', method: 'GET', url: `${REQ}/00000000-0000-4000-8000-000000000000?$select=id,status` },
        { id: 'c', method: 'GET', url: `users/${USER.megan}?$select=id,displayName` },
        {
          id: 'd',
          method: 'PATCH',
          url: `/roleManagement/directory/roleAssignmentApprovals/${pimId}/steps/x`,
          headers: { 'Content-Type': 'application/json' },
          body: { reviewResult: 'Approve' },
        },
      ],
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries((res.body.responses as any[]).map((r) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(byId.a).toMatchObject({ status: 200, body: { id: pimId, status: 'PendingApproval' } });
    expect(Object.keys(byId.a.body).filter((k) => !k.startsWith('@odata'))).toEqual(['id', 'status']);
    expect(byId.b).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });
    expect(byId.c).toMatchObject({ status: 200, body: { id: USER.megan, displayName: 'Megan Bowen' } });
    // The approvals API is beta-only, and an app token could not use it anyway.
    expect(byId.d.status).toBeGreaterThanOrEqual(400);
    expect(byId.a.headers['Content-Type']).toMatch(/application\/json/);
  });

  it('runs each item with the batch authorization, so an app token gets 403 where only users may call', async () => {
    const pimId = await pendingRequest();
    const res = await batch({ requests: [{ id: '1', method: 'GET', url: `/roleManagement/directory/roleAssignmentApprovals/${pimId}` }] }, { version: 'beta' });
    expect(res.status).toBe(200);
    expect(res.body.responses[0]).toMatchObject({ id: '1', status: 403, body: { error: { code: 'Forbidden' } } });
  });

  it('refuses more than 20 requests with a Graph error for the whole batch', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: `users/${USER.megan}` }));
    const res = await batch({ requests });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('20') });
    expect(res.body.error.innerError['request-id']).toBeTruthy();
    const twenty = await batch({ requests: requests.slice(0, 20) });
    expect(twenty.status).toBe(200);
    expect(twenty.body.responses).toHaveLength(20);
  });

  it.each([
    ['no requests array', { value: [] }],
    [
      'a duplicate id',
      {
        requests: [
          { id: '1', method: 'GET', url: '/users' },
          { id: '1', method: 'GET', url: '/users' },
        ],
      },
    ],
    ['a missing url', { requests: [{ id: '1', method: 'GET' }] }],
    ['an unknown dependency', { requests: [{ id: '1', method: 'GET', url: '/users', dependsOn: ['9'] }] }],
    [
      'a dependency cycle',
      {
        requests: [
          { id: '1', method: 'GET', url: '/users', dependsOn: ['2'] },
          { id: '2', method: 'GET', url: '/users', dependsOn: ['1'] },
        ],
      },
    ],
  ])('answers 400 for a malformed batch: %s', async (_name, body) => {
    const res = await batch(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BadRequest');
  });

  it('needs a valid token on the batch itself', async () => {
    const res = await batch({ requests: [{ id: '1', method: 'GET', url: '/users' }] }, { auth: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('InvalidAuthenticationToken');
  });

  it('throttles items one by one: an injected 429 carries Retry-After in the item headers', async () => {
    const p1 = await pendingRequest();
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${p1}`, status: 429, retryAfterSeconds: 7, times: 1 });
    const res = await batch({
      requests: [
        { id: '1', method: 'GET', url: `${REQ}/${p1}?$select=id,status` },
        { id: '2', method: 'GET', url: `users/${USER.megan}` },
      ],
    });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries((res.body.responses as any[]).map((r) => [r.id, r]));
    expect(byId['1']).toMatchObject({ status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'TooManyRequests' } } });
    expect(byId['2'].status).toBe(200);
    // The fault was used up: the same item succeeds when retried.
    const again = await batch({ requests: [{ id: '1', method: 'GET', url: `${REQ}/${p1}?$select=id,status` }] });
    expect(again.body.responses[0]).toMatchObject({ status: 200, body: { status: 'PendingApproval' } });
  });

  it('fails dependants of a failed request with 424 and runs the rest', async () => {
    const res = await batch({
      requests: [
        { id: '1', method: 'GET', url: 'users/nobody@contoso.example' },
        { id: '2', method: 'GET', url: `users/${USER.megan}`, dependsOn: ['1'] },
        { id: '3', method: 'GET', url: `users/${USER.adele}` },
        { id: '4', method: 'GET', url: `users/${USER.alex}`, dependsOn: ['3'] },
      ],
    });
    const byId = Object.fromEntries((res.body.responses as any[]).map((r) => [r.id, r.status]));
    expect(byId).toEqual({ '1': 404, '2': 424, '3': 200, '4': 200 });
  });

  it('can throttle the whole batch, and logs each item as its own call', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '\\$batch', status: 429, retryAfterSeconds: 3, times: 1 });
    const throttled = await batch({ requests: [{ id: '1', method: 'GET', url: `users/${USER.megan}` }] });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    const ok = await batch({
      requests: [
        { id: '1', method: 'GET', url: `users/${USER.megan}` },
        { id: '2', method: 'GET', url: `users/${USER.adele}` },
      ],
    });
    expect(ok.status).toBe(200);
    const calls = (await control(sim, 'GET', '/_sim/calls')).body.value as any[];
    expect(calls.filter((c) => c.path === '/v1.0/$batch').map((c) => c.status)).toEqual([429, 200]);
    // Items run in parallel and are logged as each finishes, so their order varies under load.
    expect(
      calls
        .filter((c) => c.batchItemOf)
        .map((c) => c.path)
        .sort(),
    ).toEqual([`/v1.0/users/${USER.megan}`, `/v1.0/users/${USER.adele}`].sort());
  });
});
