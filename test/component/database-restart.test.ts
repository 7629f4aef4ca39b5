/**
 * PostgreSQL ending the bot's connections (what the bot sees when the database restarts or fails over):
 * while they are idle, and while a click's transaction is running on one (its claim, or the decision PIM
 * already holds). The bot reconnects by itself, runs the transaction again, and the approval is recorded
 * once: one PATCH, one decision in PIM credited to the approver, one card in its final state, one notice,
 * one audit row of each kind. Always on PostgreSQL (every machine has it on 127.0.0.1:5432), whichever
 * store the rest of the run uses: SQLite has no connection to lose.
 *
 * Only this test's sessions are terminated: its bot connects with an application_name of its own.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, type Harness, pendingRequest, sayHello, simJson, startHarness, teamsUser } from '../support/harness';
import { approvalPatches, isFinal, pimOutcome, shownCards, shownIn, until } from '../support/outcomes';
import { recordOutgoing, type OutgoingRequests } from '../support/outgoing-requests';

const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DECISION = 'Verified with the CFO by phone';
const ISAIAH_CHAT = 'a:isaiah-db-restart';
/** The PATCH of a PIM approval step, as the bot's Graph client sends it (path and query). */
const STEP_PATCH = /\/roleAssignmentApprovals\/[^/]+\/steps\/[^/?]+(\?|$)/;

/** The database server's URL with an application_name, so this test ends its own sessions and nobody else's. */
function serverUrlNamed(applicationName: string): string {
  const url = new URL(POSTGRES);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

/** Ends every session of this application_name, as a restart does (they are idle here). */
async function dropConnections(applicationName: string): Promise<number> {
  const admin = new Pool({ connectionString: POSTGRES, max: 1 });
  try {
    const { rows } = await admin.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1',
      [applicationName],
    );
    return rows.filter((r) => r.ended).length;
  } finally {
    await admin.end();
  }
}

/**
 * A lock on one request's row, held by a session of the test: the bot's next write to the row waits on it,
 * inside its transaction, until the test terminates that session (a backend ended mid-transaction) and lets go.
 */
async function lockRequestRow(databaseUrl: string, requestId: string) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  const locked = await client.query('SELECT id FROM approval_requests WHERE id = $1 FOR UPDATE', [requestId]);
  if (locked.rowCount !== 1) throw new Error(`no request row ${requestId} to lock`);
  const holder = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  /** The bot's sessions blocked by the lock in an update of approval_requests (a transaction mid-way, not in COMMIT). */
  const blocked = `FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND state = 'active' AND query ILIKE 'update "approval_requests"%'`;
  const admin = new Pool({ connectionString: POSTGRES, max: 1 });
  return {
    async waiting(): Promise<number> {
      return Number((await admin.query<{ n: string }>(`SELECT count(*) AS n ${blocked}`, [holder])).rows[0]!.n);
    },
    async terminateWaiting(): Promise<number> {
      const { rows } = await admin.query<{ ended: boolean }>(`SELECT pg_terminate_backend(pid) AS ended ${blocked}`, [holder]);
      return rows.filter((r) => r.ended).length;
    },
    async release(): Promise<void> {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
      await admin.end();
    },
  };
}

