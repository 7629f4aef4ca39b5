import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from 'kysely';
import { Pool } from 'pg';
import { freshDatabase, type TestDatabase } from '../../test/support/test-database';
import { engineOf } from './dialect';
import { migrationProvider } from './migrations';
import type { RequestPatch } from './requests';
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
    const { rows } = await sql<{ name: string; n: string }>`SELECT name, count(*) AS n FROM kysely_migration GROUP BY name ORDER BY name`.execute(
      stores[0]!.db,
    );
    expect(rows.length).toBeGreaterThanOrEqual(7);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    // Tables are in this test's schema, not another's.
    const { rows: tables } = await sql<{
      table_schema: string;
    }>`SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'approval_requests' AND table_schema = current_schema()`.execute(
      stores[0]!.db,
    );
    expect(tables).toHaveLength(1);
  });

  it('gives a lease asked for by several replicas at once to exactly one', async () => {
    stores.push(...(await Promise.all([1, 2, 3].map(() => Store.open(database.url, { poolSize: 2 })))));
    const now = new Date();
    const won = await Promise.all(stores.map((s, i) => s.tryLease('reconciler', `replica-${i}`, 60_000, now)));
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('keeps the compare-and-swap on request state: of two replicas racing for one version, one wins', async () => {
    const [a, b] = await Promise.all([Store.open(database.url), Store.open(database.url)]);
    stores.push(a, b);
    const now = new Date().toISOString();
    await a.evaluations.insert(
      {
        evaluation_id: 'e1',
        request_key: 'k1',
        pim_request_id: 'p1',
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
      },
      {
        id: 'req-1',
        pim_request_id: 'p1',
        evaluation_id: 'e1',
        kind: 'entraRole',
        principal_id: 'u1',
        role_definition_id: 'r1',
        scope: '/',
        justification: 'x',
        ticket_system: null,
        ticket_number: null,
        duration: null,
        duration_minutes: null,
        start_at: null,
        risk_flags: '[]',
        reasons: '[]',
        status: 'pending',
        version: 1,
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
        decided_by_id: null,
        decided_by_upn: null,
        decided_by_name: null,
        decided_at: null,
        decision_justification: null,
        display: null,
        cards_posted_at: null,
        escalated_at: null,
        requester_reminded_at: null,
        created_at: now,
        expires_at: now,
        updated_at: now,
      },
    );
    const results = await Promise.all([
      a.requests.transition({ id: 'req-1', version: 1, status: 'pending' }, { type: 'claim' }, { claimed_by: 'x' }),
      b.requests.transition({ id: 'req-1', version: 1, status: 'pending' }, { type: 'claim' }, { claimed_by: 'y' }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await b.requests.get('req-1'))!.version).toBe(2);
  });
});

/** The last migration before approval requests kept their check lines. */
const BEFORE_CHECK_LINES = '2026-11-23-011-requester-history';

/**
 * Brings a fresh database only up to `migration`, stores one approval request as the code of then did
 * (no check_lines), and leaves the rest of the migrations to Store.open.
 */
async function requestStoredBefore(database: TestDatabase, migration: string): Promise<void> {
  const db =
    database.engine === 'postgres'
      ? new Kysely<any>({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: database.url, max: 1 }) }) })
      : new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(database.url.slice('sqlite:'.length)) }) });
  try {
    const migrationTableSchema =
      database.engine === 'postgres' ? (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema : undefined;
    const { error } = await new Migrator({ db, provider: migrationProvider, ...(migrationTableSchema ? { migrationTableSchema } : {}) }).migrateTo(migration);
    if (error) throw error;
    const now = new Date().toISOString();
    await db
      .insertInto('evaluations')
      .values({
        evaluation_id: 'e-old',
        request_key: 'k-old',
        pim_request_id: 'p-old',
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
      })
      .execute();
    await db
      .insertInto('approval_requests')
      .values({
        id: 'req-old',
        pim_request_id: 'p-old',
        evaluation_id: 'e-old',
        kind: 'entraRole',
        principal_id: 'u1',
        role_definition_id: 'r1',
        scope: '/',
        justification: 'x',
        risk_flags: '[]',
        reasons: '[]',
        status: 'pending',
        version: 1,
        created_at: now,
        expires_at: now,
        updated_at: now,
      })
      .execute();
  } finally {
    await db.destroy();
  }
}

