/**
 * Entra's device authorization grant (RFC 8628) as `/{tenant}/oauth2/v2.0/devicecode` and the
 * `urn:ietf:params:oauth:grant-type:device_code` token grant, for `npm run onboard`. Nobody types a code
 * into a browser here: `POST /_sim/entra/device/approve {userCode, user}` completes the sign-in as a
 * seeded user (the test and the demo call it), optionally with fewer scopes than were asked for, the way
 * an administrator who declines part of the consent would.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SimContext } from './context';
import { GRAPH_RESOURCE } from './context';
import { entraError } from './entra';
import { formBody, json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SimState } from './state';
import { signedInUserClaims } from './user-tokens';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * Public clients that may start a device code flow: Microsoft Graph Command Line Tools (the onboarding
 * CLI's default) and Azure CLI.
 */
export const PUBLIC_CLIENTS: Record<string, string> = {
  '14d82eec-204b-4c2f-b7e8-296a70dab67e': 'Microsoft Graph Command Line Tools',
  '04b07795-8ddb-461a-bbee-02f9e1bf7b46': 'Microsoft Azure CLI',
};

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/** Short in the simulator so a test's first poll succeeds (Entra answers 5). */
const POLL_INTERVAL_SECONDS = 1;
const EXPIRES_IN_SECONDS = 900;

interface PendingDevice {
  deviceCode: string;
  userCode: string;
  clientId: string;
  /** Graph permissions asked for (without the resource prefix). */
  scopes: string[];
  expiresAt: number;
  approved?: { userId: string; scopes: string[] };
  declined?: boolean;
}

const pendingByState = new WeakMap<SimState, Map<string, PendingDevice>>();
function pending(state: SimState): Map<string, PendingDevice> {
  let m = pendingByState.get(state);
  if (!m) {
    m = new Map();
    pendingByState.set(state, m);
  }
  return m;
}

/** `https://graph.microsoft.com/X` or `X` → `X`; undefined for another resource. */
function graphPermission(scope: string): string | undefined {
  if (scope.startsWith(`${GRAPH_RESOURCE}/`)) return scope.slice(GRAPH_RESOURCE.length + 1);
  if (scope.startsWith('00000003-0000-0000-c000-000000000000/')) return scope.split('/')[1];
  return scope.includes('://') ? undefined : scope;
}

