/**
 * The stale-request ladder on a fake clock (the bot's) moved together with PIM's (the simulator's):
 * nudges in the card's thread that mention the approvers, one catch-up nudge after downtime, escalation
 * to the backup channel with the requester told who can still approve, EXPIRED when PIM drops the
 * request, a decision stopping the ladder at once, and the requester's rate-limited reminder.
 */
import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const BACKUP = '19:pim-backup@thread.tacv2';
const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';

describe('reminders for requests nobody decides', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness(
      {},
      {
        now,
        channels: { backup: BACKUP },
        policy: () => ({ version: 1, roles: { default: { justification: 'flag', reminders: { escalateTo: 'backup' } } } }),
      },
    );
    // The daily digests' first tick (and any digest it finds due) runs at start: drain it so the counts
    // below are the ladder's alone.
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await h.close();
  });

  async function advance(minutes: number) {
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  const hello = (userId: string) => personalMessage(h, userId, 'hi');

  async function pendingRequest() {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: GOOD,
      durationMinutes: 60,
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = (await h.bot.store.requests.byPimId(created.body.id))!;
    await h.bot.reminders.startPending();
    return { pimId: created.body.id as string, row, cardActivityId: h.connector.posts.find((p) => p.conversationId === CHANNEL_ID)!.activityId };
  }

  /** Runs due jobs, then lets the outbox send what they queued. */
  async function runDue(): Promise<number> {
    const ran = await h.bot.scheduler.runDue();
    await h.bot.delivery.drain();
    return ran;
  }

  const threadReplies = (activityId: string, channel = CHANNEL_ID) =>
    h.connector.posts.filter((p) => p.conversationId === `${channel};messageid=${activityId}`);

  it('nudges in the thread after 15 minutes and again after 30 more, mentioning the approvers; a decision stops it', async () => {
    const { row, cardActivityId } = await pendingRequest();
    expect(await runDue()).toBe(0);
    await advance(16);
    expect(await runDue()).toBe(1);
    const first = threadReplies(cardActivityId);
    expect(first).toHaveLength(1);
    expect(first[0]!.activity.text).toContain('<at>Adele Vance</at>');
    expect(first[0]!.activity.text).toContain('<at>Megan Bowen</at>');
    expect(first[0]!.activity.text).not.toContain('Isaiah Langer</at>');
    // Read by many in a channel: PIM's deadline as time left, not a clock time in one zone for all.
    expect(first[0]!.activity.text).toMatch(/ PIM drops the request in 23 h 4[34] min \(the card shows when\)\.$/);
    expect(first[0]!.activity.text).not.toContain('UTC');
    expect(first[0]!.activity.entities).toEqual(
      expect.arrayContaining([{ type: 'mention', text: '<at>Adele Vance</at>', mentioned: { id: USER.adele, name: 'Adele Vance' } }]),
    );
    await advance(10);
    await runDue();
    expect(threadReplies(cardActivityId)).toHaveLength(1);
    await advance(20);
    await runDue();
    expect(threadReplies(cardActivityId)).toHaveLength(2);

    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: (await h.bot.store.requests.get(row.id))!.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(decided.body.statusCode).toBe(200);
    await advance(120);
    await runDue();
    expect(threadReplies(cardActivityId)).toHaveLength(2);
    expect((await h.bot.scheduler.get(`ladder:${row.id}`))!.status).toBe('done');
  });

  it('after a long downtime sends one nudge, escalates to the backup channel, tells the requester, then shows EXPIRED', async () => {
    await hello(USER.isaiah);
    const { row, cardActivityId } = await pendingRequest();
    await advance(18 * 60 + 5);
    await runDue(); // the one catch-up nudge
    await runDue(); // the escalation, due now too
    expect(threadReplies(cardActivityId)).toHaveLength(2);
    const escalation = threadReplies(cardActivityId)[1]!.activity;
    expect(escalation.text).toContain('Escalation');
    // The role's PIM policy names Alex as its escalation approver: he is mentioned as the escalation contact.
    expect(escalation.text).toMatch(/<at>Alex Wilber<\/at>: you are this role's escalation contacts in PIM/);
    expect(escalation.entities!.map((e: any) => e.mentioned.id)).toEqual(expect.arrayContaining([USER.adele, USER.megan, USER.alex]));
    const copy = h.connector.posts.find((p) => p.conversationId === BACKUP);
    expect(copy).toBeDefined();
    expect(JSON.stringify(copy!.activity.attachments![0].content)).toContain('pim.approve');
    const toRequester = h.connector.posts.filter((p) => p.conversationId === 'a:user-id-3-personal').map((p) => String(p.activity.text ?? ''));
    expect(
      toRequester.filter((t) => /still waiting .* escalated it to backup and to Alex Wilber\. These people can still approve: .*Adele Vance/.test(t)),
    ).toHaveLength(1);
    // One clock: how long PIM still holds it, not a UTC time the requester must convert.
    expect(toRequester.filter((t) => /escalated it/.test(t) && /PIM drops it in \d+ h \d+ min\.$/.test(t) && !t.includes('UTC'))).toHaveLength(1);
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).not.toBeNull();
    // Sent through the outbox, keyed once per request: a retried escalation job queues nothing new.
    const queued = await h.bot.store.db.selectFrom('outbox').select('status').where('dedupe_key', '=', `notice:${row.id}:escalated`).execute();
    expect(queued).toEqual([{ status: 'sent' }]);

    await advance(6 * 60);
    await runDue();
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('expired');
    await h.bot.delivery.drain();
    // Every copy (the channel and the backup channel) now says EXPIRED without buttons.
    const finals = h.connector.updates.slice(-2);
    expect(new Set(finals.map((u) => u.conversationId))).toEqual(new Set([CHANNEL_ID, BACKUP]));
    for (const u of finals) {
      expect(JSON.stringify(u.activity.attachments![0].content)).toMatch(/24 hours/);
      expect(JSON.stringify(u.activity.attachments![0].content)).not.toContain('pim.approve');
    }
    const reRequest = h.connector.posts.filter((p) => p.conversationId === 'a:user-id-3-personal').at(-1)!.activity.attachments![0].content;
    expect(reRequest.actions[0]).toMatchObject({ verb: 'chat.requestAgain', data: { requestId: row.id } });
  });

  it("sends the requester's reminder at once, and not again within 30 minutes", async () => {
    await hello(USER.isaiah);
    const { cardActivityId } = await pendingRequest();
    const say = (text: string) => personalMessage(h, USER.isaiah, text);
    await say('remind the approvers please');
    await h.connector.waitFor(() => threadReplies(cardActivityId).length === 1);
    expect(threadReplies(cardActivityId)[0]!.activity.text).toContain('asked me to remind you');
    await say('remind');
    await h.connector.waitFor(() =>
      h.connector.posts.some((p) => /The approvers were reminded just now; you can ask again in (29|30) min\./.test(String(p.activity.text ?? ''))),
    );
    expect(threadReplies(cardActivityId)).toHaveLength(1);
  });

  it('a reminder asked for in the first minute says the request is from just now, not "(0 min)"', async () => {
    await hello(USER.isaiah);
    const { cardActivityId } = await pendingRequest();
    await personalMessage(h, USER.isaiah, 'remind');
    await h.connector.waitFor(() => threadReplies(cardActivityId).length === 1);
    const text = String(threadReplies(cardActivityId)[0]!.activity.text);
    expect(text).toContain('asked me to remind you (requested just now)');
    expect(text).not.toContain('0 min');
  });
});
