import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { freshDatabase, type TestDatabase } from '../../test/support/test-database';
import { dropAuditTriggers } from '../../test/support/audit-tamper';
import type { Database } from '../store/schema';
import { Store } from '../store/store';
import { APPEND_ATTEMPTS, appendAudit, AuditTrail, isRetryableAppendError, type AuditEntry } from './audit-trail';
import { cardDecisionEntry } from './entries';

/** The PostgreSQL server every machine (CI included) has; TEST_DATABASE_URL may name another. */
const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const nudge = (i: number): AuditEntry => ({ kind: 'nudge', actor: 'bot', requestId: `req-${i}`, outcome: 'sent', details: { index: i } });

/** What pg throws when the server's socket closes under a query (here: under COMMIT, or before it). */
const connectionLost = () => new Error('Connection terminated unexpectedly');

/**
 * How each transaction of `flaky` ends, in order (then as usual): `committed-answer-lost` runs and commits
 * it, then throws a lost connection, as when the COMMIT reached the server but its answer never came
 * back; `lost-before-commit` runs it and loses the connection before COMMIT (rolled back); an error is
 * thrown by the transaction after its work ran, rolling it back.
 */
type Fate = 'committed-answer-lost' | 'lost-before-commit' | Error;

/** The store's db, whose transactions end as scripted; counts the transactions begun. */
function flaky(db: Kysely<Database>, fates: Fate[]): { db: Kysely<Database>; transactions: () => number } {
  let transactions = 0;
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') {
        return () => ({
          execute: async <T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> => {
            transactions++;
            const fate = fates.shift();
            if (fate === 'committed-answer-lost') {
              await target.transaction().execute(work);
              throw connectionLost();
            }
            if (fate === undefined) return target.transaction().execute(work);
            return target.transaction().execute(async (trx) => {
              await work(trx);
              throw fate === 'lost-before-commit' ? connectionLost() : fate;
            });
          },
        });
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: wrapped, transactions: () => transactions };
}

