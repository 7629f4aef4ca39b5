/**
 * Elevation by chat: what a user may activate, what PIM's policy asks of an activation, and what the
 * bot tells them. Shared by the self-service client (Graph/ARM as the user), the chat handlers and the
 * chat cards.
 */

export type TargetKind = 'entraRole' | 'group' | 'azureResource';

/** Something a user can activate: an Entra role at a directory scope, group member/owner, or an Azure role at an ARM scope. */
export interface ActivationTarget {
  kind: TargetKind;
  /** Entra role definition id; `member` or `owner` for a group; the full ARM role definition path for Azure. */
  roleDefinitionId: string;
  /** `/` for directory roles; the group id; the ARM scope. */
  scope: string;
  /** What the user reads: "Security Operator", "SQL Admins (member)", "Contributor on Contoso Production". */
  displayName: string;
}

export interface EligibleTarget extends ActivationTarget {
  /** When the eligible assignment ends; null when it is permanent. */
  eligibleUntil: string | null;
}

/** An eligible assignment that has ended: PIM keeps it visible, and lets its holder ask to renew it, for 30 days. */
export interface ExpiredTarget extends ActivationTarget {
  /** When the eligibility ended. */
  endedAt: string;
}

export interface ActiveAssignment extends ActivationTarget {
  startDateTime: string | null;
  /** null for a permanent active assignment. */
  endDateTime: string | null;
  /** `Activated` (from an eligible assignment) or `Assigned` (an active assignment). */
  assignmentType: string;
}

/** PIM's end-user activation rules for one target, from its role management policy. */
export interface ActivationPolicy {
  /** Longest activation PIM allows, in minutes. */
  maximumMinutes: number;
  justificationRequired: boolean;
  ticketRequired: boolean;
  mfaRequired: boolean;
  /** Conditional Access authentication context (for example `c1`) the activation needs, or null. */
  authenticationContext: string | null;
  approvalRequired: boolean;
  /** Object ids of the people who may approve (groups expanded); empty when no approval is needed. */
  approverIds: string[];
}

/** The stable key of a target in card data and drafts: kind, role and scope. */
export function targetKey(t: ActivationTarget): string {
  return `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
}
