import { assessJustification } from '../approvals/justification-quality';
import { ActivationRequest } from './activation-request';
import { isHumanOnly, RoleRules, rulesFor, RulesConfig, ticketProblem } from './role-rules';

export type EvaluationOutcome = 'Approved' | 'AutoApproved' | 'Denied';

export interface CheckResult {
  name: 'humanOnlyRole' | 'justification' | 'ticket' | 'offHours';
  result: 'pass' | 'fail' | 'flag' | 'skipped';
  detail: string;
}

export interface Verdict {
  outcome: EvaluationOutcome;
  /** What enforce mode would have answered; differs from `outcome` only in audit mode. */
  wouldBe: EvaluationOutcome;
  mode: RoleRules['mode'];
  reasons: string[];
  riskFlags: string[];
  checks: CheckResult[];
}

export interface EvaluationContext {
  rules: RulesConfig;
  /** Business hours in UTC, for the off-hours flag. */
  businessHoursUtc: { start: number; end: number };
  roleDisplayName?: string;
}

export function roleKeyOf(request: ActivationRequest): string {
  return request.kind === 'group' ? `group:${request.scope}` : request.roleDefinitionId;
}

/** The rules of the decision service. Pure: everything it needs is in its arguments. */
export function evaluateActivation(request: ActivationRequest, ctx: EvaluationContext, now: Date): Verdict {
  const roleKey = roleKeyOf(request);
  const rules = rulesFor(ctx.rules, roleKey);
  const roleName = ctx.roleDisplayName ?? 'This role';
  const checks: CheckResult[] = [];
  const denials: string[] = [];
  const flags: string[] = [];
  const reasons: string[] = [];

  const humanOnly = isHumanOnly(ctx.rules, request.roleDefinitionId);
  checks.push({ name: 'humanOnlyRole', result: humanOnly ? 'flag' : 'pass', detail: humanOnly ? 'human-only role' : 'not human-only' });
  if (humanOnly) flags.push('Human-only role');

  const justification = assessJustification(request.justification);
  if (justification.ok) {
    checks.push({ name: 'justification', result: 'pass', detail: 'readable justification' });
  } else if (rules.justification === 'deny') {
    checks.push({ name: 'justification', result: 'fail', detail: justification.problem! });
    denials.push(justification.problem!);
  } else {
    checks.push({ name: 'justification', result: 'flag', detail: justification.problem! });
    flags.push('Weak justification');
    reasons.push(justification.problem!);
  }

  if (rules.requireTicket) {
    const problem = ticketProblem(request.ticket);
    checks.push({ name: 'ticket', result: problem ? 'fail' : 'pass', detail: problem ?? `${request.ticket!.system} ${request.ticket!.number} is well-formed` });
    if (problem) denials.push(problem);
  } else {
    checks.push({ name: 'ticket', result: 'skipped', detail: 'no ticket required for this role' });
  }

  const start = request.startDateTime ? new Date(request.startDateTime) : now;
  const when = Number.isNaN(start.getTime()) ? now : start;
  const offHours = isOffHours(when, ctx.businessHoursUtc);
  checks.push({ name: 'offHours', result: offHours ? 'flag' : 'pass', detail: when.toISOString() });
  if (offHours) flags.push('Off-hours request');

  let wouldBe: EvaluationOutcome;
  if (denials.length > 0) {
    wouldBe = 'Denied';
    reasons.unshift(...denials);
  } else if (humanOnly) {
    wouldBe = 'Approved';
    reasons.unshift(`${roleName} is a human-only role: an approver must decide.`);
  } else if (rules.autoApprove === 'whenChecksPass' && flags.length === 0) {
    wouldBe = 'AutoApproved';
    reasons.unshift(`Every check passed and ${roleName} is set to approve automatically when they do.`);
  } else {
    wouldBe = 'Approved';
    if (reasons.length === 0) reasons.push('Checks passed; an approver decides.');
  }

  const outcome: EvaluationOutcome = rules.mode === 'audit' ? 'Approved' : wouldBe;
  if (rules.mode === 'audit' && wouldBe !== 'Approved') {
    reasons.push(`Audit mode: enforce mode would have answered ${wouldBe}.`);
  }
  return { outcome, wouldBe, mode: rules.mode, reasons, riskFlags: flags, checks };
}

function isOffHours(at: Date, hours: { start: number; end: number }): boolean {
  const day = at.getUTCDay();
  const hour = at.getUTCHours();
  return day === 0 || day === 6 || hour < hours.start || hour >= hours.end;
}
