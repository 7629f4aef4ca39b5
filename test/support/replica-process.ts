import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** How a replica process ended: its exit code, or the signal that ended it. */
export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  at: number;
}

export interface ReplicaProcess {
  url: string;
  pid: number;
  /** kill -9: no shutdown hooks, no drain; whatever was in flight is cut off. */
  kill(): Promise<void>;
  /** How the process ended, or null while it runs. */
  exited(): ReplicaExit | null;
  /** Called once when the process ends, whatever ended it (a kill() included). */
  onExit(listener: (exit: ReplicaExit) => void): void;
}

export interface ReplicaOptions {
  /** Where the replica's stdout (after its url line) and stderr go; nothing is kept when absent. */
  logFile?: string;
  /** How long to wait for the replica to listen (default 30 s). */
  startTimeoutMs?: number;
}

/** Starts a bot replica in a child process with this environment (DATABASE_URL shared with the test's bot). */
export async function startReplica(env: Record<string, string>, extra: Record<string, string> = {}, options: ReplicaOptions = {}): Promise<ReplicaProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'tsx/cjs', join(__dirname, 'replica-main.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, ...env, PORT: '0', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: WriteStream | null = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  let exit: ReplicaExit | null = null;
  const exitListeners: Array<(e: ReplicaExit) => void> = [];
  child.on('exit', (code, signal) => {
    exit = { code, signal, at: Date.now() };
    for (const listener of exitListeners) listener(exit);
  });
  child.on('close', () => log?.end());
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    log?.write(d);
  });
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`replica did not start within ${startTimeoutMs / 1000} s: ${stderr.slice(-500)}`)), startTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      if (found) {
        log?.write(d);
        return;
      }
      out += d.toString();
      for (let nl = out.indexOf('\n'); !found && nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        let parsed: { url?: unknown; level?: unknown } | null = null;
        try {
          parsed = JSON.parse(line) as { url?: unknown; level?: unknown };
        } catch {
          parsed = null;
        }
        // The url line is the replica's own (no pino level); log lines before it go to the log file.
        if (parsed && typeof parsed.url === 'string' && parsed.level === undefined) {
          found = true;
          clearTimeout(timer);
          if (out) log?.write(out);
          resolve(parsed.url);
        } else if (line.trim()) log?.write(`${line}\n`);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`replica exited (${code}) before listening: ${stderr.slice(-500)}`));
    });
  }).catch((err: unknown) => {
    // Never leave a half-started child behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  });
  return {
    url,
    pid: child.pid!,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
    exited: () => exit,
    onExit(listener) {
      if (exit) listener(exit);
      else exitListeners.push(listener);
    },
  };
}
