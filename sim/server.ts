import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { ensurePki } from './pki';
import { DEMO_BOT_APP, DEMO_PIM_CALLER_APP_ID, seedTenant, type SeedTenant } from './seed';
import { SimState, type CallRecord } from './state';
import { TokenAuthority, type Claims } from './tokens';
import { Router } from './router';
import { json, readBody, send, toSimRequest, type SimRequest, type SimResponse } from './http';
import { GRAPH_RESOURCE, type CustomExtensionConfig, type SimApp, type SimContext } from './context';
import { registerEntra, entraError } from './entra';
import { registerTokenService } from './token-service';
import { registerGraphDirectory, stableGuid } from './graph-directory';
import { registerGraphMailbox } from './graph-mailbox';
import { registerGraphPresence, SimPresence } from './graph-presence';
import { registerGraphIdentityProtection } from './graph-identity-protection';
import { registerGraphTeamwork } from './graph-teamwork';
import { registerGraphPim } from './graph-pim';
import { registerGraphPimGroups } from './graph-pim-groups';
import { registerEligibilitySchedules } from './pim-renewal';
import { ARM_PREFIX, ARM_RESOURCE, createArmHandler } from './arm';
import { armRoleAssignments, registerGraphRoleAssignments } from './graph-role-assignments';
import { registerGraphBatch } from './graph-batch';
import { graphError } from './graph-common';
import { PimEngine } from './pim-engine';
import { Faults, faultResponse, spoilsAnswer } from './faults';
import { registerControl } from './control';
import { issueUserAssertion, type UserAssertionOptions } from './user-tokens';
import { integrationErrorResponse, registerIntegrations } from './integrations';
import { registerOpenAi } from './openai';
import { registerGraphApplications } from './graph-applications';
import { registerDeviceCode } from './device-code';
import { registerGraphMessages } from './graph-messages';
import { TeamsMessages } from './teams-messages';

export interface SimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Where the CA and TLS leaf live (created on first use). */
  pkiDir: string;
  seed?: SeedTenant;
  customExtension?: CustomExtensionConfig;
  /** The playground has no SSO, so by default every seeded user counts as signed in to the token service. */
  usersSignedInByDefault?: boolean;
  logger?: Logger;
  /** Used when no logger is given; silent by default so tests stay quiet. */
  logLevel?: pino.LevelWithSilent;
  /** PIM business time (expiry, timestamps). Tokens use the wall clock. */
  clock?: () => Date;
  /** PIM's caller app id as signed into the extension token's `azp`/`appid`. */
  pimCallerAppId?: string;
}

export interface SimHandle {
  url: string;
  tenantId: string;
  issuer: string;
  /** Pass as `authorityHost` to @azure/identity (with `disableInstanceDiscovery: true`). */
  authorityHost: string;
  close(): Promise<void>;
  issueUserAssertion(user: string, opts?: UserAssertionOptions): Promise<string>;
  issueToken(claims: Claims, opts?: { expiresInSeconds?: number; signWith?: 'sim' | 'foreign' }): Promise<string>;
  setCustomExtension(cfg: CustomExtensionConfig | undefined): void;
  readonly state: SimState;
  readonly pim: PimEngine;
  readonly faults: Faults;
  /** Teams presence (seeded; tests and the demo change it with POST /_sim/presence or directly). */
  readonly presence: SimPresence;
  /** The messages Teams holds: give it to the Bot Connector stand-in (startFakeConnector({ messages })) so Graph reads what it accepted. */
  readonly teams: TeamsMessages;
  readonly logger: Logger;
}

/** Application permissions of the bot's registration, as an admin would have consented them. */
const BOT_GRAPH_APP_ROLES = [
  'User.Read.All',
  'GroupMember.Read.All',
  'RoleManagement.Read.Directory',
  'RoleManagementPolicy.Read.Directory',
  'RoleAssignmentSchedule.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory',
  'PrivilegedAssignmentSchedule.Read.AzureADGroup',
  'RoleManagementPolicy.Read.AzureADGroup',
  // Users' time zones for digests and quiet hours.
  'MailboxSettings.Read',
  // Reaching a user without a chat: install the bot's Teams app for them and read the 1:1 chat id, else
  // an activity feed notification. Finding the app's catalog id needs AppCatalog.Read.All.
  'TeamsAppInstallation.ReadWriteSelfForUser.All',
  'TeamsActivity.Send',
  'AppCatalog.Read.All',
  // Approvers' Teams presence: nudges mention who is available first; nobody reachable escalates early.
  'Presence.Read.All',
  // The requester's user risk and recent risk detections (Microsoft Entra ID Protection) for decisions and cards.
  'IdentityRiskyUser.Read.All',
  'IdentityRiskEvent.Read.All',
];
/**
 * Resource-specific consent from the Teams app manifest (granted per team and chat the app is in; the
 * simulator puts them in the app token's roles): reading back the bot's own recent messages where a
 * post's answer was lost, so it is never sent twice.
 */
