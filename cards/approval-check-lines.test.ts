import { renderApprovalCard } from './approval-card';
import type { ActivationRequest } from '../services/decision/activation-request';
import { Store } from '../services/store/store';
import { newApprovalRequestRow, newEvaluationRow } from '../services/approvals/approval-request-row';
import { cardDataOf } from './approval-view';
import { checkLinesOf, parseCheckLines, type CheckForLine } from '../services/approvals/check-lines';

const REQUEST: ActivationRequest = {
  kind: 'entraRole',
  pimRequestId: 'pim-1',
  requestKey: 'pim-1',
  principalId: 'u1',
  roleDefinitionId: 'r1',
  scope: '/',
  justification: 'Investigating INC0012345',
  ticket: { system: 'ServiceNow', number: 'INC0012345' },
  startDateTime: null,
  duration: 'PT2H',
  durationMinutes: 120,
  endDateTime: null,
  action: 'selfActivate',
};
const AT = new Date('2026-12-07T09:00:00Z');

/** Checks as the rewritten decision reports them. */
const CHECKS: CheckForLine[] = [
  { name: 'justification', result: 'pass', onFail: 'review', detail: 'Readable justification', summary: 'Readable justification' },
  {
    name: 'ticket',
    result: 'unavailable',
    onFail: 'deny',
    detail: 'The ticket check could not be completed, so an approver decides.',
    summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)',
  },
  { name: 'onCall', result: 'fail', onFail: 'review', detail: 'Not on call now, so an approver decides.', summary: 'Not on call now (PagerDuty)' },
  { name: 'hr', result: 'skipped', onFail: 'deny', detail: 'HR status not checked for this role', summary: 'Not checked' },
];

describe('the check lines stored with an approval request', () => {
  test('every check that ran becomes a line of name, result, what a fail does and the summary; skipped ones do not', () => {
    expect(checkLinesOf(CHECKS)).toEqual([
      { name: 'justification', result: 'pass', onFail: 'review', summary: 'Readable justification' },
      { name: 'ticket', result: 'unavailable', onFail: 'deny', summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)' },
      { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now (PagerDuty)' },
    ]);
  });

  test('a check from before checks had summaries shows its sentence, and a flag is a fail a person reviews', () => {
    expect(
      checkLinesOf([
        { name: 'offHours', result: 'info', detail: 'Off-hours request' },
        { name: 'onCall', result: 'flag', detail: 'Not on call now, so an approver decides.' },
        { name: 'hr', result: 'fail', detail: 'Account disabled.', summary: '  ' },
        { name: 'ticket', result: 'pass', detail: 'INC0012345 is open' },
      ]),
    ).toEqual([
      { name: 'offHours', result: 'fail', onFail: 'review', summary: 'Off-hours request' },
      { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now, so an approver decides.' },
      { name: 'hr', result: 'fail', onFail: 'review', summary: 'Account disabled.' },
      { name: 'ticket', result: 'pass', onFail: 'review', summary: 'INC0012345 is open' },
    ]);
  });

  test('a result this code does not know never reads as a pass', () => {
    expect(checkLinesOf([{ name: 'ticket', result: 'maybe', onFail: 'deny', detail: 'x', summary: 'x' }])).toEqual([
      { name: 'ticket', result: 'unavailable', onFail: 'deny', summary: 'x' },
    ]);
  });

  test('a summary is cut at 200 characters, and past eight lines the ones that passed give way', () => {
    const [line] = checkLinesOf([{ name: 'ticket', result: 'fail', onFail: 'deny', detail: '', summary: 'x'.repeat(500) }]);
    expect(Array.from(line!.summary)).toHaveLength(200);
    expect(line!.summary.endsWith('…')).toBe(true);

    const many: CheckForLine[] = [
      ...Array.from({ length: 6 }, (_, i): CheckForLine => ({ name: `pass${i}`, result: 'pass', detail: 'ok' })),
      { name: 'ticket', result: 'fail', onFail: 'deny', detail: 'closed' },
      { name: 'onCall', result: 'unavailable', detail: 'PagerDuty did not answer' },
      { name: 'hr', result: 'fail', onFail: 'review', detail: 'leaving soon' },
    ];
    const lines = checkLinesOf(many);
    expect(lines).toHaveLength(8);
    // The order stays the decision's; the sixth pass is the one left out.
    expect(lines.map((l) => l.name)).toEqual(['pass0', 'pass1', 'pass2', 'pass3', 'pass4', 'ticket', 'onCall', 'hr']);
  });

  test('the row stores the lines as JSON, and no lines without checks (an escalation from another service)', () => {
    const row = newApprovalRequestRow(REQUEST, { id: 'a1', evaluationId: 'e1', riskFlags: [], reasons: [], checks: CHECKS, at: AT });
    expect(JSON.parse(row.check_lines as string)).toEqual(checkLinesOf(CHECKS));
    expect(newApprovalRequestRow(REQUEST, { id: 'a1', evaluationId: 'e1', riskFlags: ['Escalated'], reasons: [], at: AT }).check_lines).toBe('[]');
  });

  test('reading them back: malformed or missing lines read as none', () => {
    expect(parseCheckLines(JSON.stringify(checkLinesOf(CHECKS)))).toEqual(checkLinesOf(CHECKS));
    for (const json of ['[]', null, undefined, '', 'not json', '{}', '[1, "x", {"name": "ticket"}]']) expect(parseCheckLines(json)).toEqual([]);
  });

  test('stored, read back and rendered: the approver reads each check in one line', async () => {
    const store = await Store.open('sqlite::memory:');
    try {
      await store.evaluations.insert(
        newEvaluationRow(REQUEST, {
          evaluationId: 'e1',
          outcome: 'Approved',
          wouldBe: 'Approved',
          mode: 'enforce',
          reasons: [],
          checks: CHECKS,
          latencyMs: 5,
          at: AT,
        }),
        newApprovalRequestRow(REQUEST, { id: 'a1', evaluationId: 'e1', riskFlags: [], reasons: [], checks: CHECKS, at: AT }),
      );
      const row = (await store.requests.get('a1'))!;
      const card = renderApprovalCard(cardDataOf(row, AT), 'approver');
      const lines = JSON.stringify(card);
      expect(lines).toContain('"text":"? Could not be completed"');
      expect(lines).toContain('"text":" · Ticket: "');
      expect(lines).toContain('"text":"INC0012345 open; assignment could not be read (ServiceNow HTTP 403)"');
      expect(lines).toContain('"text":"⚠ Flagged"');
      expect(lines).not.toContain('HR status');
    } finally {
      await store.close();
    }
  });
});
