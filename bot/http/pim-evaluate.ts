import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BotHttpServer } from './http-server';
import type { Logger } from 'pino';
import { AZURE_RETRY_WINDOW_MS } from '../../services/decision/activation-request';
import { activationWindow, type DecisionPorts, evaluateActivation, type Verdict } from '../../services/decision/evaluate-activation';
import { isEmergencyMarked } from '../../services/decision/emergency';
import { EMERGENCY_ROW } from '../../services/decision/decision-table';
import type { BreakGlass } from '../../services/emergency/break-glass';
import type { DecisionPolicy } from '../../services/decision/policy';
import type { PimCaller } from '../../services/auth/pim-caller-token';
import type { Store } from '../../services/store/store';
import type { Metrics } from '../../services/observability/metrics';
import { decidingRule } from '../../services/observability/evaluation-labels';
import { calloutConflictEntry, emergencyDecisionEntry, evaluationEntry } from '../../services/audit/entries';
import { differences } from '../../services/approvals/callout-binding';
import type { ActivationRequest } from '../../services/decision/activation-request';
import type { EvaluationRow } from '../../services/store/store';
import {
  approvalKeyOf,
  calloutDigestOf,
  contentOfRequest,
  needsApprovalCard,
  newApprovalRequestRow,
  newEvaluationRow,
} from '../../services/approvals/approval-request-row';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import { errorResult, HttpError, type HttpResult, readPimCallout } from './http-body';

export { MAX_BODY_BYTES } from './http-body';
export type { HttpResult } from './http-body';
/** The checks end at the budget; this is only a backstop should the rules themselves misbehave. */
const SAFETY_MARGIN_MS = 250;

export interface EvaluateDeps {
  store: Store;
  delivery: CardDelivery;
  validateToken(authorization: string | undefined): Promise<PimCaller>;
  policy: DecisionPolicy;
  ports: DecisionPorts;
  /** For the checks; the answer follows within a few milliseconds of it (storing the evaluation). */
  budgetMs: number;
  log: Logger;
  now?: () => Date;
  metrics?: Pick<Metrics, 'evaluation' | 'calloutBinding'>;
  /** Break-glass (services/emergency): counts earlier grants, records a grant before PIM hears it, broadcasts after. Absent: never granted. */
  breakGlass?: Pick<BreakGlass, 'grantsInLastDay' | 'grantWrites' | 'broadcastSoon'>;
}

/**
 * POST /api/pim/evaluate: PIM's pre-approval custom extension. Authenticates PIM, normalises the
 * body, runs the rules inside the budget and answers {evaluationId, evaluationOutcome, reason[]}.
 * A retry of the same PIM request returns the stored answer and posts no second card.
 */
