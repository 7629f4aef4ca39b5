import { randomUUID } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import { RENEW_WINDOW_DAYS } from '../digests/collect';
import type { ArmClient } from '../graph/arm';
import { GROUP_PIM_PATH } from '../graph/directory';
import { toGraphCallError } from '../graph/graph-errors';
import { minutesToIsoDuration } from './policy-rules';
import type { ActivationTarget, ActiveAssignment, EligibleTarget, ExpiredTarget } from './types';

/** PIM ends an activation at its user's request only once it has run this long (else `ActiveDurationTooShort`). */
const MIN_ACTIVE_BEFORE_END_MS = 5 * 60_000;

/**
 * When `deactivate` failed because the activation started less than five minutes ago: the time (ISO 8601) from
 * which PIM will end it. Null for any other failure, or when the start is not known.
 */
export function endableFrom(err: unknown, activeFrom: string | null | undefined): string | null {
  if ((err as { code?: string }).code !== 'ActiveDurationTooShort' || !activeFrom || Number.isNaN(Date.parse(activeFrom))) return null;
  return new Date(Date.parse(activeFrom) + MIN_ACTIVE_BEFORE_END_MS).toISOString();
}

/** The user waits in the chat; past this a read or a submission is reported as not answered. */
const TIMEOUT_MS = 10_000;
const AUTH = '/providers/Microsoft.Authorization';
const ARM_API = '2020-10-01';
const RD = '/roleManagement/directory';

export interface ActivationInput {
  principalId: string;
  durationMinutes: number;
  justification: string | null;
  ticket: { system: string | null; number: string } | null;
  /** When the activation starts; PIM treats "now" as the default. */
  start: Date;
}

/** What PIM answered to a request: its id (the ARM request name for Azure resources) and status. */
export interface SubmittedRequest {
  pimRequestId: string;
  status: string;
  createdDateTime: string | null;
}

/** A request of the user's own that PIM still holds open. */
export interface OwnRequest extends ActivationTarget {
  pimRequestId: string;
  status: string;
  action: string;
  createdDateTime: string | null;
}

/**
 * Port: PIM as the signed-in user (delegated, on-behalf-of). PIM requires the user's own token for
 * self-activation (the MFA and authentication-context rules look at the user's sign-in), and the
 * `filterByCurrentUser` reads answer only to a user.
 */
export interface SelfService {
  eligible(): Promise<EligibleTarget[]>;
  active(): Promise<ActiveAssignment[]>;
  pendingRequests(): Promise<OwnRequest[]>;
  activate(target: ActivationTarget, input: ActivationInput): Promise<SubmittedRequest>;
  /** Asks PIM to extend an eligible assignment that ends soon (Entra roles and Azure resources; groups have no self-extend). */
  extend(target: ActivationTarget, input: { principalId: string; justification: string; extendByDays: number; start: Date }): Promise<SubmittedRequest>;
  /**
   * The user's eligible assignments that ended within the last 30 days (PIM's "Expired" tab), newest end first;
   * none that is eligible again. `now` is the clock the window counts from.
   */
  expired(now: Date): Promise<ExpiredTarget[]>;
  /** Asks PIM to renew an expired eligible assignment (selfRenew; SelfRenew in ARM; groups have no self-renew). */
  renew(target: ActivationTarget, input: { principalId: string; justification: string; renewForDays: number; start: Date }): Promise<SubmittedRequest>;
  /** Withdraws a pending request; `action` says which collection it is in (extensions are eligibility requests). */
  cancel(target: Pick<ActivationTarget, 'kind' | 'scope'>, pimRequestId: string, action?: string): Promise<void>;
  /** Ends the user's running activation of `target` now (selfDeactivate; SelfDeactivate in ARM). */
  deactivate(target: ActivationTarget, principalId: string): Promise<SubmittedRequest>;
}

interface GraphList<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** PIM's open statuses: a request in one of these can still be cancelled. */
export const OPEN_STATUSES = new Set([
  'PendingApproval',
  'PendingEvaluation',
  'PendingAdminDecision',
  'PendingScheduleCreation',
  'PendingApprovalProvisioning',
  'Accepted',
]);

export class GraphSelfService implements SelfService {
  constructor(
    private readonly graph: Client,
    /** ARM as the user; absent, Azure resource roles are not offered. */
    private readonly arm?: ArmClient,
  ) {}

