import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from '../graph/graph-errors';
import { GROUP_PIM_PATH } from '../graph/directory';
import { ActivationHistory, DigestCollector, type CollectOptions, type DigestInputs } from './collect';
import type { ActivationRecord, AssignmentRecord, EligibilityRecord } from './types';

/**
 * App-only, paged reads of PIM for the digests (Graph v1.0, the bot's application permissions
 * RoleEligibilitySchedule.Read.Directory, RoleAssignmentSchedule.Read.Directory,
 * PrivilegedEligibilitySchedule.Read.AzureADGroup and PrivilegedAssignmentSchedule.Read.AzureADGroup,
 * User.Read.All for names). Every list follows `@odata.nextLink` and yields records one at a time: no
 * caller holds a page, and `readDigestInputs` folds them as they come.
 *
 * What is read, and why:
 * - `/roleManagement/directory/roleEligibilityScheduleInstances`: every eligible role assignment, with
 *   its end (null: permanent).
 * - `/roleManagement/directory/roleAssignmentScheduleInstances`: active role assignments;
 *   `assignmentType` tells an activation (`Activated`) from an administrator's assignment (`Assigned`,
 *   endDateTime null when permanent). One unfiltered pass serves both.
 * - `/roleManagement/directory/roleAssignmentScheduleRequests?$filter=action eq 'selfActivate'`: the
 *   activation history, for dormancy. Graph has no "last activated" property; instances only show what
 *   is active now; the audit log keeps 30 days and is throttled to 5 requests per 10 s. The request
 *   history is the only paged, app-only source. `createdDateTime` cannot be filtered, so it is read whole.
 * - PIM for Groups: Graph requires a `groupId` (or `principalId`) filter on its lists and has no v1.0
 *   list of onboarded groups (the beta `privilegedAccess/aadGroups` API was retired on 2026-10-28), so
 *   the groups come from the caller: configured ids plus groups seen in the bot's own requests. For each:
 *   `eligibilityScheduleInstances`, `assignmentScheduleInstances` and `assignmentScheduleRequests`
 *   (action selfActivate), all `$filter=groupId eq '…'`.
 * - `/roleManagement/directory/roleEligibilitySchedules` (and per group `eligibilitySchedules`): the
 *   schedules, unlike the instances, keep an eligibility after it ends; PIM shows expired ones for 30 days
 *   and lets the holder ask to renew them. Graph documents no "Expired" status, so the end in
 *   `scheduleInfo.expiration.endDateTime` tells; the collector keeps only what ended in the last 30 days.
 * - Names, only for what a digest shows: roleDefinitions (one paged list), users and groups by id in
 *   JSON batches of 20 (Graph's cap).
 *
 * `$top=999`: the PIM list pages document $select/$filter/$expand only; community tools send $top=999
 * and Graph honours it. `pageSize: null` leaves paging to the server.
 */

/** Each page must come back inside this; a digest is a background job, but a stuck call must not hold it. */
const PAGE_TIMEOUT_MS = 30_000;
/** Graph's JSON batching cap. */
const BATCH_MAX = 20;
const RD = '/roleManagement/directory';

/** Request statuses that mean the activation happened (it may have ended or been deactivated since). */
const ACTIVATED_STATUSES = new Set(['Provisioned', 'Granted', 'PendingProvisioning', 'ScheduleCreated', 'Revoked']);

/** Port: the tenant reads the digests make with the bot's own identity. */
export interface TenantReads {
  roleEligibilities(): AsyncIterable<EligibilityRecord>;
  /** Eligibility schedules, ended ones included (for the expired section); absent: no expired section. */
  roleEligibilitySchedules?(): AsyncIterable<EligibilityRecord>;
  groupEligibilitySchedules?(groupId: string): AsyncIterable<EligibilityRecord>;
  roleAssignments(): AsyncIterable<AssignmentRecord>;
  roleActivations(): AsyncIterable<ActivationRecord>;
  groupEligibilities(groupId: string): AsyncIterable<EligibilityRecord>;
  groupAssignments(groupId: string): AsyncIterable<AssignmentRecord>;
  groupActivations(groupId: string): AsyncIterable<ActivationRecord>;
}

/** Port: display names for what a digest shows. Unknown ids are left out of the map. */
export interface DirectoryNames {
  roleNames(): Promise<Map<string, string>>;
  groupNames(ids: readonly string[]): Promise<Map<string, string>>;
  userNames(ids: readonly string[]): Promise<Map<string, string>>;
  /** Every user's name and user name, paged ($top 999): for a whole-tenant export, cheaper than per-id reads. */
  userDirectory?(): AsyncIterable<{ id: string; displayName: string; userPrincipalName: string }>;
}

