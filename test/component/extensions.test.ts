/**
 * Extension and renewal requests, decided from a card in the admin channel: a user asks in chat (PIM files a
 * selfExtend that waits for an administrator), the bot finds it in PIM and posts a card; only PIM's
 * administrators of the role may decide, never the requester; the decision is made in PIM as the
 * administrator (adminExtend / adminRenew through on-behalf-of), every copy of the card shows it, and the
 * requester is told in their chat.
 */
import { AZURE, ROLE, USER } from '../../sim/seed';
import { delegatedGraphToken } from '../../sim/test-support';
import { executeActions } from '../support/card-actions';
import { cardAction, CHANNEL_ID, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const DAY = 24 * 3600 * 1000;
const NOTE = 'Still on the incident rota until the end of Q1';

describe('extension requests decided from the admin channel', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const channelCards = () =>
    h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID && p.activity.attachments?.length).map((p) => p.activity.attachments![0].content);
  const extensionCards = () => channelCards().filter((c) => JSON.stringify(c).includes('extension.apply'));
  const chatTexts = (userId: string) =>
    h.connector.posts
      .filter((p) => p.conversationId === `a:${teamsUser(userId).teamsUserId}-personal`)
      .map((p) => p.activity.text ?? JSON.stringify(p.activity.attachments ?? []));
  const pimRequests = async () =>
    (await simJson(h.sim, 'GET', '/_sim/requests')).body.value as Array<{ id: string; principalId: string; action: string; status: string }>;
  const endOf = (userId: string, roleId: string) => h.sim.state.eligibilityEnd(h.sim.state.role(roleId)!, userId);
  const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

  /** Alex asks in chat; the bot's sweep finds PIM's request and posts its card; returns the ask's id. */
  async function alexAsksToExtend(): Promise<string> {
    await personalMessage(h, USER.alex, 'extend security operator');
    expect((await pimRequests()).filter((r) => r.principalId === USER.alex && r.action === 'selfExtend' && r.status === 'PendingAdminDecision')).toHaveLength(
      1,
    );
    await h.bot.extensionDesk.sweep();
    await h.bot.delivery.drain();
    const cards = extensionCards();
    expect(cards).toHaveLength(1);
    const apply = executeActions(cards[0]).find((a) => a.verb === 'extension.apply')!;
    return apply.data.askId as string;
  }

  it('is decided by a Global Administrator as themselves; refused for a non-administrator and for the requester; the requester is told', async () => {
    const askId = await alexAsksToExtend();
    const card = JSON.stringify(extensionCards()[0]);
    expect(card).toContain('Extension request');
    expect(card).toContain('Alex Wilber');
    expect(card).toContain('Security Operator');
    expect(card).toContain('Privileged Role Administrators and Global Administrators');
    expect(card).toContain('Activations, last 90 days');
    const before = endOf(USER.alex, ROLE.securityOperator);

    // Megan approves Security Operator activations, but PIM does not let her extend assignments.
    const megan = await cardAction(h.bot.url, teamsUser(USER.megan), 'extension.apply', { askId, newEnd: dateIn(120), note: NOTE });
    expect(megan.body.statusCode).toBe(200);
    expect(JSON.stringify(megan.body.value)).toContain('Only Privileged Role Administrators and Global Administrators');
    const alex = await cardAction(h.bot.url, teamsUser(USER.alex), 'extension.apply', { askId, newEnd: dateIn(120), note: NOTE });
    expect(JSON.stringify(alex.body.value)).toContain('You cannot decide your own request');
    const noNote = await cardAction(h.bot.url, teamsUser(USER.adele), 'extension.apply', { askId, newEnd: dateIn(120), note: 'ok' });
    expect(JSON.stringify(noNote.body.value)).toContain('Add a note of at least');
    expect(endOf(USER.alex, ROLE.securityOperator)).toBe(before);
    expect((await pimRequests()).filter((r) => r.action === 'adminExtend')).toHaveLength(0);
    expect((await h.bot.store.extensionAsks.get(askId))!.status).toBe('open');

    // Adele is a Global Administrator: PIM extends the eligibility as her.
    const adele = await cardAction(h.bot.url, teamsUser(USER.adele), 'extension.apply', { askId, newEnd: dateIn(120), note: NOTE });
    expect(adele.body.statusCode).toBe(200);
    const answered = JSON.stringify(adele.body.value);
    expect(answered).toContain('Extended by Adele Vance');
    expect(answered).toContain(NOTE);
    expect(answered).not.toContain('extension.apply');
    const admin = (await pimRequests()).filter((r) => r.action === 'adminExtend');
    expect(admin).toHaveLength(1);
    expect(admin[0]).toMatchObject({ principalId: USER.alex, status: 'Granted' });
    expect(endOf(USER.alex, ROLE.securityOperator)!.slice(0, 10)).toBe(dateIn(120));

    // Every copy: the channel's card is rewritten; Alex is told once, in his chat.
    await h.bot.delivery.drain();
    const updates = h.connector.updates.filter((u) => u.conversationId === CHANNEL_ID && JSON.stringify(u.activity).includes('Extended by Adele Vance'));
    expect(updates).toHaveLength(1);
    const told = chatTexts(USER.alex).filter((t) => t.includes('Your request to extend Security Operator was approved by Adele Vance'));
    expect(told).toHaveLength(1);

    // A second administrator's click changes nothing.
    const diego = await cardAction(h.bot.url, teamsUser(USER.diego), 'extension.apply', { askId, newEnd: dateIn(200), note: NOTE });
    expect(JSON.stringify(diego.body.value)).toContain('Already extended by Adele Vance');
    expect((await pimRequests()).filter((r) => r.action === 'adminExtend')).toHaveLength(1);
    const audit = await h.bot.store.db.selectFrom('audit_log').selectAll().where('kind', '=', 'extension.decision').execute();
    expect(audit.map((a) => [a.actor, a.outcome])).toEqual([[USER.adele, 'extended']]);
    // Another sweep posts no second card.
    await h.bot.extensionDesk.sweep();
    await h.bot.delivery.drain();
    expect(extensionCards()).toHaveLength(1);
  });

  it('is declined with a note by a Privileged Role Administrator: PIM is not changed and the requester is told', async () => {
    const askId = await alexAsksToExtend();
    const before = endOf(USER.alex, ROLE.securityOperator);
    const declined = await cardAction(h.bot.url, teamsUser(USER.diego), 'extension.decline', {
      askId,
      newEnd: dateIn(120),
      note: 'Move to the new on-call role instead',
    });
    expect(JSON.stringify(declined.body.value)).toContain('Declined by Diego Siciliani');
    expect(endOf(USER.alex, ROLE.securityOperator)).toBe(before);
    expect((await pimRequests()).filter((r) => r.action === 'adminExtend')).toHaveLength(0);
    await h.bot.delivery.drain();
    expect(chatTexts(USER.alex).filter((t) => t.includes('was declined by Diego Siciliani'))).toHaveLength(1);
  });

  it('turns a group extension asked in chat (PIM for Groups has none) into the same card, once', async () => {
    await personalMessage(h, USER.alex, 'extend sql admins');
    await personalMessage(h, USER.alex, 'extend sql admins');
    await h.bot.delivery.drain();
    expect(
      chatTexts(USER.alex).filter((t) => t.includes("I asked the group's owners (Megan Bowen) and your PIM administrators to extend SQL Admins")),
    ).toHaveLength(2);
    const cards = extensionCards();
    expect(cards).toHaveLength(1);
    expect(JSON.stringify(cards[0])).toContain('SQL Admins (member)');
    expect((await pimRequests()).filter((r) => r.principalId === USER.alex)).toEqual([]);
  });

  it('takes decisions only from the admin channel card', async () => {
    const askId = await alexAsksToExtend();
    const elsewhere = await cardAction(
      h.bot.url,
      teamsUser(USER.adele),
      'extension.apply',
      { askId, newEnd: dateIn(120), note: NOTE },
      { conversation: { id: 'a:some-personal-chat', conversationType: 'personal' } },
    );
    expect(elsewhere.body.statusCode).toBe(400);
    expect((await pimRequests()).filter((r) => r.action === 'adminExtend')).toHaveLength(0);
  });

  it('closes the card when the requester cancels the request in PIM', async () => {
    const askId = await alexAsksToExtend();
    const pending = (await pimRequests()).find((r) => r.principalId === USER.alex && r.action === 'selfExtend')!;
    // Alex withdraws it himself, as PIM lets a requester.
    const token = await delegatedGraphToken(h.sim, USER.alex);
    const cancelled = await fetch(`${h.sim.url}/v1.0/roleManagement/directory/roleEligibilityScheduleRequests/${pending.id}/cancel`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(cancelled.status).toBe(204);
    await h.bot.extensionDesk.sweep();
    await h.bot.delivery.drain();
    expect((await h.bot.store.extensionAsks.get(askId))!.status).toBe('withdrawn');
    expect(h.connector.updates.filter((u) => u.conversationId === CHANNEL_ID && JSON.stringify(u.activity).includes('Withdrawn'))).toHaveLength(1);
  });
});

