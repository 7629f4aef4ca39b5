import type { Logger } from 'pino';
import type { ProvenUser, UserTokenVerifier } from '../../services/auth/user-token';
import { pageQuery, type TabApi, TabError, tabCaller } from '../../services/tab/tab-api';
import { errorResult, HttpError, type HttpResult } from './http-body';
import type { BotHttpServer, BotRequest, BotResponse } from './http-server';

/** A decision body is a few hundred bytes; the justification is at most 2000 characters. */
const MAX_DECISION_BYTES = 16 * 1024;

/**
 * The PIM tab's JSON API (issue 23, first slice; services/tab/tab-api.ts holds the logic). Every route is
 * authenticated with the Teams SSO token the tab sends as a Bearer token, checked before a body is read:
 *   GET  /api/tab/approvals                          requests awaiting the caller's approval (?limit, ?cursor)
 *   GET  /api/tab/requests                           the caller's own requests (?limit, ?cursor)
 *   POST /api/tab/approvals/:requestId/decision      {reviewResult, justification, version}: the card's decision flow
 */
export function registerTabRoutes(server: BotHttpServer, deps: { api: TabApi; verifyUser: UserTokenVerifier; log: Logger }): void {
  const callers = new WeakMap<BotRequest, { user: ProvenUser; token: string }>();
  const authenticate = async (req: BotRequest) => {
    try {
      callers.set(req, await tabCaller(deps.verifyUser, req.headers.authorization));
    } catch (err) {
      // The check that failed, never the token.
      if (err instanceof TabError) deps.log.warn({ route: req.path(), status: err.status, code: err.code }, 'tab call refused: token not accepted');
      throw toHttp(err);
    }
  };
  const caller = (req: BotRequest) => callers.get(req)!;

  server.route(
    'GET',
    '/api/tab/approvals',
    async (req, res) => answer(res, async () => ({ status: 200, body: await deps.api.awaiting(caller(req).user.oid, readPage(req)) })),
    { guards: [authenticate] },
  );
  server.route(
    'GET',
    '/api/tab/requests',
    async (req, res) => answer(res, async () => ({ status: 200, body: await deps.api.mine(caller(req).user.oid, readPage(req)) })),
    { guards: [authenticate] },
  );
  server.route(
    'POST',
    '/api/tab/approvals/:requestId/decision',
    async (req, res) =>
      answer(res, () => deps.api.decide(caller(req), String((req.params as Record<string, unknown> | undefined)?.requestId ?? ''), req.body, deps.log)),
    { guards: [authenticate], jsonBody: { maxBytes: MAX_DECISION_BYTES } },
  );
}

/** Sends the route's answer, or the refusal it threw (an HttpError or TabError as JSON; anything else to the server's 500). */
async function answer(res: BotResponse, run: () => Promise<HttpResult>): Promise<void> {
  let result: HttpResult;
  try {
    result = await run();
  } catch (err) {
    result = resultOf(err);
  }
  send(res, result);
}

function readPage(req: BotRequest) {
  const query = new URL(req.url ?? '/', 'http://tab').searchParams;
  const parsed = pageQuery.safeParse(Object.fromEntries([...query.entries()].filter(([k]) => k === 'limit' || k === 'cursor')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, 'invalid_query', `${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'));
  }
  return parsed.data;
}

function toHttp(err: unknown): unknown {
  if (!(err instanceof TabError)) return err;
  const headers = err.status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : undefined;
  return new HttpError(err.status, err.code, err.message, err.field, headers);
}

/** A TabError as its JSON answer (the error, and the request's state when there is one); anything else is rethrown. */
function resultOf(err: unknown): HttpResult {
  const http = toHttp(err);
  if (!(http instanceof HttpError)) throw err;
  const result = errorResult(http);
  return err instanceof TabError ? { ...result, body: { ...(result.body as object), ...err.extra } } : result;
}

function send(res: BotResponse, result: HttpResult): void {
  res.header('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(result.headers ?? {})) res.header(k, v);
  res.send(result.status, result.body);
}
