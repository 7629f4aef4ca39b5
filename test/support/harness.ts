import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../services/config/config';
import { startBot, type RunningBot } from '../../bot/create-bot';
import { DIGEST_TICK } from '../../services/jobs/digests';
import { startSimulator, type SimHandle } from '../../sim/server';
import { DEMO_BOT_APP, DEMO_PIM_CALLER_APP_ID, DEMO_TENANT_ID, seedTenant, type SeedTenant, USER } from '../../sim/seed';
import type { ApprovalRequestRow } from '../../services/store/store';
import { type FakeConnector, startFakeConnector } from './fake-connector';
import { freshDatabase } from './test-database';
import { PRODUCTION_ENV } from './config-env';

export const PKI_DIR = join(__dirname, '../../.local/pki');
export const APP_ID_URI = `api://127.0.0.1/${DEMO_BOT_APP.clientId}`;
export const CHANNEL_ID = '19:approvers-test@thread.tacv2';
/** The team the approver channels are in (APPROVER_CHANNELS' teamId): Graph reads a channel's messages by it. */
export const TEAM_ID = '7c3d9e52-41a8-4c0b-9f6e-2b8d5a1c0e47';

export interface Harness {
  sim: SimHandle;
  bot: RunningBot;
  connector: FakeConnector;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The demo-mode environment a bot in tests runs with, pointing at the simulator and a connector. */
export function demoEnv(simUrl: string, serviceUrl: string, dbPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_MODE: 'demo',
    DEMO_ACKNOWLEDGE: 'loopback-only',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    TENANT_ID: DEMO_TENANT_ID,
    ENTRA_AUTHORITY_HOST: simUrl,
    GRAPH_BASE_URL: simUrl,
    ARM_BASE_URL: `${simUrl}/arm`,
    BOT_APP_ID: DEMO_BOT_APP.clientId,
    BOT_APP_SECRET: DEMO_BOT_APP.clientSecret,
    BOT_OAUTH_URL: simUrl,
    PIM_ENDPOINT_APP_ID_URI: APP_ID_URI,
    PIM_ALLOWED_CALLER_APP_IDS: DEMO_PIM_CALLER_APP_ID,
    APPROVER_CHANNELS: JSON.stringify({ default: { conversationId: CHANNEL_ID, serviceUrl, teamId: TEAM_ID } }),
    DATABASE_URL: `sqlite:${dbPath}`,
    // Chats the bot opens itself (app installed through Graph) are on the same connector.
    TEAMS_SERVICE_URL: serviceUrl,
    ...extra,
  };
}

