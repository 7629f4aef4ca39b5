import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { USER } from '../../sim/seed';
import { executeAction } from '../support/card-actions';
import { cardAction, CHANNEL_ID, type Harness, pendingRequest, personalMessage, sayHello, simJson, startHarness, teamsUser } from '../support/harness';
import { approvalPatches, isFinal, pimOutcome, shownCards, shownIn, until } from '../support/outcomes';
import { recordOutgoing, type OutgoingRequests } from '../support/outgoing-requests';

const adele = teamsUser(USER.adele);
const DECISION = 'Verified with the CFO by phone';
/** The requester's chat with the bot (Isaiah files every request here). */
const ISAIAH_CHAT = 'a:isaiah-faults';
const APPROVED_NOTICE = /was approved by Adele Vance/;
/** The PATCH of a PIM approval step, as the bot's Graph client sends it (path and query). */
const STEP_PATCH = /\/roleAssignmentApprovals\/[^/]+\/steps\/[^/?]+(\?|$)/;

/**
 * The outcome of one approval by Adele, where it shows: PIM holds exactly her decision, the channel shows
 * exactly one card, final and naming her, and the requester's chat exactly one notice.
 */
async function expectApprovedOnceByAdele(h: Harness, pimId: string): Promise<void> {
  expect(await pimOutcome(h, pimId)).toEqual({ status: 'Granted', decisions: [{ reviewResult: 'Approve', reviewedBy: USER.adele, justification: DECISION }] });
  const cards = shownCards(h);
  expect(cards).toHaveLength(1);
  expect(isFinal(cards[0]!)).toBe(true);
  expect(cards[0]!.text).toContain('Adele Vance');
  expect(shownIn(h, ISAIAH_CHAT, APPROVED_NOTICE)).toHaveLength(1);
}

