/**
 * `npm run demo`: the whole approval loop on this machine, with nothing reaching Microsoft.
 *
 * - the tenant simulator (Entra, Bot Framework token service, Graph, PIM) on https://127.0.0.1:SIM_PORT (3979);
 * - the bot, in this process, in demo mode on http://127.0.0.1:BOT_PORT (3978), wired to the simulator,
 *   with SQLite at .local/demo.sqlite (reset at every start: the simulator and the playground start empty);
 * - PIM's custom extension pointed at the bot's /api/pim/evaluate;
 * - the Microsoft 365 Agents Playground (the Teams client) headless on http://localhost:PLAYGROUND_PORT
 *   (56150), with the seeded users, a "Security Operations" team and its "PIM Approvals" channel, which is
 *   the bot's default approver channel.
 *
 * Everything listens on loopback. The simulator serves TLS from a local CA (.local/pki); Node reads
 * NODE_EXTRA_CA_CERTS only at start-up, so when it is not set to that CA the script runs itself again
 * with it set. Ctrl-C stops everything.
 *
 * Environment: SIM_PORT, BOT_PORT, PLAYGROUND_PORT, LOG_LEVEL (bot, default warn; logs go to stderr),
 * SIM_LOG_LEVEL (default warn), and these bot settings, which override the demo's defaults:
 * DATABASE_URL, APPROVER_CHANNELS, POLICY_FILE, POLICY_JSON, DECISION_BUDGET_MS,
 * MIN_APPROVER_JUSTIFICATION, BOT_OAUTH_CONNECTION_NAME, PIM_ENDPOINT_APP_ID_URI, PIM_ALLOWED_CALLER_APP_IDS.
 * The tenant, app registration and simulator URLs are fixed: they must match the simulator.
 *
 * `startDemo()` is the same wiring for end-to-end tests (ports 0, a temporary database, quiet).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { startBot, type RunningBot } from '../bot/create-bot';
import { loadConfig } from '../services/config/config';
import { ensurePki, type SimPki } from '../sim/pki';
import { AZURE, DEMO_BOT_APP, DEMO_TAB_APP, GROUP, DEMO_PIM_CALLER_APP_ID, DEMO_TENANT_ID, seedTenant, type SeedTenant } from '../sim/seed';
import { startSimulator, type SimHandle } from '../sim/server';
import { PLAYGROUND_CHANNEL_ID, PLAYGROUND_CHANNEL_NAME, PLAYGROUND_CURRENT_USER_ID, PLAYGROUND_TEAM_NAME, PLAYGROUND_USER_IDS } from './playground-config';
import { buildTab } from './build-tab';
import { demoPolicy } from './demo-policy';
import { SIM_OPENAI } from '../sim/openai';
import { freePort, isPortFree, launchPlayground, playgroundConnectorUrl, type PlaygroundProcess } from './playground-launcher';

const ROOT = path.resolve(__dirname, '..');
export const DEMO_PKI_DIR = path.join(ROOT, '.local/pki');
const DEFAULT_DB_PATH = path.join(ROOT, '.local/demo.sqlite');
const DEFAULT_PORTS = { sim: 3979, bot: 3978, playground: 56150 } as const;
/** Bot settings the environment may override; the rest is tied to the in-process simulator. */
const OVERRIDABLE = [
  'LOG_LEVEL',
  'NODE_ENV',
  'DATABASE_URL',
  'APPROVER_CHANNELS',
  'POLICY_FILE',
  'POLICY_JSON',
  'RECONCILE_INTERVAL_MS',
  'EVENTS_HMAC_SECRET',
  'DECISION_BUDGET_MS',
  'MIN_APPROVER_JUSTIFICATION',
  'BOT_OAUTH_CONNECTION_NAME',
  'PIM_ENDPOINT_APP_ID_URI',
  'PIM_ALLOWED_CALLER_APP_IDS',
  'PRESENCE_ROUTING',
  'PRESENCE_EARLY_ESCALATION_AFTER',
] as const;
/** Set on the re-executed process, so a CA that still does not load fails instead of looping. */
const REEXEC_MARK = 'PIM_DEMO_REEXEC';

