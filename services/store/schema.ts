import { Generated } from 'kysely';

/** Tables. JSON columns hold small, bounded documents (reasons, flags); never whole payloads. */
export interface Database {
  evaluations: EvaluationTable;
  approval_requests: ApprovalRequestTable;
  card_posts: CardPostTable;
  conversation_refs: ConversationRefTable;
  inbound_events: InboundEventTable;
}

export interface EvaluationTable {
  evaluation_id: string;
  /** PIM's request id, or the digest key for the ARM shape; unique so a PIM retry maps to one row. */
  request_key: string;
  pim_request_id: string | null;
  kind: string;
  principal_id: string;
  role_definition_id: string;
  scope: string;
  outcome: string;
  would_be: string;
  mode: string;
  reasons: string;
  checks: string;
  latency_ms: number;
  created_at: string;
}

export interface ApprovalRequestTable {
  id: string;
  pim_request_id: string;
  evaluation_id: string;
  kind: string;
  principal_id: string;
  role_definition_id: string;
  scope: string;
  justification: string;
  ticket_system: string | null;
  ticket_number: string | null;
  duration: string | null;
  duration_minutes: number | null;
  start_at: string | null;
  risk_flags: string;
  reasons: string;
  status: string;
  version: number;
  /** Who holds the `recording` claim, so a stale claim can be recognised. */
  claimed_by: string | null;
  claimed_at: string | null;
  /** What the claimant is recording (Approve/Deny), so a crash mid-PATCH can be reconciled with PIM. */
  claimed_result: string | null;
  decided_by_id: string | null;
  decided_by_upn: string | null;
  decided_by_name: string | null;
  decided_at: string | null;
  decision_justification: string | null;
  /** Requester and role details fetched from Graph for the card (JSON), null until fetched. */
  display: string | null;
  /** Set once the card is posted to every approver channel; the poster retries until then. */
  cards_posted_at: string | null;
  created_at: string;
  expires_at: string;
  updated_at: string;
}

export interface CardPostTable {
  id: Generated<number>;
  request_id: string;
  conversation_id: string;
  service_url: string;
  activity_id: string;
  posted_at: string;
  /** Version of the request last rendered into this copy; lets a sweeper find stale copies. */
  rendered_version: number;
}

export interface ConversationRefTable {
  aad_object_id: string;
  reference: string;
  updated_at: string;
}

/** Escalations and post-approval events received from outside, one row per event id (the idempotency key). */
export interface InboundEventTable {
  event_id: string;
  /** escalation | postApproval */
  type: string;
  /** Who sent it: `hmac`, `entra:<app id>`, or `pim` for PIM's post-approval extension. */
  source: string;
  pim_request_id: string | null;
  request_key: string;
  /** The event's outcome (granted, denied, activated, expired, cancelled); null for an escalation. */
  outcome: string | null;
  occurred_at: string;
  received_at: string;
  /** What we did with it (escalated, already_tracked, applied, same, conflict, recorded, not_supported); null while processing. */
  result: string | null;
}
