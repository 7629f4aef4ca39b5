import { setMaxListeners } from 'node:events';
import { assessJustification } from '../approvals/justification-quality';
import { assertNever, worstOf } from '../integrations/findings';
import type {
  ActivationWindow,
  Evidence,
  Finding,
  HrSignals,
  IdentityRiskSignals,
  OnCallService,
  RequesterLookup,
  TicketAspect,
  TicketCheck,
  TicketFinding,
  TicketSystem,
  UserRiskRecord,
} from '../integrations/ports';
import type { ActivationRequest } from './activation-request';
import { type CheckInput, type CheckName, type CheckResultKind, decide, EMERGENCY_ROW, type EvaluationOutcome } from './decision-table';
import { assessEmergency, type EmergencyAssessment, emergencyGrantReason, isEmergencyMarked, noEmergencyReason, type TicketFacts } from './emergency';
import { activeRiskOf, type IdentityRiskRule, riskActionFor, riskLevelText } from './identity-risk';
import { insideMaintenanceWindow } from './maintenance-window';
import { type DecisionPolicy, type EffectiveRule, effectiveRule } from './policy';
import { BUILT_IN_HUMAN_ONLY_ROLES, canonicalTicketSystem, ticketProblem } from './role-rules';

export type { CheckName, EvaluationOutcome } from './decision-table';

/**
 * One check's result with the evidence behind it. `result` and `onFail` are what the decision table
 * reads; the rest is for people: `detail` a sentence the requester or approver can act on, `summary` one
 * short line for the card and the audit export ("INC0012345 open, assignment could not be read
 * (ServiceNow HTTP 403)"), `evidence` what was asked of whom, what came back and how long it took.
 */
export interface CheckResult extends CheckInput {
  detail: string;
  summary: string;
  /** A short flag for the card (e.g. "High user risk"). */
  label?: string;
  evidence: Evidence[];
  latencyMs: number;
  /** The ticket check only: what the ticket is (kind, an incident's priority), for break-glass. */
  ticketFacts?: TicketFacts;
}

export interface Verdict {
  outcome: EvaluationOutcome;
  /** What enforce mode would have answered; differs from `outcome` only in audit mode. */
  wouldBe: EvaluationOutcome;
  mode: 'enforce' | 'audit';
  /** The decision table's row (docs/policy.md); 0 when the rules overran their backstop. */
  row: number;
  humanOnly: boolean;
  reasons: string[];
  riskFlags: string[];
  checks: CheckResult[];
  /** Break-glass: present when the request was marked `EMERGENCY:`; `granted` when enforce mode grants it (row 5). */
  emergency?: EmergencyAssessment & { granted: boolean };
}

/** The systems of record, behind ports; any may be absent. */
export interface DecisionPorts {
  /** The requester as the directory knows them; never rejects (a failed read is `unknown`). */
  requester(principalId: string, signal: AbortSignal): Promise<RequesterLookup>;
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
  /**
   * Break-glass: the requester's emergency grants in the last 24 hours, counted by the caller from the store
   * for a request marked `EMERGENCY:`; null or absent when they could not be counted (then no emergency grant).
   */
  emergencyGrantsInLastDay?: number | null;
}

export function roleKeyOf(request: Pick<ActivationRequest, 'kind' | 'roleDefinitionId' | 'scope'>): string {
  if (request.kind === 'group') return `group:${request.scope}`;
  if (request.kind === 'azureResource') return `azure:${request.roleDefinitionId.split('/').pop()!.toLowerCase()}`;
  return request.roleDefinitionId;
}

/**
 * Human-only: a built-in tenant-takeover role, or one the policy (or HUMAN_ONLY_ROLE_IDS) names by role
 * definition id, by Azure role definition guid, or by role key (`group:<id>`, `azure:<guid>`).
 */
export function isHumanOnly(policy: DecisionPolicy, request: Pick<ActivationRequest, 'kind' | 'roleDefinitionId' | 'scope'>): boolean {
  const id = request.roleDefinitionId.toLowerCase();
  const key = roleKeyOf(request).toLowerCase();
  const names = new Set([id, key, ...(request.kind === 'azureResource' ? [key.slice('azure:'.length)] : [])]);
  if (request.kind === 'entraRole' && id in BUILT_IN_HUMAN_ONLY_ROLES) return true;
  return policy.humanOnlyRoleIds.some((x) => names.has(x.toLowerCase()));
}

