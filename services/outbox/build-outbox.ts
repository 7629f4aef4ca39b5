import type { Client } from '@microsoft/microsoft-graph-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import type { Store } from '../store/store';
import type { GraphPersonalChats } from '../teams/personal-chats';
import { GraphSentCopyFinder } from '../teams/sent-copy-finder';
import type { Outbox } from './outbox';
import { Pacer } from './pacer';
import type { RenderSummary } from './summary';
import type { OutboxMetrics, OutboxSender } from './types';

/**
 * The outbox every channel message goes through: paced to Teams' limits, retried (so its sender does not
 * retry), collapsed into summary cards when busy, and looked for in its conversation before a post whose
 * answer was lost is sent again.
 */
export function buildOutbox(
  config: Pick<AppConfig, 'approverChannels' | 'bot' | 'outboxSendTimeoutMs' | 'cardSummaryAfter'>,
  deps: {
    store: Pick<Store, 'outbox' | 'sharedPace'>;
    graph: Client;
    personalChats: Pick<GraphPersonalChats, 'existingChatId'> | null;
    /** The Bot Connector sender (bot/teams), one HTTP call per send. */
    sender: OutboxSender;
    /** cards/summary's renderer. */
    renderSummary: RenderSummary;
    metrics: OutboxMetrics;
    log: Logger;
    now?: () => Date;
  },
): Outbox {
  const { store, personalChats, log } = deps;
  // A post whose answer was lost is looked for in its conversation before it is sent again (Graph reads).
  const teamOfChannel = new Map(Object.values(config.approverChannels).flatMap((c) => (c.teamId ? [[c.conversationId, c.teamId] as const] : [])));
  const finder = new GraphSentCopyFinder(deps.graph, {
    botAppId: config.bot.appId,
    teamOf: (channelId) => teamOfChannel.get(channelId),
    chatOf: async (userId) => (personalChats ? personalChats.existingChatId(userId) : undefined),
  });
  return store.outbox({
    finder,
    sendTimeoutMs: config.outboxSendTimeoutMs,
    // A live sender never loses its lease mid-send to another replica.
    leaseMs: Math.max(60_000, 4 * config.outboxSendTimeoutMs),
    sender: deps.sender,
    metrics: deps.metrics,
    log,
    now: deps.now,
    collapse: config.cardSummaryAfter === null ? false : { threshold: config.cardSummaryAfter },
    renderSummary: deps.renderSummary,
    // Every replica paces to Teams' full limits in the database (REPLICA_COUNT no longer divides them);
    // its own Pacer is the cheap in-process check in front.
    pacer: new Pacer(),
    sharedPace: store.sharedPace({ log }),
  });
}
