import { assertNever, type ClosedStatus } from './request-lifecycle';

export type { ClosedStatus };

/**
 * What PIM's status of an activation request (`unifiedRoleAssignmentScheduleRequest.status`) means for
 * our copy of it: still open, closed with one of our final states, or a value this version does not know
 * (left alone rather than guessed at).
 */
export type PimOutcome = { kind: 'open' } | { kind: 'closed'; status: ClosedStatus } | { kind: 'unknown' };

/** What a closed PIM request came to; granted and activated both close our copy as approved. */
export type PimClosedOutcome = 'granted' | 'activated' | 'denied' | 'expired' | 'cancelled';

/**
 * Graph's request statuses (unifiedRoleAssignmentScheduleRequest and the group equivalent), lower-cased:
 * the one mapping the reconciler, claim recovery and post-approval events share.
 */
const BY_STATUS: Readonly<Record<string, PimClosedOutcome | 'open'>> = {
  pendingapproval: 'open',
  pendingadmindecision: 'open',
  pendingevaluation: 'open',
  granted: 'granted',
  adminapproved: 'granted',
  pendingprovisioning: 'granted',
  pendingschedulecreation: 'granted',
  schedulecreated: 'granted',
  provisioned: 'activated',
  denied: 'denied',
  admindenied: 'denied',
  // Graph's enum value for PIM's "activation request expired" (24 hours without a decision).
  timedout: 'expired',
  expired: 'expired',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  revoked: 'cancelled',
  failed: 'cancelled',
};

export function classifyPimStatus(pimStatus: string): PimClosedOutcome | 'open' | 'unknown' {
  return BY_STATUS[pimStatus.trim().toLowerCase()] ?? 'unknown';
}

export function closedStatusOf(outcome: PimClosedOutcome): ClosedStatus {
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

export function pimOutcome(pimStatus: string): PimOutcome {
  const c = classifyPimStatus(pimStatus);
  if (c === 'open') return { kind: 'open' };
  if (c === 'unknown') return { kind: 'unknown' };
  return { kind: 'closed', status: closedStatusOf(c) };
}

/**
 * The outcome of one read of PIM. A 404 means PIM no longer has the request (cancelled, or removed
 * after closing): the request is over, and nobody can decide it any more. Any other error says nothing.
 */
export function pimReadOutcome(read: { status: string } | { error: { status: number; code: string } }): PimOutcome {
  if ('status' in read) return pimOutcome(read.status);
  return read.error.status === 404 ? { kind: 'closed', status: 'cancelled' } : { kind: 'unknown' };
}
