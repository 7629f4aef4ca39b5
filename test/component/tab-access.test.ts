import { ROLE, USER } from '../../sim/seed';
import { formatTime } from '../../services/text/format-time';
import { type Harness, pendingRequest, simJson, startHarness } from '../support/harness';

/**
 * The PIM tab's "My access" and the requester's actions, through the real HTTP server with the user's Teams SSO
 * token from the simulator: PIM's own lists, the chat's activation (exactly one PIM request), cancel, remind and
 * end now; another user's request or key is refused; a bad body is a 400 that changes nothing.
 */

const WHY = 'Reset MFA for the locked-out CFO under incident INC0012345';

async function call(h: Harness, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.bot.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** PIM's self-activation requests for a user and role, as the simulator holds them. */
async function pimRequests(h: Harness, principal: string, roleDefinitionId: string): Promise<Array<{ id: string; status: string; action: string }>> {
  const all = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as Array<{
    id: string;
    status: string;
    action: string;
    principalId: string;
    roleDefinitionId: string;
  }>;
  return all.filter((r) => r.principalId === principal && r.roleDefinitionId === roleDefinitionId && /activate/i.test(r.action));
}

/** Writes to PIM (POST/PUT/PATCH on PIM's collections) since the calls were last cleared. */
async function pimWrites(h: Harness): Promise<number> {
  const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>;
  return calls.filter((c) => c.method !== 'GET' && /ScheduleRequests|roleManagement|privilegedAccess/i.test(c.path)).length;
}

describe('the PIM tab: my access and my requests', () => {
  let h: Harness;
  let token: (user: string) => Promise<string>;
  beforeEach(async () => {
    h = await startHarness({}, { sweepIntervalMs: 3_600_000 });
    token = (user) => h.sim.issueUserAssertion(user);
  });
  afterEach(async () => {
    await h.close();
  });

  it("lists the caller's eligible and active access with PIM's actions, and activating from the tab files exactly one PIM request", async () => {
    const isaiah = await token(USER.isaiah);
    const me = await call(h, 'GET', '/api/tab/me', isaiah);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { id: USER.isaiah, upn: 'isaiahl@contoso.example' }, isAdmin: false });
    // Isaiah's mailbox says Eastern Standard Time; Diego's mailbox has no zone set: null, not a guess.
    expect(me.body.timeZone).toBe('America/New_York');
    expect((await call(h, 'GET', '/api/tab/me', await token(USER.diego))).body.timeZone).toBeNull();

    const access = await call(h, 'GET', '/api/tab/access', isaiah);
    expect(access.status).toBe(200);
    const names = access.body.eligible.map((i: any) => i.name);
    expect(names).toEqual(expect.arrayContaining(['User Administrator', 'Helpdesk Administrator', 'SQL Admins (member)']));
    const userAdmin = access.body.eligible.find((i: any) => i.name === 'User Administrator');
    expect(userAdmin).toMatchObject({ kind: 'entraRole', scope: '/', scopeName: 'Directory', start: null, end: null });
    expect(userAdmin.actions).toEqual({ activate: true, extend: false, renew: false, end: false });
    // An eligibility that ends within PIM's 14 days can be extended.
    const contributor = access.body.eligible.find((i: any) => i.kind === 'azureResource');
    expect(contributor).toMatchObject({ actions: { activate: true, extend: true, renew: false, end: false } });
    expect(contributor.end).not.toBeNull();
    const extended = await call(h, 'POST', '/api/tab/access/extend', isaiah, { key: contributor.key, justification: 'Still running the Q3 migration' });
    expect(extended.status).toBe(200);
    expect(extended.body.result).toBe('requested');
    // Only where PIM allows it: User Administrator does not end.
    const notEnding = await call(h, 'POST', '/api/tab/access/extend', isaiah, {
      key: access.body.eligible.find((i: any) => i.name === 'User Administrator').key,
      justification: 'x',
    });
    expect(notEnding.status).toBe(409);
    expect(notEnding.body.error.code).toBe('no_expiry');
    expect(access.body.active).toEqual([]);
    expect(Array.isArray(access.body.expired)).toBe(true);

    const activated = await call(h, 'POST', '/api/tab/access/activate', isaiah, { key: userAdmin.key, justification: WHY, durationMinutes: 60 });
    expect(activated.status).toBe(200);
    expect(activated.body.result).toBe('pending');
    expect(typeof activated.body.message).toBe('string');
    const filed = await pimRequests(h, USER.isaiah, ROLE.userAdministrator);
    expect(filed).toHaveLength(1);
    expect(filed[0]!.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(filed[0]!.id);
    expect(row).toBeDefined();
    expect(row!.justification).toBe(WHY);
    expect(activated.body.requestId).toBe(row!.id);

    // Asking again is refused by the chat's own check: still one PIM request.
    const again = await call(h, 'POST', '/api/tab/access/activate', isaiah, { key: userAdmin.key, justification: WHY, durationMinutes: 60 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_pending');
    expect(await pimRequests(h, USER.isaiah, ROLE.userAdministrator)).toHaveLength(1);

    // It shows under "My requests", and the requester cancels it; another user may not.
    const mine = await call(h, 'GET', '/api/tab/requests', isaiah);
    expect(mine.body.items.map((i: any) => i.requestId)).toContain(row!.id);
    const notYours = await call(h, 'POST', `/api/tab/requests/${row!.id}/cancel`, await token(USER.adele));
    expect(notYours.status).toBe(403);
    expect(notYours.body.error.code).toBe('not_requester');
    const cancelled = await call(h, 'POST', `/api/tab/requests/${row!.id}/cancel`, isaiah);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ result: 'cancelled', request: { requestId: row!.id, status: 'cancelled' } });
    expect((await pimRequests(h, USER.isaiah, ROLE.userAdministrator))[0]!.status).toBe('Canceled');
    expect((await h.bot.store.requests.get(row!.id))!.status).toBe('cancelled');
    const twice = await call(h, 'POST', `/api/tab/requests/${row!.id}/cancel`, isaiah);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('not_pending');
  });

  it('renews an eligibility that ended within 30 days, as selfRenew in PIM', async () => {
    const patti = await token(USER.patti);
    const list = await call(h, 'GET', '/api/tab/access', patti);
    const expired = list.body.expired.find((i: any) => i.name === 'Exchange Administrator');
    expect(expired).toMatchObject({ kind: 'entraRole', actions: { activate: false, extend: false, renew: true, end: false } });
    expect(list.body.eligible.find((i: any) => i.name === 'Exchange Administrator')).toBeUndefined();
    // An eligible (not expired) key is not renewable.
    const live = list.body.eligible.find((i: any) => i.name === 'User Administrator');
    expect((await call(h, 'POST', '/api/tab/access/renew', patti, { key: live.key, justification: 'Still on the mail team' })).status).toBe(404);
    const renewed = await call(h, 'POST', '/api/tab/access/renew', patti, { key: expired.key, justification: 'Still on the mail team' });
    expect(renewed.status).toBe(200);
    expect(renewed.body.result).toBe('requested');
    const all = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as Array<{ principalId: string; roleDefinitionId: string; action: string }>;
    expect(all.filter((r) => r.principalId === USER.patti && r.roleDefinitionId === ROLE.exchangeAdministrator && r.action === 'selfRenew')).toHaveLength(1);
  });

  it('reminds the approvers once per interval, only for the requester of a pending request', async () => {
    const { row } = await pendingRequest(h);
    const isaiah = await token(USER.isaiah);
    const other = await call(h, 'POST', `/api/tab/requests/${row.id}/remind`, await token(USER.adele));
    expect(other.status).toBe(403);
    const first = await call(h, 'POST', `/api/tab/requests/${row.id}/remind`, isaiah);
    expect(first.status).toBe(200);
    expect(first.body.result).toBe('reminded');
    expect(first.body.message).toMatch(/^I reminded/);
    const second = await call(h, 'POST', `/api/tab/requests/${row.id}/remind`, isaiah);
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('remind_too_soon');
    const unknown = await call(h, 'POST', '/api/tab/requests/7f1d2c3b-0000-4000-8000-000000000000/remind', isaiah);
    expect(unknown.status).toBe(404);
  });

  it('ends a running activation now, once PIM allows it', async () => {
    const lynne = await token(USER.lynne);
    const list = await call(h, 'GET', '/api/tab/access', lynne);
    const reports = list.body.eligible.find((i: any) => i.name === 'Reports Reader');
    expect(reports.actions.activate).toBe(true);
    const activated = await call(h, 'POST', '/api/tab/access/activate', lynne, { key: reports.key, justification: 'Monthly sign-in report for the audit' });
    expect(activated.status).toBe(200);
    expect(activated.body.result).toBe('active');
    // The end is written in Lynne's own zone (her mailbox's), never as a raw timestamp; the instant comes apart.
    expect(activated.body.activeUntil).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
    const zone = (await call(h, 'GET', '/api/tab/me', lynne)).body.timeZone;
    expect(zone).toEqual(expect.any(String));
    expect(activated.body.message).toBe(`Reports Reader is active until ${formatTime(activated.body.activeUntil, zone)}.`);

    const active = (await call(h, 'GET', '/api/tab/access', lynne)).body.active.find((i: any) => i.name === 'Reports Reader');
    expect(active).toMatchObject({ memberType: 'Activated', actions: { activate: false, extend: false, renew: false, end: true } });
    expect(active.start).not.toBeNull();
    expect((await call(h, 'GET', '/api/tab/access', lynne)).body.eligible.find((i: any) => i.name === 'Reports Reader').actions.activate).toBe(false);

    // PIM ends an activation only after 5 minutes.
    const early = await call(h, 'POST', '/api/tab/access/end', lynne, { key: active.key });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('too_soon_to_end');
    expect(early.body.error.message).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: 6 });
    // Someone else's key for it is not theirs to end.
    const byOther = await call(h, 'POST', '/api/tab/access/end', await token(USER.isaiah), { key: active.key });
    expect(byOther.status).toBe(404);
    expect(byOther.body.error.code).toBe('not_in_your_access');
    const ended = await call(h, 'POST', '/api/tab/access/end', lynne, { key: active.key });
    expect(ended.status).toBe(200);
    expect(ended.body.result).toBe('ended');
    expect((await call(h, 'GET', '/api/tab/access', lynne)).body.active.find((i: any) => i.name === 'Reports Reader')).toBeUndefined();
  });

  it("refuses a key for someone else's eligibility, and bad bodies with 400 and the field, changing nothing", async () => {
    const lynneKey = (await call(h, 'GET', '/api/tab/access', await token(USER.lynne))).body.eligible.find((i: any) => i.name === 'Reports Reader').key;
    const isaiah = await token(USER.isaiah);
    const userAdminKey = (await call(h, 'GET', '/api/tab/access', isaiah)).body.eligible.find((i: any) => i.name === 'User Administrator').key;
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const drafts = async () => (await h.bot.store.chat.requestsOf(USER.isaiah, 50)).length;

    const foreign = await call(h, 'POST', '/api/tab/access/activate', isaiah, { key: lynneKey, justification: WHY });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ code: 'not_in_your_access', field: 'key' });

    const forged = await call(h, 'POST', '/api/tab/access/activate', isaiah, { key: 'eyJub3QiOiJrZXkifQ', justification: WHY });
    expect(forged.status).toBe(400);
    expect(forged.body.error).toMatchObject({ code: 'bad_key', field: 'key' });

    const cases: Array<[string, unknown, string]> = [
      ['activate', { key: userAdminKey, justification: WHY, extra: 1 }, ''],
      ['activate', { key: userAdminKey }, 'justification'],
      ['activate', { key: userAdminKey, justification: '   ' }, 'justification'],
      ['activate', { key: userAdminKey, justification: WHY, durationMinutes: '60' }, 'durationMinutes'],
      ['activate', { key: userAdminKey, justification: WHY, durationMinutes: 100000 }, 'durationMinutes'],
      ['activate', { key: userAdminKey, justification: WHY, ticket: { number: 42 } }, 'ticket.number'],
      ['activate', { justification: WHY }, 'key'],
      ['extend', { key: userAdminKey }, 'justification'],
      ['renew', { key: 7, justification: WHY }, 'key'],
      ['end', { key: userAdminKey, now: true }, ''],
    ];
    for (const [action, body, field] of cases) {
      const res = await call(h, 'POST', `/api/tab/access/${action}`, isaiah, body);
      expect([action, res.status]).toEqual([action, 400]);
      expect(res.body.error.code).toBe('invalid_body');
      if (field) expect(res.body.error.field).toBe(field);
      expect(typeof res.body.error.message).toBe('string');
    }
    const notJson = await call(h, 'POST', '/api/tab/access/activate', isaiah, '{"key":');
    expect(notJson.status).toBe(400);
    const badHistory = await call(h, 'GET', '/api/tab/history?days=91', isaiah);
    expect(badHistory.status).toBe(400);
    expect(badHistory.body.error.field).toBe('days');

    expect(await pimWrites(h)).toBe(0);
    expect(await pimRequests(h, USER.isaiah, ROLE.userAdministrator)).toHaveLength(0);
    expect(await drafts()).toBe(0);
  });

  it("shows the caller's history: their activations and the requests they decided", async () => {
    const { row } = await pendingRequest(h);
    const adele = await token(USER.adele);
    const decided = await call(h, 'POST', `/api/tab/approvals/${row.id}/decision`, adele, {
      reviewResult: 'Approve',
      justification: 'Verified with the CFO by phone',
      version: row.version,
    });
    expect(decided.status).toBe(200);
    const mine = await call(h, 'GET', '/api/tab/history?days=30', await token(USER.isaiah));
    expect(mine.status).toBe(200);
    expect(mine.body.activations).toHaveLength(1);
    expect(mine.body.activations[0]).toMatchObject({ role: 'User Administrator', kind: 'entraRole', scope: '/', status: 'approved', decidedBy: 'Adele Vance' });
    expect(mine.body.approvals).toEqual([]);
    const hers = await call(h, 'GET', '/api/tab/history', adele);
    expect(hers.body.days).toBe(90);
    expect(hers.body.activations).toEqual([]);
    expect(hers.body.approvals).toHaveLength(1);
    expect(hers.body.approvals[0]).toMatchObject({
      role: 'User Administrator',
      requester: 'Isaiah Langer',
      result: 'approved',
      justification: 'Verified with the CFO by phone',
    });
  });
});
