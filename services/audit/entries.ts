import type { AuditEntry } from './audit-trail';

/** The ids of an approval request the entries name (approval_requests columns). */
export interface AuditedRequest {
  id: string;
  pim_request_id: string;
  evaluation_id: string;
}

/** Who did it when the bot acted on its own (timers, the reconciler). */
export const BOT_ACTOR = 'bot';

/** One question a check asked a system of record, as the trail keeps it (the same shape as the decision's Evidence). */
export interface AuditedEvidence {
  asked: string;
  system: string;
  answer: string;
  ms: number;
}

/**
 * A check as the trail records it. `summary`, `onFail` and `evidence` are optional while evaluations
 * from before checks carried them are still written; a missing one is recorded as null (or no evidence).
 */
export interface AuditedCheck {
  name: string;
  result: string;
  onFail?: 'deny' | 'review';
  summary?: string;
  detail?: string;
  evidence?: readonly AuditedEvidence[];
}

/** Evidence is short by contract (`HTTP 403`, `incident INC0012345`); these caps keep a misbehaving adapter from filling the trail. */
const EVIDENCE_MAX = { perCheck: 12, text: 300 } as const;

function capped(text: unknown): string {
  const s = typeof text === 'string' ? text : String(text ?? '');
  const points = Array.from(s);
  return points.length <= EVIDENCE_MAX.text ? s : `${points.slice(0, EVIDENCE_MAX.text - 1).join('')}…`;
}

/**
 * Only the four named fields of each piece of evidence, copied one by one: whatever else an adapter's
 * object carries (a response, its headers, a token) never reaches the trail or its export. The return
 * type is left inferred: an object literal type is a JsonValue, the interface is not.
 */
function auditedEvidence(evidence: readonly AuditedEvidence[] | undefined) {
  return (evidence ?? []).slice(0, EVIDENCE_MAX.perCheck).map((e) => ({
    asked: capped(e.asked),
    system: capped(e.system),
    answer: capped(e.answer),
    ms: Number.isFinite(e.ms) ? Math.round(e.ms) : 0,
  }));
}

/** The decision endpoint answered PIM: the evaluationId exactly as returned (PIM writes it to its own audit log). */
export function evaluationEntry(o: {
  evaluationId: string;
  pimRequestId: string | null;
  requestKey: string;
  approvalRequestId: string | null;
  requestKind: string;
  principalId: string;
  roleDefinitionId: string;
  scope: string;
  outcome: string;
  wouldBe: string;
  mode: string;
  reasons: string[];
  checks: readonly AuditedCheck[];
  latencyMs: number;
  callerAppId: string;
  at: Date;
}): AuditEntry {
  return {
    kind: 'evaluation',
    actor: o.principalId,
    pimRequestId: o.pimRequestId,
    requestId: o.approvalRequestId,
    evaluationId: o.evaluationId,
    outcome: o.outcome,
    at: o.at,
    details: {
      requestKey: o.requestKey,
      requestKind: o.requestKind,
      requester: o.principalId,
      roleDefinitionId: o.roleDefinitionId,
      scope: o.scope,
      wouldBe: o.wouldBe,
      mode: o.mode,
      reasons: o.reasons,
      // The rules that fired: each check's result, what a fail does, the line the approver saw on the card,
      // the sentence the requester was given, and what was asked of which system (never a body or a header).
      checks: o.checks.map((c) => ({
        name: c.name,
        result: c.result,
        onFail: c.onFail ?? null,
        summary: c.summary ?? null,
        detail: c.detail ?? null,
        evidence: auditedEvidence(c.evidence),
      })),
      latencyMs: Math.round(o.latencyMs),
      callerAppId: o.callerAppId,
    },
  };
}

/** An approver chose Approve or Deny on a card (recorded when the bot claims the request, before PIM is called). */
/** An approver's decision as they chose it; `via` says where they clicked: the card (or chat) or the PIM tab. */
export function cardDecisionEntry(
  row: AuditedRequest,
  approverId: string,
  reviewResult: 'Approve' | 'Deny',
  justification: string,
  at: Date,
  via: 'card' | 'tab' = 'card',
): AuditEntry {
  return {
    kind: 'card.decision',
    actor: approverId,
    pimRequestId: row.pim_request_id,
    requestId: row.id,
    evaluationId: row.evaluation_id,
    outcome: reviewResult,
    at,
    details: { reviewResult, justification, via },
  };
}

