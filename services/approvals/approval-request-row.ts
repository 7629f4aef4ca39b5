import type { Insertable } from 'kysely';
import { calloutDigest, type RequestContent } from './callout-binding';
import type { ApprovalRequestRow } from '../store/store';
import type { ActivationRequest } from '../decision/activation-request';
import type { ApprovalRequestTable, EvaluationTable } from '../store/schema';
import { checkLinesOf, type CheckForLine } from './check-lines';

/** PIM keeps a pending approval 24 hours, not configurable. */
export const PIM_APPROVAL_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The kinds the card flow decides on. */
const CARD_KINDS = new Set(['entraRole', 'group', 'azureResource']);

/**
 * Whether a request that needs a human gets an approval card: Entra roles and groups with PIM's request
 * id, and Azure resource requests (keyed by the request key; see approvalKeyOf).
 */
export function needsApprovalCard(request: ActivationRequest): boolean {
  return CARD_KINDS.has(request.kind);
}

/**
 * The key an approval request row is stored under: PIM's request id, or for the Azure resource shape
 * (which carries none) the request key; the decision finds ARM's approval by principal, role and scope.
 */
export function approvalKeyOf(request: ActivationRequest): string {
  return request.pimRequestId ?? request.requestKey;
}

/**
 * A new pending approval request for a PIM request a human must decide, whether our decision
 * endpoint said so (`Approved`) or the customer's own decision service escalated it. `checks` are our
 * decision's checks (none when the customer's service decided): each one that ran becomes a card line.
 */
export function newApprovalRequestRow(
  request: ActivationRequest,
  opts: { id: string; evaluationId: string; riskFlags: string[]; reasons: string[]; checks?: readonly CheckForLine[]; at: Date },
): Insertable<ApprovalRequestTable> {
  if (!needsApprovalCard(request)) throw new Error(`No approval card for ${request.kind} requests`);
  const at = opts.at.toISOString();
  return {
    id: opts.id,
    pim_request_id: approvalKeyOf(request),
    evaluation_id: opts.evaluationId,
    kind: request.kind,
    principal_id: request.principalId,
    role_definition_id: request.roleDefinitionId,
    scope: request.scope,
    ...calloutColumnsOf(request),
    risk_flags: JSON.stringify(opts.riskFlags),
    reasons: JSON.stringify(opts.reasons),
    check_lines: JSON.stringify(checkLinesOf(opts.checks ?? [])),
    status: 'pending',
    version: 1,
    claimed_by: null,
    claimed_at: null,
    claimed_result: null,
    decided_by_id: null,
    decided_by_upn: null,
    decided_by_name: null,
    decided_at: null,
    decision_justification: null,
    display: null,
    cards_posted_at: null,
    created_at: at,
    expires_at: new Date(opts.at.getTime() + PIM_APPROVAL_WINDOW_MS).toISOString(),
    updated_at: at,
  };
}

/** The columns of an approval request row that come from what the callout said (set again when the row is rebound). */
export function calloutColumnsOf(request: Pick<ActivationRequest, 'justification' | 'ticket' | 'duration' | 'durationMinutes' | 'startDateTime'>) {
  return {
    justification: request.justification,
    ticket_system: request.ticket?.system ?? null,
    ticket_number: request.ticket?.number ?? null,
    duration: request.duration,
    duration_minutes: request.durationMinutes,
    start_at: request.startDateTime,
  };
}

/** What a callout asked, as binding compares it with PIM's own copy. */
export function contentOfRequest(r: Pick<ActivationRequest, 'principalId' | 'roleDefinitionId' | 'scope' | 'justification' | 'ticket'>): RequestContent {
  return {
    principalId: r.principalId,
    roleDefinitionId: r.roleDefinitionId,
    scope: r.scope,
    justification: r.justification,
    ticketNumber: r.ticket?.number ?? null,
    ticketSystem: r.ticket?.system || null,
  };
}

/** What an approval request row says, the same way. */
export function contentOfRow(
  row: Pick<ApprovalRequestRow, 'principal_id' | 'role_definition_id' | 'scope' | 'justification' | 'ticket_number' | 'ticket_system'>,
): RequestContent {
  return {
    principalId: row.principal_id,
    roleDefinitionId: row.role_definition_id,
    scope: row.scope,
    justification: row.justification,
    ticketNumber: row.ticket_number,
    ticketSystem: row.ticket_system,
  };
}

/** The digest of what a callout asked (the normalised request; its key is where it is stored, not what it says). */
export function calloutDigestOf(request: ActivationRequest): string {
  const { requestKey: _key, ...content } = request;
  return calloutDigest(content);
}

/** The stored evaluation of one request: by our rules, or (mode `external`) by the customer's own service. */
export function newEvaluationRow(
  request: ActivationRequest,
  o: {
    evaluationId: string;
    outcome: string;
    wouldBe: string;
    mode: string;
    reasons: string[];
    checks: unknown[];
    latencyMs: number;
    at: Date;
    bodyDigest?: string;
    riskFlags?: string[];
  },
): Insertable<EvaluationTable> {
  return {
    body_digest: o.bodyDigest ?? calloutDigestOf(request),
    // The normalised request and the card's flags: enough to bind the card to this callout later.
    request_json: JSON.stringify({ request, riskFlags: o.riskFlags ?? [] }),
    evaluation_id: o.evaluationId,
    request_key: request.requestKey,
    pim_request_id: request.pimRequestId,
    kind: request.kind,
    principal_id: request.principalId,
    role_definition_id: request.roleDefinitionId,
    scope: request.scope,
    outcome: o.outcome,
    would_be: o.wouldBe,
    mode: o.mode,
    reasons: JSON.stringify(o.reasons),
    checks: JSON.stringify(o.checks),
    latency_ms: o.latencyMs,
    created_at: o.at.toISOString(),
  };
}
