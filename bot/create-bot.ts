import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { AuthenticationConstants } from 'botframework-connector';
import pino, { type Logger } from 'pino';
import type { AppConfig } from '../services/config/config';
import { createPimTokenValidator } from '../services/auth/pim-caller-token';
import { tenantSigningKeys } from '../services/auth/tenant-keys';
import { createUserTokenVerifier } from '../services/auth/user-token';
import { GraphDirectory } from '../services/graph/directory';
import { ArmAzureReads, ArmClient } from '../services/graph/arm';
import { refOf } from '../services/approvals/request-display';
import { approvalCardRenderers } from '../cards/approval-view';
import { renderAdminDigestCards, renderUserDigestCard } from '../cards/digest';
import { renderSummaryCard } from '../cards/summary/summary-card';
import { createGraphClient } from '../services/graph/graph-client';
import { Store } from '../services/store/store';
import { logAuditAnchors } from '../services/audit/anchor-log';
import { ApprovalActions } from './teams/approval-actions';
import { approverSsoToken, onBehalfOfCache } from './teams/approver-token';
import { ChatCommands } from './chat/chat-commands';
import { TokenServiceSignIn } from './chat/chat-sign-in';
import { ChatStatusMessages } from './chat/status-messages';
import { ReminderLadder } from '../services/jobs/reminders';
import { PresenceBoard } from '../services/jobs/presence-board';
import { GraphPresenceReader } from '../services/graph/presence';
import { DailyDigests } from '../services/jobs/digests';
import { DigestActions } from './teams/digest-actions';
import { GraphTenantReader } from '../services/digests';
import { UserTimeZones } from '../services/jobs/user-time-zone';
import type { JobScheduler } from '../services/jobs/scheduler';
import { hostname } from 'node:os';
import { CardDelivery } from '../services/jobs/card-delivery';
import { errInfo } from '../services/observability/err-info';
import { RequesterSignalsReader } from '../services/jobs/requester-signals';
import { requesterLookup } from '../services/graph/requester-lookup';
import { GraphActivationHistory } from '../services/graph/activation-history';
import { Reconciler } from '../services/jobs/reconciler';
import { readRequestStatuses } from '../services/graph/pim-requests';
import { TeamsChatNotifier } from './teams/chat-notifier';
import { NotifierSender } from './teams/outbox-sender';
import { GraphPersonalChats } from '../services/teams/personal-chats';
import { GraphSentCopyFinder } from '../services/teams/sent-copy-finder';
import type { Outbox } from '../services/outbox/outbox';
import { Pacer } from '../services/outbox/pacer';
import { registerEvaluateRoute } from './http/pim-evaluate';
import { registerEventRoutes } from './http/pim-events';
import { createTeamsApp } from './teams/teams-app';
import { refuseDemoHost, refuseNonLoopbackServiceUrl } from './http/demo-containment';
import { loadPolicy } from '../services/config/load-policy';
import { warnAboutExactlyOnceGaps } from '../services/config/startup-warnings';
import { scheduleOutboxPrune } from '../services/jobs/outbox-prune';
import { createIntegrations, parseIntegrationsSettings } from '../services/integrations/settings';
import type { DecisionPorts } from '../services/decision/evaluate-activation';
import { correlationMixin } from '../services/observability/correlation';
import { PrometheusMetrics } from '../services/observability/metrics';
import { Readiness } from '../services/observability/readiness';
import { BOT_FRAMEWORK_SCOPE, connectorCheck, GRAPH_SCOPE, tokenCheck } from '../services/observability/readiness-checks';
import { registerOperationsRoutes } from './http/operations-routes';
import { BotHttpServer } from './http/http-server';
// teams-ai's package root loads its whole AI stack (planners, models, embeddings): +26 MB for a bot
// that uses only the Application and the adapter (lib/TeamsAdapter, under ChannelAdapter) unless natural
// language is configured.
import { registerMessagesRoute } from './http/messages-route';
import { createChannelAdapter } from './teams/channel-adapter';
import { pimOnBehalfOf } from './teams/approver-pim';
import { ChannelTokens } from './http/channel-token';

/** How often owed card posts and updates are retried (after Teams or Graph failures, or a restart). */
const SWEEP_INTERVAL_MS = 15_000;
/** How often due jobs (reminders, digests) are looked for. */
const JOBS_INTERVAL_MS = 5_000;
/** How often the outbox looks for due messages besides being woken by each new one (paced or retried sends). */
const OUTBOX_INTERVAL_MS = 500;
/** How often each replica logs the audit trail's head (the anchor that shows rows deleted from the end). */
const AUDIT_ANCHOR_INTERVAL_MS = 3600_000;

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
  /** The process's Prometheus registry (what /metrics serves). */
  metrics: PrometheusMetrics;
  close(): Promise<void>;
}

