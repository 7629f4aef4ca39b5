import { errors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { tenantSigningKeys } from './tenant-keys';

/**
 * Validates the Entra bearer token PIM sends to the custom extension endpoint: signature through
 * the tenant's JWKS, issuer, audience (our Application ID URI), expiry, and the calling app
 * (`azp` in v2 tokens, `appid` in v1) against an allow-list.
 */
export interface PimTokenValidatorOptions {
  /** The v2 issuer first; the v1 issuer (sts.windows.net) when the app registration still issues v1 tokens. */
  issuers: string[];
  jwksUri: string;
  audience: string;
  allowedCallerAppIds: string[];
  /** Tolerated clock skew between Entra and us. */
  clockToleranceSeconds?: number;
  /** For tests: the clock the verified-token cache reads. */
  now?: () => number;
  /** A key source instead of `jwksUri`: the bot shares one with the user-token verifier; tests pass local keys. */
  keys?: JWTVerifyGetKey;
}

/**
 * PIM gets one token for our Application ID URI and sends it with every callout until it expires, so
 * the same bytes arrive again and again. A token that verified is remembered (by its exact text) until
 * it expires, and at most this long: no longer than jose keeps the tenant's signing keys (10 minutes), so
 * a key Entra withdraws stops being honoured through the cache no later than through the key set.
 */
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;
const VERIFIED_TOKENS_MAX = 1000;

export type TokenCheck = 'missing' | 'malformed' | 'signature' | 'expired' | 'not_yet_valid' | 'issuer' | 'audience' | 'caller' | 'keys_unavailable';

export class PimTokenError extends Error {
  constructor(
    readonly check: TokenCheck,
    message: string,
  ) {
    super(message);
    this.name = 'PimTokenError';
  }
}

export interface PimCaller {
  appId: string;
  tenantId: string | undefined;
  claims: JWTPayload;
}

export function createPimTokenValidator(options: PimTokenValidatorOptions): (authorization: string | undefined) => Promise<PimCaller> {
  const jwks = options.keys ?? tenantSigningKeys(options.jwksUri);
  const allowed = new Set(options.allowedCallerAppIds.map((a) => a.toLowerCase()));
  const now = options.now ?? Date.now;
  const toleranceMs = (options.clockToleranceSeconds ?? 120) * 1000;
  const verified = new Map<string, { caller: PimCaller; until: number }>();

  return async (authorization) => {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization ?? '');
    if (!authorization) throw new PimTokenError('missing', 'No Authorization header: PIM sends "Authorization: Bearer <Entra token>".');
    if (!match) throw new PimTokenError('malformed', 'The Authorization header must be "Bearer <token>".');
    const token = match[1]!;
    const known = verified.get(token);
    if (known && now() < known.until) return known.caller;
    if (known) verified.delete(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuers,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds ?? 120,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      throw toTokenError(err, options);
    }
    const appId = String(payload.azp ?? payload.appid ?? '').toLowerCase();
    if (!appId || !allowed.has(appId)) {
      throw new PimTokenError(
        'caller',
        `The calling app${appId ? ` ${appId}` : ''} is not allowed to call this endpoint; add it to PIM_ALLOWED_CALLER_APP_IDS if it is PIM.`,
      );
    }
    const caller: PimCaller = { appId, tenantId: typeof payload.tid === 'string' ? payload.tid : undefined, claims: payload };
    // exp is required above; remember the token until then (plus the tolerated skew jose allowed), capped.
    const until = Math.min((payload.exp as number) * 1000 + toleranceMs, now() + VERIFIED_TOKEN_TTL_MS);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, { caller, until });
    return caller;
  };
}

function toTokenError(err: unknown, options: PimTokenValidatorOptions): PimTokenError {
  if (err instanceof errors.JWTExpired) return new PimTokenError('expired', 'The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new PimTokenError('issuer', `The token's issuer is not ${options.issuers.join(' or ')}.`);
    if (err.claim === 'aud')
      return new PimTokenError('audience', `The token's audience is not ${options.audience}; set the extension's resourceId to this Application ID URI.`);
    if (err.claim === 'nbf') return new PimTokenError('not_yet_valid', 'The token is not valid yet.');
    return new PimTokenError('malformed', `The token's ${err.claim} claim is invalid.`);
  }
  if (err instanceof errors.JWKSTimeout || (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /fetch|network|ECONN/i.test(err.message))) {
    return new PimTokenError('keys_unavailable', 'The signing keys could not be fetched from Entra; try again.');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return new PimTokenError('signature', 'The token signature does not verify against the tenant signing keys.');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSEAlgNotAllowed) {
    return new PimTokenError('malformed', 'The token is not a valid RS256 JWT.');
  }
  return new PimTokenError('keys_unavailable', 'The token could not be verified (signing keys unavailable); try again.');
}
