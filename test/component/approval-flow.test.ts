import { GROUP, ROLE, seedTenant, USER } from '../../sim/seed';
import type { ApprovalRequestRow } from '../../services/store/store';
import { callsBetween, chainTo, longestChain, shapeOf } from '../support/call-chain';
import { CHANNEL_ID, cardAction, type Harness, simJson, startHarness, teamsUser } from '../support/harness';

const user = teamsUser;
const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';

function textOf(card: any): string {
  return JSON.stringify(card);
}

describe('approving and denying from the card', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingRequest(principal = USER.isaiah, role = 'User Administrator') {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal,
      role,
      justification: GOOD,
      durationMinutes: 120,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(created.body.id);
    expect(row).toBeDefined();
    return { pimId: created.body.id as string, row: row! };
  }

  it('posts one card to the approver channel with the request context', async () => {
    const { row } = await pendingRequest();
    expect(h.connector.posts).toHaveLength(1);
    const card = h.connector.posts[0]!.activity.attachments![0].content;
    expect(textOf(card)).toContain('Isaiah Langer');
    expect(textOf(card)).toContain('isaiahl@contoso.example');
    expect(textOf(card)).toContain('Cloud Engineer');
    expect(textOf(card)).toContain('User Administrator');
    expect(textOf(card)).toContain(GOOD);
    const executes = JSON.stringify(card).match(/"type":"Action\.Execute","title":"[^"]+","verb":"pim\.(approve|deny)"/g) ?? [];
    expect(card.body.length).toBeGreaterThan(0);
    expect(JSON.stringify(card)).toContain('"verb":"pim.approve"');
    expect(JSON.stringify(card)).toContain('"verb":"pim.deny"');
    void executes;
    expect(row.status).toBe('pending');
  });

  it("reads PIM's copy, the requester and their PIM history for a card in one Graph batch, and the role's name and policy once per role", async () => {
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    await pendingRequest();
    const first = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string; batchItemOf?: string; requestId?: string }>;
    const batches = first.filter((c) => c.method === 'POST' && c.path === '/v1.0/$batch');
    expect(batches).toHaveLength(1);
    const items = first.filter((c) => c.batchItemOf).map((c) => c.path.replace(/[0-9a-f-]{36}/g, '{id}'));
    expect(items.sort()).toEqual([
      '/v1.0/roleManagement/directory/roleAssignmentScheduleRequests',
      '/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/{id}',
      '/v1.0/users/{id}',
    ]);
    expect(first.filter((c) => /roleManagementPolicyAssignments|roleDefinitions/.test(c.path))).toHaveLength(2);
    // A second request for the role: its card reads the requester, PIM's copy and history again, not the role.
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    await pendingRequest(USER.lynne);
    const second = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ path: string; batchItemOf?: string }>;
    expect(second.filter((c) => c.batchItemOf)).toHaveLength(3);
    expect(second.filter((c) => /roleManagementPolicyAssignments|roleDefinitions/.test(c.path))).toHaveLength(0);
  });

  it('records an approval in PIM as the approver and updates every copy', async () => {
    const { pimId, row } = await pendingRequest();
    const res = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(res.httpStatus).toBe(200);
    expect(res.body.statusCode).toBe(200);
    expect(res.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(textOf(res.body.value)).toContain('Adele Vance');
    expect(textOf(res.body.value)).not.toContain('pim.approve');

    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    expect(sim.body.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      justification: 'Verified with the CFO by phone',
      reviewedBy: { id: USER.adele },
    });

    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(1);
    expect(h.connector.updates[0]!.activityId).toBe(h.connector.posts[0]!.activityId);
    const updated = textOf(h.connector.updates[0]!.activity.attachments![0].content);
    expect(updated).toContain('Adele Vance');
    expect(updated).toContain('Verified with the CFO by phone');
    expect(updated).not.toContain('Action.Execute');
  });

  it('tells the requester in their personal chat who decided and why', async () => {
    const isaiah = user(USER.isaiah);
    const hello = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: 'm1',
        text: 'hi',
        channelId: 'msteams',
        serviceUrl: h.connector.serviceUrl,
        from: { id: isaiah.teamsUserId, name: isaiah.displayName, aadObjectId: isaiah.id },
        recipient: { id: '28:bot', name: 'PIM Approvals' },
        conversation: { id: 'a:isaiah-personal', conversationType: 'personal', tenantId: h.env.TENANT_ID },
      }),
    });
    expect(hello.status).toBe(200);
    const { row } = await pendingRequest();
    await cardAction(h.bot.url, user(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    await h.bot.delivery.drain();
    const toRequester = h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-personal').map((p) => String(p.activity.text));
    expect(toRequester.at(-1)).toMatch(/User Administrator was approved by Adele Vance .*"Verified with the CFO by phone"/);
  });

  it('tells the requester once, through the outbox, even when the process stopped before queueing the notice', async () => {
    const isaiah = user(USER.isaiah);
    await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: 'm2',
        text: 'hi',
        channelId: 'msteams',
        serviceUrl: h.connector.serviceUrl,
        from: { id: isaiah.teamsUserId, name: isaiah.displayName, aadObjectId: isaiah.id },
        recipient: { id: '28:bot', name: 'PIM Approvals' },
        conversation: { id: 'a:isaiah-personal', conversationType: 'personal', tenantId: h.env.TENANT_ID },
      }),
    });
    const { row } = await pendingRequest();
    // The decision committed, then the process stopped: nobody queued the requester's notice.
    await h.bot.store.requests.transition(
      row,
      { type: 'decidedElsewhere', result: 'approved' },
      {
        decided_by_id: USER.adele,
        decided_by_name: 'Adele Vance',
        decided_by_upn: 'adelev@contoso.example',
        decided_at: new Date().toISOString(),
        decision_justification: 'Checked the change ticket',
      },
    );
    const told = () => h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-personal' && /Checked the change ticket/.test(String(p.activity.text)));
    expect(told()).toHaveLength(0);
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(told()).toHaveLength(1);
    expect(String(told()[0]!.activity.text)).toMatch(/User Administrator was approved by Adele Vance/);
    const queued = await h.bot.store.db.selectFrom('outbox').select(['dedupe_key', 'status']).where('dedupe_key', '=', `notice:${row.id}:approved`).execute();
    expect(queued).toEqual([{ dedupe_key: `notice:${row.id}:approved`, status: 'sent' }]);
    // Told again by the next sweep, an event or the reconciler: the same notice, not sent twice; and the next
    // sweep does not look at an outcome it has already made sure of.
    const lookups = jest.spyOn(h.bot.store.conversations, 'get');
    await h.bot.delivery.sweep();
    expect(lookups).not.toHaveBeenCalled();
    lookups.mockRestore();
    await h.bot.delivery.notifyRequester(row.id, { outcome: 'granted' });
    await h.bot.delivery.drain();
    expect(told()).toHaveLength(1);
  });

  it('records a denial', async () => {
    const { pimId, row } = await pendingRequest();
    const res = await cardAction(h.bot.url, user(USER.megan), 'pim.deny', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'No change ticket for this work',
    });
    expect(res.body.statusCode).toBe(200);
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Denied');
    expect(sim.body.approval.steps[0]).toMatchObject({ reviewResult: 'Deny', reviewedBy: { id: USER.megan } });
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('denied');
  });

  it('refuses self-approval without calling PIM', async () => {
    // Alex is an approver of Security Operator and also eligible for it.
    const { pimId, row } = await pendingRequest(USER.alex, 'Security Operator');
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, user(USER.alex), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'I know what I am doing here',
    });
    expect(textOf(res.body.value)).toContain('cannot approve or deny your own request');
    const calls = await simJson(h.sim, 'GET', '/_sim/calls');
    expect(calls.body.value.filter((c: any) => c.method === 'PATCH')).toHaveLength(0);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
  });

  it('refuses someone who is not an approver of the role, and names who can decide', async () => {
    const { row } = await pendingRequest();
    const res = await cardAction(h.bot.url, user(USER.lynne), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Looks fine to me honestly',
    });
    expect(textOf(res.body.value)).toContain('Only approvers of User Administrator in PIM can decide on this request. Who can: Adele Vance, Megan Bowen.');
    // Every copy says who can approve while the request waits (the names PIM's policy keeps with its approvers).
    const posted = h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID).at(-1)!;
    for (const card of [res.body.value, posted.activity.attachments![0].content]) {
      const runs = JSON.stringify(card);
      expect(runs).toContain('"text":"Who can approve: "');
      expect(runs).toContain('"text":"Adele Vance, Megan Bowen"');
    }
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
  });

  it("the requester's own card reminds the approvers once, in the channel's thread; a second tap and anyone else are refused", async () => {
    const { row } = await pendingRequest();
    const threadReplies = () => h.connector.posts.filter((p) => p.conversationId.startsWith(`${CHANNEL_ID};messageid=`));
    // The requester's view (Teams' per-user refresh) carries the button.
    const mine = await cardAction(h.bot.url, user(USER.isaiah), 'pim.refresh', { requestId: row.id, version: row.version });
    expect(JSON.stringify(mine.body.value)).toContain('"verb":"pim.remind"');

    const reminded = await cardAction(h.bot.url, user(USER.isaiah), 'pim.remind', { requestId: row.id, version: row.version });
    expect(reminded.body.statusCode).toBe(200);
    expect(textOf(reminded.body.value)).toContain('I reminded Adele Vance, Megan Bowen');
    await h.bot.delivery.drain();
    expect(threadReplies()).toHaveLength(1);
    expect(threadReplies()[0]!.activity.text).toContain('asked me to remind you');

    const again = await cardAction(h.bot.url, user(USER.isaiah), 'pim.remind', { requestId: row.id, version: row.version });
    expect(textOf(again.body.value)).toMatch(/The approvers were reminded (just now|1 min ago); you can ask again in (29|30) min\./);
    const other = await cardAction(h.bot.url, user(USER.lynne), 'pim.remind', { requestId: row.id, version: row.version });
    expect(textOf(other.body.value)).toContain('Only the person who made the request can ask for a reminder.');
    expect(JSON.stringify(other.body.value)).not.toContain('"verb":"pim.remind"');
    await h.bot.delivery.drain();
    expect(threadReplies()).toHaveLength(1);
  });

  it('asks for a justification before recording anything', async () => {
    const { row } = await pendingRequest();
    const res = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'ok' });
    expect(textOf(res.body.value)).toContain('at least 10 characters');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
  });

  it('sends one PATCH for a double-click and for two approvers racing', async () => {
    const { pimId, row } = await pendingRequest();
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const data = { requestId: row.id, version: row.version, decisionJustification: 'Approved after checking the ticket' };
    const results = await Promise.all([
      cardAction(h.bot.url, user(USER.adele), 'pim.approve', data),
      cardAction(h.bot.url, user(USER.adele), 'pim.approve', data),
      cardAction(h.bot.url, user(USER.megan), 'pim.deny', { ...data, decisionJustification: 'Denied, not expected today' }),
    ]);
    expect(results.every((r) => r.body.statusCode === 200)).toBe(true);
    const calls = await simJson(h.sim, 'GET', '/_sim/calls');
    const patches = calls.body.value.filter((c: any) => c.method === 'PATCH' && /roleAssignmentApprovals/.test(c.path));
    expect(patches).toHaveLength(1);
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    const final = (await h.bot.store.requests.get(row.id))!;
    expect(['approved', 'denied']).toContain(final.status);
    expect(sim.body.approval.steps[0].reviewedBy.id).toBe(final.decided_by_id);
  });

  it('shows who decided when the request was decided in the portal meanwhile (409)', async () => {
    const { row } = await pendingRequest();
    const portal = await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: row.pim_request_id,
      approver: USER.megan,
      reviewResult: 'Deny',
      justification: 'Denied in the portal',
    });
    expect(portal.status).toBeLessThan(300);
    const res = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Approving from Teams now',
    });
    expect(textOf(res.body.value)).toContain('Megan Bowen already denied');
    const final = (await h.bot.store.requests.get(row.id))!;
    expect(final).toMatchObject({ status: 'denied', decided_by_id: USER.megan, decision_justification: 'Denied in the portal' });
  });

  it('closes the card as expired when PIM dropped the request after 24 hours', async () => {
    const { row } = await pendingRequest();
    const clock = await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: 25 * 60 });
    expect(clock.status).toBeLessThan(300);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Approving a day too late',
    });
    expect(textOf(res.body.value)).toContain('PIM drops requests nobody decides within 24 hours');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('expired');
    await h.bot.delivery.drain();
    expect(textOf(h.connector.updates.at(-1)!.activity)).not.toContain('Action.Execute');
  });

  it('gives the requester a status view and approvers the buttons on refresh', async () => {
    const { row } = await pendingRequest();
    const mine = await cardAction(h.bot.url, user(USER.isaiah), 'pim.refresh', { requestId: row.id, version: row.version });
    expect(textOf(mine.body.value)).not.toContain('pim.approve');
    const approver = await cardAction(h.bot.url, user(USER.adele), 'pim.refresh', { requestId: row.id, version: row.version });
    expect(textOf(approver.body.value)).toContain('pim.approve');
  });

  it('asks the approver to sign in when the token service has no token, then accepts the SSO token', async () => {
    const { pimId, row } = await pendingRequest();
    await simJson(h.sim, 'POST', '/_sim/signout', { user: USER.adele });
    const data = { requestId: row.id, version: row.version, decisionJustification: 'Approved after checking the ticket' };
    const first = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', data);
    expect(first.body.statusCode).toBe(401);
    expect(first.body.type).toBe('application/vnd.microsoft.activity.loginRequest');
    expect(first.body.value.tokenExchangeResource.uri).toContain('api://botid-');
    const bad = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', data, { authentication: { token: 'not-a-token' } });
    expect(bad.body.statusCode).toBe(412);
    const sso = await h.sim.issueUserAssertion(USER.adele);
    const second = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', data, { authentication: { token: sso } });
    expect(second.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('rejects forged action data for an unknown request', async () => {
    const res = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', {
      requestId: '00000000-0000-4000-8000-000000000000',
      version: 1,
      decisionJustification: 'whatever it is here',
    });
    expect(res.body.statusCode).toBe(400);
    const bad = await cardAction(h.bot.url, user(USER.adele), 'pim.approve', { requestId: 'x' });
    expect(bad.body.statusCode).toBe(400);
    expect(bad.body.value.message).toMatch(/requestId/);
  });

  it('uses the human-only rule for Global Administrator requests', async () => {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: ROLE.globalAdministrator,
      justification: GOOD,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.body.status).toBe('PendingApproval');
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${created.body.id}`);
    expect(sim.body.evaluation.evaluationOutcome).toBe('Approved');
    expect(sim.body.evaluation.reason[0]).toMatch(/human-only/);
  });
});

describe('roles whose PIM policy needs no approval', () => {
  it('posts no card: nobody has anything to decide', async () => {
    const seed = structuredClone(seedTenant);
    seed.roles.find((r) => r.id === ROLE.userAdministrator)!.policy.isApprovalRequired = false;
    const h = await startHarness({}, { seed });
    try {
      const created = await simJson(h.sim, 'POST', '/_sim/requests', { principal: USER.isaiah, role: 'User Administrator', justification: GOOD });
      expect(created.body.status).toBe('Granted');
      await h.bot.delivery.drain();
      const row = await h.bot.store.requests.byPimId(created.body.id);
      expect(row!.cards_posted_at).not.toBeNull();
      expect(h.connector.posts).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});

/**
 * What an approver's click waits on between the click and the invoke answer, from the simulator's call log
 * with 300 ms on every Graph call: reads that can run side by side do (PIM's approver list, its approval steps
 * as the approver once the token is in, the approver's profile while PIM records), so two Graph round trips
 * are made one after another: the approval steps, then the PATCH.
 */
describe('the approval click path', () => {
  const GRAPH = /^\/(v1\.0|beta)\//;
  const LATENCY_MS = 300;
  const POLICY_READ = 'GET /v1.0/policies/roleManagementPolicyAssignments';
  const MEMBERS_READ = 'GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user';
  const STEPS_READ = 'GET /beta/roleManagement/directory/roleAssignmentApprovals/{id}';
  const PATCH = 'PATCH /beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{id}';
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingRequest(role: string) {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role,
      justification: GOOD,
      durationMinutes: 60,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    return { pimId: created.body.id as string, row: (await h.bot.store.requests.byPimId(created.body.id))! };
  }

  /** Approves as `approver` with the latency on every Graph call; the Graph calls between the click and the answer. */
  async function approveSlowly(row: ApprovalRequestRow, approver: string) {
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '^/(v1\\.0|beta)/', latencyMs: LATENCY_MS, times: 1000 });
    const from = Date.now();
    const res = await cardAction(h.bot.url, user(approver), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    const to = Date.now();
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    expect(res.body.statusCode).toBe(200);
    expect(textOf(res.body.value)).not.toContain('pim.approve');
    const calls = await callsBetween(h, GRAPH, from, to);
    // Every call was answered before the click was.
    expect(calls.every((c) => c.status !== 0 && c.answeredAt && Date.parse(c.answeredAt) <= to)).toBe(true);
    return {
      calls: calls.map(shapeOf).sort(),
      /** How many Graph round trips the answer waited on one after another. */
      inSequence: longestChain(calls).length,
      /** What the PATCH waited for, one round trip after another. */
      toPatch: chainTo(calls, (c) => c.method === 'PATCH').map(shapeOf),
      /** The reads made side by side with PIM's approval steps read (it was in flight when they arrived and they when it did). */
      besideSteps: calls
        .filter((c) => {
          const steps = calls.find((s) => shapeOf(s) === STEPS_READ)!;
          return c !== steps && Date.parse(c.time) < Date.parse(steps.answeredAt!) && Date.parse(steps.time) < Date.parse(c.answeredAt!);
        })
        .map(shapeOf)
        .sort(),
    };
  }

  it('waits on two Graph round trips in sequence when the approvers are users: four calls, the steps read then the PATCH', async () => {
    const { pimId, row } = await pendingRequest('User Administrator');
    const { calls, inSequence, toPatch, besideSteps } = await approveSlowly(row, USER.adele);
    expect(calls).toEqual([POLICY_READ, STEPS_READ, 'GET /v1.0/users/{id}', PATCH].sort());
    expect(inSequence).toBe(2);
    expect(toPatch).toHaveLength(2);
    expect(besideSteps).toContain(POLICY_READ);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('reads the members of the approver group the card stored alongside the policy: five calls, still two in sequence', async () => {
    const { pimId, row } = await pendingRequest('Security Operator');
    expect(JSON.parse(row.display!).approverGroupIds).toEqual([GROUP.secOpsApprovers]);
    const { calls, inSequence, toPatch, besideSteps } = await approveSlowly(row, USER.megan);
    expect(calls).toEqual([POLICY_READ, MEMBERS_READ, STEPS_READ, 'GET /v1.0/users/{id}', PATCH].sort());
    expect(inSequence).toBe(2);
    expect(toPatch).toHaveLength(2);
    expect(besideSteps).toEqual(expect.arrayContaining([POLICY_READ, MEMBERS_READ]));
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('reads the group after the policy when the card stored no approver groups (a card posted before they were stored), and records all the same', async () => {
    const { pimId, row } = await pendingRequest('Security Operator');
    const { approverGroupIds: _, ...older } = JSON.parse(row.display!);
    await h.bot.store.requests.setDisplay(row.id, JSON.stringify(older));
    const { calls, inSequence, toPatch } = await approveSlowly(row, USER.megan);
    expect(calls).toEqual([POLICY_READ, MEMBERS_READ, STEPS_READ, 'GET /v1.0/users/{id}', PATCH].sort());
    expect(inSequence).toBe(3);
    expect(toPatch).toEqual([POLICY_READ, MEMBERS_READ, PATCH]);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('refuses a member of a group the card stored but the policy no longer names (the stored groups only start reads early)', async () => {
    const { row } = await pendingRequest('User Administrator');
    const display = JSON.parse(row.display!);
    // A stored group the User Administrator policy does not name: Patti is in it, and is no approver of the role.
    await h.bot.store.requests.setDisplay(row.id, JSON.stringify({ ...display, approverGroupIds: [GROUP.secOpsApprovers] }));
    const res = await cardAction(h.bot.url, user(USER.patti), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(textOf(res.body.value)).toContain('Only approvers of User Administrator');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
  });
});
