import { closingEvent, isRequestStatus, type RequestEvent, type RequestStatus, transition } from './request-lifecycle';

describe('request lifecycle', () => {
  const cases: Array<[RequestStatus, RequestEvent, RequestStatus | string]> = [
    ['pending', { type: 'claim' }, 'recording'],
    ['pending', { type: 'release' }, 'not_claimed'],
    ['pending', { type: 'recorded', result: 'approved' }, 'not_claimed'],
    ['pending', { type: 'decidedElsewhere', result: 'denied' }, 'denied'],
    ['pending', { type: 'expired' }, 'expired'],
    ['pending', { type: 'cancelled' }, 'cancelled'],
    ['pending', { type: 'noApprovalRequired' }, 'approved'],
    ['recording', { type: 'claim' }, 'being_recorded'],
    ['recording', { type: 'release' }, 'pending'],
    ['recording', { type: 'recorded', result: 'approved' }, 'approved'],
    ['recording', { type: 'recorded', result: 'denied' }, 'denied'],
    ['recording', { type: 'decidedElsewhere', result: 'approved' }, 'approved'],
    ['recording', { type: 'expired' }, 'expired'],
    ['recording', { type: 'cancelled' }, 'cancelled'],
    ['recording', { type: 'noApprovalRequired' }, 'being_recorded'],
    ['approved', { type: 'claim' }, 'already_final'],
    ['denied', { type: 'recorded', result: 'approved' }, 'already_final'],
    ['expired', { type: 'decidedElsewhere', result: 'approved' }, 'already_final'],
    ['cancelled', { type: 'release' }, 'already_final'],
    ['approved', { type: 'noApprovalRequired' }, 'already_final'],
  ];

  it.each(cases)('%s + %j -> %s', (from, event, expected) => {
    const result = transition(from, event);
    if (result.ok) expect(result.next).toBe(expected);
    else expect(result.reason).toBe(expected);
  });

  it('names the event that closes a request as PIM reports it', () => {
    expect(closingEvent('approved')).toEqual({ type: 'decidedElsewhere', result: 'approved' });
    expect(closingEvent('denied', true)).toEqual({ type: 'recorded', result: 'denied' });
    expect(closingEvent('expired', true)).toEqual({ type: 'expired' });
    expect(closingEvent('cancelled')).toEqual({ type: 'cancelled' });
    // From a claim, each lands in the status it names; from pending, all but the claimant's own record do.
    for (const status of ['approved', 'denied', 'expired', 'cancelled'] as const) {
      expect(transition('recording', closingEvent(status, true))).toEqual({ ok: true, next: status });
      expect(transition('pending', closingEvent(status))).toEqual({ ok: true, next: status });
    }
  });

  it('knows its statuses', () => {
    expect(['pending', 'recording', 'approved', 'denied', 'expired', 'cancelled'].every(isRequestStatus)).toBe(true);
    expect(isRequestStatus('open')).toBe(false);
  });
});
