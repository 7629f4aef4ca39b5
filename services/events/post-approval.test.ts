import type { ActivationRequest } from '../decision/activation-request';
import type { RequestStatus } from '../approvals/request-lifecycle';
import { activeUntilOf, outcomeOfPimStatus, planPostApproval } from './post-approval';
import type { PostApprovalOutcome } from './inbound-event';

describe('post-approval events', () => {
  const cases: Array<[RequestStatus, PostApprovalOutcome, string]> = [
    ['pending', 'granted', 'update:approved'],
    ['pending', 'activated', 'update:approved'],
    ['pending', 'denied', 'update:denied'],
    ['pending', 'expired', 'update:expired'],
    ['pending', 'cancelled', 'update:cancelled'],
    ['recording', 'denied', 'update:denied'],
    ['approved', 'granted', 'same:approved'],
    ['approved', 'activated', 'same:approved'],
    ['denied', 'denied', 'same:denied'],
    ['approved', 'denied', 'conflict:approved'],
    ['expired', 'granted', 'conflict:expired'],
    ['cancelled', 'expired', 'conflict:cancelled'],
  ];
  it.each(cases)('a %s request and a %s event: %s', (status, outcome, expected) => {
    const plan = planPostApproval(status, outcome);
    expect(`${plan.kind}:${plan.kind === 'update' ? plan.next : plan.status}`).toBe(expected);
  });

  it.each([
    ['Granted', 'granted'],
    ['PendingProvisioning', 'granted'],
    ['Provisioned', 'activated'],
    ['Denied', 'denied'],
    ['TimedOut', 'expired'],
    ['Canceled', 'cancelled'],
    ['Revoked', 'cancelled'],
    ['PendingApproval', null],
    ['SomethingNew', null],
  ])('reads PIM status %s as %s', (status, outcome) => {
    expect(outcomeOfPimStatus(status)).toBe(outcome);
  });

  it('says when the access ends: as sent, else start plus duration, else unknown', () => {
    const request = { startDateTime: '2026-03-02T08:00:00Z', durationMinutes: 120 } as ActivationRequest;
    expect(activeUntilOf(request, '2026-03-02T08:05:00Z', '2026-03-02T09:00:00Z')!.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    expect(activeUntilOf(request, '2026-03-02T08:05:00Z')!.toISOString()).toBe('2026-03-02T10:00:00.000Z');
    expect(activeUntilOf({ ...request, startDateTime: null }, '2026-03-02T08:05:00Z')!.toISOString()).toBe('2026-03-02T10:05:00.000Z');
    expect(activeUntilOf({ ...request, durationMinutes: null }, '2026-03-02T08:05:00Z')).toBeNull();
  });
});
