/** Daily digests (flow D): reads, the two digests, spot-audit reviews. */
export type { DigestKind, DigestTarget, EligibilityRecord, AssignmentRecord, ActivationRecord } from './types';
export { targetKey } from './types';
export {
  GraphTenantReader,
  readDigestInputs,
  resolveNames,
  type TenantReads,
  type DirectoryNames,
  type DigestNames,
  type ReadDigestOptions,
  type TenantReaderOptions,
} from './tenant-reader';
export {
  ActivationHistory,
  DigestCollector,
  EXTEND_WINDOW_DAYS,
  DEFAULT_DORMANT_AFTER_DAYS,
  type CollectOptions,
  type DigestInputs,
  type ExpiringItem,
  type RunningActivation,
  type DormantItem,
  type PermanentItem,
} from './collect';
export {
  buildUserDigest,
  digestCandidates,
  digestEntryKey,
  type UserDigest,
  type UserDigestEntry,
  type UserDigestActivation,
  type UserDigestOptions,
} from './user-digest';
export {
  buildAdminDigest,
  spotAuditWindow,
  adminDigestNameRefs,
  type AdminDigest,
  type AdminDigestInput,
  type ApprovalFields,
  type AdminDigestOptions,
  type PendingEntry,
  type SpotAuditEntry,
  type ExpiringTarget,
  type RequestTarget,
} from './admin-digest';
export { spotAuditDraw, spotAuditSample, DEFAULT_SPOT_AUDIT_RATE, type SpotAuditOptions } from './spot-audit';
export {
  AuditReviews,
  AuditReviewError,
  AUDIT_NOTE_MAX,
  type AuditFlag,
  type AuditVerdict,
  type AuditReviewRow,
  type ApprovalRow,
  type AuditReviewRefusal,
} from './audit-reviews';
export { digestRoute, selfExtendCollection, type DigestAction, type DigestRoute } from './digest-actions';
export { localDate, addDays, startOfLocalDay, zonedInstant, safeZone } from './calendar-days';
