/**
 * The composition root: `startBot` builds every part from the config (read once, by bot/main.ts) and wires
 * them, in this order. Where order matters: the store is open (migrated) before anything queries it; the
 * configuration's warnings come at start; card delivery listens to the outbox before the chat status messages
 * do; the jobs are built on the store and started only after the server listens, with every route registered.
 *
 *  1. the logger, the store (services/store; opening it runs the migrations) and the metrics over it
 *     (services/observability/process-observability);
 *  2. Graph and ARM as the bot's app identity (services/graph/app-clients), the decision policy
 *     (services/config/load-policy) and the systems of record the decision asks (services/integrations/decision-ports);
 *  3. Teams: the channel adapter and its notifiers (bot/teams/teams-connector); the configuration's warnings;
 *  4. the outbox (services/outbox/build-outbox) and card delivery over it (services/jobs/build-jobs), with
 *     cards/' renderers passed in;
 *  5. acting as the person who clicked: the tenant's signing keys, SSO and PIM on their behalf (bot/teams/approver-identity);
 *  6. the chat status messages (bot/chat), then the durable jobs, their flows and the reconciler, wired to card
 *     delivery (services/jobs/build-jobs; built, not started);
 *  7. the teams-ai app and its card actions and chat (bot/teams/build-teams-app);
 *  8. readiness (services/observability/process-observability) and the HTTP server with every route (bot/http/routes);
 *  9. listening (routes are registered before it), then the jobs and timers (services/jobs/build-jobs' `startJobs`).
 *
 * `close()` stops in this order: readiness says stopping, the timers and jobs stop, the server closes, card
 * delivery drains, the store closes.
 */
import type { Logger } from 'pino';
import { approvalCardRenderers } from '../cards/approval-view';
import { renderAdminDigestCards, renderUserDigestCard } from '../cards/digest';
import { renderSummaryCard } from '../cards/summary/summary-card';
import { renderBreakGlassCard, renderEmergencyNoteCard, renderEmergencyReviewCard } from '../cards/emergency/emergency-cards';
import { buildBreakGlass } from '../services/emergency/build-break-glass';
import { tenantSigningKeys } from '../services/auth/tenant-keys';
import type { AppConfig } from '../services/config/config';
import { loadEffectivePolicy } from '../services/config/load-policy';
import { warnAboutExactlyOnceGaps } from '../services/config/startup-warnings';
import { appGraphClients } from '../services/graph/app-clients';
import { buildExtensionDesk } from '../services/extensions/build-extension-desk';
import type { ExtensionDesk } from '../services/extensions/extension-desk';
import { buildDecisionPorts } from '../services/integrations/decision-ports';
import { buildCardDelivery, buildJobs, startJobs } from '../services/jobs/build-jobs';
import type { CardDelivery } from '../services/jobs/card-delivery';
import type { DailyDigests } from '../services/jobs/digests';
import type { Reconciler } from '../services/jobs/reconciler';
import type { ReminderLadder } from '../services/jobs/reminders';
import type { JobScheduler } from '../services/jobs/scheduler';
import type { PrometheusMetrics } from '../services/observability/metrics';
import { createLogger, createMetrics, createReadiness } from '../services/observability/process-observability';
import { buildOutbox } from '../services/outbox/build-outbox';
import type { Outbox } from '../services/outbox/outbox';
import { Store } from '../services/store/store';
import { personalChatsFor } from '../services/teams/personal-chats';
import { ChatStatusMessages } from './chat/status-messages';
import { buildHttpServer, startListening } from './http/routes';
import { signedInApproverSteps } from './teams/signed-in-approver-steps';
import { approverIdentity } from './teams/approver-identity';
import { buildTeamsApp } from './teams/build-teams-app';
import { extensionCard } from './teams/extension-actions';
import { buildTeamsConnector } from './teams/teams-connector';

export interface RunningBot {
  url: string;
  store: Store;
  delivery: CardDelivery;
  /** Paced channel messages (tests look at its rows). */
  outbox: Outbox;
  reconciler: Reconciler;
  /** The requesters' status messages for chat requests (tests drive its sweep). */
  chatStatus: ChatStatusMessages;
  /** Durable jobs; tests drive `runDue` with their own clock. */
  scheduler: JobScheduler;
  reminders: ReminderLadder;
  digests: DailyDigests;
  /** Extension and renewal asks and their admin cards (tests drive its sweep). */
  extensionDesk: ExtensionDesk;
  /** The process's Prometheus registry (what /metrics serves). */
  metrics: PrometheusMetrics;
  close(): Promise<void>;
}

export interface StartBotOptions {
  logger?: Logger;
  now?: () => Date;
  sweepIntervalMs?: number;
  /** 0: no timer (tests run jobs themselves). */
  jobsIntervalMs?: number;
  /**
   * Tests: where the channel's token signing keys are published (OpenID metadata), so forged and valid
   * Bot Framework tokens can be told apart offline. Production: the Bot Framework's own metadata.
   */
  channelOpenIdMetadataUrl?: string;
}