export async function handleEvaluate(req: IncomingMessage, deps: EvaluateDeps): Promise<HttpResult> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  try {
    const callout = await readPimCallout(req, deps.validateToken);
    const { caller } = callout;
    let request = callout.request;
    const log = deps.log.child({ pimRequestId: request.pimRequestId, requestKey: request.requestKey, callerAppId: caller.appId });

    // A stored evaluation answers only the same body (PIM's retry); another body for the same id is
    // evaluated on its own and recorded as a conflict, never answered from, or stored as, the first.
    const digest = calloutDigestOf(request);
    let existing: EvaluationRow | undefined;
    let conflictWith: EvaluationRow | undefined;
    // Equality lookups on the unique request key only: this runs on every callout.
    const first = await deps.store.evaluations.find(request.requestKey);
    if (request.kind === 'azureResource') {
      // The Azure key is the body's digest already (the shape has no id). Each evaluation of the same body
      // after the retry window is stored under `<key>:<previous evaluation id>`: follow that chain to the newest.
      existing = first;
      for (let next = existing; next; next = await deps.store.evaluations.find(azureSuccessorKey(request.requestKey, next))) existing = next;
      if (existing && now().getTime() - Date.parse(existing.created_at) > AZURE_RETRY_WINDOW_MS) {
        // The same Azure body after PIM's retry window is a new request: evaluate it afresh.
        log.info({ previousEvaluationId: existing.evaluation_id }, 'Azure callout with a known body after the retry window: evaluated as a new request');
        request = { ...request, requestKey: azureSuccessorKey(request.requestKey, existing) };
        existing = undefined;
      }
    } else if (first && first.body_digest !== digest && first.body_digest !== '') {
      // Another body for an id already evaluated: its own evaluation lives under `<key>~<digest>`.
      request = { ...request, requestKey: `${request.requestKey}~${digest.slice(0, 16)}` };
      existing = await deps.store.evaluations.find(request.requestKey);
      if (!existing) conflictWith = first;
    } else {
      existing = first;
    }
    if (existing) {
      log.info({ evaluationId: existing.evaluation_id }, 'PIM retry answered from the stored evaluation');
      return answer(existing.evaluation_id, existing.outcome, JSON.parse(existing.reasons) as string[]);
    }

    // Break-glass: the requester's earlier emergency grants, counted only for a request marked EMERGENCY (a failed count is null: no grant).
    const emergencyGrantsInLastDay =
      isEmergencyMarked(request.justification) && deps.breakGlass ? await deps.breakGlass.grantsInLastDay(request.principalId, now()) : null;
    const verdict = await withinBudget(deps.budgetMs + SAFETY_MARGIN_MS, () =>
      evaluateActivation(request, { policy: deps.policy, ports: deps.ports, budgetMs: deps.budgetMs, now: now(), emergencyGrantsInLastDay }),
    );
    const evaluationId = randomUUID();
    const at = now();
    const needsCard = verdict.outcome === 'Approved' && needsApprovalCard(request);
    const approvalId = needsCard ? randomUUID() : null;
    const latencyMs = Date.now() - started;
    // Break-glass: the grant (and its broadcast and note jobs) commits with the evaluation, before PIM hears it.
    const grant = deps.breakGlass?.grantWrites(request, verdict, evaluationId, at, activationWindow(request, at).end) ?? null;
    const { row, created, approvalCreated } = await deps.store.evaluations.insert(
      newEvaluationRow(request, {
        evaluationId,
        outcome: verdict.outcome,
        wouldBe: verdict.wouldBe,
        mode: verdict.mode,
        reasons: verdict.reasons,
        checks: verdict.checks,
        latencyMs,
        at,
        bodyDigest: digest,
        riskFlags: verdict.riskFlags,
      }),
      approvalId
        ? newApprovalRequestRow(request, { id: approvalId, evaluationId, riskFlags: verdict.riskFlags, reasons: verdict.reasons, checks: verdict.checks, at })
        : undefined,
      [
        evaluationEntry({
          evaluationId,
          pimRequestId: request.pimRequestId,
          requestKey: request.requestKey,
          approvalRequestId: approvalId,
          requestKind: request.kind,
          principalId: request.principalId,
          roleDefinitionId: request.roleDefinitionId,
          scope: request.scope,
          outcome: verdict.outcome,
          wouldBe: verdict.wouldBe,
          mode: verdict.mode,
          reasons: verdict.reasons,
          checks: verdict.checks,
          latencyMs,
          callerAppId: caller.appId,
          at,
        }),
        ...(verdict.emergency
          ? [
              emergencyDecisionEntry({
                granted: verdict.emergency.granted,
                wouldHaveGranted: verdict.row === EMERGENCY_ROW && verdict.mode === 'audit',
                evaluationId,
                pimRequestId: request.pimRequestId,
                principalId: request.principalId,
                roleDefinitionId: request.roleDefinitionId,
                scope: request.scope,
                incident: verdict.emergency.incident?.number ?? null,
                incidentPriority: verdict.emergency.incident?.priority ?? null,
                onCallEvidence: verdict.emergency.onCallEvidence,
                whyNot: verdict.emergency.whyNot,
                at,
              }),
            ]
          : []),
        ...(conflictWith
          ? [
              calloutConflictEntry({
                pimRequestId: request.pimRequestId,
                requestKey: request.requestKey,
                evaluationId,
                firstEvaluationId: conflictWith.evaluation_id,
                fields: conflictFields(conflictWith, request),
                callerAppId: caller.appId,
                at,
              }),
            ]
          : []),
      ],
      grant?.write,
    );
    log.info(
      { evaluationId: row.evaluation_id, outcome: row.outcome, wouldBe: verdict.wouldBe, mode: verdict.mode, latencyMs: Date.now() - started, created },
      'activation evaluated',
    );
    if (created) deps.metrics?.evaluation({ outcome: row.outcome, rule: decidingRule(verdict), seconds: (Date.now() - started) / 1000 });
    if (created && conflictWith) {
      deps.metrics?.calloutBinding('conflict');
      log.warn(
        { evaluationId: row.evaluation_id, firstEvaluationId: conflictWith.evaluation_id },
        'a second, different body for a request id already evaluated: evaluated on its own',
      );
    }
    // The BREAK-GLASS cards go out after the answer (the scheduled job is the durable copy of this).
    if (created && grant) deps.breakGlass?.broadcastSoon(grant.grantId);
    if (created && approvalCreated && approvalId && !conflictWith) {
      // The approval row this call stored: its cards go out without reading it back.
      deps.delivery.postCardsSoon(approvalId);
    } else if (created && needsCard) {
      const approval = await deps.store.requests.byPimId(approvalKeyOf(request));
      if (approval) {
        // The card is bound to PIM's own copy before it is posted (card-delivery): with a conflict this
        // callout may be the one that matches, so an approval left unbound by the first is looked at again.
        if (conflictWith && approval.unbound_at && !approval.cards_posted_at) await deps.store.requests.markUnbound(approval.id, null);
        deps.delivery.postCardsSoon(approval.id);
      }
    }
    return answer(row.evaluation_id, row.outcome, JSON.parse(row.reasons) as string[]);
  } catch (err) {
    if (err instanceof HttpError) {
      deps.log.warn({ status: err.status, code: err.code }, 'evaluate request rejected');
      return errorResult(err);
    }
    deps.log.error({ err: { message: (err as Error).message } }, 'evaluate failed');
    return { status: 500, body: { error: { code: 'internal', message: 'The decision service failed; PIM will retry.' } } };
  }
}