describe('renewal requests decided from the admin channel', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('renews an eligibility that expired, as a Privileged Role Administrator; the card shows when it ended and Patti is told', async () => {
    // Patti's Exchange Administrator eligibility ended three days ago; she asks in chat.
    await personalMessage(h, USER.patti, 'renew exchange admin');
    await h.bot.extensionDesk.sweep();
    await h.bot.delivery.drain();
    const cards = h.connector.posts
      .filter((p) => p.conversationId === CHANNEL_ID && JSON.stringify(p.activity).includes('extension.apply'))
      .map((p) => p.activity.attachments![0].content);
    expect(cards).toHaveLength(1);
    const card = JSON.stringify(cards[0]);
    expect(card).toContain('Renewal request');
    expect(card).toContain('Exchange Administrator');
    const ended = h.sim.state.eligibilityEnd(h.sim.state.role(ROLE.exchangeAdministrator)!, USER.patti)!;
    expect(card).toContain(`{{DATE(${ended.slice(0, 19)}Z, SHORT)}}`);
    const apply = executeActions(cards[0]).find((a) => a.verb === 'extension.apply')!;
    const until = new Date(Date.now() + 60 * DAY).toISOString().slice(0, 10);

    const patti = await cardAction(h.bot.url, teamsUser(USER.patti), 'extension.apply', {
      ...apply.data,
      newEnd: until,
      note: 'Needed for the mailbox migration',
    });
    expect(JSON.stringify(patti.body.value)).toContain('You cannot decide your own request');
    const diego = await cardAction(h.bot.url, teamsUser(USER.diego), 'extension.apply', {
      ...apply.data,
      newEnd: until,
      note: 'Needed for the mailbox migration',
    });
    expect(JSON.stringify(diego.body.value)).toContain('Renewed by Diego Siciliani');
    const renewals = ((await simJson(h.sim, 'GET', '/_sim/requests')).body.value as Array<{ principalId: string; action: string }>).filter(
      (r) => r.principalId === USER.patti && r.action === 'adminRenew',
    );
    expect(renewals).toHaveLength(1);
    expect(h.sim.state.eligibilityEnd(h.sim.state.role(ROLE.exchangeAdministrator)!, USER.patti)!.slice(0, 10)).toBe(until);
    await h.bot.delivery.drain();
    const told = h.connector.posts.filter(
      (p) =>
        p.conversationId === `a:${teamsUser(USER.patti).teamsUserId}-personal` &&
        (p.activity.text ?? '').includes('Your request to renew Exchange Administrator was approved by Diego Siciliani'),
    );
    expect(told).toHaveLength(1);
  });
});

