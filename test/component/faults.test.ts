import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, Harness, pendingRequest, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const adele = teamsUser(USER.adele);

describe('faults lose nothing', () => {
  let h: Harness;
  // The bot's clock, moved past the outbox's backoff when a test needs the retry now.
  let offsetMs = 0;
  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now: () => new Date(Date.now() + offsetMs) });
  });
  afterEach(async () => {
    await h.close();
  });

  const request = async () => (await pendingRequest(h)).pimId;

  it('posts the card once Teams recovers, after the outbox backs off, and only once', async () => {
    h.connector.failNext(502, 1000);
    const pimId = await request();
    expect(h.connector.posts).toHaveLength(0);
    expect(h.connector.calls.map((c) => c.status)).toEqual([502]);
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    const queued = await h.bot.outbox.byDedupeKey(`card:${row.id}:${CHANNEL_ID}`);
    expect(queued).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/^502/) });
    expect(await h.bot.store.cardPosts(row.id)).toHaveLength(0);
    h.connector.clearFailures();
    // A sweep does not post it again: it is already owed by the outbox.
    await h.bot.delivery.sweep();
    expect(h.connector.calls).toHaveLength(1);
    offsetMs += 5 * 60_000; // past the backoff (2 s doubling, capped at 5 min)
    await h.bot.delivery.drain();
    expect(h.connector.posts).toHaveLength(1);
    expect(await h.bot.store.cardPosts(row.id)).toEqual([expect.objectContaining({ activity_id: h.connector.posts[0]!.activityId, rendered_version: row.version })]);
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(h.connector.posts).toHaveLength(1);
  });

  it('brings every copy to its final state on the next sweep when the update failed', async () => {
    const pimId = await request();
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    h.connector.failNext(503, 1000);
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(0);
    expect(await h.bot.store.requestsWithStaleCards()).toHaveLength(1);
    h.connector.clearFailures();
    offsetMs += 5 * 60_000;
    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(1);
    expect(JSON.stringify(h.connector.updates[0]!.activity)).toContain('Adele Vance');
    expect(await h.bot.store.requestsWithStaleCards()).toHaveLength(0);
  });

  it('records the decision once when Graph throttles the PATCH with Retry-After', async () => {
    const pimId = await request();
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    const fault = await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 429, retryAfterSeconds: 1, times: 1 });
    expect(fault.status).toBeLessThan(300);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    const patches = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value.filter((c: any) => c.method === 'PATCH');
    expect(patches.map((p: any) => p.status)).toEqual([429, 204]);
  });

  it('keeps the request pending and says so when Graph fails the PATCH', async () => {
    const pimId = await request();
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 500, times: 10 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(JSON.stringify(res.body.value)).toMatch(/PIM did not answer/);
    expect((await h.bot.store.getRequest(row.id))!.status).toBe('pending');
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(again.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('after PIM fails the PATCH, every copy says the approver\'s decision was not recorded and the approver is told once', async () => {
    await personalMessage(h, USER.adele, 'hi');
    const toAdele = () => h.connector.posts.filter((p) => p.conversationId === `a:${adele.teamsUserId}-personal`).map((p) => JSON.stringify(p.activity));
    const before = toAdele().length;
    const { pimId, row } = await pendingRequest(h);
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 500, times: 10 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(JSON.stringify(res.body.value)).toMatch(/Adele Vance's decision at .* was not recorded in PIM; please decide again/);
    await h.bot.delivery.drain();
    const released = (await h.bot.store.getRequest(row.id))!;
    expect(released.status).toBe('pending');
    for (const post of await h.bot.store.cardPosts(row.id)) {
      expect(post.rendered_version).toBe(released.version);
      const last = h.connector.updates.filter((u) => u.activityId === post.activity_id).at(-1);
      expect(JSON.stringify(last?.activity)).toMatch(/Adele Vance's decision at .* was not recorded in PIM; please decide again/);
    }
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(toAdele().slice(before)).toEqual([expect.stringMatching(/Your decision to approve .* was not recorded in PIM/)]);
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: released.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(JSON.stringify(again.body.value)).not.toContain('was not recorded in PIM');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('says nothing was recorded when the Entra token endpoint fails the on-behalf-of exchange, and records on the next click', async () => {
    const pimId = await request();
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'POST', pathPattern: '/oauth2/v2.0/token$', status: 503, times: 20 });
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    expect(JSON.stringify(res.body.value)).toMatch(/may not be recorded|nothing was recorded/i);
    expect((await h.bot.store.getRequest(row.id))!.status).toBe('pending');
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(0);
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: (await h.bot.store.getRequest(row.id))!.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(again.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
  });

  it('posts the card once the Bot Connector stops answering 504', async () => {
    h.connector.failNext(504, 3);
    const pimId = await request();
    expect(h.connector.posts).toHaveLength(0);
    // Each pass after the backoff (2 s doubling, capped at 5 min) tries once more.
    for (let pass = 0; pass < 3; pass++) {
      offsetMs += 6 * 60_000;
      await h.bot.delivery.drain();
    }
    expect(h.connector.calls.map((c) => c.status)).toEqual([504, 504, 504, 200]);
    const row = (await h.bot.store.getRequestByPimId(pimId))!;
    expect(await h.bot.store.cardPosts(row.id)).toHaveLength(1);
  });
});

describe('a slow PIM', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ APPROVAL_INVOKE_BUDGET_MS: '300' });
  });
  afterEach(async () => {
    await h.close();
  });

  it('shows the approver "recording your decision…" at once, then every copy shows the result, with one PATCH', async () => {
    const { row } = await pendingRequest(h);
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', latencyMs: 1500, times: 1 });
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const started = Date.now();
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(Date.now() - started).toBeLessThan(1400);
    expect(res.body.statusCode).toBe(200);
    expect(JSON.stringify(res.body.value)).toContain('Recording your decision in PIM');
    expect(JSON.stringify(res.body.value)).not.toContain('pim.approve');
    expect((await h.bot.store.getRequest(row.id))!.status).toBe('recording');

    await h.connector.waitFor(() => h.connector.updates.some((u) => JSON.stringify(u.activity).includes('Adele Vance')));
    expect((await h.bot.store.getRequest(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    const patches = ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.method === 'PATCH');
    expect(patches.map((p) => p.status)).toEqual([204]);
  });
});

describe('a restart in the middle of recording a decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function claimedRequest(pimWasPatched: boolean) {
    const { pimId, row } = await pendingRequest(h);
    // What a process that died after claiming leaves behind: a claim, and maybe a PATCH PIM applied.
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await h.bot.store.updateRequestIfVersion(row.id, row.version, { status: 'recording', claimed_by: USER.adele, claimed_at: longAgo, claimed_result: 'Approve', decision_justification: 'Verified with the CFO by phone' });
    if (pimWasPatched) {
      await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.adele, reviewResult: 'Approve', justification: 'Verified with the CFO by phone' });
    }
    return row.id;
  }

  it('closes the card as approved by the claimant when PIM recorded the PATCH', async () => {
    const id = await claimedRequest(true);
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(await h.bot.store.getRequest(id)).toMatchObject({ status: 'approved', decided_by_id: USER.adele, decided_by_name: 'Adele Vance', decision_justification: 'Verified with the CFO by phone', claimed_by: null });
    expect(JSON.stringify(h.connector.updates.at(-1)!.activity)).toContain('Adele Vance');
  });

  it('releases the claim when PIM never got the decision, so approvers can act again', async () => {
    const id = await claimedRequest(false);
    await h.bot.delivery.sweep();
    const row = (await h.bot.store.getRequest(id))!;
    expect(row).toMatchObject({ status: 'pending', claimed_by: null, decision_justification: null });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    expect((await h.bot.store.getRequest(id))!.status).toBe('approved');
  });

  it('says on every copy and to the approver that a click a dead replica left was not recorded, once; a new click works', async () => {
    const hello = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message', id: 'm1', text: 'hi', channelId: 'msteams', serviceUrl: h.connector.serviceUrl,
        from: { id: adele.teamsUserId, name: adele.displayName, aadObjectId: adele.id },
        recipient: { id: '28:bot', name: 'PIM Approvals' },
        conversation: { id: 'a:adele-personal', conversationType: 'personal', tenantId: h.env.TENANT_ID },
      }),
    });
    expect(hello.status).toBe(200);
    const id = await claimedRequest(false);
    const toAdele = () => h.connector.posts.filter((p) => p.conversationId === 'a:adele-personal').map((p) => JSON.stringify(p.activity));
    const before = toAdele().length;
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    const row = (await h.bot.store.getRequest(id))!;
    expect(row).toMatchObject({ status: 'pending', claimed_by: null });
    const copies = (await h.bot.store.cardPosts(id)).map((p) => p.activity_id);
    expect(copies.length).toBeGreaterThan(0);
    for (const activityId of copies) {
      const last = h.connector.updates.filter((u) => u.activityId === activityId).at(-1);
      expect(JSON.stringify(last?.activity)).toMatch(/Adele Vance's decision at .* was not recorded in PIM; please decide again/);
      expect(JSON.stringify(last?.activity)).toContain('pim.approve');
    }
    // Exactly one message to the approver, naming the request, however many sweeps run.
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    const told = toAdele().slice(before);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/Your decision to approve .*'s request for .* was not recorded in PIM/);

    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    expect(await h.bot.store.getRequest(id)).toMatchObject({ status: 'approved', decided_by_id: USER.adele, last_release: null });
    expect(JSON.stringify(res.body.value)).not.toContain('was not recorded in PIM');
  });
});

