import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { ActivationRequest, normaliseActivationRequest, ShapeError } from '../services/decision/activation-request';
import { evaluateActivation, EvaluationContext, Verdict } from '../services/decision/evaluate-activation';
import { PimCaller, PimTokenError } from '../services/auth/pim-caller-token';
import type { Store } from '../services/store/store';
import type { CardDelivery } from './card-delivery';

/** PIM's request bodies are a few KB; anything larger is not PIM. */
export const MAX_BODY_BYTES = 64 * 1024;
/** PIM keeps a pending approval 24 hours, not configurable. */
const PIM_APPROVAL_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface HttpResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface EvaluateDeps {
  store: Store;
  delivery: CardDelivery;
  validateToken(authorization: string | undefined): Promise<PimCaller>;
  context: EvaluationContext;
  budgetMs: number;
  log: Logger;
  now?: () => Date;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
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
    let caller: PimCaller;
    try {
      caller = await deps.validateToken(req.headers.authorization);
    } catch (err) {
      if (err instanceof PimTokenError) {
        deps.log.warn({ check: err.check }, 'PIM token refused');
        const status = err.check === 'keys_unavailable' ? 503 : 401;
        return { status, body: { error: { code: `token_${err.check}`, message: err.message } }, headers: status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {} };
      }
      throw err;
    }
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') {
      throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, not '${contentType.slice(0, 60) || 'none'}'.`);
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw new HttpError(400, 'malformed_json', `The body is not valid JSON: ${(err as Error).message.slice(0, 120)}.`);
    }
    let request: ActivationRequest;
    try {
      request = normaliseActivationRequest(body);
    } catch (err) {
      if (err instanceof ShapeError) throw new HttpError(400, 'unknown_shape', err.message);
      throw err;
    }
    const log = deps.log.child({ pimRequestId: request.pimRequestId, requestKey: request.requestKey, callerAppId: caller.appId });

    const existing = await deps.store.findEvaluation(request.requestKey);
    if (existing) {
      log.info({ evaluationId: existing.evaluation_id }, 'PIM retry answered from the stored evaluation');
      return answer(existing.evaluation_id, existing.outcome, JSON.parse(existing.reasons) as string[]);
    }

    const verdict = await withinBudget(deps.budgetMs, async () => evaluateActivation(request, deps.context, now()));
    const evaluationId = randomUUID();
    const at = now();
    const needsCard = verdict.outcome === 'Approved' && request.pimRequestId !== null && request.kind === 'entraRole';
    const { row, created } = await deps.store.insertEvaluation(
      {
        evaluation_id: evaluationId,
        request_key: request.requestKey,
        pim_request_id: request.pimRequestId,
        kind: request.kind,
        principal_id: request.principalId,
        role_definition_id: request.roleDefinitionId,
        scope: request.scope,
        outcome: verdict.outcome,
        would_be: verdict.wouldBe,
        mode: verdict.mode,
        reasons: JSON.stringify(verdict.reasons),
        checks: JSON.stringify(verdict.checks),
        latency_ms: Date.now() - started,
        created_at: at.toISOString(),
      },
      needsCard
        ? {
            id: randomUUID(),
            pim_request_id: request.pimRequestId!,
            evaluation_id: evaluationId,
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
            risk_flags: JSON.stringify(verdict.riskFlags),
            reasons: JSON.stringify(verdict.reasons),
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
            created_at: at.toISOString(),
            expires_at: new Date(at.getTime() + PIM_APPROVAL_WINDOW_MS).toISOString(),
            updated_at: at.toISOString(),
          }
        : undefined,
    );
    log.info({ evaluationId: row.evaluation_id, outcome: row.outcome, wouldBe: verdict.wouldBe, mode: verdict.mode, latencyMs: Date.now() - started, created }, 'activation evaluated');
    if (created && needsCard) {
      const approval = await deps.store.getRequestByPimId(request.pimRequestId!);
      if (approval) deps.delivery.kick(() => deps.delivery.postCards(approval.id));
    }
    return answer(row.evaluation_id, row.outcome, JSON.parse(row.reasons) as string[]);
  } catch (err) {
    if (err instanceof HttpError) {
      deps.log.warn({ status: err.status, code: err.code }, 'evaluate request rejected');
      return { status: err.status, body: { error: { code: err.code, message: err.message } } };
    }
    deps.log.error({ err: { message: (err as Error).message } }, 'evaluate failed');
    return { status: 500, body: { error: { code: 'internal', message: 'The decision service failed; PIM will retry.' } } };
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
      () => resolve({ outcome: 'Approved', wouldBe: 'Approved', mode: 'enforce', reasons: ['The automatic checks did not finish in time; an approver decides.'], riskFlags: ['Checks incomplete'], checks: [] }),
      budgetMs,
    );
  });
  try {
    return await Promise.race([run(), overrun]);
  } finally {
    clearTimeout(timer);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, 'body_too_large', `The body is ${declared} bytes; the limit is ${limit} bytes (64 KiB).`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        reject(new HttpError(413, 'body_too_large', `The body exceeds ${limit} bytes (64 KiB).`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      if (!done) reject(new HttpError(400, 'body_unreadable', `The body could not be read: ${err.message}`));
    });
  });
}
