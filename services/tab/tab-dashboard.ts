import { parseDisplay } from '../approvals/request-display';
import type { AuditReviews } from '../digests/audit-reviews';
import { spotAuditSample } from '../digests/spot-audit';
import type { RequestRangeReads, RequestStore } from '../store/requests';
import type { ApprovalRequestRow } from '../store/store';
import { TabError } from './tab-api';
import { localHour, validTimeZone } from '../jobs/local-time';
import { type CsvCell, csvFileName, toCsv } from './tab-csv';
import { bucketCounts, countAndMedian, DECISION_BUCKETS, dateRange, minutesBetween, PENDING_BUCKETS, topCounts } from './tab-stats';
import type { TenantOverview } from './tab-tenant';

/**
 * The PIM tab's admin dashboard and its CSV exports (issue 23), for members of TAB_ADMIN_GROUP_ID only:
 * decision times, outcomes (the decision endpoint's automatic answers against human decisions, expiries and
 * cancellations), pending requests by age against PIM's 24 hours, nudges, top roles and requesters (from the
 * bot's database, read in bounded keyset pages), dormant and permanent assignments (app-only tenant reads,
 * as the admin digest makes them) and the spot-audit sample with its reviews.
 */

/** Requests read per page, and at most (a range with more is reported as truncated). */
const PAGE = 1000;
const MAX_ROWS = 50_000;
const TOP = 10;

export const EXPORT_VIEWS = [
  'decision-time',
  'outcomes',
  'pending',
  'top-roles',
  'top-requesters',
  'dormant',
  'permanent',
  'spot-audits',
  'requests',
  'assignments',
] as const;
export type ExportView = (typeof EXPORT_VIEWS)[number];

export const OUTCOMES = ['autoApproved', 'autoDenied', 'approved', 'denied', 'expired', 'cancelled', 'pending'] as const;

export interface AdminCheck {
  /** TAB_ADMIN_GROUP_ID; null: nobody is an admin. */
  groupId: string | null;
  /** Which of `groupIds` the user belongs to, transitively (app-only Graph); throws when Graph does not answer. */
  memberGroupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
}

/** True for a member of the admin group; false when none is configured; throws when membership cannot be read. */
export async function isTabAdmin(check: AdminCheck, userId: string): Promise<boolean> {
  if (!check.groupId) return false;
  const groups = await check.memberGroupsOf(userId, [check.groupId]);
  return groups.some((g) => g.toLowerCase() === check.groupId!.toLowerCase());
}

/** Refuses anyone but a member of the admin group: 403 `not_an_admin`, or 503 `admin_check_unavailable` (never admin). */
export async function requireTabAdmin(check: AdminCheck, userId: string): Promise<void> {
  let admin: boolean;
  try {
    admin = await isTabAdmin(check, userId);
  } catch {
    throw new TabError(503, 'admin_check_unavailable', 'The bot could not read your group membership from Microsoft Graph; try again in a minute.');
  }
  if (!admin) {
    throw new TabError(
      403,
      'not_an_admin',
      check.groupId
        ? 'The dashboard is for members of the PIM dashboard admin group (TAB_ADMIN_GROUP_ID).'
        : 'No admin group is configured (TAB_ADMIN_GROUP_ID), so the dashboard is shown to nobody.',
    );
  }
}

export interface DashboardQuery {
  from?: string;
  to?: string;
  role?: string;
  /** The reader's IANA time zone: the range's days and the hour-of-day chart count in it (default UTC). */
  tz?: string;
}

/** The dashboard's query string: from, to, role; anything else is refused (400 with the field). */
export function dashboardQuery(q: Record<string, string>): DashboardQuery {
  const unknown = Object.keys(q).find((k) => k !== 'from' && k !== 'to' && k !== 'role' && k !== 'tz');
  if (unknown) throw new TabError(400, 'invalid_query', `${unknown.slice(0, 40)}: not a filter of the dashboard (from, to, role, tz)`, unknown.slice(0, 40));
  if (q.tz !== undefined && (q.tz.length > 64 || !validTimeZone(q.tz))) {
    throw new TabError(400, 'invalid_query', 'tz: an IANA time zone name such as Europe/Berlin', 'tz');
  }
  return { from: q.from, to: q.to, role: q.role, tz: q.tz };
}

