/**
 * PostgreSQL ending the bot's connections while they are in use (issue 19, item 2): a backend terminated
 * in the middle of a transaction (57P01), and the server unreachable for a while. The process keeps
 * running, the transaction is run again and committed exactly once, and /readyz names the database while
 * it is gone. Always on PostgreSQL (every machine has it on 127.0.0.1:5432), whichever store the rest of
 * the run uses: SQLite has no connection to lose.
 *
 * Only this test's sessions are terminated: the store connects with its own application_name.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Pool } from 'pg';
import pino from 'pino';
import { BotHttpServer } from '../../bot/http/http-server';
import { registerOperationsRoutes } from '../../bot/http/operations-routes';
import { appendAudit } from '../../services/audit/audit-trail';
import { PrometheusMetrics } from '../../services/observability/metrics';
import { Readiness } from '../../services/observability/readiness';
import { databaseCheck } from '../../services/observability/readiness-checks';
import { Store } from '../../services/store/store';
import { freshDatabase, type TestDatabase } from '../support/test-database';
import { type Harness, startHarness } from '../support/harness';

const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors nobody listened for: without the client error listener, a terminated idle-in-transaction client lands here. */
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

/**
 * Ends this test's sessions (by application_name) in `onlyState`; with `lastQuery`, only those whose last
 * statement matched it (a session idle in transaction after its first insert: mid-way, not before COMMIT).
 */
