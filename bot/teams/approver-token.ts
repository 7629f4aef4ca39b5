import { OnBehalfOfCredential, type TokenCredential } from '@azure/identity';
import type { CloudAdapter, TurnContext } from 'botbuilder';
import { MicrosoftAppCredentials, type UserTokenClient } from 'botframework-connector';
import { UserTokenClientImpl } from 'botframework-connector/lib/auth/userTokenClientImpl';
import { UserTokenError, type ProvenUser, type UserTokenCheck, type UserTokenVerifier } from '../../services/auth/user-token';
import { type InvokeBody, loginRequestAnswer, messageAnswer, preconditionFailedAnswer } from './invoke-answers';

/**
 * Obtains the approver's delegated identity: the Teams SSO token (from the Bot Framework token
 * service, or exchanged from the token Teams put on the invoke), then on-behalf-of for Graph.
 * PIM refuses approvals made by an app identity, so this is the only way to record a decision.
 *
 * A token is only handed on once it proves the person who clicked: its `oid` is the activity's
 * `from.aadObjectId` and its `tid` the bot's tenant (see services/auth/user-token). Otherwise the
 * action is refused before anything is claimed, audited or sent to PIM.
 */
export type SsoResult = ProvenToken | { kind: 'signInRequired'; response: InvokeBody } | { kind: 'exchangeFailed'; response: InvokeBody } | IdentityRefused;

/** A token with the user it proves. */
export interface ProvenToken {
  kind: 'token';
  token: string;
  user: ProvenUser;
}

/** A token the token service held or issued: proven to be the acting user's, or refused. */
export type UserTokenResult = ProvenToken | IdentityRefused;

/** The token does not prove the clicker: what to tell them (`message`, or `response` as it stands) and what to log. */
export interface IdentityRefused {
  kind: 'identityRefused';
  check: UserTokenCheck;
  message: string;
  response: InvokeBody;
  /** The token's own `oid`/`tid` when its signature verified (identifiers only, never the token). */
  tokenOid?: string;
  tokenTid?: string;
}

export interface SsoOptions {
  connectionName: string;
  /**
   * Demo only: the playground sends no Bot Framework token, so the turn's claims carry no app id and
   * the adapter's token client cannot sign the sign-in state. The demo builds the same client with
   * the bot's app id and no credentials; every call below is unchanged.
   */
  unauthenticatedClient?: { appId: string; oauthUrl: string };
  /** Proves whose a token is (signature, tenant, audience, and `oid` = the activity's `from.aadObjectId`). */
  verifyUser: UserTokenVerifier;
}

/** The Bot Framework token service client for this turn (the demo's unauthenticated one, see SsoOptions). */
export function userTokenClient(ctx: TurnContext, options: SsoOptions): UserTokenClient {
  const client = options.unauthenticatedClient
    ? new UserTokenClientImpl(options.unauthenticatedClient.appId, MicrosoftAppCredentials.Empty, options.unauthenticatedClient.oauthUrl)
    : ctx.turnState.get<UserTokenClient>((ctx.adapter as CloudAdapter).UserTokenClientKey);
  if (!client) throw new Error('No user token client on this turn: the adapter must be a CloudAdapter');
  return client;
}

export async function approverSsoToken(
  ctx: TurnContext,
  options: SsoOptions,
  signInText = 'Sign in so your decision is recorded in PIM as you',
): Promise<SsoResult> {
  const client = userTokenClient(ctx, options);
  const userId = ctx.activity.from.id;
  const channelId = ctx.activity.channelId;
  const value = (ctx.activity.value ?? {}) as { authentication?: { token?: string }; state?: string };

  // Teams retries the action with an SSO token after our 401 loginRequest: exchange it.
  if (value.authentication?.token) {
    let exchanged: string | undefined;
    try {
      exchanged = (await client.exchangeToken(userId, options.connectionName, channelId, { token: value.authentication.token }))?.token || undefined;
    } catch {
      // fall through to 412: Teams then shows the sign-in card (consent needed, or a bad token)
    }
    if (exchanged) return proveUser(ctx, client, options, exchanged);
    return { kind: 'exchangeFailed', response: preconditionFailedAnswer('The sign-in token could not be exchanged; sign in to continue.') };
  }

  const existing = await client.getUserToken(userId, options.connectionName, channelId, value.state ?? '').catch(() => undefined);
  if (existing?.token) return proveUser(ctx, client, options, existing.token);

  const resource = await client.getSignInResource(options.connectionName, ctx.activity, '');
  return {
    kind: 'signInRequired',
    response: loginRequestAnswer({
      text: signInText,
      connectionName: options.connectionName,
      tokenExchangeResource: resource.tokenExchangeResource,
      buttons: [{ type: 'signin', title: 'Sign in', value: resource.signInLink }],
    }),
  };
}

