/**
 * Renewing an expired eligibility, through the real entry points (/api/messages, the digest on the durable
 * scheduler, the card action) against the seeded simulator. Patti's Exchange Administrator eligibility ended
 * 3 days before the simulator started and her SQL Admins membership 5 days before: PIM keeps both as expired
 * for 30 days. "renew <role>" files one selfRenew that waits for an administrator, a second is answered as
 * already pending; the digest lists both under "Expired in the last 30 days", and its Renew on the group
 * (PIM for Groups has no selfRenew) asks the admin channel.
 */
import { GROUP, ROLE, USER } from '../../sim/seed';
import { executeActions } from '../support/card-actions';
import { cardAction, CHANNEL_ID, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

describe('renewing an expired eligibility', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({ DIGEST_GROUP_IDS: GROUP.sqlAdmins }, { now, digests: true });
  });
  afterEach(async () => {
    await h.close();
  });

  const PATTI_CHAT = `a:${teamsUser(USER.patti).teamsUserId}-personal`;
  /** What the bot said in Patti's chat since `from` posts. */
  const saidToPatti = (from: number) =>
    h.connector.posts
      .slice(from)
      .filter((p) => p.conversationId === PATTI_CHAT)
      .map((p) => p.activity.text ?? '');
  /** Patti's selfRenew requests as PIM holds them. */
  const renewals = async () =>
    ((await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[]).filter((r) => r.principalId === USER.patti && r.action === 'selfRenew');
  const auditedRenewals = async () =>
    (await h.bot.store.db.selectFrom('audit_log').select(['actor', 'outcome', 'details']).where('kind', '=', 'digest.action').execute())
      .map((r) => ({ actor: r.actor, outcome: r.outcome, details: JSON.parse(r.details) }))
      .filter((r) => r.details.action === 'renew');

  async function travelTo(target: Date) {
    const minutes = Math.round((target.getTime() - now().getTime()) / 60_000);
    offsetMs += minutes * 60_000;
    if (minutes > 0) expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  it('"renew <role>" in chat files one selfRenew that waits for an administrator; asking again files nothing more', async () => {
    let mark = h.connector.posts.length;
    await personalMessage(h, USER.patti, 'renew exchange admin');
    const first = saidToPatti(mark);
    expect(first).toHaveLength(1);
    // In the zone Teams sends with the message (none here: UTC, labelled as such).
    expect(first[0]).toMatch(
      /^PIM has your renewal request for Exchange Administrator \(it expired \w{3} \d{1,2} \w{3}, \d{2}:\d{2} UTC\); an administrator decides\./,
    );
    // PIM's status in words, never its internal name.
    expect(first[0]).toContain('waiting for your administrators to decide');
    expect(first[0]).not.toContain('PendingAdminDecision');
    const filed = await renewals();
    expect(filed).toHaveLength(1);
    expect(filed[0]).toMatchObject({ status: 'PendingAdminDecision', roleDefinitionId: ROLE.exchangeAdministrator });

    mark = h.connector.posts.length;
    await personalMessage(h, USER.patti, 'renew Exchange Administrator');
    const second = saidToPatti(mark);
    expect(second).toEqual([
      'PIM already has a renewal request of yours for Exchange Administrator waiting for an administrator: nothing new was sent. Type "status" to follow it or "cancel Exchange Administrator" to withdraw it.',
    ]);
    expect((await renewals()).map((r) => r.id)).toEqual([filed[0].id]);

    // A role that has not expired, and one never held: said so, nothing filed.
    mark = h.connector.posts.length;
    await personalMessage(h, USER.patti, 'renew reports reader');
    await personalMessage(h, USER.patti, 'renew global admin');
    expect(saidToPatti(mark)).toEqual([
      'Your eligibility for Reports Reader has not expired, so there is nothing to renew: PIM renews an assignment only after it ends. To keep it longer, type "extend Reports Reader".',
      '"global admin" is not one of your expired assignments, so there is nothing to renew. Expired in the last 30 days: Exchange Administrator, SQL Admins (member). For example "renew Exchange Administrator".',
    ]);
    expect(await renewals()).toHaveLength(1);

    // Audited like the digest's Extend: one requested, one refused (already pending).
    expect((await auditedRenewals()).map((r) => [r.actor, r.outcome, r.details.pimStatus])).toEqual([
      [USER.patti, 'requested', 'PendingAdminDecision'],
      [USER.patti, 'refused', 'alreadyPending'],
    ]);
  });

  it("the digest lists what expired in the last 30 days with Renew; the group's asks the admins, the role's is already pending", async () => {
    await personalMessage(h, USER.patti, 'hi'); // the bot now has Patti's chat (India Standard Time)
    await personalMessage(h, USER.patti, 'renew exchange administrator');
    expect(await renewals()).toHaveLength(1);

    // Tomorrow 04:00 UTC is 09:30 in India: Patti's digest is due.
    const today = new Date(now());
    await travelTo(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 4, 0)));
    await h.bot.scheduler.runDue(); // the tick: reads the tenant, schedules the digests that are due
    await h.bot.scheduler.runDue(); // the digests themselves

    const digests = h.connector.posts
      .filter((p) => p.conversationId === PATTI_CHAT && p.activity.attachments?.length)
      .map((p) => p.activity.attachments![0].content)
      .filter((c) => JSON.stringify(c).includes('digest.'));
    expect(digests).toHaveLength(1);
    const digest = JSON.stringify(digests[0]);
    expect(digest).toContain('Expired in the last 30 days');
    expect(digest).toContain('Exchange Administrator');
    expect(digest).toContain('SQL Admins (member)');
    const renews = executeActions(digests[0]).filter((a) => a.verb === 'digest.renew');
    expect(renews.map((a) => [a.title, a.data.kind, a.data.roleDefinitionId])).toEqual([
      ['Renew', 'entraRole', ROLE.exchangeAdministrator],
      ['Ask admins to renew', 'group', 'member'],
    ]);

    // The group: PIM for Groups has no selfRenew, so the admin channel is asked; PIM gets no request.
    const channelCards = () => h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID && p.activity.attachments?.length).length;
    const before = channelCards();
    const group = await cardAction(h.bot.url, teamsUser(USER.patti), 'digest.renew', renews[1]!.data);
    expect(group.body.statusCode).toBe(200);
    expect(group.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const answered = JSON.stringify(group.body.value);
    expect(answered).toContain('→ PIM for Groups has no self-renewal, so I asked');
    expect(answered).toContain('your PIM administrators to renew SQL Admins (member)');
    // The answered entry has no button any more; the other keeps its own.
    expect(
      executeActions(group.body.value)
        .filter((a) => a.verb === 'digest.renew')
        .map((a) => a.data.kind),
    ).toEqual(['entraRole']);
    expect(channelCards()).toBe(before + 1);
    const groupRequests = ((await simJson(h.sim, 'GET', '/_sim/requests')).body.value as any[]).filter(
      (r) => r.principalId === USER.patti && r.groupId === GROUP.sqlAdmins,
    );
    expect(groupRequests).toEqual([]);

    // The role's Renew: PIM already holds Patti's renewal, so nothing new is filed.
    const role = await cardAction(h.bot.url, teamsUser(USER.patti), 'digest.renew', renews[0]!.data);
    expect(role.body.statusCode).toBe(200);
    expect(JSON.stringify(role.body.value)).toContain('PIM already has a renewal request of yours for Exchange Administrator');
    expect(await renewals()).toHaveLength(1);
  });

  it("the digest's Renew files the selfRenew when none is waiting", async () => {
    await personalMessage(h, USER.patti, 'hi');
    const today = new Date(now());
    await travelTo(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 4, 0)));
    await h.bot.scheduler.runDue();
    await h.bot.scheduler.runDue();
    const digest = h.connector.posts
      .filter((p) => p.conversationId === PATTI_CHAT && p.activity.attachments?.length)
      .map((p) => p.activity.attachments![0].content)
      .find((c) => JSON.stringify(c).includes('digest.renew'));
    const renew = executeActions(digest).find((a) => a.verb === 'digest.renew' && a.data.kind === 'entraRole')!;
    const res = await cardAction(h.bot.url, teamsUser(USER.patti), 'digest.renew', renew.data);
    expect(res.body.statusCode).toBe(200);
    expect(JSON.stringify(res.body.value)).toContain('→ PIM has your renewal request for Exchange Administrator');
    const filed = await renewals();
    expect(filed).toHaveLength(1);
    expect(filed[0]).toMatchObject({ status: 'PendingAdminDecision', roleDefinitionId: ROLE.exchangeAdministrator });
  });
});
