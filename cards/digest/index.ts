/** Cards of the daily digests: a user's own (personal chat) and the admin channel's. */
export {
  DigestVerb,
  AuditVerb,
  auditNoteInputId,
  AUDIT_NOTE_MAX_LENGTH,
  type DigestVerbName,
  type AuditVerbName,
  type DigestActionData,
  type AuditActionData,
} from './digest-verbs';
export { digestEntryKey, renderUserDigestCard, type UserDigestCardData } from './user-digest-card';
export { renderAdminDigestCard, renderAdminDigestCards, type AdminDigestCardData } from './admin-digest-card';
export { renderAdminAskCard, type AdminAskCardData } from './admin-ask-card';