describe.each(['sqlite', 'postgres'] as const)('the audit trail on %s', (engine) => {
  let dir: string;
  let database: TestDatabase;
  const stores: Store[] = [];
  const saved = process.env.TEST_DATABASE_URL;

  async function open(): Promise<Store> {
    const s = await Store.open(database.url, { poolSize: 4 });
    stores.push(s);
    return s;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-'));
    if (engine === 'postgres') process.env.TEST_DATABASE_URL = POSTGRES;
    else delete process.env.TEST_DATABASE_URL;
    database = await freshDatabase(dir);
    expect(database.engine).toBe(engine);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await database.drop();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A pending approval request to change (the evaluation it belongs to first). */
  async function approval(store: Store, id = '00000000-0000-4000-8000-000000000001'): Promise<void> {
    const at = '2026-11-23T09:00:00.000Z';
    await store.db
      .insertInto('evaluations')
      .values({
        evaluation_id: `ev-${id}`,
        request_key: `key-${id}`,
        pim_request_id: `pim-${id}`,
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
        created_at: at,
      })
      .execute();
    await store.db
      .insertInto('approval_requests')
      .values({
        id,
        pim_request_id: `pim-${id}`,
        evaluation_id: `ev-${id}`,
        kind: 'entraRole',
        principal_id: 'u1',
        role_definition_id: 'r1',
        scope: '/',
        justification: 'j',
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
        approvers_reachable_at: null,
        created_at: at,
        expires_at: at,
        updated_at: at,
      } as any)
      .execute();
  }

  it('appends in seq order and verifies, with the head as the anchor', async () => {
    const store = await open();
    for (let i = 1; i <= 5; i += 1) await store.audit.record(nudge(i));
    const head = await store.audit.head();
    expect(head.seq).toBe(5);
    const r = await store.audit.verify({ seq: 5, hash: head.hash });
    expect(r).toMatchObject({ ok: true, rows: 5, head, anchorSeq: 5 });
    const seqs = [];
    for await (const row of store.audit.rows()) seqs.push(row.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    const store = await open();
    await store.audit.record(nudge(1), nudge(2));
    // Matched on the message, not with toThrow: better-sqlite3's native addon keeps the SqliteError class of
    // the first test file that loaded it, so in a jest run of several files the error comes from another
    // realm and toThrow reports "did not throw" although the statement was refused.
    const refused = { message: expect.stringMatching(/append-only/) };
    await expect(sql`UPDATE audit_log SET outcome = 'changed' WHERE seq = 1`.execute(store.db)).rejects.toMatchObject(refused);
    await expect(sql`DELETE FROM audit_log WHERE seq = 2`.execute(store.db)).rejects.toMatchObject(refused);
    if (engine === 'postgres') await expect(sql`TRUNCATE audit_log`.execute(store.db)).rejects.toMatchObject(refused);
    expect((await store.audit.verify()).rows).toBe(2);
  });

  it('finds edits and deletions made after the triggers were dropped', async () => {
    const store = await open();
    for (let i = 1; i <= 6; i += 1) await store.audit.record(nudge(i));
    const anchor = await store.audit.head();
    await dropAuditTriggers(store.db);

    await sql`DELETE FROM audit_log WHERE seq = 6`.execute(store.db);
    expect((await store.audit.verify()).ok).toBe(true); // the end is gone without a trace in the chain...
    expect((await store.audit.verify(anchor)).problem).toMatchObject({ kind: 'truncated', seq: 6 }); // ...but not past the anchor

    await sql`DELETE FROM audit_log WHERE seq = 3`.execute(store.db);
    expect((await store.audit.verify()).problem).toMatchObject({ kind: 'deleted', seq: 3 });

    await sql`UPDATE audit_log SET details = '{"index":99}' WHERE seq = 2`.execute(store.db);
    expect((await store.audit.verify()).problem).toMatchObject({ kind: 'edited', seq: 2 });
  });

  it('commits a state change and its audit row together, and neither when the swap loses', async () => {
    const store = await open();
    await approval(store);
    const row = (await store.requests.get('00000000-0000-4000-8000-000000000001'))!;
    const entry = cardDecisionEntry(row, 'approver-1', 'Approve', 'Verified with the CFO', new Date('2026-11-23T09:05:00Z'));
    const claimed = await store.requests.transition(row, { type: 'claim' }, {}, [entry]);
    expect(claimed?.status).toBe('recording');
    const lost = await store.requests.transition(row, { type: 'claim' }, {}, [entry]);
    expect(lost).toBeUndefined();
    const rows = [];
    for await (const r of store.audit.rows()) rows.push(r);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'card.decision',
      actor: 'approver-1',
      outcome: 'Approve',
      request_id: row.id,
      pim_request_id: row.pim_request_id,
      evaluation_id: row.evaluation_id,
    });
    expect(JSON.parse(rows[0]!.details)).toEqual({ reviewResult: 'Approve', justification: 'Verified with the CFO', via: 'card' });
  });

  it('leaves the state unchanged when its audit row cannot be written', async () => {
    const store = await open();
    await approval(store);
    const row = (await store.requests.get('00000000-0000-4000-8000-000000000001'))!;
    const bad: AuditEntry = { kind: 'graph.result', actor: 'a', outcome: 'recorded', details: { accessToken: 'never stored' } };
    await expect(store.requests.transition(row, { type: 'decidedElsewhere', result: 'approved' }, {}, [bad])).rejects.toThrow(/credentials never/);
    expect((await store.requests.get(row.id))!.status).toBe('pending');
    expect((await store.audit.head()).seq).toBe(0);
  });

  it('stays one linear chain when appends race (in one store, and from two stores on one database)', async () => {
    const a = await open();
    const writers = engine === 'postgres' ? [a, await open()] : [a];
    // Each in a transaction of its own with no retry (as a state change's audit row is): none may fail.
    await Promise.all(
      writers.flatMap((s, w) => Array.from({ length: 20 }, (_, i) => s.db.transaction().execute((trx) => appendAudit(trx, [nudge(w * 100 + i)])))),
    );
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: true, rows: 20 * writers.length });
    const indexes = new Set<number>();
    for await (const row of a.audit.rows()) indexes.add((JSON.parse(row.details) as { index: number }).index);
    expect(indexes.size).toBe(20 * writers.length);
  });

  /** Every row's seq, details index and entry_key, in seq order. */
  async function stored(store: Store): Promise<Array<{ seq: number; index: number; entryKey: string | null }>> {
    const rows = await store.db.selectFrom('audit_log').select(['seq', 'details', 'entry_key']).orderBy('seq').execute();
    return rows.map((r) => ({ seq: Number(r.seq), index: (JSON.parse(r.details) as { index: number }).index, entryKey: r.entry_key ?? null }));
  }

  it('does not append a batch twice when its COMMIT reached the database but the answer was lost', async () => {
    const store = await open();
    await store.audit.record(nudge(1));
    const { db, transactions } = flaky(store.db, ['committed-answer-lost']);
    const head = await new AuditTrail(db).record(nudge(2), nudge(3));
    // Tried twice: the second attempt found the batch committed and returned its head.
    expect(transactions()).toBe(2);
    expect(head).toEqual(await store.audit.head());
    expect(head.seq).toBe(3);
    const rows = await stored(store);
    expect(rows.map((r) => [r.seq, r.index])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    // One batch id per call, an index per entry.
    const batch = rows[1]!.entryKey!.split(':')[0]!;
    expect(batch).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rows.map((r) => r.entryKey)).toEqual([expect.stringMatching(/^[0-9a-f-]{36}:0$/), `${batch}:0`, `${batch}:1`]);
    expect(rows[0]!.entryKey).not.toBe(`${batch}:0`);
    // The chain (which does not cover entry_key) still verifies, with the returned head as the anchor.
    expect(await store.audit.verify(head)).toMatchObject({ ok: true, rows: 3, head, anchorSeq: 3 });
    // The next append follows on.
    expect((await store.audit.record(nudge(4))).seq).toBe(4);
  });

  it('runs a batch whose connection was lost before COMMIT again, and appends it once', async () => {
    const store = await open();
    const { db, transactions } = flaky(store.db, ['lost-before-commit', 'lost-before-commit']);
    const head = await new AuditTrail(db).record(nudge(1), nudge(2));
    expect(transactions()).toBe(3);
    expect(head).toEqual(await store.audit.head());
    expect((await stored(store)).map((r) => [r.seq, r.index])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(await store.audit.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it(`gives up after ${APPEND_ATTEMPTS} attempts with the connection's error, having appended nothing`, async () => {
    const store = await open();
    const { db, transactions } = flaky(
      store.db,
      Array.from({ length: APPEND_ATTEMPTS }, () => 'lost-before-commit' as const),
    );
    await expect(new AuditTrail(db).record(nudge(1))).rejects.toThrow('Connection terminated unexpectedly');
    expect(transactions()).toBe(APPEND_ATTEMPTS);
    expect(await stored(store)).toEqual([]);
  });

  it('retries a racing append that took the seq first, and nothing that would only fail again', async () => {
    const store = await open();
    // Another process appended first: the seq's primary key refused this one.
    const race =
      engine === 'postgres'
        ? Object.assign(new Error('duplicate key value violates unique constraint "audit_log_pkey"'), {
            code: '23505',
            table: 'audit_log',
            constraint: 'audit_log_pkey',
          })
        : Object.assign(new Error('UNIQUE constraint failed: audit_log.seq'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    const raced = flaky(store.db, [race]);
    expect((await new AuditTrail(raced.db).record(nudge(1))).seq).toBe(1);
    expect(raced.transactions()).toBe(2);

    const failing = flaky(store.db, [new Error('disk I/O error')]);
    await expect(new AuditTrail(failing.db).record(nudge(2))).rejects.toThrow('disk I/O error');
    expect(failing.transactions()).toBe(1);
    // Details that may not be stored fail before anything is written, once.
    const refused = flaky(store.db, []);
    await expect(new AuditTrail(refused.db).record({ kind: 'nudge', actor: 'bot', outcome: 'sent', details: { apiKey: 'x' } })).rejects.toThrow(
      /credentials never/,
    );
    expect(refused.transactions()).toBe(1);
    expect((await stored(store)).map((r) => r.index)).toEqual([1]);
  });

  it('refuses a second row with the same entry key in the database itself', async () => {
    const store = await open();
    await store.db.transaction().execute((trx) => appendAudit(trx, [nudge(1)], { batch: 'b-1' }));
    await expect(
      store.db
        .insertInto('audit_log')
        .values({
          seq: 2,
          at: '2026-12-07T10:00:00.000Z',
          kind: 'nudge',
          actor: 'bot',
          pim_request_id: null,
          request_id: null,
          evaluation_id: null,
          outcome: 'sent',
          details: '{}',
          prev_hash: 'x',
          hash: 'y',
          entry_key: 'b-1:0',
        })
        .execute(),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/unique|duplicate/i),
    });
    // Appending the same batch again (a retry) returns its head and adds nothing.
    const again = await store.db.transaction().execute((trx) => appendAudit(trx, [nudge(1)], { batch: 'b-1' }));
    expect(again).toEqual(await store.audit.head());
    expect((await stored(store)).map((r) => [r.seq, r.entryKey])).toEqual([[1, 'b-1:0']]);
  });
});

describe('which append errors are retried', () => {
  test.each([
    ['a pooled connection the server ended', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true],
    ['a socket closed under COMMIT', new Error('Connection terminated unexpectedly'), true],
    ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['a serialization failure', Object.assign(new Error('could not serialize access'), { code: '40001' }), true],
    ['a deadlock', Object.assign(new Error('deadlock detected'), { code: '40P01' }), true],
    ['the seq taken by a racing append (PostgreSQL)', Object.assign(new Error('duplicate key'), { code: '23505', table: 'audit_log' }), true],
    ['a unique violation on another table', Object.assign(new Error('duplicate key'), { code: '23505', table: 'evaluations' }), false],
    [
      'the seq taken by a racing append (SQLite)',
      Object.assign(new Error('UNIQUE constraint failed: audit_log.seq'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }),
      true,
    ],
    ['SQLite busy', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), true],
    ['a stale SQLite snapshot', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY_SNAPSHOT' }), true],
    ['a check constraint', Object.assign(new Error('CHECK constraint failed'), { code: 'SQLITE_CONSTRAINT_CHECK' }), false],
    ['the append-only trigger', Object.assign(new Error('audit_log is append-only'), { code: '42501' }), false],
    ['our own pool shutting down', new Error('Cannot use a pool after calling end on the pool'), false],
    ['credentials in details', new Error("audit details may not hold 'token'"), false],
    ['not an error', 'boom', false],
  ])('%s', (_what, err, retried) => {
    expect(isRetryableAppendError(err)).toBe(retried);
  });
});
