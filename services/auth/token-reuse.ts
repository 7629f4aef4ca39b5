import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/** A token is handed out again until this long before it expires (MSAL's own refresh margin). */
const REFRESH_MARGIN_MS = 5 * 60_000;

const wrappers = new WeakMap<TokenCredential, TokenCredential>();

/**
 * The credential's tokens reused per scope set and tenant until five minutes before they expire (or
 * until the token's own `refreshAfterTimestamp`). The Graph client asks its credential for a token on
 * every request; MSAL answers from its cache too, but looking a token up there costs more CPU than the
 * call it authorises. One wrapper per credential object (so a credential kept per user, as the
 * on-behalf-of cache keeps them, keeps its tokens across clicks). A claims challenge always goes to the
 * credential, and a failed request is never remembered.
 */
export function reuseTokens(credential: TokenCredential, now: () => number = Date.now): TokenCredential {
  const existing = wrappers.get(credential);
  if (existing) return existing;
  const cache = new Map<string, { token: AccessToken; reuseUntil: number }>();
  const wrapper: TokenCredential = {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      if (options?.claims) return credential.getToken(scopes, options);
      const key = `${options?.tenantId ?? ''} ${Array.isArray(scopes) ? scopes.join(' ') : scopes}`;
      const hit = cache.get(key);
      if (hit && now() < hit.reuseUntil) return hit.token;
      const token = await credential.getToken(scopes, options);
      if (token) {
        cache.set(key, { token, reuseUntil: Math.min(token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY, token.expiresOnTimestamp - REFRESH_MARGIN_MS) });
      } else cache.delete(key);
      return token;
    },
  };
  wrappers.set(credential, wrapper);
  return wrapper;
}