/** Where the next evaluation of the same Azure body is stored, after `previous` (keys stay unique, lookups stay equalities). */
function azureSuccessorKey(baseKey: string, previous: EvaluationRow): string {
  return `${baseKey}:${previous.evaluation_id.slice(0, 8)}`;
}

/** Which fields the second body changed, by name only (the first body's stored request against this one). */
function conflictFields(first: EvaluationRow, request: ActivationRequest): string[] {
  try {
    const stored = (JSON.parse(first.request_json) as { request?: ActivationRequest }).request;
    return stored ? differences(contentOfRequest(stored), contentOfRequest(request)) : ['unknown'];
  } catch {
    return ['unknown'];
  }
}

function answer(evaluationId: string, outcome: string, reason: string[]): HttpResult {
  return { status: 200, body: { evaluationId, evaluationOutcome: outcome, reason } };
}

/**
 * Runs the rules, or answers Approved (a human decides) when they overrun: PIM's own timeout must
 * never be what decides, and running out of time must never loosen a decision.
 */
async function withinBudget(budgetMs: number, run: () => Promise<Verdict>): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<Verdict>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          outcome: 'Approved',
          wouldBe: 'Approved',
          mode: 'enforce',
          row: 0,
          humanOnly: false,
          reasons: ['The automatic checks did not finish in time; an approver decides.'],
          riskFlags: ['Checks incomplete'],
          checks: [],
        }),
      budgetMs,
    );
  });
  try {
    return await Promise.race([run(), overrun]);
  } finally {
    clearTimeout(timer);
  }
}

/** Serves POST /api/pim/evaluate on the bot's server: never cached, with the answer's own headers. */
export function registerEvaluateRoute(server: BotHttpServer, deps: EvaluateDeps): void {
  server.route('POST', '/api/pim/evaluate', async (req, res) => {
    const result = await handleEvaluate(req, deps);
    res.header('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(result.headers ?? {})) res.header(k, v);
    res.send(result.status, result.body);
  });
}
