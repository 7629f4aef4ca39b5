import type { SeedAzureRole, SeedGroup, SeedPimGroup, SeedRole, SeedTenant, SeedUser } from './seed';

/** Which PIM a request belongs to: Entra roles, PIM for Groups, or Azure resources (ARM). */
export type PimKind = 'entraRole' | 'group' | 'azureResource';

/** Graph `unifiedRoleAssignmentScheduleRequest.status` values the simulator produces. */
export type RequestStatus =
  | 'PendingEvaluation'
  | 'PendingApproval'
  | 'Provisioned'
  | 'Denied'
  | 'Failed'
  // Graph's status enum has `TimedOut`; PIM's audit log calls the same event "PIM activation request expired".
  | 'TimedOut';

export type ReviewResult = 'NotReviewed' | 'Approve' | 'Deny';

export interface ApprovalStep {
  id: string;
  displayName: null;
  status: 'NotStarted' | 'InProgress' | 'Completed';
  reviewResult: ReviewResult;
  reviewedDateTime: string | null;
  justification: string | null;
  reviewedBy: { id: string; displayName: string; userPrincipalName: string } | null;
  /** Resolved approver object ids (groups expanded) at the time the step opened. */
  approverIds: string[];
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
  action: 'selfActivate';
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: '/';
  justification: string | null;
  scheduleInfo: { startDateTime: string; expiration: { type: 'afterDuration'; duration: string } };
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

export interface CallRecord {
  time: string;
  method: string;
  path: string;
  query: string;
  status: number;
  oid?: string;
  appid?: string;
}

/** Everything mutable in the simulator; one instance per running server. */
export class SimState {
  readonly requests = new Map<string, PimRequest>();
  readonly instances: AssignmentInstance[] = [];
  readonly calls: CallRecord[] = [];
  /** Explicit sign-in state per user object id; absent means `usersSignedInByDefault`. */
  readonly signedIn = new Map<string, boolean>();
  private clockOffsetMs = 0;

  constructor(
    readonly seed: SeedTenant,
    private readonly baseClock: () => Date,
    readonly usersSignedInByDefault: boolean,
  ) {}

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
      (r) => (r.id.toLowerCase() === k || r.displayName.toLowerCase() === idOrName.toLowerCase()) && (!scope || r.scope.toLowerCase() === scope.toLowerCase().replace(/\/$/, '')),
    );
  }

  approverIds(target: { policy: SeedRole['policy'] }): string[] {
    const ids: string[] = [];
    for (const a of target.policy.primaryApprovers) {
      if (a.kind === 'singleUser') ids.push(a.userId);
      else ids.push(...this.groupUserIds(a.groupId));
    }
    return [...new Set(ids)];
  }

  isSignedIn(userId: string): boolean {
    return this.signedIn.get(userId) ?? this.usersSignedInByDefault;
  }
}