/**
 * What PIM (Graph or ARM) answered when the bot recorded a decision: recorded (204), already decided
 * (by whom), refused (403/400), gone (404), failed (5xx, timeout). `recovered` marks results read back
 * from PIM after a lost answer (the claim recovery).
 */
export function graphResultEntry(
  row: AuditedRequest,
  actor: string,
  r: {
    outcome: 'recorded' | 'already_decided' | 'not_an_approver' | 'closed' | 'not_found' | 'refused' | 'failed' | 'released';
    reviewResult: string | null;
    status: number | null;
    code?: string | null;
    graphRequestId?: string | null;
    alreadyDecided: boolean;
    decidedBy?: string | null;
    finalStatus?: string | null;
    recovered?: boolean;
  },
  at: Date,
): AuditEntry {
  return {
    kind: 'graph.result',
    actor,
    pimRequestId: row.pim_request_id,
    requestId: row.id,
    evaluationId: row.evaluation_id,
    outcome: r.outcome,
    at,
    details: {
      reviewResult: r.reviewResult,
      httpStatus: r.status,
      code: r.code ?? null,
      graphRequestId: r.graphRequestId ?? null,
      alreadyDecided: r.alreadyDecided,
      decidedBy: r.decidedBy ?? null,
      finalStatus: r.finalStatus ?? null,
      recovered: r.recovered ?? false,
    },
  };
}

/**
 * A request closed without a decision from a card: decided in the PIM portal or by another tool (found by the
 * reconciler or told by a post-approval event), expired after PIM's 24 hours, or cancelled by the requester.
 */
export function requestClosedEntry(
  row: AuditedRequest,
  o: {
    status: string;
    source: 'reconciler' | 'event' | 'ladder';
    pimStatus?: string | null;
    decidedBy?: string | null;
    justification?: string | null;
    eventId?: string | null;
  },
  at: Date,
): AuditEntry {
  return {
    kind: 'request.closed',
    actor: o.decidedBy ?? BOT_ACTOR,
    pimRequestId: row.pim_request_id,
    requestId: row.id,
    evaluationId: row.evaluation_id,
    outcome: o.status,
    at,
    details: {
      source: o.source,
      pimStatus: o.pimStatus ?? null,
      decidedBy: o.decidedBy ?? null,
      justification: o.justification ?? null,
      eventId: o.eventId ?? null,
    },
  };
}

/** A reminder in the card's thread (the ladder's, or one the requester asked for), or the ladder's escalation. */
export function reminderEntry(
  row: AuditedRequest,
  kind: 'nudge' | 'escalation',
  o: { actor: string; trigger: 'ladder' | 'requester' | 'presence'; index?: number; escalatedTo?: string | null },
  at: Date,
): AuditEntry {
  return {
    kind,
    actor: o.actor,
    pimRequestId: row.pim_request_id,
    requestId: row.id,
    evaluationId: row.evaluation_id,
    outcome: 'sent',
    at,
    details: { trigger: o.trigger, index: o.index ?? null, escalatedTo: o.escalatedTo ?? null },
  };
}

/** A digest button: extend, no longer needed, or a spot-audit verdict. */
export function digestActionEntry(
  userId: string,
  o: {
    action: 'extend' | 'renew' | 'release' | 'spot_audit';
    outcome: string;
    target?: { kind: string; roleDefinitionId: string; scope: string; assignment?: string };
    pimRequestId?: string | null;
    requestId?: string | null;
    evaluationId?: string | null;
    note?: string | null;
    status?: string | null;
  },
  at: Date,
): AuditEntry {
  return {
    kind: 'digest.action',
    actor: userId,
    pimRequestId: o.pimRequestId ?? null,
    requestId: o.requestId ?? null,
    evaluationId: o.evaluationId ?? null,
    outcome: o.outcome,
    at,
    details: { action: o.action, target: o.target ?? null, note: o.note ?? null, pimStatus: o.status ?? null },
  };
}

