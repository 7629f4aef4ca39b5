/**
 * Verbs and action data of the digest cards. Handlers route on the verb. Data carries identifiers only:
 * the handler re-reads the user's own eligibility (digest.*) or the approval row (audit.*) and
 * authorises the actor against that, never against the card.
 */
export const DigestVerb = {
  /** Extend an assignment that ends soon: PIM selfExtend for roles, a request to the admins for groups. */
  Extend: 'digest.extend',
  /** The user no longer needs it: the admins are asked to remove it (PIM has no self-removal). */
  Release: 'digest.release',
  /**
   * Renew an eligibility that expired within the last 30 days: PIM selfRenew for roles, a request to the admins
   * for groups. Data: {kind, roleDefinitionId, scope, date} (no `assignment`: only eligibility is renewed here).
   */
  Renew: 'digest.renew',
} as const;
export type DigestVerbName = (typeof DigestVerb)[keyof typeof DigestVerb];

export const AuditVerb = {
  LooksRight: 'audit.looksRight',
  /** Sent with the note typed into the input `auditNoteInputId(requestId)`. */
  Flag: 'audit.flag',
} as const;
export type AuditVerbName = (typeof AuditVerb)[keyof typeof AuditVerb];

/** Which of the user's own assignments a digest button is about. */
export interface DigestActionData {
  kind: 'entraRole' | 'group';
  /** Entra role definition id, or `member`/`owner`. */
  roleDefinitionId: string;
  /** Directory scope (`/`) or group id. */
  scope: string;
  /** Which assignment ends: the eligible one, or an active one an administrator made. */
  assignment: 'eligible' | 'active';
}

export interface AuditActionData {
  /** approval_requests.id of the sampled approval. */
  requestId: string;
}

/** The flag note's input id: one per sampled approval, since a card's input ids must be unique. */
export function auditNoteInputId(requestId: string): string {
  return `auditNote.${requestId}`;
}

/** Longest note the input accepts (the server cuts at the same length). */
export const AUDIT_NOTE_MAX_LENGTH = 500;
