import type { RequestStatus } from './request-lifecycle';

/**
 * What to do with a `recording` claim whose holder never finished (a crash or a lost Graph answer
 * between the claim and writing the result), given PIM's own status of the request.
 */
export type ClaimRecovery =
  | { kind: 'release' }
  | { kind: 'final'; status: Extract<RequestStatus, 'approved' | 'denied' | 'expired' | 'cancelled'>; byClaimant: boolean }
  | { kind: 'wait' };

const APPROVED = new Set(['Granted', 'Provisioned', 'PendingProvisioning', 'PendingScheduleCreation', 'ScheduleCreated']);
const PENDING = new Set(['PendingApproval', 'PendingAdminDecision', 'PendingEvaluation']);

export function recoverClaim(claimedResult: string | null, pimStatus: string): ClaimRecovery {
  if (PENDING.has(pimStatus)) return { kind: 'release' };
  if (APPROVED.has(pimStatus)) return { kind: 'final', status: 'approved', byClaimant: claimedResult === 'Approve' };
  if (pimStatus === 'Denied') return { kind: 'final', status: 'denied', byClaimant: claimedResult === 'Deny' };
  if (pimStatus === 'TimedOut') return { kind: 'final', status: 'expired', byClaimant: false };
  if (pimStatus === 'Canceled' || pimStatus === 'Revoked' || pimStatus === 'Failed') return { kind: 'final', status: 'cancelled', byClaimant: false };
  return { kind: 'wait' };
}