describe('faults lose nothing', () => {
  let h: Harness;
  let sent: OutgoingRequests;
  // The bot's clock, moved past the outbox's backoff when a test needs the retry now.
  let offsetMs = 0;
  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now: () => new Date(Date.now() + offsetMs) });
    // The requester has a chat with the bot, so the outcome of each request is told there.
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    // What the bot (in this process) sends, counted on its side: a call the simulator never saw counts too.
    sent = recordOutgoing();
  });
  afterEach(async () => {
    sent.stop();
    await h.close();
  });

  const request = async () => (await pendingRequest(h)).pimId;

  it('posts the card once Teams recovers, after the outbox backs off, and only once', async () => {
    const before = h.connector.calls.length;
    h.connector.failNext(502, 1000);
    const pimId = await request();
    expect(shownCards(h)).toHaveLength(0);
    expect(h.connector.calls.slice(before).map((c) => c.status)).toEqual([502]);
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    const queued = await h.bot.outbox.byDedupeKey(`card:${row.id}:${CHANNEL_ID}`);
    expect(queued).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringMatching(/^502/) });
    expect(await h.bot.store.cardCopies.of(row.id)).toHaveLength(0);
    h.connector.clearFailures();
    // A sweep does not post it again: it is already owed by the outbox.
    await h.bot.delivery.sweep();
    expect(h.connector.calls.slice(before)).toHaveLength(1);
    offsetMs += 5 * 60_000; // past the backoff (2 s doubling, capped at 5 min)
    await h.bot.delivery.drain();
    expect(shownCards(h)).toHaveLength(1);
    expect(await h.bot.store.cardCopies.of(row.id)).toEqual([expect.objectContaining({ activity_id: shownCards(h)[0]!.id, rendered_version: row.version })]);
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(shownCards(h)).toHaveLength(1);
    expect(h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID)).toHaveLength(1);
  });

  it('brings every copy to its final state and tells the requester once when Teams failed the update and the notice', async () => {
    const pimId = await request();
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    // Teams fails everything for a while: the card update and the requester's notice.
    h.connector.failNext(503, 1000);
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(0);
    expect(shownIn(h, ISAIAH_CHAT, APPROVED_NOTICE)).toHaveLength(0);
    expect(await h.bot.store.requests.withStaleCards()).toHaveLength(1);
    h.connector.clearFailures();
    offsetMs += 5 * 60_000;
    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(1);
    expect(JSON.stringify(h.connector.updates[0]!.activity)).toContain('Adele Vance');
    expect(await h.bot.store.requests.withStaleCards()).toHaveLength(0);
    // Later sweeps find nothing more to send.
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(h.connector.updates).toHaveLength(1);
    await expectApprovedOnceByAdele(h, pimId);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
  });

  it('records the decision once when Graph throttles the PATCH with Retry-After', async () => {
    const pimId = await request();
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    const fault = await simJson(h.sim, 'POST', '/_sim/faults', {
      method: 'PATCH',
      pathPattern: 'roleAssignmentApprovals',
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    expect(fault.status).toBeLessThan(300);
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    // PIM got two PATCHes (the throttled one and its retry), the bot sent exactly those two, and one decision stands.
    expect((await approvalPatches(h)).map((p) => [p.status, p.abandoned ?? false])).toEqual([
      [429, false],
      [204, false],
    ]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(2);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
  });

  it('keeps the request pending and says so when Graph fails the PATCH', async () => {
    const pimId = await request();
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 500, times: 10 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(JSON.stringify(res.body.value)).toMatch(/PIM did not answer/);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
    expect((await pimOutcome(h, pimId)).decisions).toEqual([]);
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(again.body.statusCode).toBe(200);
    // One PATCH per click: the failed one and the recorded one.
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([500, 204]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(2);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
  });

  it("after PIM fails the PATCH, every copy says the approver's decision was not recorded and the approver is told once", async () => {
    await personalMessage(h, USER.adele, 'hi');
    const toAdele = () => h.connector.posts.filter((p) => p.conversationId === `a:${adele.teamsUserId}-personal`).map((p) => JSON.stringify(p.activity));
    const before = toAdele().length;
    const { pimId, row } = await pendingRequest(h);
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 500, times: 10 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(JSON.stringify(res.body.value)).toMatch(/Adele Vance's decision was not recorded in PIM; please decide again/);
    await h.bot.delivery.drain();
    const released = (await h.bot.store.requests.get(row.id))!;
    expect(released.status).toBe('pending');
    for (const post of await h.bot.store.cardCopies.of(row.id)) {
      expect(post.rendered_version).toBe(released.version);
      const last = h.connector.updates.filter((u) => u.activityId === post.activity_id).at(-1);
      expect(JSON.stringify(last?.activity)).toMatch(/Adele Vance's decision was not recorded in PIM; please decide again/);
    }
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    // The click's time in Adele's own zone (her mailbox's: London), named.
    expect(toAdele().slice(before)).toEqual([
      expect.stringMatching(/Your decision to approve .* at \w{3} \d{1,2} \w{3}, \d\d:\d\d (GMT|BST) was not recorded in PIM/),
    ]);
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: released.version, decisionJustification: DECISION });
    expect(JSON.stringify(again.body.value)).not.toContain('was not recorded in PIM');
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([500, 204]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(2);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
    // Adele heard "not recorded" once, and nothing more once it was recorded.
    expect(toAdele().slice(before)).toHaveLength(1);
  });

  it('says nothing was recorded when the Entra token endpoint fails the on-behalf-of exchange, and records on the next click', async () => {
    const pimId = await request();
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'POST', pathPattern: '/oauth2/v2.0/token$', status: 503, times: 20 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    expect(JSON.stringify(res.body.value)).toMatch(/may not be recorded|nothing was recorded/i);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
    // No token, no PATCH: neither PIM nor the bot's side saw one.
    expect(await approvalPatches(h)).toHaveLength(0);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(0);
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, adele, 'pim.approve', {
      requestId: row.id,
      version: (await h.bot.store.requests.get(row.id))!.version,
      decisionJustification: DECISION,
    });
    expect(again.body.statusCode).toBe(200);
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([204]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
  });

  it('posts the card once the Bot Connector stops answering 504', async () => {
    const before = h.connector.calls.length;
    h.connector.failNext(504, 3);
    const pimId = await request();
    expect(shownCards(h)).toHaveLength(0);
    // Each pass after the backoff (2 s doubling, capped at 5 min) tries once more.
    for (let pass = 0; pass < 3; pass++) {
      offsetMs += 6 * 60_000;
      await h.bot.delivery.drain();
    }
    expect(h.connector.calls.slice(before).map((c) => c.status)).toEqual([504, 504, 504, 200]);
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    expect(await h.bot.store.cardCopies.of(row.id)).toHaveLength(1);
    expect(shownCards(h)).toHaveLength(1);
  });
});

describe('a slow PIM', () => {
  let h: Harness;
  let sent: OutgoingRequests;
  beforeEach(async () => {
    h = await startHarness({ APPROVAL_INVOKE_BUDGET_MS: '300' });
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    sent = recordOutgoing();
  });
  afterEach(async () => {
    sent.stop();
    await h.close();
  });

  it('shows the approver "recording your decision…" at once, then every copy shows the result, with one PATCH', async () => {
    const { pimId, row } = await pendingRequest(h);
    // PIM takes far longer than the invoke's budget (300 ms): the answer must come before PIM's.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', latencyMs: 3000, times: 1 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    expect(JSON.stringify(res.body.value)).toContain('Recording your decision in PIM');
    expect(JSON.stringify(res.body.value)).not.toContain('pim.approve');
    // Answered while PIM still holds the PATCH (state, not a stopwatch, says the answer came first).
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([0]);
    expect((await pimOutcome(h, pimId)).decisions).toEqual([]);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('recording');

    await h.connector.waitFor(() => h.connector.updates.some((u) => JSON.stringify(u.activity).includes('Adele Vance')), 20_000);
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([204]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
  });
});

describe('a restart in the middle of recording a decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
  });
  afterEach(async () => {
    await h.close();
  });

  async function claimedRequest(pimWasPatched: boolean) {
    const { pimId, row } = await pendingRequest(h);
    // What a process that died after claiming leaves behind: a claim, and maybe a PATCH PIM applied.
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await h.bot.store.requests.transition(
      row,
      { type: 'claim' },
      {
        claimed_by: USER.adele,
        claimed_at: longAgo,
        claimed_result: 'Approve',
        decision_justification: 'Verified with the CFO by phone',
      },
    );
    if (pimWasPatched) {
      await simJson(h.sim, 'POST', '/_sim/decide', {
        requestId: pimId,
        approver: USER.adele,
        reviewResult: 'Approve',
        justification: 'Verified with the CFO by phone',
      });
    }
    return { id: row.id, pimId };
  }

  it('closes the card as approved by the claimant when PIM recorded the PATCH', async () => {
    const { id, pimId } = await claimedRequest(true);
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(await h.bot.store.requests.get(id)).toMatchObject({
      status: 'approved',
      decided_by_id: USER.adele,
      decided_by_name: 'Adele Vance',
      decision_justification: DECISION,
      claimed_by: null,
    });
    // Closed from PIM's state: no PATCH of its own, one card in its final state, one notice; later sweeps add nothing.
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(await approvalPatches(h)).toHaveLength(0);
    await expectApprovedOnceByAdele(h, pimId);
  });

  it('releases the claim when PIM never got the decision, so approvers can act again', async () => {
    const { id, pimId } = await claimedRequest(false);
    await h.bot.delivery.sweep();
    const row = (await h.bot.store.requests.get(id))!;
    expect(row).toMatchObject({ status: 'pending', claimed_by: null, decision_justification: null });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    expect((await h.bot.store.requests.get(id))!.status).toBe('approved');
    expect((await approvalPatches(h)).map((p) => p.status)).toEqual([204]);
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
  });

  it('says on every copy and to the approver that a click a dead replica left was not recorded, once; a new click works', async () => {
    const hello = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        id: 'm1',
        text: 'hi',
        channelId: 'msteams',
        serviceUrl: h.connector.serviceUrl,
        from: { id: adele.teamsUserId, name: adele.displayName, aadObjectId: adele.id },
        recipient: { id: '28:bot', name: 'PIM Approvals' },
        conversation: { id: 'a:adele-personal', conversationType: 'personal', tenantId: h.env.TENANT_ID },
      }),
    });
    expect(hello.status).toBe(200);
    const { id, pimId } = await claimedRequest(false);
    const toAdele = () => h.connector.posts.filter((p) => p.conversationId === 'a:adele-personal').map((p) => JSON.stringify(p.activity));
    const before = toAdele().length;
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    const row = (await h.bot.store.requests.get(id))!;
    expect(row).toMatchObject({ status: 'pending', claimed_by: null });
    const copies = (await h.bot.store.cardCopies.of(id)).map((p) => p.activity_id);
    expect(copies).toHaveLength(1);
    expect(shownCards(h).map((c) => c.id)).toEqual(copies);
    for (const activityId of copies) {
      const last = h.connector.updates.filter((u) => u.activityId === activityId).at(-1);
      expect(JSON.stringify(last?.activity)).toMatch(/Adele Vance's decision was not recorded in PIM; please decide again/);
      expect(JSON.stringify(last?.activity)).toContain('pim.approve');
    }
    // Exactly one message to the approver, naming the request, however many sweeps run.
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    const told = toAdele().slice(before);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/Your decision to approve .*'s request for .* was not recorded in PIM/);

    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    expect(await h.bot.store.requests.get(id)).toMatchObject({ status: 'approved', decided_by_id: USER.adele, last_release: null });
    expect(JSON.stringify(res.body.value)).not.toContain('was not recorded in PIM');
    await h.bot.delivery.drain();
    await expectApprovedOnceByAdele(h, pimId);
    expect(toAdele().slice(before)).toHaveLength(1);
  });
});

