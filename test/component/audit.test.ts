/**
 * The audit trail end to end: PIM's callout, a nudge and an approval from the card go through the real
 * bot and simulator; `npm run audit` (its code, on the bot's DATABASE_URL) then verifies the chain and
 * exports rows whose evaluationId is the one PIM logged; tampering with the table (triggers dropped
 * first, as an attacker with DDL rights would) makes verify fail at the right seq.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { runAuditCli } from '../../scripts/audit/cli';
import { USER } from '../../sim/seed';
import { dropAuditTriggers } from '../support/audit-tamper';
import { cardAction, type Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

async function audit(h: Harness, dir: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { DATABASE_URL: h.env.DATABASE_URL }, cwd: dir });
  return { code, out, err };
}

const day = (d: Date) => d.toISOString().slice(0, 10);

describe('the audit trail', () => {
  let h: Harness;
  let dir: string;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    h = await startHarness({}, { now });
    // The digests' first tick runs at start: drain it so the ladder's run below is the only job.
    while ((await h.bot.scheduler.runDue()) > 0);
  });
  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function advance(minutes: number) {
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  /** An evaluation, a nudge after 16 minutes, then Adele approves from the card. */
  async function story(): Promise<{ pimId: string; evaluationId: string; requestId: string }> {
    const { pimId, row } = await pendingRequest(h);
    const logged = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    const evaluationId = logged.body.evaluation.evaluationId as string;
    expect(evaluationId).toBe(row.evaluation_id);
    await h.bot.reminders.startPending();
    await advance(16);
    expect(await h.bot.scheduler.runDue()).toBe(1);
    await h.bot.delivery.drain();
    const current = (await h.bot.store.requests.get(row.id))!;
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: current.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(res.body.statusCode).toBe(200);
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Granted');
    return { pimId, evaluationId, requestId: row.id };
  }

  it('records the evaluation, the nudge, the decision and its Graph result; verify passes and the export has what PIM logged', async () => {
    const { pimId, evaluationId, requestId } = await story();

    const verified = await audit(h, dir, 'verify');
    expect(verified.err).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/^4 rows, chain intact, head 4:[0-9a-f]{64}\n$/);

    const file = 'november.json';
    const exported = await audit(h, dir, 'export', '--from', day(new Date(Date.now() - 86_400_000)), '--to', day(now()), '--format', 'json', '--out', file);
    expect(exported.code).toBe(0);
    const rows = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<Record<string, any>>;
    expect(rows.map((r) => r.kind)).toEqual(['evaluation', 'nudge', 'card.decision', 'graph.result']);
    const [evaluation, nudge, decision, result] = rows;
    expect(evaluation).toMatchObject({ evaluationId, pimRequestId: pimId, requestId, outcome: 'Approved', actor: USER.isaiah });
    expect(evaluation!.details).toMatchObject({ mode: 'enforce', wouldBe: 'Approved', requester: USER.isaiah });
    expect(Array.isArray(evaluation!.details.checks)).toBe(true);
    expect(nudge).toMatchObject({ requestId, pimRequestId: pimId, evaluationId, actor: 'bot', outcome: 'sent', details: { trigger: 'ladder', index: 1 } });
    expect(decision).toMatchObject({ actor: USER.adele, outcome: 'Approve', details: { justification: 'Verified with the CFO by phone' }, evaluationId });
    expect(result).toMatchObject({ actor: USER.adele, outcome: 'recorded', details: { httpStatus: 204, alreadyDecided: false, finalStatus: 'approved' } });
    // Nothing secret: no token, no raw payload.
    expect(JSON.stringify(rows)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);

    const csv = await audit(h, dir, 'export', '--from', day(new Date(Date.now() - 86_400_000)), '--to', day(now()), '--format', 'csv');
    expect(csv.code).toBe(0);
    expect(csv.out.split('\r\n')[0]).toBe('seq,at,kind,actor,pim_request_id,request_id,evaluation_id,outcome,details,prev_hash,hash');
    expect(csv.out).toContain(`,evaluation,${USER.isaiah},${pimId},${requestId},${evaluationId},Approved,`);
  });

  it('a decision taken in the portal first: the click is audited, and its Graph result says PIM had it decided already', async () => {
    const { pimId, row } = await pendingRequest(h);
    const portal = await simJson(h.sim, 'POST', '/_sim/decide', {
      requestId: pimId,
      approver: USER.megan,
      reviewResult: 'Deny',
      justification: 'Denied in the portal',
    });
    expect(portal.status).toBeLessThan(300);
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(res.body.statusCode).toBe(200);
    const kinds: Array<[string, string, Record<string, unknown>]> = [];
    for await (const r of h.bot.store.audit.rows()) kinds.push([r.kind, r.outcome, JSON.parse(r.details) as Record<string, unknown>]);
    expect(kinds.map(([k, o]) => `${k}:${o}`)).toEqual(['evaluation:Approved', 'card.decision:Approve', 'graph.result:already_decided']);
    expect(kinds[2]![2]).toMatchObject({ alreadyDecided: true, decidedBy: USER.megan, finalStatus: 'denied' });
    // A second click on the closed request claims nothing: no new rows.
    await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    const verified = await audit(h, dir, 'verify');
    expect(verified.out).toMatch(/^3 rows, chain intact/);
  });

  it('records a request closed outside Teams: a portal decision the reconciler finds, in the same transaction as the close', async () => {
    const { pimId, row } = await pendingRequest(h);
    await simJson(h.sim, 'POST', '/_sim/decide', { requestId: pimId, approver: USER.megan, reviewResult: 'Approve', justification: 'Approved in the portal' });
    expect(await h.bot.reconciler.reconcileOnce()).toMatchObject({ approved: 1 });
    const rows: Array<Record<string, unknown>> = [];
    for await (const r of h.bot.store.audit.rows())
      rows.push({ kind: r.kind, outcome: r.outcome, requestId: r.request_id, pimRequestId: r.pim_request_id, details: JSON.parse(r.details) });
    expect(rows.map((r) => `${r.kind}:${r.outcome}`)).toEqual(['evaluation:Approved', 'request.closed:approved']);
    expect(rows[1]).toMatchObject({ requestId: row.id, pimRequestId: pimId, details: { source: 'reconciler', pimStatus: 'Provisioned' } });
    // The reconciler's next pass finds nothing to close: no second row.
    await h.bot.reconciler.reconcileOnce();
    expect((await audit(h, dir, 'verify')).out).toMatch(/^2 rows, chain intact/);
  });

  it('fails verify at the edited row, at the deleted row, and past an anchor when the last rows are deleted', async () => {
    await story();
    const anchor = (await audit(h, dir, 'head')).out.trim();
    expect(anchor).toMatch(/^4:[0-9a-f]{64}$/);
    await dropAuditTriggers(h.bot.store.db);

    // Deleting the last row leaves a valid, shorter chain: only the anchor shows it.
    await sql`DELETE FROM audit_log WHERE seq = 4`.execute(h.bot.store.db);
    expect((await audit(h, dir, 'verify')).code).toBe(0);
    const truncated = await audit(h, dir, 'verify', '--expect-head', anchor);
    expect(truncated.code).toBe(1);
    expect(truncated.err).toContain('first bad seq 4 (truncated)');

    // The approver's justification changed after the fact.
    await sql`UPDATE audit_log SET details = ${JSON.stringify({ justification: 'Something nicer', reviewResult: 'Approve' })} WHERE seq = 3`.execute(
      h.bot.store.db,
    );
    const edited = await audit(h, dir, 'verify');
    expect(edited.code).toBe(1);
    expect(edited.err).toContain('first bad seq 3 (edited)');

    // A row in the middle removed: the gap comes first in the chain, so it is what verify names.
    await sql`DELETE FROM audit_log WHERE seq = 2`.execute(h.bot.store.db);
    const deleted = await audit(h, dir, 'verify');
    expect(deleted.code).toBe(1);
    expect(deleted.err).toContain('first bad seq 2 (deleted): seq 2 is missing');
  });
});
