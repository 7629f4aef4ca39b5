import type { UserRiskRecord } from '../integrations/ports';

/** What the policy does with a level of active user risk. */
export type RiskAction = 'deny' | 'review' | 'allow';

export interface IdentityRiskRule {
  high: RiskAction;
  medium: RiskAction;
  low: RiskAction;
}

/** With `identityRisk: {}` in the policy: high risk is refused, medium goes to a person, low is allowed. */
export const DEFAULT_IDENTITY_RISK_RULE: IdentityRiskRule = { high: 'deny', medium: 'review', low: 'allow' };

/** The risk that counts now: `hidden` when ID Protection says the user is at risk but not how much. */
export type ActiveRisk = 'high' | 'medium' | 'low' | 'hidden' | 'none';

/** Risk an administrator or the user has dealt with is history, not a reason to refuse. */
const CLOSED_STATES = new Set(['none', 'dismissed', 'remediated', 'confirmedsafe']);

/**
 * Pure: the active risk of a record. A confirmed compromise is high whatever the level says; an open
 * state with a level the tenant cannot see (no P2 licence: `hidden`) or does not know is `hidden`.
 */
export function activeRiskOf(r: Pick<UserRiskRecord, 'riskLevel' | 'riskState'>): ActiveRisk {
  const state = r.riskState.toLowerCase();
  if (CLOSED_STATES.has(state)) return 'none';
  if (state === 'confirmedcompromised') return 'high';
  switch (r.riskLevel) {
    case 'high':
    case 'medium':
    case 'low':
      return r.riskLevel;
    case 'none':
      // No level but a state that is not closed (atRisk, or one we do not know): the record is
      // inconsistent, so it is not read as "no risk".
      return 'hidden';
    default:
      return 'hidden';
  }
}

/** Never loosens: a level the policy cannot see is reviewed by a person, whatever the other levels allow. */
export function riskActionFor(rule: IdentityRiskRule, risk: ActiveRisk): RiskAction | 'pass' {
  if (risk === 'none') return 'pass';
  if (risk === 'hidden') return 'review';
  return rule[risk];
}

/** "High", "Medium"… for the card and the reasons. */
export function riskLevelText(risk: ActiveRisk | string): string {
  if (risk === 'hidden') return 'Hidden';
  if (risk === 'unknownFutureValue') return 'Unknown';
  return risk.charAt(0).toUpperCase() + risk.slice(1);
}
