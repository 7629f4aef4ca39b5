import type { ActivationRequest } from '../decision/activation-request';
import { assertNever, RequestEvent, RequestStatus, transition } from '../approvals/request-lifecycle';
import type { PostApprovalOutcome } from './inbound-event';

/** What a post-approval event does to our copy of the request, and so to every card copy. */
export type PostApprovalPlan =
  | { kind: 'update'; next: RequestStatus }
  /** Already in that state (say, approved from the card, then PIM reports it granted). */
  | { kind: 'same'; status: RequestStatus }
  /** Closed differently already; the first outcome we recorded stands, as PIM's first decision does. */
  | { kind: 'conflict'; status: RequestStatus };

export function finalStatusOf(outcome: PostApprovalOutcome): Extract<RequestStatus, 'approved' | 'denied' | 'expired' | 'cancelled'> {
  switch (outcome) {
    case 'granted':
    case 'activated':
      return 'approved';
    case 'denied':
      return 'denied';
    case 'expired':
      return 'expired';
    case 'cancelled':
      return 'cancelled';
    default:
      return assertNever(outcome);
  }
}

export function planPostApproval(current: RequestStatus, outcome: PostApprovalOutcome): PostApprovalPlan {
  const target = finalStatusOf(outcome);
  if (current === target) return { kind: 'same', status: current };
  const result = transition(current, lifecycleEventOf(target));
  return result.ok ? { kind: 'update', next: result.next } : { kind: 'conflict', status: current };
}

function lifecycleEventOf(status: ReturnType<typeof finalStatusOf>): RequestEvent {
  switch (status) {
    case 'approved':
    case 'denied':
      return { type: 'decidedElsewhere', result: status };
    case 'expired':
      return { type: 'expired' };
    case 'cancelled':
      return { type: 'cancelled' };
    default:
      return assertNever(status);
  }
}

// Graph's request statuses (unifiedRoleAssignmentScheduleRequest and the group equivalent). PIM's
// post-approval payload is not documented (research/pim-graph-facts.md): we expect the pre-approval
// shapes with a later status, and leave statuses that are no outcome (still pending) alone.
const GRANTED = new Set(['granted', 'adminapproved', 'pendingprovisioning', 'pendingschedulecreation', 'schedulecreated']);
const ACTIVATED = new Set(['provisioned']);
const DENIED = new Set(['denied', 'admindenied']);
const EXPIRED = new Set(['timedout', 'expired']);
const CANCELLED = new Set(['canceled', 'cancelled', 'revoked', 'failed']);

/** The outcome a PIM request status stands for, or null when it is still pending (or unknown). */
export function outcomeOfPimStatus(status: string): PostApprovalOutcome | null {
  const s = status.trim().toLowerCase();
  if (ACTIVATED.has(s)) return 'activated';
  if (GRANTED.has(s)) return 'granted';
  if (DENIED.has(s)) return 'denied';
  if (EXPIRED.has(s)) return 'expired';
  if (CANCELLED.has(s)) return 'cancelled';
  return null;
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

