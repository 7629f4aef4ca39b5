/**
 * The pre-approval outcome as one pure function of (human-only role, mode, each configured check's
 * result): the table below, first matching row wins. docs/policy.md prints the same table and
 * decision-table.test.ts checks, row by row, that the page and this constant say the same thing and
 * that `decide` answers by it. Nothing else in the product computes an outcome.
 */

export type EvaluationOutcome = 'Approved' | 'AutoApproved' | 'Denied';

/** The checks a role can configure; `businessHours` is the off-hours check. */
export type CheckName = 'justification' | 'ticket' | 'onCall' | 'hr' | 'identityRisk' | 'maintenanceWindow' | 'businessHours';

/**
 * A check's result: `pass`; `fail` (its rule's `onFail` says whether that denies or sends the request to
 * a person, which is what a flag is); `unavailable` (it could not be completed: a system or a lookup
 * inside it failed, timed out, or answered without the data the check needs); `skipped` (not configured
 * for the role, or nothing to check, such as an optional ticket nobody gave). There is no fifth value.
 */
export type CheckResultKind = 'pass' | 'fail' | 'unavailable' | 'skipped';

export interface CheckInput {
  name: CheckName;
  result: CheckResultKind;
  /** What a `fail` does under the role's rule: `deny` answers Denied, `review` is a flag (a person decides). */
  onFail: 'deny' | 'review';
}

export interface DecisionInput {
  humanOnly: boolean;
  mode: 'enforce' | 'audit';
  checks: CheckInput[];
  /** The role's `autoApprove.when`; null when the role never auto-approves. */
  autoApproveWhen: CheckName[] | null;
  /**
   * Break-glass qualifies (services/decision/emergency.ts): marked `EMERGENCY:`, the role's `emergency` on, the
   * on-call check passed, the ticket an open incident of a listed priority, under the daily limit. Absent: no.
   */
  emergencyMet?: boolean;
}

/** The conditions a row tests; `any` matches both. */
export type Cell = 'yes' | 'no' | 'any';

export interface DecisionRow {
  row: number;
  /** A check failed whose rule says deny. */
  deniedByCheck: Cell;
  humanOnly: Cell;
  /** A configured check could not be completed. */
  checkUnavailable: Cell;
  /** A check failed whose rule says review (a flag: off-hours, not on call, weak justification under `flag`, …). */
  flagged: Cell;
  /** The role lists `autoApprove.when` and every listed check passed. */
  autoApproveMet: Cell;
  /** A break-glass request qualifies for an emergency grant (see `DecisionInput.emergencyMet`). */
  emergencyMet: Cell;
  enforce: EvaluationOutcome;
}

/** First matching row wins. Printed in docs/policy.md ("The decision table"). */
export const DECISION_TABLE: readonly DecisionRow[] = [
  { row: 1, deniedByCheck: 'yes', humanOnly: 'any', checkUnavailable: 'any', flagged: 'any', autoApproveMet: 'any', emergencyMet: 'any', enforce: 'Denied' },
  { row: 2, deniedByCheck: 'no', humanOnly: 'yes', checkUnavailable: 'any', flagged: 'any', autoApproveMet: 'any', emergencyMet: 'any', enforce: 'Approved' },
  { row: 3, deniedByCheck: 'no', humanOnly: 'no', checkUnavailable: 'yes', flagged: 'any', autoApproveMet: 'any', emergencyMet: 'any', enforce: 'Approved' },
  { row: 4, deniedByCheck: 'no', humanOnly: 'no', checkUnavailable: 'no', flagged: 'yes', autoApproveMet: 'any', emergencyMet: 'any', enforce: 'Approved' },
  { row: 5, deniedByCheck: 'no', humanOnly: 'no', checkUnavailable: 'no', flagged: 'no', autoApproveMet: 'any', emergencyMet: 'yes', enforce: 'AutoApproved' },
  { row: 6, deniedByCheck: 'no', humanOnly: 'no', checkUnavailable: 'no', flagged: 'no', autoApproveMet: 'yes', emergencyMet: 'no', enforce: 'AutoApproved' },
  { row: 7, deniedByCheck: 'no', humanOnly: 'no', checkUnavailable: 'no', flagged: 'no', autoApproveMet: 'no', emergencyMet: 'no', enforce: 'Approved' },
];

/** The row that is an emergency (break-glass) grant: AutoApproved because `emergencyMet`, not `autoApproveMet`. */
export const EMERGENCY_ROW = 5;

export interface Decision {
  /** What PIM is answered. */
  outcome: EvaluationOutcome;
  /** What enforce mode answers; differs from `outcome` only in audit mode. */
  wouldBe: EvaluationOutcome;
  /** The DECISION_TABLE row that decided `wouldBe`. */
  row: number;
  facts: DecisionFacts;
}

export type DecisionFacts = Record<'deniedByCheck' | 'humanOnly' | 'checkUnavailable' | 'flagged' | 'autoApproveMet' | 'emergencyMet', boolean>;

/** The six facts the table reads, from the inputs. */
export function factsOf(input: DecisionInput): DecisionFacts {
  const failed = input.checks.filter((c) => c.result === 'fail');
  const listed = input.autoApproveWhen ?? [];
  return {
    deniedByCheck: failed.some((c) => c.onFail === 'deny'),
    humanOnly: input.humanOnly,
    checkUnavailable: input.checks.some((c) => c.result === 'unavailable'),
    flagged: failed.some((c) => c.onFail === 'review'),
    // Every listed check must be present and passed; a listed check that was skipped (or is missing) is not met.
    autoApproveMet: listed.length > 0 && listed.every((name) => input.checks.some((c) => c.name === name && c.result === 'pass')),
    emergencyMet: input.emergencyMet === true,
  };
}

function matches(cell: Cell, fact: boolean): boolean {
  return cell === 'any' || (cell === 'yes') === fact;
}

export function rowFor(facts: DecisionFacts): DecisionRow {
  const row = DECISION_TABLE.find(
    (r) =>
      matches(r.deniedByCheck, facts.deniedByCheck) &&
      matches(r.humanOnly, facts.humanOnly) &&
      matches(r.checkUnavailable, facts.checkUnavailable) &&
      matches(r.flagged, facts.flagged) &&
      matches(r.autoApproveMet, facts.autoApproveMet) &&
      matches(r.emergencyMet, facts.emergencyMet),
  );
  // The rows cover every combination (the test enumerates all 64); a gap would be a bug, and fails closed.
  return (
    row ?? {
      row: 0,
      deniedByCheck: 'any',
      humanOnly: 'any',
      checkUnavailable: 'any',
      flagged: 'any',
      autoApproveMet: 'any',
      emergencyMet: 'any',
      enforce: 'Approved',
    }
  );
}

/** The outcome. Audit mode always answers Approved (a person decides) and keeps what enforce would have said. */
export function decide(input: DecisionInput): Decision {
  const facts = factsOf(input);
  const row = rowFor(facts);
  return { outcome: input.mode === 'audit' ? 'Approved' : row.enforce, wouldBe: row.enforce, row: row.row, facts };
}
