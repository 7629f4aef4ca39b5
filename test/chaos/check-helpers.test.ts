/**
 * The chaos run's invariant checks read Teams' view of the approval cards (scripts/chaos/teams-view.ts) and
 * count sends in sliding windows (scripts/chaos/invariants.ts). These pin what they read against the real
 * card renderer, so a change to the card cannot quietly make invariant 2 vacuous (no buttons ever found, or
 * no decider ever named), and the windows against hand-made arrival times.
 */
import { renderApprovalCard, type ApprovalCardData } from '../../cards/approval-card';
import { maxWindow } from '../../scripts/chaos/invariants';
import { decisionActions, messageText, requestIdsIn } from '../../scripts/chaos/teams-view';

const REQUEST_ID = '0b6f3c1e-5d2a-4c7b-9e8f-1a2b3c4d5e6f';

function data(overrides: Partial<ApprovalCardData> = {}): ApprovalCardData {
  return {
    requestId: REQUEST_ID,
    version: 3,
    requester: { displayName: 'Isaiah Langer', userPrincipalName: 'isaiahl@contoso.example', jobTitle: 'Engineer', department: 'Platform' },
    role: { displayName: 'Chaos Role 007', scope: 'Directory', kind: 'entraRole' },
    durationText: '1 hour',
    windowText: 'now – in 1 hour',
    justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
    ticket: null,
    riskFlags: [],
    decisionReasons: [],
    expiresText: '23 h left',
    status: 'pending',
    decision: null,
    message: null,
    ...overrides,
  } as ApprovalCardData;
}

/** A card as the Bot Connector receives it: an activity with the card as its attachment. */
const activity = (card: unknown) => ({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] });

describe('what the chaos checks read from an approval card', () => {
  it('a pending card in the channel: Approve and Deny for its request and version', () => {
    const card = activity(renderApprovalCard(data(), 'approver'));
    expect(decisionActions(card).map((a) => [a.verb, a.requestId, a.version])).toEqual(
      expect.arrayContaining([
        ['pim.approve', REQUEST_ID, 3],
        ['pim.deny', REQUEST_ID, 3],
      ]),
    );
    expect(requestIdsIn(card)).toEqual([REQUEST_ID]);
  });

  it.each(['approved', 'denied'] as const)('a card closed as %s: no action left, no request id, the decider named', (status) => {
    const decision = {
      byDisplayName: 'Adele Vance',
      byUserPrincipalName: 'adelev@contoso.example',
      atText: '06:13 UTC',
      justification: 'Checked with Isaiah by phone',
    };
    const card = activity(renderApprovalCard(data({ status, decision }), 'final'));
    expect(decisionActions(card)).toEqual([]);
    // Why a decided card is attributed by the post that first carried it, not by its own data.
    expect(requestIdsIn(card)).toEqual([]);
    expect(messageText(card)).toContain(`${status === 'approved' ? 'Approved' : 'Denied'} by Adele Vance`);
  });

  it('a card being recorded offers no buttons to the channel', () => {
    expect(decisionActions(activity(renderApprovalCard(data({ status: 'recording' }), 'observer')))).toEqual([]);
  });

  it('a requester notice is read as text', () => {
    expect(messageText({ type: 'message', text: 'Your request for Chaos Role 007 was approved by Adele Vance' })).toContain('Chaos Role 007');
  });
});

describe('sends in a sliding window', () => {
  it('counts half-open windows [t, t + w)', () => {
    expect(maxWindow([0, 999, 1000, 1001], 1000)).toEqual({ count: 3, at: 999 });
    expect(maxWindow([0, 100, 200, 300, 400, 500, 600, 700], 1000).count).toBe(8);
    expect(maxWindow([0, 1000, 2000], 1000).count).toBe(1);
    expect(maxWindow([], 1000).count).toBe(0);
  });
});
