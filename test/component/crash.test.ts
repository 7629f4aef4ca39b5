/**
 * kill -9 of a replica at each step where work is half done; the surviving replica (same database)
 * finishes it: nothing is lost and PIM never gets a decision twice. The victim is a real child process
 * (test/support/replica-main.ts); the survivor runs in the test with a clock it can move past leases.
 */
import { USER } from '../../sim/seed';
import { cardAction, CHANNEL_ID, Harness, pendingRequest, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';
import { startReplica, type ReplicaProcess } from '../support/replica-process';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const APPROVALS = /roleAssignmentApprovals/;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a replica killed mid-way', () => {
  let h: Harness;
  let victim: ReplicaProcess | undefined;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now });
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await victim?.kill();
    victim = undefined;
    await h.close();
  });

  async function requestWithCard() {
    const { pimId, row } = await pendingRequest(h, { justification: GOOD, durationMinutes: 60 });
    return { pimId, row, card: h.connector.posts.find((p) => p.conversationId === CHANNEL_ID)! };
  }

  const patches = async () => ((await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>).filter((c) => c.method === 'PATCH' && APPROVALS.test(c.path)).length;
  const approveOn = (url: string, row: { id: string; version: number }) =>
    cardAction(url, teamsUser(USER.adele), 'pim.approve', { requestId: row.id, version: row.version, decisionJustification: 'Verified with the CFO by phone' });

  it('while PIM’s answer to the approval is on its way: the survivor closes the card from PIM’s state and never sends the decision again', async () => {
    const { pimId, row, card } = await requestWithCard();
    victim = await startReplica(h.env);
    // PIM records the decision, but its 204 is held back long enough for the replica to die waiting.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', answerAfterMs: 60_000, times: 1 });
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    void approveOn(victim.url, row).catch(() => undefined);
    await until('PIM has recorded the approval', async () => (await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status === 'Granted');
    await victim.kill();
    expect((await h.bot.store.getRequest(row.id))!).toMatchObject({ status: 'recording', claimed_by: USER.adele });

    // Past the longest a decision can take: the survivor asks PIM, which says it was granted.
    offsetMs += 3 * 60_000;
    await h.bot.delivery.sweep();
    await h.bot.delivery.drain();
    expect((await h.bot.store.getRequest(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele, decision_justification: 'Verified with the CFO by phone', claimed_by: null });
    const updates = h.connector.updates.filter((u) => u.activityId === card.activityId);
    expect(JSON.stringify(updates.at(-1)!.activity)).toContain('Adele Vance');
    expect(JSON.stringify(updates.at(-1)!.activity)).not.toContain('pim.approve');
    // The victim's PATCH was never answered (the simulator logs a call when it answers); the survivor sent none.
    expect(await patches()).toBe(0);
  });

  it('after recording the decision, in the middle of the card update: the survivor sends the update once the lease runs out', async () => {
    const { pimId, row, card } = await requestWithCard();
    victim = await startReplica(h.env);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    h.connector.hangNext('PUT', 1);
    const answer = await approveOn(victim.url, row);
    expect(answer.body.statusCode).toBe(200);
    await until('the victim is sending the card update', () => h.connector.hung === 1);
    await victim.kill();
    // The decision was recorded before anything else: PIM's answer is in the store.
    expect((await h.bot.store.getRequest(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.adele });
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    expect(h.connector.updates.filter((u) => u.activityId === card.activityId)).toHaveLength(0);

    offsetMs += 61_000; // the victim's lease on the outbox row has run out
    await h.bot.delivery.drain();
    const updates = h.connector.updates.filter((u) => u.activityId === card.activityId);
    expect(updates).toHaveLength(1);
    expect(JSON.stringify(updates[0]!.activity)).toContain('Adele Vance');
    expect(await h.bot.store.requestsWithStaleCards()).toHaveLength(0);
    expect(await patches()).toBe(1);
  });

  it('in the middle of sending a digest: the survivor sends it once the job’s lease runs out, and only once', async () => {
    // Whatever digests the start-up tick found due at this time of day are not this test's.
    await h.bot.scheduler.cancelPrefix('digest:user:');
    await personalMessage(h, USER.alex, 'hi');
    // Tomorrow 09:30 in Los Angeles on the survivor's clock: its tick schedules Alex's digest for tomorrow.
    const today = new Date();
    offsetMs = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 17, 30) - Date.now();
    await h.bot.digests.tick(now());
    const job = (await h.bot.store.db.selectFrom('jobs').selectAll().where('id', 'like', `digest:user:${USER.alex}:%`).where('status', '=', 'pending').executeTakeFirst())!;
    expect(job).toBeDefined();
    h.connector.hangNext('POST', 1);
    // The victim runs due jobs on its own (real clock, every 200 ms): make the digest due for it now.
    victim = await startReplica(h.env, { REPLICA_JOBS_MS: '200' });
    await h.bot.store.db.updateTable('jobs').set({ due_at: new Date().toISOString() }).where('id', '=', job.id).execute();
    await until('the victim is sending the digest', () => h.connector.hung === 1);
    await victim.kill();
    expect((await h.bot.scheduler.get(job.id))!).toMatchObject({ status: 'running' });
    expect(h.connector.posts.filter((p) => p.conversationId === 'a:user-id-0-personal' && JSON.stringify(p.activity).includes('digest.extend'))).toHaveLength(0);

    offsetMs = 2 * 60_000; // after the victim's lease (one minute) has run out
    expect(await h.bot.scheduler.runDue()).toBe(1);
    const digests = h.connector.posts.filter((p) => p.conversationId === 'a:user-id-0-personal' && JSON.stringify(p.activity).includes('digest.extend'));
    expect(digests).toHaveLength(1);
    expect((await h.bot.scheduler.get(job.id))!).toMatchObject({ status: 'done', attempts: 2 });
    expect(await h.bot.scheduler.runDue()).toBe(0);
  });
});
