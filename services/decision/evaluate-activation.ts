import { setMaxListeners } from 'node:events';
import { assessJustification } from '../approvals/justification-quality';
import type { ActivationWindow, HrSignals, IdentityRiskSignals, OnCallService, Requester, TicketSystem, UserRiskRecord } from '../integrations/ports';
import type { ActivationRequest } from './activation-request';
import { activeRiskOf, type IdentityRiskRule, riskActionFor, riskLevelText } from './identity-risk';
import { insideMaintenanceWindow } from './maintenance-window';
import { DecisionPolicy, effectiveRule, EffectiveRule } from './policy';
import { BUILT_IN_HUMAN_ONLY_ROLES, ticketProblem } from './role-rules';

export type EvaluationOutcome = 'Approved' | 'AutoApproved' | 'Denied';
export type CheckName = 'humanOnlyRole' | 'justification' | 'ticket' | 'onCall' | 'hr' | 'identityRisk' | 'maintenanceWindow' | 'offHours';

export interface CheckResult {
  name: CheckName;
  /** fail denies; flag sends to a human; unavailable (error or out of time) sends to a human; info only informs. */
  result: 'pass' | 'fail' | 'flag' | 'unavailable' | 'skipped' | 'info';
  /** A sentence the requester (or approver) can act on. */
  detail: string;
  /** A short flag for the card when the check flags or informs (e.g. "High user risk"); `detail` otherwise. */
  label?: string;
  latencyMs: number;
}

export interface Verdict {
  outcome: EvaluationOutcome;
  /** What enforce mode would have answered; differs from `outcome` only in audit mode. */
  wouldBe: EvaluationOutcome;
  mode: 'enforce' | 'audit';
  reasons: string[];
  riskFlags: string[];
  checks: CheckResult[];
}

/** The systems of record, behind ports; any may be absent. */
export interface DecisionPorts {
  requester(principalId: string, signal: AbortSignal): Promise<Requester>;
  tickets: TicketSystem[];
  onCall: OnCallService[];
  hr?: HrSignals;
  /** Microsoft Entra ID Protection (app-only Graph). */
  identityRisk?: IdentityRiskSignals;
}

export interface DecisionOptions {
  policy: DecisionPolicy;
  ports: DecisionPorts;
  /** Time for every check together; what has not answered by then counts as unavailable. */
  budgetMs: number;
  now: Date;
  roleDisplayName?: string;
}

export function roleKeyOf(request: ActivationRequest): string {
  if (request.kind === 'group') return `group:${request.scope}`;
  if (request.kind === 'azureResource') return `azure:${request.roleDefinitionId.split('/').pop()!.toLowerCase()}`;
  return request.roleDefinitionId;
}

export function isHumanOnly(policy: DecisionPolicy, roleDefinitionId: string): boolean {
  const key = roleDefinitionId.toLowerCase();
  return key in BUILT_IN_HUMAN_ONLY_ROLES || policy.humanOnlyRoleIds.some((id) => id.toLowerCase() === key);
}

/**
 * The pre-approval decision: every check of the role's rule runs in parallel inside the budget; a
 * check that fails to answer degrades the outcome to Approved (a human decides), never to AutoApproved.
 */
export async function evaluateActivation(request: ActivationRequest, o: DecisionOptions): Promise<Verdict> {
  const rule = effectiveRule(o.policy, roleKeyOf(request));
  const roleName = o.roleDisplayName ?? 'This role';
  const deadline = new AbortController();
  // Every check and adapter call listens on this one signal; more than Node's default of 10 is expected.
  setMaxListeners(64, deadline.signal);
  const timer = setTimeout(() => deadline.abort(), o.budgetMs);
  const started = Date.now();
  const window = activationWindow(request, o.now);

  try {
    const sync: CheckResult[] = [humanOnlyCheck(o.policy, request), justificationCheck(request, rule), offHoursCheck(window, o.policy), maintenanceCheck(rule, window)];
    const needsRequester = Boolean((rule.ticket?.verify && request.ticket) || rule.onCall || rule.hr);
    const requester = needsRequester ? bounded(o.ports.requester(request.principalId, deadline.signal), deadline.signal) : null;
    const async = await Promise.all([
      timed('ticket', () => ticketCheck(request, rule, requester, o.ports.tickets, window, deadline.signal), deadline.signal, started),
      timed('onCall', () => onCallCheck(rule, requester, o.ports.onCall, o.now, deadline.signal), deadline.signal, started),
      timed('hr', () => hrCheck(rule, requester, o.ports.hr, window, deadline.signal), deadline.signal, started),
      timed('identityRisk', () => identityRiskCheck(rule.identityRisk, request.principalId, o.ports.identityRisk, deadline.signal), deadline.signal, started),
    ]);
    return combine([...sync, ...async], rule, roleName);
  } finally {
    clearTimeout(timer);
  }
}