const BOT_RSC_ROLES = ['ChannelMessage.Read.Group', 'ChatMessage.Read.Chat'];
const BOT_GRAPH_DELEGATED = [
  'RoleAssignmentSchedule.ReadWrite.Directory',
  // PIM for Groups: approving a member/owner activation as the approver.
  'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup',
  'RoleManagement.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory',
  'RoleManagementPolicy.Read.Directory',
  // An administrator's adminExtend / adminRenew from the extension card (Entra roles; PIM for Groups).
  'RoleEligibilitySchedule.ReadWrite.Directory',
  'PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup',
  'User.Read',
];

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export async function startSimulator(opts: SimulatorOptions): Promise<SimHandle> {
  const seed = opts.seed ?? seedTenant;
  const logger = opts.logger ?? pino({ name: 'sim', level: opts.logLevel ?? 'silent' });
  const pki = ensurePki(opts.pkiDir);
  const tokens = await TokenAuthority.create();
  const state = new SimState(seed, opts.clock ?? (() => new Date()), opts.usersSignedInByDefault ?? true);
  const closing = new AbortController();
  const faults = new Faults();
  let extension = opts.customExtension;
  let port = 0;
  const host = opts.host ?? '127.0.0.1';

  const botApp: SimApp = {
    clientId: DEMO_BOT_APP.clientId,
    clientSecret: DEMO_BOT_APP.clientSecret,
    displayName: DEMO_BOT_APP.displayName,
    servicePrincipalId: stableGuid(`sp:${DEMO_BOT_APP.clientId}`),
    // ARM authorises by Azure RBAC, not token roles: the app token carries none.
    appRoles: { [GRAPH_RESOURCE]: [...BOT_GRAPH_APP_ROLES, ...BOT_RSC_ROLES], [ARM_RESOURCE]: [] },
    delegatedScopes: { [GRAPH_RESOURCE]: BOT_GRAPH_DELEGATED, [ARM_RESOURCE]: ['user_impersonation'] },
  };
  const url = () => `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuerOf = (base: string) => `${base}/${seed.tenantId}/v2.0`;
  const ctx: SimContext = {
    state,
    tokens,
    logger,
    tenantId: seed.tenantId,
    botApp,
    apps: [botApp],
    url,
    issuer: () => issuerOf(url()),
    acceptedIssuers: (origin) => {
      const set = new Set([issuerOf(url()), issuerOf(`https://127.0.0.1:${port}`), issuerOf(`https://localhost:${port}`)]);
      if (origin) set.add(issuerOf(origin));
      return [...set];
    },
    customExtension: () => extension,
    pimCallerAppId: opts.pimCallerAppId ?? DEMO_PIM_CALLER_APP_ID,
    closing: closing.signal,
  };
  const pim = new PimEngine(ctx);
  const router = new Router();
  const setCustomExtension = (cfg: CustomExtensionConfig | undefined) => {
    extension = cfg;
  };
  registerControl(router, ctx, pim, { faults, setCustomExtension });
  registerEntra(router, ctx);
  registerTokenService(router, ctx);
  registerGraphPim(router, ctx, pim);
  registerEligibilitySchedules(router, ctx);
  registerGraphPimGroups(router, ctx, pim);
  registerGraphDirectory(router, ctx);
  registerGraphRoleAssignments(router, ctx);
  registerGraphMailbox(router, ctx);
  const presence = new SimPresence(seed.presence);
  registerGraphPresence(router, ctx, presence);
  registerGraphIdentityProtection(router, ctx);
  const teams = new TeamsMessages();
  registerGraphTeamwork(router, ctx, teams);
  registerGraphMessages(router, ctx, teams);
  registerIntegrations(router, ctx);
  registerOpenAi(router, ctx);
  registerGraphApplications(router, ctx);
  registerDeviceCode(router, ctx);
  registerGraphBatch(router, ctx, (inner) => handle(inner, undefined));
  const arm = createArmHandler(ctx, pim);

  const isGraph = (p: string) => /^\/(v1\.0|beta)(\/|$)/i.test(p);

  /** The call log's entry of each call still being handled (batch items have none). */
  const logged = new WeakMap<SimRequest, CallRecord>();
  /** The caller as the route authenticated it, on the call's log entry as soon as it is known (an answer may be held long after). */
  const noteCaller = (req: SimRequest) => {
    const record = logged.get(req);
    if (record && req.caller) {
      record.oid = req.caller.oid;
      record.appid = req.caller.appid;
    }
  };

  async function handle(req: SimRequest, remote: string | undefined): Promise<SimResponse> {
    const control = req.path.startsWith('/_sim/');
    if (control && !LOOPBACK.has(remote ?? '')) return json(403, { error: { code: 'Forbidden', message: 'The control API answers loopback callers only.' } });
    if (!control) {
      const fault = faults.take(req);
      if (fault) {
        if (fault.latencyMs) await sleep(fault.latencyMs, closing.signal);
        if (fault.status) return faultResponse(req, fault.status, fault.retryAfterSeconds);
        if (fault.answerAfterMs !== undefined || spoilsAnswer(fault)) {
          const real = await route(req);
          noteCaller(req);
          const done = spoilsAnswer(fault) ? faults.spoil(fault, req, real) : real;
          if (fault.answerAfterMs !== undefined) await sleep(fault.answerAfterMs, closing.signal);
          return done;
        }
      }
    }
    return route(req);
  }

  async function route(req: SimRequest): Promise<SimResponse> {
    if (req.path === ARM_PREFIX || req.path.startsWith(`${ARM_PREFIX}/`)) return (await armRoleAssignments(ctx, req)) ?? arm(req);
    const m = router.match(req);
    if (m === undefined || m === 'method') {
      if (isGraph(req.path)) {
        const seg = req.path.split('/').filter(Boolean).slice(1).find(Boolean) ?? '';
        return m === 'method'
          ? graphError(req, 405, 'Request_BadRequest', `The HTTP method '${req.method}' is not allowed for this resource.`)
          : graphError(req, 400, 'BadRequest', `Resource not found for the segment '${seg}'.`);
      }
      const integration = integrationErrorResponse(req, m === 'method' ? 405 : 404);
      if (integration) return integration;
      if (/\/oauth2\//.test(req.path)) return entraError(404, 'invalid_request', 90000, `Unknown endpoint ${req.path}.`, req);
      return json(m === 'method' ? 405 : 404, { error: { code: 'NotFound', message: `No simulator route for ${req.method} ${req.path}.` } });
    }
    return m.handler(req, m.params);
  }

  const server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (raw: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      let req: SimRequest | undefined;
      let out: SimResponse;
      let record: CallRecord | undefined;
      try {
        req = toSimRequest(raw, await readBody(raw));
        if (!req.path.startsWith('/_sim/')) {
          // Logged on arrival: a call whose caller gives up or dies before the answer is still in the log.
          const entry: CallRecord = {
            time: new Date().toISOString(),
            method: req.method,
            path: req.path,
            query: req.query.toString(),
            status: 0,
            requestId: req.requestId,
          };
          record = entry;
          state.calls.push(entry);
          logged.set(req, entry);
          res.once('close', () => {
            if (!res.writableFinished) entry.abandoned = true;
          });
        }
        out = await handle(req, raw.socket.remoteAddress);
      } catch (err) {
        logger.error({ err, path: raw.url }, 'simulator route failed');
        out =
          req && isGraph(req.path)
            ? graphError(req, 500, 'InternalServerError', 'The simulator failed to handle the request.')
            : json(500, { error: { code: 'InternalServerError', message: 'The simulator failed to handle the request.' } });
      }
      if (req) {
        logged.delete(req);
        if (record) {
          record.status = out.status;
          record.oid = req.caller?.oid;
          record.appid = req.caller?.appid;
          record.answeredAt = new Date().toISOString();
        }
      }
      if (res.destroyed || closing.signal.aborted) {
        if (record) record.abandoned = true;
        return;
      }
      const headers: Record<string, string> = { ...(out.headers ?? {}) };
      if (req) {
        headers['request-id'] = req.requestId;
        headers['client-request-id'] = req.clientRequestId;
        logger.debug({ method: req.method, path: req.path, status: out.status, requestId: req.requestId }, 'sim call');
      }
      try {
        send(res, { ...out, headers });
      } catch (err) {
        logger.error({ err, path: raw.url }, 'simulator could not write the response');
        res.destroy();
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  logger.info({ url: url(), tenantId: seed.tenantId }, 'tenant simulator listening');

  return {
    url: url(),
    tenantId: seed.tenantId,
    issuer: ctx.issuer(),
    authorityHost: url(),
    state,
    pim,
    faults,
    presence,
    teams,
    logger,
    async close() {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async issueUserAssertion(user, o) {
      const u = state.user(user) ?? state.userByChannelId(user);
      if (!u) throw new Error(`issueUserAssertion: no seeded user '${user}'`);
      return issueUserAssertion(ctx, u, o);
    },
    issueToken: (claims, o) => tokens.sign({ iss: ctx.issuer(), tid: seed.tenantId, ver: '2.0', ...claims }, o),
    setCustomExtension,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