/**
 * The pre-approval decision: every configured check runs in parallel inside the budget, each gives
 * pass, fail or unavailable with its evidence, and the decision table (decision-table.ts) turns them into
 * the outcome. A check that cannot be completed can only send the request to a person.
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
  const humanOnly = isHumanOnly(o.policy, request);

  try {
    const sync: CheckResult[] = [justificationCheck(request, rule), businessHoursCheck(window, o.policy, rule), maintenanceCheck(rule, window)];
    const needsRequester = Boolean((rule.ticket?.verify && rule.ticket.mustBeAssignedToRequester && request.ticket) || rule.onCall);
    const requester = needsRequester ? lookupRequester(o.ports, request.principalId, deadline.signal) : null;
    const run = (name: CheckName, onFail: CheckInput['onFail'], fn: () => Promise<Partial<CheckResult> & Pick<CheckResult, 'result' | 'detail' | 'summary'>>) =>
      timed(name, onFail, fn, deadline.signal, started);
    const async = await Promise.all([
      run('ticket', 'deny', () => ticketCheck(request, rule, requester, o.ports.tickets, window, deadline.signal)),
      run('onCall', 'review', () => onCallCheck(rule, requester, o.ports.onCall, o.now, deadline.signal)),
      run('hr', 'deny', () => hrCheck(rule, request.principalId, o.ports.hr, window, deadline.signal)),
      run('identityRisk', 'review', () => identityRiskCheck(rule.identityRisk, request.principalId, o.ports.identityRisk, deadline.signal)),
    ]);
    const checks = [...sync, ...async];
    const ticket = checks.find((c) => c.name === 'ticket');
    const emergency = assessEmergency({
      marked: isEmergencyMarked(request.justification),
      rule: rule.emergency,
      humanOnly,
      roleName,
      onCall: checks.find((c) => c.name === 'onCall'),
      ticket: ticket ? { result: ticket.result, ...(ticket.ticketFacts ? { facts: ticket.ticketFacts } : {}) } : undefined,
      grantsInLastDay: o.emergencyGrantsInLastDay ?? null,
    });
    return verdictOf(checks, rule, humanOnly, roleName, emergency);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * When the activation runs: from PIM's start (now when it gives none) to the start plus the duration, or
 * PIM's end date-time (`afterDateTime`). No end (`noExpiration`, or none given) is `end: null`, which
 * every check that needs the end reads the safe way (a leave date in the future fails; no window covers it).
 */
export function activationWindow(request: Pick<ActivationRequest, 'startDateTime' | 'durationMinutes' | 'endDateTime'>, now: Date): ActivationWindow {
  const parsed = request.startDateTime ? new Date(request.startDateTime) : now;
  const start = Number.isNaN(parsed.getTime()) ? now : parsed;
  if (request.durationMinutes !== null && request.durationMinutes !== undefined)
    return { start, end: new Date(start.getTime() + request.durationMinutes * 60_000) };
  const end = request.endDateTime ? new Date(request.endDateTime) : null;
  return { start, end: end && !Number.isNaN(end.getTime()) ? end : null };
}

/** The directory's answer about the requester, never rejecting (the budget ending is `unknown`). */
async function lookupRequester(ports: DecisionPorts, principalId: string, signal: AbortSignal): Promise<RequesterLookup> {
  const started = Date.now();
  try {
    return await bounded(ports.requester(principalId, signal), signal);
  } catch {
    return {
      status: 'unknown',
      detail: 'the requester could not be read from the directory',
      evidence: {
        asked: 'the requester',
        system: 'Microsoft Graph',
        answer: signal.aborted ? 'no answer within the decision budget' : 'error',
        ms: Date.now() - started,
      },
    };
  }
}

