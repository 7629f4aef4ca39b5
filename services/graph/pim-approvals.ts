import { Client } from '@microsoft/microsoft-graph-client';
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

export class GraphPimApprovals implements PimApprovals {
  constructor(private readonly client: Client) {}

  async steps(requestId: string): Promise<ApprovalStep[]> {
    try {
      const approval = await this.client
        .api(`/roleManagement/directory/roleAssignmentApprovals/${encodeURIComponent(requestId)}`)
        .version('beta')
        .option('signal', AbortSignal.timeout(DECISION_TIMEOUT_MS))
        .get();
      return (approval.steps ?? []) as ApprovalStep[];
    } catch (err) {
      throw toGraphCallError(err, 'Reading the PIM approval');
    }
  }

  async review(requestId: string, stepId: string, reviewResult: 'Approve' | 'Deny', justification: string): Promise<void> {
    try {
      await this.client
        .api(`/roleManagement/directory/roleAssignmentApprovals/${encodeURIComponent(requestId)}/steps/${encodeURIComponent(stepId)}`)
        .version('beta')
        .option('signal', AbortSignal.timeout(DECISION_TIMEOUT_MS))
        .patch({ reviewResult, justification });
    } catch (err) {
      throw toGraphCallError(err, 'Recording the decision in PIM');
    }
  }
}
