import { AuthenticationConstants } from 'botframework-connector';
import type { Logger } from 'pino';
import type { AppConfig } from '../../services/config/config';
import type { Metrics } from '../../services/observability/metrics';
import type { ChannelAdapter } from '../http/messages-route';
import { createChannelAdapter } from './channel-adapter';
import { TeamsChatNotifier } from './chat-notifier';
import { NotifierSender } from './outbox-sender';

/** The Bot Framework side of Teams: the adapter activities come in through, and the two ways messages go out. */
export interface TeamsConnector {
  adapter: ChannelAdapter;
  /** The app id the bot sends with: '' in demo, where the playground sends no Bot Framework token. */
  connectorAppId: string;
  /** Where the channel's token signing keys are published (OpenID metadata). */
  channelOpenIdMetadataUrl: string;
  /** Proactive messages with the Bot Connector's own retries (chat status messages, digests, digest actions). */
  notifier: TeamsChatNotifier;
  /** The outbox's sender: one HTTP call per send and a 429 straight back, since the outbox paces and retries. */
  outboxSender: NotifierSender;
}

/**
 * The channel adapter and the notifiers over it; every 429 the Bot Connector answers is counted.
 * `channelOpenIdMetadataUrl`: tests publish their own signing keys; production uses the Bot Framework's.
 */
export function buildTeamsConnector(
  config: AppConfig,
  deps: { log: Logger; metrics: Pick<Metrics, 'teamsThrottled'>; channelOpenIdMetadataUrl?: string },
): TeamsConnector {
  const channelOpenIdMetadataUrl = deps.channelOpenIdMetadataUrl ?? AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl;
  const adapter = createChannelAdapter(config, channelOpenIdMetadataUrl, deps.log);
  // In demo the playground sends no Bot Framework token, so the bot has no app id to send with.
  const connectorAppId = config.bot.authenticateChannel ? config.bot.appId : '';
  const onThrottled = () => deps.metrics.teamsThrottled();
  return {
    adapter,
    connectorAppId,
    channelOpenIdMetadataUrl,
    notifier: new TeamsChatNotifier(adapter, connectorAppId, config.tenantId, { onThrottled }),
    outboxSender: new NotifierSender(new TeamsChatNotifier(adapter, connectorAppId, config.tenantId, { retries: false, onThrottled })),
  };
}
