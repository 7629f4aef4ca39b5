import { chainRow } from './audit-trail';
import { GENESIS_HASH } from './canonical';
import { evaluationEntry, type AuditedCheck } from './entries';
import { writeExport } from './export';

function evaluation(checks: AuditedCheck[]) {
  return evaluationEntry({
    evaluationId: 'e1',
    pimRequestId: 'p1',
    requestKey: 'p1',
    approvalRequestId: 'a1',
    requestKind: 'entraRole',
    principalId: 'u1',
    roleDefinitionId: 'r1',
    scope: '/',
    outcome: 'Approved',
    wouldBe: 'Approved',
    mode: 'enforce',
    reasons: ['The ticket check could not be completed, so an approver decides.'],
    checks,
    latencyMs: 812.4,
    callerAppId: 'pim',
    at: new Date('2026-12-07T09:00:00Z'),
  });
}

async function exportedChecks(checks: AuditedCheck[]): Promise<Array<Record<string, unknown>>> {
  let text = '';
  await writeExport([chainRow({ seq: 0, hash: GENESIS_HASH }, evaluation(checks))], 'json', (chunk) => {
    text += chunk;
  });
  const [row] = JSON.parse(text) as Array<{ details: { checks: Array<Record<string, unknown>> } }>;
  return row!.details.checks;
}

describe('the evaluation entry in the audit trail', () => {
  test('the export shows, per check, the line the approver saw, what a fail does, the sentence and the evidence', async () => {
    const checks = await exportedChecks([
      {
        name: 'ticket',
        result: 'unavailable',
        onFail: 'deny',
        summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)',
        detail: 'The ticket check could not be completed, so an approver decides.',
        evidence: [
          { asked: 'incident INC0012345', system: 'ServiceNow', answer: 'HTTP 200', ms: 184.6 },
          { asked: 'membership of the assignment group', system: 'ServiceNow', answer: 'HTTP 403 (ACL)', ms: 97 },
        ],
      },
    ]);
    expect(checks).toEqual([
      {
        name: 'ticket',
        result: 'unavailable',
        onFail: 'deny',
        summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)',
        detail: 'The ticket check could not be completed, so an approver decides.',
        evidence: [
          { asked: 'incident INC0012345', system: 'ServiceNow', answer: 'HTTP 200', ms: 185 },
          { asked: 'membership of the assignment group', system: 'ServiceNow', answer: 'HTTP 403 (ACL)', ms: 97 },
        ],
      },
    ]);
  });

  test('evidence keeps only what was asked, of whom, the short answer and the time: never headers, tokens or bodies', async () => {
    const leaky = {
      asked: 'incident INC0012345',
      system: 'ServiceNow',
      answer: 'x'.repeat(5000),
      ms: 12,
      headers: { authorization: 'Bearer eyJ...' },
      token: 'eyJ...',
      body: '{"result":[{"short_description":"..."}]}',
    };
    const [check] = await exportedChecks([
      { name: 'ticket', result: 'fail', onFail: 'deny', summary: 'INC0012345 closed', detail: 'closed', evidence: [leaky] },
    ]);
    const [evidence] = check!.evidence as Array<Record<string, unknown>>;
    expect(Object.keys(evidence!).sort()).toEqual(['answer', 'asked', 'ms', 'system']);
    expect(Array.from(evidence!.answer as string).length).toBeLessThanOrEqual(300);
    expect(JSON.stringify(check)).not.toMatch(/eyJ|Bearer|short_description/);
  });

  test('a check from before checks had summaries is recorded with nulls and no evidence', async () => {
    expect(await exportedChecks([{ name: 'offHours', result: 'info', detail: 'Off-hours request' }])).toEqual([
      { name: 'offHours', result: 'info', onFail: null, summary: null, detail: 'Off-hours request', evidence: [] },
    ]);
  });
});
