import type { ActivationPolicy } from './types';

/**
 * PIM's end-user activation rules, as Graph (`unifiedRoleManagementPolicy.rules`, typed by `@odata.type`)
 * and ARM (`effectiveRules`, typed by `ruleType`) both return them. Rule ids are the same in both:
 * Expiration_EndUser_Assignment, Enablement_EndUser_Assignment, AuthenticationContext_EndUser_Assignment,
 * Approval_EndUser_Assignment.
 */
export interface PolicyRuleJson {
  id?: string;
  maximumDuration?: string | null;
  enabledRules?: string[] | null;
  isEnabled?: boolean | null;
  claimValue?: string | null;
  setting?: {
    isApprovalRequired?: boolean | null;
    approvalStages?: Array<{
      primaryApprovers?: PolicySubjectJson[] | null;
      isEscalationEnabled?: boolean | null;
      escalationApprovers?: PolicySubjectJson[] | null;
      escalationTimeInMinutes?: number | null;
    }> | null;
  } | null;
}

/** A subject in a policy: Graph's singleUser/groupMembers, or ARM's UserSet {userType, id}. */
type PolicySubjectJson = { '@odata.type'?: string; userId?: string; groupId?: string; id?: string; userType?: string; description?: string | null };

/**
 * An approver as a policy names them: one user, or the members of a group. `name`: the display name PIM keeps
 * with the subject (Graph's and ARM's `description`), when it does.
 */
export type PolicySubject = { kind: 'user' | 'group'; id: string; name?: string };

/** PIM's default when a policy carries no expiration rule for activation. */
const DEFAULT_MAXIMUM_MINUTES = 8 * 60;

export function isoDurationToMinutes(d: string | null | undefined): number | null {
  if (!d) return null;
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(d.trim());
  if (!m || /^P$|T$/i.test(d.trim())) return null;
  const minutes = Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) + Number(m[4] ?? 0) / 60;
  return Math.round(minutes);
}

export function minutesToIsoDuration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `PT${h ? `${h}H` : ''}${m || !h ? `${m}M` : ''}`;
}

/** The approvers a policy names, in the order it names them. */
export function policyApprovers(rules: PolicyRuleJson[]): PolicySubject[] {
  return subjects(rules.find((r) => r.id === 'Approval_EndUser_Assignment')?.setting?.approvalStages?.[0]?.primaryApprovers);
}

/** The escalation approvers of the policy's stage, when escalation is enabled there (empty otherwise). */
export function policyEscalationApprovers(rules: PolicyRuleJson[]): PolicySubject[] {
  const stage = rules.find((r) => r.id === 'Approval_EndUser_Assignment')?.setting?.approvalStages?.[0];
  return stage?.isEscalationEnabled ? subjects(stage.escalationApprovers) : [];
}

/**
 * How long (minutes) a request waits on the primary approvers before the stage's escalation approvers may
 * decide too (`escalationTimeInMinutes`); null when escalation is off, names nobody, or the time is missing or
 * not a whole number of minutes: unknown means the escalation approvers never get to decide here.
 */
export function policyEscalationMinutes(rules: PolicyRuleJson[]): number | null {
  const stage = rules.find((r) => r.id === 'Approval_EndUser_Assignment')?.setting?.approvalStages?.[0];
  if (!stage?.isEscalationEnabled || subjects(stage.escalationApprovers).length === 0) return null;
  const minutes = stage.escalationTimeInMinutes;
  return typeof minutes === 'number' && Number.isInteger(minutes) && minutes >= 0 ? minutes : null;
}

function subjects(list: PolicySubjectJson[] | null | undefined): PolicySubject[] {
  const out: PolicySubject[] = [];
  for (const s of list ?? []) {
    const type = (s['@odata.type'] ?? '').toLowerCase();
    const name = typeof s.description === 'string' && s.description.trim() ? { name: s.description.trim() } : {};
    if (type.endsWith('groupmembers') && s.groupId) out.push({ kind: 'group', id: s.groupId, ...name });
    else if (type.endsWith('singleuser') && s.userId) out.push({ kind: 'user', id: s.userId, ...name });
    else if (s.id) out.push({ kind: (s.userType ?? 'User').toLowerCase() === 'group' ? 'group' : 'user', id: s.id, ...name });
  }
  return out;
}

/**
 * Who can approve, in words, as the policy names them: people by name, groups as "members of <group>". No
 * read beyond the policy's own: a subject PIM keeps no name for is counted ("1 more approver").
 */
export function approverNamesOf(subjects: readonly PolicySubject[]): string[] {
  const named = subjects.filter((s) => s.name).map((s) => (s.kind === 'group' ? `members of ${s.name}` : s.name!));
  const unnamed = subjects.length - named.length;
  return unnamed > 0 ? [...named, `${unnamed} more approver${unnamed === 1 ? '' : 's'}`] : named;
}

/** The activation policy the rules describe; `approverIds` is filled by the caller, who expands groups. */
export function activationPolicyOf(rules: PolicyRuleJson[], approverIds: string[]): ActivationPolicy {
  const byId = (id: string) => rules.find((r) => r.id === id);
  const enabled = new Set((byId('Enablement_EndUser_Assignment')?.enabledRules ?? []).map((r) => r.toLowerCase()));
  const authContext = byId('AuthenticationContext_EndUser_Assignment');
  const approval = byId('Approval_EndUser_Assignment');
  const approvalRequired = approval?.setting?.isApprovalRequired ?? false;
  return {
    maximumMinutes: isoDurationToMinutes(byId('Expiration_EndUser_Assignment')?.maximumDuration) ?? DEFAULT_MAXIMUM_MINUTES,
    justificationRequired: enabled.has('justification'),
    ticketRequired: enabled.has('ticketing'),
    mfaRequired: enabled.has('multifactorauthentication'),
    authenticationContext: authContext?.isEnabled && authContext.claimValue ? authContext.claimValue : null,
    approvalRequired,
    approverIds: approvalRequired ? approverIds : [],
  };
}
