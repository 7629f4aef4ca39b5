import type { Client } from '@microsoft/microsoft-graph-client';
import type { AskTarget, ExtensionReads, PendingExtensionRequest } from '../extensions/extension-desk';
import type { ArmClient } from './arm';
import { GROUP_PIM_PATH } from './directory';
import { toGraphCallError } from './graph-errors';

const READ_TIMEOUT_MS = 8000;
const AUTH = '/providers/Microsoft.Authorization';
const ARM_API = '2020-10-01';

/** An ARM role eligibility or assignment schedule request, as much as is read here. */
interface ArmRequest {
  id: string;
  name?: string;
  properties: {
    principalId: string;
    roleDefinitionId: string;
    scope?: string;
    requestType?: string;
    status?: string;
    justification?: string | null;
    createdOn?: string;
    scheduleInfo?: ScheduleRequest['scheduleInfo'];
  };
}
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
 * selfRenew (its asks come from the digest and chat); Azure resources' requests are read from ARM at the scopes
 * AZURE_PIM_SCOPES names (ARM lists them per scope).
 */
export class GraphExtensionReads implements ExtensionReads {
  constructor(
    private readonly client: Client,
    /** ARM as the app, and the scopes to read there (AZURE_PIM_SCOPES); none: Azure resources are not read. */
    private readonly azure: { arm: Pick<ArmClient, 'call'>; scopes: readonly string[] } | null = null,
  ) {}

  async pending(): Promise<PendingExtensionRequest[]> {
    const [eligible, active, azure] = await Promise.all([
      this.list(`${RD}/roleEligibilityScheduleRequests`, 'Reading the extension requests'),
      this.list(`${RD}/roleAssignmentScheduleRequests`, 'Reading the extension requests of active assignments'),
      this.azurePending(),
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
    return [...out, ...azure];
  }

  /**
   * ARM's schedule requests at each configured scope (and below it), both collections; ARM documents no filter on
   * status, so the waiting SelfExtend / SelfRenew ones are picked here. A scope that cannot be read is skipped.
   */
  private async azurePending(): Promise<PendingExtensionRequest[]> {
    if (!this.azure) return [];
    const { arm, scopes } = this.azure;
    const reads = scopes.flatMap((scope) =>
      (['roleEligibilityScheduleRequests', 'roleAssignmentScheduleRequests'] as const).map(async (collection) => {
        const res = await arm.call<{ value?: ArmRequest[] }>(
          'GET',
          `${scope}${AUTH}/${collection}?api-version=${ARM_API}`,
          'Reading the Azure extension requests',
        );
        return (res.value ?? []).map((r) => ({
          r,
          assignment: collection === 'roleEligibilityScheduleRequests' ? ('eligible' as const) : ('active' as const),
        }));
      }),
    );
    const seen = new Set<string>();
    const out: PendingExtensionRequest[] = [];
    for (const settled of await Promise.allSettled(reads)) {
      if (settled.status !== 'fulfilled') continue;
      for (const { r, assignment } of settled.value) {
        const p = r.properties;
        const type = String(p.requestType ?? '').toLowerCase();
        if (p.status !== 'PendingAdminDecision' || (type !== 'selfextend' && type !== 'selfrenew') || !r.name || seen.has(r.name.toLowerCase())) continue;
        seen.add(r.name.toLowerCase());
        out.push({
          pimRequestId: r.name,
          kind: 'azureResource',
          roleDefinitionId: p.roleDefinitionId,
          scope: p.scope ?? r.id.split(AUTH)[0]!,
          principalId: p.principalId,
          assignment,
          action: type === 'selfrenew' ? 'renew' : 'extend',
          reason: p.justification ?? null,
          requestedEnd: requestedEndOf(p.scheduleInfo),
          createdAt: p.createdOn ?? new Date().toISOString(),
        });
      }
    }
    return out;
  }

  async status(ask: Pick<AskTarget, 'kind' | 'scope' | 'assignment'> & { pimRequestId: string }): Promise<string | null> {
    const { pimRequestId, assignment } = ask;
    const collection = assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests';
    if (ask.kind === 'azureResource') {
      if (!this.azure) return null;
      try {
        const r = await this.azure.arm.call<ArmRequest>(
          'GET',
          `${ask.scope}${AUTH}/${collection}/${encodeURIComponent(pimRequestId)}?api-version=${ARM_API}`,
          'Reading the Azure extension request',
        );
        return r.properties.status ?? null;
      } catch (err) {
        if ((err as { status?: number }).status === 404) return null;
        throw err;
      }
    }
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
    } else if (t.kind === 'azureResource' && this.azure) {
      return this.azureEnd(t);
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

  /** The end of the user's Azure eligibility (or active assignment) of the role at exactly the ask's scope. */
  private async azureEnd(t: AskTarget): Promise<string | null | undefined> {
    const collection = t.assignment === 'eligible' ? 'roleEligibilityScheduleInstances' : 'roleAssignmentScheduleInstances';
    const filter = encodeURIComponent(`principalId eq '${t.principalId.replace(/'/g, "''")}'`);
    const res = await this.azure!.arm.call<{ value?: Array<{ properties: { roleDefinitionId: string; scope?: string; endDateTime?: string | null } }> }>(
      'GET',
      `${t.scope}${AUTH}/${collection}?api-version=${ARM_API}&$filter=${filter}`,
      'Reading the Azure assignment',
    );
    const same = (a: string | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();
    const rows = (res.value ?? []).filter((i) => same(i.properties.roleDefinitionId, t.roleDefinitionId) && same(i.properties.scope, t.scope));
    if (rows.length === 0) return undefined;
    return rows.some((r) => !r.properties.endDateTime)
      ? null
      : rows
          .map((r) => r.properties.endDateTime!)
          .sort()
          .at(-1)!;
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
