import { assertNever } from '../approvals/request-lifecycle';
import type { Evidence, Finding, FindingStatus } from './ports';

/** Constructors for the three states, so adapters never build a finding by hand. */
export const found = {
  pass: (detail: string, ...evidence: Evidence[]): Finding => ({ status: 'pass', detail, evidence }),
  fail: (detail: string, ...evidence: Evidence[]): Finding => ({ status: 'fail', detail, evidence }),
  unknown: (detail: string, ...evidence: Evidence[]): Finding => ({ status: 'unknown', detail, evidence }),
};

/**
 * The state of several findings about one check: a definite failure is reported as one (a closed
 * ticket is closed whatever else could not be read), else anything unknown makes the whole unknown,
 * else pass. An empty list is unknown: nothing was established.
 */
export function worstOf(statuses: FindingStatus[]): FindingStatus {
  if (statuses.length === 0) return 'unknown';
  let worst: FindingStatus = 'pass';
  for (const s of statuses) {
    switch (s) {
      case 'fail':
        return 'fail';
      case 'unknown':
        worst = 'unknown';
        break;
      case 'pass':
        break;
      default:
        return assertNever(s);
    }
  }
  return worst;
}

export { assertNever } from '../approvals/request-lifecycle';

/** Evidence of a conclusion drawn without asking anyone (a format check, a missing field). */
export function noted(asked: string, system: string, answer: string): Evidence {
  return { asked, system, answer, ms: 0 };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