/** The composition root: every dependency is built here from the config, nowhere else (the map is at the top). */
export async function startBot(config: AppConfig, opts: StartBotOptions = {}): Promise<RunningBot> {
  const { now } = opts;
  const log = opts.logger ?? createLogger(config.logLevel);
  // 1. The store: opening it runs the migrations, before anything queries it. Then the metrics over it.
  const store = await Store.open(config.databaseUrl);
  const metrics = createMetrics(store, log, now);
  // 2. Graph and ARM as the bot's app identity; the decision policy; the systems of record the decision asks.
  const graph = appGraphClients(config, metrics);
  const policy = loadEffectivePolicy(config);
  const { integrations, decisionPorts } = buildDecisionPorts(policy, graph, config.secret);
  // 3. Teams: the Bot Framework adapter and the notifiers over it. Then the configuration's warnings.
  const teams = buildTeamsConnector(config, { log, metrics, channelOpenIdMetadataUrl: opts.channelOpenIdMetadataUrl });
  warnAboutExactlyOnceGaps(config, log);
  // 4. The outbox every channel message goes through (paced, retried, collapsed), and card delivery over it.
  const personalChats = personalChatsFor(config, graph.graph, log);
  const outbox = buildOutbox(config, {
    store,
    graph: graph.graph,
    personalChats,
    sender: teams.outboxSender,
    renderSummary: renderSummaryCard,
    metrics,
    log,
    now,
  });
  const delivery = buildCardDelivery(config, {
    store,
    graph,
    identityRisk: integrations.identityRisk,
    renderers: approvalCardRenderers,
    outbox,
    metrics,
    log,
    now,
  });
  // 5. Acting as the person who clicked: the tenant's signing keys (fetched and cached once, for PIM's callout
  // tokens and the users' SSO tokens), their proven SSO token, and PIM on their behalf.
  const tenantKeys = tenantSigningKeys(config.pimEndpoint.jwksUri);
  const approver = approverIdentity(config, { identityOptions: graph.identityOptions, tenantKeys, metrics });
  // 6. The chat requests' status messages, then the durable jobs (digests, reminders and escalation with
  // presence) and the reconciler, wired to card delivery.
  const chatStatus = new ChatStatusMessages({
    chat: store.chat,
    store,
    notifier: teams.notifier,
    log,
    now,
    outbox,
    endingSoonMinutes: config.endingSoonMinutes,
  });
  const digestRenderers = { userDigestCard: renderUserDigestCard, adminDigestCards: renderAdminDigestCards };
  // A decision taken outside Teams keeps its reviewer: PIM's approval steps, read as a signed-in approver.
  const readDecisionSteps = signedInApproverSteps({ adapter: teams.adapter, connectorAppId: teams.connectorAppId, store, approver, log });
  const jobs = buildJobs(config, {
    store,
    graph,
    delivery,
    notifier: teams.notifier,
    chatStatus,
    personalChats,
    digestRenderers,
    policy,
    readDecisionSteps,
    metrics,
    log,
    now,
  });
  // Extension and renewal asks: one card each in the admin channel, decided there as the administrator.
  const extensionDesk = buildExtensionDesk(config, {
    store,
    graph,
    outbox,
    hr: integrations.hr,
    identityRisk: integrations.identityRisk,
    render: extensionCard,
    log,
    now,
  });
  // Break-glass: grants recorded by the decision endpoint, broadcast, their post-incident notes and reviews (admin digest).
  const breakGlass = buildBreakGlass(config, policy, {
    store,
    scheduler: jobs.scheduler,
    outbox,
    directory: graph.directory,
    renderers: { breakGlassCard: renderBreakGlassCard, noteCard: renderEmergencyNoteCard, reviewCard: renderEmergencyReviewCard },
    log,
    now,
  });
  jobs.digests.adminDigestExtras.push(() => breakGlass.reviewCard());
  // 7. The teams-ai app: approval clicks, chat messages and chat card actions, digest and extension card actions.
  const app = buildTeamsApp(config, {
    store,
    directory: graph.directory,
    delivery,
    chatStatus,
    reminders: jobs.reminders,
    digests: { scheduler: jobs.scheduler, renderers: digestRenderers },
    teams,
    approver,
    extensionDesk,
    breakGlass,
    metrics,
    log,
    now,
  });
  // 8. Readiness (also a metric), and the HTTP server with every route: operations, PIM's callout and events, messages, the tab's API.
  const readiness = createReadiness(config, { store, appCredential: graph.credential, metrics, log });
  const server = buildHttpServer(config, {
    store,
    delivery,
    readiness,
    metrics,
    policy,
    decisionPorts,
    tenantKeys,
    teams,
    app,
    breakGlass,
    approver,
    directory: graph.directory,
    reminders: jobs.reminders,
    appGraph: graph,
    log,
    now,
  });
  // 9. Listen (the routes are mounted now), then start the background work and its timers.
  const url = await startListening(server, config, log);
  const { jobsIntervalMs, sweepIntervalMs } = opts;
  const running = await startJobs(jobs, config, { store, outbox, delivery, chatStatus, log, now, jobsIntervalMs, sweepIntervalMs });
  // PIM's waiting extension requests are read as often as the reconciler reads PIM.
  extensionDesk.start(config.reconcileIntervalMs);

  const { scheduler, reminders, digests, reconciler } = jobs;
  return {
    url,
    store,
    delivery,
    outbox,
    reconciler,
    chatStatus,
    scheduler,
    reminders,
    digests,
    extensionDesk,
    metrics,
    async close() {
      readiness.markStopping();
      extensionDesk.stop();
      await running.stop(); // timers and sweeps, the scheduler, the reconciler, the outbox
      await server.close();
      await delivery.drain();
      await store.close();
    },
  };
}
