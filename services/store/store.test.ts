import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { freshDatabase, type TestDatabase } from '../../test/support/test-database';
import { engineOf } from './dialect';
import { tryLease } from './leases';
import { Store } from './store';

/** The PostgreSQL server every machine (CI included) has; TEST_DATABASE_URL may name another. */
const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('the store on PostgreSQL', () => {
  let dir: string;
  let database: TestDatabase;
  const stores: Store[] = [];
  const saved = process.env.TEST_DATABASE_URL;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-'));
    process.env.TEST_DATABASE_URL = POSTGRES;
    database = await freshDatabase(dir);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await database.drop();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the migrations once when several replicas start together', async () => {
    expect(database.engine).toBe('postgres');
    stores.push(...(await Promise.all([1, 2, 3, 4].map(() => Store.open(database.url, { poolSize: 2 })))));
    expect(stores.map((s) => engineOf(s.db))).toEqual(['postgres', 'postgres', 'postgres', 'postgres']);
    const { rows } = await sql<{ name: string; n: string }>`SELECT name, count(*) AS n FROM kysely_migration GROUP BY name ORDER BY name`.execute(stores[0]!.db);
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    // Tables are in this test's schema, not another's.
    const { rows: tables } = await sql<{ table_schema: string }>`SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'approval_requests' AND table_schema = current_schema()`.execute(stores[0]!.db);
    expect(tables).toHaveLength(1);
  });

  it('gives a lease asked for by several replicas at once to exactly one', async () => {
    stores.push(...(await Promise.all([1, 2, 3].map(() => Store.open(database.url, { poolSize: 2 })))));
    const now = new Date();
    const won = await Promise.all(stores.map((s, i) => tryLease(s.db, 'reconciler', `replica-${i}`, 60_000, now)));
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('keeps the compare-and-swap on request state: of two replicas racing for one version, one wins', async () => {
    const [a, b] = await Promise.all([Store.open(database.url), Store.open(database.url)]);
    stores.push(a, b);
    const now = new Date().toISOString();
    await a.insertEvaluation(
      { evaluation_id: 'e1', request_key: 'k1', pim_request_id: 'p1', kind: 'entraRole', principal_id: 'u1', role_definition_id: 'r1', scope: '/', outcome: 'Approved', would_be: 'Approved', mode: 'enforce', reasons: '[]', checks: '[]', latency_ms: 1, created_at: now },
      {
        id: 'req-1', pim_request_id: 'p1', evaluation_id: 'e1', kind: 'entraRole', principal_id: 'u1', role_definition_id: 'r1', scope: '/', justification: 'x',
        ticket_system: null, ticket_number: null, duration: null, duration_minutes: null, start_at: null, risk_flags: '[]', reasons: '[]', status: 'pending', version: 1,
        claimed_by: null, claimed_at: null, claimed_result: null, decided_by_id: null, decided_by_upn: null, decided_by_name: null, decided_at: null,
        decision_justification: null, display: null, cards_posted_at: null, escalated_at: null, requester_reminded_at: null, created_at: now, expires_at: now, updated_at: now,
      },
    );
    const results = await Promise.all([a.updateRequestIfVersion('req-1', 1, { status: 'recording', claimed_by: 'x' }), b.updateRequestIfVersion('req-1', 1, { status: 'recording', claimed_by: 'y' })]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await b.getRequest('req-1'))!.version).toBe(2);
  });
});

describe('leases for singleton work', () => {
  it('go to one owner until they run out, are renewed by their owner, and pass on after', async () => {
    const store = await Store.open('sqlite::memory:');
    const t0 = new Date('2026-03-20T10:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    expect(await tryLease(store.db, 'reconciler', 'a', 60_000, at(0))).toBe(true);
    expect(await tryLease(store.db, 'reconciler', 'b', 60_000, at(10))).toBe(false);
    expect(await tryLease(store.db, 'reconciler', 'a', 60_000, at(30))).toBe(true); // renewed to t0+90 s
    expect(await tryLease(store.db, 'reconciler', 'b', 60_000, at(80))).toBe(false);
    expect(await tryLease(store.db, 'reconciler', 'b', 60_000, at(91))).toBe(true);
    expect(await tryLease(store.db, 'reconciler', 'a', 60_000, at(92))).toBe(false);
    expect(await tryLease(store.db, 'other', 'a', 60_000, at(92))).toBe(true);
    await store.close();
  });
});

describe('opening a store', () => {
  it('refuses a URL that is neither SQLite nor PostgreSQL, saying which forms work', async () => {
    await expect(Store.open('mysql://root@localhost/db')).rejects.toThrow("DATABASE_URL must be sqlite:<path> or postgres://user@host:port/database; got a 'mysql:' URL");
  });

  it('opens SQLite for sqlite: URLs', async () => {
    const store = await Store.open('sqlite::memory:');
    expect(engineOf(store.db)).toBe('sqlite');
    await store.close();
  });
});
