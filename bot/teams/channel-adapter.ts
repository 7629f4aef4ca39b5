import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { CallerIdConstants } from 'botbuilder';
import { AuthenticationConstants, CertificateServiceClientCredentialsFactory } from 'botframework-connector';
import type { Logger } from 'pino';
import type { AppConfig } from '../../services/config/config';
import { ChannelAdapter } from '../http/messages-route';

/**
 * The Bot Framework adapter the bot receives activities and sends proactive messages with: single-tenant with
 * the app's secret or certificate in production, authentication off in the demo (loopback, enforced by the config).
 * `channelOpenIdMetadataUrl`: where the channel's token signing keys are published.
 */
export function createChannelAdapter(config: AppConfig, channelOpenIdMetadataUrl: string, log: Logger): ChannelAdapter {
  const adapter = new ChannelAdapter(
    config.bot.authenticateChannel
      ? {
          MicrosoftAppId: config.bot.appId,
          MicrosoftAppPassword: config.bot.appSecret ?? '',
          MicrosoftAppType: 'SingleTenant',
          MicrosoftAppTenantId: config.tenantId,
          // The public cloud's Bot Framework endpoints, every one spelled out: as soon as one is set (the
          // token service for a sovereign cloud, the key metadata in tests) botbuilder takes them all from
          // here, and one left out is undefined (no token issuer: every activity refused).
          ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
          ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
          ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
          ToBotFromChannelOpenIdMetadataUrl: channelOpenIdMetadataUrl,
          ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
          OAuthUrl: config.bot.oauthUrl ?? AuthenticationConstants.OAuthUrl,
          CallerId: CallerIdConstants.PublicAzureChannel,
          ValidateAuthority: true,
        }
      : {
          // Demo only (loopback, enforced by the config): no app id means Bot Framework auth is off.
          MicrosoftAppId: '',
          MicrosoftAppPassword: '',
          MicrosoftAppType: 'MultiTenant',
          ...(config.bot.oauthUrl ? { OAuthUrl: config.bot.oauthUrl } : {}),
        },
    config.bot.authenticateChannel && config.bot.certificatePath ? certificateFactory(config) : undefined,
  );
  adapter.onTurnError = async (ctx, err) => {
    log.error({ err: { message: err.message }, activityType: ctx.activity.type }, 'turn failed');
  };
  return adapter;
}

function certificateFactory(config: AppConfig): CertificateServiceClientCredentialsFactory {
  const pem = readFileSync(config.bot.certificatePath!, 'utf8');
  const cert = new X509Certificate(pem);
  const thumbprint = createHash('sha1').update(cert.raw).digest('hex').toUpperCase();
  return new CertificateServiceClientCredentialsFactory(config.bot.appId, thumbprint, pem, config.tenantId);
}
