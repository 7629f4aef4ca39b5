import type { RequestStatus } from './request-lifecycle';

export type ClosedStatus = Extract<RequestStatus, 'approved' | 'denied' | 'expired' | 'cancelled'>;

/**
 * What PIM's status of an activation request (`unifiedRoleAssignmentScheduleRequest.status`) means for
 * our copy of it: still open, closed with one of our final states, or a value this version does not know
 * (left alone rather than guessed at).
 */
export type PimOutcome = { kind: 'open' } | { kind: 'closed'; status: ClosedStatus } | { kind: 'unknown' };

const APPROVED = new Set(['Granted', 'Provisioned', 'PendingProvisioning', 'PendingScheduleCreation', 'ScheduleCreated']);
const OPEN = new Set(['PendingApproval', 'PendingAdminDecision', 'PendingEvaluation']);
const CANCELLED = new Set(['Canceled', 'Revoked', 'Failed']);

export function pimOutcome(pimStatus: string): PimOutcome {
  if (OPEN.has(pimStatus)) return { kind: 'open' };
  if (APPROVED.has(pimStatus)) return { kind: 'closed', status: 'approved' };
  if (pimStatus === 'Denied') return { kind: 'closed', status: 'denied' };
  // Graph's enum value for PIM's "activation request expired" (24 hours without a decision).
  if (pimStatus === 'TimedOut') return { kind: 'closed', status: 'expired' };
  if (CANCELLED.has(pimStatus)) return { kind: 'closed', status: 'cancelled' };
  return { kind: 'unknown' };
}

/**
 * The outcome of one read of PIM. A 404 means PIM no longer has the request (cancelled, or removed
 * after closing): the request is over, and nobody can decide it any more. Any other error says nothing.
 */
export function pimReadOutcome(read: { status: string } | { error: { status: number; code: string } }): PimOutcome {
  if ('status' in read) return pimOutcome(read.status);
  return read.error.status === 404 ? { kind: 'closed', status: 'cancelled' } : { kind: 'unknown' };
}
