import { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from './graph-errors';

/** App-only reads of Graph timed out after this: card context is fetched after PIM has its answer. */
const READ_TIMEOUT_MS = 8000;

export interface UserProfile {
  id: string;
  displayName: string;
  userPrincipalName: string;
  jobTitle: string | null;
  department: string | null;
  mail: string | null;
}

export interface RoleApprovalPolicy {
  isApprovalRequired: boolean;
  isApproverJustificationRequired: boolean;
  /** Object ids of every user who may approve, groups expanded. */
  approverIds: string[];
}

/**
 * What a PIM request is for, in the normalised form the store keeps: an Entra role at a directory
 * scope, `member`/`owner` of a group (scope = group id), or an ARM role definition path at an ARM scope.
 */
export interface PimTarget {
  kind: string;
  roleDefinitionId: string;
  scope: string;
}

/** A tracked request: its target, who asked, and PIM's id (Entra roles and groups) or our request key (Azure). */
export interface PimRequestRef extends PimTarget {
  pimRequestId: string;
  principalId: string;
  createdAt: string;
}

/** Port: Azure resource (ARM) reads the directory needs, made with the bot's own identity. */
export interface AzureResourceReads {
  roleDisplayName(roleDefinitionId: string): Promise<string>;
  approvalPolicy(scope: string, roleDefinitionId: string): Promise<RoleApprovalPolicy>;
  requestStatus(ref: PimRequestRef): Promise<string>;
}

/** Port: the directory and PIM policy reads the bot makes with its own (application) identity. */
export interface Directory {
  user(id: string): Promise<UserProfile>;
  /** The role's name; for a group, the group's name and the access (member/owner). */
  roleDisplayName(target: PimTarget): Promise<string>;
  /** The PIM policy's approval settings for the target (Entra role, group access, Azure role at a scope). */
  approvalPolicy(target: PimTarget): Promise<RoleApprovalPolicy>;
  /** PIM's status of an activation request (PendingApproval, Provisioned, Denied, TimedOut, ...). */
  requestStatus(ref: PimRequestRef): Promise<string>;
}

/** Graph's PIM for Groups request and approval paths. */
export const GROUP_PIM_PATH = '/identityGovernance/privilegedAccess/group';

interface PolicyRule {
  '@odata.type'?: string;
  id: string;
  setting?: {
    isApprovalRequired?: boolean;
    approvalStages?: Array<{
      isApproverJustificationRequired?: boolean;
      primaryApprovers?: Array<{ '@odata.type'?: string; userId?: string; groupId?: string }>;
    }>;
  };
}

export class GraphDirectory implements Directory {
  constructor(
    private readonly client: Client,
    /** Azure resource reads go to ARM; absent, Azure resource requests have no policy or status here. */
    private readonly azure?: AzureResourceReads,
  ) {}

  private arm(): AzureResourceReads {
    if (!this.azure) throw new Error('Azure resource requests need ARM_BASE_URL and an ARM reader');
    return this.azure;
  }

  async user(id: string): Promise<UserProfile> {
    try {
      const u = await this.client
        .api(`/users/${encodeURIComponent(id)}`)
        .select(['id', 'displayName', 'userPrincipalName', 'jobTitle', 'department', 'mail'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return { id: u.id, displayName: u.displayName ?? u.userPrincipalName, userPrincipalName: u.userPrincipalName, jobTitle: u.jobTitle ?? null, department: u.department ?? null, mail: u.mail ?? null };
    } catch (err) {
      throw toGraphCallError(err, 'Reading the user');
    }
  }

  async roleDisplayName(target: PimTarget): Promise<string> {
    if (target.kind === 'group') {
      const name = await this.groupDisplayName(target.scope);
      return `${name} (${target.roleDefinitionId === 'owner' ? 'owner' : 'member'})`;
    }
    if (target.kind === 'azureResource') return this.arm().roleDisplayName(target.roleDefinitionId);
    const roleDefinitionId = target.roleDefinitionId;
    try {
      const r = await this.client
        .api(`/roleManagement/directory/roleDefinitions/${encodeURIComponent(roleDefinitionId)}`)
        .select(['id', 'displayName'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return r.displayName as string;
    } catch (err) {
      throw toGraphCallError(err, 'Reading the role definition');
    }
  }

  private async groupDisplayName(groupId: string): Promise<string> {
    try {
      const g = await this.client
        .api(`/groups/${encodeURIComponent(groupId)}`)
        .select(['id', 'displayName'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return String(g.displayName ?? groupId);
    } catch (err) {
      throw toGraphCallError(err, 'Reading the group');
    }
  }

  async approvalPolicy(target: PimTarget): Promise<RoleApprovalPolicy> {
    if (target.kind === 'azureResource') return this.arm().approvalPolicy(target.scope, target.roleDefinitionId);
    const q = (v: string) => v.replace(/'/g, "''");
    // Groups: one policy assignment per group and access, scopeType Group, roleDefinitionId member|owner.
    const filter = target.kind === 'group'
      ? `scopeId eq '${q(target.scope)}' and scopeType eq 'Group' and roleDefinitionId eq '${q(target.roleDefinitionId)}'`
      : `scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${q(target.roleDefinitionId)}'`;
    let rules: PolicyRule[];
    try {
      const res = await this.client
        .api('/policies/roleManagementPolicyAssignments')
        .filter(filter)
        .expand('policy($expand=rules)')
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      rules = (res.value?.[0]?.policy?.rules ?? []) as PolicyRule[];
    } catch (err) {
      throw toGraphCallError(err, 'Reading the role policy');
    }
    const approval = rules.find((r) => r.id === 'Approval_EndUser_Assignment');
    const stage = approval?.setting?.approvalStages?.[0];
    const ids = new Set<string>();
    for (const subject of stage?.primaryApprovers ?? []) {
      const type = subject['@odata.type'] ?? '';
      if (type.endsWith('singleUser') && subject.userId) ids.add(subject.userId.toLowerCase());
      else if (type.endsWith('groupMembers') && subject.groupId) for (const m of await this.groupMembers(subject.groupId)) ids.add(m);
    }
    return {
      isApprovalRequired: approval?.setting?.isApprovalRequired ?? false,
      isApproverJustificationRequired: stage?.isApproverJustificationRequired ?? false,
      approverIds: [...ids],
    };
  }

  async requestStatus(ref: PimRequestRef): Promise<string> {
    if (ref.kind === 'azureResource') return this.arm().requestStatus(ref);
    const path = ref.kind === 'group' ? `${GROUP_PIM_PATH}/assignmentScheduleRequests` : '/roleManagement/directory/roleAssignmentScheduleRequests';
    try {
      const r = await this.client
        .api(`${path}/${encodeURIComponent(ref.pimRequestId)}`)
        .select(['id', 'status'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return String(r.status);
    } catch (err) {
      throw toGraphCallError(err, 'Reading the PIM request');
    }
  }

  /** Transitive user members of an approver group (object ids, lower case). */
  async groupMembers(groupId: string): Promise<string[]> {
    const ids: string[] = [];
    try {
      let page = await this.client
        .api(`/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user`)
        .select(['id'])
        .top(999)
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      for (;;) {
        for (const m of page.value ?? []) ids.push(String(m.id).toLowerCase());
        const next = page['@odata.nextLink'] as string | undefined;
        if (!next || ids.length > 10_000) break;
        page = await this.client.api(next).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
      }
    } catch (err) {
      throw toGraphCallError(err, 'Reading the approver group');
    }
    return ids;
  }
}
