import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { tenantSigningKeys } from './tenant-keys';

/**
 * Proves whose a user token is: the Teams SSO token the Bot Framework token service hands the bot for the
 * Teams user who clicked. Checked like any Entra token we accept (signature through the tenant's JWKS,
 * `aud` = the bot's SSO resource, expiry, `iss` = the tenant), then bound to the click: `tid` must be the
 * bot's tenant and `oid` the Entra object id Teams put on the activity (`from.aadObjectId`).
 *
 * Why the signature is checked here although Entra checks the token again when it is exchanged
 * on-behalf-of: the bot writes its own records on the strength of this identity (the claim on the request,
 * the audit row naming who decided) before the exchange happens, and the token service is a channel, not an
 * authority. Verified locally, the identity in those records is Entra's signature, whatever the token
 * service (or a misconfigured `BOT_OAUTH_URL`) returned. The keys are the ones PIM's callouts are checked
 * with, cached by jose, so a check costs one RS256 verification and no network call.
 */
export interface UserTokenVerifierOptions {
  /** The bot's tenant: the only `tid` accepted. */
  tenantId: string;
  /** The tenant's issuers (v2 first, v1 when the app registration still issues v1 tokens). */
  issuers: string[];
  /** The bot's SSO resource as tokens name it: `api://botid-<app id>` (v1) and the app id (v2). */
  audiences: string[];
  jwksUri: string;
  /** A key source instead of `jwksUri` (shared with PIM's token validator; tests pass local keys). */
  keys?: JWTVerifyGetKey;
  clockToleranceSeconds?: number;
}

/**
 * Why a token does not prove the clicker: `account` (another user's token), `tenant` (another organisation's),
 * the token itself failed a check, or the keys to check it could not be read.
 */
export type UserTokenCheck = 'account' | 'tenant' | 'signature' | 'expired' | 'not_yet_valid' | 'audience' | 'issuer' | 'malformed' | 'keys_unavailable';

export class UserTokenError extends Error {
  constructor(
    readonly check: UserTokenCheck,
    message: string,
    /** The verified token's `oid` and `tid` (identifiers, never the token), for the refusal's log line. */
    readonly token: { oid?: string; tid?: string } = {},
  ) {
    super(message);
    this.name = 'UserTokenError';
  }
}

/** The user the token proves; `oid` and `tid` lower-case. */
export interface ProvenUser {
  oid: string;
  tid: string;
  name: string | null;
  upn: string | null;
}

/** Verifies the token and that it belongs to `expectedOid` (the activity's `from.aadObjectId`). */
export type UserTokenVerifier = (token: string, expectedOid: string | null | undefined) => Promise<ProvenUser>;

export function createUserTokenVerifier(options: UserTokenVerifierOptions): UserTokenVerifier {
  const keys = options.keys ?? tenantSigningKeys(options.jwksUri);
  const tenant = options.tenantId.toLowerCase();
  return async (token, expectedOid) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        audience: options.audiences,
        algorithms: ['RS256'],
        clockTolerance: options.clockToleranceSeconds ?? 120,
        requiredClaims: ['exp', 'oid', 'tid'],
      }));
    } catch (err) {
      throw toUserTokenError(err);
    }
    if (typeof payload.oid !== 'string' || typeof payload.tid !== 'string') throw new UserTokenError('malformed', 'The token has no oid or tid.');
    const seen = { oid: payload.oid.toLowerCase(), tid: payload.tid.toLowerCase() };
    // Entra signs every tenant's tokens with the same keys: a signature proves Entra, not our tenant.
    if (seen.tid !== tenant) throw new UserTokenError('tenant', 'The token was issued by another tenant.', seen);
    if (typeof payload.iss !== 'string' || !options.issuers.includes(payload.iss))
      throw new UserTokenError('issuer', `The token's issuer is not ${options.issuers.join(' or ')}.`, seen);
    if (!expectedOid || seen.oid !== expectedOid.trim().toLowerCase())
      throw new UserTokenError('account', 'The token belongs to another user than the one Teams says acted.', seen);
    return {
      ...seen,
      name: typeof payload.name === 'string' ? payload.name : null,
      upn: typeof payload.preferred_username === 'string' ? payload.preferred_username : typeof payload.upn === 'string' ? payload.upn : null,
    };
  };
}

function toUserTokenError(err: unknown): UserTokenError {
  if (err instanceof errors.JWTExpired) return new UserTokenError('expired', 'The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return new UserTokenError('audience', "The token was not issued for the bot's SSO resource.");
    if (err.claim === 'nbf') return new UserTokenError('not_yet_valid', 'The token is not valid yet.');
    return new UserTokenError('malformed', `The token's ${err.claim} claim is missing or invalid.`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return new UserTokenError('signature', 'The token signature does not verify against the tenant signing keys.');
  }
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSEAlgNotAllowed ||
    err instanceof errors.JOSENotSupported
  ) {
    return new UserTokenError('malformed', 'The token is not a valid RS256 JWT.');
  }
  // A timeout or network error fetching the key set, or anything else: the token could not be checked.
  return new UserTokenError('keys_unavailable', 'The token could not be verified (signing keys unavailable).');
}