function activationWindow(request: ActivationRequest, now: Date): ActivationWindow {
  const parsed = request.startDateTime ? new Date(request.startDateTime) : now;
  const start = Number.isNaN(parsed.getTime()) ? now : parsed;
  return { start, end: new Date(start.getTime() + (request.durationMinutes ?? 60) * 60_000) };
}

function humanOnlyCheck(policy: DecisionPolicy, request: ActivationRequest): CheckResult {
  const humanOnly = isHumanOnly(policy, request.roleDefinitionId);
  return { name: 'humanOnlyRole', result: humanOnly ? 'flag' : 'pass', detail: humanOnly ? 'Human-only role' : 'Not a human-only role', latencyMs: 0 };
}

function justificationCheck(request: ActivationRequest, rule: EffectiveRule): CheckResult {
  const j = assessJustification(request.justification);
  if (j.ok) return { name: 'justification', result: 'pass', detail: 'Readable justification', latencyMs: 0 };
  return { name: 'justification', result: rule.justification === 'deny' ? 'fail' : 'flag', detail: j.problem!, latencyMs: 0 };
}

function offHoursCheck(window: ActivationWindow, policy: DecisionPolicy): CheckResult {
  const day = window.start.getUTCDay();
  const hour = window.start.getUTCHours();
  const off = day === 0 || day === 6 || hour < policy.businessHoursUtc.start || hour >= policy.businessHoursUtc.end;
  return { name: 'offHours', result: off ? 'info' : 'pass', detail: off ? 'Off-hours request' : 'Within business hours', latencyMs: 0 };
}

function maintenanceCheck(rule: EffectiveRule, window: ActivationWindow): CheckResult {
  if (!rule.maintenanceWindows) return { name: 'maintenanceWindow', result: 'skipped', detail: 'No maintenance windows for this role', latencyMs: 0 };
  if (insideMaintenanceWindow(rule.maintenanceWindows.windows, window.start, window.end)) {
    return { name: 'maintenanceWindow', result: 'pass', detail: 'Inside a maintenance window', latencyMs: 0 };
  }
  return {
    name: 'maintenanceWindow',
    result: rule.maintenanceWindows.outside === 'deny' ? 'fail' : 'flag',
    detail: 'The activation is outside this role\'s maintenance windows. Ask again for a time inside one, or ask an approver for an exception.',
    latencyMs: 0,
  };
}

async function ticketCheck(request: ActivationRequest, rule: EffectiveRule, requester: Promise<Requester> | null, systems: TicketSystem[], window: ActivationWindow, signal: AbortSignal): Promise<Omit<CheckResult, 'latencyMs'>> {
  if (!rule.ticket) return { name: 'ticket', result: 'skipped', detail: 'No ticket rule for this role' };
  const ticket = request.ticket;
  if (!ticket) {
    return rule.ticket.required ? { name: 'ticket', result: 'fail', detail: ticketProblem(null)! } : { name: 'ticket', result: 'skipped', detail: 'No ticket given' };
  }
  const format = ticketProblem(ticket);
  if (format) return { name: 'ticket', result: 'fail', detail: format };
  if (rule.ticket.systems && !rule.ticket.systems.some((s) => s.toLowerCase() === ticket.system.toLowerCase())) {
    return { name: 'ticket', result: 'fail', detail: `This role accepts tickets from ${rule.ticket.systems.join(' or ')}, not ${clip(ticket.system)}.` };
  }
  if (!rule.ticket.verify) return { name: 'ticket', result: 'pass', detail: `${ticket.system} ${ticket.number} is well-formed (not looked up)` };
  const adapter = systems.find((s) => s.names.some((n) => n.toLowerCase() === ticket.system.toLowerCase()));
  if (!adapter) return { name: 'ticket', result: 'unavailable', detail: `Ticket check unavailable: no connection to ${clip(ticket.system)} is configured, so an approver decides.` };
  const who = await requester!;
  const found = await adapter.check(ticket.number, who, window, signal);
  const problems: string[] = [];
  if (!found.found) problems.push(`Ticket ${ticket.number} was not found in ${adapter.names[0]}. Check the number.`);
  else {
    if (!found.open) problems.push(`Ticket ${ticket.number} is closed. Reopen it or cite an open ticket.`);
    if (rule.ticket.mustBeAssignedToRequester && found.assignedToRequester === false) problems.push(`Ticket ${ticket.number} is not assigned to you or your group. Ask for it to be assigned, or cite your own ticket.`);
    if (found.windowCovered === false) problems.push(`Change ${ticket.number}'s planned window does not cover the activation. Ask for a time inside the change window.`);
    problems.push(...found.problems.filter((p) => !problems.includes(p)));
  }
  if (problems.length > 0) return { name: 'ticket', result: 'fail', detail: dedupe(problems).join(' ') };
  return { name: 'ticket', result: 'pass', detail: `${found.summary} is open${found.assignedToRequester ? ' and assigned to the requester' : ''}` };
}

