/**
 * Two bot replicas on one database (a SQLite file under `npm test`, a PostgreSQL schema under
 * `npm run test:postgres`), one simulator and one Bot Connector: every card is posted once, a decision
 * clicked on both replicas at once reaches PIM once, and a due job runs on one replica only.
 */
import pino from 'pino';
import { startBot, type RunningBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';
import { seedTenant, ROLE, USER, type SeedTenant } from '../../sim/seed';
import { cardAction, CHANNEL_ID, type Harness, sayHello, simJson, startHarness, teamsUser } from '../support/harness';
import { approvalPatches, isFinal, pimOutcome, shownCards, shownIn } from '../support/outcomes';
import { recordOutgoing, type OutgoingRequests } from '../support/outgoing-requests';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const ROLES = 8;
const ISAIAH_CHAT = 'a:isaiah-replicas';
/** The PATCH of a PIM approval step, as the bots' Graph clients send it (path and query). */
const STEP_PATCH = /\/roleAssignmentApprovals\/[^/]+\/steps\/[^/?]+(\?|$)/;

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
  let sent: OutgoingRequests;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { seed: seedWithRoles(), now });
    // The second replica: same configuration and database, its own port, outbox and scheduler.
    b = await startBot(loadConfig({ ...h.env, PORT: '0' }), { logger: pino({ level: 'silent' }), sweepIntervalMs: 60_000, jobsIntervalMs: 0, now });
    while ((await h.bot.scheduler.runDue()) > 0);
    // The requester has a chat with the bot (told through either replica: the conversation is in the database).
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    // Both replicas run in this process: what they send, counted on their side.
    sent = recordOutgoing();
  });
  afterEach(async () => {
    sent.stop();
    await b.close();
    await h.close();
  });

  const drainBoth = () => Promise.all([h.bot.delivery.drain(), b.delivery.drain()]);

  async function requests(n: number) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const created = await simJson(h.sim, 'POST', '/_sim/requests', {
        principal: USER.isaiah,
        role: `Replica Role ${i}`,
        justification: GOOD,
        ticketNumber: 'INC0012345',
        ticketSystem: 'ServiceNow',
      });
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
    expect(h.connector.calls.filter((c) => c.method === 'POST' && c.conversationId === CHANNEL_ID)).toHaveLength(ROLES);
    // One card per request shows in the channel, each open.
    const shown = shownCards(h);
    expect(shown).toHaveLength(ROLES);
    for (const pimId of pimIds) {
      const row = (await b.store.requests.byPimId(pimId))!;
      expect(await b.store.cardCopies.of(row.id)).toHaveLength(1);
      expect(shown.filter((c) => c.text.includes(row.id) && !isFinal(c))).toHaveLength(1);
    }
  });

  it('records a decision clicked on both replicas at once in PIM once', async () => {
    const [pimId] = await requests(1);
    await drainBoth();
    const row = (await h.bot.store.requests.byPimId(pimId!))!;
    const approve = (url: string) =>
      cardAction(url, teamsUser(USER.adele), 'pim.approve', {
        requestId: row.id,
        version: row.version,
        decisionJustification: 'Verified with the CFO by phone',
      });
    const answers = await Promise.all([approve(h.bot.url), approve(b.url)]);
    expect(answers.map((a) => a.body.statusCode)).toEqual([200, 200]);
    // One PATCH: as PIM logged it (answered or not) and as the two replicas sent it.
    expect((await approvalPatches(h)).map((p) => [p.status, p.abandoned ?? false])).toEqual([[204, false]]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
    expect(await pimOutcome(h, pimId!)).toEqual({
      status: 'Granted',
      decisions: [{ reviewResult: 'Approve', reviewedBy: USER.adele, justification: 'Verified with the CFO by phone' }],
    });
    await drainBoth();
    await Promise.all([h.bot.delivery.sweep(), b.delivery.sweep()]);
    await drainBoth();
    // One replica's card says who decided; the other card view says it was already decided.
    const final = (await b.store.requests.get(row.id))!;
    expect(final).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    // The audit trail the two replicas appended to is one intact chain with the decision in it once.
    const kinds: string[] = [];
    for await (const r of b.store.audit.rows()) kinds.push(`${r.kind}:${r.outcome}`);
    expect(kinds).toEqual(['evaluation:Approved', 'card.decision:Approve', 'graph.result:recorded']);
    expect(await h.bot.store.audit.verify()).toMatchObject({ ok: true, rows: 3 });
    // Teams: the one card was updated once to its final state, and the requester was told once.
    expect(h.connector.updates.filter((u) => JSON.stringify(u.activity).includes('Adele Vance'))).toHaveLength(1);
    const cards = shownCards(h);
    expect(cards).toHaveLength(1);
    expect(isFinal(cards[0]!)).toBe(true);
    expect(cards[0]!.text).toContain('Adele Vance');
    expect(shownIn(h, ISAIAH_CHAT, /was approved by Adele Vance/)).toHaveLength(1);
  });

  it('runs a due nudge on one replica only when both pass at the same time', async () => {
    const [pimId] = await requests(1);
    await drainBoth();
    const row = (await h.bot.store.requests.byPimId(pimId!))!;
    const card = h.connector.posts.find((p) => p.conversationId === CHANNEL_ID)!;
    offsetMs += 16 * 60_000;
    const ran = await Promise.all([h.bot.scheduler.runDue(), b.scheduler.runDue()]);
    expect(ran[0] + ran[1]).toBe(1);
    await drainBoth();
    const replies = h.connector.posts.filter((p) => p.conversationId === `${CHANNEL_ID};messageid=${card.activityId}`);
    expect(replies).toHaveLength(1);
    expect((await b.store.requests.get(row.id))!.nudge_count).toBe(1);
  });
});
