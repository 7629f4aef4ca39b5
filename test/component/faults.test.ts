import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

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
});
