import type { Client } from '@microsoft/microsoft-graph-client';
import type { RequestContent } from '../approvals/callout-binding';
import { GraphCallError, toGraphCallError } from './graph-errors';
import { GraphReadBatch, type ReadBatch } from './read-batch';
import {
  activationPolicyOf,
  approverNamesOf,
  policyApprovers,
  policyEscalationApprovers,
  policyEscalationMinutes,
  type PolicyRuleJson,
  type PolicySubject,
} from '../elevation/policy-rules';
import type { ActivationPolicy } from '../elevation/types';
import { DEFAULT_APPROVER_NAMES, DEFAULT_APPROVER_ROLES, directoryRoleHolders } from './pim-admins';

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
  /**
   * Object ids of every user who may approve, groups expanded. An Entra role whose policy requires approval
   * and names nobody: PIM's default approvers, the Privileged Role Administrators and Global Administrators
   * holding the role now (PIM for Groups and Azure resources document no defaults: nobody).
   */
  approverIds: string[];
  /** The stage's escalation approvers (groups expanded) when the policy enables escalation; empty otherwise. */
  escalationApproverIds: string[];
  /**
   * The stage's escalationTimeInMinutes when it enables escalation and names escalation approvers: from the
   * request's creation on plus this, PIM lets them decide too. Null (or absent) when unknown or off: never.
   */
  escalationTimeInMinutes?: number | null;
  /** The groups the policy names as approvers (lower case), before expansion: a later read can start on them early. */
  approverGroupIds?: string[];
  /** Who can approve, in words, as the policy names them ("Adele Vance", "members of Helpdesk approvers"). */
  approverNames?: string[];
}

/** How an approval policy is read. */
export interface ApprovalPolicyOptions {
  /**
   * Approver groups the policy is expected to name (as a card stored them): their members are read alongside
   * the policy instead of after it. Only a group the policy still names counts; one it no longer names is
   * ignored, and one it names anew is read once the policy is in.
   */
  groupHint?: readonly string[];
  /** false: the escalation approvers are not expanded (a decision needs the approvers only). */
  escalation?: boolean;
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
  approvalPolicy(scope: string, roleDefinitionId: string, options?: ApprovalPolicyOptions): Promise<RoleApprovalPolicy>;
  requestStatus(ref: PimRequestRef): Promise<string>;
  /** PIM's own copy of the request, matched as requestStatus matches it; null when none. */
  pimRequestCopy(ref: PimRequestRef): Promise<PimRequestCopy | null>;
  /** PIM's end-user activation rules at the scope (elevation by chat); optional for readers that only serve approvals. */
  activationPolicy?(scope: string, roleDefinitionId: string): Promise<ActivationPolicy>;
}

/** Port: the directory and PIM policy reads the bot makes with its own (application) identity. */
export interface Directory {
  /** `via`: a batch the read may travel in (readBatch); without one, or from an implementation without batches, it is made on its own. */
  user(id: string, via?: ReadBatch): Promise<UserProfile>;
  /** The role's name; for a group, the group's name and the access (member/owner). */
  roleDisplayName(target: PimTarget): Promise<string>;
  /** The PIM policy's approval settings for the target (Entra role, group access, Azure role at a scope). */
  approvalPolicy(target: PimTarget, options?: ApprovalPolicyOptions): Promise<RoleApprovalPolicy>;
  /** PIM's status of an activation request (PendingApproval, Provisioned, Denied, TimedOut, ...). */
  requestStatus(ref: PimRequestRef): Promise<string>;
  /** PIM's own copy of the request (app identity), null when PIM has none; rejects when it cannot be read. */
  pimRequestCopy(ref: PimRequestRef, via?: ReadBatch): Promise<PimRequestCopy | null>;
  /** Reads started in the same turn with this batch go to Graph together (one HTTP request); absent where reads are not batched. */
  readBatch?(): ReadBatch;
}

/**
 * What PIM itself holds about a request: what the card must show, whatever a callout said. The role is the
 * Entra role definition id, `member`/`owner` for groups, the ARM role definition path for Azure; the scope
 * the directory scope, group id, or ARM scope.
 */
export type PimRequestCopy = RequestContent & {
  status: string;
  /**
   * Azure resources: the id (ARM path) of the request's approval, when PIM gives one. An approver's decision
   * reads the approval's stages by it alongside the approver's own request list, instead of after it.
   * Entra roles and groups: absent (their approval is found by the request id).
   */
  approvalId?: string | null;
};

/**
 * User object ids (lower case) of approver subjects, groups expanded to their members: the groups read at
 * once, not one after another, and a group already being read (`early`) not read again. Ids keep the
 * subjects' order.
 */
export async function expandApprovers(
  subjects: readonly PolicySubject[],
  members: (groupId: string) => Promise<string[]>,
  early: ReadonlyMap<string, Promise<string[]>> = new Map(),
): Promise<string[]> {
  const lists = await Promise.all(subjects.map((s) => (s.kind === 'user' ? [s.id.toLowerCase()] : (early.get(s.id.toLowerCase()) ?? members(s.id)))));
  return [...new Set(lists.flat())];
}

