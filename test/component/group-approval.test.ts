import { GROUP, USER } from '../../sim/seed';
import { cardAction, type Harness, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Restore the payroll database after incident INC0012345';
const text = (x: unknown) => JSON.stringify(x);

describe('PIM for Groups requests approved from the card', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingGroupRequest(principal: string = USER.isaiah, accessId = 'member') {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal,
      group: 'SQL Admins',
      accessId,
      justification: GOOD,
      durationMinutes: 120,
      ticketNumber: 'INC0012345',
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(created.body.id);
    expect(row).toMatchObject({ kind: 'group', role_definition_id: accessId, scope: GROUP.sqlAdmins });
    return { pimId: created.body.id as string, row: row! };
  }

  it('sends PIM the group body shape and posts a card naming the group and the access', async () => {
    const { pimId } = await pendingGroupRequest();
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body).toMatchObject({ kind: 'group', groupId: GROUP.sqlAdmins, accessId: 'member' });
    expect(sim.body.evaluation.evaluationOutcome).toBe('Approved');
    expect(h.connector.posts).toHaveLength(1);
    const card = text(h.connector.posts[0]!.activity.attachments![0].content);
    expect(card).toContain('SQL Admins (member)');
    expect(card).toContain('Isaiah Langer');
    expect(card).toContain('"verb":"pim.approve"');
  });

  it('records the approval through the group approval endpoint as the approver', async () => {
    const { pimId, row } = await pendingGroupRequest();
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Checked the incident with the DBA',
    });
    expect(res.body.statusCode).toBe(200);
    expect(text(res.body.value)).toContain('Adele Vance');
    expect(text(res.body.value)).not.toContain('pim.approve');

    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    const patches = calls.filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0].path).toMatch(new RegExp(`^/v1\\.0/identityGovernance/privilegedAccess/group/assignmentApprovals/${pimId}/steps/`));
    expect(patches[0]).toMatchObject({ status: 204, oid: USER.adele });

    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    expect(sim.body.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      justification: 'Checked the incident with the DBA',
      reviewedBy: { id: USER.adele },
    });
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    await h.bot.delivery.drain();
    expect(text(h.connector.updates.at(-1)!.activity)).not.toContain('Action.Execute');
  });

  it('refuses self-approval by an approver who is also eligible, without calling PIM', async () => {
    const { pimId, row } = await pendingGroupRequest(USER.megan);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'I need this right now, trust me',
    });
    expect(text(res.body.value)).toContain('cannot approve or deny your own request');
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(0);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
  });

  it('PIM itself refuses a group self-approval (403)', async () => {
    const { pimId } = await pendingGroupRequest(USER.megan);
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    const token = await oboGraphToken(h, USER.megan);
    const res = await fetch(`${h.sim.url}/v1.0/identityGovernance/privilegedAccess/group/assignmentApprovals/${pimId}/steps/${sim.body.approval.steps[0].id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reviewResult: 'Approve', justification: 'self' }),
    });
    expect(res.status).toBe(403);
  });

  it('refuses someone the group policy does not list as approver', async () => {
    const { row } = await pendingGroupRequest();
    const res = await cardAction(h.bot.url, teamsUser(USER.patti), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Looks fine to me honestly',
    });
    expect(text(res.body.value)).toContain('Only approvers of SQL Admins (member)');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
  });

  it('shows who decided when the request was decided in the portal first (409)', async () => {
    const { pimId, row } = await pendingGroupRequest();
    const portal = await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: pimId,
      approver: USER.megan,
      reviewResult: 'Deny',
      justification: 'Denied in the portal',
    });
    expect(portal.status).toBe(200);
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Approving from Teams now',
    });
    expect(text(res.body.value)).toContain('Megan Bowen already denied');
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({
      status: 'denied',
      decided_by_id: USER.megan,
      decision_justification: 'Denied in the portal',
    });
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.approval.steps[0].reviewedBy.id).toBe(USER.megan);
  });

  it('answers 409 to a second PATCH on a decided group approval', async () => {
    const { pimId } = await pendingGroupRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Approve', justification: 'ok in the portal' });
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    const token = await oboGraphToken(h, USER.adele);
    const res = await fetch(`${h.sim.url}/v1.0/identityGovernance/privilegedAccess/group/assignmentApprovals/${pimId}/steps/${sim.body.approval.steps[0].id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reviewResult: 'Deny', justification: 'too late' }),
    });
    expect(res.status).toBe(409);
  });

  it('closes a group card decided in the portal through the reconciler ($batch on the group path)', async () => {
    const { pimId, row } = await pendingGroupRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Approve', justification: 'ok in the portal' });
    const counts = await h.bot.reconciler.reconcileOnce();
    expect(counts).toMatchObject({ checked: 1, approved: 1 });
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('approved');
  });
});

/** A delegated Graph token for a seeded user, obtained the way the bot does (SSO assertion, then on-behalf-of). */
async function oboGraphToken(h: Harness, user: string): Promise<string> {
  const assertion = await h.sim.issueUserAssertion(user);
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    requested_token_use: 'on_behalf_of',
    client_id: h.env.BOT_APP_ID!,
    client_secret: h.env.BOT_APP_SECRET!,
    assertion,
    scope: 'https://graph.microsoft.com/.default',
  });
  const res = await fetch(`${h.sim.url}/${h.env.TENANT_ID}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}
