/**
 * The invariants, computed after the quiet period from what the simulator (PIM's own state and call log),
 * the Bot Connector stand-in (what Teams accepted, shows and was sent when) and the database hold, never
 * from what the bot reports about itself:
 *   1. exactly one PIM decision per clicked request, credited to an approver who clicked it, with the verb
 *      they clicked (and none on a request nobody clicked);
 *   2. exactly one visible card per request in the approver channel, in its final state once decided;
 *   3. exactly one requester notice per outcome;
 *   4. no replica process ended other than by the driver's kills;
 *   5. Teams' limits kept across replicas: ≤ 30 sends/s tenant-wide, per conversation ≤ 7/1 s and ≤ 8/2 s.
 */
import type { Pool } from 'pg';
import type { SimHandle } from '../../sim/server';
import type { FakeConnector } from '../../sim/bot-connector';
import type { Approvers, Filed } from './actors';
import { seededUser } from './actors';
import type { ReplicaSet } from './replicas';
import { messageText, type TeamsView } from './teams-view';

export interface Invariant {
  id: number;
  name: string;
  ok: boolean;
  /** What was checked (counts). */
  checked: string;
  /** One line per violation, naming the request ids and what each source showed. */
  violations: string[];
}

export interface LimitFigures {
  sends: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  tenantMax1s: number;
  tenantMax1sAt: number;
  conversationMax1s: number;
  conversationMax2s: number;
  conversationMax30s: number;
  worstConversation: string;
}

export interface CheckInput {
  sim: SimHandle;
  connector: FakeConnector;
  view: TeamsView;
  pool: Pool;
  filed: Filed[];
  approvers: Approvers;
  replicas: ReplicaSet;
  channelId: string;
  /** requester id → their personal conversation id. */
  conversations: Map<string, string>;
}

export interface CheckOutput {
  invariants: Invariant[];
  limits: LimitFigures;
  /** PIM request id → the bot's row ids for it. */
  rows: Map<string, RowInfo[]>;
  patches: { ok: number; conflict: number; other: number; conflictIds: string[] };
  deletedCopies: number;
  unattributed: number;
}

interface RowInfo {
  id: string;
  pim_request_id: string;
  status: string;
  decided_by_id: string | null;
  claimed_by: string | null;
}

const APPROVALS = /\/roleAssignmentApprovals\/([^/]+)\/steps\//i;

