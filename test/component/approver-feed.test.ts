/**
 * Issue 21, item 8: approvers reached where they are. When a request's card is in the approvers' channel,
 * each approver who can decide gets one Teams activity-feed notification (`approvalRequested`) that opens
 * the card: never the requester, never twice, and nothing once the request no longer waits. And `approvals` in
 * the personal chat: what waits for me, as cards with the controls, kept in step with the channel's copy.
 */
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { DEMO_TENANT_ID, USER } from '../../sim/seed';
import { CHANNEL_ID, cardAction, type Harness, pendingRequest, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

interface SimActivity {
  userId: string;
  activityType: string;
  topic: { source: string; value: string; webUrl?: string };
  previewText: string;
  templateParameters: Array<{ name: string; value: string }>;
}

describe('activity-feed notifications for approvers', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID });
    // The app reaches the approvers through the team it is installed in.
    for (const user of [USER.adele, USER.megan, USER.isaiah])
      expect((await simJson(h.sim, 'POST', '/_sim/teams/team-member', { user, member: true })).status).toBe(200);
  });
  afterEach(async () => {
    await h.close();
  });

  const activity = async (): Promise<SimActivity[]> => (await simJson(h.sim, 'GET', '/_sim/teams/activity')).body.value;
  /** Runs the scheduler until no job is due within the feed's spacing (the jobs of one request are 500 ms apart). */
  async function runFeedJobs(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      await h.bot.scheduler.runDue();
      await new Promise((resolve) => setTimeout(resolve, 550));
    }
    await h.bot.scheduler.runDue();
  }

  it('each approver gets one notification that opens the channel card; the requester none, and a second copy or sweep sends no more', async () => {
    const { row } = await pendingRequest(h);
    await runFeedJobs();
    const sent = await activity();
    expect(sent.map((a) => a.userId).sort()).toEqual([USER.adele, USER.megan].sort());
    const card = h.connector.posts.find((p) => p.conversationId === CHANNEL_ID)!;
    for (const a of sent) {
      expect(a.activityType).toBe('approvalRequested');
      expect(a.topic.webUrl).toBe(
        `https://teams.microsoft.com/l/message/${encodeURIComponent(CHANNEL_ID)}/${encodeURIComponent(card.activityId)}?tenantId=${DEMO_TENANT_ID}&parentMessageId=${encodeURIComponent(card.activityId)}`,
      );
      expect(a.templateParameters).toEqual([
        { name: 'requester', value: 'Isaiah Langer' },
        { name: 'role', value: 'User Administrator' },
      ]);
      expect(a.previewText).toBe('Isaiah Langer asks to activate User Administrator. Open the card to approve or deny.');
    }

    // The sweep records the copy again after a restart, the card is refreshed: nothing more is sent.
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    await h.bot.delivery.postCards(row.id);
    await runFeedJobs();
    expect(await activity()).toHaveLength(2);
  });

  it('a request decided before the notifications went out sends none', async () => {
    const { row } = await pendingRequest(h);
    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(decided.body.statusCode).toBe(200);
    await runFeedJobs();
    expect(await activity()).toEqual([]);
  });
});