async function onCallCheck(rule: EffectiveRule, requester: Promise<Requester> | null, services: OnCallService[], now: Date, signal: AbortSignal): Promise<Omit<CheckResult, 'latencyMs'>> {
  if (!rule.onCall) return { name: 'onCall', result: 'skipped', detail: 'On-call status not checked for this role' };
  if (services.length === 0) return { name: 'onCall', result: 'unavailable', detail: 'On-call check unavailable: no on-call service is configured, so an approver decides.' };
  const who = await requester!;
  const answers = await Promise.allSettled(services.map((s) => s.isOnCall(who, now, signal)));
  const on = answers.find((a) => a.status === 'fulfilled' && a.value.onCall);
  if (on && on.status === 'fulfilled') return { name: 'onCall', result: 'pass', detail: on.value.detail };
  if (answers.some((a) => a.status === 'rejected')) return { name: 'onCall', result: 'unavailable', detail: 'On-call check unavailable, so an approver decides.' };
  return { name: 'onCall', result: 'flag', detail: 'Not on call now, so an approver decides.' };
}

async function hrCheck(rule: EffectiveRule, requester: Promise<Requester> | null, hr: HrSignals | undefined, window: ActivationWindow, signal: AbortSignal): Promise<Omit<CheckResult, 'latencyMs'>> {
  if (!rule.hr) return { name: 'hr', result: 'skipped', detail: 'HR status not checked for this role' };
  if (!hr) return { name: 'hr', result: 'unavailable', detail: 'HR check unavailable: not configured, so an approver decides.' };
  const who = await requester!;
  const answer = await hr.check(who, window, signal);
  if (answer.eligible) return { name: 'hr', result: 'pass', detail: 'Account active, no leave date in the window' };
  return { name: 'hr', result: 'fail', detail: `${answer.problems.join(' ')} Privileged access is not granted to leaving or disabled accounts; contact your manager.`.trim() };
}

const IDENTITY_RISK_UNAVAILABLE = 'Identity risk could not be checked';

/** The requester's active user risk against the role's rule: deny, a person reviews, or allowed (shown). */
async function identityRiskCheck(rule: IdentityRiskRule | null, principalId: string, port: IdentityRiskSignals | undefined, signal: AbortSignal): Promise<Omit<CheckResult, 'latencyMs'>> {
  if (!rule) return { name: 'identityRisk', result: 'skipped', detail: 'User risk not checked for this role' };
  if (!port) return { name: 'identityRisk', result: 'unavailable', label: IDENTITY_RISK_UNAVAILABLE, detail: `${IDENTITY_RISK_UNAVAILABLE}: ID Protection is not configured (integrations.identityRisk), so an approver decides.` };
  return identityRiskResult(rule, await port.userRisk(principalId, signal));
}

