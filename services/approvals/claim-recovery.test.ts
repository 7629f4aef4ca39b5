import { recoverClaim } from './claim-recovery';

describe('recovering a claim left by a crash', () => {
  it.each([
    ['Approve', 'PendingApproval', { kind: 'release' }],
    ['Approve', 'Provisioned', { kind: 'final', status: 'approved', byClaimant: true }],
    ['Deny', 'Granted', { kind: 'final', status: 'approved', byClaimant: false }],
    ['Deny', 'Denied', { kind: 'final', status: 'denied', byClaimant: true }],
    ['Approve', 'Denied', { kind: 'final', status: 'denied', byClaimant: false }],
    ['Approve', 'TimedOut', { kind: 'final', status: 'expired', byClaimant: false }],
    ['Approve', 'Canceled', { kind: 'final', status: 'cancelled', byClaimant: false }],
    ['Approve', 'SomethingNew', { kind: 'wait' }],
  ])('claimed %s, PIM says %s', (claimed, pim, expected) => {
    expect(recoverClaim(claimed, pim)).toEqual(expected);
  });
});
