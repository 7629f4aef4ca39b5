/**
 * The shared pace on one database opened twice (two replicas): a SQLite file, or a PostgreSQL schema
 * under `npm run test:postgres`. Every test runs on a clock the test moves.
 */
import { sql } from 'kysely';
import { Pool } from 'pg';
import { Store } from '../store/store';
import { renderSummary } from '../../test/support/outbox-cards';
import { testPostgresUrl } from '../../test/support/test-database';
import { Outbox, type OutboxDelivery } from './outbox';
import { Pacer, TEAMS_LIMITS, TENANT_SCOPE, type Reservation } from './pacer';
import { SharedPace, SHARED_PACE_LOCK_KEY, type SharedReservation } from './shared-pace';
import { busiest, fakeClock, fakeSender, httpError, T0, tempDatabase } from '../../test/support/outbox-store';

const at = (ms: number) => new Date(T0 + ms);
const OK = { ok: true, slot: expect.any(String) };

/** Reserves at `ms` and, if taken, settles at `answeredMs` (by default at once: Teams answered in no time). */
async function take(pace: SharedPace, conversationId: string, ms: number, answeredMs = ms): Promise<SharedReservation> {
  const r = await pace.reserve(conversationId, at(ms));
  if (r.ok) await pace.settle(r.slot, at(answeredMs));
  return r;
}

