import { pimOutcome, pimReadOutcome } from './pim-outcome';

describe('what PIM status means for our copy of a request', () => {
  it.each([
    ['PendingApproval', { kind: 'open' }],
    ['PendingEvaluation', { kind: 'open' }],
    ['PendingAdminDecision', { kind: 'open' }],
    ['Provisioned', { kind: 'closed', status: 'approved' }],
    ['Granted', { kind: 'closed', status: 'approved' }],
    ['PendingScheduleCreation', { kind: 'closed', status: 'approved' }],
    ['Denied', { kind: 'closed', status: 'denied' }],
    ['TimedOut', { kind: 'closed', status: 'expired' }],
    ['Canceled', { kind: 'closed', status: 'cancelled' }],
    ['Revoked', { kind: 'closed', status: 'cancelled' }],
    ['Failed', { kind: 'closed', status: 'cancelled' }],
    ['SomethingNew', { kind: 'unknown' }],
  ])('PIM says %s', (status, expected) => {
    expect(pimOutcome(status)).toEqual(expected);
  });

  it.each([
    [{ status: 'TimedOut' }, { kind: 'closed', status: 'expired' }],
    [{ error: { status: 404, code: 'NotFound' } }, { kind: 'closed', status: 'cancelled' }],
    [{ error: { status: 403, code: 'Forbidden' } }, { kind: 'unknown' }],
    [{ error: { status: 429, code: 'TooManyRequests' } }, { kind: 'unknown' }],
  ])('a read of %j', (read, expected) => {
    expect(pimReadOutcome(read)).toEqual(expected);
  });
});
