import type { Application } from '@microsoft/teams-ai/lib/Application';
import type { TurnState } from '@microsoft/teams-ai/lib/TurnState';
import type { Logger } from 'pino';
import type { AppConfig } from '../../services/config/config';
import { DigestActionFlow } from '../../services/digests/digest-actions';
import type { ExtensionDesk } from '../../services/extensions/extension-desk';
import type { GraphDirectory } from '../../services/graph/directory';
import { adminChannelOf } from '../../services/jobs/build-jobs';
import { answeredAdminDigestCard, answeredDigestCard } from '../../services/jobs/digests';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import { ApprovalDecisions } from '../../services/jobs/decide';
import type { ReminderLadder } from '../../services/jobs/reminders';
import type { PrometheusMetrics } from '../../services/observability/metrics';
import type { Store } from '../../services/store/store';
import { ChatCommands } from '../chat/chat-commands';
import { TokenServiceSignIn } from '../chat/chat-sign-in';
import type { ChatStatusMessages } from '../chat/status-messages';
import { ApprovalActions } from './approval-actions';
import type { ApproverIdentity } from './approver-identity';
import { approverSsoToken } from './approver-token';
import { adminAskCard, DigestActions } from './digest-actions';
import { ExtensionActions } from './extension-actions';
import { EmergencyActions } from './emergency-actions';
import type { BreakGlass } from '../../services/emergency/break-glass';
import { createTeamsApp } from './teams-app';
import type { TeamsConnector } from './teams-connector';

/**
 * The teams-ai Application and what answers in it: approval card clicks (decided in PIM as the approver),
 * chat messages and chat card actions (the personal chat), and digest card actions, each acting as the
 * person who clicked through `approver`.
 */
export function buildTeamsApp(
  config: AppConfig,
  deps: {
    store: Store;
    directory: GraphDirectory;
    delivery: CardDelivery;
    chatStatus: ChatStatusMessages;
    reminders: ReminderLadder;
    /** Where a digest click's answer re-renders the digest it came from (the job that sent it, and its renderer). */
    digests: Parameters<typeof answeredDigestCard>[0] & Parameters<typeof answeredAdminDigestCard>[0];
    teams: TeamsConnector;
    approver: ApproverIdentity;
    /** Extension and renewal asks, decided from their card in the admin channel. */
    extensionDesk: ExtensionDesk;
    /** Break-glass grants' post-incident notes and second-person reviews. */
    breakGlass: Pick<BreakGlass, 'note' | 'review'>;
    metrics: PrometheusMetrics;
    log: Logger;
    now?: () => Date;
  },
): Application<TurnState> {
  const { store, directory, delivery, log, now } = deps;
  const { pimAs, sso: ssoOptions } = deps.approver;
  const { notifier } = deps.teams;
  const actions = new ApprovalActions({
    decisions: new ApprovalDecisions({
      requests: store.requests,
      directory,
      delivery,
      pimAs: (sso, row) => pimAs.approvals(row, sso),
      minJustification: config.minApproverJustification,
      invokeBudgetMs: config.approvalInvokeBudgetMs,
      now,
    }),
    ssoToken: (ctx) => approverSsoToken(ctx, ssoOptions),
    remind: async (requestId, requesterId) => {
      const row = await store.requests.get(requestId);
      if (!row) return null;
      const message = await deps.reminders.remindNow(row, requesterId);
      return { row: (await store.requests.get(requestId)) ?? row, message };
    },
    log,
    now,
  });
  const chatSignIn = new TokenServiceSignIn(ssoOptions, log);
  // One flow for the digest's buttons and chat's "renew <role>": a renewal is asked, answered and audited alike.
  const digestFlow = new DigestActionFlow({
    requests: store.requests,
    reviews: store.auditReviews(now),
    audit: store.audit,
    directory,
    notifier,
    renderers: { adminAskCard },
    // A group's extension or renewal (PIM has no self-service for it) is decided from a card in the admin channel.
    decisions: deps.extensionDesk,
    adminChannel: adminChannelOf(config),
    log,
    now,
  });
  const selfServiceFor = (sso: string, claims: string | null | undefined) => pimAs.selfService(sso, claims);
  const chat = new ChatCommands({
    store,
    directory,
    status: deps.chatStatus,
    delivery,
    signIn: chatSignIn,
    reminders: deps.reminders,
    renewal: digestFlow,
    // Loaded only when configured: teams-ai's package root loads its whole AI stack (planners, models,
    // embeddings), +26 MB for a bot that otherwise uses only the Application and the adapter (lib/ imports).
    naturalLanguage: config.naturalLanguage
      ? (require('../chat/nl-planner') as typeof import('../chat/nl-planner')).createAzureOpenAiPlanner(config.naturalLanguage, {
          logger: log,
        })
      : null,
    selfServiceFor,
    log,
    now,
  });
  const digestActions = new DigestActions({
    flow: digestFlow,
    signIn: chatSignIn,
    selfServiceFor: (sso) => selfServiceFor(sso, null),
    answeredDigest: (userId, date, entry, answer) => answeredDigestCard(deps.digests, userId, date, entry, answer) as Promise<AdaptiveCardJson | null>,
    answeredAdminDigest: (date, requestId, answer) => answeredAdminDigestCard(deps.digests, date, requestId, answer) as Promise<AdaptiveCardJson | null>,
    adminConversationId: adminChannelOf(config)?.conversationId ?? null,
  });
  const extensionActions = new ExtensionActions({
    desk: deps.extensionDesk,
    signIn: chatSignIn,
    schedulesFor: (sso) => pimAs.adminSchedules(sso),
    adminConversationId: adminChannelOf(config)?.conversationId ?? null,
    now,
  });
  return createTeamsApp({
    adapter: deps.teams.adapter,
    botAppId: deps.teams.connectorAppId,
    store,
    actions,
    chat,
    digestActions,
    extensionActions,
    emergencyActions: new EmergencyActions({ breakGlass: deps.breakGlass, adminConversationId: adminChannelOf(config)?.conversationId ?? null }),
    log,
    metrics: deps.metrics,
    loopbackServiceUrlsOnly: config.mode === 'demo',
  });
}