export interface TabDashboardDeps {
  admin: AdminCheck;
  ranges: Pick<RequestRangeReads, 'createdPage' | 'evaluationOutcomes'>;
  requests: Pick<RequestStore, 'waiting'>;
  reviews: Pick<AuditReviews, 'approvalsDecidedBetween' | 'reviewsOf'>;
  tenant: TenantOverview;
  spotAudit: { rate: number; salt: string };
  now?: () => Date;
}

/** One request as the dashboard counts it. */
interface Fact {
  id: string;
  kind: string;
  roleId: string;
  role: string;
  scope: string;
  requesterId: string;
  requester: string;
  status: string;
  createdAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionMinutes: number | null;
  nudges: number;
  escalated: boolean;
  justification: string;
}

function factOf(row: ApprovalRequestRow): Fact {
  const d = parseDisplay(row);
  const decided = row.status === 'approved' || row.status === 'denied';
  return {
    id: row.id,
    kind: row.kind,
    roleId: row.role_definition_id,
    role: d.roleDisplayName,
    scope: row.scope,
    requesterId: row.principal_id,
    requester: d.requester.displayName,
    status: row.status,
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by_name,
    decisionMinutes: decided ? minutesBetween(row.created_at, row.decided_at) : null,
    nudges: Number(row.nudge_count ?? 0),
    escalated: !!row.escalated_at,
    justification: row.justification,
  };
}

function outcomeOf(status: string): (typeof OUTCOMES)[number] {
  if (status === 'approved' || status === 'denied' || status === 'expired' || status === 'cancelled') return status;
  return 'pending';
}

export class TabDashboard {
  private readonly now: () => Date;

