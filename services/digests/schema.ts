/**
 * Spot-audit reviews of approvals, one row per (request, reviewer). A reviewer may change their verdict
 * (the row is updated, `created_at` then says when the current verdict was given).
 */
export interface AuditReviewTable {
  id: string;
  /** approval_requests.id of the approval under review. */
  request_id: string;
  /** Entra object id of the reviewer. */
  reviewer_id: string;
  /** Display name at the time of the review, for the next digest (not trusted for anything). */
  reviewer_name: string | null;
  /** looksRight | flag */
  verdict: string;
  /** The reviewer's note (a flag's reason); user text, shown as TextRun only. */
  note: string | null;
  created_at: string;
}
