import type { SimContext } from './context';
import { ssoResource } from './context';
import type { SeedUser } from './seed';
import type { UserSession } from './state';

/** Teams' desktop client id: the `azp` of the SSO token Teams obtains for the bot. */
const TEAMS_DESKTOP_CLIENT_ID = '1fec8e78-bce4-4aaf-ab1b-5451cc387264';

export interface UserAssertionOptions {
  audience?: string;
  scp?: string;
  expiresInSeconds?: number;
  /** Authentication methods; PIM's MfaRule looks for `mfa`. */
  amr?: string[];
  /** Conditional Access authentication contexts the sign-in satisfied (the `acrs` claim); omitted when empty. */
  acrs?: string[];
  issuer?: string;
}

/** The token Teams SSO would hand the bot for this user (`aud` = the bot's `api://botid-…` resource). */
export async function issueUserAssertion(ctx: SimContext, user: SeedUser, opts: UserAssertionOptions = {}): Promise<string> {
  return ctx.tokens.sign(
    {
      aud: opts.audience ?? ssoResource(ctx.botApp.clientId),
      iss: opts.issuer ?? ctx.issuer(),
      tid: ctx.tenantId,
      sub: `sub-${user.id}`,
      oid: user.id,
      upn: user.userPrincipalName,
      preferred_username: user.userPrincipalName,
      name: user.displayName,
      azp: TEAMS_DESKTOP_CLIENT_ID,
      azpacr: '0',
      scp: opts.scp ?? 'access_as_user',
      idtyp: 'user',
      amr: opts.amr ?? ['pwd', 'mfa'],
      ...(opts.acrs?.length ? { acrs: [...opts.acrs] } : {}),
      ver: '2.0',
    },
    { expiresInSeconds: opts.expiresInSeconds },
  );
}

/** The `amr`/`acrs` a token issued from this session carries. */
export function sessionClaims(s: UserSession): Pick<UserAssertionOptions, 'amr' | 'acrs'> {
  return { amr: s.mfa ? ['pwd', 'mfa'] : ['pwd'], acrs: s.acrs };
}

/**
 * The identity claims Entra puts in a user's v2 tokens from an interactive sign-in (authorization code, device
 * code): issuer, tenant, object id, subject, name and user name.
 */
export function signedInUserClaims(ctx: SimContext, origin: string, user: SeedUser) {
  return {
    iss: `${origin}/${ctx.tenantId}/v2.0`,
    tid: ctx.tenantId,
    oid: user.id,
    sub: `sub-${user.id}`,
    name: user.displayName,
    preferred_username: user.userPrincipalName,
    ver: '2.0',
  };
}
