import { renderSummary } from '../../test/support/outbox-cards';
import type { SummaryEntry } from './summary';
import { Store } from '../store/store';
import { classifySendError, Outbox, retryAfterOf, type FailedItem, type OutboxDelivery, type OutboxMessage, type OutboxOptions, type SentItem } from './outbox';
import {
  fakeClock,
  fakeSender,
  httpError,
  memoryStore,
  requestIdsOf,
  T0,
  tempDatabase,
  type FakeClock,
  type FakeSender,
} from '../../test/support/outbox-store';
import { markCard, markerOf, type CopyFinding, type CopySearch } from './sent-copies';

const CHANNEL = '19:approvers@thread.tacv2';
const OTHER = '19:other@thread.tacv2';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';

/** A card payload as the outbox posts it for row `id`: with the row's hidden marker as the last body element. */
function marked(payload: OutboxMessage['payload'], id: string): OutboxMessage['payload'] {
  return payload.type === 'card' ? { type: 'card', card: markCard(payload.card, markerOf(id)) } : payload;
}

/** A posted payload without the outbox's marker (what the caller enqueued). */
function unmarked(payload: OutboxMessage['payload']): OutboxMessage['payload'] {
  if (payload.type !== 'card') return payload;
  const card = payload.card as { body?: Array<{ id?: string }> };
  return { type: 'card', card: { ...card, body: (card.body ?? []).filter((e) => !e.id?.startsWith('pimbot-msg-')) } };
}

function post(n: number, extra: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    conversationId: CHANNEL,
    serviceUrl: SERVICE_URL,
    kind: 'post',
    payload: { type: 'card', card: { type: 'AdaptiveCard', version: '1.5', body: [], n } },
    dedupeKey: `card:req-${n}:v1:${extra.conversationId ?? CHANNEL}`,
    meta: { requestId: `req-${n}`, version: 1 },
    ...extra,
  };
}

function entry(n: number): SummaryEntry {
  return {
    requestId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    version: 1,
    requesterName: `User ${n}`,
    requesterUpn: `u${n}@contoso.com`,
    roleName: 'Global Reader',
    scope: 'Directory',
    requestedAt: new Date(T0).toISOString(),
  };
}

/** An approval-card post that may be collapsed into a summary. */
function approvalPost(n: number, conversationId = CHANNEL): OutboxMessage {
  const e = entry(n);
  return {
    conversationId,
    serviceUrl: SERVICE_URL,
    kind: 'post',
    payload: {
      type: 'card',
      card: {
        type: 'AdaptiveCard',
        version: '1.5',
        body: [],
        actions: [{ type: 'Action.Execute', verb: 'pim.approve', data: { requestId: e.requestId, version: 1 } }],
      },
    },
    dedupeKey: `card:${e.requestId}:v1:${conversationId}`,
    meta: { requestId: e.requestId, version: 1 },
    summary: e,
  };
}

interface Rig {
  store: Store;
  clock: FakeClock;
  sender: FakeSender;
  outbox: Outbox;
  sentEvents: SentItem[];
  failedEvents: FailedItem[];
  row(dedupeKey: string): Promise<Record<string, unknown>>;
}

async function rig(options: Partial<OutboxOptions> = {}, store?: Store): Promise<Rig> {
  const s = store ?? (await memoryStore());
  const clock = fakeClock();
  const sender = fakeSender(clock);
  // random() = 1 makes the jitter factor 1: backoff waits are exactly base · 2^(n-1).
  const outbox = new Outbox({ renderSummary, db: s.db, sender, now: clock.now, random: () => 1, ...options });
  const sentEvents: SentItem[] = [];
  const failedEvents: FailedItem[] = [];
  outbox.onSent((item) => void sentEvents.push(item));
  outbox.onFailed((item) => void failedEvents.push(item));
  return {
    store: s,
    clock,
    sender,
    outbox,
    sentEvents,
    failedEvents,
    row: async (dedupeKey) => (await outbox.byDedupeKey(dedupeKey)) as unknown as Record<string, unknown>,
  };
}

