/**
 * One break-glass (emergency) grant: the decision endpoint answered PIM `AutoApproved` on the emergency row.
 * Written before PIM hears the answer (the per-user limit counts these rows); the broadcast, the post-incident
 * note and the second person's review are recorded on it, each once.
 */
export interface EmergencyGrantTable {
  id: string;
  /** The evaluation that granted it (unique: a PIM retry of the same callout records nothing more). */
  evaluation_id: string;
  pim_request_id: string | null;
  kind: string;
  principal_id: string;
  role_definition_id: string;
  scope: string;
  justification: string | null;
  /** The incident cited, its priority label and the system's one-line summary. */
  incident: string | null;
  incident_priority: string | null;
  /** The on-call check's line (who said the requester is on call). */
  on_call_evidence: string | null;
  /** ISO: when it was granted, and when the activation ends (grant time + requested duration; null: no end). */
  granted_at: string;
  ends_at: string | null;
  /** The requester's post-incident note. */
  note: string | null;
  note_at: string | null;
  /** The second person's review: `looksRight` or `flag`. */
  review_verdict: string | null;
  reviewer_id: string | null;
  reviewer_name: string | null;
  review_note: string | null;
  reviewed_at: string | null;
}