async function terminate(applicationName: string, onlyState?: string, lastQuery?: string): Promise<number> {
  const admin = new Pool({ connectionString: POSTGRES, max: 1 });
  try {
    const { rows } = await admin.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1 AND ($2::text IS NULL OR state = $2)
          AND ($3::text IS NULL OR query ILIKE $3)`,
      [applicationName, onlyState ?? null, lastQuery ?? null],
    );
    return rows.filter((r) => r.ended).length;
  } finally {
    await admin.end();
  }
}

function evaluation(i: number, now: string) {
  return {
    evaluation_id: `e-${i}`,
    request_key: `k-${i}`,
    pim_request_id: `p-${i}`,
    kind: 'entraRole',
    principal_id: 'u1',
    role_definition_id: 'r1',
    scope: '/',
    outcome: 'Approved',
    would_be: 'Approved',
    mode: 'enforce',
    reasons: '[]',
    checks: '[]',
    latency_ms: 1,
    created_at: now,
  };
}

/** Waits for a state of the store (a ConnectionHealth transition), not for a time that usually suffices. */
async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const ADMIN_SHUTDOWN = '57P01 admin_shutdown: the server ended the session (a restart, a failover or pg_terminate_backend)';

interface DatabaseReadiness {
  ok: boolean;
  detail: string;
  durationMs: number;
  status?: string;
  since?: string;
  lastError?: string;
  awaitingRetry?: number;
}

/** /readyz as the bot serves it (the route, Readiness and the database check of create-bot) over this store. */
async function opsServer(
  store: Store,
): Promise<{ readyz(): Promise<{ status: number; body: string; database: DatabaseReadiness | undefined }>; close(): Promise<void> }> {
  const server = new BotHttpServer(pino({ level: 'silent' }));
  registerOperationsRoutes(server, {
    readiness: new Readiness([databaseCheck(store.db, store.connections)]),
    metrics: new PrometheusMetrics(null, { defaultMetrics: false }),
    metricsAccess: { enabled: false },
    log: pino({ level: 'silent' }),
  });
  await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(server.server.address() as net.AddressInfo).port}`;
  return {
    async readyz() {
      const res = await fetch(`${url}/readyz`);
      const body = (await res.json()) as { status: string; checks: Record<string, DatabaseReadiness> };
      return { status: res.status, body: body.status, database: body.checks.database };
    },
    close: () => server.close(),
  };
}

async function counts(store: Store): Promise<{ evaluations: number; audit: number }> {
  const a = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log`.execute(store.db);
  return { evaluations: await store.evaluations.count(), audit: Number(a.rows[0]!.n) };
}

describe("PostgreSQL terminating the store's connections while in use", () => {
  const saved = process.env.TEST_DATABASE_URL;
  let dir: string;
  let database: TestDatabase;
  let store: Store;
  let app: string;

  beforeEach(async () => {
    process.env.TEST_DATABASE_URL = POSTGRES;
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
    dir = mkdtempSync(join(tmpdir(), 'db-drop-'));
    database = await freshDatabase(dir);
    app = `db-drop-${randomBytes(4).toString('hex')}`;
    const url = new URL(database.url);
    url.searchParams.set('application_name', app);
    store = await Store.open(url.toString());
  });
  afterEach(async () => {
    process.off('uncaughtException', onUncaught);
    await store.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  });

  it('runs a transaction whose backend was terminated mid-way again, commits it once, and does not crash', async () => {
    const now = new Date().toISOString();
    let attempts = 0;
    await store.transaction(async (trx) => {
      attempts++;
      await trx.insertInto('evaluations').values(evaluation(1, now)).execute();
      // Idle in transaction, between two statements: the client is checked out with no query running.
      if (attempts === 1) {
        expect(await terminate(app, 'idle in transaction')).toBe(1);
        await sleep(200);
      }
      await appendAudit(trx, [{ kind: 'evaluation', actor: 'bot', pimRequestId: 'p-1', evaluationId: 'e-1', outcome: 'Approved' }]);
    });
    expect(attempts).toBe(2);
    expect(uncaught).toEqual([]);
    expect(await counts(store)).toEqual({ evaluations: 1, audit: 1 });
    expect(store.connections!.retries).toBe(1);
    expect(store.connections!.errors).toBeGreaterThanOrEqual(1);
  });

  it('/readyz answers 503 naming the database while a terminated transaction waits to run again, and 200 once it committed', async () => {
    const ops = await opsServer(store);
    try {
      expect(await ops.readyz()).toEqual({ status: 200, body: 'ready', database: { ok: true, detail: 'ok', durationMs: expect.any(Number) } });
      const now = new Date().toISOString();
      let attempts = 0;
      let during: Awaited<ReturnType<typeof ops.readyz>> | undefined;
      let lostAt: number | null = null;
      await store.transaction(async (trx) => {
        attempts++;
        await trx.insertInto('evaluations').values(evaluation(1, now)).execute();
        if (attempts === 1) {
          expect(await terminate(app, 'idle in transaction')).toBe(1);
          // The terminated client's error event reached the store: it knows its connection is lost.
          await until('the connection loss to be noted', () => store.connections!.lost);
        } else {
          // Run again after the loss: until this commits, the store is reconnecting (the probe itself answers).
          expect({ lost: store.connections!.lost, awaitingRetry: store.connections!.awaitingRetry }).toEqual({ lost: true, awaitingRetry: 1 });
          lostAt = store.connections!.lostAt;
          during = await ops.readyz();
        }
        await appendAudit(trx, [{ kind: 'evaluation', actor: 'bot', pimRequestId: 'p-1', evaluationId: 'e-1', outcome: 'Approved' }]);
      });
      expect(attempts).toBe(2);
      const since = new Date(lostAt!).toISOString();
      expect(during).toEqual({
        status: 503,
        body: 'not ready',
        database: {
          ok: false,
          detail: `reconnecting: connection lost since ${since} (${ADMIN_SHUTDOWN}); 1 unit of work waiting to run again`,
          durationMs: expect.any(Number),
          status: 'reconnecting',
          since,
          lastError: ADMIN_SHUTDOWN,
          awaitingRetry: 1,
        },
      });
      // Committed: the incident is over, and the next probe says so at once (no cache period to wait out).
      expect({ lost: store.connections!.lost, awaitingRetry: store.connections!.awaitingRetry }).toEqual({ lost: false, awaitingRetry: 0 });
      expect(await ops.readyz()).toEqual({ status: 200, body: 'ready', database: { ok: true, detail: 'ok', durationMs: expect.any(Number) } });
      expect(await counts(store)).toEqual({ evaluations: 1, audit: 1 });
      expect(uncaught).toEqual([]);
    } finally {
      await ops.close();
    }
  });

  it('records a burst of evaluations exactly once each while their transactions are being terminated', async () => {
    const now = new Date().toISOString();
    const N = 40;
    // Each audit insert takes 50 ms here, so the burst's transactions are caught mid-way, in that statement.
    await sql`CREATE FUNCTION slow_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$`.execute(store.db);
    await sql`CREATE TRIGGER slow_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION slow_audit()`.execute(store.db);
    let stop = false;
    let ended = 0;
    const target = app;
    // Ends this store's sessions in the middle of their transaction's audit insert (never one in COMMIT,
    // which would be ambiguous and is not retried),
    // in three rounds that end some, so no single transaction is likely to be cut more often than retried.
    const killer = (async () => {
      let rounds = 0;
      while (!stop && rounds < 3) {
        const n = await terminate(target, 'active', '%insert into "audit_log"%');
        ended += n;
        if (n > 0) rounds++;
        await sleep(20);
      }
    })();
    let results: Awaited<ReturnType<Store['evaluations']['insert']>>[];
    try {
      results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          store.evaluations.insert(evaluation(i, now), undefined, {
            kind: 'evaluation',
            actor: 'bot',
            pimRequestId: `p-${i}`,
            evaluationId: `e-${i}`,
            outcome: 'Approved',
          }),
        ),
      );
    } finally {
      stop = true;
      await killer;
    }
    expect(results.every((r) => r.created)).toBe(true);
    expect(uncaught).toEqual([]);
    expect(await counts(store)).toEqual({ evaluations: N, audit: N });
    // The burst really lost transactions in flight, and each was retried.
    expect(ended).toBeGreaterThanOrEqual(1);
    expect(store.connections!.retries).toBeGreaterThanOrEqual(1);
  });

  it('gives up after a bounded number of attempts and fails that unit of work, still without crashing', async () => {
    let attempts = 0;
    await expect(
      store.transaction(async (trx) => {
        attempts++;
        await sql`SELECT 1`.execute(trx);
        await terminate(app, 'idle in transaction');
        await sleep(100);
        await sql`SELECT 1`.execute(trx);
      }),
    ).rejects.toThrow();
    expect(attempts).toBe(4);
    expect(uncaught).toEqual([]);
    // The store still works afterwards.
    expect(await store.evaluations.count()).toBe(0);
  });

  it('keeps a separate process alive when its checked-out connection is terminated between statements', async () => {
    // A process of its own, so an error event with no listener shows as what it is in production: an exit.
    const childApp = `${app}-child`;
    const url = new URL(database.url);
    url.searchParams.set('application_name', childApp);
    const script = join(dir, 'child.ts');
    writeFileSync(
      script,
      `import { sql } from ${JSON.stringify(require.resolve('kysely'))};
import { Store } from ${JSON.stringify(join(__dirname, '..', '..', 'services', 'store', 'store'))};
(async () => {
  const store = await Store.open(process.env.CHILD_DATABASE_URL!);
  let attempts = 0;
  await store.transaction(async (trx) => {
    attempts++;
    await sql\`SELECT 1\`.execute(trx);
    if (attempts === 1) {
      process.stdout.write('holding\\n');
      await new Promise((r) => setTimeout(r, 1500));
    }
    await sql\`SELECT 1\`.execute(trx);
  });
  await new Promise((r) => setTimeout(r, 300));
  process.stdout.write(JSON.stringify({ attempts }) + '\\n');
  await store.close();
})();
`,
    );
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', script], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, CHILD_DATABASE_URL: url.toString() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child never held its transaction: ${err.slice(-500)}`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('holding')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(await terminate(childApp, 'idle in transaction')).toBe(1);
    const code = await exited;
    expect({ code, stderr: code === 0 ? '' : err.slice(-800) }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ attempts: 2 });
  });

  it('does not run again work that failed for another reason', async () => {
    let attempts = 0;
    await expect(
      store.transaction(async (trx) => {
        attempts++;
        await sql`SELECT 1/0`.execute(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(attempts).toBe(1);
  });
});

/** A TCP relay in front of PostgreSQL that the test can cut: every connection through it ends, and new ones are refused. */
async function relay(): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let down = false;
  const target = new URL(POSTGRES);
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client
      .on('error', () => undefined)
      .on('close', () => {
        upstream.destroy();
        sockets.delete(client);
      });
    upstream
      .on('error', () => undefined)
      .on('close', () => {
        client.destroy();
        sockets.delete(upstream);
      });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(POSTGRES);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('a replica starting while its connection is terminated mid-migration', () => {
  it('runs the migrations again instead of failing to start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-migrate-'));
    const saved = process.env.TEST_DATABASE_URL;
    process.env.TEST_DATABASE_URL = POSTGRES;
    const database = await freshDatabase(dir);
    const app = `db-migrate-${randomBytes(4).toString('hex')}`;
    const url = new URL(database.url);
    url.searchParams.set('application_name', app);
    // Kysely's migrator takes this advisory lock first: holding it keeps the starting store waiting inside
    // its migration, where its backend is terminated (as the chaos run's pg-terminate fault did).
    const holder = new Pool({ connectionString: POSTGRES, max: 1 });
    const held = await holder.connect();
    let store: Store | undefined;
    try {
      await held.query('SELECT pg_advisory_lock(3853314791062309107)');
      const opening = Store.open(url.toString());
      let waiting = 0;
      for (let i = 0; i < 200 && waiting === 0; i++) {
        await sleep(25);
        const { rows } = await held.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [app],
        );
        waiting = rows[0]!.n;
      }
      expect(waiting).toBe(1);
      expect(await terminate(app)).toBeGreaterThanOrEqual(1);
      await held.query('SELECT pg_advisory_unlock(3853314791062309107)');
      store = await opening;
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM kysely_migration`.execute(store.db);
      expect(rows[0]!.n).toBeGreaterThan(10);
    } finally {
      held.release();
      await holder.end();
      await store?.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
      if (saved === undefined) delete process.env.TEST_DATABASE_URL;
      else process.env.TEST_DATABASE_URL = saved;
    }
  });
});

describe('the bot while PostgreSQL is unreachable', () => {
  const saved = process.env.TEST_DATABASE_URL;
  let h: Harness;
  let db: Awaited<ReturnType<typeof relay>>;

  beforeEach(async () => {
    db = await relay();
    process.env.TEST_DATABASE_URL = db.url;
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
    h = await startHarness();
  });
  afterEach(async () => {
    process.off('uncaughtException', onUncaught);
    db.restore();
    await h.close();
    await db.close();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  });

  async function readyz(): Promise<{ status: number; database: DatabaseReadiness | undefined }> {
    const res = await fetch(`${h.bot.url}/readyz`);
    const body = (await res.json()) as { checks: Record<string, DatabaseReadiness> };
    return { status: res.status, database: body.checks.database };
  }

  /** Asks until the cached report (a few seconds) gives way to one with this status (the bot starting up). */
  async function readyzUntil(status: number): Promise<{ status: number; database: DatabaseReadiness | undefined }> {
    const deadline = Date.now() + 15_000;
    let r = await readyz();
    while (r.status !== status && Date.now() < deadline) {
      await sleep(250);
      r = await readyz();
    }
    return r;
  }

  it('answers 503 naming the database while it is gone, 200 once it is back, and keeps running', async () => {
    expect((await readyzUntil(200)).status).toBe(200);
    // Hold a transaction open, then cut every connection under it for a moment: it is run again once the
    // database answers, and commits once.
    const key = `cut-${randomBytes(4).toString('hex')}`;
    let attempts = 0;
    const inFlight = h.bot.store.transaction(async (trx) => {
      attempts++;
      await trx
        .insertInto('evaluations')
        .values({ ...evaluation(0, new Date().toISOString()), evaluation_id: key, request_key: key })
        .execute();
      await sleep(300);
      await sql`SELECT 1`.execute(trx);
      return 'committed';
    });
    await sleep(100);
    db.cut();
    await sleep(30);
    db.restore();
    await expect(inFlight).resolves.toBe('committed');
    expect(attempts).toBe(2);
    expect((await h.bot.store.evaluations.forKey(key)).length).toBe(1);

    // Gone for a while: once the store has seen it (a unit of work failing to connect, every attempt), the very
    // next /readyz says so, naming the database, since when and why; no cached report hides it.
    db.cut();
    await expect(h.bot.store.transaction((trx) => sql`SELECT 1`.execute(trx))).rejects.toThrow();
    expect(h.bot.store.connections!.lost).toBe(true);
    const since = new Date(h.bot.store.connections!.lostAt!).toISOString();
    const during = await readyz();
    expect(during.status).toBe(503);
    expect(during.database).toEqual({
      ok: false,
      // The probe's own connection is cut as well: pg's error has no code to show.
      detail: `reconnecting: connection lost since ${since} (connection terminated); probe failed: Error`,
      durationMs: expect.any(Number),
      status: 'reconnecting',
      since,
      lastError: 'connection terminated',
      awaitingRetry: 0,
    });
    // Back: the first query of the store that succeeds ends the incident, and the next /readyz is 200.
    db.restore();
    await h.bot.store.transaction((trx) => sql`SELECT 1`.execute(trx));
    expect(h.bot.store.connections!.lost).toBe(false);
    const after = await readyz();
    expect(after.status).toBe(200);
    expect(after.database).toEqual({ ok: true, detail: 'ok', durationMs: expect.any(Number) });
    expect(uncaught).toEqual([]);
    expect(h.bot.store.connections!.errors).toBeGreaterThanOrEqual(1);
  });
});
