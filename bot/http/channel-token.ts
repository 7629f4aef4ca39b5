import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { AuthenticationConstants, AuthenticationError } from 'botframework-connector';
// Not re-exported by the package root: the class whose per-URL cache holds the channel's signing keys for botbuilder.
import { JwtTokenExtractor } from 'botframework-connector/lib/auth/jwtTokenExtractor';
import { HttpError } from './http-body';

/**
 * The Bot Framework token on /api/messages, checked by the bot before botbuilder sees it.
 *
 * botbuilder validates the channel's token, but answers a forged one with HTTP 500 and a stack on stderr:
 * `alg: none`, a signature by another key under a published `kid`, an expired token all throw plain errors
 * from inside its validator (and log the key). So the bot screens the token itself, in two steps:
 *  - before reading a byte of the body: `Authorization: Bearer <JWT>`, an RS256/384/512 header that names
 *    no key location of its own (`jku`, `x5u`, `jwk`, `x5c` are refused: keys come only from the Bot
 *    Framework's metadata), a `kid`, the Bot Framework channel's issuer, our app id as audience, not expired;
 *  - after: the signature against the key the Bot Framework publishes under that `kid` (botbuilder's own
 *    key cache, so the keys are fetched once for both), issuer, audience and lifetime with botbuilder's
 *    clock tolerance.
 * Only a token that passes both reaches botbuilder, which then checks what ties it to the activity (the
 * `serviceurl` claim, endorsements for the channel). Every refusal is a ChannelTokenError naming the check.
 *
 * Teams sends activities through the Bot Framework channel service, whose tokens all have the issuer
 * https://api.botframework.com; Emulator and skill tokens (other issuers) are refused.
 */

/** What botbuilder accepts for channel tokens (AuthenticationConstants.AllowedSigningAlgorithms). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512'];
/** Header parameters that point at a key or certificate: the bot never follows them, and refuses a token that carries one. */
const KEY_LOCATION_PARAMETERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;
/** botbuilder's clock tolerance for channel tokens (ChannelValidation: 5 minutes). */
const CLOCK_TOLERANCE_S = 300;
/** How long a request waits for the channel's keys when they are not cached (botbuilder's fetch has no timeout). */
const KEYS_TIMEOUT_MS = 5_000;
const JWT = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

export type ChannelTokenCheck =
  | 'missing'
  | 'scheme'
  | 'malformed'
  | 'algorithm'
  | 'key_location'
  | 'kid'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'unknown_key'
  | 'signature'
  | 'activity'
  | 'keys_unavailable';

export class ChannelTokenError extends Error {
  constructor(
    readonly check: ChannelTokenCheck,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelTokenError';
  }
}

/** The answer to a refused channel token: 401 naming the check, 503 when the Bot Framework's keys could not be read. */
export function channelTokenRefusal(err: ChannelTokenError): HttpError {
  const status = err.check === 'keys_unavailable' ? 503 : 401;
  return new HttpError(
    status,
    `token_${err.check}`,
    err.message,
    undefined,
    status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : { 'Retry-After': '5' },
  );
}

export interface ScreenedToken {
  token: string;
  kid: string;
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
}

export interface ChannelTokenSettings {
  /** The bot's app id: the audience of every token the channel sends it. */
  appId: string;
  /** The Bot Framework's OpenID metadata for channel tokens (botbuilder's default unless tests point elsewhere). */
  openIdMetadataUrl?: string;
  /** The channel's token issuer (https://api.botframework.com). */
  issuer?: string;
}

interface PublishedKey {
  key: string;
  endorsements?: string[];
}

export class ChannelTokens {
  readonly issuer: string;
  readonly openIdMetadataUrl: string;
  private readonly keys: { getKey(kid: string): Promise<PublishedKey | null> };
  private readonly keyObjects = new Map<string, KeyObject>();

  constructor(private readonly settings: ChannelTokenSettings) {
    this.issuer = settings.issuer ?? AuthenticationConstants.ToBotFromChannelTokenIssuer;
    this.openIdMetadataUrl = settings.openIdMetadataUrl ?? AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl;
    // botbuilder keeps one metadata object per URL (refreshed daily, and at most hourly for an unknown kid);
    // this is the one its own validation of the same token will use.
    this.keys = new JwtTokenExtractor({}, this.openIdMetadataUrl, ALGORITHMS).openIdMetadata as unknown as {
      getKey(kid: string): Promise<PublishedKey | null>;
    };
  }

