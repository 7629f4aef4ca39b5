import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

/**
 * The tenant's token signing keys (Entra's JWKS). jose caches the set and refetches on an unknown `kid`
 * (Entra rotates keys) at most every 30 s. Entra signs every token of the tenant with these keys, so one
 * set serves every validator in the process: PIM's callout tokens and the users' SSO tokens.
 */
export function tenantSigningKeys(jwksUri: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 3000, cooldownDuration: 30_000 });
}
