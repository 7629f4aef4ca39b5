import type { AuditFlag, ApprovalRow, AuditReviewRow } from './audit-reviews';
import type { DigestInputs, DormantItem, PermanentItem } from './collect';
import { addDays, localDate, safeZone, startOfLocalDay } from './calendar-days';
import { DEFAULT_SPOT_AUDIT_RATE, spotAuditSample } from './spot-audit';
import { targetOfKey, targetKey, type DigestTarget } from './types';

/**
 * The admin channel's daily digest: eligible assignments expiring this week by role, dormant eligible
 * assignments, permanent active assignments on privileged roles, pending requests and their age, a
 * spot-audit sample of yesterday's approvals, and the flags raised since the last digest. Pure: the
 * tenant reads and the store rows are passed in.
 */

export interface AdminDigestOptions {
  now: Date;
  /** The admin channel's zone: "yesterday" and "this week" are its calendar. */
  timeZone: string | null | undefined;
  /** Default 7: today and the next six days. */
  weekDays?: number;
  /** Users named per role in the expiring section (the rest are counted). Default 5. */
  expiringNamedPerTarget?: number;
  /** Pending requests listed (oldest first; the rest are counted). Default 20. */
  pendingListed?: number;
  spotAudit: { rate?: number; salt: string };
}

/** The columns of an approval_requests row the admin digest reads. */
export type ApprovalFields = Pick<
  ApprovalRow,
  | 'id'
  | 'pim_request_id'
  | 'kind'
  | 'principal_id'
  | 'role_definition_id'
  | 'scope'
  | 'status'
  | 'created_at'
  | 'justification'
  | 'ticket_system'
  | 'ticket_number'
  | 'decided_by_id'
  | 'decided_by_name'
  | 'decided_at'
  | 'decision_justification'
>;

export interface AdminDigestInput {
  inputs: DigestInputs;
  /** Approval rows still waiting (pending or recording); others are ignored. */
  pending: readonly ApprovalFields[];
  /** Approval rows decided yesterday (see spotAuditWindow); rows outside the window or not approved are ignored. */
  approvals: readonly ApprovalFields[];
  /** Flags raised since the previous digest. */
  flags: readonly AuditFlag[];
  /** Reviews already given on the sampled approvals, if known. */
  reviews?: readonly AuditReviewRow[];
}

export interface ExpiringTarget {
  target: DigestTarget;
  count: number;
  soonest: Array<{ principalId: string; endDateTime: string }>;
}

/** A request's target as the store keeps it: any kind the bot tracks, Azure resources included. */
export interface RequestTarget {
  kind: string;
  roleDefinitionId: string;
  scope: string;
}

export interface PendingEntry extends RequestTarget {
  requestId: string;
  pimRequestId: string;
  principalId: string;
  status: string;
  createdAt: string;
  ageMinutes: number;
}

export interface SpotAuditEntry extends RequestTarget {
  requestId: string;
  pimRequestId: string;
  principalId: string;
  approvedById: string | null;
  approvedByName: string | null;
  approvedAt: string | null;
  justification: string;
  decisionJustification: string | null;
  ticket: { system: string | null; number: string } | null;
  /** Reviews so far (reviewer id, verdict). */
  reviews: Array<{ reviewerId: string; reviewerName: string | null; verdict: string }>;
}

export interface AdminDigest {
  /** The admin zone's date the digest is for. */
  date: string;
  timeZone: string;
  generatedAt: string;
  expiringThisWeek: { total: number; until: string; targets: ExpiringTarget[] };
  dormant: { days: number; total: number; targets: Array<{ target: DigestTarget; count: number }>; oldest: DormantItem[] };
  permanentPrivileged: { total: number; items: PermanentItem[] };
  pending: { total: number; items: PendingEntry[] };
  spotAudit: { date: string; approvals: number; rate: number; sample: SpotAuditEntry[] };
  flags: AuditFlag[];
}

/** Yesterday in the admin zone, as a date and the [from, to) instants a store query needs. */
export function spotAuditWindow(now: Date, timeZone: string | null | undefined): { date: string; from: string; to: string } {
  const today = localDate(now, timeZone);
  const date = addDays(today, -1);
  return { date, from: new Date(startOfLocalDay(date, timeZone)).toISOString(), to: new Date(startOfLocalDay(today, timeZone)).toISOString() };
}

/** What the admin digest says of any request it lists: its ids and what it was for. */
function requestOf(r: ApprovalFields) {
  return { requestId: r.id, pimRequestId: r.pim_request_id, kind: r.kind, roleDefinitionId: r.role_definition_id, scope: r.scope, principalId: r.principal_id };
}