export interface DemoOptions {
  /** Defaults: 3979, 3978, 56150. 0 picks a free port. */
  simPort?: number;
  botPort?: number;
  playgroundPort?: number;
  /** Default `sqlite:<repo>/.local/demo.sqlite` (or DATABASE_URL from `env`). */
  databaseUrl?: string;
  /** No banner and no logs (tests). */
  quiet?: boolean;
  /** Where bot settings are read from (see OVERRIDABLE); default process.env. */
  env?: Record<string, string | undefined>;
  /** Where the banner goes; default stdout. */
  out?: (text: string) => void;
  /**
   * Demo only: how much faster than real time PIM (the simulator) and the bot's reminders run, so the
   * stale-request ladder and PIM's 24-hour expiry can be watched (60: a PIM day in 24 minutes). Default
   * 1, or DEMO_CLOCK_SPEED.
   */
  clockSpeed?: number;
}

/** A clock that runs `speed` times faster than the wall clock from now on. */
export function acceleratedClock(speed: number, start = Date.now()): () => Date {
  return () => new Date(start + (Date.now() - start) * speed);
}

export interface RunningDemo {
  /** `https://127.0.0.1:PORT`: the simulator, including its control API under /_sim. */
  simUrl: string;
  /** `http://127.0.0.1:PORT`: the bot. */
  botUrl: string;
  playground: PlaygroundProcess;
  sim: SimHandle;
  bot: RunningBot;
  /** The text printed at start (also when quiet). */
  banner: string;
  /** Stops the playground, the bot and the simulator, in that order. Idempotent. */
  close(): Promise<void>;
}

/** True when this process was started trusting the simulator's CA. */
export function trustsSimulatorCa(pki: SimPki, env: Record<string, string | undefined> = process.env): boolean {
  const configured = env.NODE_EXTRA_CA_CERTS;
  if (!configured) return false;
  if (path.resolve(configured) === path.resolve(pki.caCertPath)) return true;
  try {
    return readFileSync(configured, 'utf8').includes(pki.caPem.trim());
  } catch {
    return false;
  }
}

