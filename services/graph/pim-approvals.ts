import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from './graph-errors';

/** The approver is waiting on the card; past this the invoke answers "still recording". */
const DECISION_TIMEOUT_MS = 10_000;

export interface ApprovalStep {
  id: string;
  status: string;
  reviewResult: string;
  assignedToMe: boolean;
  justification: string | null;
  reviewedDateTime: string | null;
  reviewedBy: { id: string; displayName?: string | null; userPrincipalName?: string | null } | null;
}

/** Port: PIM approval reads and writes made as the approver (delegated; PIM refuses app identities). */
export interface PimApprovals {
  steps(requestId: string): Promise<ApprovalStep[]>;
  review(requestId: string, stepId: string, reviewResult: 'Approve' | 'Deny', justification: string): Promise<void>;
}

/** Where Graph keeps approvals per PIM: Entra roles (beta only), PIM for Groups (read in beta, decided in v1.0). */
const APPROVAL_PATHS = {
  entraRole: { base: '/roleManagement/directory/roleAssignmentApprovals', read: 'beta', patch: 'beta' },
  group: { base: '/identityGovernance/privilegedAccess/group/assignmentApprovals', read: 'beta', patch: 'v1.0' },
} as const;

export type GraphApprovalKind = keyof typeof APPROVAL_PATHS;

/** Approvals of Entra role and PIM for Groups requests, through Graph, as the approver. */
export class GraphPimApprovals implements PimApprovals {
  private readonly paths: (typeof APPROVAL_PATHS)[GraphApprovalKind];

  constructor(
    private readonly client: Client,
    kind: GraphApprovalKind = 'entraRole',
    private readonly timeoutMs: number = DECISION_TIMEOUT_MS,
  ) {
    this.paths = APPROVAL_PATHS[kind];
  }

  async steps(requestId: string): Promise<ApprovalStep[]> {
    try {
      const approval = await this.client
        .api(`${this.paths.base}/${encodeURIComponent(requestId)}`)
        .version(this.paths.read)
        .option('signal', AbortSignal.timeout(this.timeoutMs))
        .get();
      return (approval.steps ?? []) as ApprovalStep[];
    } catch (err) {
      throw toGraphCallError(err, 'Reading the PIM approval');
    }
  }

  async review(requestId: string, stepId: string, reviewResult: 'Approve' | 'Deny', justification: string): Promise<void> {
    try {
      await this.client
        .api(`${this.paths.base}/${encodeURIComponent(requestId)}/steps/${encodeURIComponent(stepId)}`)
        .version(this.paths.patch)
        .option('signal', AbortSignal.timeout(this.timeoutMs))
        .patch({ reviewResult, justification });
    } catch (err) {
      throw toGraphCallError(err, 'Recording the decision in PIM');
    }
  }
}