export function buildAdminDigest(input: AdminDigestInput, opts: AdminDigestOptions): AdminDigest {
  const zone = safeZone(opts.timeZone);
  const now = opts.now.getTime();
  const today = localDate(now, zone);
  const weekDays = opts.weekDays ?? 7;
  // The end of the last day of the week, in the admin's calendar.
  const weekEnd = startOfLocalDay(addDays(today, weekDays), zone);
  const named = opts.expiringNamedPerTarget ?? 5;

  const expiring = new Map<string, ExpiringTarget>();
  let expiringTotal = 0;
  for (const e of input.inputs.expiring) {
    const end = Date.parse(e.endDateTime);
    if (e.assignment !== 'eligible' || end <= now || end > weekEnd) continue;
    expiringTotal++;
    const key = targetKey(e);
    let t = expiring.get(key);
    if (!t) {
      t = { target: { kind: e.kind, roleDefinitionId: e.roleDefinitionId, scope: e.scope }, count: 0, soonest: [] };
      expiring.set(key, t);
    }
    t.count++;
    // `expiring` is sorted by end, so the first few per target are its soonest.
    if (t.soonest.length < named) t.soonest.push({ principalId: e.principalId, endDateTime: e.endDateTime });
  }

  const pendingRows = input.pending
    .filter((r) => r.status === 'pending' || r.status === 'recording')
    .slice()
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  const pending: PendingEntry[] = pendingRows.slice(0, opts.pendingListed ?? 20).map((r) => ({
    ...requestOf(r),
    status: r.status,
    createdAt: r.created_at,
    ageMinutes: Math.max(0, Math.floor((now - Date.parse(r.created_at)) / 60_000)),
  }));

  const window = spotAuditWindow(opts.now, zone);
  const approved = input.approvals.filter((r) => r.status === 'approved' && r.decided_at !== null && r.decided_at >= window.from && r.decided_at < window.to);
  const rate = opts.spotAudit.rate ?? DEFAULT_SPOT_AUDIT_RATE;
  const reviews = input.reviews ?? [];
  const sample: SpotAuditEntry[] = spotAuditSample(approved, window.date, { rate, salt: opts.spotAudit.salt }).map((r) => ({
    ...requestOf(r),
    approvedById: r.decided_by_id,
    approvedByName: r.decided_by_name,
    approvedAt: r.decided_at,
    justification: r.justification,
    decisionJustification: r.decision_justification,
    ticket: r.ticket_number ? { system: r.ticket_system, number: r.ticket_number } : null,
    reviews: reviews.filter((v) => v.request_id === r.id).map((v) => ({ reviewerId: v.reviewer_id, reviewerName: v.reviewer_name, verdict: v.verdict })),
  }));

  const byCount = <T extends { count: number; target: DigestTarget }>(a: T, b: T) =>
    b.count - a.count || targetKey(a.target).localeCompare(targetKey(b.target));
  return {
    date: today,
    timeZone: zone,
    generatedAt: opts.now.toISOString(),
    expiringThisWeek: { total: expiringTotal, until: new Date(weekEnd).toISOString(), targets: [...expiring.values()].sort(byCount) },
    dormant: {
      days: input.inputs.dormantAfterDays,
      total: input.inputs.dormant.total,
      targets: [...input.inputs.dormant.byTarget.entries()].map(([k, count]) => ({ target: targetOfKey(k), count })).sort(byCount),
      oldest: input.inputs.dormant.oldest,
    },
    permanentPrivileged: { ...input.inputs.permanentPrivileged },
    pending: { total: pendingRows.length, items: pending },
    spotAudit: { date: window.date, approvals: approved.length, rate, sample },
    flags: [...input.flags],
  };
}

/** The users and targets an admin digest shows, for one name lookup (resolveNames) before rendering. */
export function adminDigestNameRefs(d: AdminDigest): { userIds: string[]; targets: RequestTarget[] } {
  const users = new Set<string>();
  const targets = new Map<string, RequestTarget>();
  const addTarget = (t: RequestTarget) =>
    targets.set(`${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`, {
      kind: t.kind,
      roleDefinitionId: t.roleDefinitionId,
      scope: t.scope,
    });
  for (const t of d.expiringThisWeek.targets) {
    addTarget(t.target);
    for (const s of t.soonest) users.add(s.principalId.toLowerCase());
  }
  for (const t of d.dormant.targets) addTarget(t.target);
  for (const item of [...d.dormant.oldest, ...d.permanentPrivileged.items, ...d.pending.items, ...d.spotAudit.sample]) {
    addTarget(item);
    users.add(item.principalId.toLowerCase());
  }
  for (const f of d.flags) {
    addTarget(f);
    users.add(f.principalId.toLowerCase());
  }
  return { userIds: [...users], targets: [...targets.values()] };
}
