import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { freshDatabase, type TestDatabase } from '../../test/support/test-database';
import { dropAuditTriggers } from '../../test/support/audit-tamper';
import { Store } from '../store/store';
import { appendAudit, type AuditEntry } from './audit-trail';
import { cardDecisionEntry } from './entries';

/** The PostgreSQL server every machine (CI included) has; TEST_DATABASE_URL may name another. */
const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const nudge = (i: number): AuditEntry => ({ kind: 'nudge', actor: 'bot', requestId: `req-${i}`, outcome: 'sent', details: { index: i } });

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
    await store.db.insertInto('evaluations').values({ evaluation_id: `ev-${id}`, request_key: `key-${id}`, pim_request_id: `pim-${id}`, kind: 'entraRole', principal_id: 'u1', role_definition_id: 'r1', scope: '/', outcome: 'Approved', would_be: 'Approved', mode: 'enforce', reasons: '[]', checks: '[]', latency_ms: 1, created_at: at }).execute();
    await store.db
      .insertInto('approval_requests')
      .values({ id, pim_request_id: `pim-${id}`, evaluation_id: `ev-${id}`, kind: 'entraRole', principal_id: 'u1', role_definition_id: 'r1', scope: '/', justification: 'j', ticket_system: null, ticket_number: null, duration: null, duration_minutes: null, start_at: null, risk_flags: '[]', reasons: '[]', status: 'pending', version: 1, claimed_by: null, claimed_at: null, claimed_result: null, decided_by_id: null, decided_by_upn: null, decided_by_name: null, decided_at: null, decision_justification: null, display: null, cards_posted_at: null, escalated_at: null, requester_reminded_at: null, approvers_reachable_at: null, created_at: at, expires_at: at, updated_at: at } as any)
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
    const row = (await store.getRequest('00000000-0000-4000-8000-000000000001'))!;
    const entry = cardDecisionEntry(row, 'approver-1', 'Approve', 'Verified with the CFO', new Date('2026-11-23T09:05:00Z'));
    const claimed = await store.updateRequestIfVersion(row.id, row.version, { status: 'recording' }, [entry]);
    expect(claimed?.status).toBe('recording');
    const lost = await store.updateRequestIfVersion(row.id, row.version, { status: 'recording' }, [entry]);
    expect(lost).toBeUndefined();
    const rows = [];
    for await (const r of store.audit.rows()) rows.push(r);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'card.decision', actor: 'approver-1', outcome: 'Approve', request_id: row.id, pim_request_id: row.pim_request_id, evaluation_id: row.evaluation_id });
    expect(JSON.parse(rows[0]!.details)).toEqual({ reviewResult: 'Approve', justification: 'Verified with the CFO' });
  });

  it('leaves the state unchanged when its audit row cannot be written', async () => {
    const store = await open();
    await approval(store);
    const row = (await store.getRequest('00000000-0000-4000-8000-000000000001'))!;
    const bad: AuditEntry = { kind: 'graph.result', actor: 'a', outcome: 'recorded', details: { accessToken: 'never stored' } };
    await expect(store.updateRequestIfVersion(row.id, row.version, { status: 'approved' }, [bad])).rejects.toThrow(/credentials never/);
    expect((await store.getRequest(row.id))!.status).toBe('pending');
    expect((await store.audit.head()).seq).toBe(0);
  });

  it('stays one linear chain when appends race (in one store, and from two stores on one database)', async () => {
    const a = await open();
    const writers = engine === 'postgres' ? [a, await open()] : [a];
    // Each in a transaction of its own with no retry (as a state change's audit row is): none may fail.
    await Promise.all(writers.flatMap((s, w) => Array.from({ length: 20 }, (_, i) => s.db.transaction().execute((trx) => appendAudit(trx, [nudge(w * 100 + i)])))));
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: true, rows: 20 * writers.length });
    const indexes = new Set<number>();
    for await (const row of a.audit.rows()) indexes.add((JSON.parse(row.details) as { index: number }).index);
    expect(indexes.size).toBe(20 * writers.length);
  });
});
