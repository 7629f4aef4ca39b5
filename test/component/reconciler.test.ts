import { Writable } from 'node:stream';
import pino from 'pino';
import { DECIDED_OUTSIDE_TEAMS, Reconciler } from '../../services/jobs/reconciler';
import { createGraphClient } from '../../services/graph/graph-client';
import { readRequestStatuses } from '../../services/graph/pim-requests';
import { ROLE, seedTenant, USER, type SeedTenant } from '../../sim/seed';
import { GraphPimApprovals } from '../../services/graph/pim-approvals';
import { botAppCredential, delegatedGraphToken, graphClientWithToken } from '../../sim/test-support';
import { type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const REQ = '/roleManagement/directory/roleAssignmentScheduleRequests';
const cardOf = (a: { activity: any }) => a.activity.attachments[0].content;
const textOf = (x: unknown) => JSON.stringify(x);

describe('the reconciler brings cards in line with PIM', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingRequest(principal: string = USER.isaiah, role = 'User Administrator') {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal,
      role,
      justification: GOOD,
      durationMinutes: 120,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(created.body.id);
    expect(row?.status).toBe('pending');
    return { pimId: created.body.id as string, row: row! };
  }

  /** One reconciliation pass, then the outbox sends the card updates it queued. */
  async function reconcile() {
    const counts = await h.bot.reconciler.reconcileOnce();
    await h.bot.delivery.drain();
    return counts;
  }

  async function batchCalls(): Promise<number[]> {
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    return calls.filter((c) => c.path === '/v1.0/$batch').map((c) => c.status);
  }

  it('puts a decision taken in the PIM portal on every card copy, without buttons', async () => {
    const { pimId, row } = await pendingRequest();
    expect(h.connector.posts).toHaveLength(1);
    const portal = await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: pimId,
      approver: USER.megan,
      reviewResult: 'Approve',
      justification: 'Approved in the portal',
    });
    expect(portal.status).toBe(200);

    const counts = await reconcile();
    expect(counts).toMatchObject({ checked: 1, approved: 1, open: 0, unread: 0 });
    const final = (await h.bot.store.requests.get(row.id))!;
    expect(final).toMatchObject({ status: 'approved', decided_by_name: DECIDED_OUTSIDE_TEAMS, decided_by_id: null, version: row.version + 1 });
    expect(final.decision_justification).toMatch(/outside Teams/);

    expect(h.connector.updates).toHaveLength(1);
    expect(h.connector.updates[0]!.activityId).toBe(h.connector.posts[0]!.activityId);
    const card = cardOf(h.connector.updates[0]!);
    expect(textOf(card)).toContain('Approved in PIM, outside Teams.');
    expect(textOf(card)).not.toContain('Action.Execute');
    expect(textOf(card)).not.toContain('Input.Text');
    expect(card.refresh).toBeUndefined();

    // A second pass finds nothing left to do.
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    expect(await reconcile()).toMatchObject({ checked: 0 });
    expect(await batchCalls()).toEqual([]);
    expect(h.connector.updates).toHaveLength(1);
  });

  describe("a portal decision keeps its decider when PIM's approval steps can be read", () => {
    const reconcilerWith = (steps: GraphPimApprovals) =>
      new Reconciler({
        store: h.bot.store,
        delivery: h.bot.delivery,
        readStatuses: (ids, signal, kind) => readRequestStatuses(createGraphClient(h.sim.url, botAppCredential(h.sim)), ids, signal, { kind }),
        readDecisionSteps: (row) => steps.steps(row.pim_request_id),
        log: pino({ level: 'silent' }),
      });

    it('records the reviewer, time and justification from PIM in the row, the audit entry, the card and the requester notice', async () => {
      await personalMessage(h, USER.isaiah, 'hi');
      const { pimId, row } = await pendingRequest();
      await simJson(h.sim, 'POST', '/_sim/decide', {
        requestId: pimId,
        approver: USER.megan,
        reviewResult: 'Approve',
        justification: 'Approved in the portal',
      });
      // Graph lets only a user (delegated) read approvals: here an approver's token.
      const delegated = new GraphPimApprovals(graphClientWithToken(h.sim, () => delegatedGraphToken(h.sim, USER.megan), 'beta'));
      expect(await reconcilerWith(delegated).reconcileOnce()).toMatchObject({ approved: 1 });
      await h.bot.delivery.drain();
      const final = (await h.bot.store.requests.get(row.id))!;
      expect(final).toMatchObject({
        status: 'approved',
        decided_by_id: USER.megan,
        decided_by_name: 'Megan Bowen',
        decision_justification: 'Approved in the portal',
      });
      const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
      expect(textOf(sim.body)).toContain(final.decided_at!.slice(0, 16));
      const closed: any[] = [];
      for await (const r of h.bot.store.audit.rows()) if (r.kind === 'request.closed' && r.request_id === row.id) closed.push(r);
      expect(closed).toHaveLength(1);
      expect(closed[0]).toMatchObject({ actor: USER.megan, outcome: 'approved' });
      expect(textOf(cardOf(h.connector.updates.at(-1)!))).toContain('Megan Bowen');
      const notice = h.connector.posts.filter((p) => p.conversationId === `a:${teamsUser(USER.isaiah).teamsUserId}-personal`).at(-1)!;
      expect(textOf(notice.activity)).toMatch(/approved by Megan Bowen at .*: \\"Approved in the portal\\"/);
    });

    it("by default reads them as an approver who signed in to the bot: Megan's sign-in names Adele, who denied in the portal", async () => {
      // Megan has a chat with the bot and a stored sign-in (the one her clicks use); she did not decide.
      await personalMessage(h, USER.megan, 'hi');
      await personalMessage(h, USER.isaiah, 'hi');
      const { pimId, row } = await pendingRequest();
      await simJson(h.sim, 'POST', '/_sim/decide', {
        requestId: pimId,
        approver: USER.adele,
        reviewResult: 'Deny',
        justification: 'No change ticket for this',
      });
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      expect(await reconcile()).toMatchObject({ denied: 1 });

      expect(await h.bot.store.requests.get(row.id)).toMatchObject({
        status: 'denied',
        decided_by_id: USER.adele,
        decided_by_name: 'Adele Vance',
        decision_justification: 'No change ticket for this',
      });
      const reads = ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.path.includes('roleAssignmentApprovals'));
      expect(reads.map((c) => [c.method, c.path.replace(pimId, '<id>')])).toEqual([['GET', '/beta/roleManagement/directory/roleAssignmentApprovals/<id>']]);
      const card = textOf(cardOf(h.connector.updates.at(-1)!));
      expect(card).toContain('Adele Vance');
      expect(card).toContain('No change ticket for this');
      expect(card).not.toContain('outside Teams');
      const notice = h.connector.posts.filter((p) => p.conversationId === `a:${teamsUser(USER.isaiah).teamsUserId}-personal`).at(-1)!;
      // The time in Isaiah's own zone (his mailbox's, Eastern), named: not UTC.
      expect(textOf(notice.activity)).toMatch(/denied by Adele Vance at \w{3} \d{1,2} \w{3}, \d\d:\d\d E[SD]T: \\"No change ticket for this\\"/);
    });

    it('never reads them with the requester\'s sign-in, nor with an approver who signed out: the decision stays "outside Teams"', async () => {
      await personalMessage(h, USER.isaiah, 'hi'); // the requester, signed in
      await personalMessage(h, USER.megan, 'hi');
      await simJson(h.sim, 'POST', '/_sim/signout', { user: USER.megan });
      const { pimId, row } = await pendingRequest();
      await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.adele, reviewResult: 'Approve', justification: 'Fine by me' });
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      expect(await reconcile()).toMatchObject({ approved: 1 });
      expect(await h.bot.store.requests.get(row.id)).toMatchObject({ status: 'approved', decided_by_id: null, decided_by_name: DECIDED_OUTSIDE_TEAMS });
      const reads = ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.path.includes('roleAssignmentApprovals'));
      expect(reads).toEqual([]);
    });

    it('falls back to "decided outside Teams" when the steps cannot be read (the app identity is refused)', async () => {
      const { pimId, row } = await pendingRequest();
      await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Deny', justification: 'No ticket' });
      const asApp = new GraphPimApprovals(createGraphClient(h.sim.url, botAppCredential(h.sim)));
      expect(await reconcilerWith(asApp).reconcileOnce()).toMatchObject({ denied: 1 });
      expect(await h.bot.store.requests.get(row.id)).toMatchObject({ status: 'denied', decided_by_id: null, decided_by_name: DECIDED_OUTSIDE_TEAMS });
    });
  });

  it('closes a denial from the portal and leaves requests PIM still has open alone', async () => {
    const denied = await pendingRequest(USER.isaiah);
    const open = await pendingRequest(USER.lynne);
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: denied.pimId, approver: USER.adele, reviewResult: 'Deny', justification: 'No change ticket' });
    expect(await reconcile()).toMatchObject({ checked: 2, denied: 1, open: 1 });
    expect((await h.bot.store.requests.get(denied.row.id))!.status).toBe('denied');
    expect(await h.bot.store.requests.get(open.row.id)).toEqual(open.row);
    expect(h.connector.updates.map((u) => textOf(cardOf(u)))).toEqual([expect.stringContaining('Denied in PIM, outside Teams.')]);
  });

  it('marks a request PIM dropped after 24 hours as expired, offers the re-request and tells the requester', async () => {
    const isaiah = teamsUser(USER.isaiah);
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
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: 1500 })).status).toBe(200);

    expect(await reconcile()).toMatchObject({ checked: 1, expired: 1 });
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('expired');
    const card = cardOf(h.connector.updates.at(-1)!);
    expect(textOf(card)).toContain('PIM dropped this request after 24 hours without a decision.');
    // No button everyone in the channel would see: the requester's way back is the notice in their chat.
    expect(card.actions).toBeUndefined();
    expect(textOf(card)).toContain('The requester can ask again in PIM.');
    expect(textOf(card)).not.toContain('Action.Execute');
    // The requester gets a one-tap re-request in their chat (the approval request's id only).
    const toRequester = h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-personal').map((p) => p.activity);
    const notice = toRequester.at(-1)!.attachments![0].content;
    expect(textOf(notice)).toMatch(/User Administrator expired: PIM dropped it after 24 hours/);
    expect(notice.actions).toEqual([
      { type: 'Action.Execute', title: 'Request again', verb: 'chat.requestAgain', associatedInputs: 'none', data: { requestId: row.id } },
    ]);
  });

  it('closes a request PIM no longer has (404) as cancelled', async () => {
    const { pimId, row } = await pendingRequest();
    h.sim.state.requests.delete(pimId);
    expect(await reconcile()).toMatchObject({ checked: 1, cancelled: 1 });
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'cancelled', decision_justification: 'PIM no longer has this request.' });
    expect(textOf(cardOf(h.connector.updates.at(-1)!))).toContain('This request was cancelled.');
  });

  it('retries an item Graph throttled, after its Retry-After, and then closes it', async () => {
    const { pimId, row } = await pendingRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Approve', justification: 'ok in portal' });
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${pimId}`, status: 429, retryAfterSeconds: 1, times: 1 });
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const started = Date.now();
    expect(await reconcile()).toMatchObject({ approved: 1, unread: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await batchCalls()).toEqual([200, 200]);
    const items = ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.batchItemOf).map((c) => c.status);
    expect(items).toEqual([429, 200]);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('approved');
  });

  it('leaves every row untouched and logs counts when the whole batch fails', async () => {
    const { pimId, row } = await pendingRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Approve', justification: 'Approved in the portal' });
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '\\$batch', status: 500 });
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const reconciler = new Reconciler({
      store: h.bot.store,
      delivery: h.bot.delivery,
      readStatuses: (ids, signal) => readRequestStatuses(createGraphClient(h.sim.url, botAppCredential(h.sim)), ids, signal),
      log: pino({ level: 'info' }, sink),
    });
    expect(await reconciler.reconcileOnce()).toMatchObject({ checked: 1, unread: 1, approved: 0 });
    expect(await h.bot.store.requests.get(row.id)).toEqual(row);
    expect(h.connector.updates).toHaveLength(0);
    const warn = lines.find((l) => l.level === 40);
    expect(warn).toMatchObject({ counts: { checked: 1, unread: 1 }, unreadStatuses: { '500': 1 } });
    expect(textOf(lines)).not.toContain(GOOD);

    // Once Graph recovers, the next run closes it.
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    expect(await reconciler.reconcileOnce()).toMatchObject({ approved: 1 });
    await reconciler.stop();
  });

  it('never runs two passes at once; a call during a pass gets a pass that starts after it', async () => {
    await pendingRequest();
    let active = 0;
    let most = 0;
    let passes = 0;
    const client = createGraphClient(h.sim.url, botAppCredential(h.sim));
    const reconciler = new Reconciler({
      store: h.bot.store,
      delivery: h.bot.delivery,
      readStatuses: async (ids, signal) => {
        active += 1;
        passes += 1;
        most = Math.max(most, active);
        try {
          await new Promise((r) => setTimeout(r, 100));
          return await readRequestStatuses(client, ids, signal);
        } finally {
          active -= 1;
        }
      },
      log: pino({ level: 'silent' }),
    });
    const results = await Promise.all([reconciler.reconcileOnce(), reconciler.reconcileOnce(), reconciler.reconcileOnce()]);
    expect(most).toBe(1);
    expect(passes).toBe(2);
    expect(results.map((r) => r.open)).toEqual([1, 1, 1]);
    await reconciler.stop();
  });
});

describe('the reconciler at volume', () => {
  it('reads 45 open requests in 3 batches of at most 20 and changes nothing', async () => {
    // PIM keeps one pending request per user and role: fifteen more roles, three eligible users each.
    const seed: SeedTenant = structuredClone(seedTenant);
    const template = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
    for (let i = 0; i < 15; i++) {
      const id = `fe930be7-5e62-47db-91af-${String(i).padStart(12, '0')}`;
      seed.roles.push({
        ...structuredClone(template),
        id,
        templateId: id,
        displayName: `Reconcile Test Role ${i}`,
        eligible: [USER.isaiah, USER.lynne, USER.patti],
      });
    }
    const h = await startHarness({}, { seed });
    try {
      for (let i = 0; i < 15; i++) {
        for (const principal of [USER.isaiah, USER.lynne, USER.patti]) {
          const created = await simJson(h.sim, 'POST', '/_sim/requests', {
            principal,
            role: `Reconcile Test Role ${i}`,
            justification: GOOD,
            ticketNumber: 'INC0012345',
            ticketSystem: 'ServiceNow',
          });
          expect(created.body.status).toBe('PendingApproval');
        }
      }
      await h.bot.delivery.drain();
      const posted = h.connector.posts.length;
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      expect(await h.bot.reconciler.reconcileOnce()).toMatchObject({ checked: 45, open: 45, unread: 0 });
      const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
      expect(calls.filter((c) => c.path === '/v1.0/$batch').map((c) => c.status)).toEqual([200, 200, 200]);
      expect(calls.filter((c) => c.batchItemOf)).toHaveLength(45);
      expect(calls.filter((c) => !c.batchItemOf && c.path !== '/v1.0/$batch')).toEqual([]);
      expect(h.connector.updates).toHaveLength(0);
      expect(h.connector.posts).toHaveLength(posted);
    } finally {
      await h.close();
    }
  });
});
