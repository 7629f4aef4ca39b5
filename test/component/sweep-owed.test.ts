/**
 * Issue 19, items 3 and 4: what the delivery sweep owes is read from durable state and paged to the end.
 * A card Teams accepted whose copy record was lost (a stop between the outbox marking it sent and the
 * listener recording it) is recorded from the outbox row, so later decisions update it; and requester
 * notices owed after a burst are all queued in one sweep, none twice.
 */
import { ladderJobId } from '../../services/jobs/reminders';
import { ROLE, seedTenant, USER, type SeedTenant } from '../../sim/seed';
import { cardAction, CHANNEL_ID, type Harness, pendingRequest, startHarness, teamsUser } from '../support/harness';

describe('sweeps that read what is owed', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await h.close();
  });

  const channelPosts = () => h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID);

  async function orphanedCard() {
    // The outbox marks the post sent, then the process "stops" before the copy is recorded.
    const spy = jest.spyOn(h.bot.store.cardCopies, 'add').mockRejectedValueOnce(new Error('killed between sent and recorded'));
    const { row } = await pendingRequest(h);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const after = (await h.bot.store.requests.get(row.id))!;
    expect(after.cards_posted_at).not.toBeNull();
    expect(await h.bot.store.cardCopies.of(row.id)).toHaveLength(0);
    expect(channelPosts()).toHaveLength(1);
    return after;
  }

  async function expectOneCardThatFollowsDecisions(requestId: string) {
    const posts = await h.bot.store.cardCopies.of(requestId);
    expect(posts).toHaveLength(1);
    expect(channelPosts()).toHaveLength(1);
    expect(posts[0]!.conversation_id).toBe(CHANNEL_ID);
    expect(posts[0]!.activity_id).toBe(channelPosts()[0]!.activityId);
    const row = (await h.bot.store.requests.get(requestId))!;
    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(decided.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    const updates = h.connector.updates.filter((u) => u.conversationId === CHANNEL_ID);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.map((u) => u.activityId)).toEqual(updates.map(() => posts[0]!.activity_id));
    expect(channelPosts()).toHaveLength(1);
    expect(await h.bot.store.requests.withStaleCards()).toHaveLength(0);
  }

  it('the card, its posted mark and the reminder ladder commit together: a failure in between leaves none, and the sweep posts all three once', async () => {
    const ladderFails = jest.spyOn(h.bot.scheduler, 'schedule').mockRejectedValueOnce(new Error('killed before the ladder was scheduled'));
    const { row } = await pendingRequest(h);
    expect(ladderFails).toHaveBeenCalledTimes(1);
    ladderFails.mockRestore();
    const cardKey = `card:${row.id}:${CHANNEL_ID}`;
    // Rolled back as one: no queued card, no mark, no ladder, nothing at Teams.
    expect(await h.bot.outbox.byDedupeKey(cardKey)).toBeUndefined();
    expect((await h.bot.store.requests.get(row.id))!.cards_posted_at).toBeNull();
    expect(await h.bot.scheduler.get(ladderJobId(row.id))).toBeUndefined();
    expect(channelPosts()).toHaveLength(0);

    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    await h.bot.delivery.sweep(); // nothing owed the second time
    await h.bot.delivery.drain();
    expect((await h.bot.outbox.byDedupeKey(cardKey))?.status).toBe('sent');
    expect((await h.bot.store.requests.get(row.id))!.cards_posted_at).not.toBeNull();
    expect((await h.bot.scheduler.get(ladderJobId(row.id)))?.status).toBe('pending');
    expect(channelPosts()).toHaveLength(1);
    await expectOneCardThatFollowsDecisions(row.id);
  });

  it('a card sent but not recorded is recorded by the sweep (as at start-up), once, and later decisions update it', async () => {
    const row = await orphanedCard();
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    await h.bot.delivery.sweep(); // a second sweep finds nothing owed
    await h.bot.delivery.drain();
    expect(await h.bot.store.cardCopies.sentWithoutCopies(null)).toHaveLength(0);
    await expectOneCardThatFollowsDecisions(row.id);
  });

  it('postCards for a request whose cards were handed over repairs the missing record instead of returning early', async () => {
    const row = await orphanedCard();
    await h.bot.delivery.postCards(row.id);
    await h.bot.delivery.postCards(row.id);
    await h.bot.delivery.drain();
    await expectOneCardThatFollowsDecisions(row.id);
  });

  it('a burst of 250 decided requests: one sweep queues exactly 250 requester notices; a second queues none', async () => {
    const { row } = await pendingRequest(h);
    const BURST = 250;
    const now = new Date().toISOString();
    const serviceUrl = h.connector.serviceUrl;
    const closed = (i: number, extra: Record<string, unknown> = {}) => ({
      ...row,
      id: `${row.id}-burst-${String(i).padStart(4, '0')}`,
      pim_request_id: `${row.pim_request_id}-burst-${i}`,
      principal_id: `burst-user-${i}`,
      status: 'denied',
      decided_by_id: USER.adele,
      decided_by_name: 'Adele Vance',
      decided_at: now,
      decision_justification: 'Not for this ticket',
      cards_posted_at: now,
      updated_at: now,
      ...extra,
    });
    for (let i = 0; i < BURST; i++) await h.bot.store.conversations.save(`burst-user-${i}`, { conversation: { id: `a:burst-chat-${i}` }, serviceUrl });
    const values = Array.from({ length: BURST }, (_, i) => closed(i));
    for (let i = 0; i < values.length; i += 50)
      await h.bot.store.db
        .insertInto('approval_requests')
        .values(values.slice(i, i + 50) as any)
        .execute();
    // Not owed: a request bound to no PIM copy, and a requester without a chat with the bot.
    await h.bot.store.conversations.save('burst-user-unbound', { conversation: { id: 'a:burst-chat-unbound' }, serviceUrl });
    await h.bot.store.db
      .insertInto('approval_requests')
      .values(closed(9001, { principal_id: 'burst-user-unbound', unbound_at: now }) as any)
      .execute();
    await h.bot.store.db
      .insertInto('approval_requests')
      .values(closed(9002, { principal_id: 'burst-user-no-chat' }) as any)
      .execute();

    const notices = async () =>
      await h.bot.store.db.selectFrom('outbox').select(['dedupe_key', 'conversation_id']).where('dedupe_key', 'like', `notice:${row.id}-burst-%`).execute();
    expect(await notices()).toHaveLength(0);
    await h.bot.delivery.sweep();
    const queued = await notices();
    expect(queued).toHaveLength(BURST);
    expect(new Set(queued.map((n) => n.dedupe_key)).size).toBe(BURST);
    expect(new Set(queued.map((n) => n.conversation_id))).toEqual(new Set(Array.from({ length: BURST }, (_, i) => `a:burst-chat-${i}`)));
    expect(queued.every((n) => n.dedupe_key.endsWith(':denied'))).toBe(true);
    expect(await h.bot.store.requests.owingNotice(new Date(0).toISOString(), null, 1000)).toHaveLength(0);

    await h.bot.delivery.sweep();
    expect(await notices()).toHaveLength(BURST);
    await h.bot.delivery.drain();
    const sent = h.connector.posts.filter((p) => p.conversationId.startsWith('a:burst-chat-'));
    expect(sent).toHaveLength(BURST);
    expect(new Set(sent.map((p) => p.conversationId)).size).toBe(BURST);
  }, 120_000);

  it('a burst of requests without cards: one sweep pages through all of them', async () => {
    const { row } = await pendingRequest(h);
    const now = new Date().toISOString();
    const rows = Array.from({ length: 230 }, (_, i) => ({
      ...row,
      id: `${row.id}-nocard-${String(i).padStart(4, '0')}`,
      pim_request_id: `${row.pim_request_id}-nocard-${i}`,
      cards_posted_at: null,
      created_at: now,
    }));
    for (let i = 0; i < rows.length; i += 50)
      await h.bot.store.db
        .insertInto('approval_requests')
        .values(rows.slice(i, i + 50) as any)
        .execute();
    const seen: string[] = [];
    jest.spyOn(h.bot.delivery, 'postCards').mockImplementation(async (id: string) => {
      seen.push(id);
    });
    await h.bot.delivery.sweep();
    expect(seen).toHaveLength(230);
    expect(new Set(seen).size).toBe(230);
  });
});