  constructor(private readonly deps: TabDashboardDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** The range and role filter a query names; 400 with the field at fault. */
  private range(q: DashboardQuery) {
    dashboardQuery(q as Record<string, string>);
    const r = dateRange(q, this.now(), q.tz ?? 'UTC');
    if ('field' in r) throw new TabError(400, 'invalid_query', `${r.field}: ${r.message}`, r.field);
    if (q.role !== undefined && (q.role.length === 0 || q.role.length > 400)) throw new TabError(400, 'invalid_query', 'role: a role definition id', 'role');
    return r;
  }

  /** The requests created in the range (every role: the role list is built from them), in bounded keyset pages. */
  private async facts(fromIso: string, toIso: string): Promise<{ facts: Fact[]; truncated: boolean }> {
    const facts: Fact[] = [];
    let after: { createdAt: string; id: string } | null = null;
    for (;;) {
      const rows = await this.deps.ranges.createdPage(fromIso, toIso, after, PAGE);
      for (const row of rows) facts.push(factOf(row));
      if (rows.length < PAGE) return { facts, truncated: false };
      if (facts.length >= MAX_ROWS) return { facts, truncated: true };
      const last = rows[rows.length - 1]!;
      after = { createdAt: last.created_at, id: last.id };
    }
  }

  async dashboard(caller: string, q: DashboardQuery) {
    await requireTabAdmin(this.deps.admin, caller);
    const r = this.range(q);
    const [{ facts: all, truncated }, evaluations, waiting, tenant, spotAudits] = await Promise.all([
      this.facts(r.fromIso, r.toIso),
      this.deps.ranges.evaluationOutcomes(r.fromIso, r.toIso, q.role),
      this.deps.requests.waiting(5000),
      this.tenantLists(),
      this.spotAudits(r.fromIso, r.toIso, q.role),
    ]);
    const roles = new Map<string, string>();
    for (const f of all) roles.set(f.roleId, f.role);
    const facts = q.role ? all.filter((f) => f.roleId.toLowerCase() === q.role!.toLowerCase()) : all;
    const decided = facts.filter((f) => f.decisionMinutes !== null);
    const byRole = countAndMedian(decided.map((f) => ({ key: f.role, minutes: f.decisionMinutes })));
    const byHour = countAndMedian(decided.map((f) => ({ key: String(localHour(new Date(f.createdAt), q.tz ?? 'UTC')), minutes: f.decisionMinutes })));
    const outcomes = new Map<string, number>(OUTCOMES.map((o) => [o, 0]));
    for (const e of evaluations) {
      if (e.outcome === 'AutoApproved') outcomes.set('autoApproved', outcomes.get('autoApproved')! + e.count);
      if (e.outcome === 'Denied') outcomes.set('autoDenied', outcomes.get('autoDenied')! + e.count);
    }
    for (const f of facts) outcomes.set(outcomeOf(f.status), outcomes.get(outcomeOf(f.status))! + 1);
    const now = this.now();
    const pending = waiting.filter((w) => w.status === 'pending' && (!q.role || w.role_definition_id.toLowerCase() === q.role.toLowerCase()));
    const count = (key: (f: Fact) => string) => {
      const m = new Map<string, number>();
      for (const f of facts) m.set(key(f), (m.get(key(f)) ?? 0) + 1);
      return m;
    };
    return {
      range: { from: r.from, to: r.to, timeZone: q.tz ?? 'UTC' },
      roles: [...roles].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name)),
      truncated,
      decisionTime: {
        buckets: bucketCounts(
          decided.map((f) => f.decisionMinutes!),
          DECISION_BUCKETS,
        ),
        byRole: [...byRole].map(([role, v]) => ({ role, ...v })).sort((a, b) => b.count - a.count || a.role.localeCompare(b.role)),
        byHour: Array.from({ length: 24 }, (_, hour) => ({ hour, ...(byHour.get(String(hour)) ?? { count: 0, medianMinutes: null }) })),
      },
      outcomes: [...outcomes].map(([outcome, n]) => ({ outcome, count: n })),
      pendingByAge: bucketCounts(
        pending.map((p) => minutesBetween(p.created_at, now.toISOString()) ?? 0),
        PENDING_BUCKETS,
      ).map((b) => ({ bucket: b.label, count: b.count })),
      nudges: { reminders: facts.reduce((n, f) => n + f.nudges, 0), escalations: facts.filter((f) => f.escalated).length },
      topRoles: topCounts(
        count((f) => f.role),
        TOP,
      ).map((t) => ({ role: t.name, count: t.count })),
      topRequesters: topCounts(
        count((f) => f.requester),
        TOP,
      ).map((t) => ({ name: t.name, count: t.count })),
      dormant: tenant.lists.dormant.map(({ principal, role, kind, lastActivation }) => ({ principal, role, kind, lastActivation })),
      permanent: tenant.lists.permanent.map(({ principal, role, kind }) => ({ principal, role, kind })),
      /** Sections that could not be read now (Graph failed): shown empty, with this saying so. */
      unavailable: tenant.unavailable ? ['dormant', 'permanent'] : [],
      spotAudits,
    };
  }

  /** Dormant and permanent assignments; a failed tenant read leaves them empty and says so (never blocks the rest). */
  private async tenantLists() {
    try {
      return { lists: await this.deps.tenant.dormantAndPermanent(this.now()), unavailable: false };
    } catch {
      return { lists: { dormant: [], permanent: [] }, unavailable: true };
    }
  }

  /**
   * The spot-audit sample of each day in the range (UTC days; the admin digest draws from the admin zone's day),
   * with the same draw as the digest (services/digests/spot-audit.ts), and the reviews recorded for each.
   */
  private async spotAudits(fromIso: string, toIso: string, role?: string) {
    const approvals = (await this.deps.reviews.approvalsDecidedBetween(fromIso, toIso)).filter(
      (a) => !role || a.role_definition_id.toLowerCase() === role.toLowerCase(),
    );
    const byDay = new Map<string, ApprovalRequestRow[]>();
    for (const a of approvals) {
      const day = (a.decided_at ?? '').slice(0, 10);
      if (!byDay.has(day)) byDay.set(day, []);
      byDay.get(day)!.push(a);
    }
    const sample = [...byDay].flatMap(([date, rows]) => spotAuditSample(rows, date, this.deps.spotAudit).map((row) => ({ date, row })));
    const reviews = await this.deps.reviews.reviewsOf(sample.map((s) => s.row.id));
    return sample
      .map(({ date, row }) => {
        const d = parseDisplay(row);
        const review = reviews.filter((v) => v.request_id === row.id).pop();
        return {
          date,
          requestId: row.id,
          role: d.roleDisplayName,
          requester: d.requester.displayName,
          approver: row.decided_by_name,
          decidedAt: row.decided_at,
          justification: row.justification,
          review: review ? { verdict: review.verdict, reviewer: review.reviewer_name, note: review.note, at: review.created_at } : null,
        };
      })
      .sort((a, b) => (a.decidedAt ?? '').localeCompare(b.decidedAt ?? ''));
  }

  /** An export as CSV: the view's rows for the range (and role), with the file name to offer. */
  async exportCsv(caller: string, view: string, q: DashboardQuery): Promise<{ fileName: string; csv: string }> {
    await requireTabAdmin(this.deps.admin, caller);
    if (!(EXPORT_VIEWS as readonly string[]).includes(view)) {
      throw new TabError(404, 'unknown_view', `No export named '${view.slice(0, 40)}'; one of ${EXPORT_VIEWS.join(', ')}.`, 'view');
    }
    const r = this.range(q);
    const fileName = csvFileName(view, r.from, r.to);
    const csv = await this.csvOf(caller, view as ExportView, q, r);
    return { fileName, csv };
  }

  private async csvOf(caller: string, view: ExportView, q: DashboardQuery, r: { fromIso: string; toIso: string }): Promise<string> {
    if (view === 'requests') {
      const { facts } = await this.facts(r.fromIso, r.toIso);
      const rows = facts.filter((f) => !q.role || f.roleId.toLowerCase() === q.role.toLowerCase());
      return toCsv(
        [
          'requestId',
          'kind',
          'role',
          'scope',
          'requester',
          'status',
          'createdAt',
          'decidedAt',
          'decidedBy',
          'decisionMinutes',
          'nudges',
          'escalated',
          'justification',
        ],
        rows.map((f) => [
          f.id,
          f.kind,
          f.role,
          f.scope,
          f.requester,
          f.status,
          f.createdAt,
          f.decidedAt,
          f.decidedBy,
          f.decisionMinutes === null ? null : Math.round(f.decisionMinutes * 10) / 10,
          f.nudges,
          f.escalated,
          f.justification,
        ]),
      );
    }
    if (view === 'assignments') {
      const rows: CsvCell[][] = [];
      for await (const a of this.deps.tenant.assignments())
        rows.push([a.kind, a.assignment, a.principalName, a.principalUpn, a.principalId, a.role, a.roleDefinitionId, a.scope, a.memberType, a.start, a.end]);
      return toCsv(
        ['kind', 'assignment', 'principalName', 'principalUpn', 'principalId', 'role', 'roleDefinitionId', 'scope', 'memberType', 'start', 'end'],
        rows,
      );
    }
    if (view === 'dormant' || view === 'permanent') {
      // A failed Graph read is an error here: an empty file would read as "none".
      let lists: Awaited<ReturnType<TenantOverview['dormantAndPermanent']>>;
      try {
        lists = await this.deps.tenant.dormantAndPermanent(this.now());
      } catch {
        throw new TabError(503, 'tenant_unavailable', 'The bot could not read the assignments from Microsoft Graph; try again in a minute.');
      }
      return view === 'dormant'
        ? toCsv(
            ['principal', 'principalId', 'role', 'kind', 'lastActivation'],
            lists.dormant.map((d) => [d.principal, d.principalId, d.role, d.kind, d.lastActivation]),
          )
        : toCsv(
            ['principal', 'principalId', 'role', 'kind'],
            lists.permanent.map((p) => [p.principal, p.principalId, p.role, p.kind]),
          );
    }
    const d = await this.dashboard(caller, q);
    switch (view) {
      case 'decision-time':
        return toCsv(
          ['section', 'key', 'count', 'medianMinutes'],
          [
            ...d.decisionTime.buckets.map((b) => ['bucket', b.label, b.count, null] as CsvCell[]),
            ...d.decisionTime.byRole.map((b) => ['role', b.role, b.count, b.medianMinutes] as CsvCell[]),
            ...d.decisionTime.byHour.map((b) => [`hour (${q.tz ?? 'UTC'})`, b.hour, b.count, b.medianMinutes] as CsvCell[]),
          ],
        );
      case 'outcomes':
        return toCsv(
          ['outcome', 'count'],
          d.outcomes.map((o) => [o.outcome, o.count]),
        );
      case 'pending':
        return toCsv(
          ['bucket', 'count'],
          d.pendingByAge.map((p) => [p.bucket, p.count]),
        );
      case 'top-roles':
        return toCsv(
          ['role', 'count'],
          d.topRoles.map((t) => [t.role, t.count]),
        );
      case 'top-requesters':
        return toCsv(
          ['requester', 'count'],
          d.topRequesters.map((t) => [t.name, t.count]),
        );
      case 'spot-audits':
        return toCsv(
          ['date', 'requestId', 'role', 'requester', 'approver', 'decidedAt', 'justification', 'verdict', 'reviewer', 'note', 'reviewedAt'],
          d.spotAudits.map((s) => [
            s.date,
            s.requestId,
            s.role,
            s.requester,
            s.approver,
            s.decidedAt,
            s.justification,
            s.review?.verdict,
            s.review?.reviewer,
            s.review?.note,
            s.review?.at,
          ]),
        );
      default:
        throw new TabError(404, 'unknown_view', `No export named '${view}'.`, 'view');
    }
  }
}
