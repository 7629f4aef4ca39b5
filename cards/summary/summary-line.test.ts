/**
 * A request row as a line of a summary card (summaryEntryOf, and summaryLineOf for a summary re-rendered in
 * place): a claim released without a decision recorded in PIM reaches the line with the approval card's words.
 */
import { renderSummaryCard } from './summary-card';
import type { ApprovalRequestRow } from '../../services/store/store';
import { renderApprovalCard } from '../approval-card';
import { cardDataOf, releaseLine, summaryEntryOf, summaryLineOf } from '../approval-view';

const NOW = new Date('2026-03-02T08:10:00Z');

function row(overrides: Partial<ApprovalRequestRow> = {}): ApprovalRequestRow {
  return {
    id: '0b8f6a3e-1c2d-4e5f-8a9b-000000000001',
    pim_request_id: 'pim-1',
    evaluation_id: 'ev-1',
    kind: 'entraRole',
    principal_id: 'isaiah-oid',
    role_definition_id: 'role-1',
    scope: '/',
    justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
    ticket_system: null,
    ticket_number: null,
    duration: null,
    duration_minutes: 60,
    start_at: null,
    risk_flags: '[]',
    reasons: '[]',
    status: 'pending',
    version: 4,
    claimed_by: null,
    claimed_at: null,
    claimed_result: null,
    decided_by_id: null,
    decided_by_upn: null,
    decided_by_name: null,
    decided_at: null,
    decision_justification: null,
    display: JSON.stringify({
      requester: { displayName: 'Isaiah Langer', userPrincipalName: 'isaiahl@contoso.com', jobTitle: null, department: null },
      roleDisplayName: 'User Administrator',
      approverIds: ['adele-oid'],
    }),
    cards_posted_at: '2026-03-02T08:01:00.000Z',
    nudge_count: 0,
    escalated_at: null,
    requester_reminded_at: null,
    approvers_reachable_at: null,
    escalated_early: 0,
    check_lines: '[]',
    unbound_at: null,
    last_release: null,
    created_at: '2026-03-02T08:00:00.000Z',
    expires_at: '2026-03-03T08:00:00.000Z',
    updated_at: '2026-03-02T08:05:00.000Z',
    ...overrides,
  };
}

const RELEASE = JSON.stringify({ by: 'adele-oid', name: 'Adele Vance', at: '2026-03-02T08:04:31.000Z', result: 'Approve' });
const LINE = "Adele Vance's decision was not recorded in PIM; please decide again.";
/** When she clicked, as an instant Teams writes in each viewer's own zone. */
const CLICKED = 'Clicked {{DATE(2026-03-02T08:04:31Z, SHORT)}} {{TIME(2026-03-02T08:04:31Z)}}';