describe('a summary card sent but not recorded', () => {
  const ROLES = 5;
  function seedWithRoles(): SeedTenant {
    const seed: SeedTenant = structuredClone(seedTenant);
    const template = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
    for (let i = 0; i < ROLES; i++) {
      const id = `0c7d1a52-8e44-4b0f-9d3e-${String(i).padStart(12, '0')}`;
      seed.roles.push({ ...structuredClone(template), id, templateId: id, displayName: `Busy Minute Role ${i}`, eligible: [USER.isaiah] });
    }
    return seed;
  }
  let h: Harness;
  let offsetMs = 0;
  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({ CARD_SUMMARY_AFTER: '2' }, { seed: seedWithRoles(), now: () => new Date(Date.now() + offsetMs) });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await h.close();
  });

  it('the listed requests are recorded on the summary by the sweep, once', async () => {
    const rows = [];
    for (let i = 0; i < ROLES; i++)
      rows.push(
        (
          await pendingRequest(h, {
            role: `Busy Minute Role ${i}`,
            justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
            ticketNumber: 'INC0012345',
            ticketSystem: 'ServiceNow',
          })
        ).row,
      );
    const spy = jest.spyOn(h.bot.store.cardCopies, 'add').mockRejectedValue(new Error('killed between sent and recorded'));
    offsetMs += 61_000;
    await h.bot.delivery.drain();
    spy.mockRestore();
    const posts = h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID);
    expect(posts).toHaveLength(3);
    const summary = posts[2]!;
    for (const row of rows.slice(2)) expect(await h.bot.store.cardCopies.of(row.id)).toHaveLength(0);
    await h.bot.delivery.sweep();
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    for (const row of rows.slice(2)) {
      expect(await h.bot.store.cardCopies.of(row.id)).toEqual([
        expect.objectContaining({ activity_id: summary.activityId, summary: 1, conversation_id: CHANNEL_ID }),
      ]);
    }
    expect(h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID)).toHaveLength(3);
  });
});