  async eligible(): Promise<EligibleTarget[]> {
    const [roles, groups, azure] = await settled([
      this.list<{ roleDefinitionId: string; directoryScopeId?: string; endDateTime?: string | null; roleDefinition?: { displayName?: string } }>(
        `${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`,
        'Reading your eligible roles',
        'roleDefinition',
      ),
      this.list<{ groupId: string; accessId: string; endDateTime?: string | null; group?: { displayName?: string } }>(
        `${GROUP_PIM_PATH}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')`,
        'Reading your eligible groups',
        'group',
      ),
      this.armList<ArmInstance>('roleEligibilityScheduleInstances', 'Reading your eligible Azure roles'),
    ]);
    const out: EligibleTarget[] = [
      ...roles.map((r) => ({
        kind: 'entraRole' as const,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        displayName: r.roleDefinition?.displayName ?? r.roleDefinitionId,
        eligibleUntil: r.endDateTime ?? null,
      })),
      ...groups.map((g) => ({
        kind: 'group' as const,
        roleDefinitionId: g.accessId,
        scope: g.groupId,
        displayName: groupTitle(g.group?.displayName ?? g.groupId, g.accessId),
        eligibleUntil: g.endDateTime ?? null,
      })),
      ...azure.map((a) => ({ ...armTarget(a), eligibleUntil: a.properties.endDateTime ?? null })),
    ];
    return dedupe(out);
  }

  async active(): Promise<ActiveAssignment[]> {
    const [roles, groups, azure] = await settled([
      this.list<{
        roleDefinitionId: string;
        directoryScopeId?: string;
        startDateTime?: string | null;
        endDateTime?: string | null;
        assignmentType?: string;
        roleDefinition?: { displayName?: string };
      }>(`${RD}/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')`, 'Reading your active roles', 'roleDefinition'),
      this.list<{
        groupId: string;
        accessId: string;
        startDateTime?: string | null;
        endDateTime?: string | null;
        assignmentType?: string;
        group?: { displayName?: string };
      }>(`${GROUP_PIM_PATH}/assignmentScheduleInstances/filterByCurrentUser(on='principal')`, 'Reading your active groups', 'group'),
      this.armList<ArmInstance>('roleAssignmentScheduleInstances', 'Reading your active Azure roles'),
    ]);
    return [
      ...roles.map((r) => ({
        kind: 'entraRole' as const,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        displayName: r.roleDefinition?.displayName ?? r.roleDefinitionId,
        startDateTime: r.startDateTime ?? null,
        endDateTime: r.endDateTime ?? null,
        assignmentType: r.assignmentType ?? 'Activated',
      })),
      ...groups.map((g) => ({
        kind: 'group' as const,
        roleDefinitionId: g.accessId,
        scope: g.groupId,
        displayName: groupTitle(g.group?.displayName ?? g.groupId, g.accessId),
        startDateTime: g.startDateTime ?? null,
        endDateTime: g.endDateTime ?? null,
        assignmentType: g.assignmentType ?? 'Activated',
      })),
      ...azure.map((a) => ({
        ...armTarget(a),
        startDateTime: a.properties.startDateTime ?? null,
        endDateTime: a.properties.endDateTime ?? null,
        assignmentType: a.properties.assignmentType ?? 'Activated',
      })),
    ];
  }

  async pendingRequests(): Promise<OwnRequest[]> {
    type RoleRequest = {
      id: string;
      status: string;
      action: string;
      roleDefinitionId: string;
      directoryScopeId?: string;
      createdDateTime?: string;
      roleDefinition?: { displayName?: string };
    };
    const [activations, extensions, groups] = await settled([
      this.list<RoleRequest>(`${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')`, 'Reading your PIM requests', 'roleDefinition'),
      // Extensions of eligibility are eligibility requests: a collection of their own.
      this.list<RoleRequest>(
        `${RD}/roleEligibilityScheduleRequests/filterByCurrentUser(on='principal')`,
        'Reading your PIM extension requests',
        'roleDefinition',
      ),
      this.list<{ id: string; status: string; action: string; groupId: string; accessId: string; createdDateTime?: string; group?: { displayName?: string } }>(
        `${GROUP_PIM_PATH}/assignmentScheduleRequests/filterByCurrentUser(on='principal')`,
        'Reading your PIM group requests',
        'group',
      ),
    ]);
    return [
      ...[...activations, ...extensions].map((r) => ({
        kind: 'entraRole' as const,
        roleDefinitionId: r.roleDefinitionId,
        scope: r.directoryScopeId ?? '/',
        displayName: r.roleDefinition?.displayName ?? r.roleDefinitionId,
        pimRequestId: r.id,
        status: r.status,
        action: r.action,
        createdDateTime: r.createdDateTime ?? null,
      })),
      ...groups.map((g) => ({
        kind: 'group' as const,
        roleDefinitionId: g.accessId,
        scope: g.groupId,
        displayName: groupTitle(g.group?.displayName ?? g.groupId, g.accessId),
        pimRequestId: g.id,
        status: g.status,
        action: g.action,
        createdDateTime: g.createdDateTime ?? null,
      })),
    ].filter((r) => OPEN_STATUSES.has(r.status));
  }

