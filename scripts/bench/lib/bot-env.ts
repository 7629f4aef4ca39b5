/** The environment a benchmark bot runs with: demo mode against the simulator, SQLite, approver channels on the bench connector. */
import path from 'node:path';
import { DEMO_BOT_APP, DEMO_PIM_CALLER_APP_ID, DEMO_TENANT_ID } from '../../../sim/seed';
import type { BotArgs, BotReady } from '../children/bot';
import { ROOT, startChild, type Child, type Usage } from './children';
import { APP_ID_URI } from './tenant';

export const SIM_CHILD = path.join(ROOT, 'scripts/bench/children/sim.ts');
export const BOT_CHILD = path.join(ROOT, 'scripts/bench/children/bot.ts');
export const FLOOR_CHILD = path.join(ROOT, 'scripts/bench/children/floor.ts');

/** The bot's log level in the benchmarks: production's default (info), written to a discarded stdout. */
export const BOT_LOG_LEVEL = process.env.BENCH_BOT_LOG_LEVEL ?? 'info';

export function botEnv(o: {
  simUrl: string;
  serviceUrl: string;
  dbPath: string;
  /** APPROVER_CHANNELS keys (role ids, `default`) → conversation ids; all on the bench connector. */
  channels?: Record<string, string>;
  policy?: unknown;
  extra?: Record<string, string>;
}): Record<string, string> {
  const channels = o.channels ?? { default: '19:bench-approvers@thread.tacv2' };
  return {
    APP_MODE: 'demo',
    DEMO_ACKNOWLEDGE: 'loopback-only',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: BOT_LOG_LEVEL,
    TENANT_ID: DEMO_TENANT_ID,
    ENTRA_AUTHORITY_HOST: o.simUrl,
    GRAPH_BASE_URL: o.simUrl,
    ARM_BASE_URL: `${o.simUrl}/arm`,
    BOT_OAUTH_URL: o.simUrl,
    BOT_APP_ID: DEMO_BOT_APP.clientId,
    BOT_APP_SECRET: DEMO_BOT_APP.clientSecret,
    PIM_ENDPOINT_APP_ID_URI: APP_ID_URI,
    PIM_ALLOWED_CALLER_APP_IDS: DEMO_PIM_CALLER_APP_ID,
    APPROVER_CHANNELS: JSON.stringify(Object.fromEntries(Object.entries(channels).map(([k, id]) => [k, { conversationId: id, serviceUrl: o.serviceUrl }]))),
    TEAMS_SERVICE_URL: o.serviceUrl,
    DATABASE_URL: `sqlite:${o.dbPath}`,
    ...(o.policy ? { POLICY_JSON: JSON.stringify(o.policy) } : {}),
    ...(o.extra ?? {}),
  };
}

/** Calls the simulator's control API (HTTPS, loopback). */
export async function simControl(simUrl: string, method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${simUrl}${p}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** A fixed latency on every call whose path matches (the simulator's fault injection). */
export async function simLatency(simUrl: string, pathPattern: string, latencyMs: number): Promise<void> {
  await simControl(simUrl, 'POST', '/_sim/faults', { pathPattern, latencyMs, times: 10_000_000 });
}

export async function simClearFaults(simUrl: string): Promise<void> {
  await simControl(simUrl, 'DELETE', '/_sim/faults');
}

/** A bot child (`script`: another tree's, for the code before a change); started with --expose-gc so that, once a run is over, its live heap can be told from garbage (nothing else calls gc). */
export function startBotChild(name: string, args: BotArgs, script: string = BOT_CHILD): Promise<Child<BotReady>> {
  return startChild<BotReady>(name, script, args, { nodeArgs: ['--expose-gc'] });
}

export interface BotMemory {
  bot: string;
  startMs: number;
  idle: Usage;
  /** Right after the load. */
  loaded: Usage;
  /** Then after two full garbage collections: what the bot still holds. */
  live: Usage;
}

/** The bot's memory after its load (read, then read again after a full GC). Call once its runs are over. */
export async function botMemory(bot: string, child: Child<BotReady>): Promise<BotMemory> {
  const loaded = await child.usage();
  const live = await child.rpc<Usage>('gcUsage');
  return { bot, startMs: child.ready.startMs, idle: child.ready.idle, loaded, live };
}

export const MEMORY_HEADER = [
  'bot',
  'idle RSS (MB)',
  'idle heap (MB)',
  'RSS after the load (MB)',
  'heap after (MB)',
  'live heap after a full GC (MB)',
  'peak RSS (MB)',
];

export function memoryRow(m: BotMemory, fixed: (x: number, d?: number) => string): string[] {
  return [
    m.bot,
    fixed(m.idle.rssMB, 0),
    fixed(m.idle.heapUsedMB, 0),
    fixed(m.loaded.rssMB, 0),
    fixed(m.loaded.heapUsedMB, 0),
    fixed(m.live.heapUsedMB, 0),
    fixed(m.loaded.maxRssMB, 0),
  ];
}