describe.each(['sqlite', 'postgres'] as const)('approval requests stored before check lines, on %s', (engine) => {
  let dir: string;
  let database: TestDatabase;
  let store: Store | undefined;
  const saved = process.env.TEST_DATABASE_URL;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-'));
    if (engine === 'postgres') process.env.TEST_DATABASE_URL = POSTGRES;
    else delete process.env.TEST_DATABASE_URL;
    database = await freshDatabase(dir);
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await database.drop();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("read as no lines ('[]') once the migration has run, and new ones keep theirs", async () => {
    expect(database.engine).toBe(engine);
    await requestStoredBefore(database, BEFORE_CHECK_LINES);
    store = await Store.open(database.url);
    expect((await store.requests.get('req-old'))!.check_lines).toBe('[]');
    const now = new Date().toISOString();
    const lines = JSON.stringify([
      { name: 'ticket', result: 'unavailable', onFail: 'deny', summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)' },
    ]);
    await store.evaluations.insert(
      {
        evaluation_id: 'e-new',
        request_key: 'k-new',
        pim_request_id: 'p-new',
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
      },
      {
        id: 'req-new',
        pim_request_id: 'p-new',
        evaluation_id: 'e-new',
        kind: 'entraRole',
        principal_id: 'u1',
        role_definition_id: 'r1',
        scope: '/',
        justification: 'x',
        ticket_system: null,
        ticket_number: null,
        duration: null,
        duration_minutes: null,
        start_at: null,
        risk_flags: '[]',
        reasons: '[]',
        check_lines: lines,
        status: 'pending',
        version: 1,
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
        decided_by_id: null,
        decided_by_upn: null,
        decided_by_name: null,
        decided_at: null,
        decision_justification: null,
        display: null,
        cards_posted_at: null,
        escalated_at: null,
        requester_reminded_at: null,
        approvers_reachable_at: null,
        created_at: now,
        expires_at: now,
        updated_at: now,
      },
    );
    expect((await store.requests.get('req-new'))!.check_lines).toBe(lines);
  });
});

