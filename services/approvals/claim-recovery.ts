import type { ClosedStatus } from './pim-outcome';
import { pimOutcome } from './pim-outcome';

/**
 * What to do with a `recording` claim whose holder never finished (a crash or a lost Graph answer
 * between the claim and writing the result), given PIM's own status of the request.
 */
export type ClaimRecovery = { kind: 'release' } | { kind: 'final'; status: ClosedStatus; byClaimant: boolean } | { kind: 'wait' };

export function recoverClaim(claimedResult: string | null, pimStatus: string): ClaimRecovery {
  const outcome = pimOutcome(pimStatus);
  switch (outcome.kind) {
    case 'open':
      return { kind: 'release' };
    case 'unknown':
      return { kind: 'wait' };
    case 'closed': {
      const byClaimant = (outcome.status === 'approved' && claimedResult === 'Approve') || (outcome.status === 'denied' && claimedResult === 'Deny');
      return { kind: 'final', status: outcome.status, byClaimant };
    }
  }
}
