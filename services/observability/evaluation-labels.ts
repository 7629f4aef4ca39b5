import { EMERGENCY_ROW } from '../decision/decision-table';
import type { Verdict } from '../decision/evaluate-activation';

/**
 * The `rule` label of pim_evaluations_total: which rule decided what enforce mode would answer. A check
 * name (a fixed set), or: `autoApprove` (every auto-approval condition passed), `emergency` (a break-glass grant), `budget` (the checks
 * overran and an approver decides), `default` (nothing stood out; an approver decides).
 */
export function decidingRule(verdict: Verdict): string {
  const first = (result: string) => verdict.checks.find((c) => c.result === result)?.name;
  switch (verdict.wouldBe) {
    case 'Denied':
      return verdict.checks.find((c) => c.result === 'fail' && c.onFail === 'deny')?.name ?? 'default';
    case 'AutoApproved':
      return verdict.row === EMERGENCY_ROW ? 'emergency' : 'autoApprove';
    case 'Approved':
      if (verdict.checks.length === 0) return 'budget';
      if (verdict.humanOnly) return 'humanOnlyRole';
      return first('unavailable') ?? verdict.checks.find((c) => c.result === 'fail' && c.onFail === 'review')?.name ?? 'default';
  }
}