/** Pure: the check's result for a record. Exported for table tests. */
export function identityRiskResult(rule: IdentityRiskRule, record: UserRiskRecord): Omit<CheckResult, 'latencyMs'> {
  const risk = activeRiskOf(record);
  const action = riskActionFor(rule, risk);
  const level = riskLevelText(risk);
  const state = record.riskState === 'confirmedCompromised' ? 'confirmed compromised' : 'at risk';
  switch (action) {
    case 'pass': {
      const earlier = record.riskState === 'remediated' || record.riskState === 'dismissed' ? ` (earlier risk ${record.riskState})` : '';
      return { name: 'identityRisk', result: 'pass', detail: `No active user risk in ID Protection${earlier}` };
    }
    case 'deny':
      return {
        name: 'identityRisk',
        result: 'fail',
        label: `${level} user risk`,
        detail: `Microsoft Entra ID Protection rates your account's user risk ${level.toLowerCase()} (${state}). Privileged roles are not activated for an account at risk: contact your security team so they can investigate and clear the risk, then ask again.`,
      };
    case 'review':
      return {
        name: 'identityRisk',
        result: 'flag',
        label: `${level} user risk`,
        detail: risk === 'hidden'
          ? 'ID Protection reports the requester at risk but hides the level, so an approver decides.'
          : `ID Protection rates the requester's user risk ${level.toLowerCase()} (${state}), so an approver decides.`,
      };
    case 'allow':
      return { name: 'identityRisk', result: 'info', label: `${level} user risk`, detail: `${level} user risk in ID Protection, allowed for this role by the policy` };
    default:
      return assertNever(action);
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled value: ${String(value)}`);
}

/** Runs one async check, turning an error or the deadline into `unavailable` with a plain reason. */
async function timed(name: CheckName, run: () => Promise<Omit<CheckResult, 'latencyMs'>>, signal: AbortSignal, started: number): Promise<CheckResult> {
  const label = { ticket: 'Ticket check', onCall: 'On-call check', hr: 'HR check' }[name as 'ticket' | 'onCall' | 'hr'] ?? 'Check';
  try {
    const r = await bounded(run(), signal);
    return { ...r, latencyMs: Date.now() - started };
  } catch (err) {
    if (name === 'identityRisk') {
      const why = signal.aborted ? 'ID Protection did not answer in time' : 'ID Protection is unavailable';
      return { name, result: 'unavailable', label: IDENTITY_RISK_UNAVAILABLE, detail: `${IDENTITY_RISK_UNAVAILABLE} (${why}), so an approver decides.`, latencyMs: Date.now() - started };
    }
    const why = signal.aborted ? 'did not answer in time' : 'unavailable';
    return { name, result: 'unavailable', detail: `${label} ${why}, so an approver decides.`, latencyMs: Date.now() - started };
  }
}

/** Resolves with `p`, or rejects when the deadline passes even if `p` ignores its signal. */
function bounded<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('deadline'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('deadline'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const FLAG_LABELS: Partial<Record<CheckName, string>> = {
  humanOnlyRole: 'Human-only role',
  justification: 'Weak justification',
  onCall: 'Not on call',
  maintenanceWindow: 'Outside maintenance window',
};

/** Pure: the outcome from the checks. Exported for table tests. */
export function combine(checks: CheckResult[], rule: EffectiveRule, roleName: string): Verdict {
  const by = (n: CheckName) => checks.find((c) => c.name === n);
  const failed = checks.filter((c) => c.result === 'fail');
  const flagged = checks.filter((c) => c.result === 'flag');
  const unavailable = checks.filter((c) => c.result === 'unavailable');
  const riskFlags = [
    ...failed.filter((c) => c.label).map((c) => c.label!),
    ...flagged.map((c) => c.label ?? FLAG_LABELS[c.name] ?? c.detail),
    ...(by('offHours')?.result === 'info' ? ['Off-hours request'] : []),
    ...checks.filter((c) => c.result === 'info' && c.label).map((c) => c.label!),
    ...unavailable.map((c) => c.label ?? `${c.name === 'onCall' ? 'On-call' : c.name === 'hr' ? 'HR' : 'Ticket'} check unavailable`),
  ];

  let wouldBe: EvaluationOutcome;
  const reasons: string[] = [];
  if (failed.length > 0) {
    wouldBe = 'Denied';
    reasons.push(...failed.map((c) => c.detail));
  } else if (by('humanOnlyRole')?.result === 'flag') {
    wouldBe = 'Approved';
    reasons.push(`${roleName} is a human-only role: an approver must decide.`);
    reasons.push(...unavailable.map((c) => c.detail));
  } else if (rule.autoApprove && flagged.length === 0 && unavailable.length === 0 && rule.autoApprove.every((c) => by(c)?.result === 'pass')) {
    wouldBe = 'AutoApproved';
    reasons.push(`Approved automatically: ${rule.autoApprove.map((c) => by(c)!.detail).join('; ')}.`);
  } else {
    wouldBe = 'Approved';
    reasons.push(...unavailable.map((c) => c.detail), ...flagged.filter((c) => c.name !== 'humanOnlyRole').map((c) => c.detail));
    if (reasons.length === 0) reasons.push('Checks passed; an approver decides.');
  }

  const outcome: EvaluationOutcome = rule.mode === 'audit' ? 'Approved' : wouldBe;
  if (rule.mode === 'audit' && wouldBe !== 'Approved') reasons.push(`Audit mode: enforce mode would have answered ${wouldBe}.`);
  return { outcome, wouldBe, mode: rule.mode, reasons: dedupe(reasons), riskFlags: dedupe(riskFlags), checks };
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
