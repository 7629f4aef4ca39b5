/**
 * The pacing scenario from the issue: a flood of escalations for one channel must never break Teams'
 * per-conversation limits, must collapse into summary cards past the threshold, and must lose nothing.
 * Everything runs under a clock the test moves, draining as the bot's timer would.
 */
import { type ApprovalCardData, renderApprovalCard, renderSummary } from '../../test/support/outbox-cards';
import type { SummaryEntry } from './summary';
import type { Store } from '../store/store';
import { Outbox, type OutboxMessage, type OutboxOptions } from './outbox';
import { busiest, fakeClock, fakeSender, httpError, memoryStore, requestIdsOf, T0, type FakeClock, type FakeSender } from '../../test/support/outbox-store';

const CHANNEL = '19:approvers@thread.tacv2';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';
const DRAIN_EVERY_MS = 100;

function requestId(n: number): string {
  return `5d1e7c2a-0b3f-4c6d-9e8f-${String(n).padStart(12, '0')}`;
}

/** An escalation's approval card as card delivery renders it, collapsible into a summary. */
function escalation(n: number, now: Date, conversationId = CHANNEL): OutboxMessage {
  const data: ApprovalCardData = {
    requestId: requestId(n),
    version: 1,
    requester: { displayName: `Requester ${n}`, userPrincipalName: `user${n}@contoso.com` },
    role: { displayName: 'Exchange Administrator', scope: 'Directory', kind: 'entraRole' },
    durationText: '2 hours',
    windowText: 'now – +2 h',
    justification: `Incident INC${n}`,
    riskFlags: [],
    decisionReasons: ['Escalated by the decision service'],
    expiresText: '23 h 59 min left',
    status: 'pending',
  };
  const summary: SummaryEntry = {
    requestId: data.requestId,
    version: data.version,
    requesterName: data.requester.displayName,
    requesterUpn: data.requester.userPrincipalName,
    roleName: data.role.displayName,
    scope: data.role.scope,
    requestedAt: now.toISOString(),
  };
  return {
    conversationId,
    serviceUrl: SERVICE_URL,
    kind: 'post',
    payload: { type: 'card', card: renderApprovalCard(data, 'approver') },
    dedupeKey: `card:${data.requestId}:v1:${conversationId}`,
    meta: { requestId: data.requestId, version: 1 },
    summary,
  };
}

interface Run {
  store: Store;
  clock: FakeClock;
  sender: FakeSender;
  outbox: Outbox;
}

async function setup(options: Partial<OutboxOptions> = {}): Promise<Run> {
  const store = await memoryStore();
  const clock = fakeClock();
  const sender = fakeSender(clock);
  const outbox = new Outbox({ renderSummary, db: store.db, sender, now: clock.now, random: () => 0.5, ...options });
  return { store, clock, sender, outbox };
}

/** Drains every 100 ms of fake time until nothing is left to send (or a generous limit passes). */
async function drainUntilDone(run: Run, limitMs = 10 * 60_000): Promise<void> {
  const until = run.clock.elapsed() + limitMs;
  for (;;) {
    await run.outbox.drain();
    // SQLite answers synchronously; without this the loop would never let jest's timeout fire.
    await new Promise((resolve) => setImmediate(resolve));
    const open = await run.store.db.selectFrom('outbox').select('id').where('status', 'in', ['pending', 'sending', 'held']).limit(1).execute();
    if (open.length === 0) return;
    if (run.clock.elapsed() > until) throw new Error('the outbox did not finish within the time limit');
    run.clock.advance(DRAIN_EVERY_MS);
  }
}

interface Delivered {
  at: number;
  conversationId: string;
  summary: boolean;
  ids: string[];
}

function delivered(sender: FakeSender): Delivered[] {
  return sender.sent.map((s) => {
    const card = (s.delivery.payload as { card: Record<string, unknown> }).card;
    // Approval cards ask Teams to refresh them; summaries have no single request to refresh.
    return { at: s.at - T0, conversationId: s.delivery.conversationId, summary: !('refresh' in card), ids: requestIdsOf(card) };
  });
}

/** Every send attempt Teams would have seen (429s and 5xx count too), per conversation. */
function attemptsTo(sender: FakeSender, conversationId: string): number[] {
  return sender.calls.filter((c) => c.delivery.conversationId === conversationId).map((c) => c.at);
}

function expectWithinTeamsLimits(sender: FakeSender, conversations: readonly string[]): void {
  for (const c of conversations) {
    const times = attemptsTo(sender, c);
    const busiestWindows = { conversation: c, per1s: busiest(times, 1_000), per2s: busiest(times, 2_000), per30s: busiest(times, 30_000) };
    expect(busiestWindows.per1s).toBeLessThanOrEqual(7);
    expect(busiestWindows.per2s).toBeLessThanOrEqual(8);
    expect(busiestWindows.per30s).toBeLessThanOrEqual(60);
  }
  expect(
    busiest(
      sender.calls.map((c) => c.at),
      1_000,
    ),
  ).toBeLessThanOrEqual(30);
}