export interface TenantReaderOptions {
  /** `$top` on the PIM lists (default 999); null: the server's page size. */
  pageSize?: number | null;
  timeoutMs?: number;
}

interface GraphPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * The fields read from Graph's PIM schedule instances, schedule requests and role definitions, as Graph
 * sends them (typed, not validated: each list selects its own subset).
 */
interface Raw {
  id?: string;
  displayName?: string;
  userPrincipalName?: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId?: string | null;
  groupId?: string | null;
  accessId: string;
  startDateTime?: string | null;
  endDateTime?: string | null;
  assignmentType?: string;
  action?: string;
  status: string;
  createdDateTime?: string;
  scheduleInfo?: { startDateTime?: string; expiration?: { endDateTime?: string | null } | null } | null;
}

const q = (v: string) => v.replace(/'/g, "''");

function activatedAt(r: Raw): string | null {
  return (r.scheduleInfo?.startDateTime as string | undefined) ?? (r.createdDateTime as string | undefined) ?? null;
}

export class GraphTenantReader implements TenantReads, DirectoryNames {
  /** Graph HTTP requests made (each page and each batch counts one), for logs and the benchmark. */
  calls = 0;
  /** Of those, JSON batches (each carries up to 20 requests Graph throttles one by one). */
  batches = 0;
  private readonly pageSize: number | null;
  private readonly timeoutMs: number;

  constructor(
    private readonly client: Client,
    opts: TenantReaderOptions = {},
  ) {
    this.pageSize = opts.pageSize === undefined ? 999 : opts.pageSize;
    this.timeoutMs = opts.timeoutMs ?? PAGE_TIMEOUT_MS;
  }

  private async *list(path: string, what: string, query: { filter?: string; select: string[] }): AsyncGenerator<Raw> {
    let next: string | undefined;
    let first = true;
    while (first || next) {
      let page: GraphPage<Raw>;
      try {
        let req = this.client.api(first ? path : next!).option('signal', AbortSignal.timeout(this.timeoutMs));
        if (first) {
          req = req.select(query.select);
          if (query.filter) req = req.filter(query.filter);
          if (this.pageSize) req = req.top(this.pageSize);
        }
        this.calls++;
        page = (await req.get()) as GraphPage<Raw>;
      } catch (err) {
        throw toGraphCallError(err, what);
      }
      first = false;
      next = page['@odata.nextLink'];
      // The page goes out of scope after this loop: only the yielded records live on, if the caller keeps them.
      for (const r of page.value ?? []) yield r;
    }
  }

  async *roleEligibilities(): AsyncGenerator<EligibilityRecord> {
    for await (const r of this.list(`${RD}/roleEligibilityScheduleInstances`, 'Reading eligible role assignments', {
      select: ['principalId', 'roleDefinitionId', 'directoryScopeId', 'startDateTime', 'endDateTime'],
    })) {
      yield {
        kind: 'entraRole',
        principalId: r.principalId,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        startDateTime: r.startDateTime ?? null,
        endDateTime: r.endDateTime ?? null,
      };
    }
  }

  async *roleEligibilitySchedules(): AsyncGenerator<EligibilityRecord> {
    for await (const r of this.list(`${RD}/roleEligibilitySchedules`, 'Reading eligible role schedules', {
      select: ['principalId', 'roleDefinitionId', 'directoryScopeId', 'scheduleInfo'],
    })) {
      yield {
        kind: 'entraRole',
        principalId: r.principalId,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        startDateTime: r.scheduleInfo?.startDateTime ?? null,
        endDateTime: r.scheduleInfo?.expiration?.endDateTime ?? null,
      };
    }
  }

  async *groupEligibilitySchedules(groupId: string): AsyncGenerator<EligibilityRecord> {
    for await (const r of this.list(`${GROUP_PIM_PATH}/eligibilitySchedules`, 'Reading eligible group schedules', {
      filter: `groupId eq '${q(groupId)}'`,
      select: ['principalId', 'groupId', 'accessId', 'scheduleInfo'],
    })) {
      yield {
        kind: 'group',
        principalId: r.principalId,
        roleDefinitionId: r.accessId,
        scope: r.groupId ?? groupId,
        startDateTime: r.scheduleInfo?.startDateTime ?? null,
        endDateTime: r.scheduleInfo?.expiration?.endDateTime ?? null,
      };
    }
  }

  async *roleAssignments(): AsyncGenerator<AssignmentRecord> {
    for await (const r of this.list(`${RD}/roleAssignmentScheduleInstances`, 'Reading active role assignments', {
      select: ['principalId', 'roleDefinitionId', 'directoryScopeId', 'startDateTime', 'endDateTime', 'assignmentType'],
    })) {
      yield {
        kind: 'entraRole',
        principalId: r.principalId,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        startDateTime: r.startDateTime ?? null,
        endDateTime: r.endDateTime ?? null,
        assignmentType: r.assignmentType === 'Assigned' ? 'Assigned' : 'Activated',
      };
    }
  }

  async *roleActivations(): AsyncGenerator<ActivationRecord> {
    for await (const r of this.list(`${RD}/roleAssignmentScheduleRequests`, 'Reading the role activation history', {
      filter: "action eq 'selfActivate'",
      select: ['principalId', 'roleDefinitionId', 'directoryScopeId', 'action', 'status', 'createdDateTime', 'scheduleInfo'],
    })) {
      const at = activatedAt(r);
      if (r.action !== 'selfActivate' || !ACTIVATED_STATUSES.has(r.status) || !at) continue;
      yield { kind: 'entraRole', principalId: r.principalId, roleDefinitionId: r.roleDefinitionId, scope: r.directoryScopeId ?? '/', activatedAt: at };
    }
  }

  async *groupEligibilities(groupId: string): AsyncGenerator<EligibilityRecord> {
    for await (const r of this.list(`${GROUP_PIM_PATH}/eligibilityScheduleInstances`, 'Reading eligible group assignments', {
      filter: `groupId eq '${q(groupId)}'`,
      select: ['principalId', 'groupId', 'accessId', 'startDateTime', 'endDateTime'],
    })) {
      yield {
        kind: 'group',
        principalId: r.principalId,
        roleDefinitionId: r.accessId,
        scope: r.groupId ?? groupId,
        startDateTime: r.startDateTime ?? null,
        endDateTime: r.endDateTime ?? null,
      };
    }
  }

  async *groupAssignments(groupId: string): AsyncGenerator<AssignmentRecord> {
    for await (const r of this.list(`${GROUP_PIM_PATH}/assignmentScheduleInstances`, 'Reading active group assignments', {
      filter: `groupId eq '${q(groupId)}'`,
      select: ['principalId', 'groupId', 'accessId', 'startDateTime', 'endDateTime', 'assignmentType'],
    })) {
      yield {
        kind: 'group',
        principalId: r.principalId,
        roleDefinitionId: r.accessId,
        scope: r.groupId ?? groupId,
        startDateTime: r.startDateTime ?? null,
        endDateTime: r.endDateTime ?? null,
        assignmentType: r.assignmentType === 'Assigned' ? 'Assigned' : 'Activated',
      };
    }
  }

  async *groupActivations(groupId: string): AsyncGenerator<ActivationRecord> {
    for await (const r of this.list(`${GROUP_PIM_PATH}/assignmentScheduleRequests`, 'Reading the group activation history', {
      filter: `groupId eq '${q(groupId)}' and action eq 'selfActivate'`,
      select: ['principalId', 'groupId', 'accessId', 'action', 'status', 'createdDateTime', 'scheduleInfo'],
    })) {
      const at = activatedAt(r);
      if (r.action !== 'selfActivate' || !ACTIVATED_STATUSES.has(r.status) || !at) continue;
      yield { kind: 'group', principalId: r.principalId, roleDefinitionId: r.accessId, scope: r.groupId ?? groupId, activatedAt: at };
    }
  }

  async roleNames(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for await (const r of this.list(`${RD}/roleDefinitions`, 'Reading the role definitions', { select: ['id', 'displayName'] })) {
      if (r.id && r.displayName) names.set(String(r.id).toLowerCase(), String(r.displayName));
    }
    return names;
  }

  groupNames(ids: readonly string[]): Promise<Map<string, string>> {
    return this.namesById('groups', ids, 'Reading group names');
  }

  userNames(ids: readonly string[]): Promise<Map<string, string>> {
    return this.namesById('users', ids, 'Reading user names');
  }

  async *userDirectory(): AsyncGenerator<{ id: string; displayName: string; userPrincipalName: string }> {
    for await (const u of this.list('/users', 'Reading the users', { select: ['id', 'displayName', 'userPrincipalName'] })) {
      if (u.id) yield { id: String(u.id), displayName: String(u.displayName ?? ''), userPrincipalName: String(u.userPrincipalName ?? '') };
    }
  }

  /** displayName by id, 20 per JSON batch; ids Graph does not know (deleted users) are left out. */
  private async namesById(collection: 'users' | 'groups', ids: readonly string[], what: string): Promise<Map<string, string>> {
    const unique = [...new Set(ids.map((i) => i.toLowerCase()))];
    const names = new Map<string, string>();
    for (let i = 0; i < unique.length; i += BATCH_MAX) {
      const chunk = unique.slice(i, i + BATCH_MAX);
      let res: { responses?: Array<{ id: string; status: number; body?: { displayName?: string } }> };
      try {
        this.calls++;
        this.batches++;
        res = await this.client
          .api('/$batch')
          .option('signal', AbortSignal.timeout(this.timeoutMs))
          .post({ requests: chunk.map((id, n) => ({ id: String(n), method: 'GET', url: `/${collection}/${encodeURIComponent(id)}?$select=id,displayName` })) });
      } catch (err) {
        throw toGraphCallError(err, what);
      }
      for (const r of res.responses ?? []) {
        const id = chunk[Number(r.id)];
        if (id && r.status === 200 && r.body?.displayName) names.set(id, r.body.displayName);
      }
    }
    return names;
  }
}

export interface ReadDigestOptions extends CollectOptions {
  /** PIM-onboarded groups to read (Graph cannot list them): configured plus seen in the bot's requests. */
  groupIds?: readonly string[];
}

/**
 * Reads the tenant and folds it into digest inputs, in the order that keeps memory bounded: the
 * activation history first (one entry per principal and target), then eligibilities (each checked for
 * dormancy as it streams past, kept only if it ends soon), then active assignments.
 */
export async function readDigestInputs(reads: TenantReads, opts: ReadDigestOptions): Promise<DigestInputs> {
  const groups = [...new Set((opts.groupIds ?? []).map((g) => g.toLowerCase()))];
  const history = new ActivationHistory();
  for await (const a of reads.roleActivations()) history.add(a);
  for (const g of groups) for await (const a of reads.groupActivations(g)) history.add(a);
  const collector = new DigestCollector(history, opts);
  // Ended eligibilities first: a current one read next drops an expired entry that is eligible again.
  if (reads.roleEligibilitySchedules) for await (const e of reads.roleEligibilitySchedules()) collector.addEndedEligibility(e);
  if (reads.groupEligibilitySchedules) for (const g of groups) for await (const e of reads.groupEligibilitySchedules(g)) collector.addEndedEligibility(e);
  for await (const e of reads.roleEligibilities()) collector.addEligibility(e);
  for (const g of groups) for await (const e of reads.groupEligibilities(g)) collector.addEligibility(e);
  for await (const a of reads.roleAssignments()) collector.addAssignment(a);
  for (const g of groups) for await (const a of reads.groupAssignments(g)) collector.addAssignment(a);
  return collector.finish();
}

/** Display names a digest needs: users by id, roles and groups by target key (`kind|role|scope`). */
export interface DigestNames {
  users: Map<string, string>;
  targets: Map<string, string>;
}

/** Names for the given users and targets, one roleDefinitions list plus batches for users and groups. */
export async function resolveNames(
  names: DirectoryNames,
  userIds: readonly string[],
  targets: ReadonlyArray<{ kind: string; roleDefinitionId: string; scope: string }>,
): Promise<DigestNames> {
  const groupIds = [...new Set(targets.filter((t) => t.kind === 'group').map((t) => t.scope.toLowerCase()))];
  const [roles, groups, users] = await Promise.all([
    targets.some((t) => t.kind === 'entraRole') ? names.roleNames() : Promise.resolve(new Map<string, string>()),
    groupIds.length ? names.groupNames(groupIds) : Promise.resolve(new Map<string, string>()),
    userIds.length ? names.userNames(userIds) : Promise.resolve(new Map<string, string>()),
  ]);
  const out = new Map<string, string>();
  for (const t of targets) {
    const key = `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
    if (t.kind === 'group') {
      const g = groups.get(t.scope.toLowerCase());
      if (g) out.set(key, `${g} (${t.roleDefinitionId.toLowerCase() === 'owner' ? 'owner' : 'member'})`);
    } else {
      const r = roles.get(t.roleDefinitionId.toLowerCase());
      if (r) out.set(key, t.scope === '/' ? r : `${r} (scope ${t.scope})`);
    }
  }
  return { users, targets: out };
}
