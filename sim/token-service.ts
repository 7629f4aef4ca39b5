import { randomUUID } from 'node:crypto';
import type { SimContext } from './context';
import { ssoResource } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SeedUser } from './seed';
import { DEFAULT_SESSION } from './state';
import { issueUserAssertion, sessionClaims } from './user-tokens';

/** The Aadv2 provider id the Bot Framework token service puts into `tokenExchangeResource.providerId`. */
const AADV2_PROVIDER_ID = '30dd229c-58e3-4a48-bdfd-91ec48eb906c';

/** Bot Framework token service error body (`ErrorResponse` in botframework-connector). */
function bfError(status: number, code: string, message: string): SimResponse {
  return json(status, { error: { code, message } });
}

/**
 * Plays the Bot Framework token service (`OAuthUrl`) as botbuilder 4.23's UserTokenClientImpl calls it.
 * The playground has no token service, so this is what makes the bot's sign-in and OBO code run unchanged.
 */
export function registerTokenService(router: Router, ctx: SimContext): void {
  /** Anonymous callers are fine (the demo bot has no Bot Framework credentials); a bearer must be ours. */
  async function authorize(req: SimRequest): Promise<SimResponse | undefined> {
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) return bfError(401, 'Unauthorized', 'Authorization header must be a Bearer token.');
    const v = await ctx.tokens.verify(m[1]!, { issuers: ctx.acceptedIssuers(req.origin) });
    if (!v.ok) return bfError(401, 'Unauthorized', `Invalid bearer token: ${v.message}`);
    req.caller = { oid: String(v.claims.oid ?? ''), appid: String(v.claims.appid ?? v.claims.azp ?? '') };
    return undefined;
  }

  const need = (req: SimRequest, ...names: string[]): SimResponse | undefined => {
    const missing = names.filter((n) => !req.query.get(n));
    return missing.length ? bfError(400, 'BadArgument', `Missing required query parameter(s): ${missing.join(', ')}.`) : undefined;
  };

  /** The session's strength decides `amr` (MFA or not) and `acrs` of every token the service hands out. */
  const strength = (user: SeedUser) => sessionClaims(ctx.state.session(user.id) ?? DEFAULT_SESSION);

  /**
   * Like the real service, the token a user signed in with is stored and handed out again until it is
   * close to expiry (then a fresh one, as the service refreshes it); a new sign-in, sign-out or exchange
   * replaces it, and so does a change of the session's strength (MFA, authentication context).
   */
  const stored = new Map<string, { token: string; expiresAt: number; session: string }>();
  const REFRESH_BEFORE_MS = 5 * 60_000;

  async function tokenFor(req: SimRequest, user: SeedUser, connectionName: string, opts: { fresh?: boolean } = {}): Promise<SimResponse> {
    const claims = { issuer: `${req.origin}/${ctx.tenantId}/v2.0`, ...strength(user) };
    const key = `${user.id}|${connectionName}`;
    const session = JSON.stringify([ctx.state.sessionGeneration(user.id), claims]);
    let entry = stored.get(key);
    if (opts.fresh || !entry || entry.session !== session || entry.expiresAt - Date.now() < REFRESH_BEFORE_MS) {
      entry = { token: await issueUserAssertion(ctx, user, claims), expiresAt: Date.now() + 3600 * 1000, session };
      stored.set(key, entry);
    }
    return json(200, {
      channelId: req.query.get('channelId') ?? 'msteams',
      connectionName,
      token: entry.token,
      expiration: new Date(entry.expiresAt).toISOString(),
    });
  }

  router.add('GET', '/api/usertoken/GetToken', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'userId', 'connectionName');
    if (denied) return denied;
    const user = ctx.state.userByChannelId(req.query.get('userId')!);
    // 404 with an empty TokenResponse is how the service says "not signed in"; botbuilder maps it to undefined.
    if (!user?.accountEnabled || !ctx.state.isSignedIn(user.id)) return json(404, {});
    return tokenFor(req, user, req.query.get('connectionName')!);
  });

  router.add('POST', '/api/usertoken/exchange', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'userId', 'connectionName');
    if (denied) return denied;
    const body = jsonBody<{ uri?: string; token?: string }>(req) ?? {};
    const user = ctx.state.userByChannelId(req.query.get('userId')!);
    if (!user) return bfError(400, 'BadArgument', `Unknown user '${req.query.get('userId')}'.`);
    if (!body.token) return bfError(400, 'BadArgument', 'The exchange request has no token; only token exchange is supported.');
    const v = await ctx.tokens.verify(body.token, {
      issuers: ctx.acceptedIssuers(req.origin),
      audiences: [ssoResource(ctx.botApp.clientId), ctx.botApp.clientId],
    });
    if (!v.ok) return bfError(400, 'ServiceError', `Token exchange failed: ${v.message}`);
    if (String(v.claims.oid ?? '').toLowerCase() !== user.id.toLowerCase()) {
      return bfError(400, 'ServiceError', 'Token exchange failed: the token belongs to another user.');
    }
    // The session takes the strength of the SSO token Teams exchanged.
    const amr = Array.isArray(v.claims.amr) ? (v.claims.amr as unknown[]).map(String) : undefined;
    const acrs = Array.isArray(v.claims.acrs) ? (v.claims.acrs as unknown[]).map(String) : [];
    ctx.state.signIn(user.id, { mfa: amr ? amr.includes('mfa') : undefined, acrs });
    return tokenFor(req, user, req.query.get('connectionName')!, { fresh: true });
  });

  router.add('DELETE', '/api/usertoken/SignOut', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'userId');
    if (denied) return denied;
    const user = ctx.state.userByChannelId(req.query.get('userId')!);
    if (user) ctx.state.signOut(user.id);
    return json(200, {});
  });

  router.add('GET', '/api/usertoken/GetTokenStatus', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'userId');
    if (denied) return denied;
    const user = ctx.state.userByChannelId(req.query.get('userId')!);
    return json(200, [
      {
        channelId: req.query.get('channelId') ?? 'msteams',
        connectionName: req.query.get('include') || 'sim',
        hasToken: !!user && ctx.state.isSignedIn(user.id),
        serviceProviderDisplayName: 'Azure Active Directory v2',
      },
    ]);
  });

  router.add('POST', '/api/usertoken/GetAadTokens', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'userId', 'connectionName');
    if (denied) return denied;
    const user = ctx.state.userByChannelId(req.query.get('userId')!);
    if (!user || !ctx.state.isSignedIn(user.id)) return json(200, {});
    const body = jsonBody<{ resourceUrls?: string[] }>(req) ?? {};
    const out: Record<string, unknown> = {};
    for (const url of body.resourceUrls ?? []) {
      out[url] = {
        channelId: req.query.get('channelId') ?? 'msteams',
        connectionName: req.query.get('connectionName'),
        token: await issueUserAssertion(ctx, user, {
          audience: url,
          scp: 'user_impersonation',
          issuer: `${req.origin}/${ctx.tenantId}/v2.0`,
          ...strength(user),
        }),
        expiration: new Date(Date.now() + 3600 * 1000).toISOString(),
      };
    }
    return json(200, out);
  });

  router.add('GET', '/api/botsignin/GetSignInResource', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'state');
    if (denied) return denied;
    const state = decodeState(req.query.get('state')!);
    const appId = state?.msAppId || ctx.botApp.clientId;
    const signInLink = `${req.origin}/_sim/signin-page?state=${encodeURIComponent(req.query.get('state')!)}`;
    return json(200, {
      signInLink,
      tokenExchangeResource: { id: randomUUID(), uri: ssoResource(appId), providerId: AADV2_PROVIDER_ID },
      tokenPostResource: { sasUrl: `${req.origin}/api/usertoken/post?state=${encodeURIComponent(randomUUID())}` },
    });
  });

  router.add('GET', '/api/botsignin/GetSignInUrl', async (req) => {
    const denied = (await authorize(req)) ?? need(req, 'state');
    if (denied) return denied;
    return {
      status: 200,
      body: JSON.stringify(`${req.origin}/_sim/signin-page?state=${encodeURIComponent(req.query.get('state')!)}`),
      headers: { 'Content-Type': 'application/json' },
    };
  });
}

function decodeState(state: string): { msAppId?: string; connectionName?: string } | undefined {
  try {
    return JSON.parse(Buffer.from(state, 'base64').toString('utf8')) as { msAppId?: string; connectionName?: string };
  } catch {
    return undefined;
  }
}
