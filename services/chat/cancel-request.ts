import type { Logger } from 'pino';
import { type ActivationRefusal, classifyRefusal } from '../elevation/activation-problems';
import type { SelfService } from '../elevation/self-service';
import type { ActivationTarget } from '../elevation/types';
import { errInfo } from '../observability/err-info';
import type { ChatRequestRow, ChatStore } from '../store/chat-store';
import type { ApprovalRequestRow, RequestStore } from '../store/requests';

export interface CancelRequestPorts {
  chat: Pick<ChatStore, 'updateRequest'>;
  /** The approvers' card's request: closed through the request state machine. */
  approvals: Pick<RequestStore, 'byPimId' | 'transition'>;
  /** Rewrites every copy of the approvers' card (best effort: a failure is left to the sweep). */
  approvalCards: { refreshCopies(approvalId: string): Promise<unknown> };
  now(): Date;
}

export type CancelOutcome = { kind: 'cancelled'; request: ChatRequestRow } | { kind: 'refused'; refusal: ActivationRefusal };

/** Cancels a chat request in PIM as the user, then closes the chat request and the approvers' card. */
export async function cancelChatRequest(ports: CancelRequestPorts, pim: Pick<SelfService, 'cancel'>, row: ChatRequestRow, log: Logger): Promise<CancelOutcome> {
  try {
    await pim.cancel({ kind: row.kind as ActivationTarget['kind'], scope: row.scope }, row.pim_request_id);
  } catch (err) {
    return { kind: 'refused', refusal: classifyRefusal(err) };
  }
  const at = ports.now().toISOString();
  const updated = (await ports.chat.updateRequest(row.id, { state: 'cancelled', decided_at: at, message: 'You cancelled this request.' }))!;
  const approval = row.approval_key ? await ports.approvals.byPimId(row.approval_key) : undefined;
  if (approval) await closeApprovalAsCancelled(ports, approval, at, log);
  log.info({ pimRequestId: row.pim_request_id }, 'request cancelled by the requester');
  return { kind: 'cancelled', request: updated };
}

/** Closes the approvers' card of a request its requester cancelled in PIM (if still pending) and refreshes every copy. */
export async function closeApprovalAsCancelled(
  ports: Pick<CancelRequestPorts, 'approvals' | 'approvalCards'>,
  approval: ApprovalRequestRow,
  at: string,
  log: Logger,
): Promise<void> {
  if (approval.status !== 'pending') return;
  await ports.approvals.transition(
    approval,
    { type: 'cancelled' },
    {
      decided_by_id: null,
      decided_by_name: 'the requester',
      decided_at: at,
      decision_justification: 'Cancelled by the requester in Teams',
    },
  );
  await ports.approvalCards
    .refreshCopies(approval.id)
    .catch((err: unknown) => log.warn({ err: errInfo(err) }, 'approval cards not updated; the sweep retries'));
}