/** A user's activation filed in PIM from the chat (selfActivate as the user). */
export function selfActivationEntry(
  userId: string,
  o: {
    pimRequestId: string | null;
    outcome: string;
    requestKind: string;
    roleDefinitionId: string;
    scope: string;
    durationMinutes: number;
    justification: string | null;
    ticket?: string | null;
    problem?: string | null;
  },
  at: Date,
): AuditEntry {
  return {
    kind: 'self_activation',
    actor: userId,
    pimRequestId: o.pimRequestId,
    outcome: o.outcome,
    at,
    details: {
      requestKind: o.requestKind,
      roleDefinitionId: o.roleDefinitionId,
      scope: o.scope,
      durationMinutes: o.durationMinutes,
      justification: o.justification,
      ticket: o.ticket ?? null,
      problem: o.problem ?? null,
    },
  };
}

/**
 * A second callout body for a request id already evaluated: it was evaluated on its own (never answered from
 * the first body's evaluation). Field names only, never their values.
 */
export function calloutConflictEntry(o: {
  pimRequestId: string | null;
  requestKey: string;
  evaluationId: string;
  firstEvaluationId: string;
  fields: string[];
  callerAppId: string;
  at: Date;
}): AuditEntry {
  return {
    kind: 'callout.conflict',
    actor: o.callerAppId,
    pimRequestId: o.pimRequestId,
    evaluationId: o.evaluationId,
    outcome: 'evaluated_separately',
    at: o.at,
    details: { requestKey: o.requestKey, firstEvaluationId: o.firstEvaluationId, differingFields: o.fields },
  };
}

/** No callout for the request matches PIM's own copy (or PIM has none): no card was posted. */
export function calloutUnboundEntry(row: AuditedRequest, o: { reason: 'not_in_pim' | 'differs'; fields: string[]; at: Date }): AuditEntry {
  return {
    kind: 'callout.unbound',
    actor: BOT_ACTOR,
    pimRequestId: row.pim_request_id,
    requestId: row.id,
    evaluationId: row.evaluation_id,
    outcome: o.reason,
    at: o.at,
    details: { differingFields: o.fields },
  };
}

/**
 * Break-glass: a request marked EMERGENCY was granted without an approver (`emergency.grant`), or got no
 * emergency grant and why (`emergency.refused`); recorded with the evaluation, before PIM hears the answer.
 */
export function emergencyDecisionEntry(o: {
  granted: boolean;
  /** Audit mode: what enforce mode would have done, nothing applied. */
  wouldHaveGranted?: boolean;
  evaluationId: string;
  pimRequestId: string | null;
  principalId: string;
  roleDefinitionId: string;
  scope: string;
  incident: string | null;
  incidentPriority: string | null;
  onCallEvidence: string | null;
  whyNot: string | null;
  at: Date;
}): AuditEntry {
  return {
    kind: o.granted ? 'emergency.grant' : 'emergency.refused',
    actor: o.principalId,
    pimRequestId: o.pimRequestId,
    evaluationId: o.evaluationId,
    outcome: o.granted ? 'granted' : o.wouldHaveGranted ? 'audit_mode' : 'refused',
    at: o.at,
    details: {
      roleDefinitionId: o.roleDefinitionId,
      scope: o.scope,
      incident: o.incident,
      incidentPriority: o.incidentPriority,
      onCall: o.onCallEvidence,
      whyNot: o.whyNot,
    },
  };
}

/** Break-glass: the BREAK-GLASS card queued for a channel, the post-incident note, or a second person's review. */
export function emergencyStepEntry(o: {
  kind: 'emergency.broadcast' | 'emergency.note' | 'emergency.review';
  actor: string;
  grantId: string;
  evaluationId: string;
  pimRequestId: string | null;
  outcome: string;
  details?: Record<string, string | null>;
  at: Date;
}): AuditEntry {
  return {
    kind: o.kind,
    actor: o.actor,
    pimRequestId: o.pimRequestId,
    evaluationId: o.evaluationId,
    outcome: o.outcome,
    at: o.at,
    details: { grantId: o.grantId, ...(o.details ?? {}) },
  };
}
