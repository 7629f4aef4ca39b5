import { checkNameText, checkWord } from '../../cards/approval-card';
import { cardDataOf } from '../../cards/approval-view';
import type { AddressInfo } from 'node:net';
import type { Application } from '@microsoft/teams-ai/lib/Application';
import type { TurnState } from '@microsoft/teams-ai/lib/TurnState';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { createPimTokenValidator } from '../../services/auth/pim-caller-token';
import type { AppConfig } from '../../services/config/config';
import type { DecisionPorts } from '../../services/decision/evaluate-activation';
import type { DecisionPolicy } from '../../services/decision/policy';
import type { GraphDirectory } from '../../services/graph/directory';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import { ApprovalDecisions } from '../../services/jobs/decide';
import type { PrometheusMetrics } from '../../services/observability/metrics';
import type { Readiness } from '../../services/observability/readiness';
import type { Store } from '../../services/store/store';
import type { AppGraph } from '../../services/graph/app-clients';
import type { ReminderLadder } from '../../services/jobs/reminders';
import { TabApi } from '../../services/tab/tab-api';
import { buildTabServices } from '../../services/tab/build-tab-services';
import type { ApproverIdentity } from '../teams/approver-identity';
import type { TeamsConnector } from '../teams/teams-connector';
import { ChannelTokens } from './channel-token';
import { refuseDemoHost, refuseNonLoopbackServiceUrl } from './demo-containment';
import { BotHttpServer } from './http-server';
import { registerMessagesRoute } from './messages-route';
import { registerOperationsRoutes } from './operations-routes';
import { type EvaluateDeps, registerEvaluateRoute } from './pim-evaluate';
import { registerEventRoutes } from './pim-events';
import { registerTabRoutes } from './tab-routes';
import { defaultTabDir, registerTabStatic } from './tab-static';
import { registerTabConfigRoute } from './tab-config-route';

/**
 * The HTTP server with every route registered (not listening yet): /healthz, /readyz and /metrics; PIM's
 * callout (/api/pim/evaluate) and events, both authenticated with PIM's token (the tenant's signing keys);
 * /api/messages, the Bot Framework's activities for the teams-ai app; and the PIM tab's API (/api/tab/*),
 * authenticated with the user's Teams SSO token, whose decisions go through the card's decision flow.
 */
export function buildHttpServer(
  config: AppConfig,
  deps: {
    store: Store;
    delivery: CardDelivery;
    readiness: Readiness;
    metrics: PrometheusMetrics;
    policy: DecisionPolicy;
    decisionPorts: DecisionPorts;
    tenantKeys: JWTVerifyGetKey;
    /** The channel adapter activities go through, and where the channel's token signing keys are published. */
    teams: Pick<TeamsConnector, 'adapter' | 'channelOpenIdMetadataUrl'>;
    app: Application<TurnState>;
    /** Who the tab's caller is (their SSO token, verified like every user token) and PIM on their behalf. */
    approver: ApproverIdentity;
    directory: GraphDirectory;
    /** The tab: the requester's reminder (the ladder's), and Graph and ARM as the app (time zones, tenant reads for the dashboard). */
    reminders: Pick<ReminderLadder, 'remindNow'>;
    appGraph: Pick<AppGraph, 'graph' | 'arm'>;
    /** Break-glass after the decision (services/emergency); absent: no emergency grant. */
    breakGlass?: EvaluateDeps['breakGlass'];
    log: Logger;
    now?: () => Date;
  },
): BotHttpServer {
  const { store, delivery, metrics, log, now } = deps;
  const validateToken = createPimTokenValidator({
    issuers: config.pimEndpoint.issuers,
    jwksUri: config.pimEndpoint.jwksUri,
    audience: config.pimEndpoint.appIdUri,
    allowedCallerAppIds: config.pimEndpoint.allowedCallerAppIds,
    keys: deps.tenantKeys,
  });
  const server = new BotHttpServer(log);
  // Demo: only requests addressed to a loopback name, on every route (a DNS-rebinding page's carry its own name).
  if (config.mode === 'demo') server.refuseAll((req) => refuseDemoHost(req.headers.host));
  registerOperationsRoutes(server, { readiness: deps.readiness, metrics, metricsAccess: config.metrics, log });
  registerEvaluateRoute(server, {
    store,
    delivery,
    validateToken,
    policy: deps.policy,
    ports: deps.decisionPorts,
    budgetMs: config.pimEndpoint.budgetMs,
    log,
    now,
    metrics,
    breakGlass: deps.breakGlass,
  });
  registerEventRoutes(server, { config, store, delivery, validatePimToken: validateToken, log, now });
  registerMessagesRoute(server, {
    adapter: deps.teams.adapter,
    app: deps.app,
    // In demo the playground sends no token (and botbuilder's authentication is off).
    channelTokens: config.bot.authenticateChannel
      ? new ChannelTokens({ appId: config.bot.appId, openIdMetadataUrl: deps.teams.channelOpenIdMetadataUrl })
      : null,
    // Demo (no channel authentication): an activity whose serviceUrl is off loopback is refused before anything is stored or sent.
    refuseActivity: config.mode === 'demo' ? refuseNonLoopbackServiceUrl : undefined,
    log,
  });
  // The tab's decisions: the card's flow (services/jobs/decide.ts) with the same ports, so one claim per request.
  const decisions = new ApprovalDecisions({
    requests: store.requests,
    directory: deps.directory,
    delivery,
    pimAs: (sso, row) => deps.approver.pimAs.approvals(row, sso),
    minJustification: config.minApproverJustification,
    invokeBudgetMs: config.approvalInvokeBudgetMs,
    now,
  });
  // The tab's other views: the chat's own flows (activation, cancel, end), the ladder's reminder, the digests' tenant reads.
  const tab = buildTabServices(config, {
    store,
    delivery,
    directory: deps.directory,
    appGraph: deps.appGraph,
    reminders: deps.reminders,
    selfServiceFor: (sso) => deps.approver.pimAs.selfService(sso, null),
    log,
    now,
  });
  registerTabRoutes(server, {
    api: new TabApi({
      requests: store.requests,
      decisions,
      minJustification: config.minApproverJustification,
      // The card's own identity-risk and history blocks, so the tab shows an approver what the card does.
      cardBlocks: (row, at) => {
        const card = cardDataOf(row, at);
        const checks = (card.checkLines ?? []).map((l) => ({
          result: l.result,
          onFail: l.onFail,
          word: checkWord(l),
          title: checkNameText(l.name),
          summary: l.summary,
        }));
        return { identityRisk: card.identityRisk ?? null, history: card.history ?? null, checks };
      },
      now,
    }),
    ...tab,
    verifyUser: deps.approver.sso.verifyUser,
    log,
  });
  // The tab's page (dist/tab, npm run build); it calls only this server and the sign-in authority.
  registerTabStatic(server, { dir: defaultTabDir(), connectSrc: [config.authorityHost] });
  // The tab's sign-in settings outside Teams (MSAL in the page), unauthenticated: the page has no token yet.
  registerTabConfigRoute(server, config.tabSignIn);
  return server;
}

/** Listens on PORT and HOST (routes are mounted now) and says where; the URL to reach the bot at. */
export async function startListening(server: BotHttpServer, config: Pick<AppConfig, 'port' | 'host' | 'mode'>, log: Logger): Promise<string> {
  await server.listen(config.port, config.host);
  const address = server.server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${address.port}`;
  log.info({ url, mode: config.mode }, 'bot listening');
  return url;
}
