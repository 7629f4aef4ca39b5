import { startFakeConnector, type FakeConnector } from '../../test/support/fake-connector';
import { renderSummary } from '../../test/support/outbox-cards';
import type { Store } from '../store/store';
import { Outbox, type OutboxDelivery, type OutboxSender } from './outbox';
import { fakeClock, memoryStore, T0, type FakeClock } from '../../test/support/outbox-store';

const CHANNEL = '19:approvers@thread.tacv2';
const OTHER = '19:other@thread.tacv2';

/**
 * The smallest sender that speaks the Bot Connector's REST shape: POST a new activity, PUT an update,
 * and on an error throw what the bot's adapter throws (statusCode and the response headers).
 */
function connectorSender(): OutboxSender {
  return {
    async send(d: OutboxDelivery) {
      const conversation = encodeURIComponent(d.conversationId);
      const url =
        d.kind === 'update'
          ? `${d.serviceUrl}v3/conversations/${conversation}/activities/${encodeURIComponent(d.activityId!)}`
          : `${d.serviceUrl}v3/conversations/${conversation}/activities`;
      const activity =
        d.payload.type === 'card'
          ? {
              type: 'message',
              attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: d.payload.card }],
              replyToId: d.replyToId ?? undefined,
            }
          : { type: 'message', text: d.payload.text, replyToId: d.replyToId ?? undefined };
      const res = await fetch(url, {
        method: d.kind === 'update' ? 'PUT' : 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      });
      if (!res.ok) throw Object.assign(new Error(`Bot Connector answered ${res.status}`), { statusCode: res.status, headers: res.headers });
      return { activityId: ((await res.json()) as { id: string }).id };
    },
  };
}

describe('outbox against the Bot Connector stand-in', () => {
  let connector: FakeConnector;
  let store: Store;
  let clock: FakeClock;
  let outbox: Outbox;

  beforeEach(async () => {
    connector = await startFakeConnector();
    store = await memoryStore();
    clock = fakeClock();
    outbox = new Outbox({ renderSummary, db: store.db, sender: connectorSender(), now: clock.now, random: () => 1 });
  });
  afterEach(async () => {
    await store.close();
    await connector.close();
  });

  const card = (n: number) => ({ type: 'card' as const, card: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: `card ${n}` }] } });
  const post = (n: number, conversationId = CHANNEL) => ({
    conversationId,
    serviceUrl: connector.serviceUrl,
    kind: 'post' as const,
    payload: card(n),
    dedupeKey: `card:${n}:${conversationId}`,
  });

  test('a 429 with Retry-After pauses the conversation for that long, then the card is delivered once', async () => {
    connector.failNext(429, 1, { retryAfterSeconds: 2 });
    await outbox.enqueue(post(1));
    await outbox.enqueue(post(2, OTHER));
    const first = await outbox.drain();
    expect(first).toMatchObject({ throttled: 1, sent: 1 });
    expect(connector.calls.map((c) => [c.conversationId, c.status])).toEqual([
      [CHANNEL, 429],
      [OTHER, 200],
    ]);
    expect(await outbox.byDedupeKey(post(1).dedupeKey)).toMatchObject({
      status: 'pending',
      attempts: 0,
      not_before: new Date(T0 + 2_000).toISOString(),
      last_error: '429: Bot Connector answered 429',
    });

    await outbox.enqueue(post(3));
    clock.advance(1_500);
    await outbox.drain();
    expect(connector.calls).toHaveLength(2);

    clock.advance(500);
    expect(await outbox.drain()).toMatchObject({ sent: 2 });
    expect(connector.posts.filter((p) => p.conversationId === CHANNEL).map((p) => p.activity.attachments![0].content.body[0].text)).toEqual([
      'card 1',
      'card 3',
    ]);
    const row = await outbox.byDedupeKey(post(1).dedupeKey);
    expect(row).toMatchObject({
      status: 'sent',
      attempts: 1,
      last_error: null,
      result_activity_id: connector.posts.find((p) => p.activity.attachments![0].content.body[0].text === 'card 1')!.activityId,
    });
  });

  test('a 503 is retried with backoff and delivered on a later pass', async () => {
    connector.failNext(503, 2);
    await outbox.enqueue(post(1));
    await outbox.drain();
    clock.advance(2_000);
    await outbox.drain();
    expect(connector.posts).toHaveLength(0);
    clock.advance(4_000);
    expect(await outbox.drain()).toMatchObject({ sent: 1 });
    expect(connector.calls.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(connector.posts).toHaveLength(1);
  });

  test('a 403 (bot removed from the team) fails the row without retrying', async () => {
    connector.failNext(403);
    await outbox.enqueue(post(1));
    expect(await outbox.drain()).toMatchObject({ failed: 1 });
    clock.advance(3_600_000);
    await outbox.drain();
    expect(connector.calls).toHaveLength(1);
    expect(await outbox.byDedupeKey(post(1).dedupeKey)).toMatchObject({ status: 'failed', last_error: '403: Bot Connector answered 403' });
  });

  test('an update rewrites the message it names', async () => {
    await outbox.enqueue(post(1));
    await outbox.drain();
    const activityId = connector.posts[0]!.activityId;
    await outbox.enqueue({
      conversationId: CHANNEL,
      serviceUrl: connector.serviceUrl,
      kind: 'update',
      activityId,
      payload: card(2),
      dedupeKey: `update:${activityId}:v2`,
      revision: 2,
    });
    await outbox.drain();
    expect(connector.updates.map((u) => [u.activityId, u.activity.attachments![0].content.body[0].text])).toEqual([[activityId, 'card 2']]);
  });
});
