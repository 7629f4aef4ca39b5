/**
 * /readyz while the store's PostgreSQL connections are lost (issue 19): the route with the real Readiness
 * and database check, over a stand-in driver (no database at all) and a ConnectionHealth driven through
 * its states by the store's own retry wrapper.
 */
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import pino from 'pino';
import { BotHttpServer } from './http-server';
import { registerOperationsRoutes } from './operations-routes';
import { PrometheusMetrics } from '../../services/observability/metrics';
import { Readiness } from '../../services/observability/readiness';
import { databaseCheck } from '../../services/observability/readiness-checks';
import { ConnectionHealth, withConnectionRetry } from '../../services/store/pg-resilience';

/** Answers every query with no rows, or throws `failWith`; counts the queries (the readiness probe's `select 1`). */
class ProbeDriver implements Driver {
  failWith: unknown = null;
  queries = 0;
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return {
      executeQuery: async <R>(): Promise<QueryResult<R>> => {
        this.queries++;
        if (this.failWith) throw this.failWith;
        return { rows: [] };
      },
      streamQuery: () => {
        throw new Error('not used');
      },
    };
  }
  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

const ADMIN_SHUTDOWN = '57P01 admin_shutdown: the server ended the session (a restart, a failover or pg_terminate_backend)';
const T0 = Date.parse('2026-12-07T10:00:00.000Z');

interface ReadyzBody {
  status: string;
  checkedAt: string;
  checks: Record<string, Record<string, unknown>>;
}