describe('approvals in the personal chat', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const chatOf = (userId: string) => `a:${teamsUser(userId).teamsUserId}-personal`;
  /** Approval cards posted in a conversation (not the help card a "hi" gets). */
  const cardsIn = (conversationId: string) =>
    h.connector.posts.filter(
      (p) =>
        p.conversationId === conversationId &&
        p.activity.attachments?.[0]?.contentType === 'application/vnd.microsoft.card.adaptive' &&
        JSON.stringify(p.activity.attachments[0].content).includes('"verb":"pim.refresh"'),
    );

  it('approvals on: each new request waiting for me also comes to my chat as its card; off: no longer; never for others', async () => {
    await personalMessage(h, USER.adele, 'approvals on');
    const turnedOn = h.connector.posts.filter((p) => p.conversationId === chatOf(USER.adele)).at(-1)!;
    expect(turnedOn.activity.text).toContain('Turned on: every new request waiting for your approval also comes to this chat');
    await personalMessage(h, USER.megan, 'hi');

    const { row } = await pendingRequest(h);
    await h.bot.delivery.drain();
    expect(cardsIn(chatOf(USER.adele))).toHaveLength(1);
    expect(JSON.stringify(cardsIn(chatOf(USER.adele))[0]!.activity.attachments![0]!.content)).toContain(`"requestId":"${row.id}"`);
    expect(cardsIn(chatOf(USER.megan))).toHaveLength(0);
    // Still one channel card: the chat copy is never summarised or counted against the channel.
    expect(cardsIn(CHANNEL_ID)).toHaveLength(1);

    await personalMessage(h, USER.adele, 'approvals off');
    await pendingRequest(h, { principal: USER.patti, role: 'User Administrator', justification: 'Reset MFA for the locked-out CFO under incident INC0012345' });
    await h.bot.delivery.drain();
    expect(cardsIn(chatOf(USER.adele))).toHaveLength(1);
    expect(cardsIn(CHANNEL_ID)).toHaveLength(2);
  });

  it('lists what waits for me as cards with the controls, once, kept in step with the channel copy; nudges stay in the channel', async () => {
    const { row } = await pendingRequest(h);
    await personalMessage(h, USER.adele, 'approvals');
    await h.bot.delivery.drain();
    const reply = h.connector.posts.filter((p) => p.conversationId === chatOf(USER.adele) && typeof p.activity.text === 'string').at(-1)!;
    expect(reply.activity.text).toContain('**1 request waits for your approval.**');
    expect(reply.activity.text).toContain('- User Administrator for Isaiah Langer');
    expect(cardsIn(chatOf(USER.adele))).toHaveLength(1);
    const copy = JSON.stringify(cardsIn(chatOf(USER.adele))[0]!.activity.attachments![0]!.content);
    expect(copy).toContain('"verb":"pim.approve"');

    // Asking again sends no second copy; the requester and non-approvers get none.
    await personalMessage(h, USER.adele, 'approvals');
    await personalMessage(h, USER.isaiah, 'approvals');
    await personalMessage(h, USER.lynne, 'my approvals');
    await h.bot.delivery.drain();
    expect(cardsIn(chatOf(USER.adele))).toHaveLength(1);
    expect(cardsIn(chatOf(USER.isaiah))).toHaveLength(0);
    expect(cardsIn(chatOf(USER.lynne))).toHaveLength(0);
    expect(h.connector.posts.filter((p) => p.conversationId === chatOf(USER.lynne)).at(-1)!.activity.text).toBe(
      'Nothing is waiting for your approval right now.',
    );

    // A nudge goes to the channel's thread only: nothing more in the approver's chat.
    const inAdeleChat = () => h.connector.posts.filter((p) => p.conversationId.startsWith(chatOf(USER.adele))).length;
    const before = inAdeleChat();
    expect(await h.bot.reminders.remindNow(row, USER.isaiah)).toMatch(/^I reminded /);
    await h.bot.delivery.drain();
    expect(h.connector.posts.filter((p) => p.conversationId.startsWith(`${CHANNEL_ID};messageid=`))).toHaveLength(1);
    expect(inAdeleChat()).toBe(before);

    // Approved on the channel card: the personal copy is rewritten too, without buttons.
    const decided = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: (await h.bot.store.requests.get(row.id))!.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(decided.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    const personalCopy = cardsIn(chatOf(USER.adele))[0]!;
    const updates = h.connector.updates.filter((u) => u.conversationId === chatOf(USER.adele) && u.activityId === personalCopy.activityId);
    expect(updates).toHaveLength(1);
    const updated = JSON.stringify(updates[0]!.activity.attachments![0]!.content);
    expect(updated).toContain('Approved by Megan Bowen');
    expect(updated).not.toContain('"verb":"pim.approve"');
  });
});
