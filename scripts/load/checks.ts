/**
 * After the load: the database, the simulator and the connector must agree. Every request behind a card
 * has exactly one card in the database and one post at the connector, every approval reached PIM once,
 * nothing in the outbox or the job table failed, and Teams' per-channel limits held across replicas.
 */
import type { Pool } from 'pg';
import type { SimHandle } from '../../sim/server';
import type { FakeConnector } from '../../test/support/fake-connector';
import type { Filed } from './operations';
import { approveDataOf } from './operations';
import { latencies, type Latencies } from './stats';

export interface Check {
  name: string;
  expected: string;
  found: string;
  ok: boolean;
  /** A few offending ids or rows. */
  detail?: string;
}

export interface DbFigures {
  requestsByStatus: Record<string, number>;
  outboxByStatus: Record<string, number>;
  outboxByKind: Record<string, number>;
  jobsByStatus: Record<string, number>;
  jobsByKind: Record<string, number>;
  evaluations: number;
  /** The endpoint's own measure of each decision (evaluations.latency_ms). */
  decisionMs: Latencies;
  /** From a request row's creation to its cards being posted (cards_posted_at), as the bot recorded them. */
  cardLagMs: Latencies;
}

/** Rows owed to Teams that are not yet sent: what the drain waits for. */
export async function owed(pool: Pool): Promise<{ outbox: number; unposted: number; recording: number }> {
  const q = await pool.query<{ outbox: string; unposted: string; recording: string }>(`
    SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'held')) AS outbox,
           (SELECT count(*) FROM approval_requests WHERE cards_posted_at IS NULL) AS unposted,
           (SELECT count(*) FROM approval_requests WHERE status = 'recording') AS recording`);
  const r = q.rows[0]!;
  return { outbox: Number(r.outbox), unposted: Number(r.unposted), recording: Number(r.recording) };
}

async function countBy(pool: Pool, table: string, column: string): Promise<Record<string, number>> {
  const q = await pool.query<{ k: string; n: string }>(`SELECT ${column} AS k, count(*) AS n FROM ${table} GROUP BY ${column} ORDER BY ${column}`);
  return Object.fromEntries(q.rows.map((r) => [r.k, Number(r.n)]));
}

export async function dbFigures(pool: Pool): Promise<DbFigures> {
  // Escalations store an evaluation too (mode 'external', latency 0): the endpoint's own are the others.
  const decision = await pool.query<{ latency_ms: number }>("SELECT latency_ms FROM evaluations WHERE mode <> 'external'");
  const stored = await pool.query<{ n: string }>('SELECT count(*) AS n FROM evaluations');
  const lag = await pool.query<{ created_at: string; cards_posted_at: string }>(
    'SELECT created_at, cards_posted_at FROM approval_requests WHERE cards_posted_at IS NOT NULL',
  );
  return {
    requestsByStatus: await countBy(pool, 'approval_requests', 'status'),
    outboxByStatus: await countBy(pool, 'outbox', 'status'),
    outboxByKind: await countBy(pool, 'outbox', 'kind'),
    jobsByStatus: await countBy(pool, 'jobs', 'status'),
    jobsByKind: await countBy(pool, 'jobs', 'kind'),
    evaluations: Number(stored.rows[0]!.n),
    decisionMs: latencies(decision.rows.map((r) => Number(r.latency_ms))),
    cardLagMs: latencies(lag.rows.map((r) => Date.parse(r.cards_posted_at) - Date.parse(r.created_at))),
  };
}

const few = (xs: string[]) => (xs.length ? `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ` … (${xs.length})` : ''}` : undefined);

