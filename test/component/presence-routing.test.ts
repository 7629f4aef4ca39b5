/**
 * Presence-aware nudges and early escalation, on the bot's fake clock moved with PIM's: the approvers'
 * Teams presence (the simulator's Graph getPresencesByUserId) orders the mentions, names those away or out
 * of office, and when no approver has been reachable for PRESENCE_EARLY_ESCALATION_AFTER the request
 * escalates early to the backup channel and the role's escalation contacts, once, also with two replicas.
 * Presence that cannot be read leaves the ladder as it was.
 */
import pino from 'pino';
import { startBot, type RunningBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';
import type { SeedPresence } from '../../sim/seed';
import { USER } from '../../sim/seed';
import { CHANNEL_ID, type Harness, pendingRequest, personalMessage, simJson, startHarness } from '../support/harness';

const BACKUP = '19:pim-backup@thread.tacv2';
const REQUESTER_CHAT = 'a:user-id-3-personal';
const PRESENCE_CALL = /communications\/getPresencesByUserId$/;

describe('presence-aware nudges and early escalation', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  async function start(env: Record<string, string> = {}, policy: Record<string, unknown> = {}) {
    offsetMs = 0;
    h = await startHarness(env, {
      now,
      channels: { backup: BACKUP },
      policy: () => ({ version: 1, roles: { default: { justification: 'flag', reminders: { escalateTo: 'backup' } } }, ...policy }),
    });
    while ((await h.bot.scheduler.runDue()) > 0);
  }
  afterEach(async () => {
    await h?.close();
  });

  async function advance(minutes: number) {
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }
  async function runDue(bot: RunningBot = h.bot): Promise<number> {
    const ran = await bot.scheduler.runDue();
    await bot.delivery.drain();
    return ran;
  }
  const presence = (userId: string, availability: SeedPresence['availability'], outOfOffice?: string) =>
    h.sim.presence.set({ userId, availability, activity: availability, ...(outOfOffice ? { outOfOffice: { message: outOfOffice } } : {}) });
  async function request(role = 'User Administrator') {
    const { row } = await pendingRequest(h, { role, durationMinutes: 60 });
    await h.bot.reminders.startPending();
    const card = h.connector.posts.find(
      (p) => p.conversationId === CHANNEL_ID && p.activity.attachments?.[0]?.content && JSON.stringify(p.activity).includes(row.id),
    )!;
    return { row, replies: () => h.connector.posts.filter((p) => p.conversationId === `${CHANNEL_ID};messageid=${card.activityId}`).map((p) => p.activity) };
  }
  const toRequester = () => h.connector.posts.filter((p) => p.conversationId === REQUESTER_CHAT).map((p) => String(p.activity.text ?? ''));
  const presenceCalls = async () =>
    ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ path: string; status: number }>).filter((c) => PRESENCE_CALL.test(c.path));

  it('mentions the available approver before the busy one, and names, not pings, one out of office', async () => {
    await start();
    presence(USER.adele, 'Busy');
    presence(USER.megan, 'Available');
    const { row, replies } = await request();
    await advance(16);
    await runDue();
    const first = replies()[0]!;
    expect(first.text).toContain('<at>Megan Bowen</at>, <at>Adele Vance</at>: please approve or deny');
    expect(first.entities!.map((e: any) => e.mentioned.id)).toEqual([USER.megan, USER.adele]);
    expect(first.entities![0]).toEqual({ type: 'mention', text: '<at>Megan Bowen</at>', mentioned: { id: USER.megan, name: 'Megan Bowen' } });

    presence(USER.adele, 'Offline', 'On leave until Monday');
    await advance(30);
    await runDue();
    const second = replies()[1]!;
    expect(second.text).toContain('Still waiting');
    expect(second.text).toContain('<at>Megan Bowen</at>: please approve');
    expect(second.text).toContain('Not mentioned: Adele Vance (out of office).');
    expect(second.text).not.toContain('<at>Adele Vance</at>');
    // The user's own out-of-office message stays out of the channel.
    expect(second.text).not.toContain('On leave');
    expect(second.entities!.map((e: any) => e.mentioned.id)).toEqual([USER.megan]);
    // Megan stayed reachable: no early escalation.
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).toBeNull();
  });

  it('escalates early when every approver is away or out of office, once, and keeps nudging without a second escalation', async () => {
    await start();
    await personalMessage(h, USER.isaiah, 'hi');
    presence(USER.adele, 'Away');
    presence(USER.megan, 'Offline', 'Parental leave');
    const { row, replies } = await request();
    await advance(10);
    await runDue();
    expect(replies()).toHaveLength(0);
    await advance(6);
    await runDue();

    expect(replies()).toHaveLength(1);
    const escalation = replies()[0]!;
    expect(escalation.text).toContain('Escalated early: no approver has been available for 16 min.');
    // Nobody reachable: the away approver is still mentioned (she sees it when back), the one on leave is named.
    expect(escalation.text).toContain('<at>Adele Vance</at>: please approve');
    expect(escalation.text).toContain('Not mentioned: Megan Bowen (out of office).');
    expect(escalation.text).toMatch(/<at>Alex Wilber<\/at>: you are this role's escalation contacts in PIM: no approver is available/);
    expect(escalation.entities!.map((e: any) => e.mentioned.id)).toEqual([USER.adele, USER.alex]);
    const copy = h.connector.posts.find((p) => p.conversationId === BACKUP);
    expect(copy).toBeDefined();
    expect(JSON.stringify(copy!.activity.attachments![0].content)).toContain('pim.approve');
    expect(
      toRequester().some((t) =>
        /Your request for User Administrator is still waiting and no approver has been available for 16 min, so I escalated it early to backup and to Alex Wilber\./.test(
          t,
        ),
      ),
    ).toBe(true);
    expect(await h.bot.store.requests.get(row.id)).toMatchObject({ escalated_early: 1, nudge_count: 1 });
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).not.toBeNull();

    // The ladder goes on nudging (the escalation stood for the first nudge), and never escalates again.
    await advance(30);
    await runDue();
    expect(replies()).toHaveLength(2);
    expect(replies()[1]!.text).toContain('Still waiting for a decision (46 min)');
    await advance(18 * 60);
    await runDue();
    await runDue();
    expect(replies().filter((r) => /Escalat/.test(r.text!))).toHaveLength(1);
    expect(h.connector.posts.filter((p) => p.conversationId === BACKUP)).toHaveLength(1);
  });

  it('measures the time without a reachable approver across checks, and honours PRESENCE_EARLY_ESCALATION_AFTER', async () => {
    await start({ PRESENCE_EARLY_ESCALATION_AFTER: '30' });
    const { row, replies } = await request();
    // 16 min: Adele and Megan are reachable (seeded); the nudge goes out and that is remembered.
    await advance(16);
    await runDue();
    expect((await h.bot.store.requests.get(row.id))!.approvers_reachable_at).not.toBeNull();
    presence(USER.adele, 'Away');
    presence(USER.megan, 'BeRightBack');
    // 45 min: the second nudge; nobody reachable, but only for 29 minutes since they were seen.
    await advance(29);
    await runDue();
    expect(replies()[1]!.text).toContain('Still waiting');
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).toBeNull();
    // 46 min: 30 minutes since an approver was last reachable: a presence check between nudges escalates.
    await advance(1);
    await runDue();
    expect(replies()[2]!.text).toContain('Escalated early: no approver has been available for 30 min.');
    expect((await h.bot.store.requests.get(row.id))!.escalated_early).toBe(1);
  });

  it('holds an early escalation in quiet hours, as nudges are held', async () => {
    // From an hour ago to three hours ahead, whatever the time of day the test runs.
    const hour = (delta: number) => `${String((new Date().getUTCHours() + 24 + delta) % 24).padStart(2, '0')}:00`;
    await start({}, { quietHours: { timeZone: 'UTC', start: hour(-1), end: hour(3) } });
    presence(USER.adele, 'Offline');
    presence(USER.megan, 'Offline');
    const { row, replies } = await request();
    await advance(16);
    await runDue();
    expect(replies()).toHaveLength(0);
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).toBeNull();
    expect(await presenceCalls()).toHaveLength(1);
  });

  it('reads the presence of every approver due in a pass with one Graph call', async () => {
    await start();
    await request('User Administrator');
    await request('Helpdesk Administrator');
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    await advance(16);
    await runDue();
    expect(await presenceCalls()).toHaveLength(1);
  });

  it('leaves the ladder unchanged when presence cannot be read (no permission, Graph failing)', async () => {
    await start();
    presence(USER.adele, 'Away');
    presence(USER.megan, 'Offline', 'Parental leave');
    h.sim.faults.add({ pathPattern: 'getPresencesByUserId', status: 403 });
    const { row, replies } = await request();
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    await advance(16);
    await runDue();
    expect((await presenceCalls()).map((c) => c.status)).toEqual([403]);
    expect(replies()).toHaveLength(1);
    expect(replies()[0]!.text).toContain('Still waiting');
    expect(replies()[0]!.text).toContain('<at>Adele Vance</at>, <at>Megan Bowen</at>: please approve');
    expect(replies()[0]!.text).not.toContain('Not mentioned');
    h.sim.faults.clear();
    h.sim.faults.add({ pathPattern: 'getPresencesByUserId', status: 500 });
    await advance(30);
    await runDue();
    expect(replies()).toHaveLength(2);
    expect(replies()[1]!.text).toContain('<at>Adele Vance</at>, <at>Megan Bowen</at>');
    expect((await h.bot.store.requests.get(row.id))!.escalated_at).toBeNull();
  });

  it('reads no presence at all with PRESENCE_ROUTING=off', async () => {
    await start({ PRESENCE_ROUTING: 'off' });
    presence(USER.adele, 'Away');
    presence(USER.megan, 'Away');
    const off = await request();
    await advance(16);
    await runDue();
    expect(off.replies()[0]!.text).toContain('<at>Adele Vance</at>, <at>Megan Bowen</at>');
    expect(await presenceCalls()).toHaveLength(0);
    expect((await h.bot.store.requests.get(off.row.id))!.escalated_at).toBeNull();
  });

  it('escalates early once with two replicas on one database', async () => {
    await start();
    const b = await startBot(loadConfig({ ...h.env, PORT: '0' }), { logger: pino({ level: 'silent' }), sweepIntervalMs: 60_000, jobsIntervalMs: 0, now });
    try {
      presence(USER.adele, 'Away');
      presence(USER.megan, 'Away');
      const { row, replies } = await request();
      await advance(16);
      await Promise.all([h.bot.scheduler.runDue(), b.scheduler.runDue()]);
      await Promise.all([h.bot.delivery.drain(), b.delivery.drain()]);
      expect(replies().filter((r) => /Escalated early/.test(r.text!))).toHaveLength(1);
      expect(h.connector.posts.filter((p) => p.conversationId === BACKUP)).toHaveLength(1);
      // The claim on the request itself: of two runners racing on one request, one may escalate.
      const other = await request('Helpdesk Administrator');
      const at = now().toISOString();
      const claims = await Promise.all([h.bot.store.requests.claimEarlyEscalation(other.row.id, at), b.store.requests.claimEarlyEscalation(other.row.id, at)]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await b.store.requests.get(row.id))!.escalated_early).toBe(1);
    } finally {
      await b.close();
    }
  });
});