/** Simulator + bot (real HTTP, SQLite in a temp dir) + a recording Bot Connector. */
export async function startHarness(
  extraEnv: Record<string, string> = {},
  opts: {
    seed?: SeedTenant;
    policy?: (simUrl: string) => unknown;
    /** More approver channels (key → conversation id) on the same connector, e.g. an escalation channel. */
    channels?: Record<string, string>;
    /** The bot's clock (the simulator's is moved with POST /_sim/clock). */
    now?: () => Date;
    /**
     * How often the bot's delivery sweep runs (default a minute). Tests that count the simulator calls a
     * decision makes set it beyond their run, so no sweep's Graph reads land among them.
     */
    sweepIntervalMs?: number;
    /** The bot's logger (default silent, or TEST_LOG_LEVEL), for tests that read what the bot logs. */
    logger?: Logger;
    /**
     * Keep the daily digests' start-up tick (default: cancelled). At 09:00 UTC and later the tick on the real
     * clock finds the admin digest due and posts it to the approver channel: a test that counts channel posts
     * would pass in the morning and fail in the afternoon. Digest tests turn it on and move the clock.
     */
    digests?: boolean;
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bot-'));
  const sim = await startSimulator({ pkiDir: PKI_DIR, port: 0, seed: opts.seed });
  // Teams as the simulator plays it: what the connector accepts, Graph reads back.
  const connector = await startFakeConnector({ messages: sim.teams });
  connector.registerChannel(CHANNEL_ID, TEAM_ID);
  for (const id of Object.values(opts.channels ?? {})) connector.registerChannel(id, TEAM_ID);
  const channels: Record<string, string> = opts.channels
    ? {
        APPROVER_CHANNELS: JSON.stringify(
          Object.fromEntries(
            [['default', CHANNEL_ID], ...Object.entries(opts.channels)].map(([k, id]) => [
              k,
              { conversationId: id, serviceUrl: connector.serviceUrl, teamId: TEAM_ID },
            ]),
          ),
        ),
      }
    : {};
  const policyEnv: Record<string, string> = opts.policy ? { POLICY_JSON: JSON.stringify(opts.policy(sim.url)) } : {};
  // Every request gets its own card unless a test turns summaries on (CARD_SUMMARY_AFTER).
  const database = await freshDatabase(dir);
  const env = demoEnv(sim.url, connector.serviceUrl, join(dir, 'bot.sqlite'), {
    CARD_SUMMARY_AFTER: '0',
    DATABASE_URL: database.url,
    ...policyEnv,
    ...channels,
    ...extraEnv,
  });
  // Jobs run when a test says so (scheduler.runDue), on the test's clock.
  const bot = await startBot(loadConfig(env), {
    logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    sweepIntervalMs: opts.sweepIntervalMs ?? 60_000,
    jobsIntervalMs: 0,
    now: opts.now,
  });
  if (!opts.digests) await bot.scheduler.cancelPrefix(DIGEST_TICK);
  sim.setCustomExtension({ targetUrl: `${bot.url}/api/pim/evaluate`, resourceId: APP_ID_URI, timeoutMs: 5000, maximumRetries: 1 });
  return {
    sim,
    bot,
    connector,
    env,
    async close() {
      await bot.close();
      await sim.close();
      await connector.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function simJson(sim: SimHandle, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Says hello to the bot from a user's personal chat (demo mode: no channel token), so the bot can message them. */
export async function sayHello(h: Pick<Harness, 'bot' | 'connector' | 'env'>, userId: string, conversationId: string): Promise<void> {
  const user = teamsUser(userId);
  h.connector.registerPersonalChat(conversationId, userId);
  const res = await fetch(`${h.bot.url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      id: `m-${randomUUID()}`,
      text: 'hi',
      channelId: 'msteams',
      serviceUrl: h.connector.serviceUrl,
      from: { id: user.teamsUserId, name: user.displayName, aadObjectId: user.id },
      recipient: { id: '28:bot', name: 'PIM Approvals' },
      conversation: { id: conversationId, conversationType: 'personal', tenantId: h.env.TENANT_ID },
    }),
  });
  if (res.status !== 200) throw new Error(`the bot answered ${res.status} to a hello from ${userId}`);
}

/**
 * PIM (the simulator) holds the request a callout body describes, without calling the extension: for
 * tests that play PIM's callout themselves. The bot binds a card to PIM's own copy, so a callout for a
 * request PIM does not hold gets no card.
 */
export async function pimHolds(h: Pick<Harness, 'sim'>, callout: Record<string, unknown>): Promise<void> {
  const res = await simJson(h.sim, 'POST', '/_sim/requests/adopt', callout);
  if (res.status !== 201) throw new Error(`the simulator would not hold the request: ${JSON.stringify(res.body)}`);
}

/**
 * A PIM activation filed in the simulator (Isaiah asking for User Administrator unless `request` says
 * otherwise): PIM calls the bot's decision endpoint, and once the bot has delivered what it owes, the
 * request's row is returned. Expects PIM to leave it pending (an approver must decide).
 */
export async function pendingRequest(h: Harness, request: Record<string, unknown> = {}): Promise<{ pimId: string; row: ApprovalRequestRow }> {
  const body = { principal: USER.isaiah, role: 'User Administrator', justification: 'Reset MFA for the locked-out CFO under incident INC0012345', ...request };
  const created = await simJson(h.sim, 'POST', '/_sim/requests', body);
  expect(created.body.status).toBe('PendingApproval');
  await h.bot.delivery.drain();
  const row = await h.bot.store.requests.byPimId(created.body.id);
  expect(row).toBeDefined();
  return { pimId: created.body.id as string, row: row! };
}

/** Sends an Action.Execute invoke to the bot as the given seeded user; returns the invoke response body. */
export async function cardAction(
  botUrl: string,
  user: { teamsUserId: string; id: string; displayName: string },
  verb: string,
  data: Record<string, unknown>,
  extra: { authentication?: { token: string } /** Where the click comes from (default: the approver channel). */; conversation?: Record<string, unknown> } = {},
): Promise<{ httpStatus: number; body: any }> {
  const activity = {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `invoke-${Math.random().toString(16).slice(2)}`,
    channelId: 'msteams',
    serviceUrl: 'http://127.0.0.1:9/',
    from: { id: user.teamsUserId, name: user.displayName, aadObjectId: user.id },
    recipient: { id: `28:${DEMO_BOT_APP.clientId}`, name: 'PIM Approvals' },
    conversation: extra.conversation ?? { id: CHANNEL_ID, isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID },
    channelData: { tenant: { id: DEMO_TENANT_ID } },
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual', ...(extra.authentication ? { authentication: extra.authentication } : {}) },
  };
  const res = await fetch(`${botUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  const text = await res.text();
  return { httpStatus: res.status, body: text ? JSON.parse(text) : null };
}

/** A seeded user as Teams presents them on an activity. */
export function teamsUser(objectId: string): { teamsUserId: string; id: string; displayName: string } {
  const u = seedTenant.users.find((x) => x.id === objectId);
  if (!u) throw new Error(`No seeded user ${objectId}`);
  return { teamsUserId: u.teamsUserId, id: u.id, displayName: u.displayName };
}

/** A message the user types in their personal chat with the bot (Teams' shape); the bot stores the conversation. */
export async function personalMessage(h: Harness, userId: string, text: string): Promise<void> {
  const u = teamsUser(userId);
  h.connector.registerPersonalChat(`a:${u.teamsUserId}-personal`, userId);
  const res = await fetch(`${h.bot.url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      id: `m-${Math.random().toString(16).slice(2)}`,
      text,
      channelId: 'msteams',
      serviceUrl: h.connector.serviceUrl,
      from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id },
      recipient: { id: '28:bot', name: 'PIM Approvals' },
      conversation: { id: `a:${u.teamsUserId}-personal`, conversationType: 'personal', tenantId: DEMO_TENANT_ID },
    }),
  });
  if (res.status !== 200) throw new Error(`The bot answered ${res.status} to a personal message`);
}

/** The Bot Framework channel's token issuer: what Teams' activities are signed as. */
export const CHANNEL_TOKEN_ISSUER = 'https://api.botframework.com';

export interface ProductionHarness extends Harness {
  /** The bot's app id (the audience of channel tokens). */
  appId: string;
  /**
   * A Bot Framework channel token as the channel service sends it (issuer api.botframework.com, our app id
   * as audience, the activity's serviceUrl), signed with the key the bot trusts for the channel (the
   * simulator's) unless `signWith: 'foreign'` (another key under the same kid).
   */
  channelToken(serviceUrl: string, claims?: Record<string, unknown>, opts?: { signWith?: 'sim' | 'foreign'; expiresInSeconds?: number }): Promise<string>;
}

/**
 * The bot with a production configuration (channel authentication on, as in Azure), beside the simulator
 * and a recording Bot Connector. The channel's signing keys are read from the simulator's OpenID metadata
 * instead of the Bot Framework's, so genuine and forged channel tokens can be told apart offline; Graph,
 * Entra and the token service stay Microsoft's (unreachable here: nothing in these tests may need them).
 */
export async function startProductionHarness(extraEnv: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<ProductionHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bot-prod-'));
  const sim = await startSimulator({ pkiDir: PKI_DIR, port: 0 });
  const connector = await startFakeConnector();
  const env: Record<string, string> = {
    ...PRODUCTION_ENV,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_URL: `sqlite:${join(dir, 'bot.sqlite')}`,
    ...extraEnv,
  };
  const bot = await startBot(loadConfig(env), {
    logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    sweepIntervalMs: 600_000,
    jobsIntervalMs: 0,
    channelOpenIdMetadataUrl: `${sim.url}/${sim.tenantId}/v2.0/.well-known/openid-configuration`,
  });
  const appId = env.BOT_APP_ID!;
  return {
    sim,
    bot,
    connector,
    env,
    appId,
    // The channel's tokens carry no tenant or version claims (those would make botbuilder read them as skill tokens).
    channelToken: (serviceUrl, claims = {}, o = {}) =>
      sim.issueToken({ iss: CHANNEL_TOKEN_ISSUER, aud: appId, serviceurl: serviceUrl, tid: undefined, ver: undefined, ...claims }, o),
    async close() {
      await bot.close();
      await sim.close();
      await connector.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