describe('the database restarting under a running bot', () => {
  let h: Harness;
  let sent: OutgoingRequests;
  let app: string;
  const saved = process.env.TEST_DATABASE_URL;

  beforeEach(async () => {
    app = `db-restart-${randomBytes(4).toString('hex')}`;
    process.env.TEST_DATABASE_URL = serverUrlNamed(app);
    h = await startHarness();
    await sayHello(h, USER.isaiah, ISAIAH_CHAT);
    // What the bot (in this process) sends, counted on its side: a call the simulator never saw counts too.
    sent = recordOutgoing();
  });
  afterEach(async () => {
    sent.stop();
    await h.close();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  });

  const approve = (row: { id: string; version: number }) =>
    cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: DECISION });

  /** The click's outcome, counted where PIM, Teams and the audit trail keep it: all exactly once. */
  async function expectRecordedOnce(pimId: string, requestId: string): Promise<void> {
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect(await pimOutcome(h, pimId)).toEqual({
      status: 'Granted',
      decisions: [{ reviewResult: 'Approve', reviewedBy: USER.adele, justification: DECISION }],
    });
    expect((await approvalPatches(h)).map((p) => [p.status, p.abandoned ?? false, p.oid])).toEqual([[204, false, USER.adele]]);
    expect(sent.count('PATCH', STEP_PATCH)).toBe(1);
    expect((await h.bot.store.requests.get(requestId))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele, claimed_by: null });
    const cards = shownCards(h);
    expect(cards).toHaveLength(1);
    expect(isFinal(cards[0]!)).toBe(true);
    expect(cards[0]!.text).toContain('Adele Vance');
    expect(h.connector.updates.filter((u) => u.conversationId === CHANNEL_ID && JSON.stringify(u.activity).includes('Adele Vance'))).toHaveLength(1);
    expect(shownIn(h, ISAIAH_CHAT, /was approved by Adele Vance/)).toHaveLength(1);
    // The audit trail: the click and PIM's answer once each, in one intact chain.
    const kinds: string[] = [];
    for await (const r of h.bot.store.audit.rows()) kinds.push(`${r.kind}:${r.outcome}`);
    expect(kinds).toEqual(['evaluation:Approved', 'card.decision:Approve', 'graph.result:recorded']);
    expect(await h.bot.store.audit.verify()).toMatchObject({ ok: true });
  }

  it('reconnects after its idle connections were ended and records the next approval once, with every copy updated', async () => {
    const { pimId, row } = await pendingRequest(h);
    expect(shownCards(h)).toHaveLength(1);

    // However many the pool holds (at least one: the bot has just used the database), every one ends.
    expect(await dropConnections(app)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    const res = await approve(row);
    expect(res.httpStatus).toBe(200);
    expect(res.body.statusCode).toBe(200);
    await expectRecordedOnce(pimId, row.id);
  });

  it('runs the claim again when its transaction’s backend is terminated mid-way, and records the click once', async () => {
    const { pimId, row } = await pendingRequest(h);
    const lock = await lockRequestRow(h.env.DATABASE_URL!, row.id);
    let click: ReturnType<typeof approve> | undefined;
    try {
      click = approve(row);
      // The claim's transaction is running: its UPDATE waits on the test's lock.
      await until('the claim waits on the lock', async () => (await lock.waiting()) === 1);
      expect(await lock.terminateWaiting()).toBe(1);
      expect(await approvalPatches(h)).toHaveLength(0);
    } finally {
      await lock.release();
    }
    const res = await click!;
    expect(res.body.statusCode).toBe(200);
    expect(h.bot.store.connections!.retries).toBe(1);
    await expectRecordedOnce(pimId, row.id);
  });

  it('runs the decision’s transaction again when its backend is terminated after PIM applied the PATCH, without a second PATCH', async () => {
    const { pimId, row } = await pendingRequest(h);
    // PIM's answer to the PATCH comes late, so the test can take its lock between the claim and the decision.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', answerAfterMs: 2000, times: 1 });
    const click = approve(row);
    await until('the PATCH reached PIM', async () => (await approvalPatches(h)).length === 1);
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('recording');
    const lock = await lockRequestRow(h.env.DATABASE_URL!, row.id);
    try {
      // PIM answers; the bot's transaction recording the decision waits on the lock.
      await until('the decision waits on the lock', async () => (await lock.waiting()) === 1);
      expect((await pimOutcome(h, pimId)).status).toBe('Granted');
      expect(await lock.terminateWaiting()).toBe(1);
    } finally {
      await lock.release();
    }
    const res = await click;
    expect(res.body.statusCode).toBe(200);
    expect(h.bot.store.connections!.retries).toBe(1);
    await until('the decision is recorded', async () => (await h.bot.store.requests.get(row.id))!.status === 'approved');
    await expectRecordedOnce(pimId, row.id);
  });
});
