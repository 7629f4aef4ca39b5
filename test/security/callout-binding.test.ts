import { randomUUID } from 'node:crypto';
import { DEMO_PIM_CALLER_APP_ID, ROLE, USER } from '../../sim/seed';
import { APP_ID_URI, type Harness, pimHolds, sayHello, simJson, startHarness } from '../support/harness';

/**
 * A PIM token is valid for an hour and the bot caches it: whoever holds one can post any body to the
 * decision endpoint. These attacks replay a valid token with a foreign body, with a body that differs
 * from PIM's own request, and with a body that pre-empts PIM's own callout. What must hold: PIM is
 * answered from the body it sent (never from another body's evaluation), and approvers only ever see a
 * card whose content is PIM's own copy of the request; a callout with no matching PIM request gets no
 * card, an audit row, a metric and a warning.
 */
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789abcdef';
const GENUINE = 'Reset MFA for the locked-out CFO under incident INC0012345';
const FORGED = 'Quarterly review, approved by the CISO in advance - just click approve';

describe("PIM callouts bound to PIM's own request", () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    token = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
  });

  const callout = (over: Record<string, unknown> = {}) => ({
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: randomUUID(),
    status: 'PendingApproval',
    action: 'selfActivate',
    principalId: USER.isaiah,
    roleDefinitionId: ROLE.userAdministrator,
    directoryScopeId: '/',
    justification: GENUINE,
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' },
    ...over,
  });

  async function evaluate(body: Record<string, unknown>) {
    const res = await fetch(`${h.bot.url}/api/pim/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { evaluationId: string; evaluationOutcome: string; reason: string[] };
  }

  const auditOf = async (kind: string, pimRequestId: string) =>
    h.bot.store.db.selectFrom('audit_log').selectAll().where('kind', '=', kind).where('pim_request_id', '=', pimRequestId).execute();

  async function metric(result: string): Promise<number> {
    const text = await (await fetch(`${h.bot.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const line = text.split('\n').find((l) => l.startsWith(`pim_callout_binding_problems_total{result="${result}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  const cardText = (post: { activity: { attachments?: Array<{ content?: unknown }> } }) => JSON.stringify(post.activity.attachments?.[0]?.content ?? {});

  it('answers an invented request from its own body, but posts no card, and records it', async () => {
    const before = { posts: h.connector.posts.length, metric: await metric('not_in_pim') };
    const body = callout({ justification: FORGED });
    const answer = await evaluate(body);
    expect(answer.evaluationOutcome).toBe('Approved');
    await h.bot.delivery.drain();
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(before.posts);
    const row = await h.bot.store.requests.byPimId(body.id);
    expect(row?.unbound_at).toEqual(expect.any(String));
    expect(row?.cards_posted_at).toBeNull();
    const audit = await auditOf('callout.unbound', body.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'not_in_pim' });
    expect(await metric('not_in_pim')).toBe(before.metric + 1);
  });

  it("evaluates a different body for a request PIM already had answered on its own, and keeps the card PIM's", async () => {
    const first = h.connector.posts.length;
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: GENUINE,
      ticketNumber: 'INC0012345',
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(first + 1);
    const pimId = created.body.id as string;
    const genuine = (await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body;
    const posts = h.connector.posts.length;
    const conflicts = await metric('conflict');

    const forged = await evaluate(callout({ id: pimId, justification: FORGED, ticketInfo: { ticketNumber: 'INC0099999', ticketSystem: 'ServiceNow' } }));
    // Answered from its own body: another evaluation, not the one PIM got.
    expect(forged.evaluationId).not.toBe(genuine.evaluation?.evaluationId ?? genuine.evaluationId);
    const stored = await h.bot.store.evaluations.forKey(`entraRole:${pimId}`);
    expect(stored).toHaveLength(2);
    expect(stored.map((e) => e.evaluation_id)).toContain(forged.evaluationId);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
    // The card approvers have shows PIM's justification only (posted before the forged body came).
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    expect(row.justification).toBe(GENUINE);
    const card = h.connector.posts[first]!;
    expect(cardText(card)).toContain(GENUINE);
    expect(cardText(card)).not.toContain(FORGED);
    expect(await auditOf('callout.conflict', pimId)).toHaveLength(1);
    expect(await metric('conflict')).toBe(conflicts + 1);
  });

  it("does not let a body that pre-empts PIM's callout decide what PIM is answered or what approvers read", async () => {
    // PIM holds the genuine request; the attacker's body with its id arrives before PIM's own callout.
    const genuine = callout();
    await pimHolds(h, genuine);
    const posts = h.connector.posts.length;
    const forged = await evaluate({ ...genuine, justification: FORGED });
    await h.bot.delivery.drain();
    // Nothing matches PIM's copy yet: no card.
    expect(h.connector.posts.length).toBe(posts);
    expect(await auditOf('callout.unbound', genuine.id)).toHaveLength(1);

    // PIM's own callout: answered from its own body, and the card is bound to it.
    const answer = await evaluate(genuine);
    expect(answer.evaluationId).not.toBe(forged.evaluationId);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts + 1);
    const text = cardText(h.connector.posts.at(-1)!);
    expect(text).toContain(GENUINE);
    expect(text).not.toContain(FORGED);
    const row = (await h.bot.store.requests.byPimId(genuine.id))!;
    expect(row).toMatchObject({ justification: GENUINE, evaluation_id: answer.evaluationId, unbound_at: null });
    expect(await auditOf('callout.conflict', genuine.id)).toHaveLength(1);

    // PIM's retry of its own body gets its own answer again, and no second card.
    const retry = await evaluate(genuine);
    expect(retry.evaluationId).toBe(answer.evaluationId);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts + 1);
  });

  it("posts no card while PIM's copy cannot be read, and posts it once it can", async () => {
    const genuine = callout();
    await pimHolds(h, genuine);
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: `roleAssignmentScheduleRequests/${genuine.id}`, status: 403 });
    const posts = h.connector.posts.length;
    await evaluate(genuine);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
    expect((await h.bot.store.requests.byPimId(genuine.id))?.unbound_at).toBeNull();
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts + 1);
    expect(cardText(h.connector.posts.at(-1)!)).toContain(GENUINE);
  });

  it('closes an invented request when PIM says it has none, without a word to the person it named', async () => {
    // Isaiah has a chat with the bot: a notice would reach him if one were sent.
    await sayHello(h, USER.isaiah, `a:isaiah-${randomUUID()}`);
    await h.bot.delivery.drain();
    const body = callout({ principalId: USER.isaiah, justification: FORGED });
    await evaluate(body);
    await h.bot.delivery.drain();
    const sends = h.connector.posts.length + h.connector.updates.length;
    await h.bot.reconciler.reconcileOnce();
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect((await h.bot.store.requests.byPimId(body.id))?.status).toBe('cancelled');
    expect(h.connector.posts.length + h.connector.updates.length).toBe(sends);
  });
});
