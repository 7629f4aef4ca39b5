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
  | { type: 'cancelled' };

export type TransitionResult = { ok: true; next: RequestStatus } | { ok: false; reason: 'already_final' | 'being_recorded' | 'not_claimed' };

export const FINAL_STATUSES: ReadonlySet<RequestStatus> = new Set(['approved', 'denied', 'expired', 'cancelled']);

export function isFinal(status: RequestStatus): boolean {
  return FINAL_STATUSES.has(status);
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
