/**
 * Bot replicas as child processes (the same entry point as the crash tests, test/support/replica-main.ts),
 * with their logs kept in a file and tallied, and their resident memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const ENTRY = join(REPO, 'test', 'support', 'replica-main.ts');

export interface LogTally {
  /** pino level name → lines. */
  levels: Record<string, number>;
  /** `level: msg` → count, for warn and above. */
  messages: Map<string, number>;
  /** The first few warn-or-worse lines as written. */
  samples: string[];
}

export interface Replica {
  name: string;
  url: string;
  pid: number;
  logFile: string;
  logs: LogTally;
  /** The process's exit, if it exited (code or signal). */
  exited: () => string | null;
  stop(): Promise<void>;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export async function spawnReplica(name: string, env: Record<string, string>, logFile: string): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'tsx/cjs', ENTRY], {
    cwd: REPO,
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(logFile);
  const logs: LogTally = { levels: {}, messages: new Map(), samples: [] };
  let exit: string | null = null;
  child.on('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `code ${code}`;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not start within 60 s: ${stderr.slice(-500)}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      file.write(d);
    });
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        file.write(`${line}\n`);
        let parsed: { url?: unknown; level?: unknown; msg?: unknown };
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (!found && typeof parsed.url === 'string' && parsed.level === undefined) {
          found = true;
          clearTimeout(timer);
          resolve(parsed.url);
          continue;
        }
        const level = LEVELS[parsed.level as number] ?? String(parsed.level);
        logs.levels[level] = (logs.levels[level] ?? 0) + 1;
        if ((parsed.level as number) >= 40) {
          const key = `${level}: ${String(parsed.msg ?? '')}`;
          logs.messages.set(key, (logs.messages.get(key) ?? 0) + 1);
          if (logs.samples.length < 20) logs.samples.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`replica ${name} exited (${code}) before listening: ${stderr.slice(-1000)}`));
    });
  });
  return {
    name,
    url,
    pid: child.pid!,
    logFile,
    logs,
    exited: () => exit,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => file.end(() => resolve());
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hard);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** VmRSS of a process in bytes (Linux /proc), or NaN when it cannot be read. */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface RssSample {
  /** Seconds since the load started (negative: before). */
  t: number;
  bytes: number;
}
