/**
 * Daily digests on the durable scheduler, against the seeded simulator: the user digest at 09:00 in the
 * user's own zone (from Graph mailbox settings), once a day however often the tenant is read, with a
 * working Extend button; the admin digest in the admin channel with yesterday's spot-audit sample, whose
 * reviews refuse the approver and record flags for the next digest.
 */
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { DEMO_TENANT_ID, GROUP, USER } from '../../sim/seed';
import { executeActions } from '../support/card-actions';
import { cardAction, CHANNEL_ID, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';

describe('daily digests', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    // Graph cannot list PIM-onboarded groups: the digests are told which to read.
    h = await startHarness({ DIGEST_GROUP_IDS: GROUP.sqlAdmins }, { now, digests: true });
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

  const cardsTo = (conversationId: string) =>
    h.connector.posts.filter((p) => p.conversationId === conversationId && p.activity.attachments?.length).map((p) => p.activity.attachments![0].content);

  it('sends each user their digest at 09:00 in their zone, once, and the admin channel its digest with the spot audit', async () => {
    await hello(USER.alex); // America/Los_Angeles (Pacific Standard Time in mailbox settings)
    await hello(USER.lynne); // Australia/Sydney
    // An approval today, so tomorrow's admin digest has a spot-audit sample.
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: GOOD,
      durationMinutes: 60,
    });
    await h.bot.delivery.drain();
    const row = (await h.bot.store.requests.byPimId(created.body.id))!;
    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
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
    // The answer is the digest itself, with what happened and what happens next under the entry, whose buttons are gone.
    expect(extended.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const answered = JSON.stringify(extended.body.value);
    expect(answered).toContain('→ Asked PIM to extend your eligibility for Security Operator');
    expect(answered).toContain('The new end date will show in your digest once PIM extends it.');
    // PIM's status in words, never its internal name.
    expect(answered).toContain('waiting for your administrators to decide');
    expect(answered).not.toContain('PendingAdminDecision');
    expect(executeActions(extended.body.value).filter((a) => JSON.stringify(a.data) === JSON.stringify(extend.data))).toEqual([]);
    expect(executeActions(extended.body.value).length).toBe(executeActions(alex[0]).length - 2);
    const requests = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[];
    expect(requests.some((r) => r.principalId === USER.alex && r.action === 'selfExtend' && r.status === 'PendingAdminDecision')).toBe(true);

    // Spot audit: the approver may not review it; someone else may; a flag needs a note and shows up next day.
    const looks = executeActions(admin).find((a) => a.verb === 'audit.looksRight' && a.data.requestId === row.id)!;
    const byApprover = await cardAction(h.bot.url, teamsUser(USER.adele), 'audit.looksRight', looks.data);
    expect(String(byApprover.body.value)).toMatch(/You approved this request/);
    // A review crafted in a personal chat (a request id learnt elsewhere) is refused, and nothing is recorded.
    const reviewsOf = async () => (await h.bot.store.db.selectFrom('audit_reviews').selectAll().where('request_id', '=', row.id).execute()).length;
    const forged = await cardAction(h.bot.url, teamsUser(USER.megan), 'audit.looksRight', looks.data, {
      conversation: { id: `a:${teamsUser(USER.megan).teamsUserId}-personal`, conversationType: 'personal', tenantId: DEMO_TENANT_ID },
    });
    expect(forged.body).toMatchObject({ statusCode: 400, value: { message: expect.stringContaining('Spot-audit reviews are taken from the admin digest') } });
    expect(await reviewsOf()).toBe(0);
    const byMegan = await cardAction(h.bot.url, teamsUser(USER.megan), 'audit.looksRight', looks.data);
    expect(await reviewsOf()).toBe(1);
    // Recorded: the digest card comes back with the verdict under that entry, in place of its buttons.
    expect(byMegan.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(JSON.stringify(byMegan.body.value)).toContain('→ Recorded: looks right.');
    expect(executeActions(byMegan.body.value).filter((a) => a.data.requestId === row.id)).toEqual([]);
    const flagNoNote = await cardAction(h.bot.url, teamsUser(USER.patti), 'audit.flag', { requestId: row.id });
    expect(String(flagNoNote.body.value)).toMatch(/Say in a few words/);
    const flagged = await cardAction(h.bot.url, teamsUser(USER.patti), 'audit.flag', {
      requestId: row.id,
      digestDate: looks.data.digestDate,
      [`auditNote.${row.id}`]: 'No ticket for a CFO reset',
    });
    expect(JSON.stringify(flagged.body.value)).toContain('→ Flagged. The flag is listed in the next admin digest.');

    await travelTo(new Date(target.getTime() + 24 * 3600_000));
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
    const nextAdmin = cardsTo(CHANNEL_ID).slice(-3);
    expect(JSON.stringify(nextAdmin)).toContain('No ticket for a CFO reset');
  });

  it("asks a group's owners (and the admins) to extend a group membership, since PIM has no self-extension for groups", async () => {
    await hello(USER.alex);
    const today = new Date(now());
    await travelTo(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30)));
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
    const digest = cardsTo('a:user-id-0-personal').find((c) => JSON.stringify(c).includes('digest.extend'))!;
    expect(JSON.stringify(digest)).toContain('SQL Admins');
    const extend = executeActions(digest).find((a) => a.verb === 'digest.extend' && a.data.kind === 'group')!;
    const adminPosts = h.connector.posts.length;
    const asked = await cardAction(h.bot.url, teamsUser(USER.alex), 'digest.extend', extend.data);
    expect(asked.body.statusCode).toBe(200);
    expect(JSON.stringify(asked.body.value)).toContain(
      "→ PIM has no self-extension for this, so I asked the group's owners (Megan Bowen) and your PIM administrators to extend SQL Admins",
    );
    await h.bot.delivery.drain();
    const [post, reply, ...more] = h.connector.posts.slice(adminPosts);
    expect(more).toEqual([]);
    expect(post!.conversationId).toBe(CHANNEL_ID);
    const card = post!.activity.attachments![0].content;
    expect(JSON.stringify(card)).toContain('Extension request');
    expect(JSON.stringify(card)).toContain('SQL Admins (member)');
    expect(reply!.conversationId).toBe(`${CHANNEL_ID};messageid=${post!.activityId}`);
    expect(reply!.activity.text).toContain('<at>Megan Bowen</at>: you own this group');
    expect(reply!.activity.entities).toEqual([expect.objectContaining({ mentioned: expect.objectContaining({ id: USER.megan }) })]);
    // PIM got no self-extension (groups have none): the owner decides on the card, as herself.
    let requests = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[];
    expect(requests.filter((r) => r.principalId === USER.alex && r.action === 'selfExtend')).toEqual([]);
    // A second click on the digest's Extend adds no second card.
    await cardAction(h.bot.url, teamsUser(USER.alex), 'digest.extend', extend.data);
    await h.bot.delivery.drain();
    expect(h.connector.posts.slice(adminPosts).filter((p) => JSON.stringify(p.activity).includes('Extension request'))).toHaveLength(1);

    const apply = executeActions(card).find((a) => a.verb === 'extension.apply')!;
    const until = JSON.stringify(card).match(/"id":"newEnd","label":"[^"]+","value":"(\d{4}-\d{2}-\d{2})"/)![1]!;
    const decided = await cardAction(h.bot.url, teamsUser(USER.megan), 'extension.apply', {
      ...apply.data,
      newEnd: until,
      note: 'The migration runs to March',
    });
    expect(JSON.stringify(decided.body.value)).toContain('Extended by Megan Bowen');
    requests = (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[];
    expect(requests.filter((r) => r.principalId === USER.alex && r.action === 'adminExtend')).toHaveLength(1);
    expect(h.sim.state.eligibilityEnd(h.sim.state.pimGroup(GROUP.sqlAdmins)!.pim, USER.alex, 'member')!.slice(0, 10)).toBe(until);
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

describe('daily digests for users the bot has no chat with', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({ TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID }, { now, digests: true });
  });
  afterEach(async () => {
    await h.close();
  });

  /** Tomorrow 17:30 UTC: 09:30 for Alex in Los Angeles; the tick schedules his digest, the next run sends it. */
  async function alexsDigestTime() {
    const today = new Date(now());
    const minutes = Math.round((Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30) - now().getTime()) / 60_000);
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
  }

  const installations = async () => (await simJson(h.sim, 'GET', '/_sim/teams/installations')).body.value as Array<{ user: string; chatId: string }>;
  const notifications = async () => (await simJson(h.sim, 'GET', '/_sim/teams/activity')).body.value as any[];

  it('installs the app for the user through Graph and sends the digest in the new chat', async () => {
    expect(await installations()).toEqual([]);
    await alexsDigestTime();
    const alex = (await installations()).find((i) => i.user === USER.alex)!;
    expect(alex.chatId).toMatch(/^19:/);
    const cards = h.connector.posts.filter((p) => p.conversationId === alex.chatId).map((p) => JSON.stringify(p.activity.attachments?.[0]?.content));
    expect(cards).toHaveLength(1);
    expect(cards[0]).toContain('digest.extend');
    expect(cards[0]).toContain('Security Operator');
    // The chat is remembered: tomorrow's digest (or any message) needs no second installation.
    expect(await h.bot.store.conversations.get(USER.alex)).toMatchObject({ conversation: { id: alex.chatId, conversationType: 'personal' } });
    expect(await notifications()).toEqual([]);
  });

  it('forgets a chat Teams says is gone (404) and opens a new one on the next try', async () => {
    // A chat stored earlier whose conversation no longer exists: this service URL answers 404 to everything.
    const stale = {
      channelId: 'msteams',
      serviceUrl: `${h.sim.url}/gone/`,
      conversation: { id: 'a:removed-chat', conversationType: 'personal', tenantId: 'x' },
      bot: { id: '28:bot', name: '' },
    };
    await h.bot.store.conversations.save(USER.alex, stale);
    await alexsDigestTime();
    expect(await h.bot.store.conversations.get(USER.alex)).toBeUndefined();
    // Not yet for Alex (others with a digest due, such as Patti with expired eligibilities, get theirs).
    expect((await installations()).filter((i) => i.user === USER.alex)).toEqual([]);
    offsetMs += 31 * 60_000;
    await h.bot.scheduler.runDue();
    const alex = (await installations()).find((i) => i.user === USER.alex)!;
    expect(h.connector.posts.filter((p) => p.conversationId === alex.chatId)).toHaveLength(1);
  });

  it('falls back to an activity feed notification when the tenant blocks the app for the user', async () => {
    expect((await simJson(h.sim, 'POST', '/_sim/teams/block-install', { user: USER.alex, blocked: true })).status).toBe(200);
    expect((await simJson(h.sim, 'POST', '/_sim/teams/team-member', { user: USER.alex, member: true })).status).toBe(200);
    await alexsDigestTime();
    expect((await installations()).some((i) => i.user === USER.alex)).toBe(false);
    const sent = (await notifications()).filter((n) => n.userId === USER.alex);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ activityType: 'dailyDigest', deliveredVia: 'team' });
    expect(JSON.stringify(sent[0])).toMatch(/privileged assignments? ending within 14 days/);
    expect(JSON.stringify(sent[0])).toContain('https://teams.microsoft.com/l/chat/0/0?users=28:');
    // Delivered: the job is done, not retried through the day.
    offsetMs += 31 * 60_000;
    await h.bot.scheduler.runDue();
    expect(await notifications()).toHaveLength(1);
  });

  it('keeps trying through the day when neither a chat nor a notification can reach the user', async () => {
    expect((await simJson(h.sim, 'POST', '/_sim/teams/block-install', { user: USER.alex, blocked: true })).status).toBe(200);
    await alexsDigestTime();
    expect(await notifications()).toEqual([]);
    const job = (await h.bot.scheduler.get(`digest:user:${USER.alex}:${localDateOfAlex(now())}`))!;
    expect(job.status).toBe('pending');
    expect(Date.parse(job.due_at)).toBeGreaterThan(now().getTime());
  });
});

function localDateOfAlex(at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