const MICROSOFT_AUTHORITIES = ['https://login.microsoftonline.com', 'https://login.microsoftonline.us', 'https://login.partner.microsoftonline.cn'];

/** The composition root: every dependency is built here from the config, nowhere else. */
export async function startBot(
  config: AppConfig,
  opts: {
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
  } = {},
): Promise<RunningBot> {
  // Every line logged while serving a request carries its correlation id (the mixin reads it from the async context).
  // Asynchronous writes: a line is handed to the kernel off the request's path, and lines that queue up
  // while one is being written go out together (synchronous stdout writes were 8% of a card action's CPU).
  // pino flushes what is queued when the process exits.
  const log =
    opts.logger ??
    pino(
      { level: config.logLevel, mixin: correlationMixin, redact: ['req.headers.authorization', '*.token', '*.clientSecret', '*.appSecret', '*.apiKey'] },
      pino.destination({ dest: 1, sync: false }),
    );
  const store = await Store.open(config.databaseUrl);
  const metrics = new PrometheusMetrics(store.scrapeSources(opts.now), {
    onScrapeError: (what, err) => log.warn({ err: errInfo(err), what }, 'metrics: a database gauge could not be read'),
  });
  const disableInstanceDiscovery = !MICROSOFT_AUTHORITIES.includes(config.authorityHost);
  const identityOptions = { authorityHost: config.authorityHost, disableInstanceDiscovery };

  const appCredential: TokenCredential = config.bot.certificatePath
    ? new ClientCertificateCredential(config.tenantId, config.bot.appId, { certificatePath: config.bot.certificatePath }, identityOptions)
    : new ClientSecretCredential(config.tenantId, config.bot.appId, config.bot.appSecret!, identityOptions);
  const appGraph = createGraphClient(config.graphBaseUrl, appCredential, undefined, { metrics });
  // Azure resource reads (role names, policies, statuses) go to ARM with the same app identity;
  // approver groups in an ARM policy are expanded through Graph.
  const appArm = new ArmClient(config.armBaseUrl, appCredential, { metrics });
  const directory: GraphDirectory = new GraphDirectory(appGraph, new ArmAzureReads(appArm, (groupId) => directory.groupMembers(groupId)));
  const loaded = loadPolicy(config.policySource);
  // HUMAN_ONLY_ROLE_IDS adds to the policy's list; it can never remove a role from it.
  const policy = { ...loaded, humanOnlyRoleIds: [...new Set([...loaded.humanOnlyRoleIds, ...config.humanOnlyRoleIds])] };
  const integrations = createIntegrations(parseIntegrationsSettings(policy.integrations ?? {}), { graph: appGraph, secret: config.secret });
  const decisionPorts: DecisionPorts = {
    requester: (principalId) => requesterLookup(directory, principalId),
    tickets: integrations.ticketSystems,
    onCall: integrations.onCall,
    hr: integrations.hr,
    identityRisk: integrations.identityRisk,
  };

  const channelOpenIdMetadataUrl = opts.channelOpenIdMetadataUrl ?? AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl;
  const adapter = createChannelAdapter(config, channelOpenIdMetadataUrl, log);

  // In demo the playground sends no Bot Framework token, so the bot has no app id to send with.
  const connectorAppId = config.bot.authenticateChannel ? config.bot.appId : '';
  const onThrottled = () => metrics.teamsThrottled();
  const notifier = new TeamsChatNotifier(adapter, connectorAppId, config.tenantId, { onThrottled });
  warnAboutExactlyOnceGaps(config, log);
  const personalChats = config.teamsApp
    ? new GraphPersonalChats(appGraph, {
        manifestId: config.teamsApp.manifestId,
        botAppId: config.bot.appId,
        tenantId: config.tenantId,
        serviceUrl: config.teamsApp.serviceUrl,
        log,
      })
    : null;
  // A post whose answer was lost is looked for in its conversation before it is sent again (Graph reads).
  const teamOfChannel = new Map(Object.values(config.approverChannels).flatMap((c) => (c.teamId ? [[c.conversationId, c.teamId] as const] : [])));
  const finder = new GraphSentCopyFinder(appGraph, {
    botAppId: config.bot.appId,
    teamOf: (channelId) => teamOfChannel.get(channelId),
    chatOf: async (userId) => (personalChats ? personalChats.existingChatId(userId) : undefined),
  });
  // Channel messages go through the outbox, which paces them and retries (so its notifier does not).
  const outbox = store.outbox({
    finder,
    sendTimeoutMs: config.outboxSendTimeoutMs,
    // A live sender never loses its lease mid-send to another replica.
    leaseMs: Math.max(60_000, 4 * config.outboxSendTimeoutMs),
    sender: new NotifierSender(new TeamsChatNotifier(adapter, connectorAppId, config.tenantId, { retries: false, onThrottled })),
    metrics,
    log,
    now: opts.now,
    collapse: config.cardSummaryAfter === null ? false : { threshold: config.cardSummaryAfter },
    renderSummary: renderSummaryCard,
    // Every replica paces to Teams' full limits in the database (REPLICA_COUNT no longer divides them);
    // its own Pacer is the cheap in-process check in front.
    pacer: new Pacer(),
    sharedPace: store.sharedPace({ log }),
  });
  // The card shows the requester's identity risk (when ID Protection is configured) and history with the role.
  const requesterSignals = new RequesterSignalsReader({
    store,
    pimHistory: new GraphActivationHistory(appGraph),
    identityRisk: integrations.identityRisk,
    log,
    now: opts.now,
  });
  const delivery = new CardDelivery(store, directory, approvalCardRenderers, outbox, config.approverChannels, log, opts.now, requesterSignals);
  delivery.bindingMetrics = metrics;
  const oboOptions = {
    tenantId: config.tenantId,
    clientId: config.bot.appId,
    clientSecret: config.bot.appSecret,
    certificatePath: config.bot.certificatePath,
    ...identityOptions,
  };
  const pimAs = pimOnBehalfOf(config, onBehalfOfCache(oboOptions), metrics);
  // The tenant's signing keys, fetched and cached once for PIM's callout tokens and the users' SSO tokens.
  const tenantKeys = tenantSigningKeys(config.pimEndpoint.jwksUri);
  const ssoOptions = {
    connectionName: config.bot.oauthConnectionName,
    // Every user token the bot acts with must prove the Teams user who clicked (services/auth/user-token).
    verifyUser: createUserTokenVerifier({
      tenantId: config.tenantId,
      issuers: config.pimEndpoint.issuers,
      audiences: [`api://botid-${config.bot.appId}`, config.bot.appId],
      jwksUri: config.pimEndpoint.jwksUri,
      keys: tenantKeys,
    }),
    unauthenticatedClient: config.bot.authenticateChannel
      ? undefined
      : { appId: config.bot.appId, oauthUrl: config.bot.oauthUrl ?? 'https://api.botframework.com' },
  };
  const actions = new ApprovalActions({
    store,
    directory,
    delivery,
    ssoToken: (ctx) => approverSsoToken(ctx, ssoOptions),
    pimAs: (sso, row) => pimAs.approvals(row, sso),
    minJustification: config.minApproverJustification,
    invokeBudgetMs: config.approvalInvokeBudgetMs,
    log,
    now: opts.now,
  });
  const chatStatus = new ChatStatusMessages({ chat: store.chat, store, notifier, log, now: opts.now, outbox });
  // Durable jobs (reminders, digests): leased, so with several replicas each runs once.
  // Names this replica in job and reconciler leases.
  const replica = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const scheduler = store.scheduler({ owner: replica, now: opts.now, log });
  const adminChannel = config.approverChannels.admin ?? config.approverChannels.default ?? null;
  const digests = new DailyDigests({
    store,
    scheduler,
    reads: new GraphTenantReader(appGraph),
    timeZones: new UserTimeZones(appGraph, config.digests.defaultTimeZone),
    notifier,
    renderers: { userDigestCard: renderUserDigestCard, adminDigestCards: renderAdminDigestCards },
    personalChats,
    adminChannel,
    settings: {
      localTime: config.digests.localTime,
      adminTimeZone: config.digests.defaultTimeZone,
      checkEveryMinutes: config.digests.checkEveryMinutes,
      groupIds: config.digests.groupIds,
      dormantAfterDays: config.digests.dormantAfterDays,
      spotAuditRate: config.digests.spotAuditRate,
      // Reproducible per tenant, and not computable from request ids alone by someone outside it.
      spotAuditSalt: createHash('sha256').update(`spot-audit:${config.tenantId}:${config.bot.appId}`).digest('hex'),
    },
    log,
    now: opts.now,
  });
  const presence = config.presence
    ? {
        board: new PresenceBoard(new GraphPresenceReader(appGraph), { log, now: opts.now ?? (() => new Date()) }),
        earlyEscalationAfterMs: config.presence.earlyEscalationAfterMinutes * 60_000,
      }
    : null;
  const reminders = new ReminderLadder({
    store,
    directory,
    delivery,
    scheduler,
    channels: config.approverChannels,
    policy,
    log,
    now: opts.now,
    presence,
    metrics,
  });
  // Each request's ladder starts when its cards are posted.
  delivery.onCardsPosted((requestId) => reminders.start(requestId));
  delivery.followRequests(chatStatus);
  const chatSignIn = new TokenServiceSignIn(ssoOptions, log);
  const selfServiceFor = (sso: string, claims: string | null | undefined) => pimAs.selfService(sso, claims);
  const chat = new ChatCommands({
    store,
    directory,
    status: chatStatus,
    delivery,
    signIn: chatSignIn,
    reminders,
    // Loaded only when configured: the planner pulls in teams-ai's AI stack.
    naturalLanguage: config.naturalLanguage
      ? (require('./chat/nl-planner') as typeof import('./chat/nl-planner')).createAzureOpenAiPlanner(config.naturalLanguage, {
          logger: log,
        })
      : null,
    selfServiceFor,
    log,
    now: opts.now,
  });
  const digestActions = new DigestActions({
    store,
    signIn: chatSignIn,
    selfServiceFor: (sso) => selfServiceFor(sso, null),
    directory,
    notifier,
    adminChannel,
    log,
    now: opts.now,
  });
  const app = createTeamsApp({
    adapter,
    botAppId: connectorAppId,
    store,
    actions,
    chat,
    digestActions,
    log,
    metrics,
    loopbackServiceUrlsOnly: config.mode === 'demo',
  });
  const validateToken = createPimTokenValidator({
    issuers: config.pimEndpoint.issuers,
    jwksUri: config.pimEndpoint.jwksUri,
    audience: config.pimEndpoint.appIdUri,
    allowedCallerAppIds: config.pimEndpoint.allowedCallerAppIds,
    keys: tenantKeys,
  });

  const server = new BotHttpServer(log);
  // Demo: only requests addressed to a loopback name, on every route (a DNS-rebinding page's carry its own name).
  if (config.mode === 'demo') server.refuseAll((req) => refuseDemoHost(req.headers.host));
  const readiness = new Readiness(
    [
      store.readinessCheck(),
      tokenCheck('graphToken', appCredential, GRAPH_SCOPE),
      // In demo the playground's connector takes no token (Bot Framework auth is off), so there is none to get.
      ...(config.bot.authenticateChannel ? [tokenCheck('botFrameworkToken', appCredential, BOT_FRAMEWORK_SCOPE)] : []),
      connectorCheck(Object.values(config.approverChannels).map((c) => c.serviceUrl)),
    ],
    { onFailure: (check, err) => log.warn({ check, err: errInfo(err) }, 'readiness check failed') },
  );
  metrics.exposeReadiness(() => readiness.report());
  registerOperationsRoutes(server, { readiness, metrics, metricsAccess: config.metrics, log });
  registerEvaluateRoute(server, {
    store,
    delivery,
    validateToken,
    policy,
    ports: decisionPorts,
    budgetMs: config.pimEndpoint.budgetMs,
    log,
    now: opts.now,
    metrics,
  });
  registerEventRoutes(server, { config, store, delivery, validatePimToken: validateToken, log, now: opts.now });
  registerMessagesRoute(server, {
    adapter,
    app,
    // In demo the playground sends no token (and botbuilder's authentication is off).
    channelTokens: config.bot.authenticateChannel ? new ChannelTokens({ appId: config.bot.appId, openIdMetadataUrl: channelOpenIdMetadataUrl }) : null,
    // Demo (no channel authentication): an activity whose serviceUrl is off loopback is refused before anything is stored or sent.
    refuseActivity: config.mode === 'demo' ? refuseNonLoopbackServiceUrl : undefined,
    log,
  });

  await server.listen(config.port, config.host);
  const address = server.server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${address.port}`;
  log.info({ url, mode: config.mode }, 'bot listening');

  const reconciler = new Reconciler({
    store,
    delivery,
    readStatuses: (ids, signal, kind) => readRequestStatuses(appGraph, ids, signal, { kind }),
    readAzureStatus: (row) => directory.requestStatus(refOf(row)),
    log,
    now: opts.now,
    // With several replicas, one reads PIM for all.
    lease: (ms) => store.tryLease('reconciler', replica, ms, opts.now?.() ?? new Date()),
  });
  reconciler.start(config.reconcileIntervalMs);
  // At start-up, a ladder for any open request that has none yet (cards posted before a restart).
  await reminders.startPending();
  await digests.start();
  await scheduleOutboxPrune(scheduler, outbox, log, opts.now);
  if (opts.jobsIntervalMs !== 0) scheduler.start(opts.jobsIntervalMs ?? JOBS_INTERVAL_MS);
  outbox.start(OUTBOX_INTERVAL_MS);
  const stopAuditAnchors = logAuditAnchors(store.audit, log, AUDIT_ANCHOR_INTERVAL_MS);
  delivery.startSweeps(opts.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  chatStatus.start(opts.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  void delivery.sweep().catch(() => undefined);

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
    metrics,
    async close() {
      readiness.markStopping();
      delivery.stopSweeps();
      chatStatus.stop();
      stopAuditAnchors();
      await scheduler.stop();
      await reconciler.stop();
      await outbox.stop();
      await server.close();
      await delivery.drain();
      await store.close();
    },
  };
}