  /** What can be checked without the body and without a key. Throws ChannelTokenError. */
  screen(authorization: string | string[] | undefined): ScreenedToken {
    const value = Array.isArray(authorization) ? authorization[0] : authorization;
    if (value === undefined || value.trim() === '')
      throw new ChannelTokenError('missing', 'Bot Framework activities carry Authorization: Bearer <token>; there is none.');
    const token = JWT.exec(value)?.[1];
    if (!token) {
      if (!value.startsWith('Bearer '))
        throw new ChannelTokenError('scheme', 'The Authorization header must be Bearer <token> (the Bot Framework channel token).');
      throw new ChannelTokenError('malformed', 'The bearer token is not a signed JWT.');
    }
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw new ChannelTokenError('malformed', 'The bearer token is not a signed JWT.');
    }
    if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) {
      throw new ChannelTokenError('algorithm', `Channel tokens are signed with ${ALGORITHMS.join(', ')}; this one says '${String(header.alg).slice(0, 16)}'.`);
    }
    const located = KEY_LOCATION_PARAMETERS.filter((p) => (header as Record<string, unknown>)[p] !== undefined);
    if (located.length) {
      throw new ChannelTokenError(
        'key_location',
        `The token names its own key or certificate (${located.join(', ')}); the bot takes signing keys only from the Bot Framework's published metadata.`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > 256)
      throw new ChannelTokenError('kid', "The token does not say which of the Bot Framework's keys signed it (kid).");
    if (claims.iss !== this.issuer)
      throw new ChannelTokenError('issuer', `Activities are accepted from the Bot Framework channel service only (issuer ${this.issuer}).`);
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(this.settings.appId)) throw new ChannelTokenError('audience', 'The token was not issued for this bot (audience).');
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_TOLERANCE_S < Date.now() / 1000)
      throw new ChannelTokenError('expired', 'The token has expired (or carries no expiry).');
    return { token, kid: header.kid, header, claims };
  }

  /** The signature against the Bot Framework's key for the token's kid, and the claims again, verified. Throws ChannelTokenError. */
  async verify(screened: ScreenedToken): Promise<void> {
    const published = await this.publishedKey(screened.kid);
    if (!published) throw new ChannelTokenError('unknown_key', 'The token is signed with a key the Bot Framework does not publish.');
    try {
      await jwtVerify(screened.token, this.keyObject(published.key), {
        algorithms: ALGORITHMS,
        issuer: this.issuer,
        audience: this.settings.appId,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new ChannelTokenError('expired', 'The token has expired.');
      throw new ChannelTokenError('signature', "The token's signature or claims do not verify against the Bot Framework's published key.");
    }
  }

  private async publishedKey(kid: string): Promise<PublishedKey | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.keys.getKey(kid),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${KEYS_TIMEOUT_MS} ms`)), KEYS_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      // A failed fetch of the metadata or the keys (botbuilder raises AuthenticationError 500, or the fetch error itself).
      if (err instanceof AuthenticationError && err.statusCode === 401)
        throw new ChannelTokenError('unknown_key', 'The token is signed with a key the Bot Framework does not publish.');
      throw new ChannelTokenError('keys_unavailable', "The Bot Framework's signing keys could not be read; try again shortly.");
    } finally {
      clearTimeout(timer);
    }
  }

  private keyObject(pem: string): KeyObject {
    let key = this.keyObjects.get(pem);
    if (!key) {
      key = createPublicKey(pem);
      // The Bot Framework publishes a handful of keys; a bounded cache in case it rotates through many.
      if (this.keyObjects.size >= 32) this.keyObjects.clear();
      this.keyObjects.set(pem, key);
    }
    return key;
  }
}

/**
 * botbuilder's own check of what ties the token to the activity (audience app id, the `serviceurl` claim
 * against the activity's serviceUrl, endorsements for the channel), as a ChannelTokenError.
 */
export function activityAuthRefusal(err: unknown): ChannelTokenError {
  if (err instanceof AuthenticationError && err.statusCode !== 401) {
    return new ChannelTokenError('keys_unavailable', "The Bot Framework's signing keys could not be read; try again shortly.");
  }
  if (
    err instanceof AuthenticationError ||
    (err as Error)?.name === 'JsonWebTokenError' ||
    (err as Error)?.name === 'TokenExpiredError' ||
    (err as Error)?.name === 'NotBeforeError'
  ) {
    return new ChannelTokenError('activity', 'The token does not match this activity (its service URL, audience or channel).');
  }
  const name = (err as { name?: string; type?: string })?.name;
  if (name === 'FetchError' || (err as { type?: string })?.type === 'system') {
    return new ChannelTokenError('keys_unavailable', "The Bot Framework's signing keys could not be read; try again shortly.");
  }
  return new ChannelTokenError('activity', 'The token could not be validated for this activity.');
}
