/**
 * Daily digests on the durable scheduler, against the seeded simulator: the user digest at 09:00 in the
 * user's own zone (from Graph mailbox settings), once a day however often the tenant is read, with a
 * working Extend button; the admin digest in the admin channel with yesterday's spot-audit sample, whose
 * reviews refuse the approver and record flags for the next digest.
 */
import { USER } from '../../sim/seed';
import { executeActions } from '../support/card-actions';
import { cardAction, CHANNEL_ID, Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';

describe('daily digests', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now });
  });
  afterEach(async () => {
    await h.close();
  });

  const hello = (userId: string) => personalMessage(h, userId, 'hi');


  /** Moves the bot's clock (and PIM's with it) to `target`. */
  async function travelTo(target: Date) {
    const minutes = Math.round((target.getTime() - now().getTime()) / 60_000);
    offsetMs += minutes * 60_000;
    if (minutes > 0) expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  const cardsTo = (conversationId: string) => h.connector.posts.filter((p) => p.conversationId === conversationId && p.activity.attachments?.length).map((p) => p.activity.attachments[0].content);

  it('sends each user their digest at 09:00 in their zone, once, and the admin channel its digest with the spot audit', async () => {
    await hello(USER.alex); // America/Los_Angeles (Pacific Standard Time in mailbox settings)
    await hello(USER.lynne); // Australia/Sydney
    // An approval today, so tomorrow's admin digest has a spot-audit sample.
    const created = await simJson(h.sim, 'POST', '/_sim/requests', { principal: USER.isaiah, role: 'User Administrator', justification: GOOD, durationMinutes: 60 });
    await h.bot.delivery.drain();
    const row = (await h.bot.store.getRequestByPimId(created.body.id))!;
    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(decided.body.statusCode).toBe(200);

    // Tomorrow 17:30 UTC: 09:30 in Los Angeles (PST), 04:30 the day after in Sydney.
    const today = new Date(now());
    const target = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30));
    await travelTo(target);
    await h.bot.scheduler.runDue(); // the tick: reads the tenant, schedules the digests that are due
    await h.bot.scheduler.runDue(); // the digests themselves

    const alex = cardsTo('a:user-id-0-personal').filter((c) => JSON.stringify(c).includes('digest.extend'));
    expect(alex).toHaveLength(1);
    expect(JSON.stringify(alex[0])).toContain('Security Operator');
    expect(cardsTo('a:user-id-5-personal').filter((c) => JSON.stringify(c).includes('digest.'))).toHaveLength(0);

    const admin = cardsTo(CHANNEL_ID).filter((c) => JSON.stringify(c).includes('audit.looksRight'));
    expect(admin.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(admin)).toContain(row.id);

    // Another tick the same day sends nothing twice.
    await travelTo(new Date(target.getTime() + 2 * 3600_000));
    await h.bot.digests.tick(now());
    await h.bot.scheduler.runDue();
    expect(cardsTo('a:user-id-0-personal').filter((c) => JSON.stringify(c).includes('digest.extend'))).toHaveLength(1);
    expect(cardsTo(CHANNEL_ID).filter((c) => JSON.stringify(c).includes('audit.looksRight'))).toHaveLength(admin.length);

    // Extend from the digest: PIM gets a selfExtend request for Alex's Security Operator eligibility.
    const extend = executeActions(alex[0]).find((a) => a.verb === 'digest.extend' && JSON.stringify(a.data).includes('/'))!;
    const extended = await cardAction(h.bot.url, teamsUser(USER.alex), 'digest.extend', extend.data);
    expect(extended.body.statusCode).toBe(200);
    expect(String(extended.body.value)).toContain('Asked PIM to extend your eligibility for Security Operator');
    const requests = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[];
    expect(requests.some((r) => r.principalId === USER.alex && r.action === 'selfExtend' && r.status === 'PendingAdminDecision')).toBe(true);

    // Spot audit: the approver may not review it; someone else may; a flag needs a note and shows up next day.
    const looks = executeActions(admin).find((a) => a.verb === 'audit.looksRight' && a.data.requestId === row.id)!;
    const byApprover = await cardAction(h.bot.url, teamsUser(USER.adele), 'audit.looksRight', looks.data);
    expect(String(byApprover.body.value)).toMatch(/You approved this request/);
    const byMegan = await cardAction(h.bot.url, teamsUser(USER.megan), 'audit.looksRight', looks.data);
    expect(String(byMegan.body.value)).toMatch(/looks right/);
    const flagNoNote = await cardAction(h.bot.url, teamsUser(USER.patti), 'audit.flag', { requestId: row.id });
    expect(String(flagNoNote.body.value)).toMatch(/Say in a few words/);
    const flagged = await cardAction(h.bot.url, teamsUser(USER.patti), 'audit.flag', { requestId: row.id, [`auditNote.${row.id}`]: 'No ticket for a CFO reset' });
    expect(String(flagged.body.value)).toMatch(/Flagged/);

    await travelTo(new Date(target.getTime() + 24 * 3600_000));
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
    const nextAdmin = cardsTo(CHANNEL_ID).slice(-3);
    expect(JSON.stringify(nextAdmin)).toContain('No ticket for a CFO reset');
  });

  it('keeps a digest for someone the bot has no chat with yet, and sends it once they open the chat that day', async () => {
    const today = new Date(now());
    await travelTo(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30)));
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
    expect(cardsTo('a:user-id-0-personal')).toHaveLength(0);
    await hello(USER.alex);
    await travelTo(new Date(now().getTime() + 31 * 60_000));
    await h.bot.scheduler.runDue();
    expect(cardsTo('a:user-id-0-personal').filter((c) => JSON.stringify(c).includes('digest.extend'))).toHaveLength(1);
  });
});

