import { applySeedActivity, seededAssignments } from './scale-seed';
import type { SeedAzureRole, SeedEligibilityEnd, SeedGroup, SeedPimGroup, SeedRole, SeedTenant, SeedUser } from './seed';

/** Which PIM a request belongs to: Entra roles, PIM for Groups, or Azure resources (ARM). */
export type PimKind = 'entraRole' | 'group' | 'azureResource';

/** Graph `unifiedRoleAssignmentScheduleRequest.status` values the simulator produces. */
export type RequestStatus =
  | 'PendingEvaluation'
  | 'PendingApproval'
  // A selfExtend waits for an administrator (no approval step, no custom extension call).
  | 'PendingAdminDecision'
  | 'Provisioned'
  // Canceled by the requester while pending.
  | 'Canceled'
  | 'Denied'
  | 'Failed'
  // Graph's status enum has `TimedOut`; PIM's audit log calls the same event "PIM activation request expired".
  | 'TimedOut'
  // A selfDeactivate that ended a running activation.
  | 'Revoked';

export type ReviewResult = 'NotReviewed' | 'Approve' | 'Deny';

export interface ApprovalStep {
  id: string;
  displayName: null;
  status: 'NotStarted' | 'InProgress' | 'Completed';
  reviewResult: ReviewResult;
  reviewedDateTime: string | null;
  justification: string | null;
  reviewedBy: { id: string; displayName: string; userPrincipalName: string } | null;
  /**
   * Who may decide now: the primary approvers resolved when the step opened (groups expanded; PIM's default
   * approvers when the policy names none), and the escalation approvers too once `escalatesAt` has passed.
   * On steps the engine opens this is a getter on the simulator clock (pim-engine.ts `openApproval`).
   */
  readonly approverIds: string[];
  /** The escalation approvers resolved when the step opened (empty when the policy enables no escalation). */
  escalationApproverIds?: string[];
  /** When the escalation approvers may decide too (ISO): the step's opening plus escalationTimeInMinutes; null without escalation. */
  escalatesAt?: string | null;
  isApproverJustificationRequired: boolean;
}

export interface Evaluation {
  evaluationId: string;
  evaluationOutcome: 'Approved' | 'AutoApproved' | 'Denied';
  reason: string[];
}

export interface PimRequest {
  id: string;
  kind: PimKind;
  status: RequestStatus;
  action: 'selfActivate' | 'selfExtend' | 'selfDeactivate' | 'selfRenew' | 'adminExtend' | 'adminRenew';
  /** Who filed it when not the principal (an administrator's adminExtend or adminRenew), lower case. */
  requestedBy?: string;
  /**
   * Which request collection it was filed in: `roleAssignmentScheduleRequests` (activations; the
   * simulator accepts extensions there too) or `roleEligibilityScheduleRequests` (where Graph and ARM
   * document extending an eligible assignment). Each collection lists, reads and cancels its own.
   */
  collection: 'assignment' | 'eligibility';
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: '/';
  justification: string | null;
  scheduleInfo: { startDateTime: string; expiration: RequestExpiration };
  ticketInfo: { ticketNumber: string | null; ticketSystem: string | null };
  createdDateTime: string;
  completedDateTime: string | null;
  approvalId: string | null;
  targetScheduleId: string;
  /** PIM for Groups: the group and `member`/`owner` (roleDefinitionId holds the accessId too). */
  groupId?: string;
  accessId?: 'member' | 'owner';
  /** Azure resources: the ARM scope and the request's resource name (roleDefinitionId is the ARM path). */
  scope?: string;
  armName?: string;
  approval?: { id: string; steps: ApprovalStep[] };
  evaluation?: Evaluation;
  /** Why the request failed (extension unreachable, bad verdict); not a Graph field. */
  failureReason?: string;
}

/**
 * Graph's `expirationPattern` as a request carries it: activations always have a duration; an
 * extension may name an end, a duration, or leave the new end to the administrator (`notSpecified`).
 */
export type RequestExpiration = { type: 'afterDuration'; duration: string } | { type: 'afterDateTime'; endDateTime: string } | { type: 'notSpecified' };