  async activate(target: ActivationTarget, input: ActivationInput): Promise<SubmittedRequest> {
    const scheduleInfo = {
      startDateTime: input.start.toISOString(),
      expiration: { type: 'afterDuration', duration: minutesToIsoDuration(input.durationMinutes) },
    };
    const ticketInfo = input.ticket ? { ticketNumber: input.ticket.number, ticketSystem: input.ticket.system } : undefined;
    const justification = input.justification ?? undefined;
    if (target.kind === 'azureResource') {
      return this.armRequest('roleAssignmentScheduleRequests', target.scope, 'Submitting the activation', {
        principalId: input.principalId,
        roleDefinitionId: target.roleDefinitionId,
        requestType: 'SelfActivate',
        justification,
        scheduleInfo: armSchedule(scheduleInfo),
        ticketInfo,
      });
    }
    const body =
      target.kind === 'group'
        ? {
            action: 'selfActivate',
            principalId: input.principalId,
            groupId: target.scope,
            accessId: target.roleDefinitionId,
            justification,
            scheduleInfo,
            ticketInfo,
          }
        : {
            action: 'selfActivate',
            principalId: input.principalId,
            roleDefinitionId: target.roleDefinitionId,
            directoryScopeId: target.scope,
            justification,
            scheduleInfo,
            ticketInfo,
          };
    const path = target.kind === 'group' ? `${GROUP_PIM_PATH}/assignmentScheduleRequests` : `${RD}/roleAssignmentScheduleRequests`;
    return this.post(path, body, 'Submitting the activation');
  }

  async extend(target: ActivationTarget, input: { principalId: string; justification: string; extendByDays: number; start: Date }): Promise<SubmittedRequest> {
    const scheduleInfo = { startDateTime: input.start.toISOString(), expiration: { type: 'afterDuration', duration: `P${input.extendByDays}D` } };
    if (target.kind === 'group') throw new Error('PIM for Groups has no self-extend');
    if (target.kind === 'azureResource') {
      return this.armRequest('roleEligibilityScheduleRequests', target.scope, 'Requesting the extension', {
        principalId: input.principalId,
        roleDefinitionId: target.roleDefinitionId,
        requestType: 'SelfExtend',
        justification: input.justification,
        scheduleInfo: armSchedule(scheduleInfo),
      });
    }
    return this.post(
      `${RD}/roleEligibilityScheduleRequests`,
      {
        action: 'selfExtend',
        principalId: input.principalId,
        roleDefinitionId: target.roleDefinitionId,
        directoryScopeId: target.scope,
        justification: input.justification,
        scheduleInfo,
      },
      'Requesting the extension',
    );
  }

