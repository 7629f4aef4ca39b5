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

/** Port: the directory and PIM policy reads the bot makes with its own (application) identity. */
export interface Directory {
  user(id: string): Promise<UserProfile>;
  roleDisplayName(roleDefinitionId: string): Promise<string>;
  approvalPolicy(roleDefinitionId: string): Promise<RoleApprovalPolicy>;
  /** PIM's status of an Entra role activation request (PendingApproval, Provisioned, Denied, TimedOut, ...). */
  requestStatus(pimRequestId: string): Promise<string>;
}

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
  constructor(private readonly client: Client) {}

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

  async roleDisplayName(roleDefinitionId: string): Promise<string> {
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

  async approvalPolicy(roleDefinitionId: string): Promise<RoleApprovalPolicy> {
    let rules: PolicyRule[];
    try {
      const res = await this.client
        .api('/policies/roleManagementPolicyAssignments')
        .filter(`scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${roleDefinitionId.replace(/'/g, "''")}'`)
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

  async requestStatus(pimRequestId: string): Promise<string> {
    try {
      const r = await this.client
        .api(`/roleManagement/directory/roleAssignmentScheduleRequests/${encodeURIComponent(pimRequestId)}`)
        .select(['id', 'status'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return String(r.status);
    } catch (err) {
      throw toGraphCallError(err, 'Reading the PIM request');
    }
  }

  private async groupMembers(groupId: string): Promise<string[]> {
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