/** What the person who clicked is told when the token the token service holds for them does not prove them. */
export function identityRefusalText(check: UserTokenCheck): string {
  switch (check) {
    case 'account':
      return 'This sign-in belongs to another account than the one you use in Teams, so nothing was sent to PIM. You were signed out of the bot: try again and sign in with your own account.';
    case 'tenant':
      return "This sign-in belongs to another organisation's account, so nothing was sent to PIM. You were signed out of the bot: try again and sign in with your account in this organisation.";
    case 'keys_unavailable':
      return "The bot could not check your sign-in just now (Entra's signing keys could not be read), so nothing was sent to PIM. Try again in a minute.";
    default:
      return 'Your sign-in could not be verified, so nothing was sent to PIM. You were signed out of the bot: try again and sign in.';
  }
}

/**
 * The token proves the clicker, or the action is refused. A token that belongs to someone else, another
 * tenant, or fails its checks is dropped from the token service (for `from.id`, whose token it is), so
 * the next click signs in afresh through Teams SSO, with the account Teams knows.
 */
export async function proveUser(
  ctx: TurnContext,
  client: UserTokenClient,
  options: Pick<SsoOptions, 'connectionName' | 'verifyUser'>,
  token: string,
): Promise<UserTokenResult> {
  try {
    return { kind: 'token', token, user: await options.verifyUser(token, ctx.activity.from?.aadObjectId) };
  } catch (err) {
    if (!(err instanceof UserTokenError)) throw err;
    if (err.check !== 'keys_unavailable') {
      await client.signOutUser(ctx.activity.from.id, options.connectionName, ctx.activity.channelId).catch(() => undefined);
    }
    const message = identityRefusalText(err.check);
    return {
      kind: 'identityRefused',
      check: err.check,
      message,
      response: messageAnswer(message),
      tokenOid: err.token.oid,
      tokenTid: err.token.tid,
    };
  }
}

/** The fields of a refusal's one warn line: who Teams says acted, whose the token was, which check failed. Never the token. */
export function identityRefusalLog(ctx: TurnContext, r: IdentityRefused): Record<string, unknown> {
  return {
    check: r.check,
    fromId: ctx.activity.from?.id,
    claimedOid: ctx.activity.from?.aadObjectId?.toLowerCase(),
    tokenOid: r.tokenOid,
    tokenTid: r.tokenTid,
  };
}

export interface OboOptions {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  authorityHost: string;
  /** Instance discovery only knows Microsoft's clouds; off for any other authority. */
  disableInstanceDiscovery: boolean;
}

export function onBehalfOf(userAssertionToken: string, o: OboOptions): OnBehalfOfCredential {
  const common = {
    tenantId: o.tenantId,
    clientId: o.clientId,
    userAssertionToken,
    authorityHost: o.authorityHost,
    disableInstanceDiscovery: o.disableInstanceDiscovery,
  };
  return o.certificatePath
    ? new OnBehalfOfCredential({ ...common, certificatePath: o.certificatePath })
    : new OnBehalfOfCredential({ ...common, clientSecret: o.clientSecret! });
}

/**
 * On-behalf-of credentials reused per SSO token: a new credential fetches Entra's metadata and exchanges
 * the token again on every click; one kept per token (until the token expires, at most `max` of them)
 * answers from its own cache. Keyed by the whole token, so a credential only ever serves the user whose
 * token it holds.
 */
export function onBehalfOfCache(
  o: OboOptions,
  opts: { max?: number; now?: () => number; create?: (token: string, o: OboOptions) => TokenCredential } = {},
): (userAssertionToken: string) => TokenCredential {
  const max = opts.max ?? 500;
  const now = opts.now ?? Date.now;
  const create = opts.create ?? onBehalfOf;
  const cache = new Map<string, { credential: TokenCredential; expiresAt: number }>();
  return (token) => {
    const hit = cache.get(token);
    if (hit && hit.expiresAt > now()) {
      cache.delete(token);
      cache.set(token, hit); // most recently used last
      return hit.credential;
    }
    cache.delete(token);
    const inner = create(token, o);
    // A failed exchange drops the credential: MSAL remembers a 429/5xx from Entra and refuses the same
    // request for up to a minute without asking again, which would fail the approver's next click too.
    // The approver was told nothing was recorded; their retry deserves a real attempt.
    const credential: TokenCredential = {
      getToken: (scopes, options) =>
        inner.getToken(scopes, options).catch((err: unknown) => {
          if (cache.get(token)?.credential === credential) cache.delete(token);
          throw err;
        }),
    };
    cache.set(token, { credential, expiresAt: expiryOf(token) ?? now() + 5 * 60_000 });
    while (cache.size > max) cache.delete(cache.keys().next().value!);
    return credential;
  };
}

/** The token's `exp` in ms (read, not verified: Entra verifies the token when it is exchanged). */
function expiryOf(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
