/**
 * The two bot replicas as child processes (test/support/replica-process.ts), behind the balancer: started
 * one after the other (the first migrates the fresh schema), killed with SIGKILL by the driver's faults and
 * started again after a short delay, same environment. Every exit is recorded; one the driver did not
 * cause is an invariant failure.
 */
import { join } from 'node:path';
import { startReplica, type ReplicaExit, type ReplicaProcess } from '../../test/support/replica-process';
import type { Balancer } from './balancer';

export type ReplicaName = 'A' | 'B';
export const REPLICA_NAMES: readonly ReplicaName[] = ['A', 'B'];

export interface ExitRecord extends ReplicaExit {
  name: ReplicaName;
  pid: number;
  /** The driver killed it (a fault, or the clean-up at the end). */
  expected: boolean;
  why: string;
}

interface Slot {
  name: ReplicaName;
  proc: ReplicaProcess | null;
  starting: Promise<void> | null;
  starts: number;
}

export class ReplicaSet {
  private readonly slots = new Map<ReplicaName, Slot>();
  readonly exits: ExitRecord[] = [];
  readonly startFailures: Array<{ name: ReplicaName; at: number; error: string }> = [];
  /** pid → the kill reason, set just before the driver kills it. */
  private readonly killing = new Map<number, string>();
  private readonly allPids = new Map<number, ReplicaName>();
  private closed = false;
  /** Should this process end before stopAll (a test timeout, a second Ctrl-C), no replica outlives it. */
  private readonly onProcessExit = () => {
    for (const pid of this.livePids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  constructor(
    private readonly envFor: (name: ReplicaName) => Record<string, string>,
    private readonly balancer: Balancer,
    private readonly logDir: string,
    private readonly log: (msg: string) => void,
  ) {
    for (const name of REPLICA_NAMES) this.slots.set(name, { name, proc: null, starting: null, starts: 0 });
    process.on('exit', this.onProcessExit);
  }

  async start(name: ReplicaName): Promise<void> {
    const slot = this.slots.get(name)!;
    if (slot.starting) return slot.starting;
    slot.starting = (async () => {
      for (let attempt = 1; !this.closed; attempt++) {
        try {
          const proc = await startReplica(this.envFor(name), {}, { logFile: join(this.logDir, `replica-${name}.log`), startTimeoutMs: 90_000 });
          slot.starts += 1;
          this.allPids.set(proc.pid, name);
          proc.onExit((exit) => this.onExit(name, proc, exit));
          if (this.closed) {
            this.killing.set(proc.pid, 'clean-up');
            await proc.kill();
            return;
          }
          slot.proc = proc;
          this.balancer.setBackend(name, { name, url: proc.url, pid: proc.pid });
          this.log(`replica ${name} up (pid ${proc.pid}, ${proc.url})`);
          return;
        } catch (err) {
          this.startFailures.push({ name, at: Date.now(), error: (err as Error).message.slice(0, 300) });
          this.log(`replica ${name} failed to start (attempt ${attempt}): ${(err as Error).message.slice(0, 200)}`);
          if (attempt >= 3) throw err;
          await sleep(1000);
        }
      }
    })().finally(() => {
      slot.starting = null;
    });
    return slot.starting;
  }

  private onExit(name: ReplicaName, proc: ReplicaProcess, exit: ReplicaExit): void {
    const why = this.killing.get(proc.pid);
    this.exits.push({ ...exit, name, pid: proc.pid, expected: why !== undefined, why: why ?? 'not killed by the driver' });
    const slot = this.slots.get(name)!;
    if (slot.proc === proc) slot.proc = null;
    if (why === undefined && !this.closed) {
      this.log(`replica ${name} (pid ${proc.pid}) EXITED on its own: code ${exit.code}, signal ${exit.signal}`);
      // Keep the run going (the exit is reported): the balancer's next pick of the dead port fails over.
      void sleep(1000).then(() => this.start(name).catch(() => undefined));
    }
  }

  /** kill -9 now; started again after `restartAfterMs` (resolves once it is up again). */
  async killAndRestart(name: ReplicaName, why: string, restartAfterMs: number): Promise<{ pid: number } | null> {
    const slot = this.slots.get(name)!;
    const proc = slot.proc;
    if (!proc) return null;
    this.killing.set(proc.pid, why);
    slot.proc = null;
    // The balancer keeps the dead address until the new process is up: its connects fail and it fails over.
    await proc.kill();
    this.log(`killed replica ${name} (pid ${proc.pid}): ${why}`);
    await sleep(restartAfterMs);
    await this.start(name);
    return { pid: proc.pid };
  }

  isUp(name: ReplicaName): boolean {
    return !!this.slots.get(name)!.proc;
  }

  allUp(): boolean {
    return REPLICA_NAMES.every((n) => this.isUp(n));
  }

  async waitAllUp(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.allUp()) {
      if (Date.now() > end || this.closed) return false;
      await sleep(100);
    }
    return true;
  }

  /** The replica a live process belongs to. */
  nameOf(pid: number): ReplicaName | undefined {
    for (const slot of this.slots.values()) if (slot.proc?.pid === pid) return slot.name;
    return undefined;
  }

  livePids(): number[] {
    return [...this.slots.values()].flatMap((s) => (s.proc ? [s.proc.pid] : []));
  }

  /** Whether this process (any generation) is dead now. */
  isDead(pid: number): boolean {
    return this.allPids.has(pid) && !this.livePids().includes(pid);
  }

  starts(): number {
    return [...this.slots.values()].reduce((n, s) => n + s.starts, 0);
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    process.off('exit', this.onProcessExit);
    await Promise.allSettled([...this.slots.values()].map((s) => s.starting));
    await Promise.all(
      [...this.slots.values()].map(async (s) => {
        if (!s.proc) return;
        this.killing.set(s.proc.pid, 'clean-up');
        await s.proc.kill();
        s.proc = null;
      }),
    );
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