describe('Azure resource extension requests, read from ARM at AZURE_PIM_SCOPES', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ AZURE_PIM_SCOPES: AZURE.subscription });
  });
  afterEach(async () => {
    await h.close();
  });

  it("are decided by the subscription's Owner through ARM (AdminExtend), and refused for a Global Administrator who is not one", async () => {
    // Isaiah's Contributor eligibility on the subscription ends in 7 days; he asks in chat (ARM SelfExtend).
    await personalMessage(h, USER.isaiah, 'extend contributor');
    await h.bot.extensionDesk.sweep();
    await h.bot.delivery.drain();
    const cards = h.connector.posts
      .filter((p) => p.conversationId === CHANNEL_ID && JSON.stringify(p.activity).includes('extension.apply'))
      .map((p) => p.activity.attachments![0].content);
    expect(cards).toHaveLength(1);
    expect(JSON.stringify(cards[0])).toContain('Contributor');
    expect(JSON.stringify(cards[0])).toContain('Owners and User Access Administrators of the scope');
    const apply = executeActions(cards[0]).find((a) => a.verb === 'extension.apply')!;
    const until = new Date(Date.now() + 60 * DAY).toISOString().slice(0, 10);
    const adele = await cardAction(h.bot.url, teamsUser(USER.adele), 'extension.apply', { ...apply.data, newEnd: until, note: 'Platform migration continues' });
    expect(JSON.stringify(adele.body.value)).toContain('Only Owners and User Access Administrators of the scope');
    const diego = await cardAction(h.bot.url, teamsUser(USER.diego), 'extension.apply', { ...apply.data, newEnd: until, note: 'Platform migration continues' });
    expect(JSON.stringify(diego.body.value)).toContain('Extended by Diego Siciliani');
    const role = h.sim.state.seed.azureRoles!.find((r) => r.id === AZURE.contributor)!;
    expect(h.sim.state.eligibilityEnd(role, USER.isaiah)!.slice(0, 10)).toBe(until);
    const admin = ((await simJson(h.sim, 'GET', '/_sim/requests')).body.value as Array<{ principalId: string; action: string }>).filter(
      (r) => r.principalId === USER.isaiah && r.action === 'adminExtend',
    );
    expect(admin).toHaveLength(1);
  });
});