const CHECK_TITLES: Record<CheckName, string> = {
  justification: 'Justification',
  ticket: 'Ticket',
  onCall: 'On-call',
  hr: 'HR status',
  identityRisk: 'Identity risk',
  maintenanceWindow: 'Maintenance window',
  businessHours: 'Business hours',
};

function skipped(name: CheckName, onFail: CheckInput['onFail'], detail: string): CheckResult {
  return { name, result: 'skipped', onFail, detail, summary: detail, evidence: [], latencyMs: 0 };
}

function justificationCheck(request: ActivationRequest, rule: EffectiveRule): CheckResult {
  const onFail = rule.justification === 'deny' ? 'deny' : 'review';
  const j = assessJustification(request.justification);
  if (j.ok) return { name: 'justification', result: 'pass', onFail, detail: 'Readable justification', summary: 'readable', evidence: [], latencyMs: 0 };
  return { name: 'justification', result: 'fail', onFail, detail: j.problem!, summary: j.short!, label: 'Weak justification', evidence: [], latencyMs: 0 };
}

/** Off-hours: a flag (a person decides) unless the role says `offHours: ignore`. */
function businessHoursCheck(window: ActivationWindow, policy: DecisionPolicy, rule: EffectiveRule): CheckResult {
  if (rule.offHours === 'ignore') return skipped('businessHours', 'review', 'Off-hours requests are not flagged for this role');
  const day = window.start.getUTCDay();
  const hour = window.start.getUTCHours();
  const when = `${window.start.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const off = day === 0 || day === 6 || hour < policy.businessHoursUtc.start || hour >= policy.businessHoursUtc.end;
  if (!off)
    return {
      name: 'businessHours',
      result: 'pass',
      onFail: 'review',
      detail: 'Within business hours',
      summary: `starts ${when}, within business hours`,
      evidence: [],
      latencyMs: 0,
    };
  return {
    name: 'businessHours',
    result: 'fail',
    onFail: 'review',
    label: 'Off-hours request',
    detail: `Off-hours request (starts ${when}, outside business hours ${policy.businessHoursUtc.start}:00–${policy.businessHoursUtc.end}:00 UTC on weekdays), so an approver decides.`,
    summary: `starts ${when}, outside business hours`,
    evidence: [],
    latencyMs: 0,
  };
}

/** The whole activation, start to end, must lie inside one window; no known end cannot. */
function maintenanceCheck(rule: EffectiveRule, window: ActivationWindow): CheckResult {
  const mw = rule.maintenanceWindows;
  const onFail = mw?.outside === 'flag' ? 'review' : 'deny';
  if (!mw) return skipped('maintenanceWindow', onFail, 'No maintenance windows for this role');
  if (window.end && insideMaintenanceWindow(mw.windows, window.start, window.end)) {
    return {
      name: 'maintenanceWindow',
      result: 'pass',
      onFail,
      detail: 'Inside a maintenance window',
      summary: 'the whole activation is inside a maintenance window',
      evidence: [],
      latencyMs: 0,
    };
  }
  return {
    name: 'maintenanceWindow',
    result: 'fail',
    onFail,
    label: 'Outside maintenance window',
    detail: window.end
      ? "The activation is not wholly inside one of this role's maintenance windows (it must start and end inside one). Ask again for a time inside a window, or ask an approver for an exception."
      : "The activation has no end, so it cannot lie inside one of this role's maintenance windows. Ask again with a duration.",
    summary: window.end ? 'not wholly inside a maintenance window' : 'no end, so not inside a maintenance window',
    evidence: [],
    latencyMs: 0,
  };
}

type Partial3 = Partial<CheckResult> & Pick<CheckResult, 'result' | 'detail' | 'summary'>;

const ASPECT_WORDS: Record<TicketAspect, { pass: string; fail: string; unknown: string }> = {
  exists: { pass: 'found', fail: 'not found', unknown: 'could not be read' },
  open: { pass: 'open', fail: 'closed', unknown: 'state could not be read' },
  assignment: { pass: 'assigned to the requester', fail: 'not assigned to the requester', unknown: 'assignment could not be read' },
  changeApproved: { pass: 'approved', fail: 'not approved', unknown: 'approval could not be read' },
  changeWindow: { pass: 'window covers the activation', fail: 'window does not cover the activation', unknown: 'window could not be read' },
};

function findingWords(f: TicketFinding): string {
  const words = ASPECT_WORDS[f.aspect][f.status];
  if (f.status !== 'unknown') return words;
  const last = f.evidence[f.evidence.length - 1];
  return last ? `${words} (${last.system} ${last.answer})` : words;
}

async function ticketCheck(
  request: ActivationRequest,
  rule: EffectiveRule,
  requester: Promise<RequesterLookup> | null,
  systems: TicketSystem[],
  window: ActivationWindow,
  signal: AbortSignal,
): Promise<Partial3> {
  if (!rule.ticket) return { result: 'skipped', detail: 'No ticket rule for this role', summary: 'not checked for this role' };
  const ticket = request.ticket;
  if (!ticket) {
    return rule.ticket.required
      ? { result: 'fail', detail: ticketProblem(null)!, summary: 'none given, and this role needs one', label: 'No ticket' }
      : { result: 'skipped', detail: 'No ticket given (optional for this role)', summary: 'none given (optional)' };
  }
  const shown = `${clip(ticket.system) || '(no system)'} ${clip(ticket.number)}`;
  const format = ticketProblem(ticket);
  if (format) return { result: 'fail', detail: format, summary: `${shown}: not a valid ticket reference`, label: 'Invalid ticket' };
  const adapter = systems.find((s) => s.names.some((n) => n.toLowerCase() === ticket.system.toLowerCase()));
  if (rule.ticket.systems && !acceptedSystem(ticket.system, adapter, rule.ticket.systems)) {
    return {
      result: 'fail',
      detail: `This role accepts tickets from ${rule.ticket.systems.join(' or ')}, not ${clip(ticket.system)}.`,
      summary: `${shown}: from a system this role does not accept`,
      label: 'Ticket system not accepted',
    };
  }
  if (!rule.ticket.verify)
    return { result: 'pass', detail: `${ticket.system} ${ticket.number} is well-formed (not looked up)`, summary: `${shown} well-formed (not looked up)` };
  if (!adapter) {
    return {
      result: 'unavailable',
      detail: `Ticket check could not be completed: no connection to ${clip(ticket.system)} is configured, so an approver decides.`,
      summary: `${shown}: no connection to ${clip(ticket.system)} is configured`,
      label: 'Ticket not verified',
    };
  }
  const wantAssignment = rule.ticket.mustBeAssignedToRequester;
  const who = requester ? await requester : null;
  const findings: TicketFinding[] = [];
  let check: TicketCheck;
  if (wantAssignment && who && who.status !== 'found') {
    // Without the requester the assignment cannot be compared; the ticket itself is still read.
    check = await adapter.check(
      { number: ticket.number, requester: { id: request.principalId, userPrincipalName: '', mail: null }, window, assignment: false },
      signal,
    );
    findings.push(...check.findings);
    findings.push(
      who.status === 'notFound'
        ? {
            aspect: 'assignment',
            status: 'fail',
            detail: `The directory has no user ${request.principalId}, so the ticket cannot be theirs.`,
            evidence: [who.evidence],
          }
        : { aspect: 'assignment', status: 'unknown', detail: `The assignment could not be checked: ${who.detail}.`, evidence: [who.evidence] },
    );
  } else {
    const requesterOf = who?.status === 'found' ? who.requester : { id: request.principalId, userPrincipalName: '', mail: null };
    check = await adapter.check({ number: ticket.number, requester: requesterOf, window, assignment: wantAssignment && who?.status === 'found' }, signal);
    findings.push(...check.findings);
  }
  // A reported aspect is what the check weighs; an assignment answer the role did not ask for is ignored.
  const relevant = findings.filter((f) => f.aspect !== 'assignment' || wantAssignment);
  if (wantAssignment && !relevant.some((f) => f.aspect === 'assignment') && relevant.every((f) => f.aspect !== 'exists' || f.status === 'pass')) {
    relevant.push({ aspect: 'assignment', status: 'unknown', detail: `${adapter.names[0]} did not report the assignment.`, evidence: [] });
  }
  const evidence = relevant.flatMap((f) => f.evidence);
  const label = adapter.names[0] ?? ticket.system;
  const summary = `${ticket.number} ${relevant.map(findingWords).join(', ')}`;
  const status = worstOf(relevant.map((f) => f.status));
  switch (status) {
    case 'fail':
      return {
        result: 'fail',
        detail: dedupe(relevant.filter((f) => f.status === 'fail').map((f) => f.detail)).join(' '),
        summary,
        evidence,
        label: 'Ticket problem',
      };
    case 'unknown':
      return {
        result: 'unavailable',
        detail: `Ticket check could not be completed (${relevant
          .filter((f) => f.status === 'unknown')
          .map((f) => f.detail)
          .join(' ')}), so an approver decides.`,
        summary,
        evidence,
        label: `Ticket not fully verified (${label})`,
      };
    case 'pass':
      return {
        result: 'pass',
        detail: `${check.summary} is open${wantAssignment ? ' and assigned to the requester' : ''}`,
        summary,
        evidence,
        ...(check.facts ? { ticketFacts: { number: ticket.number, system: label, ...check.facts } } : {}),
      };
    default:
      return assertNever(status);
  }
}

/** A ticket system is accepted when the role lists it, or lists another name of the same system. */
function acceptedSystem(system: string, adapter: TicketSystem | undefined, accepted: string[]): boolean {
  const mine = new Set([system, ...(adapter?.names ?? []), canonicalTicketSystem(system) ?? ''].filter(Boolean).map((s) => s.toLowerCase()));
  return accepted.some(
    (a) => mine.has(a.toLowerCase()) || (canonicalTicketSystem(a) ?? a).toLowerCase() === (canonicalTicketSystem(system) ?? '').toLowerCase(),
  );
}

async function onCallCheck(
  rule: EffectiveRule,
  requester: Promise<RequesterLookup> | null,
  services: OnCallService[],
  now: Date,
  signal: AbortSignal,
): Promise<Partial3> {
  if (!rule.onCall) return { result: 'skipped', detail: 'On-call status not checked for this role', summary: 'not checked for this role' };
  if (services.length === 0)
    return {
      result: 'unavailable',
      detail: 'On-call check could not be completed: no on-call service is configured, so an approver decides.',
      summary: 'no on-call service is configured',
      label: 'On-call not checked',
    };
  const who = await requester!;
  switch (who.status) {
    case 'unknown':
      return {
        result: 'unavailable',
        detail: `On-call check could not be completed: ${who.detail}, so an approver decides.`,
        summary: `requester could not be read (${who.evidence.system} ${who.evidence.answer})`,
        evidence: [who.evidence],
        label: 'On-call not checked',
      };
    case 'notFound':
      return {
        result: 'fail',
        detail: `The directory does not know the requester (${who.detail}), so nobody can confirm they are on call; an approver decides.`,
        summary: 'requester not in the directory',
        evidence: [who.evidence],
        label: 'Not on call',
      };
    case 'found':
      break;
    default:
      return assertNever(who);
  }
  const answers: Array<{ service: string; finding: Finding }> = await Promise.all(
    services.map(async (s) => ({
      service: s.name,
      finding: await s.isOnCall(who.requester, now, signal).catch(
        (): Finding => ({
          status: 'unknown',
          detail: `${s.name} could not be asked.`,
          evidence: [{ asked: 'on call now', system: s.name, answer: 'error', ms: 0 }],
        }),
      ),
    })),
  );
  const evidence = answers.flatMap((a) => a.finding.evidence);
  const summary = answers
    .map(
      (a) =>
        `${a.service} ${a.finding.status === 'pass' ? 'on call' : a.finding.status === 'fail' ? 'not on call' : `could not tell (${a.finding.evidence[a.finding.evidence.length - 1]?.answer ?? 'error'})`}`,
    )
    .join(', ');
  const on = answers.find((a) => a.finding.status === 'pass');
  const unknown = answers.filter((a) => a.finding.status === 'unknown');
  // Every configured provider must answer, unless the rule says one "on call" is enough.
  if (on && (unknown.length === 0 || rule.onCallAnyProviderSuffices)) return { result: 'pass', detail: on.finding.detail, summary, evidence };
  if (unknown.length > 0) {
    return {
      result: 'unavailable',
      detail: `On-call check could not be completed: ${unknown.map((u) => u.service).join(' and ')} could not say whether the requester is on call, so an approver decides.`,
      summary,
      evidence,
      label: 'On-call not checked',
    };
  }
  return { result: 'fail', detail: 'Not on call now, so an approver decides.', summary, evidence, label: 'Not on call' };
}

async function hrCheck(rule: EffectiveRule, principalId: string, hr: HrSignals | undefined, window: ActivationWindow, signal: AbortSignal): Promise<Partial3> {
  if (!rule.hr) return { result: 'skipped', detail: 'HR status not checked for this role', summary: 'not checked for this role' };
  if (!hr)
    return {
      result: 'unavailable',
      detail: 'HR check could not be completed: it is not configured (integrations.hr), so an approver decides.',
      summary: 'not configured',
      label: 'HR not checked',
    };
  const f = await hr.check({ id: principalId, userPrincipalName: '', mail: null }, window, signal);
  switch (f.status) {
    case 'pass':
      return {
        result: 'pass',
        detail: 'Account active, no leave date in the window',
        summary: 'account enabled, no leave date inside the activation',
        evidence: f.evidence,
      };
    case 'fail':
      return {
        result: 'fail',
        detail: `${f.detail} Privileged access is not granted to leaving or disabled accounts; contact your manager.`,
        summary: f.detail,
        evidence: f.evidence,
        label: 'HR: leaving or disabled',
      };
    case 'unknown':
      return {
        result: 'unavailable',
        detail: `HR check could not be completed (${f.detail}), so an approver decides.`,
        summary: `could not be read (${f.evidence[0]?.system ?? 'HR'} ${f.evidence[0]?.answer ?? 'error'})`,
        evidence: f.evidence,
        label: 'HR not checked',
      };
    default:
      return assertNever(f);
  }
}

const IDENTITY_RISK_UNAVAILABLE = 'Identity risk could not be checked';

/** The requester's active user risk against the role's rule: deny, a person reviews, or allowed (shown). */
async function identityRiskCheck(
  rule: IdentityRiskRule | null,
  principalId: string,
  port: IdentityRiskSignals | undefined,
  signal: AbortSignal,
): Promise<Partial3> {
  if (!rule) return { result: 'skipped', detail: 'User risk not checked for this role', summary: 'not checked for this role' };
  if (!port)
    return {
      result: 'unavailable',
      label: IDENTITY_RISK_UNAVAILABLE,
      detail: `${IDENTITY_RISK_UNAVAILABLE}: ID Protection is not configured (integrations.identityRisk), so an approver decides.`,
      summary: 'ID Protection is not configured',
    };
  const started = Date.now();
  const record = await port.userRisk(principalId, signal);
  const result = identityRiskResult(rule, record);
  return {
    ...result,
    evidence: [
      {
        asked: "the requester's user risk",
        system: 'Microsoft Entra ID Protection',
        answer: `${record.riskLevel}, ${record.riskState}`,
        ms: Date.now() - started,
      },
    ],
  };
}

/** Pure: the check's result for a record. Exported for table tests. */
export function identityRiskResult(rule: IdentityRiskRule, record: UserRiskRecord): Partial3 & { onFail: 'deny' | 'review' } {
  const risk = activeRiskOf(record);
  const action = riskActionFor(rule, risk);
  const level = riskLevelText(risk);
  const state = record.riskState === 'confirmedCompromised' ? 'confirmed compromised' : 'at risk';
  switch (action) {
    case 'pass': {
      const earlier = record.riskState === 'remediated' || record.riskState === 'dismissed' ? ` (earlier risk ${record.riskState})` : '';
      return { result: 'pass', onFail: 'review', detail: `No active user risk in ID Protection${earlier}`, summary: `no active user risk${earlier}` };
    }
    case 'deny':
      return {
        result: 'fail',
        onFail: 'deny',
        label: `${level} user risk`,
        detail: `Microsoft Entra ID Protection rates your account's user risk ${level.toLowerCase()} (${state}). Privileged roles are not activated for an account at risk: contact your security team so they can investigate and clear the risk, then ask again.`,
        summary: `${level.toLowerCase()} user risk (${state}), refused by policy`,
      };
    case 'review':
      return {
        result: 'fail',
        onFail: 'review',
        label: `${level} user risk`,
        detail:
          risk === 'hidden'
            ? 'ID Protection reports the requester at risk but hides the level, so an approver decides.'
            : `ID Protection rates the requester's user risk ${level.toLowerCase()} (${state}), so an approver decides.`,
        summary: `${level.toLowerCase()} user risk (${state}), an approver decides`,
      };
    case 'allow':
      // Allowed by the policy: a pass, shown on the card as information, never a flag.
      return {
        result: 'pass',
        onFail: 'review',
        label: `${level} user risk (allowed)`,
        detail: `${level} user risk in ID Protection, allowed for this role by the policy`,
        summary: `${level.toLowerCase()} user risk, allowed for this role`,
      };
    default:
      return assertNever(action);
  }
}