/** Each request id on exactly one delivered card: nothing lost, nothing twice. */
function expectEachExactlyOnce(cards: readonly Delivered[], ids: readonly string[]): void {
  const seen = new Map<string, number>();
  for (const card of cards) for (const id of card.ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing = ids.filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  expect({ missing, twice, extra: [...seen.keys()].filter((id) => !ids.includes(id)) }).toEqual({ missing: [], twice: [], extra: [] });
}

describe('pacing: 500 escalations for one channel', () => {
  let run: Run;
  afterEach(async () => run?.store.close());

  test('never exceed the per-conversation limits, collapse into summary cards, and lose nothing', async () => {
    run = await setup();
    // Teams pushes back once along the way.
    let calls = 0;
    const send = run.sender.send.bind(run.sender);
    run.sender.send = async (d) => {
      if (++calls === 4) {
        run.sender.calls.push({ at: run.clock.now().getTime(), delivery: d });
        throw httpError(429, { retryAfterMs: 2_000 });
      }
      return send(d);
    };

    // 500 escalations in 10 seconds, the outbox draining every 100 ms meanwhile.
    for (let i = 0; i < 500; i++) {
      run.clock.set(i * 20);
      const queued = await run.outbox.enqueue(escalation(i, run.clock.now()));
      expect(queued.created).toBe(true);
      if (i % 5 === 4) await run.outbox.drain();
    }
    await drainUntilDone(run);

    const cards = delivered(run.sender);
    // (a) Teams' limits, counting every attempt including the one it refused.
    expectWithinTeamsLimits(run.sender, [CHANNEL]);
    // (b) One minute, so five cards of their own, then summaries of at most 15 requests each.
    const individual = cards.filter((c) => !c.summary);
    const summaries = cards.filter((c) => c.summary);
    expect(individual.map((c) => c.ids)).toEqual([0, 1, 2, 3, 4].map((n) => [requestId(n)]));
    expect(summaries).toHaveLength(Math.ceil(495 / 15));
    expect(Math.max(...summaries.map((c) => c.ids.length))).toBe(15);
    // Held requests waited for their minute to close and went at the first drain after it.
    expect(Math.min(...summaries.map((c) => c.at))).toBeGreaterThanOrEqual(60_000);
    expect(Math.min(...summaries.map((c) => c.at))).toBeLessThan(60_000 + DRAIN_EVERY_MS);
    // (c) Every request on exactly one delivered card.
    expectEachExactlyOnce(cards, [...Array(500).keys()].map(requestId));
    // Nothing was given up on, and the one 429 cost no attempt.
    const failed = await run.store.db.selectFrom('outbox').select('id').where('status', '=', 'failed').execute();
    expect(failed).toEqual([]);
    expect(run.sender.calls).toHaveLength(cards.length + 1);
  });

  test('spread over five minutes they collapse minute by minute, five cards then summaries each time', async () => {
    run = await setup();
    for (let i = 0; i < 500; i++) {
      run.clock.set(i * 600);
      await run.outbox.enqueue(escalation(i, run.clock.now()));
      if (i % 2 === 1) await run.outbox.drain();
    }
    await drainUntilDone(run);
    const cards = delivered(run.sender);
    expectWithinTeamsLimits(run.sender, [CHANNEL]);
    // A window opens every 60 s with the first card after the last one closed: 100 requests each.
    const individual = cards.filter((c) => !c.summary);
    expect(individual).toHaveLength(5 * 5);
    for (let minute = 0; minute < 5; minute++) {
      const firstOfMinute = minute * 100;
      expect(individual.slice(minute * 5, minute * 5 + 5).map((c) => c.ids[0])).toEqual([0, 1, 2, 3, 4].map((k) => requestId(firstOfMinute + k)));
    }
    expect(cards.filter((c) => c.summary)).toHaveLength(5 * Math.ceil(95 / 15));
    expectEachExactlyOnce(cards, [...Array(500).keys()].map(requestId));
  });

  test('with collapse turned off all 500 go out as cards, paced to 60 per 30 s', async () => {
    run = await setup({ collapse: false });
    for (let i = 0; i < 500; i++) await run.outbox.enqueue(escalation(i, run.clock.now()));
    await drainUntilDone(run);
    const cards = delivered(run.sender);
    expect(cards).toHaveLength(500);
    expect(cards.every((c) => !c.summary)).toBe(true);
    expectWithinTeamsLimits(run.sender, [CHANNEL]);
    // 60 per 30 s is what binds a long flood: 500 sends need more than eight full windows.
    expect(cards.at(-1)!.at - cards[0]!.at).toBeGreaterThanOrEqual(8 * 30_000);
    expectEachExactlyOnce(cards, [...Array(500).keys()].map(requestId));
  });
});

describe('pacing across the tenant', () => {
  let run: Run;
  afterEach(async () => run?.store.close());

  test('25 escalations in each of 20 channels at once stay under 30 sends a second tenant-wide', async () => {
    run = await setup();
    const channels = Array.from({ length: 20 }, (_, c) => `19:channel-${c}@thread.tacv2`);
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      await run.outbox.enqueue(escalation(i, run.clock.now(), channels[i % 20]!));
      ids.push(requestId(i));
    }
    await drainUntilDone(run);
    const cards = delivered(run.sender);
    expectWithinTeamsLimits(run.sender, channels);
    // 100 cards of their own at once: the tenant budget, not the channels, set the pace.
    expect(
      busiest(
        run.sender.calls.map((c) => c.at),
        1_000,
      ),
    ).toBe(30);
    for (const c of channels) {
      const mine = cards.filter((card) => card.conversationId === c);
      expect(mine.filter((card) => !card.summary)).toHaveLength(5);
      expect(mine.filter((card) => card.summary)).toHaveLength(2);
    }
    expectEachExactlyOnce(cards, ids);
  });
});
