import type { Client } from '@microsoft/microsoft-graph-client';
import type { AskTarget, ExtensionReads, PendingExtensionRequest } from '../extensions/extension-desk';
import { GROUP_PIM_PATH } from './directory';
import { toGraphCallError } from './graph-errors';

const READ_TIMEOUT_MS = 8000;
const RD = '/roleManagement/directory';
/** Pages read per collection and sweep: a tenant with more waiting extensions than this gets the rest next sweep. */
const MAX_PAGES = 10;

interface ScheduleRequest {
  id: string;
  action?: string;
  status?: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId?: string | null;
  justification?: string | null;
  createdDateTime?: string | null;
  scheduleInfo?: {
    startDateTime?: string | null;
    expiration?: { type?: string; duration?: string | null; endDateTime?: string | null } | null;
  } | null;
}

/**
 * PIM's waiting extension and renewal requests for Entra roles, read with the bot's own identity: Graph's
 * roleEligibilityScheduleRequests (an eligible assignment) and roleAssignmentScheduleRequests (an active one),
 * `status eq 'PendingAdminDecision'`, actions selfExtend and selfRenew. PIM for Groups has no selfExtend or
 * selfRenew (its asks come from the digest and chat); Azure resources' requests live in ARM per scope and are
 * not listed here (the README's "What is not here yet").
 */
export class GraphExtensionReads implements ExtensionReads {
  constructor(private readonly client: Client) {}

  async pending(): Promise<PendingExtensionRequest[]> {
    const [eligible, active] = await Promise.all([
      this.list(`${RD}/roleEligibilityScheduleRequests`, 'Reading the extension requests'),
      this.list(`${RD}/roleAssignmentScheduleRequests`, 'Reading the extension requests of active assignments'),
    ]);
    const out: PendingExtensionRequest[] = [];
    for (const [rows, assignment] of [
      [eligible, 'eligible'],
      [active, 'active'],
    ] as const) {
      for (const r of rows) {
        if (r.action !== 'selfExtend' && r.action !== 'selfRenew') continue;
        out.push({
          pimRequestId: r.id,
          kind: 'entraRole',
          roleDefinitionId: r.roleDefinitionId,
          scope: r.directoryScopeId ?? '/',
          principalId: r.principalId,
          assignment,
          action: r.action === 'selfRenew' ? 'renew' : 'extend',
          reason: r.justification ?? null,
          requestedEnd: requestedEndOf(r.scheduleInfo),
          createdAt: r.createdDateTime ?? new Date().toISOString(),
        });
      }
    }
    return out;
  }

  async status(pimRequestId: string, assignment: 'eligible' | 'active'): Promise<string | null> {
    const collection = assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests';
    try {
      const r = await this.client
        .api(`${RD}/${collection}/${encodeURIComponent(pimRequestId)}`)
        .select(['id', 'status'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return String(r.status);
    } catch (err) {
      const e = toGraphCallError(err, 'Reading the extension request');
      if (e.status === 404) return null;
      throw e;
    }
  }

  async currentEnd(t: AskTarget): Promise<string | null | undefined> {
    const q = (v: string) => v.replace(/'/g, "''");
    const eligible = t.assignment === 'eligible';
    let path: string;
    let filter: string;
    if (t.kind === 'group') {
      path = `${GROUP_PIM_PATH}/${eligible ? 'eligibilityScheduleInstances' : 'assignmentScheduleInstances'}`;
      filter = `groupId eq '${q(t.scope)}' and principalId eq '${q(t.principalId)}' and accessId eq '${q(t.roleDefinitionId)}'`;
    } else if (t.kind === 'entraRole') {
      path = `${RD}/${eligible ? 'roleEligibilityScheduleInstances' : 'roleAssignmentScheduleInstances'}`;
      filter = `principalId eq '${q(t.principalId)}' and roleDefinitionId eq '${q(t.roleDefinitionId)}'`;
    } else {
      return undefined;
    }
    type Row = { endDateTime?: string | null; directoryScopeId?: string | null; scheduleInfo?: { expiration?: { endDateTime?: string | null } | null } | null };
    const read = async (p: string): Promise<Row[]> => {
      try {
        const res = await this.client.api(p).filter(filter).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
        return ((res.value ?? []) as Row[]).filter((r) => t.kind !== 'entraRole' || (r.directoryScopeId ?? '/') === t.scope);
      } catch (err) {
        throw toGraphCallError(err, 'Reading the assignment');
      }
    };
    const rows = await read(path);
    // Listed more than once (direct and through a group): the one that lasts longest counts.
    if (rows.length > 0)
      return rows.some((r) => !r.endDateTime)
        ? null
        : rows
            .map((r) => r.endDateTime!)
            .sort()
            .at(-1)!;
    if (!eligible) return undefined;
    // Not current: an eligibility that ended is still in the schedules (PIM keeps it 30 days), with its end.
    const ended = await read(t.kind === 'group' ? `${GROUP_PIM_PATH}/eligibilitySchedules` : `${RD}/roleEligibilitySchedules`);
    const ends = ended.map((r) => r.scheduleInfo?.expiration?.endDateTime).filter((e): e is string => typeof e === 'string');
    return ends.length > 0 ? ends.sort().at(-1)! : undefined;
  }

  private async list(path: string, what: string): Promise<ScheduleRequest[]> {
    const out: ScheduleRequest[] = [];
    try {
      let page = await this.client.api(path).filter("status eq 'PendingAdminDecision'").option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
      for (let pages = 1; ; pages++) {
        out.push(...((page.value ?? []) as ScheduleRequest[]));
        const next = page['@odata.nextLink'] as string | undefined;
        if (!next || pages >= MAX_PAGES) break;
        page = await this.client.api(next).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
      }
    } catch (err) {
      throw toGraphCallError(err, what);
    }
    return out;
  }
}

/** The end a request asks for: its end date, or its start plus its duration; null when it names none. */
export function requestedEndOf(s: ScheduleRequest['scheduleInfo']): string | null {
  const e = s?.expiration;
  if (!e) return null;
  if (typeof e.endDateTime === 'string' && !Number.isNaN(Date.parse(e.endDateTime))) return new Date(e.endDateTime).toISOString();
  if (typeof e.duration === 'string' && s?.startDateTime) {
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/i.exec(e.duration);
    const start = Date.parse(s.startDateTime);
    if (!m || Number.isNaN(start)) return null;
    const ms = ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000;
    return ms > 0 ? new Date(start + ms).toISOString() : null;
  }
  return null;
}
