/**
 * PostgreSQL dropping every connection (what the bot sees when the database restarts or fails over):
 * the bot reconnects by itself and the next approval is recorded once. Always on PostgreSQL (every
 * machine has it on 127.0.0.1:5432), whichever store the rest of the run uses.
 */
import { Pool } from 'pg';
import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('the database restarting under a running bot', () => {
  let h: Harness;
  const saved = process.env.TEST_DATABASE_URL;

  beforeEach(async () => {
    process.env.TEST_DATABASE_URL = POSTGRES;
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
    if (saved === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = saved;
  });

  /** Ends every other session on the database, as a restart does. */
  async function dropConnections(): Promise<number> {
    const admin = new Pool({ connectionString: POSTGRES, max: 1 });
    try {
      const { rows } = await admin.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = $1',
        ['client backend'],
      );
      return rows.filter((r) => r.ended).length;
    } finally {
      await admin.end();
    }
  }

  it('reconnects and records the next approval once, with every copy updated', async () => {
    const { pimId, row } = await pendingRequest(h);
    expect(h.connector.posts.filter((p) => p.conversationId === CHANNEL_ID)).toHaveLength(1);

    expect(await dropConnections()).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 100));
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });
    expect(res.httpStatus).toBe(200);
    expect(res.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    await h.bot.delivery.drain();
    expect((await h.bot.store.getRequest(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    expect(h.connector.updates.some((u) => JSON.stringify(u.activity).includes('Adele Vance'))).toBe(true);
    const patches = ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as any[]).filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(1);
  });
});