describe('a PATCH PIM applied whose answer was lost', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ PIM_DECISION_TIMEOUT_MS: '400', APPROVAL_INVOKE_BUDGET_MS: '5000' });
  });
  afterEach(async () => {
    await h.close();
  });

  it('credits the clicking approver from PIM\'s approval step: row, one audit row, card and requester notice', async () => {
    const isaiah = teamsUser(USER.isaiah);
    const hello = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message', id: 'm1', text: 'hi', channelId: 'msteams', serviceUrl: h.connector.serviceUrl,
        from: { id: isaiah.teamsUserId, name: isaiah.displayName, aadObjectId: isaiah.id },
        recipient: { id: '28:bot', name: 'PIM Approvals' },
        conversation: { id: 'a:isaiah-personal', conversationType: 'personal', tenantId: h.env.TENANT_ID },
      }),
    });
    expect(hello.status).toBe(200);
    const { pimId, row } = await pendingRequest(h);
    // PIM applies the PATCH; its answer comes after the client gave up.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', answerAfterMs: 1500, times: 1 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    expect(await h.bot.store.getRequest(row.id)).toMatchObject({ status: 'approved', decided_by_id: USER.adele, decided_by_name: 'Adele Vance', claimed_by: null });
    expect(JSON.stringify(res.body.value)).toContain('Adele Vance');
    expect(JSON.stringify(res.body.value)).not.toContain('pim.approve');
    const results: Array<{ kind: string; actor: string; outcome: string; requestId: string | null }> = [];
    for await (const r of h.bot.store.audit.rows()) if (r.kind === 'graph.result' && r.request_id === row.id) results.push(r as any);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ actor: USER.adele, outcome: 'recorded' });
    await h.bot.delivery.drain();
    expect(JSON.stringify(h.connector.updates.at(-1)!.activity)).toContain('Adele Vance');
    const notice = h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-personal').at(-1)!;
    expect(JSON.stringify(notice.activity)).toMatch(/approved by Adele Vance/);
  });
});
