/**
 * Two bot replicas on one database (a SQLite file under `npm test`, a PostgreSQL schema under
 * `npm run test:postgres`), one simulator and one Bot Connector: every card is posted once, a decision
 * clicked on both replicas at once reaches PIM once, and a due job runs on one replica only.
 */
import pino from 'pino';
import { startBot, type RunningBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';
import { seedTenant, ROLE, USER, type SeedTenant } from '../../sim/seed';
import { cardAction, CHANNEL_ID, Harness, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const ROLES = 8;

function seedWithRoles(): SeedTenant {
  // PIM keeps one pending request per user and role: more roles Isaiah may activate.
  const seed: SeedTenant = structuredClone(seedTenant);
  const template = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
  for (let i = 0; i < ROLES; i++) {
    const id = `4e1b9c07-2d5a-4f3e-8b6c-${String(i).padStart(12, '0')}`;
    seed.roles.push({ ...structuredClone(template), id, templateId: id, displayName: `Replica Role ${i}`, eligible: [USER.isaiah] });
  }
  return seed;
}

describe('two replicas on one database', () => {
  let h: Harness;
  let b: RunningBot;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { seed: seedWithRoles(), now });
    // The second replica: same configuration and database, its own port, outbox and scheduler.
    b = await startBot(loadConfig({ ...h.env, PORT: '0' }), { logger: pino({ level: 'silent' }), sweepIntervalMs: 60_000, jobsIntervalMs: 0, now });
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await b.close();
    await h.close();
  });

  const drainBoth = () => Promise.all([h.bot.delivery.drain(), b.delivery.drain()]);

  async function requests(n: number) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const created = await simJson(h.sim, 'POST', '/_sim/requests', { principal: USER.isaiah, role: `Replica Role ${i}`, justification: GOOD, ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' });
      expect(created.body.status).toBe('PendingApproval');
      ids.push(created.body.id);
    }
    return ids;
  }

  it('posts every card once while both replicas sweep and drain the same outbox', async () => {
    const pimIds = await requests(ROLES);
    // Both replicas look for owed cards and send what is due, at the same time, twice over.
    for (let round = 0; round < 2; round++) {
      await Promise.all([h.bot.delivery.sweep(), b.delivery.sweep()]);
      await drainBoth();
    }
    expect(h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID)).toHaveLength(ROLES);
    for (const pimId of pimIds) {
      const row = (await b.store.getRequestByPimId(pimId))!;
      expect(await b.store.cardPosts(row.id)).toHaveLength(1);
    }
  });

  it('records a decision clicked on both replicas at once in PIM once', async () => {
    const [pimId] = await requests(1);
    await drainBoth();
    const row = (await h.bot.store.getRequestByPimId(pimId!))!;
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const approve = (url: string) => cardAction(url, teamsUser(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    const answers = await Promise.all([approve(h.bot.url), approve(b.url)]);
    expect(answers.map((a) => a.body.statusCode)).toEqual([200, 200]);
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>;
    expect(calls.filter((c) => c.method === 'PATCH' && /roleAssignmentApprovals/.test(c.path))).toHaveLength(1);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    await drainBoth();
    // One replica's card says who decided; the other card view says it was already decided.
    const final = (await b.store.getRequest(row.id))!;
    expect(final).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    // The audit trail the two replicas appended to is one intact chain with the decision in it once.
    const kinds: string[] = [];
    for await (const r of b.store.audit.rows()) kinds.push(`${r.kind}:${r.outcome}`);
    expect(kinds).toEqual(['evaluation:Approved', 'card.decision:Approve', 'graph.result:recorded']);
    expect(await h.bot.store.audit.verify()).toMatchObject({ ok: true, rows: 3 });
    expect(h.connector.updates.filter((u) => JSON.stringify(u.activity).includes('Adele Vance')).length).toBeGreaterThanOrEqual(1);
  });

  it('runs a due nudge on one replica only when both pass at the same time', async () => {
    const [pimId] = await requests(1);
    await drainBoth();
    const row = (await h.bot.store.getRequestByPimId(pimId!))!;
    const card = h.connector.posts.find((p) => p.conversationId === CHANNEL_ID)!;
    offsetMs += 16 * 60_000;
    const ran = await Promise.all([h.bot.scheduler.runDue(), b.scheduler.runDue()]);
    expect(ran[0] + ran[1]).toBe(1);
    await drainBoth();
    const replies = h.connector.posts.filter((p) => p.conversationId === `${CHANNEL_ID};messageid=${card.activityId}`);
    expect(replies).toHaveLength(1);
    expect((await b.store.getRequest(row.id))!.nudge_count).toBe(1);
  });
});
