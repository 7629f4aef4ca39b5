import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface ReplicaProcess {
  url: string;
  pid: number;
  /** kill -9: no shutdown hooks, no drain; whatever was in flight is cut off. */
  kill(): Promise<void>;
}

/** Starts a bot replica in a child process with this environment (DATABASE_URL shared with the test's bot). */
export async function startReplica(env: Record<string, string>, extra: Record<string, string> = {}): Promise<ReplicaProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'tsx/cjs', join(__dirname, 'replica-main.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, ...env, PORT: '0', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`replica did not start within 30 s: ${stderr.slice(-500)}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code}) before listening: ${stderr.slice(-500)}`));
    });
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
  };
}