  /**
   * Expired eligibility is read from the *schedules*, which PIM keeps after the end, not the instances (current
   * eligibility only): Graph's roleEligibilitySchedules and PIM for Groups' eligibilitySchedules with
   * filterByCurrentUser(on='principal'), and ARM's roleEligibilitySchedules with asTarget(). Neither Graph's
   * schedule status list nor ARM's documents an "Expired" status, so the end date tells: an end in the last 30
   * days, and no schedule of the same target that still runs (eligible again).
   */
  async expired(now: Date): Promise<ExpiredTarget[]> {
    type Expiration = { expiration?: { endDateTime?: string | null } | null } | null;
    const [roles, groups, azure] = await settled([
      this.list<{ roleDefinitionId: string; directoryScopeId?: string; scheduleInfo?: Expiration; roleDefinition?: { displayName?: string } }>(
        `${RD}/roleEligibilitySchedules/filterByCurrentUser(on='principal')`,
        'Reading your expired roles',
        'roleDefinition',
      ),
      this.list<{ groupId: string; accessId: string; scheduleInfo?: Expiration; group?: { displayName?: string } }>(
        `${GROUP_PIM_PATH}/eligibilitySchedules/filterByCurrentUser(on='principal')`,
        'Reading your expired groups',
        'group',
      ),
      this.armList<ArmInstance>('roleEligibilitySchedules', 'Reading your expired Azure roles'),
    ]);
    const ends: Array<{ target: ActivationTarget; end: string | null }> = [
      ...roles.map((r) => ({
        target: {
          kind: 'entraRole' as const,
          roleDefinitionId: r.roleDefinitionId,
          scope: r.directoryScopeId ?? '/',
          displayName: r.roleDefinition?.displayName ?? r.roleDefinitionId,
        },
        end: r.scheduleInfo?.expiration?.endDateTime ?? null,
      })),
      ...groups.map((g) => ({
        target: {
          kind: 'group' as const,
          roleDefinitionId: g.accessId,
          scope: g.groupId,
          displayName: groupTitle(g.group?.displayName ?? g.groupId, g.accessId),
        },
        end: g.scheduleInfo?.expiration?.endDateTime ?? null,
      })),
      ...azure.map((a) => ({ target: armTarget(a), end: a.properties.endDateTime ?? null })),
    ];
    const key = (t: ActivationTarget) => `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
    const t0 = now.getTime();
    const running = new Set(ends.filter((e) => e.end === null || Date.parse(e.end) > t0).map((e) => key(e.target)));
    const byKey = new Map<string, ExpiredTarget>();
    for (const { target, end } of ends) {
      if (end === null || running.has(key(target))) continue;
      const at = Date.parse(end);
      if (Number.isNaN(at) || at > t0 || t0 - at > RENEW_WINDOW_DAYS * 86_400_000) continue;
      const seen = byKey.get(key(target));
      if (!seen || Date.parse(seen.endedAt) < at) byKey.set(key(target), { ...target, endedAt: end });
    }
    return [...byKey.values()].sort((a, b) => Date.parse(b.endedAt) - Date.parse(a.endedAt));
  }

  /**
   * No request body for selfRenew is published (Graph lists the action; ARM the SelfRenew request type): this
   * sends selfExtend's documented shape with the action changed, on the eligibility requests, where PIM files
   * what changes an eligible assignment.
   */
  async renew(target: ActivationTarget, input: { principalId: string; justification: string; renewForDays: number; start: Date }): Promise<SubmittedRequest> {
    const scheduleInfo = { startDateTime: input.start.toISOString(), expiration: { type: 'afterDuration', duration: `P${input.renewForDays}D` } };
    if (target.kind === 'group') throw new Error('PIM for Groups has no self-renew');
    if (target.kind === 'azureResource') {
      return this.armRequest('roleEligibilityScheduleRequests', target.scope, 'Requesting the renewal', {
        principalId: input.principalId,
        roleDefinitionId: target.roleDefinitionId,
        requestType: 'SelfRenew',
        justification: input.justification,
        scheduleInfo: armSchedule(scheduleInfo),
      });
    }
    return this.post(
      `${RD}/roleEligibilityScheduleRequests`,
      {
        action: 'selfRenew',
        principalId: input.principalId,
        roleDefinitionId: target.roleDefinitionId,
        directoryScopeId: target.scope,
        justification: input.justification,
        scheduleInfo,
      },
      'Requesting the renewal',
    );
  }

  async cancel(target: Pick<ActivationTarget, 'kind' | 'scope'>, pimRequestId: string, action = 'selfActivate'): Promise<void> {
    const eligibility = /extend|renew/i.test(action);
    if (target.kind === 'azureResource') {
      await this.requireArm().call(
        'POST',
        `${target.scope}${AUTH}/${eligibility ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests'}/${encodeURIComponent(pimRequestId)}/cancel?api-version=${ARM_API}`,
        'Cancelling the request',
      );
      return;
    }
    const path =
      target.kind === 'group'
        ? `${GROUP_PIM_PATH}/assignmentScheduleRequests`
        : `${RD}/${eligibility ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests'}`;
    try {
      await this.graph
        .api(`${path}/${encodeURIComponent(pimRequestId)}/cancel`)
        .option('signal', AbortSignal.timeout(TIMEOUT_MS))
        .post({});
    } catch (err) {
      throw toGraphCallError(err, 'Cancelling the request');
    }
  }

  async deactivate(target: ActivationTarget, principalId: string): Promise<SubmittedRequest> {
    const what = 'Ending the activation';
    if (target.kind === 'azureResource') {
      return this.armRequest('roleAssignmentScheduleRequests', target.scope, what, {
        principalId,
        roleDefinitionId: target.roleDefinitionId,
        requestType: 'SelfDeactivate',
      });
    }
    if (target.kind === 'group') {
      return this.post(
        `${GROUP_PIM_PATH}/assignmentScheduleRequests`,
        { action: 'selfDeactivate', principalId, groupId: target.scope, accessId: target.roleDefinitionId },
        what,
      );
    }
    return this.post(
      `${RD}/roleAssignmentScheduleRequests`,
      { action: 'selfDeactivate', principalId, roleDefinitionId: target.roleDefinitionId, directoryScopeId: target.scope },
      what,
    );
  }

  /** ARM requests are PUT under a name the client chooses; the name is the request's id afterwards. */
  private async armRequest(collection: string, scope: string, what: string, properties: Record<string, unknown>): Promise<SubmittedRequest> {
    const name = randomUUID();
    const res = await this.requireArm().call<{ name?: string; properties: { status: string; createdOn?: string } }>(
      'PUT',
      `${scope}${AUTH}/${collection}/${name}?api-version=${ARM_API}`,
      what,
      { properties },
    );
    return { pimRequestId: res.name ?? name, status: res.properties.status, createdDateTime: res.properties.createdOn ?? null };
  }

  private async post(path: string, body: unknown, what: string): Promise<SubmittedRequest> {
    try {
      const r = await this.graph.api(path).option('signal', AbortSignal.timeout(TIMEOUT_MS)).post(body);
      return { pimRequestId: String(r.id), status: String(r.status), createdDateTime: r.createdDateTime ?? null };
    } catch (err) {
      throw toGraphCallError(err, what);
    }
  }

  private async list<T>(path: string, what: string, expand?: string): Promise<T[]> {
    const out: T[] = [];
    try {
      let req = this.graph.api(path).option('signal', AbortSignal.timeout(TIMEOUT_MS));
      if (expand) req = req.expand(expand);
      let page = (await req.get()) as GraphList<T>;
      for (let pages = 0; ; pages++) {
        out.push(...(page.value ?? []));
        const next = page['@odata.nextLink'];
        if (!next || pages > 20) break;
        page = (await this.graph.api(next).option('signal', AbortSignal.timeout(TIMEOUT_MS)).get()) as GraphList<T>;
      }
    } catch (err) {
      throw toGraphCallError(err, what);
    }
    return out;
  }

  private async armList<T>(collection: string, what: string): Promise<T[]> {
    if (!this.arm) return [];
    const res = await this.arm.call<{ value?: T[] }>('GET', `${AUTH}/${collection}?api-version=${ARM_API}&$filter=${encodeURIComponent('asTarget()')}`, what);
    return res.value ?? [];
  }

  private requireArm(): ArmClient {
    if (!this.arm) throw new Error('Azure resource roles need ARM_BASE_URL');
    return this.arm;
  }
}

