/**
 * Entra's authorization code flow with PKCE for single-page apps (RFC 6749 §4.1, RFC 7636), as MSAL's
 * browser library drives it: `GET /{tenant}/oauth2/v2.0/authorize` shows a sign-in page (the seeded users
 * to pick from; nobody types a password in the simulator), its `POST` redirects back to the app with a
 * code, and the token endpoint's `authorization_code` and `refresh_token` grants (entra.ts hands them
 * here) redeem it cross-origin: no secret, the `code_verifier` checked against the S256 challenge, the
 * redirect URI as in the authorization request, CORS for the app's origin.
 *
 * The access token for the bot's SSO scope (`api://botid-<bot id>/access_as_user`) carries the claims of
 * the token Teams SSO hands the tab (sim/user-tokens.ts), so the bot's verifier accepts it the same way.
 *
 * Faithful to Entra where a client can tell: the AADSTS codes, errors on the redirect URI once it is
 * known to be registered and on an error page before, codes single-use for 10 minutes and bound to the
 * client, redirect URI, PKCE challenge, scopes and nonce, `client_info` for MSAL's account, and a session
 * cookie so `prompt=none` signs in silently after an interactive sign-in. Loopback redirect URIs match on
 * any port (Entra ignores their port); other redirect URIs match exactly.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SimContext } from './context';
import { GRAPH_APP_ID, GRAPH_RESOURCE, ssoResource } from './context';
import { entraError } from './entra';
import { formBody, json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { DEMO_TAB_APP, type SeedUser } from './seed';
import type { SimState } from './state';
import type { Claims } from './tokens';
import { signedInUserClaims } from './user-tokens';

/** A public client registered with the single-page application platform (no secret). */
export interface SpaApp {
  clientId: string;
  displayName: string;
  /** Redirect URIs of the SPA platform; loopback ones match on any port. */
  redirectUris: readonly string[];
  /** Delegated permissions consented per resource (`aud`), without the resource prefix. */
  delegatedScopes: Record<string, readonly string[]>;
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const CODE_TTL_MS = 10 * 60 * 1000;
/** The sign-in page's transaction: as long as Entra keeps an unfinished sign-in. */
const TRANSACTION_TTL_MS = 15 * 60 * 1000;
/** Entra's refresh tokens for SPA redirect URIs live 24 hours (not renewed by use). */
const SPA_REFRESH_TTL_MS = 24 * 60 * 60 * 1000;
const SESSION_COOKIE = 'sim_estsauth';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** The SPA apps of the simulated tenant: the PIM tab of the demo, allowed the bot's SSO scope and Graph User.Read. */
export function spaApps(ctx: SimContext): SpaApp[] {
  return [
    {
      clientId: DEMO_TAB_APP.clientId,
      displayName: DEMO_TAB_APP.displayName,
      redirectUris: DEMO_TAB_APP.spaRedirectUris,
      delegatedScopes: { [ssoResource(ctx.botApp.clientId)]: ['access_as_user'], [GRAPH_RESOURCE]: ['User.Read', 'openid', 'profile', 'email'] },
    },
  ];
}

interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string;
  codeChallengeMethod: 'S256' | 'plain';
  responseMode: 'query' | 'fragment' | 'form_post';
  loginHint: string | null;
  clientInfo: boolean;
}

interface IssuedCode extends AuthorizeParams {
  userId: string;
  expiresAt: number;
}

interface RefreshGrant {
  clientId: string;
  userId: string;
  /** Every scope consented in the sign-in, fully qualified (OIDC scopes as they are). */
  scopes: string[];
  expiresAt: number;
}

interface AuthorizeStore {
  transactions: Map<string, { params: AuthorizeParams; expiresAt: number }>;
  codes: Map<string, IssuedCode>;
  /** Hashes of redeemed codes, so a replay is told apart from a made-up code (AADSTS54005). */
  redeemed: Map<string, number>;
  refreshTokens: Map<string, RefreshGrant>;
  sessions: Map<string, { userId: string; expiresAt: number }>;
}

