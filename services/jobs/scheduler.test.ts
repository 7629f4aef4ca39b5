import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../store/store';
import { memoryStore } from '../../test/support/outbox-store';
import { freshDatabase } from '../../test/support/test-database';
import { localDate, nextLocalTime } from './local-time';
import { JobScheduler, type JobRun } from './scheduler';

/** A clock the test moves by hand; every scheduler in a test reads the same one. */
function fakeClock(startIso: string) {
  let t = Date.parse(startIso);
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    set(iso: string) {
      t = Date.parse(iso);
    },
  };
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** A promise the test resolves or rejects when it chooses: a handler that is "still running". */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const p = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { p, open, fail };
}

async function runUntilIdle(s: JobScheduler, maxPasses = 20): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxPasses; i++) {
    const n = await s.runDue();
    if (n === 0) return total;
    total += n;
  }
  throw new Error('scheduler never went idle');
}

describe('job scheduler on one database', () => {
  let store: Store;
  let clock: ReturnType<typeof fakeClock>;
  let scheduler: JobScheduler;

  beforeEach(async () => {
    store = await memoryStore();
    clock = fakeClock('2026-03-20T10:00:00.000Z');
    scheduler = new JobScheduler(store.db, { owner: 'replica-a', now: clock.now, retryBaseMs: 1000, maxAttempts: 3 });
  });
  afterEach(() => store.close());

  it('runs a job once it is due and not before, then marks it done', async () => {
    const runs: JobRun[] = [];
    scheduler.on('ping', async (job) => {
      runs.push(job);
    });
    expect(await scheduler.schedule({ id: 'ping:1', kind: 'ping', dueAt: new Date(clock.now().getTime() + 10 * MIN), payload: { requestId: 'r1' } })).toBe(
      true,
    );

    expect(await scheduler.runDue()).toBe(0);
    clock.advance(10 * MIN - 1);
    expect(await scheduler.runDue()).toBe(0);
    clock.advance(1);
    expect(await scheduler.runDue()).toBe(1);

    expect(runs).toEqual([{ id: 'ping:1', kind: 'ping', payload: { requestId: 'r1' }, dueAt: new Date('2026-03-20T10:10:00.000Z'), attempts: 1 }]);
    expect(await scheduler.get('ping:1')).toMatchObject({
      status: 'done',
      attempts: 1,
      lease_owner: null,
      lease_expires_at: null,
      finished_at: '2026-03-20T10:10:00.000Z',
    });
    expect(await scheduler.runDue()).toBe(0);
  });

  it('keeps jobs across a restart: a new scheduler on the same database runs what the old one scheduled', async () => {
    await scheduler.schedule({ id: 'later', kind: 'ping', dueAt: new Date(clock.now().getTime() + HOUR) });
    const afterRestart = new JobScheduler(store.db, { owner: 'replica-a', now: clock.now });
    let ran = 0;
    afterRestart.on('ping', async () => {
      ran += 1;
    });
    clock.advance(HOUR);
    expect(await afterRestart.runDue()).toBe(1);
    expect(ran).toBe(1);
  });

  it('treats the id as an idempotency key: schedule never inserts twice, never moves, never revives a done job', async () => {
    scheduler.on('ping', async () => {});
    const due = clock.now();
    expect(await scheduler.schedule({ id: 'digest:u1:2026-03-20', kind: 'ping', dueAt: due })).toBe(true);
    expect(await scheduler.schedule({ id: 'digest:u1:2026-03-20', kind: 'ping', dueAt: new Date(due.getTime() + DAY) })).toBe(false);
    expect((await scheduler.get('digest:u1:2026-03-20'))?.due_at).toBe(due.toISOString());

    expect(await scheduler.runDue()).toBe(1);
    expect(await scheduler.schedule({ id: 'digest:u1:2026-03-20', kind: 'ping', dueAt: due })).toBe(false);
    expect(await scheduler.runDue()).toBe(0);
    expect((await scheduler.get('digest:u1:2026-03-20'))?.status).toBe('done');
  });

  it('upsert moves a pending job and reopens a finished one', async () => {
    let ran = 0;
    scheduler.on('ping', async () => {
      ran += 1;
    });
    const in1h = new Date(clock.now().getTime() + HOUR);
    await scheduler.upsert({ id: 'reminder', kind: 'ping', dueAt: in1h, payload: { n: 1 } });
    await scheduler.upsert({ id: 'reminder', kind: 'ping', dueAt: clock.now(), payload: { n: 2 } });
    expect(await scheduler.get('reminder')).toMatchObject({ status: 'pending', due_at: clock.now().toISOString(), payload: '{"n":2}' });
    expect(await scheduler.runDue()).toBe(1);

    await scheduler.upsert({ id: 'reminder', kind: 'ping', dueAt: in1h });
    expect(await scheduler.get('reminder')).toMatchObject({ status: 'pending', due_at: in1h.toISOString(), attempts: 0, payload: null, finished_at: null });
    clock.advance(HOUR);
    expect(await scheduler.runDue()).toBe(1);
    expect(ran).toBe(2);
  });

  it('retries a failing handler with doubling backoff, then marks it failed with a short message and no payload', async () => {
    const attempts: number[] = [];
    scheduler.on('flaky', async (job) => {
      attempts.push(job.attempts);
      throw new Error('Graph said 503\n   at some/stack/frame.ts:1');
    });
    await scheduler.schedule({ id: 'f', kind: 'flaky', dueAt: clock.now(), payload: { secret: 'payload-value-never-logged' } });

    expect(await scheduler.runDue()).toBe(1);
    expect(await scheduler.get('f')).toMatchObject({ status: 'pending', attempts: 1, due_at: '2026-03-20T10:00:01.000Z', lease_owner: null });
    clock.advance(999);
    expect(await scheduler.runDue()).toBe(0);
    clock.advance(1);
    expect(await scheduler.runDue()).toBe(1);
    expect((await scheduler.get('f'))?.due_at).toBe('2026-03-20T10:00:03.000Z'); // 2 s after the second run
    clock.advance(2000);
    expect(await scheduler.runDue()).toBe(1);

    const row = await scheduler.get('f');
    expect(row).toMatchObject({ status: 'failed', attempts: 3, finished_at: '2026-03-20T10:00:03.000Z' });
    expect(row?.last_error).toBe('Graph said 503 at some/stack/frame.ts:1');
    expect(row?.last_error).not.toContain('payload-value');
    expect(attempts).toEqual([1, 2, 3]);
    clock.advance(DAY);
    expect(await scheduler.runDue()).toBe(0);
  });

  it('fails a job of a kind nobody handles, saying how to fix it', async () => {
    await scheduler.schedule({ id: 'x', kind: 'no-such-kind', dueAt: clock.now() });
    expect(await scheduler.runDue()).toBe(1);
    const row = await scheduler.get('x');
    expect(row?.status).toBe('failed');
    expect(row?.last_error).toMatch(/No handler for job kind "no-such-kind".*scheduler\.on\('no-such-kind'/);
  });

  it('runs the same job again when the handler reschedules it, with the new payload and fresh attempts', async () => {
    const seen: unknown[] = [];
    scheduler.on('tick', async (job, now) => {
      seen.push(job.payload);
      if (job.attempts === 1 && (job.payload as { n: number }).n === 1) throw new Error('first try fails');
      return { rescheduleAt: new Date(now.getTime() + HOUR), payload: { n: (job.payload as { n: number }).n + 1 } };
    });
    await scheduler.schedule({ id: 'tick', kind: 'tick', dueAt: clock.now(), payload: { n: 1 } });
    await scheduler.runDue(); // fails, retried in 1 s
    clock.advance(1000);
    await scheduler.runDue(); // succeeds, rescheduled an hour later
    expect(await scheduler.get('tick')).toMatchObject({
      status: 'pending',
      attempts: 0,
      last_error: null,
      payload: '{"n":2}',
      due_at: '2026-03-20T11:00:01.000Z',
    });
    clock.advance(HOUR);
    await scheduler.runDue();
    expect(seen).toEqual([{ n: 1 }, { n: 1 }, { n: 2 }]);
  });

  it('cancels one job, or every job under a prefix taken literally (no wildcards, case-sensitive)', async () => {
    let ran: string[] = [];
    scheduler.on('remind', async (job) => {
      ran.push(job.id);
    });
    const ids = ['remind:req1:a', 'remind:req1:b', 'remind:req10:a', 'remind_req1:c', 'REMIND:req1:d', 'remind:req2:a'];
    for (const id of ids) await scheduler.schedule({ id, kind: 'remind', dueAt: clock.now() });

    expect(await scheduler.cancelPrefix('remind:req1:')).toBe(2);
    expect(await scheduler.cancel('remind:req2:a')).toBe(true);
    expect(await scheduler.cancel('remind:req2:a')).toBe(false);
    expect(await scheduler.cancel('no-such-job')).toBe(false);
    await expect(scheduler.cancelPrefix('')).rejects.toThrow(/non-empty/);

    await scheduler.runDue();
    expect(ran.sort()).toEqual(['REMIND:req1:d', 'remind:req10:a', 'remind_req1:c']);
    expect((await scheduler.get('remind:req1:a'))?.status).toBe('cancelled');
    ran = [];
    expect(await scheduler.cancel('remind:req10:a')).toBe(false); // already done
  });

  it('drops the outcome of a job cancelled while its handler ran', async () => {
    scheduler.on('self-cancel', async (job, now) => {
      await scheduler.cancel(job.id);
      return { rescheduleAt: new Date(now.getTime() + HOUR) };
    });
    await scheduler.schedule({ id: 'c', kind: 'self-cancel', dueAt: clock.now() });
    expect(await scheduler.runDue()).toBe(1);
    expect((await scheduler.get('c'))?.status).toBe('cancelled');
  });

  it('leaves a job moved by upsert while it ran pending at its new time, instead of finishing it', async () => {
    const later = new Date(clock.now().getTime() + 2 * HOUR);
    let runs = 0;
    scheduler.on('moved', async (job) => {
      runs += 1;
      if (runs === 1) await scheduler.upsert({ id: job.id, kind: 'moved', dueAt: later, payload: { v: 2 } });
    });
    await scheduler.schedule({ id: 'm', kind: 'moved', dueAt: clock.now(), payload: { v: 1 } });
    await scheduler.runDue();
    expect(await scheduler.get('m')).toMatchObject({ status: 'pending', due_at: later.toISOString(), payload: '{"v":2}', lease_owner: null });
    clock.advance(2 * HOUR);
    await scheduler.runDue();
    expect(runs).toBe(2);
    expect((await scheduler.get('m'))?.status).toBe('done');
  });

  it('catches up after a long downtime with one digest, not one per missed day', async () => {
    const tz = 'Europe/Amsterdam';
    const runs: Array<{ id: string; at: string }> = [];
    // The daily pattern: the job for one local date schedules the next date's job from `now`, not
    // from its own due time, so days missed while every replica was down collapse into one run.
    scheduler.on('digest', async (job, now) => {
      runs.push({ id: job.id, at: now.toISOString() });
      const next = nextLocalTime(now, tz, '09:00');
      await scheduler.schedule({ id: `digest:u1:${localDate(next, tz)}`, kind: 'digest', dueAt: next });
    });
    const first = nextLocalTime(clock.now(), tz, '09:00'); // 2026-03-21 09:00 CET
    await scheduler.schedule({ id: `digest:u1:${localDate(first, tz)}`, kind: 'digest', dueAt: first });

    clock.set('2026-03-26T12:00:00.000Z'); // down for five days, across nothing but ticks we missed
    expect(await runUntilIdle(scheduler)).toBe(1);
    expect(runs).toEqual([{ id: 'digest:u1:2026-03-21', at: '2026-03-26T12:00:00.000Z' }]);
    const next = await store.db.selectFrom('jobs').selectAll().where('status', '=', 'pending').execute();
    expect(next.map((j) => [j.id, j.due_at])).toEqual([['digest:u1:2026-03-27', '2026-03-27T08:00:00.000Z']]);

    // And it carries on daily, across the change to summer time (29 March), at 09:00 local.
    for (let i = 0; i < 4; i++) {
      const due = (await store.db.selectFrom('jobs').select('due_at').where('status', '=', 'pending').executeTakeFirstOrThrow()).due_at;
      clock.set(due);
      expect(await runUntilIdle(scheduler)).toBe(1);
    }
    expect(runs.slice(1).map((r) => r.at)).toEqual([
      '2026-03-27T08:00:00.000Z',
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('picks up a job whose runner stopped mid-run once the lease expires, and ignores the stopped runner if it comes back', async () => {
    const leaseMs = 60_000;
    const a = new JobScheduler(store.db, { owner: 'replica-a', now: clock.now, leaseMs });
    const b = new JobScheduler(store.db, { owner: 'replica-b', now: clock.now, leaseMs });
    const aStuck = gate();
    const aStarted = gate();
    a.on('work', async () => {
      aStarted.open();
      await aStuck.p; // replica A hangs here (its process froze or died)
    });
    const bBusy = gate();
    const bStarted = gate();
    let bRuns = 0;
    b.on('work', async () => {
      bRuns += 1;
      bStarted.open();
      await bBusy.p;
    });
    await a.schedule({ id: 'w', kind: 'work', dueAt: clock.now() });

    const aPass = a.runDue();
    await aStarted.p;
    expect(await a.get('w')).toMatchObject({ status: 'running', lease_owner: a.leaseOwner, lease_expires_at: '2026-03-20T10:01:00.000Z' });
    expect(await b.runDue()).toBe(0); // lease still held
    clock.advance(leaseMs);
    const bPass = b.runDue();
    await bStarted.p;
    expect(await b.get('w')).toMatchObject({ status: 'running', lease_owner: b.leaseOwner, attempts: 2 });

    // A wakes up while B runs the job and fails: its outcome must not touch B's claim.
    aStuck.fail(new Error('woke up too late'));
    expect(await aPass).toBe(1);
    expect(await a.get('w')).toMatchObject({ status: 'running', lease_owner: b.leaseOwner, due_at: '2026-03-20T10:00:00.000Z' });

    bBusy.open();
    expect(await bPass).toBe(1);
    const done = await b.get('w');
    expect(done).toMatchObject({ status: 'done', attempts: 2, lease_owner: null });
    expect(done?.last_error).toContain(`lease of ${a.leaseOwner} expired`);
    expect(bRuns).toBe(1);
  });

  it('gives up on a job whose runners keep stopping, after maxAttempts claims', async () => {
    // Rows as three runners left them, each dead before it finished.
    const now = clock.now().toISOString();
    await store.db
      .insertInto('jobs')
      .values({
        id: 'poison',
        kind: 'work',
        payload: null,
        status: 'running',
        due_at: now,
        lease_owner: 'replica-z#dead',
        lease_expires_at: now,
        attempts: 3,
        last_error: null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      })
      .execute();
    let ran = 0;
    scheduler.on('work', async () => {
      ran += 1;
    });
    expect(await scheduler.runDue()).toBe(1);
    expect(ran).toBe(0);
    expect(await scheduler.get('poison')).toMatchObject({ status: 'failed', attempts: 4 });
    expect((await scheduler.get('poison'))?.last_error).toContain('lease of replica-z#dead expired');
  });

  it('keeps the lease of a live runner whose handler outlasts it, so no other replica starts the job', async () => {
    const leaseMs = 90; // renewed every 30 ms of real time
    const a = new JobScheduler(store.db, { owner: 'replica-a', now: clock.now, leaseMs });
    const b = new JobScheduler(store.db, { owner: 'replica-b', now: clock.now, leaseMs });
    const slow = gate();
    const started = gate();
    a.on('slow', async () => {
      started.open();
      await slow.p;
    });
    let bRuns = 0;
    b.on('slow', async () => {
      bRuns += 1;
    });
    await a.schedule({ id: 's', kind: 'slow', dueAt: clock.now() });
    const aPass = a.runDue();
    await started.p;
    clock.advance(10 * leaseMs); // the first lease is long gone on the clock
    // A renewal happens meanwhile (waited for, not slept on: a loaded machine may run the heartbeat late).
    const renewed = async (): Promise<boolean> => ((await a.get('s'))?.lease_expires_at ?? '') > clock.now().toISOString();
    for (const giveUp = Date.now() + 10_000; !(await renewed()) && Date.now() < giveUp; ) await new Promise((r) => setTimeout(r, 10));
    expect(await renewed()).toBe(true);
    expect(await b.runDue()).toBe(0);
    slow.open();
    await aPass;
    expect(bRuns).toBe(0);
    expect((await a.get('s'))?.status).toBe('done');
  });

  it('runs passes on a timer after start, and stop waits for the pass in progress', async () => {
    const realClock = new JobScheduler(store.db, { owner: 'replica-a' });
    const release = gate();
    const started = gate();
    const ran: string[] = [];
    realClock.on('t', async (job) => {
      ran.push(job.id);
      started.open();
      await release.p;
    });
    await realClock.schedule({ id: 't1', kind: 't', dueAt: new Date(Date.now() - 1000) });
    await realClock.schedule({ id: 't2', kind: 't', dueAt: new Date(Date.now() - 1000) });
    realClock.start(10);
    await started.p;
    let stopped = false;
    const stopping = realClock.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false); // still waiting for t1's handler
    release.open();
    await stopping;
    expect(ran).toEqual(['t1']); // a stopping pass claims nothing more
    expect((await realClock.get('t2'))?.status).toBe('pending');
  });
});

describe('job scheduler: two replicas on one database file', () => {
  let dir: string;
  let stores: Store[] = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jobs-'));
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    stores = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs each of 200 due jobs exactly once when both replicas pass at the same time', async () => {
    const { url } = await freshDatabase(dir, 'bot.db');
    const first = await Store.open(url);
    const second = await Store.open(url); // a second connection, as a second replica would have
    stores = [first, second];
    const clock = fakeClock('2026-03-20T10:00:00.000Z');
    const calls = new Map<string, number>();
    const byReplica = { a: 0, b: 0 };
    const make = (store: Store, name: 'a' | 'b') => {
      const s = new JobScheduler(store.db, { owner: `replica-${name}`, now: clock.now });
      s.on('work', async (job) => {
        calls.set(job.id, (calls.get(job.id) ?? 0) + 1);
        byReplica[name] += 1;
        await new Promise((r) => setImmediate(r)); // yield, so the other replica's claims interleave
      });
      return s;
    };
    const a = make(first, 'a');
    const b = make(second, 'b');
    for (let i = 0; i < 200; i++) await a.schedule({ id: `job:${String(i).padStart(3, '0')}`, kind: 'work', dueAt: clock.now() });

    const [ranA, ranB] = await Promise.all([a.runDue(500), b.runDue(500)]);

    expect(ranA + ranB).toBe(200);
    expect(calls.size).toBe(200);
    expect([...calls.values()].filter((n) => n !== 1)).toEqual([]);
    expect(byReplica.a).toBeGreaterThan(0);
    expect(byReplica.b).toBeGreaterThan(0);
    const open = await first.db.selectFrom('jobs').select('id').where('status', '!=', 'done').execute();
    expect(open).toEqual([]);
  });
});