export async function checkInvariants(o: CheckInput): Promise<CheckOutput> {
  const rowsQ = await o.pool.query<RowInfo>('SELECT id, pim_request_id, status, decided_by_id, claimed_by FROM approval_requests');
  const rows = new Map<string, RowInfo[]>();
  for (const r of rowsQ.rows) rows.set(r.pim_request_id.toLowerCase(), [...(rows.get(r.pim_request_id.toLowerCase()) ?? []), r]);
  const pimOf = new Map(rowsQ.rows.map((r) => [r.id, r.pim_request_id.toLowerCase()]));
  const opened = o.filed.filter((f) => f.pimId && f.status === 'PendingApproval');
  const notOpened = o.filed.filter((f) => !(f.pimId && f.status === 'PendingApproval'));

  // PATCHes PIM answered (a PATCH whose caller died before the answer is not in the log: PIM's state is the truth).
  const patches = { ok: 0, conflict: 0, other: 0, conflictIds: [] as string[] };
  const okPatches = new Map<string, number>();
  for (const c of o.sim.state.calls) {
    const m = c.method === 'PATCH' ? APPROVALS.exec(c.path) : null;
    if (!m) continue;
    const id = decodeURIComponent(m[1]!).toLowerCase();
    if (c.status >= 200 && c.status < 300) {
      patches.ok += 1;
      okPatches.set(id, (okPatches.get(id) ?? 0) + 1);
    } else if (c.status === 409) {
      patches.conflict += 1;
      patches.conflictIds.push(id);
    } else patches.other += 1;
  }

  // 1. Decisions.
  const inv1: string[] = [];
  let clickedCount = 0;
  for (const f of opened) {
    const pimId = f.pimId!;
    const pim = o.sim.pim.get(pimId);
    const step = pim?.approval?.steps[0];
    const decided = step?.status === 'Completed' && (step.reviewResult === 'Approve' || step.reviewResult === 'Deny');
    const clickers = o.approvers.clickersOf(pimId);
    const dbRows = rows.get(pimId.toLowerCase()) ?? [];
    const clicks = o.approvers.clicks.filter((c) => c.pimId === pimId);
    const clickLog = () =>
      clicks
        .map((c) =>
          `${c.kind}:${seededUser(c.approverId).givenName}:${c.verb.slice(4)}→${c.replica ?? '-'}:${c.httpStatus ?? '-'}/${c.statusCode ?? '-'} ${c.note}`.trim(),
        )
        .slice(0, 6)
        .join('; ');
    if (clickers.size > 0) {
      clickedCount += 1;
      if (!decided) {
        inv1.push(
          `${pimId} (${f.plan.roleName}): clicked ${clicks.length}× but PIM has no decision (PIM ${pim?.status ?? 'missing'}, step ${step?.status ?? '-'}; db ${dbRows.map((r) => r.status).join(',') || 'no row'}) [${clickLog()}]`,
        );
        continue;
      }
      const reviewer = step!.reviewedBy?.id?.toLowerCase() ?? '';
      const verb = clickers.get(reviewer);
      const want = step!.reviewResult === 'Approve' ? 'pim.approve' : 'pim.deny';
      if (!verb)
        inv1.push(
          `${pimId}: PIM credits ${step!.reviewedBy?.displayName ?? reviewer}, who did not click it (clickers: ${[...clickers.keys()].map((k) => seededUser(k).givenName).join(', ')})`,
        );
      else if (verb !== want) inv1.push(`${pimId}: PIM recorded ${step!.reviewResult} by ${step!.reviewedBy?.displayName}, who clicked ${verb}`);
      const expected = step!.reviewResult === 'Approve' ? 'approved' : 'denied';
      if (dbRows.length !== 1 || dbRows[0]!.status !== expected || dbRows[0]!.decided_by_id?.toLowerCase() !== reviewer) {
        inv1.push(
          `${pimId}: PIM ${step!.reviewResult} by ${step!.reviewedBy?.displayName}, database ${dbRows.map((r) => `${r.status} by ${r.decided_by_id ?? 'nobody'}`).join(' / ') || 'has no row'}`,
        );
      }
      if ((okPatches.get(pimId.toLowerCase()) ?? 0) > 1)
        inv1.push(`${pimId}: PIM answered ${okPatches.get(pimId.toLowerCase())} approval PATCHes with success`);
    } else if (decided) {
      inv1.push(`${pimId}: nobody clicked it, but PIM has ${step!.reviewResult} by ${step!.reviewedBy?.displayName}`);
    } else if (dbRows.some((r) => r.status !== 'pending')) {
      inv1.push(`${pimId}: nobody clicked it and PIM has no decision, but the database says ${dbRows.map((r) => r.status).join(',')}`);
    }
  }
  for (const f of notOpened) {
    if (!f.pimId) continue;
    const step = o.sim.pim.get(f.pimId)?.approval?.steps[0];
    if (step?.status === 'Completed') inv1.push(`${f.pimId}: PIM did not open an approval at filing (${f.status}) yet has a decision`);
  }

  // 2. One visible card per request, final once decided.
  const inv2: string[] = [];
  const { copies, unattributed } = o.view.channelCopies();
  const seen = new Set<string>();
  for (const f of opened) {
    const pimId = f.pimId!;
    const dbRows = rows.get(pimId.toLowerCase()) ?? [];
    if (dbRows.length > 1) inv2.push(`${pimId}: ${dbRows.length} request rows in the database (${dbRows.map((r) => r.id).join(', ')})`);
    const list = dbRows.flatMap((r) => copies.get(r.id) ?? []);
    for (const r of dbRows) seen.add(r.id);
    if (list.length !== 1) {
      inv2.push(
        `${pimId} (${f.plan.roleName}): ${list.length} visible card(s) in the channel${list.length ? ` (activity ids ${list.map((c) => c.message.id).join(', ')})` : ''}; ${o.connector.posts.filter((p) => dbRows.some((r) => JSON.stringify(p.activity).includes(r.id))).length} post(s) accepted for it`,
      );
      if (list.length === 0) continue;
    }
    const step = o.sim.pim.get(pimId)?.approval?.steps[0];
    const decided = step?.status === 'Completed';
    for (const c of list) {
      const text = messageText(c.message.activity);
      if (decided) {
        const word = step!.reviewResult === 'Approve' ? 'Approved' : 'Denied';
        const name = step!.reviewedBy?.displayName ?? '?';
        if (c.actions.length > 0)
          inv2.push(
            `${pimId}: decided in PIM (${word} by ${name}) but card ${c.message.id} still offers ${c.actions.map((a) => a.verb).join('/')} (version ${c.actions[0]?.version})`,
          );
        else if (!text.includes(`${word} by ${name}`))
          inv2.push(`${pimId}: decided in PIM (${word} by ${name}) but card ${c.message.id} does not say so: "${stateLineOf(text)}"`);
      } else if (c.actions.length === 0) {
        inv2.push(`${pimId}: still pending in PIM but card ${c.message.id} offers no Approve/Deny: "${stateLineOf(text)}"`);
      }
    }
  }
  for (const f of notOpened) {
    for (const r of f.pimId ? (rows.get(f.pimId.toLowerCase()) ?? []) : []) {
      seen.add(r.id);
      const list = copies.get(r.id) ?? [];
      if (list.some((c) => c.actions.length > 0))
        inv2.push(
          `${f.pimId}: PIM ${f.status ?? 'refused'} it at filing (${f.error ?? 'no approval'}), yet a card with Approve/Deny is visible (${list.map((c) => c.message.id).join(', ')})`,
        );
    }
  }
  for (const [requestId, list] of copies) {
    if (!seen.has(requestId))
      inv2.push(
        `card(s) ${list.map((c) => c.message.id).join(', ')} for request row ${requestId} (PIM ${pimOf.get(requestId) ?? 'unknown'}) the run did not file or the database does not hold`,
      );
  }
  const deletedCopies = o.connector.messages.visibleOrDeleted([o.channelId]).filter((m) => m.deletedAt !== null && m.replyToId === null).length;

  // 3. One notice per outcome in the requester's personal chat: a message posted after the request was filed
  // that names its role (each requester asks for each role once in a run, and role names have a fixed width).
  const inv3: string[] = [];
  let noticesExpected = 0;
  for (const f of o.filed) {
    if (!f.pimId) continue;
    const conversation = o.conversations.get(f.plan.requesterId);
    if (!conversation) continue;
    const notices = o.view.personalMessages(conversation).filter((m) => m.createdAt >= f.filedAt - 1000 && messageText(m.activity).includes(f.plan.roleName));
    const step = o.sim.pim.get(f.pimId)?.approval?.steps[0];
    const decided = f.status === 'PendingApproval' && step?.status === 'Completed';
    if (decided) {
      noticesExpected += 1;
      const word = step!.reviewResult === 'Approve' ? 'approved' : 'denied';
      if (notices.length !== 1)
        inv3.push(
          `${f.pimId} (${f.plan.roleName}, ${word}): ${notices.length} notice(s) in ${seededUser(f.plan.requesterId).displayName}'s chat${notices.length ? `: ${notices.map((m) => `${m.id} "${messageText(m.activity).slice(0, 90)}"`).join(' | ')}` : ''}`,
        );
      else if (!messageText(notices[0]!.activity).includes(word))
        inv3.push(`${f.pimId}: the notice does not say ${word}: "${messageText(notices[0]!.activity).slice(0, 120)}"`);
    } else if (notices.length > 0) {
      inv3.push(
        `${f.pimId} (${f.plan.roleName}): no decision in PIM (${o.sim.pim.get(f.pimId)?.status ?? f.status}), yet ${notices.length} notice(s): ${notices.map((m) => `"${messageText(m.activity).slice(0, 90)}"`).join(' | ')}`,
      );
    }
  }

  // 4. Exits.
  const inv4 = [
    ...o.replicas.exits
      .filter((e) => !e.expected)
      .map((e) => `replica ${e.name} (pid ${e.pid}) exited on its own: code ${e.code}, signal ${e.signal}, at ${new Date(e.at).toISOString()}`),
    ...o.replicas.startFailures.map((s) => `replica ${s.name} failed to start at ${new Date(s.at).toISOString()}: ${s.error}`),
  ];

  // 5. Teams' limits, from the arrival times of every call the connector got (any method, any answer: Teams counts them all).
  const limits = limitFigures(o.connector);
  const inv5: string[] = [];
  if (limits.tenantMax1s > 30) inv5.push(`${limits.tenantMax1s} sends in 1 s tenant-wide from ${new Date(limits.tenantMax1sAt).toISOString()}`);
  for (const [conversation, times] of perConversation(o.connector)) {
    const w1 = maxWindow(times, 1000);
    const w2 = maxWindow(times, 2000);
    if (w1.count > 7) inv5.push(`${conversation}: ${w1.count} sends in 1 s from ${new Date(w1.at).toISOString()}`);
    if (w2.count > 8) inv5.push(`${conversation}: ${w2.count} sends in 2 s from ${new Date(w2.at).toISOString()}`);
  }

  const decidedCount = opened.filter((f) => o.sim.pim.get(f.pimId!)?.approval?.steps[0]?.status === 'Completed').length;
  const invariants: Invariant[] = [
    {
      id: 1,
      name: 'one PIM decision per clicked request, by a clicking approver',
      ok: inv1.length === 0,
      checked: `${opened.length} requests with an approval, ${clickedCount} clicked, ${decidedCount} decided in PIM`,
      violations: inv1,
    },
    {
      id: 2,
      name: 'one visible card per request in the channel, final once decided',
      ok: inv2.length === 0,
      checked: `${opened.length} requests, ${[...copies.values()].reduce((n, l) => n + l.length, 0)} visible cards`,
      violations: inv2,
    },
    {
      id: 3,
      name: 'one requester notice per outcome',
      ok: inv3.length === 0,
      checked: `${noticesExpected} outcomes to tell, ${o.filed.length - noticesExpected} requests to tell nothing about`,
      violations: inv3,
    },
    {
      id: 4,
      name: 'no replica exited except by the driver’s kills',
      ok: inv4.length === 0,
      checked: `${o.replicas.exits.length} exits, ${o.replicas.exits.filter((e) => e.expected).length} by the driver`,
      violations: inv4,
    },
    {
      id: 5,
      name: 'Teams limits: ≤ 30/s tenant, ≤ 7/1 s and ≤ 8/2 s per conversation',
      ok: inv5.length === 0,
      checked: `${limits.sends} calls; max ${limits.tenantMax1s}/1 s tenant, ${limits.conversationMax1s}/1 s and ${limits.conversationMax2s}/2 s in one conversation`,
      violations: inv5,
    },
  ];
  return { invariants, limits, rows, patches, deletedCopies, unattributed: unattributed.length };
}

