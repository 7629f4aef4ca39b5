import { type RequestEvent, type RequestStatus, transition } from './request-lifecycle';

describe('request lifecycle', () => {
  const cases: Array<[RequestStatus, RequestEvent, RequestStatus | string]> = [
    ['pending', { type: 'claim' }, 'recording'],
    ['pending', { type: 'release' }, 'not_claimed'],
    ['pending', { type: 'recorded', result: 'approved' }, 'not_claimed'],
    ['pending', { type: 'decidedElsewhere', result: 'denied' }, 'denied'],
    ['pending', { type: 'expired' }, 'expired'],
    ['pending', { type: 'cancelled' }, 'cancelled'],
    ['recording', { type: 'claim' }, 'being_recorded'],
    ['recording', { type: 'release' }, 'pending'],
    ['recording', { type: 'recorded', result: 'approved' }, 'approved'],
    ['recording', { type: 'recorded', result: 'denied' }, 'denied'],
    ['recording', { type: 'decidedElsewhere', result: 'approved' }, 'approved'],
    ['recording', { type: 'expired' }, 'expired'],
    ['approved', { type: 'claim' }, 'already_final'],
    ['denied', { type: 'recorded', result: 'approved' }, 'already_final'],
    ['expired', { type: 'decidedElsewhere', result: 'approved' }, 'already_final'],
    ['cancelled', { type: 'release' }, 'already_final'],
  ];

  it.each(cases)('%s + %j -> %s', (from, event, expected) => {
    const result = transition(from, event);
    if (result.ok) expect(result.next).toBe(expected);
    else expect(result.reason).toBe(expected);
  });
});
