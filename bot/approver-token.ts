import { OnBehalfOfCredential, type TokenCredential } from '@azure/identity';
import { CloudAdapter, TurnContext } from 'botbuilder';
import { MicrosoftAppCredentials, UserTokenClient } from 'botframework-connector';
import { UserTokenClientImpl } from 'botframework-connector/lib/auth/userTokenClientImpl';

/**
 * Obtains the approver's delegated identity: the Teams SSO token (from the Bot Framework token
 * service, or exchanged from the token Teams put on the invoke), then on-behalf-of for Graph.
 * PIM refuses approvals made by an app identity, so this is the only way to record a decision.
 */
export type SsoResult =
  | { kind: 'token'; token: string }
  | { kind: 'signInRequired'; response: InvokeBody }
  | { kind: 'exchangeFailed'; response: InvokeBody };

export interface InvokeBody {
  statusCode: number;
  type: string;
  value: unknown;
}

export interface SsoOptions {
  connectionName: string;
  /**
   * Demo only: the playground sends no Bot Framework token, so the turn's claims carry no app id and
   * the adapter's token client cannot sign the sign-in state. The demo builds the same client with
   * the bot's app id and no credentials; every call below is unchanged.
   */
  unauthenticatedClient?: { appId: string; oauthUrl: string };
}

/** The Bot Framework token service client for this turn (the demo's unauthenticated one, see SsoOptions). */
export function userTokenClient(ctx: TurnContext, options: SsoOptions): UserTokenClient {
  const client = options.unauthenticatedClient
    ? new UserTokenClientImpl(options.unauthenticatedClient.appId, MicrosoftAppCredentials.Empty, options.unauthenticatedClient.oauthUrl)
    : ctx.turnState.get<UserTokenClient>((ctx.adapter as CloudAdapter).UserTokenClientKey);
  if (!client) throw new Error('No user token client on this turn: the adapter must be a CloudAdapter');
  return client;
}

export async function approverSsoToken(ctx: TurnContext, options: SsoOptions, signInText = 'Sign in so your decision is recorded in PIM as you'): Promise<SsoResult> {
  const client = userTokenClient(ctx, options);
  const userId = ctx.activity.from.id;
  const channelId = ctx.activity.channelId;
  const value = (ctx.activity.value ?? {}) as { authentication?: { token?: string }; state?: string };

  // Teams retries the action with an SSO token after our 401 loginRequest: exchange it.
  if (value.authentication?.token) {
    try {
      const exchanged = await client.exchangeToken(userId, options.connectionName, channelId, { token: value.authentication.token });
      if (exchanged?.token) return { kind: 'token', token: exchanged.token };
    } catch {
      // fall through to 412: Teams then shows the sign-in card (consent needed, or a bad token)
    }
    return {
      kind: 'exchangeFailed',
      response: { statusCode: 412, type: 'application/vnd.microsoft.error.preconditionFailed', value: { code: '412', message: 'The sign-in token could not be exchanged; sign in to continue.' } },
    };
  }

  const existing = await client.getUserToken(userId, options.connectionName, channelId, value.state ?? '').catch(() => undefined);
  if (existing?.token) return { kind: 'token', token: existing.token };

  const resource = await client.getSignInResource(options.connectionName, ctx.activity, '');
  return {
    kind: 'signInRequired',
    response: {
      statusCode: 401,
      type: 'application/vnd.microsoft.activity.loginRequest',
      value: {
        text: signInText,
        connectionName: options.connectionName,
        tokenExchangeResource: resource.tokenExchangeResource,
        buttons: [{ type: 'signin', title: 'Sign in', value: resource.signInLink }],
      },
    },
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
  const common = { tenantId: o.tenantId, clientId: o.clientId, userAssertionToken, authorityHost: o.authorityHost, disableInstanceDiscovery: o.disableInstanceDiscovery };
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
