import type { TokenCredential } from '@azure/identity';
import {
  type ApprovalPolicyOptions,
  approverGroupsOf,
  type AzureResourceReads,
  expandApprovers,
  type PimRequestCopy,
  type PimRequestRef,
  readGroupsEarly,
  type RoleApprovalPolicy,
} from './directory';
import { GraphCallError, toGraphCallError } from './graph-errors';
import { outboundClientRequestId } from '../observability/correlation';
import type { Metrics } from '../observability/metrics';
import type { ApprovalStep, PimApprovals } from './pim-approvals';
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

export const ARM_SCOPE = 'https://management.azure.com/.default';
const AUTH = '/providers/Microsoft.Authorization';
const SCHEDULE_REQUESTS_API = '2020-10-01';
const APPROVALS_API = '2021-01-01-preview';
const ROLE_DEFINITIONS_API = '2022-04-01';
const POLICY_API = '2020-10-01';
/** The approver waits on the card; reads for the card happen after PIM has its answer. */
const TIMEOUT_MS = 10_000;
/** ARM throttles with 429 and Retry-After; a short wait is honoured, a long one fails the call. */
const MAX_RETRIES = 2;
const MAX_RETRY_WAIT_MS = 5_000;

/** A minimal Azure Resource Manager client: bearer from a credential, ARM's error envelope, Retry-After. */
export class ArmClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly credential: TokenCredential,
    /** Counts every response (each retry too), 429s included. */
    private readonly opts: { metrics?: Pick<Metrics, 'apiResponse'> } = {},
  ) {
    this.base = baseUrl.replace(/\/$/, '');
  }

  async call<T>(method: 'GET' | 'PATCH' | 'PUT' | 'POST', path: string, what: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      let sent = false;
      try {
        const token = await this.credential.getToken(ARM_SCOPE);
        if (!token) throw new Error('no ARM token');
        // ARM's correlation header: it is echoed back and names the call in ARM's own logs.
        const clientRequestId = outboundClientRequestId();
        sent = true;
        res = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token.token}`,
            ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        this.opts.metrics?.apiResponse('arm', res.status);
      } catch (err) {
        const e = err as Error;
        if (sent) this.opts.metrics?.apiResponse('arm', null);
        if (e.name === 'TimeoutError' || e.name === 'AbortError')
          throw new GraphCallError(504, 'Timeout', `${what}: Azure Resource Manager did not answer in time.`);
        throw toGraphCallError(err, what);
      }
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
      const wait = Number(res.headers.get('retry-after') ?? '1') * 1000;
      if ((res.status === 429 || res.status === 503) && attempt < MAX_RETRIES && wait <= MAX_RETRY_WAIT_MS) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      let code = 'Unknown';
      let message = `HTTP ${res.status}`;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = parsed.error?.code ?? code;
        message = parsed.error?.message ?? message;
      } catch {
        // not ARM's envelope; keep the status
      }
      throw new GraphCallError(res.status, code, `${what}: ${message}`, res.headers.get('x-ms-request-id') ?? undefined);
    }
  }
}

interface ArmScheduleRequest {
  name: string;
  properties: {
    principalId: string;
    roleDefinitionId: string;
    scope?: string;
    status: string;
    approvalId?: string | null;
    createdOn?: string;
    requestType?: string;
    justification?: string | null;
    ticketInfo?: { ticketNumber?: string | null; ticketSystem?: string | null } | null;
  };
}

interface ArmStage {
  name: string;
  properties: {
    status: string;
    reviewResult: string;
    assignedToMe?: boolean;
    justification?: string | null;
    reviewedDateTime?: string | null;
    reviewedBy?: { principalId?: string; principalName?: string; userPrincipalName?: string } | null;
  };
}

const same = (a: string | undefined | null, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

function matching(requests: ArmScheduleRequest[], ref: PimRequestRef): ArmScheduleRequest | undefined {
  const candidates = requests
    .filter(
      (r) =>
        same(r.properties.principalId, ref.principalId) &&
        same(r.properties.roleDefinitionId, ref.roleDefinitionId) &&
        same(r.properties.scope ?? ref.scope, ref.scope),
    )
    .sort((a, b) => (b.properties.createdOn ?? '').localeCompare(a.properties.createdOn ?? ''));
  return candidates.find((r) => r.properties.status === 'PendingApproval') ?? candidates[0];
}

/**
 * PIM for Azure resources, as the approver (ARM on-behalf-of token). The ARM body PIM sends the
 * extension carries no request id, so the approval is found by what the card row knows: the requests
 * this user may approve at the scope (`asApprover()`), matched on principal, role definition and scope,
 * pending first; then the approval's stages are read and the stage is PATCHed.
 */
export class ArmPimApprovals implements PimApprovals {
  private approvalId: string | null = null;

  constructor(
    private readonly arm: ArmClient,
    private readonly ref: PimRequestRef,
    /** The approval's id (ARM path) as PIM gave it when the card was posted; null when it was not known then. */
    private readonly knownApprovalId: string | null = null,
  ) {}

  async steps(): Promise<ApprovalStep[]> {
    // Read back after a PATCH whose answer was lost, the approval found before is read directly: once
    // decided, the request may no longer be listed to its approvers.
    if (!this.approvalId) {
      // The approval id stored when the card was posted lets its stages be read alongside the list: the list
      // still decides (PIM lists the request only to its approvers), and a stored id that is not the listed one
      // is not used.
      const known = this.knownApprovalId;
      const [list, early] = await Promise.all([this.listAsApprover(), known ? settle(this.stages(known)) : null]);
      const request = matching(list.value ?? [], this.ref);
      if (!request?.properties.approvalId) return [];
      this.approvalId = approvalPathOf(request.properties.approvalId);
      if (early && known?.toLowerCase() === this.approvalId.toLowerCase()) {
        if ('error' in early) throw early.error;
        return early.value;
      }
    }
    return this.stages(this.approvalId);
  }

  private listAsApprover(): Promise<{ value?: ArmScheduleRequest[] }> {
    return this.arm.call<{ value?: ArmScheduleRequest[] }>(
      'GET',
      `${this.ref.scope}${AUTH}/roleAssignmentScheduleRequests?api-version=${SCHEDULE_REQUESTS_API}&$filter=${encodeURIComponent('asApprover()')}`,
      'Finding the Azure role request',
    );
  }

  private async stages(approvalId: string): Promise<ApprovalStep[]> {
    const stages = await this.arm.call<{ value?: ArmStage[] }>('GET', `${approvalId}/stages?api-version=${APPROVALS_API}`, 'Reading the Azure role approval');
    return (stages.value ?? []).map((s) => ({
      id: s.name,
      status: s.properties.status,
      reviewResult: s.properties.reviewResult,
      assignedToMe: s.properties.assignedToMe === true,
      justification: s.properties.justification ?? null,
      reviewedDateTime: s.properties.reviewedDateTime ?? null,
      reviewedBy: s.properties.reviewedBy?.principalId
        ? {
            id: s.properties.reviewedBy.principalId,
            displayName: s.properties.reviewedBy.principalName ?? null,
            userPrincipalName: s.properties.reviewedBy.userPrincipalName ?? null,
          }
        : null,
    }));
  }

  async review(_requestId: string, stageId: string, reviewResult: 'Approve' | 'Deny', justification: string): Promise<void> {
    if (!this.approvalId) throw new GraphCallError(404, 'NotFound', 'Recording the decision in PIM: the Azure role approval was not found.');
    await this.arm.call('PATCH', `${this.approvalId}/stages/${encodeURIComponent(stageId)}?api-version=${APPROVALS_API}`, 'Recording the decision in PIM', {
      reviewResult,
      justification,
    });
  }
}

/** An approval id as ARM gives it (a bare GUID or the full path), as the path its stages are read under. */
function approvalPathOf(approvalId: string): string {
  return approvalId.startsWith('/') ? approvalId : `${AUTH}/roleAssignmentApprovals/${approvalId}`;
}

async function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

type ArmPolicyRule = PolicyRuleJson & {
  setting?: PolicyRuleJson['setting'] & { approvalStages?: Array<{ isApproverJustificationRequired?: boolean }> | null };
};

/** The bot's own (application) ARM reads: role names, approval policies, request statuses. */
export class ArmAzureReads implements AzureResourceReads {
  constructor(
    private readonly arm: ArmClient,
    /** Expands an approver group to its users (Graph). */
    private readonly groupMembers: (groupId: string) => Promise<string[]>,
  ) {}

  async roleDisplayName(roleDefinitionId: string): Promise<string> {
    const r = await this.arm.call<{ properties?: { roleName?: string } }>(
      'GET',
      `${roleDefinitionId}?api-version=${ROLE_DEFINITIONS_API}`,
      'Reading the Azure role definition',
    );
    return r.properties?.roleName ?? roleDefinitionId;
  }

  async approvalPolicy(scope: string, roleDefinitionId: string, options: ApprovalPolicyOptions = {}): Promise<RoleApprovalPolicy> {
    const early = readGroupsEarly(options.groupHint, this.groupMembers);
    const rules = await this.policyRules(scope, roleDefinitionId);
    const approval = rules.find((r) => r.id === 'Approval_EndUser_Assignment');
    const primary = policyApprovers(rules);
    const [approverIds, escalationApproverIds] = await Promise.all([
      expandApprovers(primary, this.groupMembers, early),
      options.escalation === false ? [] : expandApprovers(policyEscalationApprovers(rules), this.groupMembers, early),
    ]);
    return {
      isApprovalRequired: approval?.setting?.isApprovalRequired ?? false,
      isApproverJustificationRequired: approval?.setting?.approvalStages?.[0]?.isApproverJustificationRequired ?? false,
      approverIds,
      escalationApproverIds,
      // Azure resources document no default approvers: a policy that names nobody leaves approverIds empty.
      escalationTimeInMinutes: policyEscalationMinutes(rules),
      approverGroupIds: approverGroupsOf(primary),
      approverNames: approverNamesOf(primary),
    };
  }

  async activationPolicy(scope: string, roleDefinitionId: string): Promise<ActivationPolicy> {
    const rules = await this.policyRules(scope, roleDefinitionId);
    return activationPolicyOf(rules, await this.expand(policyApprovers(rules)));
  }

  private async policyRules(scope: string, roleDefinitionId: string): Promise<ArmPolicyRule[]> {
    const filter = encodeURIComponent(`roleDefinitionId eq '${roleDefinitionId.replace(/'/g, "''")}'`);
    const res = await this.arm.call<{ value?: Array<{ properties?: { effectiveRules?: ArmPolicyRule[] } }> }>(
      'GET',
      `${scope}${AUTH}/roleManagementPolicyAssignments?api-version=${POLICY_API}&$filter=${filter}`,
      'Reading the Azure role policy',
    );
    return res.value?.[0]?.properties?.effectiveRules ?? [];
  }

  private expand(subjects: PolicySubject[]): Promise<string[]> {
    return expandApprovers(subjects, this.groupMembers);
  }

  async pimRequestCopy(ref: PimRequestRef): Promise<PimRequestCopy | null> {
    const filter = encodeURIComponent(`principalId eq '${ref.principalId}'`);
    const list = await this.arm.call<{ value?: ArmScheduleRequest[] }>(
      'GET',
      `${ref.scope}${AUTH}/roleAssignmentScheduleRequests?api-version=${SCHEDULE_REQUESTS_API}&$filter=${filter}`,
      'Reading the Azure role request',
    );
    const request = matching(list.value ?? [], ref);
    if (!request) return null;
    const p = request.properties;
    return {
      principalId: p.principalId,
      roleDefinitionId: p.roleDefinitionId,
      scope: p.scope ?? ref.scope,
      justification: p.justification ?? '',
      ticketNumber: p.ticketInfo?.ticketNumber ?? null,
      ticketSystem: p.ticketInfo?.ticketSystem ?? null,
      status: p.status,
      approvalId: p.approvalId ? approvalPathOf(p.approvalId) : null,
    };
  }

  async requestStatus(ref: PimRequestRef): Promise<string> {
    const filter = encodeURIComponent(`principalId eq '${ref.principalId}'`);
    const list = await this.arm.call<{ value?: ArmScheduleRequest[] }>(
      'GET',
      `${ref.scope}${AUTH}/roleAssignmentScheduleRequests?api-version=${SCHEDULE_REQUESTS_API}&$filter=${filter}`,
      'Reading the Azure role request',
    );
    const request = matching(list.value ?? [], ref);
    if (!request) throw new GraphCallError(404, 'NotFound', 'Reading the Azure role request: PIM has no matching request.');
    return request.properties.status;
  }
}