const stores = new WeakMap<SimState, AuthorizeStore>();
function store(state: SimState): AuthorizeStore {
  let s = stores.get(state);
  if (!s) {
    s = { transactions: new Map(), codes: new Map(), redeemed: new Map(), refreshTokens: new Map(), sessions: new Map() };
    stores.set(state, s);
  }
  const now = Date.now();
  for (const m of [s.transactions, s.codes, s.refreshTokens, s.sessions] as Array<Map<string, { expiresAt: number }>>) {
    for (const [k, v] of m) if (v.expiresAt < now) m.delete(k);
  }
  for (const [k, at] of s.redeemed) if (at + CODE_TTL_MS < now) s.redeemed.delete(k);
  return s;
}

const secret = () => randomBytes(32).toString('base64url');
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Entra's redirect URI match: exact, except that a loopback URI's port is ignored. */
export function redirectUriMatches(registered: string, asked: string): boolean {
  if (registered === asked) return true;
  let r: URL;
  let a: URL;
  try {
    r = new URL(registered);
    a = new URL(asked);
  } catch {
    return false;
  }
  if (!LOOPBACK_HOSTS.has(r.hostname) || r.hostname !== a.hostname) return false;
  return r.protocol === a.protocol && r.pathname === a.pathname && r.search === a.search && !a.hash && !a.username && !a.password;
}

function registeredRedirect(app: SpaApp, uri: string): boolean {
  return app.redirectUris.some((r) => redirectUriMatches(r, uri));
}

/** The origin a browser names in `Origin` when the app's page (at a registered redirect URI) calls Entra. */
function isAppOrigin(app: SpaApp, origin: string): boolean {
  return app.redirectUris.some((r) => {
    try {
      const ro = new URL(r);
      const o = new URL(origin);
      if (o.origin !== origin) return false;
      return LOOPBACK_HOSTS.has(ro.hostname) ? ro.protocol === o.protocol && ro.hostname === o.hostname : ro.origin === o.origin;
    } catch {
      return false;
    }
  });
}

/**
 * CORS for a SPA's calls to the metadata, keys and token endpoints: the `Access-Control-Allow-*` headers
 * when `Origin` is an origin of a registered SPA redirect URI (none otherwise, so the browser refuses).
 */
export function spaCorsHeaders(ctx: SimContext, req: SimRequest): Record<string, string> {
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
  if (!origin || !spaApps(ctx).some((a) => isAppOrigin(a, origin))) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'client-request-id, request-id, x-ms-request-id', Vary: 'Origin' };
}

/** A router whose routes answer with the SPA CORS headers (entra.ts registers its metadata, keys and token routes on it). */
export function withSpaCors(router: Router, ctx: SimContext): Pick<Router, 'add'> {
  return {
    add(method, pattern, handler) {
      router.add(method, pattern, async (req, p) => {
        const res = await handler(req, p);
        return { ...res, headers: { ...(res.headers ?? {}), ...spaCorsHeaders(ctx, req) } };
      });
      return router;
    },
  };
}

/** `api://x/perm` → {resource api://x, permission perm}; Graph's short names and GUID-prefixed forms → Graph. */
function resourceOf(scope: string): { resource: string; permission: string } {
  if (scope.startsWith(`${GRAPH_APP_ID}/`)) return { resource: GRAPH_RESOURCE, permission: scope.slice(GRAPH_APP_ID.length + 1) };
  const i = scope.lastIndexOf('/');
  if (i <= 0 || !scope.includes('://')) return { resource: GRAPH_RESOURCE, permission: scope };
  return { resource: scope.slice(0, i), permission: scope.slice(i + 1) };
}

/**
 * The resource an access token is issued for and the permissions it grants: the first resource scope's
 * (Entra issues a token for one resource; Graph when only OIDC scopes are asked for). An error when a
 * scope names no registered resource or a permission the app was not granted.
 */
