import { randomUUID } from 'node:crypto';
import type { SimContext, SimApp } from './context';
import { GRAPH_APP_ID, GRAPH_RESOURCE, ssoResource } from './context';
import { formBody, json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { Claims } from './tokens';
import { DEVICE_CODE_GRANT, deviceCodeToken } from './device-code';
import { registerEntraAuthorize, SPA_GRANTS, spaToken, withSpaCors } from './entra-authorize';

const OBO_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Entra's OAuth error body: the AADSTS code leads the description, as clients and logs expect. */
export function entraError(
  status: number,
  error: string,
  aadsts: number,
  description: string,
  req?: SimRequest,
  extra: Record<string, unknown> = {},
): SimResponse {
  const traceId = req?.requestId ?? randomUUID();
  return json(status, {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${req?.clientRequestId ?? traceId} Timestamp: ${new Date().toISOString()}`,
    error_codes: [aadsts],
    timestamp: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
    trace_id: traceId,
    correlation_id: req?.clientRequestId ?? traceId,
    ...extra,
  });
}

/**
 * The authentication contexts a `claims` request parameter demands of the access token
 * (`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`, or `values: [...]`, any one of which
 * satisfies it). Undefined when the claims ask for no acrs; 'invalid' when they are not JSON.
 */
export function requestedAcrs(claims: string): string[] | undefined | 'invalid' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    return 'invalid';
  }
  if (!parsed || typeof parsed !== 'object') return 'invalid';
  const acrs = (parsed as { access_token?: { acrs?: { value?: unknown; values?: unknown } } }).access_token?.acrs;
  if (!acrs || typeof acrs !== 'object') return undefined;
  const values = [
    ...(typeof acrs.value === 'string' ? [acrs.value] : []),
    ...(Array.isArray(acrs.values) ? acrs.values.filter((v): v is string => typeof v === 'string') : []),
  ];
  return values.length ? values : undefined;
}

function resourceOfScope(scope: string): { resource: string; permission: string } {
  if (scope === GRAPH_APP_ID || scope.startsWith(`${GRAPH_APP_ID}/`)) {
    return { resource: GRAPH_RESOURCE, permission: scope.slice(GRAPH_APP_ID.length + 1) };
  }
  const i = scope.lastIndexOf('/');
  if (i <= 0 || !scope.includes('://')) return { resource: GRAPH_RESOURCE, permission: scope };
  return { resource: scope.slice(0, i), permission: scope.slice(i + 1) };
}

export function registerEntra(spaRouter: Router, ctx: SimContext): void {
  // Single-page apps sign in with the authorization code flow (sim/entra-authorize.ts) and call the metadata,
  // keys and token endpoints below cross-origin: each answers CORS for their origins.
  registerEntraAuthorize(spaRouter, ctx);
  const router = withSpaCors(spaRouter, ctx);
  const t = (tenant: string) => tenant.toLowerCase() === ctx.tenantId.toLowerCase() || tenant === 'organizations';
  const issuerFor = (req: SimRequest) => `${req.origin}/${ctx.tenantId}/v2.0`;

  router.add('GET', '/:tenant/v2.0/.well-known/openid-configuration', (req, p) => {
    if (!t(p.tenant)) return entraError(400, 'invalid_tenant', 90002, `Tenant '${p.tenant}' not found.`, req);
    const base = `${req.origin}/${ctx.tenantId}`;
    return json(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: issuerFor(req),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${req.origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
  });

  router.add('GET', '/:tenant/discovery/v2.0/keys', (req, p) => {
    if (!t(p.tenant)) return entraError(400, 'invalid_tenant', 90002, `Tenant '${p.tenant}' not found.`, req);
    return json(200, ctx.tokens.jwks());
  });
  // Some validators fetch the tenant-less keys URL.
  router.add('GET', '/common/discovery/v2.0/keys', () => json(200, ctx.tokens.jwks()));

  router.add('POST', '/:tenant/oauth2/v2.0/token', async (req, p) => {
    if (!t(p.tenant)) return entraError(400, 'invalid_request', 90002, `Tenant '${p.tenant}' not found.`, req);
    const form = formBody(req);
    const grant = form.get('grant_type');
    // A public client (no secret) polling for an admin's device code sign-in: `npm run onboard`.
    // MSAL sends the short form `device_code`; RFC 8628 names the URN. Entra takes both.
    if (grant === DEVICE_CODE_GRANT || grant === 'device_code') return deviceCodeToken(ctx, req);
    // A single-page app (public client, PKCE) redeeming a code or a refresh token.
    if (SPA_GRANTS.has(grant ?? '')) return spaToken(ctx, req);
    const basic = basicAuth(req);
    const clientId = form.get('client_id') ?? basic?.id ?? '';
    const secret = form.get('client_secret') ?? basic?.secret;
    const app = ctx.apps.find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
    if (!clientId) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.", req);
    if (!app) {
      return entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${ctx.state.seed.tenantDisplayName}'.`,
        req,
      );
    }
    if (form.has('client_assertion')) {
      return entraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation: the simulator only knows client secrets.', req);
    }
    if (!secret)
      return entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", req);
    if (secret !== app.clientSecret) {
      return entraError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
        req,
      );
    }
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (grant === 'client_credentials') return clientCredentials(req, app, scopes);
    if (grant === OBO_GRANT && form.get('requested_token_use') === 'on_behalf_of')
      return onBehalfOf(req, app, scopes, form.get('assertion') ?? '', form.get('claims'));
    return entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`, req);
  });

  async function clientCredentials(req: SimRequest, app: SimApp, scopes: string[]): Promise<SimResponse> {
    const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (resourceScopes.length !== 1 || !resourceScopes[0]!.endsWith('/.default')) {
      return entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        req,
      );
    }
    const { resource } = resourceOfScope(resourceScopes[0]!);
    const roles = app.appRoles[resource] ?? [];
    const claims: Claims = {
      aud: resource,
      iss: issuerFor(req),
      tid: ctx.tenantId,
      sub: app.servicePrincipalId,
      oid: app.servicePrincipalId,
      azp: app.clientId,
      appid: app.clientId,
      azpacr: '1',
      appidacr: '1',
      idtyp: 'app',
      ver: '2.0',
      ...(roles.length ? { roles } : {}),
    };
    req.caller = { oid: app.servicePrincipalId, appid: app.clientId };
    return tokenResponse(await ctx.tokens.sign(claims));
  }

  async function onBehalfOf(req: SimRequest, app: SimApp, scopes: string[], assertion: string, claimsParam: string | null): Promise<SimResponse> {
    if (!assertion) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'assertion'.", req);
    const v = await ctx.tokens.verify(assertion, {
      issuers: ctx.acceptedIssuers(req.origin),
      audiences: [ssoResource(app.clientId), app.clientId],
    });
    if (!v.ok) {
      switch (v.reason) {
        case 'expired':
          return entraError(400, 'invalid_grant', 500133, `Assertion is not within its valid time range. ${v.message}`, req);
        case 'audience':
          return entraError(
            400,
            'invalid_grant',
            50013,
            `Assertion failed signature validation. [Reason - The key was not found or the assertion audience does not match the client app presenting the assertion. ${v.message}]`,
            req,
          );
        default:
          return entraError(400, 'invalid_grant', 50013, `Assertion failed signature validation. [Reason - ${v.message}]`, req);
      }
    }
    const user = ctx.state.user(String(v.claims.oid ?? ''));
    if (!user) return entraError(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.', req);
    if (!user.accountEnabled) return entraError(400, 'invalid_grant', 50057, 'The user account is disabled.', req);
    const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (resourceScopes.length === 0) return entraError(400, 'invalid_scope', 70011, 'The provided request must include a resource scope.', req);
    const resources = new Set(resourceScopes.map((s) => resourceOfScope(s).resource));
    if (resources.size > 1)
      return entraError(
        400,
        'invalid_scope',
        28000,
        'Provided value for the input parameter scope is not valid because it contains more than one resource.',
        req,
      );
    const resource = [...resources][0]!;
    const consented = app.delegatedScopes[resource] ?? [];
    const asked = resourceScopes.map((s) => resourceOfScope(s).permission);
    const granted = asked.includes('.default') ? consented : asked.filter((s) => consented.includes(s));
    const missing = asked.filter((s) => s !== '.default' && !consented.includes(s));
    if (missing.length > 0 || granted.length === 0) {
      return entraError(
        400,
        'invalid_grant',
        65001,
        `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`,
        req,
      );
    }
    const assertedAcrs = Array.isArray(v.claims.acrs) ? (v.claims.acrs as unknown[]).map(String) : [];
    if (claimsParam) {
      const wanted = requestedAcrs(claimsParam);
      if (wanted === 'invalid') {
        return entraError(400, 'invalid_request', 90013, 'Invalid input received from the user: the claims parameter is not valid JSON.', req);
      }
      // A step-up the user has not done: the sign-in behind the assertion lacks the authentication
      // context. Entra answers interaction_required and hands the claims back for the interactive request.
      if (wanted && !wanted.some((a) => assertedAcrs.includes(a))) {
        return entraError(
          400,
          'interaction_required',
          50076,
          `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resource}'.`,
          req,
          { claims: claimsParam },
        );
      }
    }
    const claims: Claims = {
      aud: resource,
      iss: issuerFor(req),
      tid: ctx.tenantId,
      sub: `sub-${user.id}`,
      oid: user.id,
      upn: user.userPrincipalName,
      preferred_username: user.userPrincipalName,
      unique_name: user.userPrincipalName,
      name: user.displayName,
      given_name: user.givenName,
      family_name: user.surname,
      azp: app.clientId,
      appid: app.clientId,
      azpacr: '1',
      idtyp: 'user',
      scp: granted.join(' '),
      amr: Array.isArray(v.claims.amr) ? v.claims.amr : ['pwd'],
      ...(assertedAcrs.length ? { acrs: assertedAcrs } : {}),
      ver: '2.0',
    };
    req.caller = { oid: user.id, appid: app.clientId };
    return tokenResponse(await ctx.tokens.sign(claims));
  }
}

function tokenResponse(accessToken: string): SimResponse {
  return json(
    200,
    { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken },
    {
      'Cache-Control': 'no-store, no-cache',
      Pragma: 'no-cache',
    },
  );
}

function basicAuth(req: SimRequest): { id: string; secret: string } | undefined {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return undefined;
  const raw = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return undefined;
  return { id: decodeURIComponent(raw.slice(0, i)), secret: decodeURIComponent(raw.slice(i + 1)) };
}
