/**
 * Issue 19, problem 1: a slow Teams answer must not double a card or a notice. Teams accepts a post but
 * answers after the outbox's send timeout; the outbox must find the first copy (Graph reads the conversation
 * back) instead of posting a second one that alone would ever be updated. Counts come from the Bot Connector
 * stand-in (every POST it accepted, and what is still shown), not from the bot.
 */
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, type Harness, pendingRequest, sayHello, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const SEND_TIMEOUT_MS = 800;
const ISAIAH_CHAT = 'a:isaiah-idempotent';

const cardPostsIn = (h: Harness, conversationId: string) =>
  h.connector.posts.filter((p) => p.conversationId === conversationId && Array.isArray(p.activity.attachments));
const actionsOf = (activity: { attachments?: Array<{ content: unknown }> }) =>
  JSON.stringify(activity.attachments?.[0]?.content ?? {}).match(/"verb":"pim\.(approve|deny)"/g) ?? [];

describe('a post Teams accepted but answered too late is not sent again', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness(
      { OUTBOX_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID },
      { now, sweepIntervalMs: 600_000 },
    );
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await h.close();
  });

  /** Lets the outbox's backoff (at most 2 s after the first attempt) pass, then drains. */
  async function afterBackoff(): Promise<void> {
    offsetMs += 5_000;
    await h.bot.delivery.drain();
  }

  async function outboxRows(kind: string) {
    return h.bot.store.db.selectFrom('outbox').selectAll().where('kind', '=', kind).execute();
  }

  it('an approval card: one copy in the channel, recorded, and it is the one the decision updates', async () => {
    h.connector.slowNext('POST', SEND_TIMEOUT_MS * 4);
    const { pimId, row } = await pendingRequest(h, { justification: GOOD });
    // The first attempt timed out although Teams shows the card.
    expect(h.connector.slowed).toBe(1);
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(1);
    expect((await outboxRows('post')).map((r) => r.status)).toEqual(['pending']);

    await afterBackoff();
    // Found in the channel through Graph: not posted again, recorded under the copy Teams shows.
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(1);
    const [first] = cardPostsIn(h, CHANNEL_ID);
    expect((await outboxRows('post')).map((r) => [r.status, r.result_activity_id])).toEqual([['sent', first!.activityId]]);
    expect((await h.bot.store.cardCopies.of(row.id)).map((c) => c.activity_id)).toEqual([first!.activityId]);
    const graphReads = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value.filter(
      (c: { path: string }) => c.path.endsWith(`/channels/${encodeURIComponent(CHANNEL_ID)}/messages`) || c.path.includes('/channels/19:approvers-test'),
    );
    expect(graphReads.length).toBe(1);

    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(res.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    await h.bot.delivery.drain();
    const shown = h.connector.visible(CHANNEL_ID).filter((m) => m.replyToId === null);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.id).toBe(first!.activityId);
    // Its final state: who decided, and no buttons left.
    expect(JSON.stringify(shown[0]!.activity)).toContain('Adele Vance');
    expect(actionsOf(shown[0]!.activity as never)).toEqual([]);
  });

  it('a requester notice: one message in their chat', async () => {
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    const { row } = await pendingRequest(h, { justification: GOOD });
    h.connector.slowNext('POST', SEND_TIMEOUT_MS * 4);
    await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    await h.bot.delivery.drain();
    expect(h.connector.slowed).toBe(1);
    await afterBackoff();
    await afterBackoff();
    const notices = h.connector.posts.filter((p) => p.conversationId === ISAIAH_CHAT && /was approved by Adele Vance/.test(String(p.activity.text)));
    expect(notices).toHaveLength(1);
    expect(h.connector.visible(ISAIAH_CHAT).filter((m) => /was approved by Adele Vance/.test(String(m.activity.text)))).toHaveLength(1);
    const notice = (await outboxRows('post')).filter((r) => r.dedupe_key.startsWith('notice:'));
    expect(notice.map((r) => [r.status, r.result_activity_id])).toEqual([['sent', notices[0]!.activityId]]);
  });

  it('while Graph cannot be read the post waits instead of going twice, and goes once Graph answers', async () => {
    h.connector.slowNext('POST', SEND_TIMEOUT_MS * 4);
    // Graph's channel message reads fail (503) for the next three tries.
    const fault = await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '/channels/.*/messages', status: 503, times: 3 });
    expect(fault.status).toBeLessThan(300);
    const { row } = await pendingRequest(h, { justification: GOOD });
    for (let i = 0; i < 3; i++) await afterBackoff();
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(1);
    // Backoff doubles: give it room, then Graph answers and the copy is found.
    for (let i = 0; i < 4 && (await outboxRows('post'))[0]!.status !== 'sent'; i++) {
      offsetMs += 60_000;
      await h.bot.delivery.drain();
    }
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(1);
    expect((await h.bot.store.cardCopies.of(row.id)).map((c) => c.activity_id)).toEqual([cardPostsIn(h, CHANNEL_ID)[0]!.activityId]);
  });

  it('a post that never reached Teams is sent again after the conversation shows no copy', async () => {
    // No answer and nothing recorded: the request died on the way.
    h.connector.hangNext('POST', 1);
    const { row } = await pendingRequest(h, { justification: GOOD });
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(0);
    await afterBackoff();
    expect(cardPostsIn(h, CHANNEL_ID)).toHaveLength(1);
    expect(h.connector.visible(CHANNEL_ID)).toHaveLength(1);
    expect((await h.bot.store.cardCopies.of(row.id)).map((c) => c.activity_id)).toEqual([cardPostsIn(h, CHANNEL_ID)[0]!.activityId]);
  });
});