function grantFor(
  ctx: SimContext,
  app: SpaApp,
  scopes: string[],
): { ok: true; resource: string; permissions: string[]; responseScopes: string[] } | { ok: false; aadsts: number; error: string; message: string } {
  const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
  for (const s of resourceScopes) {
    const { resource, permission } = resourceOf(s);
    if (resource !== GRAPH_RESOURCE && resource !== ssoResource(ctx.botApp.clientId)) {
      return {
        ok: false,
        aadsts: 500011,
        error: 'invalid_resource',
        message: `The resource principal named ${resource} was not found in the tenant named ${ctx.state.seed.tenantDisplayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      };
    }
    const consented = app.delegatedScopes[resource] ?? [];
    if (permission !== '.default' && !consented.includes(permission)) {
      return {
        ok: false,
        aadsts: 65001,
        error: 'invalid_grant',
        message: `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`,
      };
    }
  }
  const resource = resourceScopes.length ? resourceOf(resourceScopes[0]!).resource : GRAPH_RESOURCE;
  const asked = resourceScopes.filter((s) => resourceOf(s).resource === resource).map((s) => resourceOf(s).permission);
  const consented = [...(app.delegatedScopes[resource] ?? [])].filter((p) => !OIDC_SCOPES.has(p));
  const permissions = asked.length === 0 ? consented.slice(0, 1) : asked.includes('.default') ? consented : asked;
  const prefix = resource === GRAPH_RESOURCE ? '' : `${resource}/`;
  const oidc = scopes.filter((s) => OIDC_SCOPES.has(s));
  return { ok: true, resource, permissions, responseScopes: [...permissions.map((p) => `${prefix}${p}`), ...oidc] };
}

/**
 * An HTML page of the simulated Entra. `formTo`: where its form may send the browser (the sign-in page's
 * POST answers with a redirect to the app, and browsers hold a form's redirects to `form-action` too).
 */
function html(status: number, title: string, body: string, headers: Record<string, string> = {}, formTo: string[] = []): SimResponse {
  return {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // The sign-in page is never framed (clickjacking), and runs no script.
      'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${["'self'", ...formTo].join(' ')}; frame-ancestors 'none'`,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      ...headers,
    },
    body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;background:#f3f2f1;color:#201f1e}main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
fieldset{border:0;padding:0;margin:1rem 0}legend{font-weight:600;margin-bottom:.5rem}label{display:block;padding:.4rem .25rem;cursor:pointer}label:focus-within{outline:2px solid #0f6cbd}
small{color:#605e5c}button{background:#0f6cbd;color:#fff;border:0;padding:.6rem 1.5rem;font-size:1rem;border-radius:4px;cursor:pointer}button:focus{outline:3px solid #201f1e;outline-offset:2px}
.err{color:#a4262c}</style></head>
<body><main>${body}</main></body></html>`,
  };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Entra's own error page: for errors it may not send to the redirect URI (unknown client, unregistered redirect URI). */
function errorPage(req: SimRequest, status: number, aadsts: number, message: string): SimResponse {
  return html(
    status,
    'Sign in: error',
    `<h1>Sorry, but we're having trouble signing you in.</h1><p class="err" role="alert">AADSTS${aadsts}: ${esc(message)}</p><p><small>Request Id: ${esc(req.requestId)}<br>Correlation Id: ${esc(req.clientRequestId)}</small></p>`,
  );
}

/** The answer to the app: a redirect with the parameters in the query or fragment, or an auto-posted form. */
function respond(redirectUri: string, mode: AuthorizeParams['responseMode'], params: Record<string, string>): SimResponse {
  if (mode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('');
    // Entra's form_post page submits itself with a script; this one asks for a click (its CSP runs no script).
    const page = html(200, 'Continue', `<form method="post" action="${esc(redirectUri)}">${inputs}<button type="submit">Continue</button></form>`);
    return { ...page, headers: { ...page.headers, 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" } };
  }
  const url = new URL(redirectUri);
  const encoded = new URLSearchParams(params).toString();
  if (mode === 'fragment') url.hash = encoded;
  else for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { status: 302, headers: { Location: url.toString(), 'Cache-Control': 'no-store' } };
}

function errorRedirect(p: Pick<AuthorizeParams, 'redirectUri' | 'responseMode' | 'state'>, error: string, aadsts: number, message: string, req: SimRequest) {
  return respond(p.redirectUri, p.responseMode, {
    error,
    error_description: `AADSTS${aadsts}: ${message} Trace ID: ${req.requestId} Correlation ID: ${req.clientRequestId} Timestamp: ${new Date().toISOString()}`,
    error_uri: `${req.origin}/error?code=${aadsts}`,
    ...(p.state !== null ? { state: p.state } : {}),
  });
}

function cookies(req: SimRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export function registerEntraAuthorize(router: Router, ctx: SimContext): void {
  const tenantOk = (t: string) => t.toLowerCase() === ctx.tenantId.toLowerCase() || t === 'organizations' || t === 'common';
  const findApp = (clientId: string) => spaApps(ctx).find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());

  /** Checks an authorization request; an error page or error redirect, or the parameters. */
  function parseAuthorize(
    req: SimRequest,
    q: URLSearchParams,
    tenant: string,
  ): { ok: false; res: SimResponse } | { ok: true; params: AuthorizeParams; prompt: string | null } {
    const fail = (res: SimResponse) => ({ ok: false as const, res });
    if (!tenantOk(tenant)) return fail(errorPage(req, 400, 90002, `Tenant '${tenant}' not found.`));
    const clientId = q.get('client_id') ?? '';
    if (!clientId) return fail(errorPage(req, 400, 900144, "The request body must contain the following parameter: 'client_id'."));
    const app = findApp(clientId);
    if (!app) {
      const confidential = ctx.apps.some((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
      return fail(
        errorPage(
          req,
          400,
          700016,
          confidential
            ? `Application with identifier '${clientId}' has no single-page application redirect URIs; the simulator serves the authorization code flow to single-page apps only.`
            : `Application with identifier '${clientId}' was not found in the directory '${ctx.state.seed.tenantDisplayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        ),
      );
    }
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!redirectUri || !registeredRedirect(app, redirectUri)) {
      return fail(
        errorPage(
          req,
          400,
          50011,
          `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
        ),
      );
    }
    const rawMode = q.get('response_mode');
    if (rawMode !== null && rawMode !== 'query' && rawMode !== 'fragment' && rawMode !== 'form_post') {
      return fail(
        errorRedirect(
          { redirectUri, responseMode: 'query', state: q.get('state') },
          'invalid_request',
          900144,
          `The response_mode '${rawMode}' is not supported.`,
          req,
        ),
      );
    }
    // Entra's default for response_type=code is query (MSAL names the mode it wants).
    const responseMode = (rawMode ?? 'query') as AuthorizeParams['responseMode'];
    const state = q.get('state');
    const back = { redirectUri, responseMode, state };
    const responseType = q.get('response_type') ?? '';
    if (!responseType)
      return fail(errorRedirect(back, 'invalid_request', 900144, "The request body must contain the following parameter: 'response_type'.", req));
    if (responseType !== 'code') {
      return fail(errorRedirect(back, 'unsupported_response_type', 700054, `response_type '${responseType}' is not enabled for the application.`, req));
    }
    const scopes = (q.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (scopes.length === 0)
      return fail(errorRedirect(back, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.", req));
    const codeChallenge = q.get('code_challenge') ?? '';
    if (!codeChallenge) {
      return fail(
        errorRedirect(back, 'invalid_request', 9002325, 'Proof Key for Code Exchange is required for cross-origin authorization code redemption.', req),
      );
    }
    const method = q.get('code_challenge_method') ?? 'plain';
    if (method !== 'S256' && method !== 'plain') {
      return fail(errorRedirect(back, 'invalid_request', 50148, `The code_challenge_method '${method}' is not supported; use S256.`, req));
    }
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(codeChallenge)) {
      return fail(errorRedirect(back, 'invalid_request', 50148, 'The code_challenge is not a valid PKCE challenge (43 to 128 unreserved characters).', req));
    }
    const grant = grantFor(ctx, app, scopes);
    if (!grant.ok)
      return fail(errorRedirect(back, grant.error === 'invalid_grant' ? 'consent_required' : 'invalid_resource', grant.aadsts, grant.message, req));
    return {
      ok: true,
      prompt: q.get('prompt'),
      params: {
        clientId: app.clientId,
        redirectUri,
        scopes,
        state,
        nonce: q.get('nonce'),
        codeChallenge,
        codeChallengeMethod: method,
        responseMode,
        loginHint: q.get('login_hint'),
        clientInfo: q.get('client_info') === '1',
      },
    };
  }

  /** The code for the signed-in user, back to the app; sets the session cookie silent sign-ins use. */
  function issueCode(req: SimRequest, params: AuthorizeParams, user: SeedUser): SimResponse {
    const s = store(ctx.state);
    const code = secret();
    s.codes.set(code, { ...params, userId: user.id, expiresAt: Date.now() + CODE_TTL_MS });
    const session = secret();
    s.sessions.set(session, { userId: user.id, expiresAt: Date.now() + SESSION_TTL_MS });
    const res = respond(params.redirectUri, params.responseMode, {
      code,
      ...(params.clientInfo ? { client_info: clientInfo(ctx, user) } : {}),
      ...(params.state !== null ? { state: params.state } : {}),
      session_state: sha256(session).slice(0, 36),
    });
    req.caller = { oid: user.id, appid: params.clientId };
    const secure = req.origin.startsWith('https:') ? '; Secure' : '';
    return { ...res, headers: { ...res.headers, 'Set-Cookie': `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=None${secure}` } };
  }

  /** Above this many users the sign-in page asks for a user name instead of listing everyone. */
  const PICK_LIST_MAX = 50;

  function signInPage(tenant: string, tx: string, params: AuthorizeParams, error?: string): SimResponse {
    const hint = params.loginHint ? ctx.state.user(params.loginHint) : undefined;
    const app = findApp(params.clientId)!;
    const users = ctx.state.seed.users;
    // Entra asks for a user name; the simulator lists the accounts to pick from, unless the tenant is a large
    // generated one (a page of 50,000 choices helps nobody): then it asks for the user name too.
    const options =
      users.length > PICK_LIST_MAX
        ? `<label for="username">Email or user name</label> <input type="text" id="username" name="username" autocomplete="username" required value="${esc(hint?.userPrincipalName ?? '')}">`
        : users
            .map((u, i) => {
              const checked = hint ? u.id === hint.id : i === 0;
              const id = `user-${i}`;
              return `<label for="${id}"><input type="radio" id="${id}" name="username" value="${esc(u.userPrincipalName)}"${checked ? ' checked' : ''}${u.accountEnabled ? '' : ' disabled'}> ${esc(u.displayName)} <small>${esc(u.userPrincipalName)}${u.accountEnabled ? '' : ' (disabled)'}</small></label>`;
            })
            .join('\n');
    // "Sign in to Contoso (simulated)": the page says it is the simulator's, whatever the tenant is called.
    const name = /\(simulated\)/i.test(ctx.state.seed.tenantDisplayName) ? ctx.state.seed.tenantDisplayName : `${ctx.state.seed.tenantDisplayName} (simulated)`;
    return html(
      error ? 400 : 200,
      `Sign in to ${name}`,
      `<h1>Sign in to ${esc(name)}</h1>
<p><strong>${esc(app.displayName)}</strong> wants to sign you in. The simulator asks for no password: pick who you are.</p>
${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/${esc(encodeURIComponent(tenant))}/oauth2/v2.0/authorize">
<input type="hidden" name="tx" value="${esc(tx)}">
<fieldset><legend>Account</legend>
${options}
</fieldset>
<button type="submit">Sign in</button>
</form>`,
      {},
      [new URL(params.redirectUri).origin],
    );
  }

  router.add('GET', '/:tenant/oauth2/v2.0/authorize', (req, p) => {
    const parsed = parseAuthorize(req, req.query, p.tenant);
    if (!parsed.ok) return parsed.res;
    const { params, prompt } = parsed;
    const s = store(ctx.state);
    const sessionId = cookies(req).get(SESSION_COOKIE);
    const session = sessionId ? s.sessions.get(sessionId) : undefined;
    const sessionUser = session ? ctx.state.user(session.userId) : undefined;
    if (prompt === 'none') {
      // Silent: only an existing sign-in (of the hinted user, when there is a hint) can answer.
      const hinted = params.loginHint ? ctx.state.user(params.loginHint) : undefined;
      if (!sessionUser?.accountEnabled || (params.loginHint && hinted?.id !== sessionUser.id)) {
        return errorRedirect(
          params,
          params.loginHint && sessionUser ? 'interaction_required' : 'login_required',
          params.loginHint && sessionUser ? 16000 : 50058,
          params.loginHint && sessionUser
            ? 'Either multiple user identities are available for the current request or selected account is not supported for the scenario.'
            : 'A silent sign-in request was sent but no user is signed in.',
          req,
        );
      }
      return issueCode(req, params, sessionUser);
    }
    if (prompt !== null && !['login', 'select_account', 'consent', 'create'].includes(prompt)) {
      return errorRedirect(params, 'invalid_request', 90023, `The prompt value '${prompt}' is not supported.`, req);
    }
    const tx = secret();
    s.transactions.set(tx, { params, expiresAt: Date.now() + TRANSACTION_TTL_MS });
    return signInPage(p.tenant, tx, params);
  });

  router.add('POST', '/:tenant/oauth2/v2.0/authorize', (req, p) => {
    if (!tenantOk(p.tenant)) return errorPage(req, 400, 90002, `Tenant '${p.tenant}' not found.`);
    // A form posted from another site is refused (the transaction id already binds the post to this page).
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== 'null' && origin !== req.origin) {
      return errorPage(req, 403, 90015, 'The sign-in form was posted from another site.');
    }
    const form = formBody(req);
    const s = store(ctx.state);
    const tx = form.get('tx') ?? '';
    const pending = s.transactions.get(tx);
    if (!pending) return errorPage(req, 400, 50058, 'The sign-in session is not valid or has expired. Start the sign-in from the application again.');
    const user = ctx.state.user(form.get('username') ?? undefined);
    if (!user) return signInPage(p.tenant, tx, pending.params, 'Pick an account of this tenant.');
    if (!user.accountEnabled) return signInPage(p.tenant, tx, pending.params, `AADSTS50057: The user account ${user.userPrincipalName} is disabled.`);
    s.transactions.delete(tx);
    return issueCode(req, pending.params, user);
  });

  // CORS preflight of a SPA's calls (MSAL's token requests carry no custom header, but other SPAs' do).
  for (const path of ['/:tenant/oauth2/v2.0/token', '/:tenant/v2.0/.well-known/openid-configuration', '/:tenant/discovery/v2.0/keys']) {
    router.add('OPTIONS', path, (req) => {
      const cors = spaCorsHeaders(ctx, req);
      if (!cors['Access-Control-Allow-Origin']) return { status: 204 };
      const asked = req.headers['access-control-request-headers'];
      return {
        status: 204,
        headers: {
          ...cors,
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': typeof asked === 'string' && asked ? asked : 'content-type',
          'Access-Control-Max-Age': '86400',
        },
      };
    });
  }
}

function clientInfo(ctx: SimContext, user: SeedUser): string {
  return Buffer.from(JSON.stringify({ uid: user.id, utid: ctx.tenantId })).toString('base64url');
}

/** The grants of the token endpoint this module answers (entra.ts hands them here before its client-secret checks). */
export const SPA_GRANTS = new Set(['authorization_code', 'refresh_token']);

/** `authorization_code` and `refresh_token` at the token endpoint, for the SPA apps (public clients, cross-origin). */
export async function spaToken(ctx: SimContext, req: SimRequest): Promise<SimResponse> {
  const form = formBody(req);
  const grant = form.get('grant_type') ?? '';
  const clientId = form.get('client_id') ?? '';
  if (!clientId) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.", req);
  const app = spaApps(ctx).find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
  if (!app) {
    return entraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.state.seed.tenantDisplayName}', or has no single-page application redirect URIs (the simulator serves the ${grant} grant to single-page apps only).`,
      req,
    );
  }
  if (form.has('client_secret') || form.has('client_assertion')) {
    return entraError(401, 'invalid_client', 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", req);
  }
  // Tokens for SPA redirect URIs are redeemed by the browser, cross-origin, from the app's own origin.
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : '';
  if (!origin)
    return entraError(
      400,
      'invalid_request',
      9002327,
      "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
      req,
    );
  if (!isAppOrigin(app, origin)) {
    return entraError(
      400,
      'invalid_request',
      9002326,
      `Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type; origin '${origin}' is not one of the application's redirect URIs.`,
      req,
    );
  }
  const s = store(ctx.state);
  if (grant === 'authorization_code') {
    const code = form.get('code') ?? '';
    if (!code) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code'.", req);
    const issued = s.codes.get(code);
    if (!issued) {
      if (s.redeemed.has(sha256(code))) {
        return entraError(
          400,
          'invalid_grant',
          54005,
          'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
          req,
        );
      }
      return entraError(
        400,
        'invalid_grant',
        70008,
        'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
        req,
      );
    }
    // One attempt per code, as Entra: a failed redemption spends it too.
    s.codes.delete(code);
    s.redeemed.set(sha256(code), Date.now());
    if (issued.clientId.toLowerCase() !== app.clientId.toLowerCase()) {
      return entraError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed: the authorization code was issued to another client.', req);
    }
    const redirectUri = form.get('redirect_uri') ?? '';
    if (redirectUri !== issued.redirectUri) {
      return entraError(
        400,
        'invalid_grant',
        500112,
        `The reply address '${redirectUri}' does not match the reply address '${issued.redirectUri}' provided when requesting Authorization code.`,
        req,
      );
    }
    const verifier = form.get('code_verifier') ?? '';
    if (!verifier) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'code_verifier'.", req);
    const computed = issued.codeChallengeMethod === 'S256' ? sha256(verifier) : verifier;
    if (computed !== issued.codeChallenge) {
      return entraError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.', req);
    }
    const user = ctx.state.user(issued.userId);
    if (!user?.accountEnabled) return entraError(400, 'invalid_grant', 50057, 'The user account is disabled.', req);
    // The token is for the scopes the code was issued for (a `scope` on the redemption names no more than those).
    return tokens(ctx, req, app, user, issued.scopes, issued.nonce, form.get('client_info') === '1' || issued.clientInfo);
  }
  if (grant === 'refresh_token') {
    const rt = form.get('refresh_token') ?? '';
    if (!rt) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'refresh_token'.", req);
    const held = s.refreshTokens.get(rt);
    if (!held)
      return entraError(
        400,
        'invalid_grant',
        700084,
        'The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.',
        req,
      );
    if (held.clientId.toLowerCase() !== app.clientId.toLowerCase()) {
      return entraError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed: the refresh token was issued to another client.', req);
    }
    const user = ctx.state.user(held.userId);
    if (!user?.accountEnabled) return entraError(400, 'invalid_grant', 50057, 'The user account is disabled.', req);
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    return tokens(ctx, req, app, user, scopes.length ? scopes : held.scopes, null, form.get('client_info') === '1', held.expiresAt);
  }
  return entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`, req);
}

async function tokens(
  ctx: SimContext,
  req: SimRequest,
  app: SpaApp,
  user: SeedUser,
  scopes: string[],
  nonce: string | null,
  withClientInfo: boolean,
  refreshExpiresAt?: number,
): Promise<SimResponse> {
  const grant = grantFor(ctx, app, scopes);
  if (!grant.ok) return entraError(400, grant.error === 'invalid_resource' ? 'invalid_resource' : 'invalid_grant', grant.aadsts, grant.message, req);
  const common: Claims = signedInUserClaims(ctx, req.origin, user);
  // The claims of the token Teams SSO hands the tab (sim/user-tokens.ts), with this app as the client.
  const accessToken = await ctx.tokens.sign({
    ...common,
    aud: grant.resource,
    upn: user.userPrincipalName,
    azp: app.clientId,
    azpacr: '0',
    scp: grant.permissions.join(' '),
    idtyp: 'user',
    amr: ['pwd', 'mfa'],
  });
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: grant.responseScopes.join(' '),
    expires_in: 3599,
    ext_expires_in: 3599,
    access_token: accessToken,
  };
  if (scopes.includes('openid')) {
    body.id_token = await ctx.tokens.sign({
      ...common,
      aud: app.clientId,
      sub: `sub-${user.id}-${app.clientId}`,
      auth_time: Math.floor(Date.now() / 1000),
      ...(nonce ? { nonce } : {}),
    });
  }
  if (scopes.includes('offline_access')) {
    const rt = secret();
    const expiresAt = refreshExpiresAt ?? Date.now() + SPA_REFRESH_TTL_MS;
    store(ctx.state).refreshTokens.set(rt, { clientId: app.clientId, userId: user.id, scopes, expiresAt });
    body.refresh_token = rt;
    body.refresh_token_expires_in = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  }
  if (withClientInfo) body.client_info = clientInfo(ctx, user);
  req.caller = { oid: user.id, appid: app.clientId };
  return json(200, body, { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache', ...spaCorsHeaders(ctx, req) });
}
