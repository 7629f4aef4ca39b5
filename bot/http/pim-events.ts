import { randomUUID } from 'node:crypto';
import { requestClosedEntry } from '../../services/audit/entries';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { BotHttpServer, BotResponse } from './http-server';
import { createPimTokenValidator, type PimCaller, PimTokenError } from '../../services/auth/pim-caller-token';
import type { AppConfig } from '../../services/config/config';
import { checkSignatureHeaders, EventSignatureError, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../services/events/event-signature';
import { EventShapeError, type InboundEvent, parseInboundEvent } from '../../services/events/inbound-event';
import { activeUntilOf, outcomeOfPimStatus, planPostApproval } from '../../services/events/post-approval';
import type { RequestStatus } from '../../services/approvals/request-lifecycle';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import { approvalKeyOf, needsApprovalCard, newApprovalRequestRow, newEvaluationRow } from '../../services/approvals/approval-request-row';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import { errorResult, HttpError, type HttpResult, parseJson, readBody, readPimCallout, requireJsonContentType, tokenRefusal } from './http-body';

/** Another writer (an approver's click, the sweeper) can change the row between our read and write; a few rereads settle it. */
const CAS_ATTEMPTS = 5;

export interface EventDeps {
  store: Store;
  delivery: CardDelivery;
  log: Logger;
  now?: () => Date;
}

/** How /api/pim/events authenticates senders; the endpoint is off (503) when neither is set. */
export interface EventsAuth {
  hmacSecret?: string;
  /** Entra tokens for our App ID URI from the apps in EVENTS_ALLOWED_APP_IDS. */
  validateToken?: (authorization: string | undefined) => Promise<PimCaller>;
}

/** The two routes; one call from the composition root. */
export function registerEventRoutes(
  server: BotHttpServer,
  deps: {
    config: AppConfig;
    store: Store;
    delivery: CardDelivery;
    validatePimToken: (authorization: string | undefined) => Promise<PimCaller>;
    log: Logger;
    now?: () => Date;
  },
): void {
  const { config } = deps;
  const auth: EventsAuth = {
    hmacSecret: config.events.hmacSecret,
    validateToken: config.events.allowedAppIds.length
      ? createPimTokenValidator({
          issuers: config.pimEndpoint.issuers,
          jwksUri: config.pimEndpoint.jwksUri,
          audience: config.pimEndpoint.appIdUri,
          allowedCallerAppIds: config.events.allowedAppIds,
        })
      : undefined,
  };
  const base = () => ({ store: deps.store, delivery: deps.delivery, log: deps.log, now: deps.now });
  server.route('POST', '/api/pim/events', async (req, res) => {
    send(res, await handleInboundEvent(req, { ...base(), auth }));
  });
  server.route('POST', '/api/pim/post-approval', async (req, res) => {
    send(res, await handlePostApproval(req, { ...base(), validateToken: deps.validatePimToken }));
  });
}

function send(res: BotResponse, result: HttpResult): void {
  res.header('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(result.headers ?? {})) res.header(k, v);
  res.send(result.status, result.body);
}

/**
 * POST /api/pim/events: escalations and post-approval events from the customer's own decision
 * service. Authenticated by an Entra token or an HMAC signature, validated against
 * docs/events.schema.json, processed once per event id.
 */
export async function handleInboundEvent(req: IncomingMessage, deps: EventDeps & { auth: EventsAuth }): Promise<HttpResult> {
  const now = deps.now ?? (() => new Date());
  try {
    const sender = await authenticate(req, deps.auth, now());
    requireJsonContentType(req);
    const raw = await readBody(req);
    if (sender.verify) {
      try {
        sender.verify(raw);
      } catch (err) {
        throw signatureRefusal(err);
      }
    }
    let event: InboundEvent;
    try {
      event = parseInboundEvent(parseJson(raw));
    } catch (err) {
      if (err instanceof EventShapeError) throw new HttpError(400, 'invalid_event', err.message, err.field);
      throw err;
    }
    return await applyEvent(event, sender.source, deps);
  } catch (err) {
    return failure(err, deps.log, 'event');
  }
}

/**
 * POST /api/pim/post-approval: PIM's post-approval custom extension (DESIGN flow A step 7). Same
 * token checks as /api/pim/evaluate; the body is a PIM request shape whose status carries the
 * outcome. Treated as a postApproval event whose id is the request and the status, so PIM's
 * retries are duplicates.
 */
export async function handlePostApproval(
  req: IncomingMessage,
  deps: EventDeps & { validateToken: (authorization: string | undefined) => Promise<PimCaller> },
): Promise<HttpResult> {
  const now = deps.now ?? (() => new Date());
  try {
    const { body, request } = await readPimCallout(req, deps.validateToken);
    const status = pimStatusOf(body);
    const eventId = `pim:${request.requestKey}:${status.toLowerCase()}`;
    const outcome = outcomeOfPimStatus(status);
    const at = now();
    if (!outcome) {
      const first = await deps.store.events.claim({
        ...eventRow({ eventId, type: 'postApproval', occurredAt: at.toISOString(), request }, 'pim', at),
        result: 'ignored',
      });
      deps.log.info({ eventId, pimRequestId: request.pimRequestId, pimStatus: status, first }, 'post-approval call with a status that is no outcome');
      return { status: 202, body: { status: 'ignored', eventId, message: `Status '${status}' is not an outcome yet; nothing to update.` } };
    }
    return await applyEvent({ eventId, type: 'postApproval', occurredAt: at.toISOString(), request, outcome }, 'pim', deps);
  } catch (err) {
    return failure(err, deps.log, 'post-approval call');
  }
}

function pimStatusOf(body: unknown): string {
  const b = body as { status?: unknown; properties?: { status?: unknown } };
  const status = b.status ?? b.properties?.status;
  if (typeof status !== 'string' || !/^[A-Za-z]{1,64}$/.test(status)) {
    throw new HttpError(
      400,
      'status_missing',
      "A post-approval call must carry the request's status (Granted, Provisioned, Denied, TimedOut, Canceled, ...).",
      'status',
    );
  }
  return status;
}

interface Sender {
  source: string;
  /** For HMAC: the signature over the body, checked once the body is read. */
  verify?: (raw: Buffer) => void;
}

/** Checks what can be checked before reading the body: an Entra token, or the signature headers and their timestamp. */
async function authenticate(req: IncomingMessage, auth: EventsAuth, now: Date): Promise<Sender> {
  const { hmacSecret, validateToken } = auth;
  if (!hmacSecret && !validateToken) {
    throw new HttpError(
      503,
      'events_not_configured',
      'Inbound events are not configured: set EVENTS_HMAC_SECRET (a random secret of at least 32 bytes shared with the sender) for HMAC-signed events, and/or EVENTS_ALLOWED_APP_IDS (the app ids of the senders) for Entra bearer tokens.',
    );
  }
  const challenge = { 'WWW-Authenticate': [validateToken ? 'Bearer' : '', hmacSecret ? 'PIM-Bot-HMAC-SHA256' : ''].filter(Boolean).join(', ') };
  const timestamp = header(req, TIMESTAMP_HEADER);
  const signature = header(req, SIGNATURE_HEADER);
  const signed = timestamp !== undefined || signature !== undefined;
  if (req.headers.authorization !== undefined || (!signed && !hmacSecret)) {
    if (!validateToken) {
      throw new HttpError(
        401,
        'token_not_accepted',
        'Entra tokens are not accepted here: add the sending app id to EVENTS_ALLOWED_APP_IDS, or sign the event (X-PIM-Bot-Timestamp, X-PIM-Bot-Signature).',
        undefined,
        challenge,
      );
    }
    try {
      const caller = await validateToken(req.headers.authorization);
      return { source: `entra:${caller.appId}` };
    } catch (err) {
      if (!(err instanceof PimTokenError)) throw err;
      throw tokenRefusal(err, err.check === 'caller' ? 'The calling app may not send events; add its app id to EVENTS_ALLOWED_APP_IDS.' : err.message);
    }
  }
  if (!hmacSecret) {
    throw new HttpError(
      401,
      'hmac_not_accepted',
      'HMAC-signed events are not accepted here: set EVENTS_HMAC_SECRET, or send an Entra bearer token from an app in EVENTS_ALLOWED_APP_IDS.',
      undefined,
      challenge,
    );
  }
  try {
    const checked = checkSignatureHeaders(timestamp, signature, now);
    return { source: 'hmac', verify: (raw) => verifySignature(hmacSecret, checked, raw) };
  } catch (err) {
    throw signatureRefusal(err, challenge);
  }
}

function signatureRefusal(err: unknown, headers?: Record<string, string>): unknown {
  return err instanceof EventSignatureError
    ? new HttpError(401, `hmac_${err.check}`, err.message, undefined, headers ?? { 'WWW-Authenticate': 'PIM-Bot-HMAC-SHA256' })
    : err;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function failure(err: unknown, log: Logger, what: string): HttpResult {
  if (err instanceof HttpError) {
    log.warn({ status: err.status, code: err.code, field: err.field }, `${what} rejected`);
    return errorResult(err);
  }
  log.error({ err: { message: (err as Error).message } }, `${what} failed`);
  return { status: 500, body: { error: { code: 'internal', message: 'The event could not be processed; send it again with the same eventId.' } } };
}

function eventRow(event: Pick<InboundEvent, 'eventId' | 'type' | 'occurredAt' | 'request' | 'outcome'>, source: string, at: Date) {
  return {
    event_id: event.eventId,
    type: event.type,
    source,
    pim_request_id: event.request.pimRequestId,
    request_key: event.request.requestKey,
    outcome: event.outcome ?? null,
    occurred_at: new Date(event.occurredAt).toISOString(),
    received_at: at.toISOString(),
    result: null,
  };
}

interface Applied {
  result: string;
  http: HttpResult;
}

/** Claims the event id (the insert that wins processes it), then applies it; a failure gives the claim back for the retry. */
async function applyEvent(event: InboundEvent, source: string, deps: EventDeps): Promise<HttpResult> {
  const at = (deps.now ?? (() => new Date()))();
  const log = deps.log.child({ eventId: event.eventId, eventType: event.type, source, pimRequestId: event.request.pimRequestId });
  if (!(await deps.store.events.claim(eventRow(event, source, at)))) {
    log.info('duplicate event ignored');
    return { status: 200, body: { status: 'duplicate', eventId: event.eventId } };
  }
  try {
    const applied = event.type === 'escalation' ? await escalate(event, at, deps, log) : await applyPostApproval(event, deps, log);
    await deps.store.events.setResult(event.eventId, applied.result);
    log.info({ result: applied.result }, 'event applied');
    return applied.http;
  } catch (err) {
    await deps.store.events.release(event.eventId).catch(() => undefined);
    throw err;
  }
}

/** An escalation: a human must decide. The same pending request and card as an `Approved` evaluation. */
async function escalate(event: InboundEvent, at: Date, deps: EventDeps, log: Logger): Promise<Applied> {
  const { request } = event;
  if (!needsApprovalCard(request)) {
    return recorded('not_supported', event.eventId, `No approval card for ${request.kind} requests in this version; the event is recorded.`);
  }
  const evaluationId = randomUUID();
  const reasons = event.reasons?.length ? event.reasons : ['The decision service escalated this request for human review.'];
  const { row, created } = await deps.store.requests.insertEscalated(
    // Decided by the customer's own service, not by our rules.
    newEvaluationRow(request, { evaluationId, outcome: 'Approved', wouldBe: 'Approved', mode: 'external', reasons, checks: [], latencyMs: 0, at }),
    newApprovalRequestRow(request, { id: randomUUID(), evaluationId, riskFlags: ['Escalated'], reasons, at }),
  );
  if (!created) {
    log.info({ requestId: row.id, status: row.status }, 'escalation for a request already tracked; no second card');
    return {
      result: 'already_tracked',
      http: { status: 200, body: { status: 'already_tracked', eventId: event.eventId, requestId: row.id, requestStatus: row.status } },
    };
  }
  deps.delivery.kick(() => deps.delivery.postCards(row.id));
  return { result: 'escalated', http: { status: 200, body: { status: 'escalated', eventId: event.eventId, requestId: row.id } } };
}

/** A post-approval event: close our copy of the request (compare-and-swap), refresh every card copy, tell the requester. */
async function applyPostApproval(event: InboundEvent, deps: EventDeps, log: Logger): Promise<Applied> {
  const outcome = event.outcome!;
  let row = await deps.store.requests.byPimId(approvalKeyOf(event.request));
  if (!row) return recorded('recorded', event.eventId, 'No approval request for this PIM request here; the event is recorded.');

  let applied = false;
  let plan = planPostApproval(row.status as RequestStatus, outcome);
  for (let attempt = 1; plan.kind === 'update'; attempt++) {
    const patch = closingPatch(event);
    const closed = requestClosedEntry(
      row,
      { status: plan.next, source: 'event', decidedBy: patch.decided_by_id, justification: patch.decision_justification, eventId: event.eventId },
      new Date(patch.decided_at),
    );
    const updated = await deps.store.requests.transition(row, plan.event, patch, [closed]);
    if (updated) {
      row = updated;
      applied = true;
      break;
    }
    if (attempt >= CAS_ATTEMPTS) throw new Error(`request ${row.id} kept changing; gave up after ${CAS_ATTEMPTS} attempts`);
    row = (await deps.store.requests.get(row.id)) as ApprovalRequestRow;
    plan = planPostApproval(row.status as RequestStatus, outcome);
  }

  const requestId = row.id;
  const news = { outcome, activeUntil: activeUntilOf(event.request, event.occurredAt, event.activeUntil) };
  if (applied) {
    deps.delivery.kick(() => deps.delivery.refreshCopies(requestId));
    deps.delivery.kick(() => deps.delivery.notifyRequester(requestId, news));
    return { result: 'applied', http: { status: 200, body: { status: 'applied', eventId: event.eventId, requestId, requestStatus: row.status } } };
  }
  if (plan.kind === 'same') {
    // Approved from the card, then PIM reports the activation: the news is when the access ends.
    if (outcome === 'activated') deps.delivery.kick(() => deps.delivery.notifyRequester(requestId, news));
    return { result: 'same', http: { status: 200, body: { status: 'unchanged', eventId: event.eventId, requestId, requestStatus: row.status } } };
  }
  log.warn({ requestId, status: row.status, outcome }, 'post-approval event disagrees with the recorded outcome; the first outcome stands');
  return {
    result: 'conflict',
    http: {
      status: 200,
      body: {
        status: 'already_closed',
        eventId: event.eventId,
        requestId,
        requestStatus: row.status,
        message: `The request was already ${row.status}; the event is recorded and changes nothing.`,
      },
    },
  };
}

function closingPatch(event: InboundEvent) {
  const by = event.decidedBy;
  return {
    decided_by_id: by ? (/^[0-9a-f-]{36}$/i.test(by.id) ? by.id.toLowerCase() : by.id) : null,
    decided_by_upn: by?.userPrincipalName ?? null,
    decided_by_name: by ? (by.displayName ?? by.userPrincipalName ?? by.id) : null,
    decided_at: new Date(event.occurredAt).toISOString(),
    decision_justification: event.justification ?? null,
    claimed_by: null,
    claimed_at: null,
    claimed_result: null,
  };
}

function recorded(result: string, eventId: string, message: string): Applied {
  return { result, http: { status: 202, body: { status: 'recorded', eventId, message } } };
}
