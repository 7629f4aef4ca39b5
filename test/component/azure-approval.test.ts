import { AZURE, USER } from '../../sim/seed';
import { callsBetween, chainTo, shapeOf } from '../support/call-chain';
import { cardAction, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Scale out the staging VM scale set for load test OPS-1234';
const text = (x: unknown) => JSON.stringify(x);
const CONTRIBUTOR_PATH = `${AZURE.subscription}/providers/Microsoft.Authorization/roleDefinitions/${AZURE.contributor}`;

describe('Azure resource requests approved from the card', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingAzureRequest(principal: string = USER.isaiah) {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal,
      azureRole: 'Contributor',
      scope: AZURE.subscription,
      justification: GOOD,
      durationMinutes: 240,
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${created.body.id}`);
    expect(sim.body.evaluation.evaluationOutcome).toBe('Approved');
    expect(h.connector.posts).toHaveLength(1);
    const card = h.connector.posts[0]!.activity.attachments![0].content;
    const requestId = JSON.stringify(card).match(/"requestId":"([0-9a-f-]{36})"/)![1]!;
    const row = (await h.bot.store.requests.get(requestId))!;
    expect(row).toMatchObject({ kind: 'azureResource', role_definition_id: CONTRIBUTOR_PATH, scope: AZURE.subscription });
    expect(row.pim_request_id).toMatch(/^azureResource:/);
    return { pimId: created.body.id as string, row, card };
  }

  it('posts a card naming the Azure role and the scope', async () => {
    const { card } = await pendingAzureRequest();
    expect(text(card)).toContain('Contributor');
    expect(text(card)).toContain(AZURE.subscription);
    expect(text(card)).toContain('Isaiah Langer');
    expect(text(card)).toContain('"verb":"pim.approve"');
  });

  it('records the approval through ARM as the approver (asApprover, then the stage PATCH)', async () => {
    const { pimId, row } = await pendingAzureRequest();
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Load test agreed in the change board',
    });
    expect(res.body.statusCode).toBe(200);
    expect(text(res.body.value)).toContain('Megan Bowen');
    expect(text(res.body.value)).not.toContain('pim.approve');

    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    const list = calls.find((c) => c.method === 'GET' && /roleAssignmentScheduleRequests$/.test(c.path));
    expect(list.query).toContain('asApprover');
    const patches = calls.filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0].path).toMatch(/^\/arm\/providers\/Microsoft\.Authorization\/roleAssignmentApprovals\/[0-9a-f-]+\/stages\/[0-9a-f-]+$/);
    expect(patches[0]).toMatchObject({ status: 200, oid: USER.megan });
    expect(patches[0].query).toContain('api-version=2021-01-01-preview');

    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    expect(sim.body.approval.steps[0]).toMatchObject({ reviewResult: 'Approve', reviewedBy: { id: USER.megan } });
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.megan });
  });

  it('refuses someone the Azure role policy does not list as approver', async () => {
    const { pimId, row } = await pendingAzureRequest();
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.lynne), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Looks fine to me honestly',
    });
    expect(text(res.body.value)).toContain('Only approvers of Contributor');
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(0);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
  });

  it('shows who decided when the Azure request was decided in the portal first', async () => {
    const { pimId, row } = await pendingAzureRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.adele, reviewResult: 'Deny', justification: 'Not during the freeze' });
    const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Approving from Teams now',
    });
    expect(text(res.body.value)).toContain('Adele Vance already denied');
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'denied', decided_by_id: USER.adele });
  });

  it('closes the card from ARM state when the request was decided in the portal (reconciler)', async () => {
    const { pimId, row } = await pendingAzureRequest();
    await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: pimId,
      approver: USER.adele,
      reviewResult: 'Approve',
      justification: 'Approved in the Azure portal',
    });
    const counts = await h.bot.reconciler.reconcileOnce();
    expect(counts.approved).toBeGreaterThanOrEqual(1);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('approved');
    await h.bot.delivery.drain();
    const last = text(h.connector.updates.at(-1)!.activity);
    expect(last).not.toContain('pim.approve');
    expect(last).toContain('outside Teams');
  });

  it("keeps the portal's reviewer from ARM's approval stages, read as an approver signed in to the bot (reconciler)", async () => {
    const { pimId, row } = await pendingAzureRequest();
    await personalMessage(h, USER.megan, 'hi'); // Megan: an approver with a stored sign-in; Adele decides in the portal
    await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: pimId,
      approver: USER.adele,
      reviewResult: 'Approve',
      justification: 'Approved in the Azure portal',
    });
    expect(await h.bot.reconciler.reconcileOnce()).toMatchObject({ approved: 1 });
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({
      status: 'approved',
      decided_by_id: USER.adele,
      decided_by_name: 'Adele Vance',
      decision_justification: 'Approved in the Azure portal',
    });
    await h.bot.delivery.drain();
    const last = text(h.connector.updates.at(-1)!.activity);
    expect(last).toContain('Adele Vance');
    expect(last).not.toContain('outside Teams');
  });

  it('refuses self-approval of an Azure request without calling ARM', async () => {
    const { row } = await pendingAzureRequest(USER.adele);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Approving my own request here',
    });
    expect(text(res.body.value)).toContain('cannot approve or deny your own request');
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[];
    expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(0);
  });

  describe('the approval id stored when the card was posted', () => {
    const LATENCY_MS = 300;
    const LIST = 'GET /arm/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests';
    const STAGES = 'GET /arm/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages';
    const PATCH = 'PATCH /arm/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages/{id}';

    /** Approves as Megan with 300 ms on every ARM call; the ARM calls between the click and the answer. */
    async function approveSlowly(row: { id: string; version: number }) {
      await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '^/arm/', latencyMs: LATENCY_MS, times: 1000 });
      const from = Date.now();
      const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
        requestId: row.id,
        version: row.version,
        decisionJustification: 'Load test agreed in the change board',
      });
      const to = Date.now();
      await simJson(h.sim, 'DELETE', '/_sim/faults');
      expect(res.body.statusCode).toBe(200);
      expect(text(res.body.value)).toContain('Megan Bowen');
      const calls = await callsBetween(h, /^\/arm\//, from, to);
      return { calls, toPatch: chainTo(calls, (c) => c.method === 'PATCH').map(shapeOf) };
    }

    it('is kept with the card as PIM gave it', async () => {
      const { row } = await pendingAzureRequest();
      expect(JSON.parse(row.display!).pimApprovalId).toMatch(/^\/providers\/Microsoft\.Authorization\/roleAssignmentApprovals\/[0-9a-f-]{36}$/);
    });

    it("is read alongside the approver's request list: the PATCH waits on one ARM round trip", async () => {
      const { pimId, row } = await pendingAzureRequest();
      const { calls, toPatch } = await approveSlowly(row);
      const list = calls.find((c) => c.method === 'GET' && /roleAssignmentScheduleRequests$/.test(c.path))!;
      const stages = calls.find((c) => shapeOf(c) === STAGES)!;
      // The list still decides (it is PIM naming Megan an approver of this request); the stages were read side by side with it.
      expect(list).toBeDefined();
      expect(Date.parse(stages.time)).toBeLessThan(Date.parse(list.answeredAt!));
      expect(toPatch).toHaveLength(2);
      expect(toPatch.at(-1)).toBe(PATCH);
      expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    });

    it('when missing (a card posted before it was kept), is read from the list first, then the stages, and the decision is recorded all the same', async () => {
      const { pimId, row } = await pendingAzureRequest();
      const { pimApprovalId: _, ...older } = JSON.parse(row.display!);
      await h.bot.store.requests.setDisplay(row.id, JSON.stringify(older));
      const { calls, toPatch } = await approveSlowly(row);
      const list = calls.find((c) => shapeOf(c) === LIST)!;
      expect(calls.filter((c) => shapeOf(c) === STAGES).map((c) => Date.parse(c.time) >= Date.parse(list.answeredAt!))).toEqual([true]);
      expect(toPatch).toHaveLength(3);
      expect(toPatch.slice(1)).toEqual([STAGES, PATCH]);
      expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    });

    it('when it is not the approval PIM lists to the approver, is not used: the listed one is read and decided', async () => {
      const { pimId, row } = await pendingAzureRequest();
      const display = JSON.parse(row.display!);
      await h.bot.store.requests.setDisplay(
        row.id,
        JSON.stringify({ ...display, pimApprovalId: '/providers/Microsoft.Authorization/roleAssignmentApprovals/00000000-0000-4000-8000-000000000000' }),
      );
      const { calls, toPatch } = await approveSlowly(row);
      const list = calls.find((c) => shapeOf(c) === LIST)!;
      // The stored one read early (side by side with the list), the listed one read once the list was in.
      expect(calls.filter((c) => shapeOf(c) === STAGES).map((c) => Date.parse(c.time) >= Date.parse(list.answeredAt!))).toEqual([false, true]);
      expect(toPatch).toHaveLength(3);
      expect(toPatch.slice(1)).toEqual([STAGES, PATCH]);
      expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    });
  });
});
