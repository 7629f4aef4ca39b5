/**
 * PIM's own names (request statuses, policy rule ids, directory scopes) in the words a person reads in
 * chat. PIM's names never reach the user: an unknown status is described, not echoed.
 */

/** `status` of a PIM schedule request (Graph `unifiedRoleScheduleRequest`, ARM `status`, PIM for Groups). */
const STATUS_WORDS: Record<string, string> = {
  pendingapproval: 'waiting for an approver',
  pendingadmindecision: 'waiting for your administrators to decide',
  pendingapprovalprovisioning: 'approved, being set up',
  pendingprovisioning: 'being set up',
  pendingschedulecreation: 'being scheduled',
  schedulecreated: 'scheduled',
  pendingrevocation: 'being revoked',
  pendingexternalprovisioning: 'being set up',
  accepted: 'accepted',
  granted: 'granted',
  provisioned: 'active',
  provisioningstarted: 'being set up',
  denied: 'denied',
  revoked: 'revoked',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  failed: 'failed',
  failedasresourceislocked: 'failed (the resource is locked)',
  timedout: 'expired without a decision',
  adminapproved: 'approved by your administrators',
  admindenied: 'denied by your administrators',
};

/** "PendingAdminDecision" → "waiting for your administrators to decide"; an unknown status → "in progress in PIM". */
export function pimStatusWords(status: string | null | undefined): string {
  const key = (status ?? '').replace(/[^a-z]/gi, '').toLowerCase();
  return STATUS_WORDS[key] ?? 'in progress in PIM';
}

/** PIM policy rule ids (`RoleAssignmentRequestPolicyValidationFailed: [...]`) as what the user must change. */
const RULE_WORDS: Record<string, string> = {
  mfarule: 'multi-factor authentication is required',
  ticketingrule: 'a ticket number is required',
  justificationrule: 'a justification is required',
  expirationrule: 'the duration is longer than the policy allows',
  approvalrule: 'an approval is required',
  authenticationcontextrule: 'a stronger sign-in is required',
  eligibilityrule: 'you are not eligible for it',
  enablementrule: 'a required step (MFA, justification or ticket) is missing',
};

/** "MfaRule" → "multi-factor authentication is required"; an unknown rule → "another policy rule". */
export function policyRuleWords(rules: readonly string[]): string {
  const words = [...new Set(rules.map((r) => RULE_WORDS[r.toLowerCase()] ?? 'another of its rules was not met'))];
  return words.length ? words.join('; ') : 'a policy rule was not met';
}

/**
 * Where an Entra role applies, for a person: null for the whole directory (nothing to add), and "an
 * administrative unit" for `/administrativeUnits/<id>`, whose name the chat has no Graph read for.
 * Groups and Azure resources carry their scope in their display name already.
 */
export function scopeWords(kind: string, scope: string, unitName?: string | null): string | null {
  if (kind !== 'entraRole') return null;
  const s = scope.trim();
  if (s === '' || s === '/') return null;
  if (/^\/administrativeUnits\//i.test(s)) return unitName ? `the ${unitName} administrative unit` : 'an administrative unit';
  // A single directory object (an application, a group): never its raw id.
  return 'one directory object';
}
