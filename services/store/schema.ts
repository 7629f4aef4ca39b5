import type { Generated } from 'kysely';
import type { AuditLogTable } from '../audit/schema';
import type { AuditReviewTable } from '../digests/schema';
import type { EmergencyGrantTable } from '../emergency/schema';
import type { JobTable } from '../jobs/schema';
import type { OutboxTable, PacePauseTable, PaceSendTable } from '../outbox/schema';

/** Tables. JSON columns hold small, bounded documents (reasons, flags); never whole payloads. */
export interface Database {
  evaluations: EvaluationTable;
  approval_requests: ApprovalRequestTable;
  card_posts: CardPostTable;
  leases: LeaseTable;
  conversation_refs: ConversationRefTable;
  inbound_events: InboundEventTable;
  chat_drafts: ChatDraftTable;
  chat_requests: ChatRequestTable;
  chat_pending: ChatPendingTable;
  jobs: JobTable;
  outbox: OutboxTable;
  /** Sends every replica took a slot for, and pauses they share (services/outbox/shared-pace.ts). */
  pace_sends: PaceSendTable;
  pace_pauses: PacePauseTable;
  audit_reviews: AuditReviewTable;
  /** The hash-chained audit trail (append-only). */
  audit_log: AuditLogTable;
  /** Users' asks to extend or renew an assignment, decided by an administrator from a card (services/extensions). */
  extension_asks: ExtensionAskTable;
  /** Break-glass grants, their post-incident notes and second-person reviews (services/emergency). */
  emergency_grants: EmergencyGrantTable;
}

/**
 * One ask to extend or renew an assignment: a selfExtend/selfRenew PIM holds (`pim_request_id`), or a digest
 * user's ask PIM has no self-service for (a group's). Its card in the admin channel follows `version`.
 */
export interface ExtensionAskTable {
  id: string;
  /** `pim`: read from PIM's pending requests; `digest`: asked from the digest or chat (groups). */
  source: string;
  /** PIM's request id (unique); null for an ask PIM does not hold. */
  pim_request_id: string | null;
  /** Identifies a digest ask (user, target, action, the end it was about), so a second click adds nothing. */
  ask_key: string;
  kind: string;
  role_definition_id: string;
  scope: string;
  principal_id: string;
  /** `extend` (not ended yet) or `renew` (ended within PIM's 30 days). */
  action: string;
  /** `eligible` or `active`. */
  assignment: string;
  current_end: string | null;
  requested_end: string | null;
  reason: string | null;
  /** What the card shows beyond the columns (names, history, HR and risk today), JSON. */
  display: string;
  /** open | recording | extended | renewed | declined | withdrawn */
  status: string;
  version: number;
  rendered_version: number;
  /** The admin channel post, once sent. */
  activity_id: string | null;
  claimed_by: string | null;
  decided_by_id: string | null;
  decided_by_name: string | null;
  decided_at: string | null;
  decision_note: string | null;
  new_end: string | null;
  /** Why the last try to record the decision in PIM failed (shown on the card until the next try). */
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** A named lease held by one replica at a time, for singleton work that runs on a timer (the reconciler). */
export interface LeaseTable {
  name: string;
  owner: string;
  /** ISO time the lease runs out unless its owner renews it. */
  until: string;
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
  /** sha256 of the normalised callout (canonical JSON); '' for rows stored before callout binding. */
  body_digest: Generated<string>;
  /** The normalised request the evaluation answered (ActivationRequest as JSON). */
  request_json: Generated<string>;
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
  /** Nudges the stale-request ladder has sent. */
  nudge_count: Generated<number>;
  /** When the ladder escalated the request, if it did. */
  escalated_at: string | null;
  /** When the requester last asked the bot to remind the approvers (rate limit). */
  requester_reminded_at: string | null;
  /** Presence routing: the last ladder check that found an approver reachable (available or busy). */
  approvers_reachable_at: string | null;
  /** 1 when the ladder escalated early because no approver was reachable (escalated_at says when). */
  escalated_early: Generated<number>;
  /**
   * The pre-approval checks as the card shows them, one line each (JSON `[{name, result, onFail, summary}]`,
   * bounded: at most 8, each summary at most 200 characters); '[]' for rows stored before checks had lines.
   */
  check_lines: Generated<string>;
  /** When no callout for the request matched PIM's own copy (no card is posted); null otherwise. */
  unbound_at: Generated<string | null>;
  /**
   * The last claim released without a decision recorded in PIM (JSON `{by, name, at, result}`): the card
   * shows "<name>'s decision at <at> was not recorded in PIM" while the request is pending; cleared by the next claim.
   */
  last_release: Generated<string | null>;
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
  /** 1 when the copy is a line on a summary card (activity_id is the summary's message). */
  summary: Generated<number>;
}

export interface ConversationRefTable {
  aad_object_id: string;
  reference: string;
  updated_at: string;
  /** 1: the user (an approver) asked for a copy of every card waiting for them in this chat (`approvals on`). */
  approval_cards: Generated<number | null>;
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

/** An activation being put together in a user's personal chat (form or confirmation card), before PIM has it. */
export interface ChatDraftTable {
  id: string;
  user_id: string;
  /** ActivationTarget (JSON); null until the user picks a role on the chooser card. */
  target: string | null;
  duration_minutes: number | null;
  ticket_system: string | null;
  ticket_number: string | null;
  justification: string | null;
  /** A claims challenge PIM raised (authentication context) that the next token must satisfy. */
  claims: string | null;
  /** open | submitting | submitted | discarded; `submitting` is the claim that gives one PIM request per draft. */
  status: string;
  chat_request_id: string | null;
  time_zone: string | null;
  created_at: string;
  updated_at: string;
}

/** A request a user made by chat, and the status message that follows it in their personal chat. */
export interface ChatRequestTable {
  id: string;
  user_id: string;
  kind: string;
  role_definition_id: string;
  scope: string;
  role_title: string;
  /** PIM's request id; the ARM request name for Azure resources. */
  pim_request_id: string;
  /** `approval_requests.pim_request_id` of the matching approval card, when there is one. */
  approval_key: string | null;
  duration_minutes: number;
  ticket_system: string | null;
  ticket_number: string | null;
  justification: string | null;
  /** submitting | pending | approved | active | ended | denied | expired | cancelled | failed */
  state: string;
  approver_names: string;
  decided_by_name: string | null;
  decided_at: string | null;
  decision_justification: string | null;
  /** {outcome, reasons} of the decision service when it decided at submission (JSON), else null. */
  decision_service: string | null;
  active_from: string | null;
  active_until: string | null;
  ended_at: string | null;
  message: string | null;
  conversation_ref: string;
  /** The status message in the personal chat; null until it is posted. */
  activity_id: string | null;
  version: number;
  rendered_version: number;
  time_zone: string | null;
  created_at: string;
  updated_at: string;
}

/** A command typed before the user was signed in, run once sign-in completes. */
export interface ChatPendingTable {
  user_id: string;
  text: string;
  time_zone: string | null;
  created_at: string;
}
