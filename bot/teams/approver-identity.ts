import type { JWTVerifyGetKey } from 'jose';
import { createUserTokenVerifier } from '../../services/auth/user-token';
import type { AppConfig } from '../../services/config/config';
import type { IdentityOptions } from '../../services/graph/app-clients';
import type { PrometheusMetrics } from '../../services/observability/metrics';
import { pimOnBehalfOf } from './approver-pim';
import { onBehalfOfCache, type SsoOptions } from './approver-token';

/** How the bot acts as the person who clicked: their SSO token, proven, and PIM on their behalf. */
export interface ApproverIdentity {
  /** PIM as the approver (decisions) or the user (their own activations), on behalf of their SSO token. */
  pimAs: ReturnType<typeof pimOnBehalfOf>;
  /** The Bot Framework token service's connection and the proof a token is the clicker's. */
  sso: SsoOptions;
}

/**
 * On-behalf-of credentials (cached per SSO token) for PIM, and the SSO options: every user token the bot acts
 * with must prove the Teams user who clicked (services/auth/user-token), checked with the tenant's signing keys.
 */
export function approverIdentity(
  config: AppConfig,
  deps: { identityOptions: IdentityOptions; tenantKeys: JWTVerifyGetKey; metrics: PrometheusMetrics },
): ApproverIdentity {
  const oboOptions = {
    tenantId: config.tenantId,
    clientId: config.bot.appId,
    clientSecret: config.bot.appSecret,
    certificatePath: config.bot.certificatePath,
    ...deps.identityOptions,
  };
  const pimAs = pimOnBehalfOf(config, onBehalfOfCache(oboOptions), deps.metrics);
  const sso: SsoOptions = {
    connectionName: config.bot.oauthConnectionName,
    verifyUser: createUserTokenVerifier({
      tenantId: config.tenantId,
      issuers: config.pimEndpoint.issuers,
      audiences: [`api://botid-${config.bot.appId}`, config.bot.appId],
      jwksUri: config.pimEndpoint.jwksUri,
      keys: deps.tenantKeys,
    }),
    // Demo: the playground sends no Bot Framework token (see SsoOptions).
    unauthenticatedClient: config.bot.authenticateChannel
      ? undefined
      : { appId: config.bot.appId, oauthUrl: config.bot.oauthUrl ?? 'https://api.botframework.com' },
  };
  return { pimAs, sso };
}