export async function startDemo(opts: DemoOptions = {}): Promise<RunningDemo> {
  const env = opts.env ?? process.env;
  const pki = ensurePki(DEMO_PKI_DIR);
  if (!trustsSimulatorCa(pki)) {
    throw new Error(`The demo talks TLS to the simulator: start Node with NODE_EXTRA_CA_CERTS=${pki.caCertPath} (Node reads it only at start-up).`);
  }
  const quiet = opts.quiet ?? false;
  const logLevel = quiet ? 'silent' : (env.LOG_LEVEL ?? 'warn');
  const simLogLevel = quiet ? 'silent' : (env.SIM_LOG_LEVEL ?? 'warn');
  const botLog = pino({ name: 'bot', level: logLevel, redact: ['req.headers.authorization', '*.token', '*.clientSecret', '*.appSecret'] }, pino.destination(2));
  const simLog = pino({ name: 'sim', level: simLogLevel }, pino.destination(2));
  const ports = {
    sim: opts.simPort ?? DEFAULT_PORTS.sim,
    bot: opts.botPort ?? DEFAULT_PORTS.bot,
    playground: opts.playgroundPort ?? DEFAULT_PORTS.playground,
  };

  // The bot is configured with the playground's connector URL before the playground starts (the
  // playground needs the bot's endpoint), so its port is settled first.
  const playgroundPort = ports.playground === 0 ? await freePort() : ports.playground;
  if (ports.playground !== 0 && !(await isPortFree(playgroundPort))) {
    throw new Error(`PLAYGROUND_PORT ${playgroundPort} is in use. Stop what uses it or choose another port (PLAYGROUND_PORT=...).`);
  }

  const clockSpeed = opts.clockSpeed ?? Number(env.DEMO_CLOCK_SPEED ?? 1);
  if (!Number.isFinite(clockSpeed) || clockSpeed < 1 || clockSpeed > 3600) {
    throw new Error(`DEMO_CLOCK_SPEED must be a number from 1 (real time) to 3600; got '${env.DEMO_CLOCK_SPEED}'.`);
  }
  // One clock for PIM and the bot, so the ladder's times and PIM's 24 hours agree.
  const clock = clockSpeed === 1 ? undefined : acceleratedClock(clockSpeed);

  const stack: Array<() => Promise<void>> = [];
  const unwind = async () => {
    for (const stop of stack.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const sim = await startSimulator({ pkiDir: DEMO_PKI_DIR, port: ports.sim, host: '127.0.0.1', logger: simLog, clock }).catch(
      (err: NodeJS.ErrnoException) => {
        throw err.code === 'EADDRINUSE' ? new Error(`SIM_PORT ${ports.sim} is in use. Stop what uses it or choose another port (SIM_PORT=...).`) : err;
      },
    );
    stack.push(() => sim.close());

    const botEnv: Record<string, string | undefined> = {
      APP_MODE: 'demo',
      // Demo authenticates no Bot Framework caller: loopback and the simulated tenant only (services/config).
      DEMO_ACKNOWLEDGE: 'loopback-only',
      HOST: '127.0.0.1',
      PORT: String(ports.bot),
      LOG_LEVEL: logLevel,
      TENANT_ID: DEMO_TENANT_ID,
      ENTRA_AUTHORITY_HOST: sim.url,
      GRAPH_BASE_URL: sim.url,
      ARM_BASE_URL: `${sim.url}/arm`,
      BOT_APP_ID: DEMO_BOT_APP.clientId,
      BOT_APP_SECRET: DEMO_BOT_APP.clientSecret,
      BOT_OAUTH_URL: sim.url,
      PIM_ENDPOINT_APP_ID_URI: `api://127.0.0.1/${DEMO_BOT_APP.clientId}`,
      PIM_ALLOWED_CALLER_APP_IDS: DEMO_PIM_CALLER_APP_ID,
      APPROVER_CHANNELS: JSON.stringify({ default: { conversationId: PLAYGROUND_CHANNEL_ID, serviceUrl: playgroundConnectorUrl(playgroundPort) } }),
      DATABASE_URL: `sqlite:${DEFAULT_DB_PATH}`,
      // The PIM-onboarded group the digests read (Graph cannot list them).
      DIGEST_GROUP_IDS: GROUP.sqlAdmins,
      // The PIM tab's admin dashboard: members of "PIM dashboard admins" (Adele).
      TAB_ADMIN_GROUP_ID: GROUP.tabAdmins,
      // The Azure scope whose waiting extension and renewal requests get a card (ARM lists them per scope).
      AZURE_PIM_SCOPES: AZURE.subscription,
      // The simulator's Azure OpenAI: free text the parser does not understand goes to the planner, whose
      // replies are scripted (POST /_sim/openai/replies); with none queued it answers "no command".
      AZURE_OPENAI_ENDPOINT: sim.url,
      AZURE_OPENAI_API_KEY: SIM_OPENAI.apiKey,
      AZURE_OPENAI_DEPLOYMENT: SIM_OPENAI.deployment,
      // The PIM tab in a browser (http://127.0.0.1:<bot port>/tab/) signs in with the simulator's single-page app.
      TAB_SIGN_IN_CLIENT_ID: DEMO_TAB_APP.clientId,
    };
    for (const key of OVERRIDABLE) if (env[key] !== undefined && env[key] !== '') botEnv[key] = env[key];
    // The demo's decision policy checks the simulator's ServiceNow, Jira, PagerDuty, Opsgenie and HR data.
    if (!botEnv.POLICY_FILE && !botEnv.POLICY_JSON) botEnv.POLICY_JSON = JSON.stringify(demoPolicy(sim.url));
    // Portal decisions should reach the cards while someone watches the demo.
    botEnv.RECONCILE_INTERVAL_MS ??= '10000';
    if (quiet) botEnv.LOG_LEVEL = 'silent';
    if (opts.databaseUrl) botEnv.DATABASE_URL = opts.databaseUrl;
    const config = loadConfig(botEnv);

    const bot = await startBot(config, { logger: botLog, now: clock }).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EADDRINUSE' ? new Error(`BOT_PORT ${ports.bot} is in use. Stop what uses it or choose another port (BOT_PORT=...).`) : err;
    });
    stack.push(() => bot.close());
    sim.setCustomExtension({ targetUrl: `${bot.url}/api/pim/evaluate`, resourceId: config.pimEndpoint.appIdUri });

    const playground = await launchPlayground({
      botEndpoint: `${bot.url}/api/messages`,
      port: playgroundPort,
      requirePort: true,
      logger: botLog.child({ name: 'playground' }),
    });
    stack.push(() => playground.stop());

    const banner = renderBanner({
      seed: seedTenant,
      simUrl: sim.url,
      playgroundUrl: playground.url,
      botUrl: bot.url,
      caPath: pki.caCertPath,
      databaseUrl: config.databaseUrl,
    });
    if (!quiet) (opts.out ?? ((t: string) => process.stdout.write(t)))(banner);

    let closing: Promise<void> | undefined;
    return {
      simUrl: sim.url,
      botUrl: bot.url,
      playground,
      sim,
      bot,
      banner,
      close: () => (closing ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

interface BannerInput {
  seed: SeedTenant;
  simUrl: string;
  botUrl: string;
  playgroundUrl: string;
  caPath: string;
  databaseUrl: string;
}

function approverIdsOf(seed: SeedTenant, role: SeedTenant['roles'][number]): Set<string> {
  const ids = new Set<string>();
  for (const a of role.policy.primaryApprovers) {
    if (a.kind === 'singleUser') ids.add(a.userId);
    else for (const m of seed.groups.find((g) => g.id === a.groupId)?.members ?? []) ids.add(m);
  }
  return ids;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderBanner(b: BannerInput): string {
  const rel = path.relative(process.cwd(), b.caPath);
  const ca = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : b.caPath;
  const inPlayground = new Set<string>(PLAYGROUND_USER_IDS);
  const users = b.seed.users.map((u) => {
    const approves = b.seed.roles.filter((r) => approverIdsOf(b.seed, r).has(u.id)).map((r) => r.displayName);
    const eligible = b.seed.roles.filter((r) => r.eligible.includes(u.id)).map((r) => r.displayName);
    const where =
      u.teamsUserId === PLAYGROUND_CURRENT_USER_ID
        ? 'playground: current user'
        : inPlayground.has(u.teamsUserId)
          ? `playground: ${u.teamsUserId}`
          : 'not in the playground';
    const parts = [approves.length ? `approver of ${approves.join(', ')}` : '', eligible.length ? `eligible for ${eligible.join(', ')}` : ''].filter(Boolean);
    if (parts.length === 0) parts.push('no PIM roles');
    return `    ${u.displayName.padEnd(16)} ${u.userPrincipalName.padEnd(24)} ${parts.join('; ')} (${where})`;
  });
  const post = (body: Record<string, unknown>) =>
    `curl --cacert ${ca} -X POST ${b.simUrl}/_sim/requests -H 'content-type: application/json' \\\n      -d ${shellQuote(JSON.stringify(body))}`;
  const presence = (body: Record<string, unknown>) =>
    `curl --cacert ${ca} -X POST ${b.simUrl}/_sim/presence -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(body))}`;
  const request = (principal: string, role: string, justification: string, ticketNumber?: string) =>
    post({ principal, role, justification, durationMinutes: 120, ...(ticketNumber ? { ticketNumber, ticketSystem: 'ServiceNow' } : {}) });
  return [
    '',
    'PIM approvals demo is running (Ctrl-C stops it).',
    '',
    `  Teams (playground):  ${b.playgroundUrl}`,
    `    Open the team "${PLAYGROUND_TEAM_NAME}", channel "${PLAYGROUND_CHANNEL_NAME}", before you create a request:`,
    '    the page shows only cards that arrive while it is open. In the web UI you are Alex Wilber; the',
    '    playground API (POST /_conversation/v1/invoke with from.id user-id-1..5) can click as the others.',
    `  Tenant simulator:    ${b.simUrl}   (control API under /_sim, trust ${ca})`,
    `  Bot:                 ${b.botUrl}   (database ${b.databaseUrl})`,
    `  PIM tab:             ${b.botUrl}/tab/`,
    "    Sign in on the simulator's page as any seeded user (your browser warns once about the simulator's",
    '    local certificate). Megan and Adele see requests awaiting them; Adele also sees the Dashboard.',
    '',
    '  Seeded users:',
    ...users,
    '',
    '  Elevation by chat: open the chat with the bot (you are Alex) and type',
    '    activate security operator for 2h ticket ServiceNow INC0012345 because investigating alert',
    '  press Submit request on the card. The approval card appears in PIM Approvals; Alex may not approve',
    '  his own request, so approve it as Megan from another terminal:',
    '    npm run demo:approve -- --as megan',
    '  and the status message in the chat turns into "Active until …". Also try roles, status, help.',
    '',
    "  Extensions: Alex's Security Operator eligibility ends in 9 days. In the chat type",
    '    extend security operator',
    '  PIM files the request for an administrator; within 10 seconds an "Extension request" card appears in PIM',
    "  Approvals with his history and today's HR and risk checks. Alex may not decide his own, and approvers",
    '  who are not PIM administrators are refused; extend it as Adele (a Global Administrator) from another',
    '  terminal, and the card shows who extended it until when, and Alex is told in his chat:',
    '    npm run demo:approve -- --as adele --extension',
    '',
    '  Ask for a role Alex approves (Lynne wants Helpdesk Administrator), then approve it on the card:',
    `    ${request('lynner@contoso.example', 'Helpdesk Administrator', 'Unlock accounts for the service desk queue, INC0012345', 'INC0012345')}`,
    '  Or one that Adele and Megan approve:',
    `    ${request('isaiahl@contoso.example', 'User Administrator', 'Reset MFA for the locked-out CFO, INC0012345')}`,
    '',
    '  PIM for Groups and Azure resources work the same way (Megan and Adele approve both):',
    `    ${post({ principal: 'isaiahl@contoso.example', group: 'SQL Admins', accessId: 'member', justification: 'Restore the payroll database from last night, INC0012345', durationMinutes: 60 })}`,
    `    ${post({ principal: 'isaiahl@contoso.example', azureRole: 'Contributor', scope: AZURE.subscription, justification: 'Scale out the staging VM scale set for load test OPS-1234', durationMinutes: 240 })}`,
    '',
    '  The decision service settles most requests without a human (simulated ServiceNow, PagerDuty, HR):',
    '  Alex asks for Security Operator citing the closed INC0099999: Denied, with a reason naming the ticket:',
    `    ${request('alexw@contoso.example', 'Security Operator', 'Contain the phishing incident on the finance mailboxes', 'INC0099999')}`,
    '  The same request citing change CHG0042001, which he owns, while he is on call: AutoApproved, no card',
    '  (after the chat example above: PIM refuses a second activation while one is active):',
    `    ${request('alexw@contoso.example', 'Security Operator', 'Contain the phishing incident on the finance mailboxes', 'CHG0042001')}`,
    '',
    '  ID Protection (simulated) rates Patti Fernandez at high user risk. The demo policy refuses her Helpdesk',
    '  Administrator activation (Denied: the reason asks her to contact the security team) and sends her User',
    '  Administrator one to an approver, whose card shows the risk, her recent risk detections and her history:',
    `    ${request('pattif@contoso.example', 'Helpdesk Administrator', 'Unlock accounts for the service desk queue, INC0012345', 'INC0012345')}`,
    `    ${request('pattif@contoso.example', 'User Administrator', 'Reset MFA for the locked-out CFO, INC0012345')}`,
    '',
    '  Teams presence is simulated (Megan in a meeting, Patti out of office, ...): nudges mention the approvers',
    '  who are available first and name, without pinging, those away or out of office. Set both User',
    '  Administrator approvers away, then file the User Administrator request above: with no approver available',
    '  for 15 minutes (PRESENCE_EARLY_ESCALATION_AFTER; DEMO_CLOCK_SPEED=60 makes that 15 seconds) it escalates',
    "  early to Alex Wilber, the role's escalation approver in PIM, and Isaiah is told why:",
    `    ${presence({ userId: 'adelev@contoso.example', availability: 'Away' })}`,
    `    ${presence({ userId: 'meganb@contoso.example', availability: 'Offline', outOfOffice: 'On parental leave' })}`,
    '',
    '  See what PIM recorded (status, approval steps, who decided and why):',
    `    curl --cacert ${ca} ${b.simUrl}/_sim/requests`,
    '',
  ].join('\n');
}

/** Runs this script again with NODE_EXTRA_CA_CERTS set, relaying signals; resolves to its exit code. */
function reexecWithCa(caPath: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caPath, [REEXEC_MARK]: '1' },
  });
  const relay = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, relay(s));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1)));
    child.once('error', () => resolve(1));
  });
}