describe('a PATCH PIM applied whose answer was lost', () => {
  let h: Harness;
  let sent: OutgoingRequests;
  beforeEach(async () => {
    h = await startHarness({ PIM_DECISION_TIMEOUT_MS: '400', APPROVAL_INVOKE_BUDGET_MS: '5000' });
    sent = recordOutgoing();
  });
  afterEach(async () => {
    sent.stop();
    await h.close();
  });

  it("credits the clicking approver from PIM's approval step: row, one audit row, card and requester notice", async () => {
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    const { pimId, row } = await pendingRequest(h);
    // PIM applies the PATCH; its answer comes after the client gave up.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', answerAfterMs: 1500, times: 1 });
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    expect(await h.bot.store.requests.get(row.id)).toMatchObject({
      status: 'approved',
      decided_by_id: USER.adele,
      decided_by_name: 'Adele Vance',
      claimed_by: null,
    });
    expect(JSON.stringify(res.body.value)).toContain('Adele Vance');
    expect(JSON.stringify(res.body.value)).not.toContain('pim.approve');
    const results: Array<{ kind: string; actor: string; outcome: string; requestId: string | null }> = [];
    for await (const r of h.bot.store.audit.rows()) if (r.kind === 'graph.result' && r.request_id === row.id) results.push(r as any);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ actor: USER.adele, outcome: 'recorded' });
    await h.bot.delivery.drain();
    // The bot sent one PATCH and gave up on its answer; PIM's log has it, abandoned (its status once PIM answered: 204).
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
    await until('PIM has answered the held PATCH', async () => (await approvalPatches(h)).every((p) => p.status !== 0));
    expect((await approvalPatches(h)).map((p) => ({ status: p.status, abandoned: p.abandoned ?? false, oid: p.oid }))).toEqual([
      { status: 204, abandoned: true, oid: USER.adele },
    ]);
    await expectApprovedOnceByAdele(h, pimId);
  });
});