describe('a request row as a summary line', () => {
  it("carries a released claim of a pending request, which the summary shows in the approval card's words", () => {
    const released = row({ last_release: RELEASE });
    const entry = summaryEntryOf(released);
    expect(entry).toEqual({
      requestId: released.id,
      version: 4,
      requesterName: 'Isaiah Langer',
      requesterUpn: 'isaiahl@contoso.com',
      roleName: 'User Administrator',
      scope: 'Directory',
      requestedAt: '2026-03-02T08:00:00.000Z',
      release: { name: 'Adele Vance', atText: '2026-03-02 08:04 UTC', at: '2026-03-02T08:04:31.000Z' },
    });
    // The approval card's line for the same row, word for word.
    expect(releaseLine(released)).toBe(LINE);
    expect(cardDataOf(released, NOW).message).toBe(LINE);
    expect(JSON.stringify(renderApprovalCard(cardDataOf(released, NOW), 'approver'))).toContain(JSON.stringify(CLICKED));
    const card = JSON.stringify(
      renderSummaryCard({ entries: [entry, summaryEntryOf(row({ id: '0b8f6a3e-1c2d-4e5f-8a9b-000000000002' }))], part: 1, parts: 1, batchTotal: 2, now: NOW }),
    );
    expect(card).toContain(JSON.stringify(LINE));
    expect(card).toContain(JSON.stringify(CLICKED));
    expect(card.split('not recorded in PIM')).toHaveLength(2);
    expect(card).not.toContain('UTC');
  });

  it('carries none without a release, or once the request is no longer pending', () => {
    expect(summaryEntryOf(row()).release).toBeNull();
    expect(summaryEntryOf(row({ last_release: RELEASE, status: 'recording' })).release).toBeNull();
    expect(
      summaryEntryOf(
        row({ last_release: RELEASE, status: 'approved', decided_by_id: 'megan-oid', decided_by_name: 'Megan Bowen', decided_at: '2026-03-02T08:09:00.000Z' }),
      ).release,
    ).toBeNull();
    // A value that is not a release (an edit by hand) is no line rather than a broken one.
    expect(summaryEntryOf(row({ last_release: '{"by":1}' })).release).toBeNull();
  });

  it('a summary re-rendered in place keeps the release, and without names (to fit) keeps it without the name', () => {
    const released = row({ last_release: RELEASE });
    expect(summaryLineOf(released, true)).toMatchObject({ outcome: null, release: { name: 'Adele Vance', at: '2026-03-02T08:04:31.000Z' } });
    expect(summaryLineOf(released, false)).toMatchObject({ outcome: null, release: { name: '', at: '2026-03-02T08:04:31.000Z' } });
    const short = JSON.stringify(
      renderSummaryCard({ entries: [summaryLineOf(released, false), summaryLineOf(row({ id: 'other' }), false)], part: 1, parts: 1, batchTotal: 2, now: NOW }),
    );
    expect(short).toContain('Requested 10 min ago · A decision was not recorded in PIM; please decide again.');
    expect(short).not.toContain('Adele');
    // Decided since: the outcome says what happened, with or without the decider's name.
    const decided = row({
      last_release: null,
      status: 'approved',
      version: 6,
      decided_by_id: 'megan-oid',
      decided_by_name: 'Megan Bowen',
      decided_at: '2026-03-02T08:09:00.000Z',
    });
    expect(summaryLineOf(decided, true)).toMatchObject({
      outcome: { text: 'Approved by Megan Bowen', at: '2026-03-02T08:09:00.000Z', colour: 'good' },
      release: null,
    });
    expect(summaryLineOf(decided, false)).toMatchObject({ outcome: { text: 'Approved', at: '2026-03-02T08:09:00.000Z', colour: 'good' }, release: null });
    const decidedCard = JSON.stringify(renderSummaryCard({ entries: [summaryLineOf(decided, true)], part: 1, parts: 1, batchTotal: 1, now: NOW }));
    expect(decidedCard).toContain('"{{DATE(2026-03-02T08:09:00Z, SHORT)}} {{TIME(2026-03-02T08:09:00Z)}}"');
    expect(decidedCard).not.toContain('UTC');
  });

  it('an entry stored before entries carried instants (an outbox row from an older release) still says when, in UTC', () => {
    const card = JSON.stringify(
      renderSummaryCard({
        entries: [
          {
            requestId: 'r1',
            version: 2,
            requesterName: 'Isaiah Langer',
            roleName: 'User Administrator',
            requestedAt: '2026-03-02T08:00:00.000Z',
            release: { name: 'Adele Vance', atText: '2026-03-02 08:04 UTC' },
          },
          {
            requestId: 'r2',
            version: 3,
            requesterName: 'Lynne Robbins',
            roleName: 'User Administrator',
            requestedAt: '2026-03-02T08:00:00.000Z',
            outcome: { text: 'Approved by Megan Bowen at 2026-03-02 08:09 UTC', colour: 'good' },
          },
        ],
        part: 1,
        parts: 1,
        batchTotal: 2,
        now: NOW,
      }),
    );
    expect(card).toContain("Adele Vance's decision at 2026-03-02 08:04 UTC was not recorded in PIM; please decide again.");
    expect(card).toContain('Approved by Megan Bowen at 2026-03-02 08:09 UTC');
    expect(card).not.toContain('{{DATE(');
  });
});
