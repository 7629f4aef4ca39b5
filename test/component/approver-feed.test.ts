/**
 * Issue 21, item 8: approvers reached where they are. When a request's card is in the approvers' channel,
 * each approver who can decide gets one Teams activity-feed notification (`approvalRequested`) that opens
 * the card: never the requester, never twice, and nothing once the request no longer waits.
 */
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { DEMO_TENANT_ID, USER } from '../../sim/seed';
import { CHANNEL_ID, cardAction, type Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

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