describe("/readyz and the store's connection state", () => {
  let server: BotHttpServer;
  let url: string;
  let driver: ProbeDriver;
  let health: ConnectionHealth;
  let db: Kysely<any>;
  const failures: string[] = [];

  beforeEach(async () => {
    driver = new ProbeDriver();
    health = new ConnectionHealth(() => undefined);
    failures.length = 0;
    db = new Kysely<any>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => driver,
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    });
    server = new BotHttpServer(pino({ level: 'silent' }));
    // As create-bot wires it: the default cache period (5 s), so a state change must not wait for it.
    const readiness = new Readiness([databaseCheck(db, health)], { onFailure: (check) => failures.push(check) });
    registerOperationsRoutes(server, {
      readiness,
      metrics: new PrometheusMetrics(null, { defaultMetrics: false }),
      metricsAccess: { enabled: false },
      log: pino({ level: 'silent' }),
    });
    await server.listen(0, '127.0.0.1');
    const address = server.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await server.close();
    await db.destroy();
  });

  async function readyz(): Promise<{ status: number; body: ReadyzBody }> {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as ReadyzBody };
  }

  it('answers 503 naming the database while a unit of work that lost its connection waits to run again, and 200 once it committed', async () => {
    const ready = await readyz();
    expect(ready).toEqual({
      status: 200,
      body: { status: 'ready', checkedAt: expect.any(String), checks: { database: { ok: true, detail: 'ok', durationMs: expect.any(Number) } } },
    });

    // A transaction loses its connection in the middle (57P01) and is run again; its second attempt is held.
    let attempts = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let secondAttemptRunning!: () => void;
    const running = new Promise<void>((r) => (secondAttemptRunning = r));
    const now = jest.spyOn(Date, 'now').mockReturnValue(T0);
    const unit = withConnectionRetry(
      (work: (trx: number) => Promise<string>) => work(++attempts),
      async (attempt) => {
        if (attempt === 1) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
        secondAttemptRunning();
        await held;
        return 'committed';
      },
      health,
      { backoffMs: 1 },
    );
    await running;
    now.mockRestore();
    expect({ lost: health.lost, awaitingRetry: health.awaitingRetry, retries: health.retries }).toEqual({ lost: true, awaitingRetry: 1, retries: 1 });

    const probesBefore = driver.queries;
    const during = await readyz();
    expect(during).toEqual({
      status: 503,
      body: {
        status: 'not ready',
        checkedAt: expect.any(String),
        checks: {
          database: {
            ok: false,
            detail: `reconnecting: connection lost since 2026-12-07T10:00:00.000Z (${ADMIN_SHUTDOWN}); 1 unit of work waiting to run again`,
            durationMs: expect.any(Number),
            status: 'reconnecting',
            since: '2026-12-07T10:00:00.000Z',
            lastError: ADMIN_SHUTDOWN,
            awaitingRetry: 1,
          },
        },
      },
    });
    // The cached 200 was not served: the state changed, so the probe ran again. It answered, but the work
    // waiting to run again keeps the store reconnecting.
    expect(driver.queries).toBe(probesBefore + 1);
    expect(health.lost).toBe(true);

    release();
    await expect(unit).resolves.toBe('committed');
    expect({ lost: health.lost, awaitingRetry: health.awaitingRetry, recovered: health.recoveredAt !== null }).toEqual({
      lost: false,
      awaitingRetry: 0,
      recovered: true,
    });
    const after = await readyz();
    expect(after).toEqual({
      status: 200,
      body: { status: 'ready', checkedAt: expect.any(String), checks: { database: { ok: true, detail: 'ok', durationMs: expect.any(Number) } } },
    });
    expect(attempts).toBe(2);
    expect(failures).toEqual([]);
  });

  it('a probe that cannot connect starts the incident (503 with since when and the code, no host), and the first probe that answers ends it', async () => {
    expect((await readyz()).status).toBe(200);
    driver.failWith = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });
    // The cached report is reused while nothing changed: ask once the cache has been dropped by a state change.
    health.noteError(Object.assign(new Error('Connection terminated unexpectedly')), 'idle client');
    const now = jest.spyOn(Date, 'now').mockReturnValue(T0 + 60_000);
    const down = await readyz();
    now.mockRestore();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    // The idle client's codeless error started the incident; the probe's refused connection names the cause.
    expect(down.body.checks.database).toEqual({
      ok: false,
      detail: `reconnecting: connection lost since ${new Date(health.lostAt!).toISOString()} (ECONNREFUSED the connection was refused); probe failed: Error: ECONNREFUSED`,
      durationMs: expect.any(Number),
      status: 'reconnecting',
      since: new Date(health.lostAt!).toISOString(),
      lastError: 'ECONNREFUSED the connection was refused',
      awaitingRetry: 0,
    });
    expect(health.lastErrorAt).toBe(T0 + 60_000);
    expect(JSON.stringify(down.body)).not.toContain('10.1.2.3');
    expect(failures).toEqual(['database']);

    driver.failWith = null;
    // Nothing changed state since the failed report: within the cache period it is served again...
    expect((await readyz()).status).toBe(503);
    expect(health.lost).toBe(true);
    // ...until a query of the store's succeeds (here: a transaction), which ends the incident at once.
    await withConnectionRetry(
      (work: (trx: null) => Promise<number>) => work(null),
      async () => 1,
      health,
    );
    expect(health.lost).toBe(false);
    const up = await readyz();
    expect(up.status).toBe(200);
    expect(up.body.checks.database).toEqual({ ok: true, detail: 'ok', durationMs: expect.any(Number) });
  });

  it("an incident with no work waiting ends with the probe's own answer: a replica out of rotation sees its database come back", async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(T0);
    health.noteError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'idle client');
    health.noteError(new Error('Connection terminated unexpectedly'), 'idle client');
    now.mockRestore();
    // The socket's end after the server's 57P01 did not replace the code that said why.
    expect(health.state()).toEqual({ status: 'reconnecting', since: '2026-12-07T10:00:00.000Z', lastError: '57P01', awaitingRetry: 0 });
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body.checks.database).toEqual({ ok: true, detail: 'ok', durationMs: expect.any(Number) });
    expect(health.state()).toEqual({ status: 'ok' });
    expect(health.recoveredAt).not.toBeNull();
  });
});