/** Starts reading the members of the groups a policy is expected to name; a read nobody awaits fails quietly. */
export function readGroupsEarly(groupIds: readonly string[] | undefined, members: (groupId: string) => Promise<string[]>): Map<string, Promise<string[]>> {
  const early = new Map<string, Promise<string[]>>();
  for (const id of new Set((groupIds ?? []).map((g) => g.toLowerCase()))) {
    const read = members(id);
    read.catch(() => undefined);
    early.set(id, read);
  }
  return early;
}

/** The approver groups among a policy's subjects (lower case). */
export function approverGroupsOf(subjects: readonly PolicySubject[]): string[] {
  return [...new Set(subjects.filter((s) => s.kind === 'group').map((s) => s.id.toLowerCase()))];
}

/** The fields of a PIM schedule request (Entra role or group) the bot reads. */
interface GraphScheduleRequest {
  principalId?: unknown;
  roleDefinitionId?: string;
  directoryScopeId?: string | null;
  accessId?: string;
  groupId?: string;
  justification?: string | null;
  ticketInfo?: { ticketNumber?: string | null; ticketSystem?: string | null } | null;
  status?: string;
}

/** Graph's PIM for Groups request and approval paths. */
export const GROUP_PIM_PATH = '/identityGovernance/privilegedAccess/group';