describe('Teams answering later than the outbox waits (its send timeout at 800 ms)', () => {
  /** The outbox's send timeout in this bot (OUTBOX_SEND_TIMEOUT_MS); Teams answers ten times later. */
  const SEND_TIMEOUT_MS = 800;
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    // The manifest id lets the outbox find the bot's 1:1 chat with the requester in Graph.
    h = await startHarness(
      { OUTBOX_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID },
      { now, sweepIntervalMs: 600_000 },
    );
    while ((await h.bot.scheduler.runDue()) > 0);
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
  });
  afterEach(async () => {
    await h.close();
  });

  /**
   * Past the outbox's backoff after a timed-out send (2 s, with jitter), sweeping and sending each time. The
   * bot's clock stays within a minute of Teams' (the simulator's, real time): the outbox looks for an earlier
   * copy from two minutes before its attempt, and a bot clock far ahead of Teams' would hide the copy.
   */
  async function settle(): Promise<void> {
    for (let pass = 0; pass < 3; pass++) {
      offsetMs += 5_000;
      await h.bot.delivery.sweep();
      await h.bot.delivery.drain();
    }
  }

  const postsTo = (conversationId: string, from: number) =>
    h.connector.calls.slice(from).filter((c) => c.method === 'POST' && c.conversationId === conversationId);

  it("shows one approval card, final after the decision, and one notice in the requester's chat", async () => {
    const from = h.connector.calls.length;
    // The approval card's post: in the channel at once, its answer ten send timeouts later.
    h.connector.slowNext('POST', SEND_TIMEOUT_MS * 10);
    const { pimId } = await pendingRequest(h, { justification: 'Reset MFA for the locked-out CFO under incident INC0012345' });
    expect(h.connector.slowed).toBe(1);
    await settle();
    expect(shownCards(h)).toHaveLength(1);
    expect(isFinal(shownCards(h)[0]!)).toBe(false);

    // The requester's notice: the same, after Adele approves on the card the channel shows.
    h.connector.slowNext('POST', SEND_TIMEOUT_MS * 10);
    const approve = executeAction(shownCards(h)[0]!.card, 'pim.approve');
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { ...approve.data, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    expect(h.connector.slowed).toBe(2);
    await settle();

    await expectApprovedOnceByAdele(h, pimId);
    // Nothing was posted twice, not even for a moment: one POST reached the channel and one the chat.
    expect(postsTo(CHANNEL_ID, from)).toHaveLength(1);
    expect(postsTo(ISAIAH_CHAT, from)).toHaveLength(1);
    expect(await approvalPatches(h)).toHaveLength(1);
  });

  it('sends a notice that never reached Teams again, and the one copy stays after the outbox looks for a late first copy', async () => {
    const { pimId, row } = await pendingRequest(h, { justification: 'Reset MFA for the locked-out CFO under incident INC0012345' });
    const from = h.connector.calls.length;
    // The notice's first post gets no answer and is not carried out: the outbox times out, finds no copy, sends again.
    h.connector.hangNext('POST', 1);
    const res = await cardAction(h.bot.url, adele, 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });
    expect(res.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    expect(h.connector.hung).toBe(1);
    await settle();
    expect(shownIn(h, ISAIAH_CHAT, APPROVED_NOTICE)).toHaveLength(1);
    // A minute later the outbox looks once more for a late first copy (Teams may show one late): none came.
    offsetMs += 61_000;
    await h.bot.delivery.drain();
    await settle();
    await expectApprovedOnceByAdele(h, pimId);
    expect(postsTo(ISAIAH_CHAT, from).map((c) => c.status)).toEqual([0, 200]);
  });
});