/** Runs one async check, turning an error or the deadline into `unavailable` with a plain reason. */
async function timed(name: CheckName, onFail: CheckInput['onFail'], run: () => Promise<Partial3>, signal: AbortSignal, started: number): Promise<CheckResult> {
  try {
    const r = await bounded(run(), signal);
    return {
      name,
      onFail: r.onFail ?? onFail,
      result: r.result,
      detail: r.detail,
      summary: r.summary,
      ...(r.label ? { label: r.label } : {}),
      evidence: r.evidence ?? [],
      latencyMs: Date.now() - started,
      ...(r.ticketFacts ? { ticketFacts: r.ticketFacts } : {}),
    };
  } catch (err) {
    const why = signal.aborted ? 'did not answer in time' : 'could not be completed';
    const answer = signal.aborted ? 'no answer within the decision budget' : shortError(err);
    const system = name === 'identityRisk' ? 'Microsoft Entra ID Protection' : CHECK_TITLES[name];
    const detail =
      name === 'identityRisk'
        ? `${IDENTITY_RISK_UNAVAILABLE} (${signal.aborted ? 'ID Protection did not answer in time' : 'ID Protection is unavailable'}), so an approver decides.`
        : `${CHECK_TITLES[name]} check ${why}, so an approver decides.`;
    return {
      name,
      onFail,
      result: 'unavailable',
      detail,
      summary: `could not be completed (${answer})`,
      label: name === 'identityRisk' ? IDENTITY_RISK_UNAVAILABLE : `${CHECK_TITLES[name]} not checked`,
      evidence: [{ asked: CHECK_TITLES[name].toLowerCase(), system, answer, ms: Date.now() - started }],
      latencyMs: Date.now() - started,
    };
  }
}