/** The duration a request asked for (activations always carry one), or null. */
export function durationOf(r: PimRequest): string | null {
  return r.scheduleInfo.expiration.type === 'afterDuration' ? r.scheduleInfo.expiration.duration : null;
}

/** Statuses from which the requester may still cancel. */
export const CANCELABLE_STATUSES: ReadonlySet<RequestStatus> = new Set(['PendingEvaluation', 'PendingApproval', 'PendingAdminDecision']);

/** How strongly a user signed in: PIM's MfaRule reads `amr`, authentication contexts read `acrs`. */
export interface UserSession {
  mfa: boolean;
  acrs: string[];
}

export const DEFAULT_SESSION: Readonly<UserSession> = Object.freeze({ mfa: true, acrs: [] as string[] });

export interface AssignmentInstance {
  id: string;
  kind: PimKind;
  /** Group id or ARM scope for those kinds; '/' for Entra roles. */
  target: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: '/';
  startDateTime: string;
  endDateTime: string;
  requestId: string;
}

/**
 * One call the simulator received (GET /_sim/calls), logged when it arrives, so a call whose caller never
 * read the answer (it gave up, or its process died) is in the log too.
 */
export interface CallRecord {
  /** When the call arrived. */
  time: string;
  method: string;
  path: string;
  query: string;
  /**
   * The status the simulator answered with; 0 while the call is being handled (its answer held by a fault,
   * or not yet computed), as the Bot Connector stand-in's call log has it. A call whose caller went away
   * keeps the status of what the simulator did with it.
   */
  status: number;
  oid?: string;
  appid?: string;
  /** When the answer was ready (and sent, unless `abandoned`). */
  answeredAt?: string;
  /** The simulator's request-id (Graph's `request-id` header); a `$batch` item names its batch's in `batchItemOf`. */
  requestId?: string;
  /** The caller went away before its answer was sent: the call may have been carried out, but nobody read the answer. */
  abandoned?: boolean;
}

/** Everything mutable in the simulator; one instance per running server. */
export class SimState {
  readonly requests = new Map<string, PimRequest>();
  readonly instances: AssignmentInstance[] = [];
  readonly calls: CallRecord[] = [];
  /**
   * Explicit sign-in state per user object id: a session, or null once signed out. Absent means
   * `usersSignedInByDefault` (with DEFAULT_SESSION's strength).
   */
  readonly sessions = new Map<string, UserSession | null>();
  private clockOffsetMs = 0;
  /** The simulator clock when the simulator started: seeded eligibility ends count from here. */
  readonly startedAt: Date;

  /**
   * Eligibility ends an administrator changed (adminExtend, adminRenew), per seeded role, group or Azure role and
   * `user|accessId`: kept here, not written into the seed, which tests share and change while a simulator runs.
   */
  private readonly endOverrides = new WeakMap<object, Map<string, string>>();

  constructor(
    readonly seed: SeedTenant,
    private readonly baseClock: () => Date,
    readonly usersSignedInByDefault: boolean,
  ) {
    this.startedAt = baseClock();
  }

  /** An administrator moved one user's eligibility end (ISO 8601). */
  setEligibilityEnd(target: object, userId: string, accessId: string | undefined, endIso: string): void {
    const ends = this.endOverrides.get(target) ?? new Map<string, string>();
    this.endOverrides.set(target, ends);
    ends.set(`${userId.toLowerCase()}|${accessId ?? ''}`, endIso);
  }

  /** The changed ends of a target, or undefined when an administrator changed none (most targets: no per-item cost). */
  changedEnds(target: object): { of(userId: string, accessId?: string): string | undefined } | undefined {
    const ends = this.endOverrides.get(target);
    return ends ? { of: (userId, accessId) => ends.get(`${userId.toLowerCase()}|${accessId ?? ''}`) } : undefined;
  }

  now(): Date {
    return new Date(this.baseClock().getTime() + this.clockOffsetMs);
  }

  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  user(idOrUpn: string | undefined): SeedUser | undefined {
    if (!idOrUpn) return undefined;
    const k = idOrUpn.toLowerCase();
    return this.seed.users.find((u) => u.id.toLowerCase() === k || u.userPrincipalName.toLowerCase() === k);
  }

