/**
 * Starts and stops the Microsoft 365 Agents Playground (`@microsoft/m365agentsplayground`, the local Teams
 * client) as a child process: renders its config from the seeded tenant into a temporary working directory,
 * runs it headless (`TEAMSAPPTESTER_BROWSER=none`) on a chosen port and stops its whole process group.
 * Used by `npm run demo` and, through `test/support/playground.ts` (which adds the HTTP and WebSocket
 * API and documents the event shapes), by the end-to-end tests.
 *
 * Loopback only: the playground's server calls `listen(port)` with no host, which binds every interface,
 * and it has no authentication (anyone who reaches it can click on cards as any seeded user). So by
 * default the launcher preloads a few lines into the playground process that make a host-less `listen`
 * bind 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { DEMO_BOT_APP, seedTenant, type SeedTenant } from '../sim/seed';
import {
  PLAYGROUND_CHANNEL_ID,
  PLAYGROUND_CONFIG_FILE_NAME,
  PLAYGROUND_GROUP_CHAT_ID,
  PLAYGROUND_PERSONAL_CHAT_ID,
  PLAYGROUND_TEAM_ID,
  renderPlaygroundConfig,
  type PlaygroundConfigOptions,
} from './playground-config';

export interface LaunchPlaygroundOptions {
  /** The bot's messaging endpoint, e.g. `http://127.0.0.1:3978/api/messages`. */
  botEndpoint: string;
  /** 0 or absent: a free port. */
  port?: number;
  /**
   * The playground silently moves to a random port when the one asked for is taken. With this set, that is
   * an error instead (the bot was configured with the playground's connector URL, so the port must match).
   */
  requirePort?: boolean;
  /** Parent directory for the playground's temporary working directory (default: the OS temp dir). */
  workDir?: string;
  seed?: SeedTenant;
  botId?: string;
  botName?: string;
  /** Overrides for conversation ids and names in the rendered config. */
  configOverrides?: Omit<PlaygroundConfigOptions, 'seed' | 'botId' | 'botName'>;
  /** Use this config file as is instead of rendering one (`M365_AGENTS_PLAYGROUND_CONFIG_PATH`). */
  configPath?: string;
  /** Default true: bind 127.0.0.1 instead of every interface. */
  loopbackOnly?: boolean;
  logger?: Logger;
  /** Default 30 s: the first start on a cold disk takes a few seconds (a 5 MB bundle). */
  startTimeoutMs?: number;
}

/** A running playground process. */
export interface PlaygroundProcess {
  /** `http://localhost:PORT` (web UI and API). */
  readonly url: string;
  readonly port: number;
  /** The `serviceUrl` the playground puts on activities: `http://localhost:PORT/_connector`. */
  readonly connectorUrl: string;
  readonly workDir: string;
  readonly configPath: string;
  readonly botId: string;
  readonly botName: string;
  readonly ids: { personalChatId: string; groupChatId: string; teamId: string; channelId: string };
  readonly pid: number | undefined;
  /** The last lines the playground wrote (stdout and stderr), for error messages. */
  output(): string[];
  /** SIGTERM to its process group, SIGKILL after a grace period; removes the working directory. Idempotent. */
  stop(): Promise<void>;
}

/** SIGTERM first so the playground can close its sockets; SIGKILL after this if it does not exit. */
const STOP_GRACE_MS = 3_000;

/** The connector URL the playground will put on activities when it listens on `port`. */
export function playgroundConnectorUrl(port: number): string {
  return `http://localhost:${port}/_connector`;
}

/** A port that was free a moment ago on 127.0.0.1 (there is a small race; `requirePort` catches it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** True when nothing listens on `port` on loopback or on every interface. */
export async function isPortFree(port: number): Promise<boolean> {
  for (const host of ['127.0.0.1', undefined]) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (ok) {
      server.close();
      await once(server, 'close');
    } else {
      return false;
    }
  }
  return true;
}

function playgroundCli(): string {
  // The package has no `exports` map, so its CLI entry can be resolved directly; spawning node on it avoids a shell.
  return require.resolve('@microsoft/m365agentsplayground/cli.js');
}

/**
 * Preloaded into the playground (plain CommonJS, it runs in the playground's own node): a `listen` with a
 * port and no host binds 127.0.0.1. Unix sockets, explicit hosts and `listen()` with no port are untouched.
 */