function stateLineOf(text: string): string {
  const m =
    /(Approve or deny below[^\n]*|Waiting for an approver|Recording[^\n]*|Approved by[^\n]*|Denied by[^\n]*|Approved in PIM[^\n]*|Denied in PIM[^\n]*)/.exec(
      text,
    );
  return (m?.[1] ?? text.slice(0, 80)).slice(0, 120);
}

function perConversation(connector: FakeConnector): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const c of connector.calls) {
    if (!c.conversationId) continue;
    const list = m.get(c.conversationId) ?? [];
    list.push(c.at);
    m.set(c.conversationId, list);
  }
  return m;
}

export function limitFigures(connector: FakeConnector): LimitFigures {
  const calls = connector.calls.filter((c) => c.conversationId);
  const byMethod: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const c of calls) {
    byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
    const k = c.status === 0 ? 'no answer' : String(c.status);
    byStatus[k] = (byStatus[k] ?? 0) + 1;
  }
  const tenant = maxWindow(
    calls.map((c) => c.at),
    1000,
  );
  let w1 = 0;
  let w2 = 0;
  let w30 = 0;
  let worst = '';
  for (const [conversation, times] of perConversation(connector)) {
    const one = maxWindow(times, 1000).count;
    if (one > w1) worst = conversation;
    w1 = Math.max(w1, one);
    w2 = Math.max(w2, maxWindow(times, 2000).count);
    w30 = Math.max(w30, maxWindow(times, 30_000).count);
  }
  return {
    sends: calls.length,
    byMethod,
    byStatus,
    tenantMax1s: tenant.count,
    tenantMax1sAt: tenant.at,
    conversationMax1s: w1,
    conversationMax2s: w2,
    conversationMax30s: w30,
    worstConversation: worst,
  };
}

/** Most events in any half-open window [t, t + windowMs), and where it starts. */
export function maxWindow(times: readonly number[], windowMs: number): { count: number; at: number } {
  const t = [...times].sort((a, b) => a - b);
  let best = { count: 0, at: 0 };
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= windowMs) lo++;
    if (hi - lo + 1 > best.count) best = { count: hi - lo + 1, at: t[lo]! };
  }
  return best;
}
