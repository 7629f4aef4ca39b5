import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, decodeJwt, type JWK, type JWTPayload, type KeyLike } from 'jose';

export type Claims = JWTPayload & Record<string, unknown>;

export interface VerifyOptions {
  issuers: string[];
  audiences?: string[];
}

export type VerifyResult = { ok: true; claims: Claims } | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'issuer' | 'audience'; message: string };

/**
 * The simulated Entra's signing key. Token times use the wall clock, not the PIM sim clock: clients
 * (MSAL, jose in the bot) judge expiry with their own clocks, and advancing PIM time must not make every
 * token look issued in the future.
 */
export class TokenAuthority {
  private constructor(
    private readonly privateKey: KeyLike,
    private readonly publicKey: KeyLike,
    readonly kid: string,
    readonly jwk: JWK,
    private readonly foreignKey: KeyLike,
  ) {}

  static async create(): Promise<TokenAuthority> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const foreign = await generateKeyPair('RS256');
    const kid = `sim-${randomUUID().slice(0, 8)}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
    return new TokenAuthority(privateKey, publicKey, kid, jwk, foreign.privateKey);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  /**
   * Signs claims; `iat`, `nbf`, `exp` and `uti` are added unless given. `signWith: 'foreign'` signs with a
   * key the JWKS does not publish (same kid), for forged-token tests.
   */
  async sign(claims: Claims, opts: { expiresInSeconds?: number; signWith?: 'sim' | 'foreign' } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const body: Claims = {
      iat: now,
      nbf: now,
      exp: now + (opts.expiresInSeconds ?? 3600),
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ...claims,
    };
    const key = opts.signWith === 'foreign' ? this.foreignKey : this.privateKey;
    return new SignJWT(body).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid }).sign(key);
  }

  async verify(token: string, opts: VerifyOptions): Promise<VerifyResult> {
    let unverified: Claims;
    try {
      unverified = decodeJwt(token) as Claims;
    } catch {
      return { ok: false, reason: 'malformed', message: 'The token is not a JWT.' };
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { algorithms: ['RS256'], clockTolerance: 300 });
      const claims = payload as Claims;
      if (typeof claims.iss !== 'string' || !opts.issuers.includes(claims.iss)) {
        return { ok: false, reason: 'issuer', message: `The issuer '${String(claims.iss)}' is not valid.` };
      }
      if (opts.audiences) {
        const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
        if (!auds.some((a) => typeof a === 'string' && opts.audiences!.includes(a))) {
          return { ok: false, reason: 'audience', message: `The audience '${String(claims.aud)}' is invalid.` };
        }
      }
      return { ok: true, claims };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
        return { ok: false, reason: 'expired', message: `The token is expired or not yet valid (exp ${String(unverified.exp)}).` };
      }
      return { ok: false, reason: 'signature', message: 'The token signature is invalid.' };
    }
  }
}