const SHUTDOWN_LIMIT_MS = 10_000;

async function main(): Promise<void> {
  const log = pino({ name: 'demo' }, pino.destination(2));
  const pki = ensurePki(DEMO_PKI_DIR);
  if (!trustsSimulatorCa(pki)) {
    if (process.env[REEXEC_MARK]) {
      log.fatal({ NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }, 'the re-executed demo still does not trust the simulator CA');
      process.exit(1);
    }
    process.exitCode = await reexecWithCa(pki.caCertPath);
    return;
  }

  const env = process.env;
  const port = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), not '${raw}'`);
    return n;
  };
  if (!env.DATABASE_URL) {
    // The simulator and the playground keep everything in memory, so yesterday's requests would
    // point at PIM requests and messages that no longer exist.
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(DEFAULT_DB_PATH + suffix)) rmSync(DEFAULT_DB_PATH + suffix);
  }
  // The PIM tab's page (/tab/) from the current source, about a second (tests build it in jest's globalSetup).
  await buildTab({ minify: true });
  const demo = await startDemo({
    simPort: port('SIM_PORT', DEFAULT_PORTS.sim),
    botPort: port('BOT_PORT', DEFAULT_PORTS.bot),
    playgroundPort: port('PLAYGROUND_PORT', DEFAULT_PORTS.playground),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C reaches tsx, the re-exec parent and this process: repeats are expected.
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the playground, the bot and the simulator...\n`);
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    void demo.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => stop(s));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