const LOOPBACK_PRELOAD = `'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a = args[0];
  if (typeof a === 'number' || (typeof a === 'string' && /^\\d+$/.test(a))) {
    if (args.length > 1 && args[1] == null) args[1] = '127.0.0.1';
    else if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (a && typeof a === 'object' && a.port !== undefined && a.path === undefined && a.host === undefined) {
    args[0] = { ...a, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
`;

export async function launchPlayground(opts: LaunchPlaygroundOptions): Promise<PlaygroundProcess> {
  const log = opts.logger;
  const seed = opts.seed ?? seedTenant;
  const botId = opts.botId ?? DEMO_BOT_APP.clientId;
  const botName = opts.botName ?? DEMO_BOT_APP.displayName;
  const workDir = await mkdtemp(path.join(opts.workDir ?? tmpdir(), 'playground-'));
  const configPath = opts.configPath ?? path.join(workDir, PLAYGROUND_CONFIG_FILE_NAME);
  if (!opts.configPath) {
    await writeFile(configPath, renderPlaygroundConfig({ ...opts.configOverrides, seed, botId, botName }), 'utf8');
  }
  const ids = {
    personalChatId: opts.configOverrides?.personalChatId ?? PLAYGROUND_PERSONAL_CHAT_ID,
    groupChatId: opts.configOverrides?.groupChatId ?? PLAYGROUND_GROUP_CHAT_ID,
    teamId: opts.configOverrides?.teamId ?? PLAYGROUND_TEAM_ID,
    channelId: opts.configOverrides?.channelId ?? PLAYGROUND_CHANNEL_ID,
  };
  const nodeArgs: string[] = [];
  if (opts.loopbackOnly ?? true) {
    const preload = path.join(workDir, 'loopback-only.cjs');
    await writeFile(preload, LOOPBACK_PRELOAD, 'utf8');
    nodeArgs.push('--require', preload);
  }

  const requestedPort = opts.port && opts.port > 0 ? opts.port : await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEAMSAPPTESTER_BROWSER: 'none',
    M365_AGENTS_PLAYGROUND_LOGFILE: path.join(workDir, 'playground.log'),
    M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath,
  };
  const child = spawn(
    process.execPath,
    [...nodeArgs, playgroundCli(), '-e', opts.botEndpoint, '-c', 'msteams', '-p', String(requestedPort), '--disable-telemetry'],
    // Its own process group, so stop() can signal it and anything it starts at once.
    { cwd: workDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killGroupNow = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  // A crashed run must not leave a playground listening.
  process.once('exit', killGroupNow);

  const output: string[] = [];
  const remember = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 200) output.shift();
      log?.debug({ stream, line }, 'playground output');
    }
  };
  child.stdout!.on('data', remember('stdout'));
  child.stderr!.on('data', remember('stderr'));

  let stopped: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const exited = once(child, 'exit');
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(killGroupNow, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killGroupNow);
      await rm(workDir, { recursive: true, force: true });
      log?.info({ workDir }, 'playground stopped');
    })();
    return stopped;
  }

  let port: number;
  try {
    port = await waitForListening(child, output, opts.startTimeoutMs ?? 30_000);
    if (opts.requirePort && port !== requestedPort) {
      throw new Error(`Port ${requestedPort} is in use, so the playground moved to ${port}; free the port or choose another one.`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://localhost:${port}`;
  log?.info({ url, botEndpoint: opts.botEndpoint, workDir }, 'playground started');
  return {
    url,
    port,
    connectorUrl: playgroundConnectorUrl(port),
    workDir,
    configPath,
    botId,
    botName,
    ids,
    pid: child.pid,
    output: () => [...output],
    stop,
  };
}

async function waitForListening(child: ChildProcess, output: string[], timeoutMs: number): Promise<number> {
  // The playground prints `Listening on <port>`; it falls back to a random port if the requested one is taken.
  return new Promise<number>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /Listening on (\d+)/.exec(buffered);
      if (match) {
        done();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`The playground exited before listening (code ${code}, signal ${signal}). Output:\n${output.join('\n')}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`The playground did not start within ${timeoutMs} ms. Output:\n${output.join('\n')}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}