function shortError(err: unknown): string {
  const e = err as { answer?: unknown; name?: string };
  return typeof e?.answer === 'string' ? e.answer : e?.name === 'IntegrationUnavailable' ? 'unavailable' : 'error';
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

/** One line per check for people: "Ticket: INC0012345 open, assignment could not be read (ServiceNow HTTP 403)". */
export function checkLine(c: Pick<CheckResult, 'name' | 'summary'>): string {
  return `${CHECK_TITLES[c.name]}: ${c.summary}`;
}

const RESULT_WORDS: Record<CheckResultKind, string> = { pass: 'passed', fail: 'failed', unavailable: 'could not be completed', skipped: 'not checked' };

/** Pure: the verdict from the checks through the decision table. Exported for table tests. */
export function verdictOf(
  checks: CheckResult[],
  rule: Pick<EffectiveRule, 'mode' | 'autoApprove'>,
  humanOnly: boolean,
  roleName: string,
  emergency?: EmergencyAssessment,
): Verdict {
  const d = decide({ humanOnly, mode: rule.mode, checks, autoApproveWhen: rule.autoApprove, emergencyMet: emergency?.met === true });
  const emergencyRow = d.row === EMERGENCY_ROW;
  const failedDeny = checks.filter((c) => c.result === 'fail' && c.onFail === 'deny');
  const flagged = checks.filter((c) => c.result === 'fail' && c.onFail === 'review');
  const unavailable = checks.filter((c) => c.result === 'unavailable');
  const riskFlags = dedupe([
    ...failedDeny.filter((c) => c.label).map((c) => c.label!),
    ...(humanOnly ? ['Human-only role'] : []),
    ...flagged.map((c) => c.label ?? `${CHECK_TITLES[c.name]} flagged`),
    ...unavailable.map((c) => c.label ?? `${CHECK_TITLES[c.name]} not checked`),
  ]);
  // A passed check is never a flag (an allowed low risk shows in the check's line on the card, not here).

  // The reasons enforce mode gives, by the row that decided.
  let enforceReasons: string[];
  switch (d.wouldBe) {
    case 'Denied':
      enforceReasons = failedDeny.map((c) => c.detail);
      break;
    case 'AutoApproved':
      enforceReasons =
        emergencyRow && emergency
          ? [emergencyGrantReason(emergency)]
          : [`Approved automatically: ${(rule.autoApprove ?? []).map((n) => checks.find((c) => c.name === n)!.detail).join('; ')}.`];
      break;
    case 'Approved': {
      enforceReasons = [
        ...(humanOnly ? [`${roleName} is a human-only role: an approver must decide.`] : []),
        ...unavailable.map((c) => c.detail),
        ...flagged.map((c) => c.detail),
      ];
      if (enforceReasons.length === 0) enforceReasons.push('Checks passed; an approver decides.');
      break;
    }
    default:
      return assertNever(d.wouldBe);
  }

  let reasons = enforceReasons;
  if (rule.mode === 'audit') {
    // Words that cannot be mistaken for the outcome: PIM shows these to the requester, the card to approvers.
    const observed =
      d.wouldBe === 'AutoApproved' && emergencyRow
        ? `Not applied (audit mode): enforce mode would have granted emergency (break-glass) access without an approver: ${emergencyGrantReason(emergency ?? { incident: null, onCallEvidence: null })}`
        : d.wouldBe === 'AutoApproved'
          ? `Not applied (audit mode): enforce mode would have skipped human approval, because ${checksPassed(rule.autoApprove ?? [], checks)}.`
          : d.wouldBe === 'Denied'
            ? `Not applied (audit mode): enforce mode would have refused this request: ${failedDeny.map((c) => c.detail).join(' ')}`
            : null;
    reasons = ["Audit mode: an approver decides this request; the role's checks are recorded but not applied.", ...(observed ? [observed] : enforceReasons)];
  }
  // A request marked EMERGENCY that gets no emergency grant says why (unless the role's usual rules approved it).
  let whyNot: string | null = null;
  if (emergency?.marked && !emergencyRow && d.wouldBe !== 'AutoApproved') {
    whyNot =
      emergency.whyNot ??
      (d.row === 1
        ? 'a check refused the request'
        : d.row === 3
          ? 'a check could not be completed'
          : d.row === 4
            ? 'a check flagged the request'
            : 'the request does not qualify');
    reasons = [...reasons, noEmergencyReason(whyNot)];
  }
  const verdict: Verdict = { outcome: d.outcome, wouldBe: d.wouldBe, mode: rule.mode, row: d.row, humanOnly, reasons: dedupe(reasons), riskFlags, checks };
  if (emergency?.marked) {
    verdict.emergency = { ...emergency, whyNot, granted: emergencyRow && d.outcome === 'AutoApproved' };
    if (!emergencyRow) verdict.riskFlags = dedupe([...riskFlags, 'Emergency request (no break-glass grant)']);
  }
  return verdict;
}

function checksPassed(names: CheckName[], checks: CheckResult[]): string {
  return names
    .map((n) => {
      const c = checks.find((x) => x.name === n);
      return c ? `${CHECK_TITLES[n].toLowerCase()} ${RESULT_WORDS[c.result]} (${c.summary})` : `${CHECK_TITLES[n].toLowerCase()} not run`;
    })
    .join('; ');
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}