/**
 * Groups and Azure resources answer on their own: a tenant without PIM for Groups or a user without ARM
 * consent still gets their Entra roles. The first read (Entra roles) must succeed: without it an empty
 * list would tell the user they are eligible for nothing.
 */
async function settled<T extends unknown[]>(reads: { [K in keyof T]: Promise<T[K]> }): Promise<{ [K in keyof T]: T[K] }> {
  const results = await Promise.allSettled(reads as unknown as Promise<unknown>[]);
  if (results[0]!.status === 'rejected') throw results[0]!.reason;
  return results.map((r) => (r.status === 'fulfilled' ? r.value : [])) as { [K in keyof T]: T[K] };
}

interface ArmInstance {
  properties: {
    scope: string;
    roleDefinitionId: string;
    startDateTime?: string | null;
    endDateTime?: string | null;
    assignmentType?: string;
    expandedProperties?: { roleDefinition?: { displayName?: string }; scope?: { displayName?: string } };
  };
}

/** ARM spells the expiration type in Pascal case. */
function armSchedule(s: { startDateTime: string; expiration: { type: string; duration: string } }) {
  return { ...s, expiration: { ...s.expiration, type: 'AfterDuration' } };
}

function armTarget(a: ArmInstance): ActivationTarget {
  const role = a.properties.expandedProperties?.roleDefinition?.displayName ?? a.properties.roleDefinitionId.split('/').pop() ?? 'Azure role';
  const scope = a.properties.expandedProperties?.scope?.displayName ?? a.properties.scope;
  return { kind: 'azureResource', roleDefinitionId: a.properties.roleDefinitionId, scope: a.properties.scope, displayName: `${role} on ${scope}` };
}

export function groupTitle(groupName: string, accessId: string): string {
  return `${groupName} (${accessId === 'owner' ? 'owner' : 'member'})`;
}

/** PIM can list one eligibility twice (direct and through a group); keep the one that lasts longest. */
function dedupe(items: EligibleTarget[]): EligibleTarget[] {
  const byKey = new Map<string, EligibleTarget>();
  for (const t of items) {
    const key = `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
    const seen = byKey.get(key);
    if (!seen || (seen.eligibleUntil !== null && (t.eligibleUntil === null || t.eligibleUntil > seen.eligibleUntil))) byKey.set(key, t);
  }
  return [...byKey.values()];
}
