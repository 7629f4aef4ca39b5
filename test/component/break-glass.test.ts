import { demoPolicy } from '../../scripts/demo-policy';
import { DEMO_PIM_CALLER_APP_ID, DEMO_TENANT_ID, ROLE, TICKET, USER } from '../../sim/seed';
import { APP_ID_URI, CHANNEL_ID, cardAction, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

/**
 * Break-glass (issue 22) through the real entry points: PIM (the simulator) files Alex's activation and calls the
 * decision endpoint; the BREAK-GLASS cards go through the outbox to the recording connector; the post-incident
 * note and the review are card actions on /api/messages; the admin digest runs on the scheduler with a moved clock.
 * The demo policy gives Security Operator break-glass for priority-1 incidents (INC0013001 is Alex's open P1, and
 * Alex is on call); here its usual auto-approval is off, so without break-glass an approver decides.
 */
const SECURITY = '19:security-test@thread.tacv2';
const ADMIN = '19:admin-test@thread.tacv2';
const ALEX_CHAT = 'a:user-id-0-personal';
const EMERGENCY = 'EMERGENCY: P1 sign-in outage, restoring conditional access for the admins';

/** The demo policy, with Security Operator never auto-approved on its usual rule: only break-glass skips the approver. */
function policy(simUrl: string): Record<string, unknown> {
  const p = demoPolicy(simUrl) as { roles: Record<string, Record<string, unknown>> };
  p.roles[ROLE.securityOperator] = { ...p.roles[ROLE.securityOperator], autoApprove: 'never' };
  return p;
}

describe('break-glass', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeAll(async () => {
    h = await startHarness({}, { policy, channels: { security: SECURITY, admin: ADMIN }, now });
    await personalMessage(h, USER.alex, 'hi');
  });
  afterAll(async () => {
    await h.close();
  });

  /** Moves the bot's clock and PIM's by whole minutes. */
  async function travel(minutes: number) {
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  const cardsIn = (conversationId: string, text: string) =>
    h.connector.posts
      .filter((p) => p.conversationId === conversationId && p.activity.attachments?.length)
      .map((p) => JSON.stringify(p.activity.attachments![0].content))
      .filter((c) => c.includes(text));

  async function evaluationOf(pimId: string) {
    const row = await h.bot.store.db.selectFrom('evaluations').selectAll().where('pim_request_id', '=', pimId).executeTakeFirstOrThrow();
    return { ...row, reasons: JSON.parse(row.reasons) as string[] };
  }

  async function emergencyRequest(justification = EMERGENCY) {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.alex,
      role: 'Security Operator',
      justification,
      durationMinutes: 60,
      ticketNumber: TICKET.p1Incident,
      ticketSystem: 'ServiceNow',
    });
    expect(created.status).toBe(201);
    // What is owed now: the broadcast job (due at once) and the cards, through the outbox.
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    return { id: created.body.id as string, status: created.body.status as string, evaluation: await evaluationOf(created.body.id) };
  }

  const auditKinds = async (kind: string) => h.bot.store.db.selectFrom('audit_log').selectAll().where('kind', '=', kind).execute();

  it('refuses an emergency grant when on-call cannot be confirmed: an approver decides, and the reason says why', async () => {
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '^/pagerduty/', status: 503 });
    try {
      const cardsBefore = cardsIn(CHANNEL_ID, 'pim.approve').length;
      const r = await emergencyRequest();
      expect(r.status).toBe('PendingApproval');
      expect(r.evaluation.outcome).toBe('Approved');
      expect(r.evaluation.reasons.join(' ')).toMatch(/No emergency \(break-glass\) grant: on-call could not be confirmed/);
      expect(await h.bot.store.requests.byPimId(r.id)).toBeDefined();
      expect(cardsIn(CHANNEL_ID, 'pim.approve')).toHaveLength(cardsBefore + 1);
      expect(cardsIn(CHANNEL_ID, 'BREAK-GLASS')).toHaveLength(0);
      expect(cardsIn(SECURITY, 'BREAK-GLASS')).toHaveLength(0);
      expect((await auditKinds('emergency.refused')).map((e) => e.evaluation_id)).toContain(r.evaluation.evaluation_id);
      // An approver declines it in PIM, so Alex can ask again.
      const denied = await simJson(h.sim, 'POST', '/_sim/decide', { approver: USER.megan, requestId: r.id, reviewResult: 'Deny', justification: 'Ask again' });
      expect(denied.status).toBe(200);
    } finally {
      await simJson(h.sim, 'DELETE', '/_sim/faults');
    }
  });

  let grantId = '';

  it('grants break-glass at once and posts one BREAK-GLASS card to the approvers and one to the security channel; a PIM retry posts nothing more', async () => {
    const r = await emergencyRequest();
    expect(r.status).toBe('Granted');
    expect(r.evaluation.outcome).toBe('AutoApproved');
    expect(r.evaluation.reasons[0]).toMatch(/^Emergency \(break-glass\)/);
    expect(r.evaluation.reasons[0]).toContain(TICKET.p1Incident);
    const grant = (await h.bot.store.db.selectFrom('emergency_grants').selectAll().execute()).find((g) => g.evaluation_id === r.evaluation.evaluation_id)!;
    expect(grant).toMatchObject({ principal_id: USER.alex, incident: TICKET.p1Incident, review_verdict: null });
    grantId = grant.id;
    expect(cardsIn(CHANNEL_ID, 'BREAK-GLASS')).toHaveLength(1);
    expect(cardsIn(SECURITY, 'BREAK-GLASS')).toHaveLength(1);
    expect(cardsIn(SECURITY, 'BREAK-GLASS')[0]).toContain('Alex Wilber');
    expect(cardsIn(SECURITY, 'BREAK-GLASS')[0]).toContain('Security Operator');
    // The card says PIM's own copy of the request matches the callout.
    expect(cardsIn(SECURITY, 'BREAK-GLASS')[0]).toContain(`request ${r.id} confirmed in PIM`);
    // No approval card: nobody has to decide.
    expect(await h.bot.store.requests.byPimId(r.id)).toBeUndefined();

    // PIM's retry of the same callout: the stored answer, no second grant, no second card.
    const token = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
    const pimCopy = (await simJson(h.sim, 'GET', `/_sim/requests/${r.id}`)).body;
    const body = {
      '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
      id: r.id,
      status: 'PendingApproval',
      action: 'selfActivate',
      principalId: USER.alex,
      roleDefinitionId: ROLE.securityOperator,
      directoryScopeId: '/',
      justification: EMERGENCY,
      scheduleInfo: pimCopy.scheduleInfo,
      ticketInfo: { ticketNumber: TICKET.p1Incident, ticketSystem: 'ServiceNow' },
    };
    const retry = await fetch(`${h.bot.url}/api/pim/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const answered = (await retry.json()) as { evaluationId: string; evaluationOutcome: string };
    expect(answered.evaluationOutcome).toBe('AutoApproved');
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    expect((await h.bot.store.db.selectFrom('emergency_grants').selectAll().execute()).length).toBe(1);
    expect(cardsIn(CHANNEL_ID, 'BREAK-GLASS')).toHaveLength(1);
    expect(cardsIn(SECURITY, 'BREAK-GLASS')).toHaveLength(1);
    expect(await auditKinds('emergency.grant')).toHaveLength(1);
    expect(await auditKinds('emergency.broadcast')).toHaveLength(2);
  });

  it('asks the requester for a post-incident note once when the access ends, and records it from the card (only theirs)', async () => {
    expect(cardsIn(ALEX_CHAT, 'emergency.note')).toHaveLength(0);
    await travel(61);
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    expect(cardsIn(ALEX_CHAT, 'emergency.note')).toHaveLength(1);
    expect(cardsIn(ALEX_CHAT, 'emergency.note')[0]).toContain(grantId);

    const chat = { id: ALEX_CHAT, conversationType: 'personal', tenantId: DEMO_TENANT_ID };
    const stranger = await cardAction(
      h.bot.url,
      teamsUser(USER.isaiah),
      'emergency.note',
      { grantId, [`emergencyNote.${grantId}`]: 'not mine' },
      { conversation: chat },
    );
    expect(JSON.stringify(stranger.body)).toMatch(/Only the person who used break-glass access/);
    const mine = await cardAction(
      h.bot.url,
      teamsUser(USER.alex),
      'emergency.note',
      { grantId, [`emergencyNote.${grantId}`]: 'Re-enabled the admin conditional access policy; the outage ended at 03:40.' },
      { conversation: chat },
    );
    expect(mine.body.statusCode).toBe(200);
    expect(JSON.stringify(mine.body)).toContain('Post-incident note recorded');
    const grant = (await h.bot.store.db.selectFrom('emergency_grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow())!;
    expect(grant.note).toBe('Re-enabled the admin conditional access policy; the outage ended at 03:40.');
    expect((await auditKinds('emergency.note')).map((e) => e.outcome).sort()).toEqual(['asked', 'recorded']);
    // The job does not ask again.
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    expect(cardsIn(ALEX_CHAT, 'emergency.note')).toHaveLength(1);
  });

  it('does not auto-approve a second emergency of the same user the same day (the first has ended): the limit sends it to an approver', async () => {
    const r = await emergencyRequest();
    expect(r.status).toBe('PendingApproval');
    expect(r.evaluation.outcome).toBe('Approved');
    expect(r.evaluation.reasons.join(' ')).toMatch(/already had 1 emergency grant in the last 24 hours/);
    expect(await h.bot.store.requests.byPimId(r.id)).toBeDefined();
    expect(cardsIn(CHANNEL_ID, 'BREAK-GLASS')).toHaveLength(1);
    expect((await h.bot.store.db.selectFrom('emergency_grants').selectAll().execute()).length).toBe(1);
  });

  it('lists the grant in the admin digest for a second person: the requester is refused, another admin’s Looks right is recorded once', async () => {
    // Tomorrow 09:30 UTC: the admin digest is due (DEFAULT_TIME_ZONE UTC).
    const today = now();
    const target = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 9, 30);
    await travel(Math.round((target - today.getTime()) / 60_000));
    await h.bot.digests.tick(now());
    await h.bot.scheduler.runDue();
    const review = cardsIn(ADMIN, 'emergency.review');
    expect(review).toHaveLength(1);
    expect(review[0]).toContain('Break-glass grants to review');
    expect(review[0]).toContain(grantId);
    expect(review[0]).toContain('Re-enabled the admin conditional access policy');

    const channel = { id: ADMIN, isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID };
    const own = await cardAction(h.bot.url, teamsUser(USER.alex), 'emergency.review', { grantId }, { conversation: channel });
    expect(JSON.stringify(own.body)).toMatch(/your own break-glass grant/);
    const elsewhere = await cardAction(h.bot.url, teamsUser(USER.megan), 'emergency.review', { grantId });
    expect(JSON.stringify(elsewhere.body)).toMatch(/admin channel/);

    const megan = await cardAction(h.bot.url, teamsUser(USER.megan), 'emergency.review', { grantId }, { conversation: channel });
    expect(megan.body.statusCode).toBe(200);
    expect(JSON.stringify(megan.body)).toContain('looks right');
    const adele = await cardAction(
      h.bot.url,
      teamsUser(USER.adele),
      'emergency.flag',
      { grantId, [`emergencyReviewNote.${grantId}`]: 'late' },
      { conversation: channel },
    );
    expect(JSON.stringify(adele.body)).toMatch(/already reviewed/);

    const grant = (await h.bot.store.db.selectFrom('emergency_grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow())!;
    expect(grant).toMatchObject({ review_verdict: 'looksRight', reviewer_id: USER.megan });
    expect(await auditKinds('emergency.review')).toHaveLength(1);
  });
});

describe('break-glass on a human-only role', () => {
  let h: Harness;
  beforeAll(async () => {
    // HUMAN_ONLY_ROLE_IDS can add a role the policy gives break-glass to: at runtime human-only wins.
    h = await startHarness({ HUMAN_ONLY_ROLE_IDS: ROLE.securityOperator }, { policy, channels: { security: SECURITY } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('never grants it: an approver decides', async () => {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.alex,
      role: 'Security Operator',
      justification: EMERGENCY,
      durationMinutes: 60,
      ticketNumber: TICKET.p1Incident,
      ticketSystem: 'ServiceNow',
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    const row = await h.bot.store.db.selectFrom('evaluations').selectAll().where('pim_request_id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.outcome).toBe('Approved');
    expect(row.reasons).toMatch(/human-only role, which break-glass never applies to/);
    expect(await h.bot.store.db.selectFrom('emergency_grants').selectAll().execute()).toHaveLength(0);
    expect(h.connector.posts.filter((p) => JSON.stringify(p.activity).includes('BREAK-GLASS'))).toHaveLength(0);
  });
});
