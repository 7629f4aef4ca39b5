import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Cell, DECISION_TABLE, type DecisionFacts, type DecisionRow, decide, rowFor } from './decision-table';

/**
 * The decision table printed in docs/policy.md is the table this test runs: the page is parsed, compared
 * with DECISION_TABLE, and then every one of the 64 combinations of the six facts is answered by the first
 * matching row of the page's table and by `rowFor`.
 */
const PAGE = readFileSync(join(__dirname, '../../docs/policy.md'), 'utf8');

function pageTable(): DecisionRow[] {
  const start = PAGE.indexOf('### The decision table');
  expect(start).toBeGreaterThan(0);
  const lines = PAGE.slice(start)
    .split('\n')
    .filter((l) => l.startsWith('|'));
  const header = lines[0]!
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  expect(header).toEqual([
    'row',
    'a check failed (deny)',
    'human-only role',
    'a check could not be completed',
    'a check flagged (failed, review)',
    'every `autoApprove.when` check passed',
    'break-glass qualifies',
    'enforce answers',
  ]);
  const rows: DecisionRow[] = [];
  for (const line of lines.slice(2)) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (!/^\d+$/.test(cells[0]!)) break;
    const cell = (v: string): Cell => {
      expect(['yes', 'no', 'any']).toContain(v);
      return v as Cell;
    };
    rows.push({
      row: Number(cells[0]),
      deniedByCheck: cell(cells[1]!),
      humanOnly: cell(cells[2]!),
      checkUnavailable: cell(cells[3]!),
      flagged: cell(cells[4]!),
      autoApproveMet: cell(cells[5]!),
      emergencyMet: cell(cells[6]!),
      enforce: cells[7]!.replace(/`/g, '') as DecisionRow['enforce'],
    });
  }
  return rows;
}

const FACTS = ['deniedByCheck', 'humanOnly', 'checkUnavailable', 'flagged', 'autoApproveMet', 'emergencyMet'] as const;

function allFacts(): DecisionFacts[] {
  const out: DecisionFacts[] = [];
  for (let bits = 0; bits < 64; bits++) {
    out.push(Object.fromEntries(FACTS.map((f, i) => [f, Boolean(bits & (1 << i))])) as DecisionFacts);
  }
  return out;
}

const matches = (c: Cell, v: boolean) => c === 'any' || (c === 'yes') === v;

describe('the decision table (docs/policy.md is the table the code runs)', () => {
  const table = pageTable();

  it('is printed on the policy page exactly as implemented', () => {
    expect(table).toEqual(DECISION_TABLE);
  });

  it.each(allFacts().map((f) => [JSON.stringify(f), f] as const))('answers %s by the first matching row of the page', (_name, facts) => {
    const expected = table.find((r) => FACTS.every((f) => matches(r[f], facts[f])));
    expect(expected).toBeDefined();
    expect(rowFor(facts)).toEqual(expected);
  });

  it('never answers AutoApproved with a deny, a human-only role, an unavailable check or a flag', () => {
    for (const facts of allFacts()) {
      if (rowFor(facts).enforce === 'AutoApproved') {
        expect(facts).toMatchObject({ deniedByCheck: false, humanOnly: false, checkUnavailable: false, flagged: false });
        expect(facts.autoApproveMet || facts.emergencyMet).toBe(true);
      }
    }
  });

  it('computes the facts from the checks: listed checks must be present and passed, any check counts for the rest', () => {
    const pass = (name: 'ticket' | 'onCall' | 'hr') => ({ name, result: 'pass' as const, onFail: 'deny' as const });
    expect(decide({ humanOnly: false, mode: 'enforce', checks: [pass('ticket'), pass('onCall')], autoApproveWhen: ['ticket', 'onCall'] })).toMatchObject({
      outcome: 'AutoApproved',
      row: 6,
    });
    // A listed check that was skipped does not pass.
    expect(
      decide({
        humanOnly: false,
        mode: 'enforce',
        checks: [pass('ticket'), { name: 'onCall', result: 'skipped', onFail: 'review' }],
        autoApproveWhen: ['ticket', 'onCall'],
      }),
    ).toMatchObject({ outcome: 'Approved', row: 7 });
    // A configured check that is not listed still blocks when it could not be completed.
    expect(
      decide({
        humanOnly: false,
        mode: 'enforce',
        checks: [pass('ticket'), { name: 'hr', result: 'unavailable', onFail: 'deny' }],
        autoApproveWhen: ['ticket'],
      }),
    ).toMatchObject({ outcome: 'Approved', row: 3 });
    // An empty list never auto-approves.
    expect(decide({ humanOnly: false, mode: 'enforce', checks: [pass('ticket')], autoApproveWhen: [] })).toMatchObject({ outcome: 'Approved', row: 7 });
    // Break-glass: AutoApproved on its own row, never over a human-only role, an unavailable check or a flag.
    expect(decide({ humanOnly: false, mode: 'enforce', checks: [pass('ticket')], autoApproveWhen: null, emergencyMet: true })).toMatchObject({
      outcome: 'AutoApproved',
      row: 5,
    });
    expect(decide({ humanOnly: true, mode: 'enforce', checks: [pass('ticket')], autoApproveWhen: null, emergencyMet: true })).toMatchObject({
      outcome: 'Approved',
      row: 2,
    });
    expect(
      decide({
        humanOnly: false,
        mode: 'enforce',
        checks: [pass('ticket'), { name: 'hr', result: 'unavailable', onFail: 'deny' }],
        autoApproveWhen: null,
        emergencyMet: true,
      }),
    ).toMatchObject({ outcome: 'Approved', row: 3 });
    expect(decide({ humanOnly: false, mode: 'audit', checks: [pass('ticket')], autoApproveWhen: null, emergencyMet: true })).toMatchObject({
      outcome: 'Approved',
      wouldBe: 'AutoApproved',
      row: 5,
    });
    // Audit mode answers Approved and keeps what enforce would have said.
    expect(decide({ humanOnly: false, mode: 'audit', checks: [{ name: 'ticket', result: 'fail', onFail: 'deny' }], autoApproveWhen: null })).toMatchObject({
      outcome: 'Approved',
      wouldBe: 'Denied',
      row: 1,
    });
  });
});