function userCode(): string {
  // Entra's user codes are 9 characters of upper-case letters and digits without look-alikes.
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(9)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function registerDeviceCode(router: Router, ctx: SimContext): void {
  const tenantOk = (t: string) => t.toLowerCase() === ctx.tenantId.toLowerCase() || t === 'organizations';

  router.add('POST', '/:tenant/oauth2/v2.0/devicecode', (req, p) => {
    if (!tenantOk(p.tenant)) return entraError(400, 'invalid_tenant', 90002, `Tenant '${p.tenant}' not found.`, req);
    const form = formBody(req);
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    if (!clientId) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.", req);
    if (!PUBLIC_CLIENTS[clientId]) {
      return entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${ctx.state.seed.tenantDisplayName}', or is not a public client that may use the device code flow.`,
        req,
      );
    }
    const requested = (form.get('scope') ?? '').split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
    const perms = requested.map(graphPermission);
    if (requested.length === 0 || perms.some((x) => !x)) {
      return entraError(
        400,
        'invalid_scope',
        70011,
        "The provided value for the input parameter 'scope' is not valid: ask for Microsoft Graph permissions only.",
        req,
      );
    }
    const d: PendingDevice = {
      deviceCode: randomBytes(32).toString('base64url'),
      userCode: userCode(),
      clientId,
      scopes: perms.filter((x): x is string => !!x && x !== '.default'),
      expiresAt: Date.now() + EXPIRES_IN_SECONDS * 1000,
    };
    pending(ctx.state).set(d.deviceCode, d);
    const verificationUri = `${req.origin}/_sim/entra/device`;
    return json(200, {
      user_code: d.userCode,
      device_code: d.deviceCode,
      verification_uri: verificationUri,
      expires_in: EXPIRES_IN_SECONDS,
      interval: POLL_INTERVAL_SECONDS,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${d.userCode} to authenticate.`,
    });
  });

  router.add('GET', '/_sim/entra/device', () => ({
    status: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    body: '<!doctype html><title>Simulated device sign-in</title><p>Sign-in is simulated: POST /_sim/entra/device/approve {"userCode": "...", "user": "admin UPN"}.</p>',
  }));

  router.add('POST', '/_sim/entra/device/approve', (req) => {
    const b = jsonBody<Record<string, unknown>>(req) ?? {};
    const code = typeof b.userCode === 'string' ? b.userCode.trim().toUpperCase() : '';
    const d = [...pending(ctx.state).values()].find((x) => x.userCode === code);
    if (!d) return json(404, { error: { code: 'UnknownUserCode', message: `userCode: no pending sign-in with code '${code}'.` } });
    const user = ctx.state.user(typeof b.user === 'string' ? b.user : undefined);
    if (!user) return json(400, { error: { code: 'InvalidUser', message: `user: no user with UPN or id '${String(b.user)}'.` } });
    if (!user.accountEnabled) return json(400, { error: { code: 'InvalidUser', message: `user: ${user.userPrincipalName} is disabled.` } });
    if (b.decline === true) {
      d.declined = true;
      return json(200, { userCode: d.userCode, declined: true });
    }
    if (b.scopes !== undefined && (!Array.isArray(b.scopes) || !b.scopes.every((s) => typeof s === 'string'))) {
      return json(400, {
        error: { code: 'InvalidScopes', message: 'scopes: a list of the Graph permissions the user consents to (default: all that were asked for).' },
      });
    }
    const granted = b.scopes ? d.scopes.filter((s) => (b.scopes as string[]).includes(s)) : d.scopes;
    d.approved = { userId: user.id, scopes: granted };
    return json(200, { userCode: d.userCode, user: user.id, scopes: granted });
  });
}

/** The token endpoint's `device_code` grant; entra.ts hands the request here. */
export async function deviceCodeToken(ctx: SimContext, req: SimRequest): Promise<SimResponse> {
  const form = formBody(req);
  const code = form.get('device_code') ?? '';
  const d = pending(ctx.state).get(code);
  if (!d || d.clientId !== (form.get('client_id') ?? '').toLowerCase()) {
    return entraError(400, 'bad_verification_code', 70000, 'The provided device code is not valid for this client.', req);
  }
  if (Date.now() > d.expiresAt) {
    pending(ctx.state).delete(code);
    return entraError(400, 'expired_token', 70020, 'The provided authorization code or refresh token has expired due to inactivity.', req);
  }
  if (d.declined) {
    pending(ctx.state).delete(code);
    return entraError(400, 'authorization_declined', 70017, 'The user declined the sign-in.', req);
  }
  if (!d.approved) return entraError(400, 'authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.', req);
  pending(ctx.state).delete(code);
  const user = ctx.state.user(d.approved.userId)!;
  const common = signedInUserClaims(ctx, req.origin, user);
  const accessToken = await ctx.tokens.sign({
    ...common,
    aud: GRAPH_RESOURCE,
    upn: user.userPrincipalName,
    azp: d.clientId,
    appid: d.clientId,
    azpacr: '0',
    idtyp: 'user',
    scp: d.approved.scopes.join(' '),
    amr: ['pwd', 'mfa'],
  });
  const idToken = await ctx.tokens.sign({ ...common, aud: d.clientId, nonce: randomUUID() });
  req.caller = { oid: user.id, appid: d.clientId };
  return json(
    200,
    {
      token_type: 'Bearer',
      scope: d.approved.scopes.join(' '),
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: accessToken,
      id_token: idToken,
      client_info: Buffer.from(JSON.stringify({ uid: user.id, utid: ctx.tenantId })).toString('base64url'),
    },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
  );
}
