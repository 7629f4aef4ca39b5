/**
 * Issue 19, item 7: two replicas each pacing alone sent 32 messages in one second, over Teams' 30 per
 * second per app per tenant. Two outboxes (two "replicas") on one database (a SQLite file, or a
 * PostgreSQL schema under `npm run test:postgres`) drain many conversations at once into the recording
 * Bot Connector, on the real clock; the limits are checked where Teams counts them, at the connector,
 * from when each message arrived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, type OutboxDelivery, type OutboxMessage, type OutboxSender } from '../../services/outbox/outbox';
import { TEAMS_LIMITS } from '../../services/outbox/pacer';
import { SharedPace } from '../../services/outbox/shared-pace';
import { busiest } from '../support/outbox-store';
import { Store } from '../../services/store/store';
import { renderSummary } from '../support/outbox-cards';
import { startFakeConnector, type FakeConnector } from '../support/fake-connector';
import { freshDatabase, type TestDatabase } from '../support/test-database';

/** Four busy channels (more than 8 messages each: their 1 s and 2 s windows bind) and 36 quiet ones. */
const BUSY = 4;
const BUSY_MESSAGES = 12;
const QUIET = 36;
const QUIET_MESSAGES = 2;
const TOTAL = BUSY * BUSY_MESSAGES + QUIET * QUIET_MESSAGES;

/**
 * Posts as the Bot Connector's REST API takes them (POST …/v3/conversations/{id}/activities), and on an
 * error throws what the bot's adapter throws (statusCode and the response headers, for a 429's Retry-After).
 */
function connectorSender(): OutboxSender {
  return {
    async send(d: OutboxDelivery) {
      if (d.kind !== 'post' || d.payload.type !== 'card') throw new Error('this test posts cards only');
      const activity = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: d.payload.card }] };
      const res = await fetch(`${d.serviceUrl}v3/conversations/${encodeURIComponent(d.conversationId)}/activities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      });
      if (!res.ok) throw Object.assign(new Error(`Bot Connector answered ${res.status}`), { statusCode: res.status, headers: res.headers });
      return { activityId: ((await res.json()) as { id: string }).id };
    },
  };
}

const channel = (i: number) => `19:pace-${String(i).padStart(2, '0')}@thread.tacv2`;

describe('Teams rate limits across two replicas on one database', () => {
  let dir: string;
  let database: TestDatabase;
  let stores: Store[] = [];
  let outboxes: Outbox[] = [];
  let connector: FakeConnector;
  let sentBy: Record<string, number> = {};

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenant-pace-'));
    database = await freshDatabase(dir);
    connector = await startFakeConnector();
  });
  afterEach(async () => {
    await Promise.all(outboxes.map((o) => o.stop()));
    await Promise.all(stores.map((s) => s.close()));
    await connector.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
    stores = [];
    outboxes = [];
    sentBy = {};
  });

  /** One replica's outbox as the bot builds it: Teams' full limits locally, the shared pace in the database. */
  async function replica(name: string): Promise<Outbox> {
    const store = await Store.open(database.url);
    stores.push(store);
    const sender = connectorSender();
    const outbox = new Outbox({
      db: store.db,
      renderSummary,
      sender: {
        send: (d) => {
          sentBy[name] = (sentBy[name] ?? 0) + 1;
          return sender.send(d);
        },
      },
      instanceId: name,
      collapse: false,
      sharedPace: new SharedPace(store.db),
    });
    outboxes.push(outbox);
    return outbox;
  }

  const post = (conversationId: string, n: number): OutboxMessage => ({
    conversationId,
    serviceUrl: connector.serviceUrl,
    kind: 'post',
    payload: { type: 'card', card: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: `${conversationId} #${n}` }] } },
    dedupeKey: `pace:${conversationId}:${n}`,
  });

  test(`${TOTAL} cards over ${BUSY + QUIET} channels: never more than 30 a second for the tenant, 7 a second or 8 in two for a channel`, async () => {
    const [a, b] = [await replica('a'), await replica('b')];
    const messages: OutboxMessage[] = [];
    for (let n = 0; n < BUSY_MESSAGES; n++) for (let i = 0; i < BUSY + QUIET; i++) if (i < BUSY || n < QUIET_MESSAGES) messages.push(post(channel(i), n));
    expect(messages).toHaveLength(TOTAL);
    // Each replica stores half (as the bot does when PIM's calls land on either), then both drain at once.
    for (const [i, m] of messages.entries()) await (i % 2 ? b : a).enqueue(m);
    a.start(100);
    b.start(100);
    await connector.waitFor(() => connector.posts.length >= TOTAL, 60_000);
    await Promise.all(outboxes.map((o) => o.stop()));

    // Everything arrived once, and both replicas sent (or the test would prove nothing about sharing).
    expect(connector.calls.every((c) => c.status === 200)).toBe(true);
    expect(new Set(connector.posts.map((p) => p.activity.attachments![0].content.body[0].text)).size).toBe(TOTAL);
    expect(sentBy.a).toBeGreaterThan(0);
    expect(sentBy.b).toBeGreaterThan(0);
    expect(sentBy.a! + sentBy.b!).toBe(TOTAL);

    const arrivals = connector.calls.map((c) => c.at);
    const byChannel = new Map<string, number[]>();
    for (const c of connector.calls) (byChannel.get(c.conversationId!) ?? byChannel.set(c.conversationId!, []).get(c.conversationId!)!).push(c.at);
    const busiestChannel = (perMs: number) => Math.max(...[...byChannel.values()].map((times) => busiest(times, perMs)));
    const measured = { tenantPerSecond: busiest(arrivals, 1_000), channelPerSecond: busiestChannel(1_000), channelPerTwoSeconds: busiestChannel(2_000) };
    const limits = {
      tenantPerSecond: TEAMS_LIMITS.tenant[0]!.count,
      channelPerSecond: TEAMS_LIMITS.conversation[0]!.count,
      channelPerTwoSeconds: TEAMS_LIMITS.conversation[1]!.count,
    };
    const over = Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, v > limits[k as keyof typeof limits]]));
    // On failure this prints what was measured next to what went over.
    expect({ measured, over }).toEqual({ measured, over: { tenantPerSecond: false, channelPerSecond: false, channelPerTwoSeconds: false } });
  }, 90_000);
});