  /** Teams sends `from.id` to the token service; the playground also lets callers use the AAD object id. */
  userByChannelId(userId: string | undefined): SeedUser | undefined {
    if (!userId) return undefined;
    return this.seed.users.find((u) => u.teamsUserId === userId) ?? this.user(userId);
  }

  group(id: string): SeedGroup | undefined {
    return this.seed.groups.find((g) => g.id.toLowerCase() === id.toLowerCase());
  }

  role(idOrName: string | undefined): SeedRole | undefined {
    if (!idOrName) return undefined;
    const k = idOrName.toLowerCase();
    return this.seed.roles.find((r) => r.id.toLowerCase() === k || r.templateId.toLowerCase() === k || r.displayName.toLowerCase() === k);
  }

  /** Transitive user members of a group; nested groups are followed once each. */
  groupUserIds(groupId: string, seen = new Set<string>()): string[] {
    if (seen.has(groupId)) return [];
    seen.add(groupId);
    const g = this.group(groupId);
    if (!g) return [];
    const out: string[] = [];
    for (const m of g.members) {
      if (this.user(m)) out.push(m);
      else if (this.group(m)) out.push(...this.groupUserIds(m, seen));
    }
    return [...new Set(out)];
  }

  /** A PIM-enabled group by id or display name. */
  pimGroup(idOrName: string | undefined): { group: SeedGroup; pim: SeedPimGroup } | undefined {
    if (!idOrName) return undefined;
    const k = idOrName.toLowerCase();
    const group = this.seed.groups.find((g) => g.id.toLowerCase() === k || g.displayName.toLowerCase() === k);
    const pim = group && (this.seed.pimGroups ?? []).find((p) => p.groupId.toLowerCase() === group.id.toLowerCase());
    return group && pim ? { group, pim } : undefined;
  }

  /** An Azure role by display name, GUID or ARM role definition path, optionally at one scope. */
  azureRole(idOrName: string | undefined, scope?: string): SeedAzureRole | undefined {
    if (!idOrName) return undefined;
    const k = idOrName.toLowerCase().split('/').pop()!;
    return (this.seed.azureRoles ?? []).find(
      (r) =>
        (r.id.toLowerCase() === k || r.displayName.toLowerCase() === idOrName.toLowerCase()) &&
        (!scope || r.scope.toLowerCase() === scope.toLowerCase().replace(/\/$/, '')),
    );
  }

  approverIds(target: { policy: SeedRole['policy'] }): string[] {
    return this.subjectUserIds(target.policy.primaryApprovers);
  }

  /** The escalation approvers a policy names, groups expanded. */
  escalationApproverIds(target: { policy: SeedRole['policy'] }): string[] {
    return this.subjectUserIds(target.policy.escalationApprovers ?? []);
  }

  private subjectUserIds(subjects: SeedRole['policy']['primaryApprovers']): string[] {
    const ids: string[] = [];
    for (const a of subjects) {
      if (a.kind === 'singleUser') ids.push(a.userId);
      else ids.push(...this.groupUserIds(a.groupId));
    }
    return [...new Set(ids)];
  }

  /**
   * Active assignments of an Entra role at directory scope: the seeded permanent ones (`assigned`), a
   * generated tenant's `Assigned` ones (scale-seed.ts activity), and the PIM activations still running on the
   * simulator clock. Principals as assigned (users or groups).
   */
  roleAssignments(roleDefinitionId: string): Array<{ id: string; principalId: string; roleDefinitionId: string; directoryScopeId: '/' }> {
    const role = this.role(roleDefinitionId);
    if (!role || role.displayName.toLowerCase() === roleDefinitionId.toLowerCase()) return [];
    const now = this.now().getTime();
    applySeedActivity(this);
    const permanent = (role.assigned ?? []).map((principalId) => ({
      id: `${principalId}_${role.id}_/`,
      principalId,
      roleDefinitionId: role.id,
      directoryScopeId: '/' as const,
    }));
    const assigned = seededAssignments(this, 'entraRole', now)
      .filter((a) => a.roleDefinitionId.toLowerCase() === role.id.toLowerCase() && Date.parse(a.startDateTime) <= now)
      .map((a) => ({ id: a.id, principalId: a.principalId, roleDefinitionId: role.id, directoryScopeId: '/' as const }));
    const activated = this.instances
      .filter(
        (i) =>
          i.kind === 'entraRole' &&
          i.roleDefinitionId.toLowerCase() === role.id.toLowerCase() &&
          Date.parse(i.startDateTime) <= now &&
          Date.parse(i.endDateTime) > now,
      )
      .map((i) => ({ id: i.id, principalId: i.principalId, roleDefinitionId: role.id, directoryScopeId: '/' as const }));
    return [...permanent, ...assigned, ...activated];
  }

