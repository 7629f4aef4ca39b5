import { randomUUID } from 'node:crypto';
import type { SimContext, CustomExtensionConfig } from './context';
import { durationOf, type Evaluation, type PimRequest } from './state';

export type CalloutResult = { ok: true; evaluation: Evaluation; attempts: number } | { ok: false; reason: string; attempts: number };

const OUTCOMES = new Set(['Approved', 'AutoApproved', 'Denied']);

/** The body PIM POSTs for an activation; one shape per PIM (keys as in the custom-extension doc's request models). */
export function calloutBody(r: PimRequest, status: string = r.status): Record<string, unknown> {
  if (r.kind === 'group') {
    return {
      '@odata.type': '#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest',
      id: r.id,
      status,
      action: r.action,
      justification: r.justification,
      principalId: r.principalId,
      accessId: r.accessId,
      groupId: r.groupId,
      scheduleInfo: r.scheduleInfo,
      ticketInfo: r.ticketInfo,
    };
  }
  if (r.kind === 'azureResource') {
    // ARM's shape: no request id, ARM casing of the enum values.
    return {
      properties: {
        principalId: r.principalId,
        principalType: 'User',
        requestType: 'SelfActivate',
        roleDefinitionId: r.roleDefinitionId,
        scope: r.scope,
        justification: r.justification,
        scheduleInfo: { startDateTime: r.scheduleInfo.startDateTime, expiration: { type: 'AfterDuration', duration: durationOf(r) } },
        ticketInfo: r.ticketInfo,
      },
    };
  }
  return {
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: r.id,
    status,
    action: r.action,
    principalId: r.principalId,
    roleDefinitionId: r.roleDefinitionId,
    directoryScopeId: r.directoryScopeId,
    justification: r.justification,
    scheduleInfo: r.scheduleInfo,
    ticketInfo: r.ticketInfo,
  };
}

export function parseVerdict(body: unknown): Evaluation | string {
  if (!body || typeof body !== 'object') return 'the reply is not a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.evaluationOutcome !== 'string' || !OUTCOMES.has(b.evaluationOutcome)) {
    return `evaluationOutcome '${String(b.evaluationOutcome)}' is not Approved, AutoApproved or Denied`;
  }
  if (typeof b.evaluationId !== 'string' || b.evaluationId.length === 0) return 'evaluationId is missing';
  if (b.reason !== undefined && (!Array.isArray(b.reason) || b.reason.some((x) => typeof x !== 'string'))) {
    return 'reason is not a list of strings';
  }
  return {
    evaluationId: b.evaluationId,
    evaluationOutcome: b.evaluationOutcome as Evaluation['evaluationOutcome'],
    reason: (b.reason as string[] | undefined) ?? [],
  };
}

/**
 * Calls the pre-approval extension as PIM does: one POST per attempt with the same body, retried on
 * timeout, network error and 5xx (and 429) up to `maximumRetries`. A 4xx or an unreadable verdict is not
 * retried: asking again would get the same answer.
 */
export async function callCustomExtension(ctx: SimContext, cfg: CustomExtensionConfig, request: PimRequest, statusForCallout: string): Promise<CalloutResult> {
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const maxRetries = cfg.maximumRetries ?? 3;
  const token = await ctx.tokens.sign({
    aud: cfg.resourceId,
    iss: ctx.issuer(),
    tid: ctx.tenantId,
    sub: stableSp(ctx.pimCallerAppId),
    oid: stableSp(ctx.pimCallerAppId),
    azp: ctx.pimCallerAppId,
    appid: ctx.pimCallerAppId,
    azpacr: '2',
    idtyp: 'app',
    ver: '2.0',
  });
  const body = JSON.stringify(calloutBody(request, statusForCallout));
  let lastReason = 'not called';
  for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
    if (ctx.closing.aborted) return { ok: false, reason: 'simulator closing', attempts: attempt - 1 };
    const log = ctx.logger.child({ pimRequestId: request.id, attempt });
    try {
      const res = await fetch(cfg.targetUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'client-request-id': randomUUID() },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ctx.closing]),
      });
      const text = await res.text();
      if (res.status >= 500 || res.status === 429) {
        lastReason = `extension answered HTTP ${res.status}`;
        log.warn({ status: res.status }, 'custom extension failed, retrying');
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        return { ok: false, reason: `extension answered HTTP ${res.status}`, attempts: attempt };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { ok: false, reason: 'extension reply is not JSON', attempts: attempt };
      }
      const verdict = parseVerdict(parsed);
      if (typeof verdict === 'string') return { ok: false, reason: `invalid extension reply: ${verdict}`, attempts: attempt };
      log.debug({ outcome: verdict.evaluationOutcome }, 'custom extension answered');
      return { ok: true, evaluation: verdict, attempts: attempt };
    } catch (err) {
      const name = (err as Error).name;
      lastReason = name === 'TimeoutError' ? `extension did not answer within ${timeoutMs} ms` : `extension unreachable: ${(err as Error).message}`;
      log.warn({ err: lastReason }, 'custom extension call failed, retrying');
    }
  }
  return { ok: false, reason: `${lastReason} (after ${maxRetries + 1} attempts)`, attempts: maxRetries + 1 };
}

function stableSp(appId: string): string {
  // PIM's service principal object id differs per tenant; a fixed derivation is enough for the sim.
  return `5b0c${appId.slice(4)}`;
}
