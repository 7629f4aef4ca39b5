/**
 * Servers under test run in child processes of their own (the simulator, each bot, each floor), so a
 * process's CPU time and RSS are its own and the load generator in the parent does not share its event
 * loop. Parent and child talk over Node's IPC channel: the child announces `ready`, then answers
 * commands (`rpc`). Every child answers `usage` (CPU time, RSS, heap) and `exit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const PKI_DIR = path.join(ROOT, '.local', 'pki');

export interface Usage {
  /** User + system CPU time since the process started (ms). */
  cpuMs: number;
  rssMB: number;
  heapUsedMB: number;
  /** Peak RSS of the process so far (MB). */
  maxRssMB: number;
}

export function usage(): Usage {
  const c = process.cpuUsage();
  const m = process.memoryUsage();
  return { cpuMs: (c.user + c.system) / 1000, rssMB: m.rss / 2 ** 20, heapUsedMB: m.heapUsed / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

type Message = { type: 'ready'; payload: unknown } | { type: 'reply'; id: number; result?: unknown; error?: string };

export interface Child<R> {
  name: string;
  pid: number;
  ready: R;
  rpc<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

/**
 * Starts `script` (a .ts file under scripts/bench) with tsx, as this process was started, and waits for
 * its `ready`. stdout is discarded unless asked for: the bot logs there as it does in production.
 */
export async function startChild<R>(
  name: string,
  script: string,
  args: unknown,
  opts: { stdout?: 'ignore' | 'inherit'; nodeArgs?: string[] } = {},
): Promise<Child<R>> {
  const proc: ChildProcess = spawn(process.execPath, [...process.execArgv, '--no-deprecation', ...(opts.nodeArgs ?? []), script, JSON.stringify(args)], {
    cwd: ROOT,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? path.join(PKI_DIR, 'ca.pem') },
    stdio: ['ignore', opts.stdout ?? 'ignore', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let exited = false;
  const ready = await new Promise<R>((resolve, reject) => {
    proc.on('message', (m: Message) => {
      if (m.type === 'ready') resolve(m.payload as R);
      else if (m.type === 'reply') {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error !== undefined) w?.reject(new Error(`${name}: ${m.error}`));
        else w?.resolve(m.result);
      }
    });
    proc.once('exit', (code, signal) => {
      exited = true;
      const err = new Error(`${name} exited (${code ?? signal})`);
      reject(err);
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    });
  });
  const rpc = <T>(cmd: string, a?: unknown) =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error(`${name} is not running`));
      const id = ++seq;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      proc.send({ id, cmd, args: a });
    });
  return {
    name,
    pid: proc.pid!,
    ready,
    rpc,
    usage: () => rpc<Usage>('usage'),
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.send({ id: ++seq, cmd: 'exit' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * BENCH_CPU_PROFILE=<dir>: `profiled` records a V8 CPU profile of the child while `run` runs and writes it
 * to <dir>/<label>.cpuprofile (open it in Chrome DevTools or VS Code). Off, it just runs.
 */
export async function profiled<T>(child: Child<unknown>, label: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return run();
  await child.rpc('profileStart');
  try {
    return await run();
  } finally {
    mkdirSync(dir, { recursive: true });
    const file = path.resolve(dir, `${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
    await child.rpc('profileStop', { file });
    process.stderr.write(`  CPU profile of ${child.name}: ${file}\n`);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: each handler declares its own argument type; the parent sends JSON it built for that handler
export type Handlers = Record<string, (args: any) => unknown>;

let session: Session | null = null;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));

/** In a child: announce `ready` and answer commands until told to exit (or the parent goes away). */
export function serveParent(ready: unknown, handlers: Handlers): void {
  const all: Handlers = {
    usage: () => usage(),
    exit: () => setImmediate(() => process.exit(0)),
    /** Usage after a full garbage collection (the child needs --expose-gc). */
    gcUsage() {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the child with --expose-gc');
      gc();
      gc();
      return usage();
    },
    async profileStart() {
      session ??= new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
    },
    async profileStop(a: { file: string }) {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      session!.disconnect();
      writeFileSync(a.file, JSON.stringify(profile));
    },
    ...handlers,
  };
  process.on('message', (m: { id: number; cmd: string; args?: unknown }) => {
    void (async () => {
      try {
        const h = all[m.cmd];
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        const result = await h(m.args);
        process.send!({ type: 'reply', id: m.id, result: result ?? null });
      } catch (err) {
        process.send!({ type: 'reply', id: m.id, error: (err as Error).stack ?? String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', payload: ready });
}

/** In a child: the JSON argument the parent passed. */
export function childArgs<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('This file is a benchmark child process; run the benchmark scripts instead.');
  return JSON.parse(raw) as T;
}

/** SQL statements a bot child has prepared so far; null for children that are not bots. */
export async function sqlStatements(child: Child<unknown>): Promise<number | null> {
  return child.rpc<number>('sqlStatements').catch(() => null);
}

/** CPU used between two usage readings, per item, in ms. */
export function cpuPer(before: Usage, after: Usage, items: number): number {
  return (after.cpuMs - before.cpuMs) / Math.max(1, items);
}
