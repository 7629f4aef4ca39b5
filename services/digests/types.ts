/**
 * What the digests read from PIM, reduced to the few fields they use. The tenant reader streams these
 * (one page at a time); nothing keeps the raw Graph pages.
 */

/** The digests cover Entra roles and PIM for Groups (Azure resource roles need ARM reads per scope). */
export type DigestKind = 'entraRole' | 'group';

/** An Entra role at a directory scope, or member/owner of a group (scope = group id). */
export interface DigestTarget {
  kind: DigestKind;
  /** Entra role definition id; `member` or `owner` for a group. */
  roleDefinitionId: string;
  /** Directory scope id (`/` tenant-wide) for roles; the group id for groups. */
  scope: string;
}

export interface EligibilityRecord extends DigestTarget {
  principalId: string;
  startDateTime: string | null;
  /** null: permanent. */
  endDateTime: string | null;
}

export interface AssignmentRecord extends DigestTarget {
  principalId: string;
  startDateTime: string | null;
  /** null: permanent. */
  endDateTime: string | null;
  /** `Assigned` by an administrator, or `Activated` from an eligible assignment. */
  assignmentType: 'Assigned' | 'Activated';
}

/** One self-activation PIM provisioned, from its request history. */
export interface ActivationRecord extends DigestTarget {
  principalId: string;
  activatedAt: string;
}

/** The key of a target: kind, role and scope, case-insensitive ids. */
export function targetKey(t: DigestTarget): string {
  return `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`;
}

export function targetOfKey(key: string): DigestTarget {
  const [kind, roleDefinitionId, scope] = key.split('|') as [DigestKind, string, string];
  return { kind, roleDefinitionId, scope };
}

export const DAY_MS = 24 * 3600 * 1000;