describe('outbox', () => {
  let r: Rig;
  afterEach(async () => {
    await r?.outbox.stop();
    await r?.store.close();
  });

  test('a post is sent once and onSent gets the message id and the caller’s ids', async () => {
    r = await rig();
    const queued = await r.outbox.enqueue(post(1));
    expect(queued).toMatchObject({ created: true, status: 'pending', resultActivityId: null });
    expect(await r.outbox.drain()).toMatchObject({ sent: 1, failed: 0 });
    expect(r.sender.sent).toHaveLength(1);
    // The card goes out as enqueued plus the row's hidden marker, by which a copy whose answer was lost is found.
    const id = r.sender.sent[0]!.delivery.id;
    expect(r.sender.sent[0]!.delivery).toMatchObject({
      kind: 'post',
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      attempt: 1,
      payload: marked(post(1).payload, id),
    });
    expect(r.sentEvents).toEqual([
      expect.objectContaining({
        dedupeKey: `card:req-1:v1:${CHANNEL}`,
        activityId: r.sender.sent[0]!.activityId,
        meta: { requestId: 'req-1', version: 1 },
        covers: [],
      }),
    ]);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      status: 'sent',
      attempts: 1,
      result_activity_id: r.sender.sent[0]!.activityId,
      sent_at: new Date(T0).toISOString(),
      lease_owner: null,
    });
    expect(await r.outbox.drain()).toMatchObject({ sent: 0 });
  });

  test('enqueueing the same thing twice is a no-op that returns the first row, with its message id once sent', async () => {
    r = await rig();
    const first = await r.outbox.enqueue(post(1));
    const again = await r.outbox.enqueue(post(1));
    expect(again).toEqual({ ...first, created: false });
    await r.outbox.drain();
    const afterSend = await r.outbox.enqueue(post(1));
    expect(afterSend).toEqual({ id: first.id, created: false, status: 'sent', resultActivityId: r.sender.sent[0]!.activityId });
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(1);
  });

  test('a newer update of a message replaces an older one that has not gone yet', async () => {
    r = await rig();
    const update = (v: number): OutboxMessage => ({
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      kind: 'update',
      activityId: 'msg-1',
      payload: { type: 'card', card: { v } },
      dedupeKey: `update:msg-1:v${v}`,
      revision: v,
    });
    await r.outbox.enqueue(update(2));
    await r.outbox.enqueue(update(3));
    await r.outbox.drain();
    expect(r.sender.sent.map((s) => s.delivery.payload)).toEqual([{ type: 'card', card: { v: 3 } }]);
    expect(r.sender.sent[0]!.delivery.activityId).toBe('msg-1');
    expect(await r.row('update:msg-1:v2')).toMatchObject({ status: 'superseded' });
    // An older rendering that arrives late never takes the message back.
    expect(await r.outbox.enqueue(update(2))).toMatchObject({ created: false, status: 'superseded' });
    expect(await r.outbox.enqueue(update(1))).toMatchObject({ created: true, status: 'superseded' });
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(1);
  });

  test('updates without revisions: the latest enqueued wins', async () => {
    r = await rig();
    const update = (n: number): OutboxMessage => ({
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      kind: 'update',
      activityId: 'msg-9',
      payload: { type: 'text', text: `t${n}` },
      dedupeKey: `u${n}`,
    });
    await r.outbox.enqueue(update(1));
    r.clock.advance(1);
    await r.outbox.enqueue(update(2));
    await r.outbox.drain();
    expect(r.sender.sent.map((s) => s.delivery.payload)).toEqual([{ type: 'text', text: 't2' }]);
  });

  test('a 4xx other than 429 fails the row at once with a short reason and no payload', async () => {
    r = await rig();
    r.sender.failNext(() => httpError(403, { message: 'Bot is not part of the conversation roster' }));
    await r.outbox.enqueue(post(1, { payload: { type: 'text', text: 'SECRET-PAYLOAD' } }));
    expect(await r.outbox.drain()).toMatchObject({ failed: 1, sent: 0 });
    const row = await r.row(post(1).dedupeKey);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, last_error: '403: Bot is not part of the conversation roster' });
    expect(r.failedEvents).toEqual([
      expect.objectContaining({
        dedupeKey: post(1).dedupeKey,
        lastError: '403: Bot is not part of the conversation roster',
        meta: { requestId: 'req-1', version: 1 },
      }),
    ]);
    r.clock.advance(3_600_000);
    await r.outbox.drain();
    expect(r.sender.calls).toHaveLength(1);
  });

  test('5xx and timeouts retry with doubling backoff and then deliver', async () => {
    r = await rig({ sendTimeoutMs: 30, leaseMs: 60_000 });
    r.sender.failNext(() => httpError(502), 1);
    r.sender.failNext(() => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 1);
    await r.outbox.enqueue(post(1));
    expect(await r.outbox.drain()).toMatchObject({ retried: 1 });
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: '502: Bot Connector answered 502',
      not_before: new Date(T0 + 2_000).toISOString(),
    });
    r.clock.advance(1_999);
    await r.outbox.drain();
    expect(r.sender.calls).toHaveLength(1);
    r.clock.advance(1);
    expect(await r.outbox.drain()).toMatchObject({ retried: 1 });
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      attempts: 2,
      last_error: 'ECONNRESET: socket hang up',
      not_before: new Date(T0 + 2_000 + 4_000).toISOString(),
    });
    r.clock.advance(4_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 1 });
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', attempts: 3, last_error: null });
  });

  test('a send that never answers times out and is retried', async () => {
    const clock = fakeClock();
    let calls = 0;
    const store = await memoryStore();
    const outbox = new Outbox({
      renderSummary,
      db: store.db,
      now: clock.now,
      sendTimeoutMs: 20,
      leaseMs: 1_000,
      sender: { send: () => (++calls === 1 ? new Promise(() => undefined) : Promise.resolve({ activityId: 'a1' })) },
    });
    r = { store, clock, outbox } as unknown as Rig;
    await outbox.enqueue(post(1));
    expect(await outbox.drain()).toMatchObject({ retried: 1 });
    expect((await outbox.byDedupeKey(post(1).dedupeKey))!.last_error).toBe('ETIMEDOUT: no answer from the Bot Connector within 20 ms');
    clock.advance(10_000);
    expect(await outbox.drain()).toMatchObject({ sent: 1 });
  });

  test('after the last attempt a 5xx row is failed, not retried forever', async () => {
    r = await rig({ maxAttempts: 3 });
    r.sender.failNext(() => httpError(500), 10);
    await r.outbox.enqueue(post(1));
    for (let i = 0; i < 10; i++) {
      await r.outbox.drain();
      r.clock.advance(10 * 60_000);
    }
    expect(r.sender.calls).toHaveLength(3);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      status: 'failed',
      attempts: 3,
      last_error: 'gave up after 3 attempts; last: 500: Bot Connector answered 500',
    });
    expect(r.failedEvents).toHaveLength(1);
  });

  test('a 429 pauses that conversation until Retry-After, does not count as an attempt, and then delivers', async () => {
    r = await rig();
    r.sender.failNext(() => httpError(429, { retryAfterMs: 3_000 }));
    await r.outbox.enqueue(post(1));
    await r.outbox.enqueue(post(2));
    await r.outbox.enqueue(post(3, { conversationId: OTHER }));
    expect(await r.outbox.drain()).toMatchObject({ throttled: 1, sent: 1 });
    // The other conversation was not held back; this one sent nothing after the 429.
    expect(r.sender.sent.map((s) => s.delivery.conversationId)).toEqual([OTHER]);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'pending', attempts: 0, not_before: new Date(T0 + 3_000).toISOString() });
    r.clock.advance(2_999);
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(1);
    r.clock.advance(1);
    expect(await r.outbox.drain()).toMatchObject({ sent: 2 });
    expect(r.sender.sent.map((s) => unmarked(s.delivery.payload))).toEqual([post(3).payload, post(1).payload, post(2).payload]);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', attempts: 1 });
    // 429s never fail a row, however many there are.
    expect(r.failedEvents).toEqual([]);
  });

  test('a 429 without Retry-After backs off 1 s, then 2 s, doubling per 429 in a row', async () => {
    r = await rig();
    r.sender.failNext(() => httpError(429), 2);
    await r.outbox.enqueue(post(1));
    await r.outbox.drain();
    expect((await r.row(post(1).dedupeKey)).not_before).toBe(new Date(T0 + 1_000).toISOString());
    r.clock.advance(1_000);
    await r.outbox.drain();
    expect((await r.row(post(1).dedupeKey)).not_before).toBe(new Date(T0 + 3_000).toISOString());
    r.clock.advance(2_000);
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(1);
  });

  test('sends to one conversation keep to 7 a second even when everything is due at once', async () => {
    r = await rig();
    for (let i = 0; i < 20; i++) await r.outbox.enqueue(post(i));
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(7);
    r.clock.advance(999);
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(7);
    r.clock.advance(1);
    await r.outbox.drain();
    // 8 per 2 s is Teams' other short window.
    expect(r.sender.sent).toHaveLength(8);
    // Order within a conversation is the order of enqueueing.
    expect(r.sender.sent.map((s) => (s.delivery.payload as { card: { n: number } }).card.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('one channel’s backlog does not keep another channel’s card waiting', async () => {
    r = await rig({ batchSize: 50 });
    for (let i = 0; i < 300; i++) await r.outbox.enqueue(post(i));
    r.clock.advance(1);
    await r.outbox.enqueue(post(999, { conversationId: OTHER }));
    await r.outbox.drain();
    expect(r.sender.sent.filter((s) => s.delivery.conversationId === OTHER)).toHaveLength(1);
    expect(r.sender.sent.filter((s) => s.delivery.conversationId === CHANNEL)).toHaveLength(7);
  });

  test('checks what it is given', async () => {
    r = await rig();
    await expect(r.outbox.enqueue({ ...post(1), kind: 'update' })).rejects.toThrow(/needs activityId/);
    await expect(r.outbox.enqueue({ ...post(1), kind: 'reply' })).rejects.toThrow(/needs replyToId/);
    await expect(r.outbox.enqueue({ ...post(1), dedupeKey: '' })).rejects.toThrow(/needs a dedupeKey/);
    await expect(r.outbox.enqueue({ ...post(1), kind: 'update', activityId: 'm', summary: entry(1) })).rejects.toThrow(/Only posts/);
    expect(() => new Outbox({ renderSummary, db: r.store.db, sender: r.sender, leaseMs: 1_000, sendTimeoutMs: 1_000 })).toThrow(/leaseMs/);
  });

  test('a reply carries the thread it goes under', async () => {
    r = await rig();
    await r.outbox.enqueue({
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      kind: 'reply',
      replyToId: 'root-1',
      payload: { type: 'text', text: 'Approved by Megan' },
      dedupeKey: 'reply:1',
    });
    await r.outbox.drain();
    expect(r.sender.sent[0]!.delivery).toMatchObject({ kind: 'reply', replyToId: 'root-1', activityId: null });
  });

  test('start() drains on its own and stop() waits for the pass in flight', async () => {
    const store = await memoryStore();
    const sender = fakeSender({ now: () => new Date() });
    const outbox = new Outbox({ renderSummary, db: store.db, sender });
    r = { store, outbox } as unknown as Rig;
    outbox.start(20);
    await outbox.enqueue(post(1));
    for (let i = 0; i < 100 && sender.sent.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    await outbox.stop();
    expect(sender.sent).toHaveLength(1);
  });

  test('prune removes finished rows older than the cut and keeps the rest', async () => {
    r = await rig();
    await r.outbox.enqueue(post(1));
    await r.outbox.drain();
    r.clock.advance(1_000);
    await r.outbox.enqueue(post(2, { notBefore: new Date(T0 + 3_600_000) }));
    expect(await r.outbox.prune(new Date(T0 + 500))).toBe(1);
    expect(await r.outbox.byDedupeKey(post(1).dedupeKey)).toBeUndefined();
    expect(await r.outbox.byDedupeKey(post(2).dedupeKey)).toBeDefined();
  });

  test('a restarted outbox counts the sends it finds in the database against the windows', async () => {
    r = await rig();
    for (let i = 0; i < 7; i++) await r.outbox.enqueue(post(i));
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(7);
    const restarted = new Outbox({ renderSummary, db: r.store.db, sender: r.sender, now: r.clock.now });
    await restarted.enqueue(post(99));
    r.clock.advance(500);
    await restarted.drain();
    expect(r.sender.sent).toHaveLength(7);
    r.clock.advance(500);
    await restarted.drain();
    expect(r.sender.sent).toHaveLength(8);
  });
});

describe('outbox on two instances sharing one database', () => {
  test('never sends the same row twice, however their drains interleave', async () => {
    const file = await tempDatabase();
    const [a, b] = [await Store.open(file.url), await Store.open(file.url)];
    try {
      const clock = fakeClock();
      // One connector both instances talk to; each send takes a few real milliseconds so drains overlap.
      const sender = fakeSender(clock, { delayMs: 2 });
      const sentBy = { a: 0, b: 0 };
      const via = (name: 'a' | 'b') => ({
        send: (d: OutboxDelivery) => {
          sentBy[name]++;
          return sender.send(d);
        },
      });
      const outboxes = [
        new Outbox({ renderSummary, db: a.db, sender: via('a'), now: clock.now, instanceId: 'a' }),
        new Outbox({ renderSummary, db: b.db, sender: via('b'), now: clock.now, instanceId: 'b' }),
      ];
      const conversations = ['19:c1@thread.tacv2', '19:c2@thread.tacv2', '19:c3@thread.tacv2'];
      for (let i = 0; i < 90; i++) await outboxes[i % 2]!.enqueue(post(i, { conversationId: conversations[i % 3]!, dedupeKey: `card:${i}` }));
      for (let round = 0; round < 200 && sender.sent.length < 90; round++) {
        await Promise.all(outboxes.map((o) => o.drain()));
        clock.advance(250);
      }
      const keys = sender.sent.map((s) => (s.delivery.payload as { card: { n: number } }).card.n);
      expect(keys).toHaveLength(90);
      expect(new Set(keys).size).toBe(90);
      // Both instances did part of the work (otherwise the test proves nothing about contention).
      expect(sentBy.a).toBeGreaterThan(0);
      expect(sentBy.b).toBeGreaterThan(0);
      expect(sentBy.a + sentBy.b).toBe(90);
      const rows = await a.db.selectFrom('outbox').select(['status', 'attempts']).execute();
      expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await file.remove();
    }
  });

  test('a row whose instance died mid-send is taken over once its lease expires, and the late answer changes nothing', async () => {
    const file = await tempDatabase();
    const [a, b] = [await Store.open(file.url), await Store.open(file.url)];
    let releaseA: (() => void) | undefined;
    let stuck: Promise<unknown> | undefined;
    try {
      const clock = fakeClock();
      const sentBy: string[] = [];
      const senderA = { send: () => new Promise<{ activityId: string }>((resolve) => (releaseA = () => resolve({ activityId: 'from-a' }))) };
      const senderB = {
        send: async () => {
          sentBy.push('b');
          return { activityId: 'from-b' };
        },
      };
      const outboxA = new Outbox({ renderSummary, db: a.db, sender: senderA, now: clock.now, instanceId: 'a', sendTimeoutMs: 60_000, leaseMs: 120_000 });
      const outboxB = new Outbox({ renderSummary, db: b.db, sender: senderB, now: clock.now, instanceId: 'b' });
      await outboxA.enqueue(post(1));
      stuck = outboxA.drain();
      // A's send has begun once its sender holds the message (a fixed sleep lost this race on a loaded machine).
      for (const giveUp = Date.now() + 10_000; !releaseA && Date.now() < giveUp; ) await new Promise((res) => setTimeout(res, 10));
      expect(releaseA).toBeDefined();
      expect((await outboxB.byDedupeKey(post(1).dedupeKey))!).toMatchObject({ status: 'sending', lease_owner: 'a' });
      // Within A's lease, B leaves the row alone.
      clock.advance(119_999);
      await outboxB.drain();
      expect(sentBy).toEqual([]);
      clock.advance(1);
      await outboxB.drain();
      expect(sentBy).toEqual(['b']);
      const eventsA: SentItem[] = [];
      outboxA.onSent((item) => void eventsA.push(item));
      releaseA!();
      await stuck;
      // A's late answer neither overwrote B's outcome nor reported a second message id.
      expect(eventsA).toEqual([]);
      expect((await outboxA.byDedupeKey(post(1).dedupeKey))!).toMatchObject({ status: 'sent', result_activity_id: 'from-b', attempts: 2 });
    } finally {
      // A failed expectation must not leave A's send to time out against a closed database in a later suite.
      releaseA?.();
      await stuck?.catch(() => undefined);
      await a.close();
      await b.close();
      await file.remove();
    }
  });
});

describe('summary collapse in the outbox', () => {
  let r: Rig;
  afterEach(async () => r?.store.close());

  test('past 5 cards a minute the rest wait for the minute to close and go out on one summary that lists them', async () => {
    r = await rig();
    const results = [];
    for (let i = 0; i < 12; i++) {
      results.push(await r.outbox.enqueue(approvalPost(i)));
      r.clock.advance(1_000);
    }
    expect(results.map((x) => x.status)).toEqual([...Array(5).fill('pending'), ...Array(7).fill('held')]);
    // Drain over the minute: only the first five go.
    for (let t = 0; t < 59_000; t += 1_000) {
      r.clock.set(t);
      await r.outbox.drain();
    }
    expect(r.sender.sent.map((s) => requestIdsOf((s.delivery.payload as { card: object }).card))).toEqual([0, 1, 2, 3, 4].map((n) => [entry(n).requestId]));
    r.clock.set(60_000);
    expect(await r.outbox.drain()).toMatchObject({ summaries: 1, sent: 1 });
    const summary = r.sender.sent[5]!;
    expect(requestIdsOf((summary.delivery.payload as { card: object }).card)).toEqual([5, 6, 7, 8, 9, 10, 11].map((n) => entry(n).requestId));
    expect(unmarked(summary.delivery.payload)).toEqual({
      type: 'card',
      card: renderSummary({ entries: [5, 6, 7, 8, 9, 10, 11].map(entry), part: 1, parts: 1, batchTotal: 7, now: new Date(T0 + 60_000) }),
    });
    // onSent tells the caller which requests the summary stands for, with their own ids.
    const event = r.sentEvents.at(-1)!;
    expect(event.activityId).toBe(summary.activityId);
    expect(event.covers.map((c) => c.meta?.requestId)).toEqual([5, 6, 7, 8, 9, 10, 11].map((n) => entry(n).requestId));
    // Enqueueing a listed request again returns the summary's message id.
    expect(await r.outbox.enqueue(approvalPost(7))).toMatchObject({ created: false, status: 'summarized', resultActivityId: summary.activityId });
  });

  test('a new minute starts after the old one closed, with five cards of its own', async () => {
    r = await rig();
    for (let i = 0; i < 6; i++) await r.outbox.enqueue(approvalPost(i));
    r.clock.set(61_000);
    const next = [];
    for (let i = 6; i < 13; i++) next.push((await r.outbox.enqueue(approvalPost(i))).status);
    expect(next).toEqual([...Array(5).fill('pending'), 'held', 'held']);
  });

  test('a minute with only one card over the threshold sends that card as itself, not a summary of one', async () => {
    r = await rig();
    for (let i = 0; i < 6; i++) await r.outbox.enqueue(approvalPost(i));
    await r.outbox.drain();
    r.clock.set(60_000);
    expect(await r.outbox.drain()).toMatchObject({ summaries: 0, sent: 1 });
    expect(requestIdsOf((r.sender.sent[5]!.delivery.payload as { card: object }).card)).toEqual([entry(5).requestId]);
    expect(r.sender.sent[5]!.delivery.payload).toEqual(marked(approvalPost(5).payload, r.sender.sent[5]!.delivery.id));
  });

  test('other messages to the channel (updates, posts without a summary entry) neither count nor wait', async () => {
    r = await rig();
    for (let i = 0; i < 5; i++) await r.outbox.enqueue(post(100 + i));
    await r.outbox.enqueue({
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      kind: 'update',
      activityId: 'm1',
      payload: { type: 'text', text: 'x' },
      dedupeKey: 'u1',
    });
    expect((await r.outbox.enqueue(approvalPost(1))).status).toBe('pending');
  });

  test('a threshold from configuration applies, and collapse can be turned off', async () => {
    r = await rig({ collapse: { threshold: 2 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await r.outbox.enqueue(approvalPost(i))).status);
    expect(statuses).toEqual(['pending', 'pending', 'held', 'held']);
    await r.store.close();
    r = await rig({ collapse: false });
    const off = [];
    for (let i = 0; i < 8; i++) off.push((await r.outbox.enqueue(approvalPost(i))).status);
    expect(off).toEqual(Array(8).fill('pending'));
  });

  test('a batch larger than a card can list goes out on several summaries, each request on exactly one', async () => {
    r = await rig({ collapse: { threshold: 0, pageSize: 4 } });
    for (let i = 0; i < 10; i++) await r.outbox.enqueue(approvalPost(i));
    r.clock.set(60_000);
    expect(await r.outbox.drain()).toMatchObject({ summaries: 3, sent: 3 });
    const pages = r.sender.sent.map((s) => requestIdsOf((s.delivery.payload as { card: object }).card));
    expect(pages.map((p) => p.length)).toEqual([4, 4, 2]);
    expect(pages.flat()).toEqual([...Array(10).keys()].map((n) => entry(n).requestId));
  });

  test('a summary Teams refuses for good is not the end of its requests: they go out as their own cards', async () => {
    r = await rig({ collapse: { threshold: 0 } });
    for (let i = 0; i < 3; i++) await r.outbox.enqueue(approvalPost(i));
    r.clock.set(60_000);
    r.sender.failNext(() => httpError(413));
    expect(await r.outbox.drain()).toMatchObject({ summaries: 1, failed: 1 });
    r.clock.advance(1_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 3 });
    expect(r.sender.sent.map((s) => requestIdsOf((s.delivery.payload as { card: object }).card))).toEqual([0, 1, 2].map((n) => [entry(n).requestId]));
  });

  test('a crash between storing a summary and marking its rows is finished by the next pass, without a second summary', async () => {
    r = await rig({ collapse: { threshold: 0 } });
    for (let i = 0; i < 3; i++) await r.outbox.enqueue(approvalPost(i));
    r.clock.set(60_000);
    r.sender.failNext(() => httpError(503));
    await r.outbox.drain();
    // As if the marking statement never ran.
    await r.store.db.updateTable('outbox').set({ status: 'held', summary_id: null }).where('status', '=', 'summarized').execute();
    r.clock.advance(5_000);
    expect(await r.outbox.drain()).toMatchObject({ summaries: 0, sent: 1 });
    const summaries = await r.store.db.selectFrom('outbox').select('id').where('covered_ids', 'is not', null).execute();
    expect(summaries).toHaveLength(1);
    expect(r.sentEvents.at(-1)!.covers).toHaveLength(3);
    const held = await r.store.db.selectFrom('outbox').select('id').where('status', '=', 'held').execute();
    expect(held).toEqual([]);
  });
});

describe('send errors', () => {
  const now = new Date(T0);

  test.each([
    ['429 with retryAfterMs', httpError(429, { retryAfterMs: 1500 }), { kind: 'throttled', retryAfterMs: 1500 }],
    [
      '429 with a Retry-After header in seconds (fetch Headers)',
      httpError(429, { headers: new Headers({ 'Retry-After': '7' }) }),
      { kind: 'throttled', retryAfterMs: 7000 },
    ],
    [
      '429 with Retry-After on the response (core-rest-pipeline)',
      httpError(429, { response: { headers: { get: (n: string) => (n === 'retry-after' ? '0.5' : undefined) } } }),
      { kind: 'throttled', retryAfterMs: 500 },
    ],
    [
      '429 with Retry-After as an HTTP date',
      httpError(429, { headers: { 'retry-after': new Date(T0 + 12_000).toUTCString() } }),
      { kind: 'throttled', retryAfterMs: 12_000 },
    ],
    [
      '429 with an absurd Retry-After is capped at an hour',
      httpError(429, { headers: { 'retry-after': '86400' } }),
      { kind: 'throttled', retryAfterMs: 3_600_000 },
    ],
    ['429 without Retry-After', httpError(429), { kind: 'throttled', retryAfterMs: null }],
    [
      '429 with an unreadable Retry-After',
      Object.assign(new Error('x'), { status: 429, headers: { 'Retry-After': 'soon' } }),
      { kind: 'throttled', retryAfterMs: null },
    ],
    ['500', httpError(500), { kind: 'transient' }],
    ['504', httpError(504), { kind: 'transient' }],
    ['412 (Teams says retry)', httpError(412), { kind: 'transient' }],
    ['408', httpError(408), { kind: 'transient' }],
    ['a network error without status', new Error('fetch failed'), { kind: 'transient' }],
    ['400', httpError(400), { kind: 'permanent' }],
    ['403', httpError(403), { kind: 'permanent' }],
    ['404', httpError(404), { kind: 'permanent' }],
    ['410 on the response', Object.assign(new Error('gone'), { response: { status: 410 } }), { kind: 'permanent' }],
  ])('%s', (_label, err, expected) => {
    expect(classifySendError(err, now)).toMatchObject(expected);
  });

  test('the reason kept is short', () => {
    const failure = classifySendError(httpError(400, { message: 'x'.repeat(5_000) }), now);
    expect(failure.summary.length).toBeLessThanOrEqual(200);
  });

  test('a Retry-After date in the past means now', () => {
    expect(retryAfterOf({ headers: { 'retry-after': new Date(T0 - 5_000).toUTCString() } }, now)).toBe(0);
  });
});

describe('a post whose answer was lost (a finder reads the conversation back)', () => {
  let r: Rig;
  afterEach(async () => {
    await r?.outbox.stop();
    await r?.store.close();
  });

  /** A finder answering from a script, recording what it was asked. */
  function scriptedFinder(...answers: CopyFinding[]) {
    const asked: CopySearch[] = [];
    return {
      asked,
      finder: {
        async find(q: CopySearch): Promise<CopyFinding> {
          asked.push(q);
          const next = answers.shift();
          if (!next) throw new Error('the finder was asked more often than the test expected');
          return next;
        },
      },
    };
  }
  const timeout = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  test('found: recorded under the copy Teams shows, not sent again, and a second copy is deleted', async () => {
    const f = scriptedFinder({ status: 'found', activityIds: ['m-first', 'm-second'] });
    const removed: string[] = [];
    r = await rig({ finder: f.finder });
    Object.assign(r.sender, { remove: async (_t: unknown, id: string) => void removed.push(id) });
    await r.outbox.enqueue(post(1));
    r.sender.failNext(timeout);
    expect(await r.outbox.drain()).toMatchObject({ sent: 0, retried: 1 });
    const pending = await r.row(post(1).dedupeKey);
    expect(pending).toMatchObject({ status: 'pending', uncertain_since: pending.attempt_started_at });
    r.clock.advance(2_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 1 });
    expect(r.sender.calls).toHaveLength(1);
    expect(f.asked).toHaveLength(1);
    // Looked for by the row's marker, from before the first attempt (clock skew allowed).
    expect(f.asked[0]).toMatchObject({ kind: 'post', conversationId: CHANNEL, marker: markerOf(String(pending.id)) });
    expect(f.asked[0]!.since.getTime()).toBe(Date.parse(String(pending.attempt_started_at)) - 120_000);
    expect(removed).toEqual(['m-second']);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', result_activity_id: 'm-first', verify_at: null });
    expect(r.sentEvents.map((e) => e.activityId)).toEqual(['m-first']);
  });

  test('absent: sent again, and looked at once more a minute later, deleting a late first copy', async () => {
    const f = scriptedFinder({ status: 'absent' });
    const removed: string[] = [];
    r = await rig({ finder: f.finder });
    Object.assign(r.sender, { remove: async (_t: unknown, id: string) => void removed.push(id) });
    await r.outbox.enqueue(post(1));
    r.sender.failNext(() => httpError(503));
    await r.outbox.drain();
    r.clock.advance(2_000);
    await r.outbox.drain();
    expect(r.sender.sent).toHaveLength(1);
    const sentId = r.sender.sent[0]!.activityId;
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      status: 'sent',
      result_activity_id: sentId,
      verify_at: new Date(r.clock.now().getTime() + 60_000).toISOString(),
    });
    // Before the minute is over nothing is read.
    r.clock.advance(59_000);
    await r.outbox.drain();
    expect(f.asked).toHaveLength(1);
    f.finder.find = async (q) => {
      f.asked.push(q);
      return { status: 'found', activityIds: ['m-late', sentId] };
    };
    r.clock.advance(1_000);
    await r.outbox.drain();
    expect(f.asked).toHaveLength(2);
    expect(removed).toEqual(['m-late']);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', result_activity_id: sentId, verify_at: null });
    expect(r.sender.sent).toHaveLength(1);
  });

  test('a resend Teams gave no id for (a text): the later look keeps one copy, never deletes them all', async () => {
    const f = scriptedFinder({ status: 'absent' });
    const removed: string[] = [];
    r = await rig({ finder: f.finder });
    Object.assign(r.sender, {
      remove: async (_t: unknown, id: string) => void removed.push(id),
      send: async () => ({}),
    });
    await r.outbox.enqueue(post(1, { payload: { type: 'text', text: 'Your request was approved' }, meta: { chat: 'personal' } }));
    await r.store.db.updateTable('outbox').set({ uncertain_since: r.clock.now().toISOString() }).execute();
    await r.outbox.drain();
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', result_activity_id: null });
    f.finder.find = async (q) => {
      f.asked.push(q);
      return { status: 'found', activityIds: ['m-a', 'm-b'] };
    };
    r.clock.advance(60_000);
    await r.outbox.drain();
    expect(removed).toEqual(['m-b']);
  });

  test('unknown: the post waits and is looked for again; a lasting unknown (no permission) sends at once', async () => {
    const f = scriptedFinder({ status: 'unknown', detail: 'Graph answered 503', lasting: false }, { status: 'found', activityIds: ['m-1'] });
    r = await rig({ finder: f.finder });
    await r.outbox.enqueue(post(1));
    r.sender.failNext(timeout);
    await r.outbox.drain();
    r.clock.advance(2_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 0, retried: 1 });
    expect(r.sender.calls).toHaveLength(1);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({
      status: 'pending',
      last_error: 'could not tell whether an earlier attempt is in Teams: Graph answered 503',
    });
    r.clock.advance(4_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 1 });
    expect(r.sender.calls).toHaveLength(1);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', result_activity_id: 'm-1' });

    const g = scriptedFinder({ status: 'unknown', detail: 'Graph answered 403', lasting: true });
    const other = await rig({ finder: g.finder });
    try {
      await other.outbox.enqueue(post(2));
      other.sender.failNext(timeout);
      await other.outbox.drain();
      other.clock.advance(2_000);
      expect(await other.outbox.drain()).toMatchObject({ sent: 1 });
      expect(other.sender.calls).toHaveLength(2);
    } finally {
      await other.store.close();
    }
  });

  test('a sender that died mid-send leaves the row uncertain: the next instance looks before sending', async () => {
    const f = scriptedFinder({ status: 'found', activityIds: ['m-landed'] });
    r = await rig({ finder: f.finder, sendTimeoutMs: 1_000, leaseMs: 5_000 });
    await r.outbox.enqueue(post(1));
    // The claim happened, then the process died: the row is left 'sending' with its lease.
    await r.store.db
      .updateTable('outbox')
      .set({
        status: 'sending',
        lease_owner: 'dead',
        lease_until: new Date(r.clock.now().getTime() + 5_000).toISOString(),
        attempts: 1,
        attempt_started_at: r.clock.now().toISOString(),
      })
      .execute();
    r.clock.advance(5_000);
    expect(await r.outbox.drain()).toMatchObject({ sent: 1 });
    expect(r.sender.calls).toHaveLength(0);
    expect(f.asked).toHaveLength(1);
    expect(await r.row(post(1).dedupeKey)).toMatchObject({ status: 'sent', result_activity_id: 'm-landed' });
  });

  test('an update or a 429 is never uncertain: nothing is looked up', async () => {
    const f = scriptedFinder();
    r = await rig({ finder: f.finder });
    await r.outbox.enqueue({
      conversationId: CHANNEL,
      serviceUrl: SERVICE_URL,
      kind: 'update',
      activityId: 'm1',
      payload: { type: 'card', card: { v: 1 } },
      dedupeKey: 'u1',
    });
    await r.outbox.enqueue(post(1));
    r.sender.failNext(timeout);
    r.sender.failNext(() => httpError(429, { retryAfterMs: 1_000 }));
    await r.outbox.drain();
    r.clock.advance(5_000);
    await r.outbox.drain();
    expect(f.asked).toEqual([]);
    expect(r.sender.sent.map((s) => s.delivery.kind).sort()).toEqual(['post', 'update']);
  });
});
