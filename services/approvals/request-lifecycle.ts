/**
 * The lifecycle of one PIM approval request as this bot tracks it.
 *
 * `recording` exists because the decision goes to PIM through Graph as the approver: between the
 * approver's click and Graph's answer, the request is claimed so that a double-click or a second
 * approver cannot cause a second PATCH. A failed PATCH releases the claim back to `pending`.
 */
export type RequestStatus = 'pending' | 'recording' | 'approved' | 'denied' | 'expired' | 'cancelled';

export type RequestEvent =
  | { type: 'claim' }
  | { type: 'release' }
  | { type: 'recorded'; result: 'approved' | 'denied' }
  | { type: 'decidedElsewhere'; result: 'approved' | 'denied' }
  | { type: 'expired' }
  | { type: 'cancelled' }
  /** PIM's policy for the role activates without an approver: the request is closed as approved, no card. */
  | { type: 'noApprovalRequired' };

/** A state PIM closes a request in (approved, denied, expired, cancelled). */
export type ClosedStatus = Exclude<RequestStatus, 'pending' | 'recording'>;

export type TransitionResult = { ok: true; next: RequestStatus } | { ok: false; reason: 'already_final' | 'being_recorded' | 'not_claimed' };

export const FINAL_STATUSES: ReadonlySet<RequestStatus> = new Set(['approved', 'denied', 'expired', 'cancelled']);

export function isFinal(status: RequestStatus): boolean {
  return FINAL_STATUSES.has(status);
}

const STATUSES: ReadonlySet<string> = new Set<RequestStatus>(['pending', 'recording', ...FINAL_STATUSES]);

/** True for a status this lifecycle knows (a stored row's status column is plain text). */
export function isRequestStatus(status: string): status is RequestStatus {
  return STATUSES.has(status);
}

/**
 * The event that brings a request to a state PIM reports it closed in: the claimant's own decision
 * recorded (`byClaimant`: PIM credits the approver who holds the claim), a decision taken elsewhere,
 * PIM's expiry or a cancellation.
 */
export function closingEvent(status: ClosedStatus, byClaimant = false): RequestEvent {
  switch (status) {
    case 'approved':
    case 'denied':
      return byClaimant ? { type: 'recorded', result: status } : { type: 'decidedElsewhere', result: status };
    case 'expired':
      return { type: 'expired' };
    case 'cancelled':
      return { type: 'cancelled' };
    default:
      return assertNever(status);
  }
}

export function transition(status: RequestStatus, event: RequestEvent): TransitionResult {
  switch (status) {
    case 'pending':
      switch (event.type) {
        case 'claim':
          return { ok: true, next: 'recording' };
        case 'release':
        case 'recorded':
          return { ok: false, reason: 'not_claimed' };
        case 'decidedElsewhere':
          return { ok: true, next: event.result };
        case 'expired':
          return { ok: true, next: 'expired' };
        case 'cancelled':
          return { ok: true, next: 'cancelled' };
        case 'noApprovalRequired':
          return { ok: true, next: 'approved' };
        default:
          return assertNever(event);
      }
    case 'recording':
      switch (event.type) {
        case 'claim':
          return { ok: false, reason: 'being_recorded' };
        case 'release':
          return { ok: true, next: 'pending' };
        case 'recorded':
        case 'decidedElsewhere':
          return { ok: true, next: event.result };
        // PIM's own clock or a cancellation can close the request while our PATCH is in flight;
        // the PIM state wins, the PATCH will answer 4xx and change nothing.
        case 'expired':
          return { ok: true, next: 'expired' };
        case 'cancelled':
          return { ok: true, next: 'cancelled' };
        // Known only before a card is posted, so before anyone could claim the request.
        case 'noApprovalRequired':
          return { ok: false, reason: 'being_recorded' };
        default:
          return assertNever(event);
      }
    case 'approved':
    case 'denied':
    case 'expired':
    case 'cancelled':
      return { ok: false, reason: 'already_final' };
    default:
      return assertNever(status);
  }
}

export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
