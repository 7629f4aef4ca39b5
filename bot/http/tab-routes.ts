import type { Logger } from 'pino';
import type { ProvenUser, UserTokenVerifier } from '../../services/auth/user-token';
import type { TabAccess } from '../../services/tab/tab-access';
import { pageQuery, type TabApi, TabError, tabCaller } from '../../services/tab/tab-api';
import type { TabDashboard } from '../../services/tab/tab-dashboard';
import type { TabHistory } from '../../services/tab/tab-history';
import { errorResult, HttpError, type HttpResult } from './http-body';
import type { BotHttpServer, BotRequest, BotResponse } from './http-server';

/** A decision body is a few hundred bytes; the justification is at most 2000 characters. */
const MAX_DECISION_BYTES = 16 * 1024;
/** The access actions' bodies: a key, a justification of at most 500 characters, a ticket. */
const MAX_ACTION_BYTES = 16 * 1024;

/**
 * The PIM tab's JSON API. Every route is
 * authenticated with the Teams SSO token the tab sends as a Bearer token, checked before a body is read:
 *   GET  /api/tab/approvals                          requests awaiting the caller's approval (?limit, ?cursor)
 *   GET  /api/tab/requests                           the caller's own requests (?limit, ?cursor)
 *   POST /api/tab/approvals/:requestId/decision      {reviewResult, justification, version}: the card's decision flow
 *   GET  /api/tab/me                                 who the caller is, isAdmin, their time zone
 *   POST /api/tab/requests/:requestId/remind         the requester's "remind approvers" (rate-limited by the ladder)
 *   POST /api/tab/requests/:requestId/cancel         the chat's cancel, as the requester
 *   GET  /api/tab/access                             eligible, active and expired assignments with their actions
 *   POST /api/tab/access/{activate,extend,renew,end} the chat's activation, selfExtend, selfRenew, selfDeactivate
 *   GET  /api/tab/history?days=                      the caller's activations and decisions (1 to 90 days)
 *   GET  /api/tab/admin/dashboard?from&to&role       admins only (TAB_ADMIN_GROUP_ID)
 *   GET  /api/tab/admin/export/:view.csv?from&to&role admins only: CSV
 * services/tab/ holds the logic (tab-access.ts, tab-history.ts, tab-dashboard.ts, tab-csv.ts).
 */
export function registerTabRoutes(
  server: BotHttpServer,
  deps: { api: TabApi; access: TabAccess; history: TabHistory; dashboard: TabDashboard; verifyUser: UserTokenVerifier; log: Logger },
): void {
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
  const requestId = (req: BotRequest) => String((req.params as Record<string, unknown> | undefined)?.requestId ?? '');

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
    async (req, res) => answer(res, () => deps.api.decide(caller(req), requestId(req), req.body, deps.log)),
    { guards: [authenticate], jsonBody: { maxBytes: MAX_DECISION_BYTES } },
  );
  const query = (req: BotRequest) => Object.fromEntries(new URL(req.url ?? '/', 'http://tab').searchParams.entries());
  server.route('GET', '/api/tab/me', async (req, res) => answer(res, async () => ({ status: 200, body: await deps.access.me(caller(req)) })), {
    guards: [authenticate],
  });
  for (const verb of ['remind', 'cancel'] as const) {
    server.route(
      'POST',
      `/api/tab/requests/:requestId/${verb}`,
      async (req, res) =>
        answer(res, async () => ({
          status: 200,
          body: verb === 'remind' ? await deps.access.remind(caller(req), requestId(req)) : await deps.access.cancel(caller(req), requestId(req), deps.log),
        })),
      { guards: [authenticate] },
    );
  }
  server.route('GET', '/api/tab/access', async (req, res) => answer(res, async () => ({ status: 200, body: await deps.access.access(caller(req)) })), {
    guards: [authenticate],
  });
  const actions = {
    activate: (req: BotRequest) => deps.access.activate(caller(req), req.body, deps.log),
    extend: (req: BotRequest) => deps.access.extend(caller(req), req.body),
    renew: (req: BotRequest) => deps.access.renew(caller(req), req.body),
    end: (req: BotRequest) => deps.access.end(caller(req), req.body, deps.log),
  };
  for (const [name, run] of Object.entries(actions)) {
    server.route('POST', `/api/tab/access/${name}`, async (req, res) => answer(res, async () => ({ status: 200, body: await run(req) })), {
      guards: [authenticate],
      jsonBody: { maxBytes: MAX_ACTION_BYTES },
    });
  }
  server.route(
    'GET',
    '/api/tab/history',
    async (req, res) => answer(res, async () => ({ status: 200, body: await deps.history.history(caller(req).user.oid, query(req)) })),
    { guards: [authenticate] },
  );
  server.route(
    'GET',
    '/api/tab/admin/dashboard',
    async (req, res) => answer(res, async () => ({ status: 200, body: await deps.dashboard.dashboard(caller(req).user.oid.toLowerCase(), query(req)) })),
    { guards: [authenticate] },
  );
  server.route(
    'GET',
    '/api/tab/admin/export/:file',
    async (req, res) => {
      const file = String((req.params as Record<string, unknown> | undefined)?.file ?? '');
      let out: { fileName: string; csv: string };
      try {
        if (!file.endsWith('.csv')) throw new TabError(404, 'unknown_view', 'Exports are named <view>.csv.', 'view');
        out = await deps.dashboard.exportCsv(caller(req).user.oid.toLowerCase(), file.slice(0, -4), query(req));
      } catch (err) {
        send(res, resultOf(err));
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${out.fileName}"`,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(out.csv);
    },
    { guards: [authenticate] },
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