/** A small deterministic random source (mulberry32), so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('shared pace on one database opened by two replicas', () => {
  let file: { url: string; remove(): Promise<void> };
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    file = await tempDatabase();
    [a, b] = [await Store.open(file.url), await Store.open(file.url)];
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await file.remove();
  });

  const rows = async () => (await a.db.selectFrom('pace_sends').select('id').execute()).length;

  test('the tenant window counts both replicas: 30 sends a second between them, then the first frees', async () => {
    const paces = [new SharedPace(a.db), new SharedPace(b.db)];
    const granted: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await take(paces[i % 2]!, `19:c${i}@thread.tacv2`, i * 10);
      if (r.ok) granted.push(i);
      else expect(r.retryAt).toEqual(at(1_000));
    }
    expect(granted).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(await take(paces[1]!, '19:late@thread.tacv2', 999)).toEqual({ ok: false, retryAt: at(1_000) });
    expect(await take(paces[1]!, '19:late@thread.tacv2', 1_000)).toEqual(OK);
    expect(await take(paces[0]!, '19:late2@thread.tacv2', 1_000)).toEqual({ ok: false, retryAt: at(1_010) });
    expect(await rows()).toBe(31);
  });

  test('a conversation gets 7 in a second and 8 in two seconds from both replicas together', async () => {
    const [p, q] = [new SharedPace(a.db), new SharedPace(b.db)];
    const c = '19:busy@thread.tacv2';
    for (let i = 0; i < 7; i++) expect(await take(i % 2 ? q : p, c, i)).toEqual(OK);
    expect(await take(q, c, 7)).toEqual({ ok: false, retryAt: at(1_000) });
    expect(await take(p, c, 1_000)).toEqual(OK);
    // Eight in two seconds: the ninth waits for the first to leave the 2 s window.
    expect(await take(q, c, 1_001)).toEqual({ ok: false, retryAt: at(2_000) });
    expect(await q.check(c, at(1_500))).toEqual({ ok: false, retryAt: at(2_000) });
    expect(await take(q, c, 2_000)).toEqual(OK);
  });

  test('answered at once, two replicas together decide exactly as one Pacer fed the same sends, and never exceed a window', async () => {
    const paces = [new SharedPace(a.db), new SharedPace(b.db)];
    const reference = new Pacer(TEAMS_LIMITS);
    const rnd = random(19);
    const granted = new Map<string, number[]>();
    const all: number[] = [];
    let t = 0;
    let refusedByTheHour = 0;
    const ask = async (conversationId: string): Promise<void> => {
      const now = at(t);
      const expected: Reservation = reference.reserve(conversationId, now);
      const taken = await take(paces[rnd() < 0.5 ? 0 : 1]!, conversationId, t);
      const got: Reservation = taken.ok ? { ok: true } : taken;
      expect({ t, conversationId, got }).toEqual({ t, conversationId, got: expected });
      if (!got.ok && got.retryAt.getTime() - now.getTime() > 30_000) refusedByTheHour++;
      if (got.ok) {
        all.push(now.getTime());
        (granted.get(conversationId) ?? granted.set(conversationId, []).get(conversationId)!).push(now.getTime());
      }
    };
    // A burst over 40 conversations: the tenant window binds.
    for (let i = 0; i < 500; i++, t += Math.floor(rnd() * 20)) await ask(`19:c${Math.floor(rnd() * 40)}@thread.tacv2`);
    // One busy conversation for half an hour: 8/2 s, 60/30 s, then 1800 an hour bind.
    for (let i = 0; i < 2_400; i++, t += 400 + Math.floor(rnd() * 400))
      await ask(rnd() < 0.9 ? '19:hot@thread.tacv2' : `19:c${Math.floor(rnd() * 40)}@thread.tacv2`);
    // Past the hour: the busy conversation's first sends leave the window.
    t += 40 * 60_000;
    for (let i = 0; i < 200; i++, t += Math.floor(rnd() * 200)) await ask(rnd() < 0.5 ? '19:hot@thread.tacv2' : `19:c${Math.floor(rnd() * 40)}@thread.tacv2`);

    expect(refusedByTheHour).toBeGreaterThan(0);
    expect(granted.get('19:hot@thread.tacv2')!.length).toBeGreaterThan(1_800);
    expect(busiest(all, 1_000)).toBe(30);
    for (const { count, perMs } of TEAMS_LIMITS.conversation) {
      expect(Math.max(...[...granted.values()].map((times) => busiest(times, perMs)))).toBe(count);
    }
  }, 120_000);

  test('a send counts until Teams answered it; one never answered, until its in-flight bound; one that never went, not at all', async () => {
    const [p, q] = [new SharedPace(a.db, { inFlightMs: 5_000 }), new SharedPace(b.db, { inFlightMs: 5_000 })];
    const c = '19:busy@thread.tacv2';
    const slots: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await p.reserve(c, at(0));
      if (r.ok) slots.push(r.slot);
    }
    expect(slots).toHaveLength(7);
    // In flight, each may still arrive any time: a second later the window is still full.
    expect(await q.reserve(c, at(1_000))).toEqual({ ok: false, retryAt: at(6_000) });
    // Answered 300 ms after their slots, they arrived by then and count until 1 300.
    for (const slot of slots) await p.settle(slot, at(300));
    expect(await q.reserve(c, at(1_299))).toEqual({ ok: false, retryAt: at(1_300) });
    expect(await q.reserve(c, at(1_300))).toEqual(OK);

    // A replica died mid-send: its sends count until reserved + inFlightMs + the window.
    const d = '19:orphaned@thread.tacv2';
    for (let i = 0; i < 7; i++) expect(await p.reserve(d, at(0))).toEqual(OK);
    expect(await q.reserve(d, at(5_999))).toEqual({ ok: false, retryAt: at(6_000) });
    expect(await q.reserve(d, at(6_000))).toEqual(OK);

    // A slot whose row went to another replica is given back.
    const e = '19:contended@thread.tacv2';
    const lost = await p.reserve(e, at(0));
    for (let i = 0; i < 6; i++) expect(await take(q, e, 0)).toEqual(OK);
    expect(await q.reserve(e, at(0))).toMatchObject({ ok: false });
    await p.release((lost as { slot: string }).slot);
    expect(await take(q, e, 0)).toEqual(OK);
  });

  test("a pause by one replica holds the other's sends to that conversation, or with TENANT_SCOPE to all", async () => {
    const [p, q] = [new SharedPace(a.db), new SharedPace(b.db)];
    const c = '19:throttled@thread.tacv2';
    await p.pause(c, at(5_000));
    // A shorter pause never shortens a longer one.
    await q.pause(c, at(2_000));
    expect(await q.pausedUntil(c, at(1_000))).toEqual(at(5_000));
    expect(await q.reserve(c, at(1_000))).toEqual({ ok: false, retryAt: at(5_000) });
    expect(await take(q, '19:other@thread.tacv2', 1_000)).toEqual(OK);
    expect(await take(q, c, 5_000)).toEqual(OK);
    expect(await p.pausedUntil(c, at(5_000))).toBeNull();

    await q.pause(TENANT_SCOPE, at(9_000));
    expect(await p.pausedUntil(TENANT_SCOPE, at(6_000))).toEqual(at(9_000));
    expect(await p.reserve('19:third@thread.tacv2', at(6_000))).toEqual({ ok: false, retryAt: at(9_000) });
    expect(await take(p, '19:third@thread.tacv2', 9_000)).toEqual(OK);
    expect(await rows()).toBe(3);
  });

  test('sends older than the longest window are pruned now and then, not on every call', async () => {
    const p = new SharedPace(a.db, { pruneEveryMs: 60_000 });
    const q = new SharedPace(b.db);
    await p.pause('19:x@thread.tacv2', at(500));
    for (let i = 0; i < 20; i++) expect(await take(p, `19:c${i}@thread.tacv2`, i * 100)).toEqual(OK);
    expect(await rows()).toBe(20);
    // Within a minute of the last prune nothing is deleted.
    expect(await take(p, '19:c0@thread.tacv2', 59_999)).toEqual(OK);
    expect(await rows()).toBe(21);
    // The next call after the minute prunes what no window can count (arrived by now - 1 h).
    expect(await take(p, '19:c1@thread.tacv2', 3_600_000 + 1_000)).toEqual(OK);
    // Sends at 0 … 1000 ms went (11), 1100 … 1900, 59 999 and the new one stay.
    expect(await rows()).toBe(21 - 11 + 1);
    expect(await a.db.selectFrom('pace_pauses').select('scope').execute()).toEqual([]);
    // Pruning never forgets a send a window still counts.
    expect(await q.prune(at(3_600_000 + 1_099))).toBe(0);
    expect(await q.prune(at(3_600_000 + 1_100))).toBe(1);
    expect(await rows()).toBe(10);
  });

  test('a reservation that cannot take the lock, or loses its connection, takes no slot and leaves no lock (PostgreSQL)', async () => {
    if (!testPostgresUrl()) return; // SQLite holds no lock across statements: a reservation is one statement.
    // A third replica whose connections this test can find (and cut) by their application name alone.
    const name = `pace-test-${process.pid}-${Date.now()}`;
    const url = new URL(file.url);
    url.searchParams.set('application_name', name);
    const c = await Store.open(url.toString());
    const holder = new Pool({ connectionString: file.url, max: 1 });
    const client = await holder.connect();
    client.on('error', () => undefined);
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${SHARED_PACE_LOCK_KEY})`);
      const holderPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

      await expect(new SharedPace(c.db, { lockTimeoutMs: 200 }).reserve('19:c@thread.tacv2', at(0))).rejects.toThrow(/lock timeout/);

      // The connection is lost while the reservation's transaction waits for the lock.
      const outcome = new SharedPace(c.db, { lockTimeoutMs: 30_000 }).reserve('19:c@thread.tacv2', at(0)).then(
        () => 'taken',
        () => 'failed',
      );
      let waiting: number | undefined;
      for (let i = 0; i < 200 && waiting === undefined; i++) {
        const found = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${name} AND wait_event_type = 'Lock'`.execute(a.db);
        waiting = found.rows[0]?.pid;
        if (waiting === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      expect(waiting).toBeDefined();
      await sql`SELECT pg_terminate_backend(${waiting})`.execute(a.db);
      expect(await outcome).toBe('failed');
      expect(await rows()).toBe(0);

      // The holder's connection dies mid-transaction: its lock goes with it, and the others go on.
      await sql`SELECT pg_terminate_backend(${holderPid})`.execute(a.db);
      expect(await new SharedPace(b.db).reserve('19:c@thread.tacv2', at(0))).toEqual(OK);
      expect(await new SharedPace(c.db).reserve('19:c@thread.tacv2', at(1))).toEqual(OK);
      expect(await rows()).toBe(2);
    } finally {
      client.release(true);
      await holder.end().catch(() => undefined);
      await c.close();
    }
  });
});

describe('outbox replicas with the shared pace (fake clock)', () => {
  test("a 429 on one replica pauses the conversation for the other, and together they keep the conversation's windows", async () => {
    const file = await tempDatabase();
    const [a, b] = [await Store.open(file.url), await Store.open(file.url)];
    try {
      const clock = fakeClock();
      const sender = fakeSender(clock, { delayMs: 1 });
      const sentBy: string[] = [];
      const via = (name: string) => ({
        send: (d: OutboxDelivery) => {
          sentBy.push(name);
          return sender.send(d);
        },
      });
      const make = (store: Store, name: string) =>
        new Outbox({
          renderSummary,
          db: store.db,
          sender: via(name),
          now: clock.now,
          random: () => 1,
          instanceId: name,
          collapse: false,
          sharedPace: new SharedPace(store.db),
        });
      const [oa, ob] = [make(a, 'a'), make(b, 'b')];
      const c = '19:busy@thread.tacv2';
      for (let i = 0; i < 30; i++) {
        await oa.enqueue({
          conversationId: c,
          serviceUrl: 'https://smba.trafficmanager.net/emea/',
          kind: 'post',
          payload: { type: 'text', text: `m${i}` },
          dedupeKey: `m:${i}`,
          meta: { chat: 'personal' },
        });
      }
      sender.failNext(() => httpError(429, { headers: { 'retry-after': '3' } }));
      await oa.drain();
      expect(sender.calls).toHaveLength(1);
      // Replica b never got the 429, yet waits out its Retry-After.
      for (let ms = 0; ms < 3_000; ms += 250) {
        await Promise.all([oa.drain(), ob.drain()]);
        clock.advance(250);
      }
      expect(sender.calls).toHaveLength(1);
      expect(await b.db.selectFrom('pace_pauses').select(['scope', 'until']).execute()).toEqual([{ scope: c, until: at(3_000).toISOString() }]);
      for (let round = 0; round < 200 && sender.sent.length < 30; round++) {
        await Promise.all([oa.drain(), ob.drain()]);
        clock.advance(100);
      }
      expect(sender.sent).toHaveLength(30);
      expect(new Set(sentBy)).toEqual(new Set(['a', 'b']));
      const times = sender.sent.map((s) => s.at);
      expect(Math.min(...times)).toBe(T0 + 3_000);
      expect(busiest(times, 1_000)).toBeLessThanOrEqual(7);
      expect(busiest(times, 2_000)).toBeLessThanOrEqual(8);
    } finally {
      await a.close();
      await b.close();
      await file.remove();
    }
  });
});