  /** Users holding an Entra role now (role-assignable groups expanded to their members). */
  roleHolderIds(roleDefinitionId: string): string[] {
    const ids: string[] = [];
    for (const a of this.roleAssignments(roleDefinitionId)) {
      if (this.user(a.principalId)) ids.push(this.user(a.principalId)!.id);
      else if (this.group(a.principalId)) ids.push(...this.groupUserIds(a.principalId));
    }
    return [...new Set(ids)];
  }

  /** The user's session with the token service, or undefined when signed out. */
  session(userId: string): UserSession | undefined {
    const s = this.sessions.get(userId);
    if (s === null) return undefined;
    if (s) return s;
    return this.usersSignedInByDefault ? { ...DEFAULT_SESSION, acrs: [] } : undefined;
  }

  isSignedIn(userId: string): boolean {
    return this.session(userId) !== undefined;
  }

  signIn(userId: string, strength: Partial<UserSession> = {}): UserSession {
    const s: UserSession = { mfa: strength.mfa ?? DEFAULT_SESSION.mfa, acrs: [...(strength.acrs ?? DEFAULT_SESSION.acrs)] };
    this.sessions.set(userId, s);
    this.sessionGenerations.set(userId, this.sessionGeneration(userId) + 1);
    return s;
  }

  signOut(userId: string): void {
    this.sessions.set(userId, null);
    this.sessionGenerations.set(userId, this.sessionGeneration(userId) + 1);
  }

  /** Changes with every sign-in and sign-out: the token service keeps a user's token for one session only. */
  sessionGeneration(userId: string): number {
    return this.sessionGenerations.get(userId) ?? 0;
  }

  private readonly sessionGenerations = new Map<string, number>();

  /**
   * When a user's eligible assignment ends (ISO), or null when it is permanent. Ends are fixed at
   * simulator start plus the seeded days, so advancing the clock moves "now" towards them.
   */
  eligibilityEnd(target: { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> }, userId: string, accessId?: string): string | null {
    const changed = this.changedEnds(target)?.of(userId, accessId);
    if (changed) return changed;
    const e = (target.eligibilityEnds ?? []).find(
      (x) => x.userId.toLowerCase() === userId.toLowerCase() && (!x.accessId || !accessId || x.accessId === accessId),
    );
    return e ? new Date(this.startedAt.getTime() + e.daysFromNow * 24 * 3600 * 1000).toISOString() : null;
  }

  /** Listed as eligible and not yet ended at the simulator clock. */
  isEligible(target: { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> }, eligible: string[], userId: string, accessId?: string): boolean {
    if (!eligible.some((u) => u.toLowerCase() === userId.toLowerCase())) return false;
    const end = this.eligibilityEnd(target, userId, accessId);
    return end === null || Date.parse(end) > this.now().getTime();
  }

  /** An Azure scope as ARM's expandedProperties name it. */
  azureScopeInfo(scope: string): { id: string; displayName: string; type: string } {
    const parts = scope.split('/').filter(Boolean);
    const sub = parts[0]?.toLowerCase() === 'subscriptions' ? parts[1] : undefined;
    if (sub && parts.length === 2) {
      const s = (this.seed.azureSubscriptions ?? []).find((x) => x.subscriptionId.toLowerCase() === sub.toLowerCase());
      return { id: scope, displayName: s?.displayName ?? sub, type: 'subscription' };
    }
    if (parts.length === 4 && parts[2]!.toLowerCase() === 'resourcegroups') return { id: scope, displayName: parts[3]!, type: 'resourcegroup' };
    if (parts.length === 0) return { id: '/', displayName: 'Root', type: 'managementgroup' };
    return { id: scope, displayName: parts[parts.length - 1]!, type: 'resource' };
  }
}
