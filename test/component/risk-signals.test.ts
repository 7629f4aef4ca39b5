import { randomUUID } from 'node:crypto';
import { demoPolicy } from '../../scripts/demo-policy';
import { signEvent } from '../../services/events/event-signature';
import { DEMO_PIM_CALLER_APP_ID, ROLE, seedTenant, TICKET, USER, type SeedRiskyUser } from '../../sim/seed';
import { APP_ID_URI, type Harness, pimHolds, simJson, startHarness } from '../support/harness';
import { textRuns } from '../support/card-text';

const SECRET = 'test-only-events-secret-0123456789abcdef';
const cardOf = (activity: any) => activity.attachments[0].content as Record<string, unknown>;

/**
 * Identity risk from the simulated ID Protection, with the demo policy: any active risk goes to a person,
 * Helpdesk Administrator refuses high risk, Security Operator auto-approves on-call engineers with a ticket.
 */
describe('identity risk in decisions and on the approval card', () => {
  let h: Harness;
  // A copy of the seed whose risky users a test may change (the simulator reads it on every call).
  const seed = structuredClone(seedTenant);
  const setRisk = (userId: string, r: Omit<SeedRiskyUser, 'userId'> | null) => {
    const users = seed.identityProtection!.riskyUsers.filter((u) => u.userId !== userId);
    seed.identityProtection!.riskyUsers = r ? [...users, { userId, ...r }] : users;
  };

  beforeAll(async () => {
    h = await startHarness({ DECISION_BUDGET_MS: '1500', EVENTS_HMAC_SECRET: SECRET }, { policy: demoPolicy, seed });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    setRisk(USER.alex, null);
  });

  /** PIM's pre-approval call for Alex asking for Security Operator with his own open change (auto-approved when nothing else is wrong). */
  async function evaluateAlex() {
    const token = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID });
    const body = {
      '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
      id: randomUUID(),
      status: 'PendingApproval',
      action: 'selfActivate',
      principalId: USER.alex,
      roleDefinitionId: ROLE.securityOperator,
      directoryScopeId: '/',
      justification: 'Contain the phishing incident on the finance mailboxes',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
      ticketInfo: { ticketNumber: TICKET.approvedChange, ticketSystem: 'ServiceNow' },
    };
    await pimHolds(h, body);
    const res = await fetch(`${h.bot.url}/api/pim/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return { pimId: body.id, answer: (await res.json()) as { evaluationOutcome: string; reason: string[] } };
  }

  async function cardFor(pimId: string) {
    await h.bot.delivery.drain();
    const row = (await h.bot.store.requests.byPimId(pimId))!;
    expect(row).toBeDefined();
    const postOf = () => h.connector.posts.filter((p) => JSON.stringify(p.activity).includes(row.id)).at(-1);
    // The outbox paces one channel's posts (Teams' per-thread limits): after this file's earlier cards, this one
    // may be due a moment later than the drain, which sends only what is due now.
    for (const until = Date.now() + 15_000; !postOf() && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await h.bot.delivery.drain();
    }
    const post = postOf();
    expect(post).toBeDefined();
    return { row, card: cardOf(post!.activity) };
  }

  it('refuses the seeded high-risk user where the policy says deny, telling her to contact the security team', async () => {
    const posts = h.connector.posts.length;
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.patti,
      role: 'Helpdesk Administrator',
      justification: 'Unlock accounts for the service desk queue, INC0012345',
      ticketNumber: TICKET.openIncident,
    });
    expect(created.body.status).toBe('Denied');
    const evaluation = (await h.bot.store.evaluations.byPimId(created.body.id))!;
    expect(evaluation.outcome).toBe('Denied');
    expect(JSON.parse(evaluation.reasons).join(' ')).toMatch(/user risk high \(at risk\).*contact your security team/);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
  });

  it('routes the high-risk user to a person where the policy says review, with the flag, reason and detections on the card', async () => {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.patti,
      role: 'User Administrator',
      justification: 'Reset MFA for the locked-out CFO, INC0012345',
    });
    expect(created.body.status).toBe('PendingApproval');
    const { row, card } = await cardFor(created.body.id);
    expect(JSON.parse(row.risk_flags)).toContain('High user risk');
    const runs = textRuns(card);
    // The flags are one line by the justification; the detections are in the details.
    expect(runs[runs.indexOf('Flags: ') + 1]!.split(' · ')).toContain('High user risk');
    expect(runs).toContain("• ID Protection rates the requester's user risk high (at risk), so an approver decides.");
    expect(runs).toContain('Identity risk: High (at risk)');
    expect(runs.find((t) => t.startsWith('• Unfamiliar sign-in properties · high risk, at risk · ') && t.endsWith('Lagos, NG (203.0.113.24)'))).toBeDefined();
    expect(runs.filter((t) => t.startsWith('• ') && / risk, /.test(t))).toHaveLength(3);
  });

  it('sends a medium-risk requester to a person instead of approving automatically', async () => {
    const before = await evaluateAlex();
    expect(before.answer.evaluationOutcome).toBe('AutoApproved');
    setRisk(USER.alex, { riskLevel: 'medium', riskState: 'atRisk', riskDetail: 'none', updatedHoursAgo: 1 });
    const { pimId, answer } = await evaluateAlex();
    expect(answer.evaluationOutcome).toBe('Approved');
    expect(answer.reason.join(' ')).toMatch(/user risk medium/);
    const { card } = await cardFor(pimId);
    const runs = textRuns(card);
    expect(runs).toContain('Identity risk: Medium (at risk)');
    expect(runs[runs.indexOf('Flags: ') + 1]!.split(' · ')).toContain('Medium user risk');
  });

  it('changes nothing for a user whose risk was dismissed or remediated', async () => {
    setRisk(USER.alex, { riskLevel: 'high', riskState: 'dismissed', riskDetail: 'adminDismissedAllRiskForUser', updatedHoursAgo: 5 });
    const { pimId, answer } = await evaluateAlex();
    expect(answer.evaluationOutcome).toBe('AutoApproved');
    const checks = JSON.parse((await h.bot.store.evaluations.byPimId(pimId))!.checks) as Array<{ name: string; result: string; detail: string }>;
    expect(checks.find((c) => c.name === 'identityRisk')).toMatchObject({
      result: 'pass',
      detail: 'No active user risk in ID Protection (earlier risk dismissed)',
    });
  });

  it('never approves automatically when ID Protection answers 503: a person decides, and the card says the risk could not be checked', async () => {
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: 'identityProtection/riskyUsers', status: 503, times: 100 });
    const { pimId, answer } = await evaluateAlex();
    expect(answer.evaluationOutcome).toBe('Approved');
    // Graph's client retries a 503 (honouring Retry-After), so the budget may run out first: either way a person decides.
    expect(answer.reason.join(' ')).toMatch(
      /Identity risk could not be checked \(ID Protection (is unavailable|did not answer in time)\), so an approver decides\./,
    );
    const { row, card } = await cardFor(pimId);
    expect(JSON.parse(row.risk_flags)).toContain('Identity risk could not be checked');
    const runs = textRuns(card);
    expect(runs).toContain('Identity risk could not be checked');
    expect(runs[runs.indexOf('Flags: ') + 1]!.split(' · ')).toContain('Identity risk could not be checked');
  });

  it('never approves automatically when the app lost its ID Protection permission (403)', async () => {
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: 'identityProtection/riskyUsers', status: 403, times: 100 });
    const { pimId, answer } = await evaluateAlex();
    expect(answer.evaluationOutcome).toBe('Approved');
    expect(answer.reason).toContain('Identity risk could not be checked (ID Protection is unavailable), so an approver decides.');
    await h.bot.delivery.drain();
    expect((await h.bot.store.evaluations.byPimId(pimId))!.outcome).toBe('Approved');
  });

  it('never approves automatically when ID Protection does not answer within the budget', async () => {
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: 'identityProtection/riskyUsers', latencyMs: 4000, times: 1 });
    const { answer } = await evaluateAlex();
    expect(answer.evaluationOutcome).toBe('Approved');
    expect(answer.reason).toContain('Identity risk could not be checked (ID Protection did not answer in time), so an approver decides.');
  });

  it("puts the risk flag on an escalation's card (requests PIM filed without our extension)", async () => {
    const request = {
      '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
      id: randomUUID(),
      status: 'PendingApproval',
      action: 'selfActivate',
      principalId: USER.lynne,
      roleDefinitionId: ROLE.userAdministrator,
      directoryScopeId: '/',
      justification: 'Reset MFA for the locked-out CFO, INC0012345',
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT2H' } },
    };
    await pimHolds(h, request);
    const raw = JSON.stringify({
      eventId: randomUUID(),
      type: 'escalation',
      occurredAt: new Date().toISOString(),
      request,
      reasons: ['Escalated by the Logic App.'],
    });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${h.bot.url}/api/pim/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pim-bot-timestamp': String(ts), 'x-pim-bot-signature': signEvent(SECRET, ts, raw) },
      body: raw,
    });
    expect(res.status).toBe(200);
    const { card } = await cardFor(request.id);
    const runs = textRuns(card);
    expect(runs).toContain('Identity risk: Medium (at risk)');
    expect(runs.find((t) => t.startsWith('• Atypical travel · medium risk, at risk'))).toBeDefined();
  });
});