describe('leases for singleton work', () => {
  it('go to one owner until they run out, are renewed by their owner, and pass on after', async () => {
    const store = await Store.open('sqlite::memory:');
    const t0 = new Date('2026-03-20T10:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    expect(await store.tryLease('reconciler', 'a', 60_000, at(0))).toBe(true);
    expect(await store.tryLease('reconciler', 'b', 60_000, at(10))).toBe(false);
    expect(await store.tryLease('reconciler', 'a', 60_000, at(30))).toBe(true); // renewed to t0+90 s
    expect(await store.tryLease('reconciler', 'b', 60_000, at(80))).toBe(false);
    expect(await store.tryLease('reconciler', 'b', 60_000, at(91))).toBe(true);
    expect(await store.tryLease('reconciler', 'a', 60_000, at(92))).toBe(false);
    expect(await store.tryLease('other', 'a', 60_000, at(92))).toBe(true);
    await store.close();
  });
});

describe('request status', () => {
  const now = '2026-03-20T10:00:00.000Z';
  async function storeWithRequest(): Promise<Store> {
    const store = await Store.open('sqlite::memory:');
    const where = { kind: 'entraRole', principal_id: 'u1', role_definition_id: 'r1', scope: '/', created_at: now };
    await store.evaluations.insert(
      {
        ...where,
        evaluation_id: 'e1',
        request_key: 'p1',
        pim_request_id: 'p1',
        outcome: 'Approved',
        would_be: 'Approved',
        mode: 'enforce',
        reasons: '[]',
        checks: '[]',
        latency_ms: 1,
      },
      {
        ...where,
        id: 'req-1',
        pim_request_id: 'p1',
        evaluation_id: 'e1',
        justification: 'x',
        ticket_system: null,
        ticket_number: null,
        duration: null,
        duration_minutes: null,
        start_at: null,
        risk_flags: '[]',
        reasons: '[]',
        status: 'pending',
        version: 1,
        claimed_by: null,
        claimed_at: null,
        claimed_result: null,
        decided_by_id: null,
        decided_by_upn: null,
        decided_by_name: null,
        decided_at: null,
        decision_justification: null,
        display: null,
        cards_posted_at: null,
        escalated_at: null,
        requester_reminded_at: null,
        expires_at: now,
        updated_at: now,
      },
    );
    return store;
  }

  it('moves only by an event the request lifecycle allows from the stored status', async () => {
    const store = await storeWithRequest();
    const row = (await store.requests.get('req-1'))!;
    // pending → recording is a claim; a release from pending is refused and writes nothing.
    expect(await store.requests.transition(row, { type: 'release' }, { claimed_by: 'x' })).toBeUndefined();
    expect(await store.requests.get('req-1')).toEqual(row);
    const claimed = (await store.requests.transition(row, { type: 'claim' }, { claimed_by: 'x' }))!;
    expect(claimed).toMatchObject({ status: 'recording', claimed_by: 'x', version: 2 });
    const decided = (await store.requests.transition(claimed, { type: 'recorded', result: 'denied' }, { claimed_by: null }))!;
    expect(decided).toMatchObject({ status: 'denied', claimed_by: null, version: 3 });
    // Final: every event is refused.
    expect(await store.requests.transition(decided, { type: 'cancelled' })).toBeUndefined();
    expect((await store.requests.get('req-1'))!.status).toBe('denied');
    await store.close();
  });

  it('is never written by a plain update', async () => {
    const store = await storeWithRequest();
    const patch = { status: 'approved', decided_by_name: 'x' } as unknown as RequestPatch;
    await expect(store.requests.update('req-1', 1, patch)).rejects.toThrow(/only through RequestStore.transition/);
    expect(await store.requests.update('req-1', 1, { decided_by_name: 'x' })).toMatchObject({ status: 'pending', decided_by_name: 'x', version: 2 });
    await store.close();
  });
});

describe('opening a store', () => {
  it('refuses a URL that is neither SQLite nor PostgreSQL, saying which forms work', async () => {
    await expect(Store.open('mysql://root@localhost/db')).rejects.toThrow(
      "DATABASE_URL must be sqlite:<path> or postgres://user@host:port/database; got a 'mysql:' URL",
    );
  });

  it('opens SQLite for sqlite: URLs', async () => {
    const store = await Store.open('sqlite::memory:');
    expect(engineOf(store.db)).toBe('sqlite');
    await store.close();
  });
});

describe('conversation references', () => {
  it("keep the user's own: one the bot built through Graph is saved only when there is none", async () => {
    const store = await Store.open('sqlite::memory:');
    const fromUser = { conversation: { id: 'a:1xyz' }, serviceUrl: 'https://smba.example/', user: { id: '29:1abc' } };
    const fromGraph = { conversation: { id: '19:bot_user@unq.gbl.spaces' }, serviceUrl: 'https://smba.example/', user: { id: '' } };
    expect(await store.conversations.saveIfAbsent('u1', fromGraph)).toEqual(fromGraph);
    expect(await store.conversations.get('u1')).toEqual(fromGraph);
    // The user's message replaces the built one; a later built one does not replace the user's.
    await store.conversations.save('u1', fromUser);
    expect(await store.conversations.saveIfAbsent('u1', fromGraph)).toEqual(fromUser);
    expect(await store.conversations.get('u1')).toEqual(fromUser);
    await store.close();
  });
});

describe('the database handle', () => {
  it('stays out of bot/ and cards/: services with SQL of their own are built by Store methods', () => {
    const root = join(__dirname, '..', '..');
    const sources = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
      );
    const leaks = ['bot', 'cards']
      .flatMap(sources)
      .filter((f) => /\.db\b(?!\w)|from 'kysely'|services\/store\/(database|schema|leases|migrations)'/.test(readFileSync(join(root, f), 'utf8')));
    expect(leaks).toEqual([]);
  });
});