export async function runChecks(o: {
  pool: Pool;
  sim: SimHandle;
  connector: FakeConnector;
  channels: Record<string, string[]>;
  filed: Filed[];
  /** Row ids whose approve click answered with an Approved card. */
  approvedByClick: Set<string>;
}): Promise<Check[]> {
  const { pool, sim, connector } = o;
  const checks: Check[] = [];
  const rows = (
    await pool.query<{ id: string; pim_request_id: string; status: string; decided_by_id: string | null; card_posts: string }>(`
      SELECT r.id, r.pim_request_id, r.status, r.decided_by_id, (SELECT count(*) FROM card_posts c WHERE c.request_id = r.id) AS card_posts
      FROM approval_requests r`)
  ).rows;
  const byPim = new Map(rows.map((r) => [r.pim_request_id, r]));

  // What the run filed: every request that should have a card has one row, and no other has a row.
  const shouldHaveCard = o.filed.filter((f) => f.outcome === 'Approved' || f.outcome === 'Escalated');
  const noCard = o.filed.filter((f) => f.outcome === 'AutoApproved' || f.outcome === 'Denied');
  const missing = shouldHaveCard.filter((f) => !byPim.has(f.pimRequestId)).map((f) => f.pimRequestId);
  const stray = noCard.filter((f) => byPim.has(f.pimRequestId)).map((f) => f.pimRequestId);
  checks.push({
    name: 'a request row for every Approved evaluation and escalation',
    expected: String(shouldHaveCard.length),
    found: String(shouldHaveCard.length - missing.length),
    ok: missing.length === 0,
    detail: few(missing),
  });
  checks.push({ name: 'no request row for AutoApproved or Denied', expected: '0', found: String(stray.length), ok: stray.length === 0, detail: few(stray) });
  const filedIds = new Set(o.filed.map((f) => f.pimRequestId));
  const unknownRows = rows.filter((r) => !filedIds.has(r.pim_request_id)).map((r) => r.id);
  checks.push({
    name: 'no request row the run did not file',
    expected: '0',
    found: String(unknownRows.length),
    ok: unknownRows.length === 0,
    detail: few(unknownRows),
  });

  // One stored evaluation per PIM request the endpoint answered, one per escalation, none twice.
  const evals = (await pool.query<{ pim_request_id: string | null; mode: string }>('SELECT pim_request_id, mode FROM evaluations')).rows;
  const ours = evals.filter((e) => e.mode !== 'external');
  const external = evals.filter((e) => e.mode === 'external');
  const answered = o.filed.filter((f) => f.via === 'evaluation').length;
  const escalated = o.filed.filter((f) => f.via === 'escalation').length;
  const distinct = new Set(evals.map((e) => e.pim_request_id)).size;
  checks.push({
    name: 'one stored evaluation per answered activation / per escalation',
    expected: `${answered} / ${escalated}`,
    found: `${ours.length} / ${external.length}${distinct !== evals.length ? `, ${evals.length - distinct} duplicates` : ''}`,
    ok: ours.length === answered && external.length === escalated && distinct === evals.length,
  });

  // One card per request, in the database and at the connector.
  const notOne = rows.filter((r) => Number(r.card_posts) !== 1).map((r) => `${r.id}×${r.card_posts}`);
  checks.push({
    name: 'exactly one card_posts row per request',
    expected: `${rows.length} × 1`,
    found: `${rows.length - notOne.length} × 1`,
    ok: notOne.length === 0,
    detail: few(notOne),
  });
  const posted = new Map<string, number>();
  let otherPosts = 0;
  for (const p of connector.posts) {
    const data = o.channels[p.conversationId] ? approveDataOf(p.activity) : undefined;
    if (data) posted.set(data.requestId, (posted.get(data.requestId) ?? 0) + 1);
    else otherPosts += 1;
  }
  const connectorNotOne = rows.filter((r) => (posted.get(r.id) ?? 0) !== 1).map((r) => `${r.id}×${posted.get(r.id) ?? 0}`);
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const connectorUnknown = [...posted.keys()].filter((id) => !rowById.has(id));
  checks.push({
    name: 'exactly one approval card posted to Teams per request (connector)',
    expected: `${rows.length} × 1`,
    found: `${rows.length - connectorNotOne.length} × 1${connectorUnknown.length ? `, ${connectorUnknown.length} unknown` : ''}`,
    ok: connectorNotOne.length === 0 && connectorUnknown.length === 0,
    detail: few([...connectorNotOne, ...connectorUnknown]),
  });
  // Informational: thread replies (nudges), chats, summary cards; none is expected within minutes.
  checks.push({ name: 'other posts (thread replies, chats, summaries), for information', expected: '–', found: String(otherPosts), ok: true });

  // Every approval reached PIM exactly once, by the approver the row names.
  const patches = new Map<string, { ok: number; failed: number }>();
  for (const c of sim.state.calls) {
    const m = /\/roleAssignmentApprovals\/([^/]+)\/steps\//i.exec(c.path);
    if (c.method !== 'PATCH' || !m) continue;
    const id = decodeURIComponent(m[1]!).toLowerCase();
    const e = patches.get(id) ?? { ok: 0, failed: 0 };
    if (c.status >= 200 && c.status < 300) e.ok += 1;
    else e.failed += 1;
    patches.set(id, e);
  }
  const approved = rows.filter((r) => r.status === 'approved');
  const wrong: string[] = [];
  for (const r of approved) {
    const pim = sim.pim.get(r.pim_request_id);
    const step = pim?.approval?.steps[0];
    const calls = patches.get(r.pim_request_id.toLowerCase())?.ok ?? 0;
    if (pim?.status !== 'Provisioned' || step?.reviewResult !== 'Approve' || step.reviewedBy?.id !== r.decided_by_id || calls !== 1) {
      wrong.push(`${r.pim_request_id} (${pim?.status ?? 'missing'}, ${step?.reviewResult ?? '-'}, PATCH×${calls})`);
    }
  }
  checks.push({
    name: 'every approved request: one PIM decision (one PATCH, Provisioned, by the recorded approver)',
    expected: `${approved.length} × 1`,
    found: `${approved.length - wrong.length} × 1`,
    ok: wrong.length === 0,
    detail: few(wrong),
  });
  const totalPatches = [...patches.values()].reduce((s, e) => s + e.ok, 0);
  const failedPatches = [...patches.values()].reduce((s, e) => s + e.failed, 0);
  checks.push({
    name: 'PIM approval PATCHes in all (succeeded / refused)',
    expected: `${approved.length} / 0`,
    found: `${totalPatches} / ${failedPatches}`,
    ok: totalPatches === approved.length && failedPatches === 0,
  });
  // PIM decided nothing the database does not know about (a decision recorded but lost here).
  const decidedInPim = rows
    .filter((r) => r.status !== 'approved' && sim.pim.get(r.pim_request_id)?.approval?.steps[0]?.status === 'Completed')
    .map((r) => `${r.pim_request_id} (${r.status})`);
  checks.push({
    name: 'no request decided in PIM but not here',
    expected: '0',
    found: String(decidedInPim.length),
    ok: decidedInPim.length === 0,
    detail: few(decidedInPim),
  });
  const clickedNotApproved = [...o.approvedByClick].filter((id) => rowById.get(id)?.status !== 'approved');
  const approvedNotClicked = approved.filter((r) => !o.approvedByClick.has(r.id)).map((r) => r.id);
  checks.push({
    name: 'approved rows = clicks answered "Approved"',
    expected: String(o.approvedByClick.size),
    found: `${approved.length}${clickedNotApproved.length ? `, ${clickedNotApproved.length} clicked but not approved` : ''}${approvedNotClicked.length ? `, ${approvedNotClicked.length} approved without such a click` : ''}`,
    ok: clickedNotApproved.length === 0 && approvedNotClicked.length === 0,
    detail: few([...clickedNotApproved, ...approvedNotClicked]),
  });
  const recording = rows.filter((r) => r.status === 'recording').map((r) => r.id);
  checks.push({
    name: 'no request left in "recording" (a claim without an outcome)',
    expected: '0',
    found: String(recording.length),
    ok: recording.length === 0,
    detail: few(recording),
  });

  // The outbox and the job table.
  const outboxFailed = await pool.query<{ id: string; kind: string; last_error: string | null }>(
    "SELECT id, kind, last_error FROM outbox WHERE status = 'failed'",
  );
  checks.push({
    name: 'no outbox row failed',
    expected: '0',
    found: String(outboxFailed.rows.length),
    ok: outboxFailed.rows.length === 0,
    detail: few(outboxFailed.rows.map((r) => `${r.kind}: ${r.last_error}`)),
  });
  const outboxOpen = await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending', 'held')");
  checks.push({
    name: 'outbox empty after the drain (pending, sending, held)',
    expected: '0',
    found: outboxOpen.rows[0]!.n,
    ok: Number(outboxOpen.rows[0]!.n) === 0,
  });
  const outboxRetried = await pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE attempts > 1 OR last_error IS NOT NULL');
  checks.push({
    name: 'outbox rows sent more than once or with an error',
    expected: '0',
    found: outboxRetried.rows[0]!.n,
    ok: Number(outboxRetried.rows[0]!.n) === 0,
  });
  const jobsFailed = await pool.query<{ id: string; kind: string; last_error: string | null }>(
    "SELECT id, kind, last_error FROM jobs WHERE status = 'failed' OR (last_error IS NOT NULL AND status <> 'done')",
  );
  checks.push({
    name: 'no job failed',
    expected: '0',
    found: String(jobsFailed.rows.length),
    ok: jobsFailed.rows.length === 0,
    detail: few(jobsFailed.rows.map((r) => `${r.kind}: ${r.last_error}`)),
  });

  // Teams' limits across both replicas: each paces on its own, so together they could exceed them.
  const sends = connector.calls.filter((c) => c.conversationId && (c.method === 'POST' || c.method === 'PUT'));
  const perConversation = new Map<string, number[]>();
  for (const c of sends) {
    const k = c.conversationId!.split(';')[0]!;
    const list = perConversation.get(k) ?? [];
    list.push(c.at);
    perConversation.set(k, list);
  }
  let max1s = 0;
  let max30s = 0;
  for (const times of perConversation.values()) {
    max1s = Math.max(max1s, maxInWindow(times, 1000));
    max30s = Math.max(max30s, maxInWindow(times, 30_000));
  }
  const tenant1s = maxInWindow(
    sends.map((c) => c.at),
    1000,
  );
  checks.push({
    name: 'Teams per-channel limits across replicas: most sends to one channel in 1 s / 30 s',
    expected: '≤ 7 / ≤ 60',
    found: `${max1s} / ${max30s}`,
    ok: max1s <= 7 && max30s <= 60,
  });
  checks.push({
    name: 'most sends to Teams in 1 s, both replicas together (tenant budget 30/s per replica)',
    expected: '≤ 30',
    found: String(tenant1s),
    ok: tenant1s <= 30,
  });
  const refused = connector.calls.filter((c) => c.status >= 400).length;
  checks.push({ name: 'connector calls answered with an error', expected: '0', found: String(refused), ok: refused === 0 });
  return checks;
}

/** Most events in any half-open window [t, t + windowMs). */
export function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** The simulator's call log by method and route (ids folded), most frequent first. */
export function simCallSummary(sim: SimHandle): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const c of sim.state.calls) {
    const route = c.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}').replace(/\/\d+(?=\/|$)/g, '/{n}');
    const key = `${c.method} ${route}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}
