import type { ActivationRequest } from '../decision/activation-request';
import { closingEvent, type RequestEvent, type RequestStatus, transition } from '../approvals/request-lifecycle';
import { classifyPimStatus, closedStatusOf } from '../approvals/pim-outcome';
import type { PostApprovalOutcome } from './inbound-event';

/** What a post-approval event does to our copy of the request, and so to every card copy. */
export type PostApprovalPlan =
  /** `event` moves the request there (the store writes a status only by a lifecycle event). */
  | { kind: 'update'; next: RequestStatus; event: RequestEvent }
  /** Already in that state (say, approved from the card, then PIM reports it granted). */
  | { kind: 'same'; status: RequestStatus }
  /** Closed differently already; the first outcome we recorded stands, as PIM's first decision does. */
  | { kind: 'conflict'; status: RequestStatus };

/** The final state an outcome gives our copy of the request (shared with the reconciler). */
export const finalStatusOf: (outcome: PostApprovalOutcome) => ReturnType<typeof closedStatusOf> = closedStatusOf;

export function planPostApproval(current: RequestStatus, outcome: PostApprovalOutcome): PostApprovalPlan {
  const target = finalStatusOf(outcome);
  if (current === target) return { kind: 'same', status: current };
  const event = closingEvent(target);
  const result = transition(current, event);
  return result.ok ? { kind: 'update', next: result.next, event } : { kind: 'conflict', status: current };
}

/** The outcome a PIM request status stands for, or null when it is still pending (or unknown). */
export function outcomeOfPimStatus(status: string): PostApprovalOutcome | null {
  const c = classifyPimStatus(status);
  return c === 'open' || c === 'unknown' ? null : c;
}

/**
 * When the activated access ends: as the event says, else the request's start (or the event's
 * time) plus the requested duration, else unknown.
 */
export function activeUntilOf(request: ActivationRequest, occurredAt: string, activeUntil?: string): Date | null {
  if (activeUntil) return new Date(activeUntil);
  if (!request.durationMinutes) return null;
  const start = new Date(request.startDateTime ?? occurredAt);
  if (Number.isNaN(start.getTime())) return null;
  return new Date(start.getTime() + request.durationMinutes * 60_000);
}