type PolicyRule = PolicyRuleJson & { setting?: PolicyRuleJson['setting'] & { approvalStages?: Array<{ isApproverJustificationRequired?: boolean }> | null } };

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

  readBatch(): ReadBatch {
    return new GraphReadBatch(this.client);
  }

  async user(id: string, via?: ReadBatch): Promise<UserProfile> {
    try {
      const path = `/users/${encodeURIComponent(id)}`;
      const fields = ['id', 'displayName', 'userPrincipalName', 'jobTitle', 'department', 'mail'];
      const direct = () => this.client.api(path).select(fields).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
      const u = await (via ? via.read(`${path}?$select=${fields.join(',')}`, direct) : direct());
      return {
        id: u.id,
        displayName: u.displayName ?? u.userPrincipalName,
        userPrincipalName: u.userPrincipalName,
        jobTitle: u.jobTitle ?? null,
        department: u.department ?? null,
        mail: u.mail ?? null,
      };
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

  private roleNamesCache: { at: number; names: string[] } | null = null;

  /** Display names of the tenant's Entra role definitions (cached an hour): to tell "not eligible" from "no such role". */
  async roleNames(): Promise<string[]> {
    if (this.roleNamesCache && Date.now() - this.roleNamesCache.at < 3_600_000) return this.roleNamesCache.names;
    try {
      const res = await this.client
        .api('/roleManagement/directory/roleDefinitions')
        .select(['id', 'displayName'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      const names = ((res.value ?? []) as Array<{ displayName?: string }>).map((r) => String(r.displayName ?? '')).filter(Boolean);
      this.roleNamesCache = { at: Date.now(), names };
      return names;
    } catch (err) {
      throw toGraphCallError(err, 'Reading the role definitions');
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

  async approvalPolicy(target: PimTarget, options: ApprovalPolicyOptions = {}): Promise<RoleApprovalPolicy> {
    if (target.kind === 'azureResource') return this.arm().approvalPolicy(target.scope, target.roleDefinitionId, options);
    const early = readGroupsEarly(options.groupHint, (id) => this.groupMembers(id));
    const rules = await this.policyRules(target);
    const approval = rules.find((r) => r.id === 'Approval_EndUser_Assignment');
    const primary = policyApprovers(rules);
    const isApprovalRequired = approval?.setting?.isApprovalRequired ?? false;
    const defaults = isApprovalRequired && primary.length === 0 && target.kind === 'entraRole';
    const [approverIds, escalationApproverIds] = await Promise.all([
      defaults ? this.defaultApprovers() : expandApprovers(primary, (id) => this.groupMembers(id), early),
      options.escalation === false ? [] : expandApprovers(policyEscalationApprovers(rules), (id) => this.groupMembers(id), early),
    ]);
    return {
      isApprovalRequired,
      isApproverJustificationRequired: approval?.setting?.approvalStages?.[0]?.isApproverJustificationRequired ?? false,
      approverIds,
      escalationApproverIds,
      escalationTimeInMinutes: policyEscalationMinutes(rules),
      approverGroupIds: approverGroupsOf(primary),
      approverNames: defaults ? [...DEFAULT_APPROVER_NAMES] : approverNamesOf(primary),
    };
  }

  /**
   * PIM's default approvers of an Entra role whose policy requires approval and names nobody: the Privileged
   * Role Administrators and Global Administrators who hold the role now (object ids, lower case). Rejects
   * when they cannot be read: a decision is then refused, never opened to more people.
   */
  private async defaultApprovers(): Promise<string[]> {
    return (await directoryRoleHolders(this.client, DEFAULT_APPROVER_ROLES)).ids;
  }

  /** Everything PIM asks of an end-user activation of the target: maximum duration, justification, ticket, MFA, approval. */
  async activationPolicy(target: PimTarget): Promise<ActivationPolicy> {
    if (target.kind === 'azureResource') {
      const reads = this.arm();
      if (!reads.activationPolicy) throw new Error('The ARM reader cannot read activation policies');
      return reads.activationPolicy(target.scope, target.roleDefinitionId);
    }
    const rules = await this.policyRules(target);
    const primary = policyApprovers(rules);
    const required = rules.find((r) => r.id === 'Approval_EndUser_Assignment')?.setting?.isApprovalRequired ?? false;
    const approverIds = required && primary.length === 0 && target.kind === 'entraRole' ? await this.defaultApprovers() : await this.expandSubjects(primary);
    return activationPolicyOf(rules, approverIds);
  }

  private async policyRules(target: PimTarget): Promise<PolicyRule[]> {
    const q = (v: string) => v.replace(/'/g, "''");
    // Groups: one policy assignment per group and access, scopeType Group, roleDefinitionId member|owner.
    const filter =
      target.kind === 'group'
        ? `scopeId eq '${q(target.scope)}' and scopeType eq 'Group' and roleDefinitionId eq '${q(target.roleDefinitionId)}'`
        : `scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${q(target.roleDefinitionId)}'`;
    try {
      const res = await this.client
        .api('/policies/roleManagementPolicyAssignments')
        .filter(filter)
        .expand('policy($expand=rules)')
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return (res.value?.[0]?.policy?.rules ?? []) as PolicyRule[];
    } catch (err) {
      throw toGraphCallError(err, 'Reading the role policy');
    }
  }

  /** User object ids (lower case) of the subjects, approver groups expanded to their members. */
  private expandSubjects(subjects: PolicySubject[]): Promise<string[]> {
    return expandApprovers(subjects, (id) => this.groupMembers(id));
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

  async pimRequestCopy(ref: PimRequestRef, via?: ReadBatch): Promise<PimRequestCopy | null> {
    if (ref.kind === 'azureResource') return this.arm().pimRequestCopy(ref);
    const group = ref.kind === 'group';
    const path = `${group ? `${GROUP_PIM_PATH}/assignmentScheduleRequests` : '/roleManagement/directory/roleAssignmentScheduleRequests'}/${encodeURIComponent(ref.pimRequestId)}`;
    const fields = group
      ? ['id', 'status', 'principalId', 'accessId', 'groupId', 'justification', 'ticketInfo']
      : ['id', 'status', 'principalId', 'roleDefinitionId', 'directoryScopeId', 'justification', 'ticketInfo'];
    let r: GraphScheduleRequest | undefined;
    try {
      const direct = () => this.client.api(path).select(fields).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
      r = (await (via ? via.read(`${path}?$select=${fields.join(',')}`, direct) : direct())) as GraphScheduleRequest | undefined;
    } catch (err) {
      const e = toGraphCallError(err, 'Reading the PIM request');
      if (e.status === 404) return null;
      throw e;
    }
    if (typeof r?.principalId !== 'string') throw new GraphCallError(502, 'MalformedAnswer', 'Reading the PIM request: the answer has no principalId.');
    return {
      principalId: r.principalId as string,
      roleDefinitionId: String(group ? r.accessId : r.roleDefinitionId),
      scope: String(group ? r.groupId : (r.directoryScopeId ?? '/')),
      justification: r.justification ?? '',
      ticketNumber: r.ticketInfo?.ticketNumber ?? null,
      ticketSystem: r.ticketInfo?.ticketSystem ?? null,
      status: String(r.status),
    };
  }

  /** A group's owners who are users (object ids, lower case): they manage its PIM assignments. */
  async groupOwners(groupId: string): Promise<string[]> {
    try {
      const page = await this.client
        .api(`/groups/${encodeURIComponent(groupId)}/owners/microsoft.graph.user`)
        .select(['id'])
        .top(100)
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return ((page.value ?? []) as Array<{ id: string }>).map((o) => String(o.id).toLowerCase());
    } catch (err) {
      throw toGraphCallError(err, 'Reading the group owners');
    }
  }

  /** Transitive user members of an approver group (object ids, lower case). */
  /**
   * Which of `groupIds` (at most 20, Graph's cap) the user belongs to, directly or through nested groups:
   * `POST /users/{id}/checkMemberGroups` (app-only, GroupMember.Read.All). Throws when Graph does not answer:
   * the caller decides what a failed read means (the tab's admin check fails closed).
   */
  async memberGroupsOf(userId: string, groupIds: readonly string[]): Promise<string[]> {
    try {
      const res = await this.client
        .api(`/users/${encodeURIComponent(userId)}/checkMemberGroups`)
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .post({ groupIds: groupIds.slice(0, 20) });
      return ((res?.value ?? []) as unknown[]).map((v) => String(v).toLowerCase());
    } catch (err) {
      throw toGraphCallError(err, 'Reading group membership');
    }
  }

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
