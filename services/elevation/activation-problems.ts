import { GraphCallError } from '../graph/graph-errors';
import type { ActivationPolicy } from './types';

/** What the user has filled in so far (from the command or the form). */
export interface DraftValues {
  durationMinutes: number | null;
  ticketSystem: string | null;
  ticketNumber: string | null;
  justification: string | null;
}

/** Shorter than this is not a reason an approver can judge ("fix", "work"). */
export const MIN_JUSTIFICATION_LENGTH = 10;
export const MAX_JUSTIFICATION_LENGTH = 500;
/** When the user names no duration: an hour, or less if the policy allows less. Least privilege by default. */
export const DEFAULT_DURATION_MINUTES = 60;

export function hoursText(minutes: number): string {
  if (minutes < 60) return `${minutes} minutes`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h} hour${h === 1 ? '' : 's'}${m ? ` ${m} minutes` : ''}`;
}

/**
 * Checks a draft against the role's PIM policy before anything is sent, so the user is asked for what is
 * missing instead of getting PIM's error. Returns the values to use (duration defaulted or capped) and
 * one sentence per problem, each saying what to do.
 */
export function checkDraft(values: DraftValues, policy: ActivationPolicy, roleTitle: string): { values: DraftValues; problems: string[] } {
  const problems: string[] = [];
  const out: DraftValues = { ...values };
  if (out.durationMinutes === null) {
    out.durationMinutes = Math.min(DEFAULT_DURATION_MINUTES, policy.maximumMinutes);
  } else if (out.durationMinutes > policy.maximumMinutes) {
    problems.push(
      `${roleTitle} can be active for at most ${hoursText(policy.maximumMinutes)}; you asked for ${hoursText(out.durationMinutes)}. Pick ${hoursText(policy.maximumMinutes)} or less.`,
    );
    out.durationMinutes = policy.maximumMinutes;
  } else if (out.durationMinutes < 5) {
    problems.push('PIM activates for at least 5 minutes; pick a longer duration.');
    out.durationMinutes = null;
  }
  if (policy.ticketRequired && !out.ticketNumber?.trim()) {
    problems.push(`PIM needs a ticket for ${roleTitle}: enter the incident or change number you are working on.`);
  }
  const reason = out.justification?.trim() ?? '';
  if (policy.justificationRequired && !reason) {
    problems.push(`PIM needs a reason for ${roleTitle}: say what you will do with it, for example "reset MFA for a locked-out user, INC0012345".`);
  } else if (policy.justificationRequired && reason.length < MIN_JUSTIFICATION_LENGTH) {
    problems.push(`"${reason}" is too short for an approver to judge: say what you will do and why (at least ${MIN_JUSTIFICATION_LENGTH} characters).`);
  } else if (reason.length > MAX_JUSTIFICATION_LENGTH) {
    problems.push(`The reason is ${reason.length} characters; PIM takes at most ${MAX_JUSTIFICATION_LENGTH}. Shorten it.`);
  }
  return { values: out, problems };
}

/** PIM's refusal of a self-service request, reduced to what the user does next. */
export type ActivationRefusal =
  | { kind: 'policy'; rules: string[] }
  | { kind: 'mfa' }
  | { kind: 'authContext'; claims: string | null }
  | { kind: 'alreadyActive' }
  | { kind: 'alreadyPending' }
  | { kind: 'notEligible' }
  | { kind: 'other'; status: number; code: string; message: string; requestId: string | null };

const RULES = /policy rules failed:\s*\[([^\]]*)\]/i;

/** Reads PIM's error (Graph or ARM envelope, or an Entra step-up demand from on-behalf-of). */
export function classifyRefusal(err: unknown): ActivationRefusal {
  const stepUp = stepUpClaims(err);
  if (stepUp !== undefined) return { kind: 'authContext', claims: stepUp };
  if (!(err instanceof GraphCallError)) {
    return { kind: 'other', status: 500, code: 'Unexpected', message: 'The request could not be sent to PIM.', requestId: null };
  }
  if (err.code === 'RoleAssignmentRequestAcrsValidationFailed') return { kind: 'authContext', claims: claimsIn(err.message) };
  if (err.code === 'RoleAssignmentExists') return { kind: 'alreadyActive' };
  if (err.code === 'PendingRoleAssignmentRequest') return { kind: 'alreadyPending' };
  const m = RULES.exec(err.message);
  if (m) {
    const rules = [...m[1]!.matchAll(/"?([A-Za-z]+Rule)"?/g)].map((x) => x[1]!);
    if (rules.includes('EligibilityRule')) return { kind: 'notEligible' };
    if (rules.includes('MfaRule')) return { kind: 'mfa' };
    return { kind: 'policy', rules };
  }
  return { kind: 'other', status: err.status, code: err.code, message: err.message, requestId: err.requestId ?? null };
}

/** The claims challenge in an ARM/PIM message (`…&claims=<url-encoded JSON>`), if any. */
export function claimsIn(message: string): string | null {
  const m = /[?&]claims=([^&\s"]+)/i.exec(message);
  if (!m) return null;
  try {
    const decoded = decodeURIComponent(m[1]!);
    JSON.parse(decoded);
    return decoded;
  } catch {
    return null;
  }
}

/**
 * Entra's answer to on-behalf-of when the user's sign-in is not strong enough (`interaction_required`,
 * AADSTS50076/50079 or a Conditional Access authentication context): the claims to ask for, or null when
 * none were given. Undefined when the error is something else.
 */
export function stepUpClaims(err: unknown): string | null | undefined {
  const e = err as { name?: string; errorResponse?: { error?: string; errorDescription?: string; claims?: string }; message?: string };
  if (!e || typeof e !== 'object') return undefined;
  const code = e.errorResponse?.error ?? '';
  const text = `${e.errorResponse?.errorDescription ?? ''} ${e.message ?? ''}`;
  if (code === 'interaction_required' || /\binteraction_required\b|AADSTS50076|AADSTS50079|AADSTS50158/.test(text)) {
    return e.errorResponse?.claims ?? null;
  }
  return undefined;
}

/** The authentication context a claims challenge asks for (`{"access_token":{"acrs":{"value":"c1"}}}`). */
export function authContextOf(claims: string | null): string | null {
  if (!claims) return null;
  try {
    const acrs = (JSON.parse(claims) as { access_token?: { acrs?: { value?: string; values?: string[] } } }).access_token?.acrs;
    return acrs?.value ?? acrs?.values?.[0] ?? null;
  } catch {
    return null;
  }
}
