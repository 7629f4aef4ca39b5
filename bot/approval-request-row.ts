import type { Insertable } from 'kysely';
import type { ActivationRequest } from '../services/decision/activation-request';
import type { ApprovalRequestTable, EvaluationTable } from '../services/store/schema';
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
    justification: request.justification,
    ticket_system: request.ticket?.system ?? null,
    ticket_number: request.ticket?.number ?? null,
    duration: request.duration,
    duration_minutes: request.durationMinutes,
    start_at: request.startDateTime,
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

/** The stored evaluation of one request: by our rules, or (mode `external`) by the customer's own service. */
export function newEvaluationRow(
  request: ActivationRequest,
  o: { evaluationId: string; outcome: string; wouldBe: string; mode: string; reasons: string[]; checks: unknown[]; latencyMs: number; at: Date },
): Insertable<EvaluationTable> {
  return {
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
