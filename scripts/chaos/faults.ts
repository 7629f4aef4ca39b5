/**
 * The scripted faults: planned from the seeded generator (kinds, moments, targets, parameters), then
 * carried out at their moments during the load. Kills take turns (one replica down at a time, the next
 * kill waits until both are up again); the rest fire when due.
 */
import type { SimHandle } from '../../sim/server';
import type { FakeConnector } from '../../sim/bot-connector';
import type { Approvers, Filed } from './actors';
import type { ChaosDatabase } from './database';
import { FAULT_KINDS, KILL_KINDS, type ChaosProfile, type FaultKind } from './profiles';
import type { Prng } from './prng';
import { REPLICA_NAMES, sleep, type ReplicaName, type ReplicaSet } from './replicas';
import type { TeamsEdge } from './teams-edge';

export interface PlannedFault {
  kind: FaultKind;
  /** ms after the load starts. */
  at: number;
  /** The generator's draws for this fault (victim, route, count, duration), made at planning time. */
  draw: { replica: ReplicaName; replicas: ReplicaName[]; routeIndex: number; times: number; ms: number; restartMs: number; retryAfterSeconds: number };
}

export interface FaultRecord {
  kind: FaultKind;
  plannedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  /** done: injected as meant; partial: injected, but not the way it was meant (see detail); skipped: not injected. */
  outcome: 'done' | 'partial' | 'skipped' | 'failed';
  detail: string;
  /** The process a kill ended. */
  killedPid?: number;
  killed?: ReplicaName;
}

/** Graph routes a 429/503 lands on (method, path regex). */
export const GRAPH_ROUTES: ReadonlyArray<{ name: string; method: string; pathPattern: string }> = [
  { name: 'approval PATCH', method: 'PATCH', pathPattern: 'roleAssignmentApprovals/[^/]+/steps' },
  { name: 'approval steps read', method: 'GET', pathPattern: 'roleAssignmentApprovals' },
  { name: 'PIM request read', method: 'GET', pathPattern: 'roleAssignmentScheduleRequests' },
  { name: 'Graph $batch', method: 'POST', pathPattern: '\\$batch' },
  { name: 'message read-back', method: 'GET', pathPattern: '/messages' },
  { name: 'user read', method: 'GET', pathPattern: '^/(v1\\.0|beta)/users/' },
  { name: 'role definition read', method: 'GET', pathPattern: 'roleDefinitions' },
];

export function planFaults(profile: ChaosProfile, prng: Prng): PlannedFault[] {
  const loadMs = profile.loadSeconds * 1000;
  const out: PlannedFault[] = [];
  for (const kind of FAULT_KINDS) {
    for (let i = 0; i < profile.faults[kind]; i++) {
      const end = KILL_KINDS.includes(kind) ? profile.killWindowEnd : profile.faultWindow[1];
      const early = i === 0 ? profile.earlyKinds.indexOf(kind) : -1;
      // An early kind's first fault: at the start of the window, in the profile's order (kills take turns anyway).
      const at = early >= 0 ? Math.round(profile.faultWindow[0] * loadMs) + early * 100 : Math.round(prng.between(profile.faultWindow[0], end) * loadMs);
      const replica = prng.pick(REPLICA_NAMES);
      out.push({
        kind,
        at,
        draw: {
          replica,
          replicas: prng.chance(0.5) ? [...REPLICA_NAMES] : [replica],
          routeIndex: prng.int(0, GRAPH_ROUTES.length - 1),
          times: prng.int(1, kind.startsWith('graph') ? 3 : 2),
          ms: kind === 'outbox-lock' ? prng.int(2_000, 4_000) : prng.int(profile.slowPatchMs[0], profile.slowPatchMs[1]),
          restartMs: prng.int(profile.restartDelayMs[0], profile.restartDelayMs[1]),
          retryAfterSeconds: prng.int(1, 2),
        },
      });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

export interface FaultDeps {
  profile: ChaosProfile;
  sim: SimHandle;
  connector: FakeConnector;
  edge: TeamsEdge;
  db: ChaosDatabase;
  replicas: ReplicaSet;
  approvers: Approvers;
  /** Files one of the spare requests now (a fault that needs a post on its way); null when none is left. */
  fileSpare(): Promise<Filed> | null;
  log(msg: string): void;
}

export class FaultRunner {
  readonly records: FaultRecord[] = [];
  private killTurn: Promise<void> = Promise.resolve();
  private readonly tasks = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: FaultDeps) {}

  /** Runs the plan from `t0` (Date.now() of the load start); resolves when every fault has ended. */
  async run(plan: PlannedFault[], t0: number): Promise<void> {
    for (const f of plan) {
      // In short steps, so a stop() is seen within a second.
      while (!this.stopped && Date.now() < t0 + f.at) await sleep(Math.min(1000, t0 + f.at - Date.now()));
      if (this.stopped) break;
      const rec: FaultRecord = { kind: f.kind, plannedAt: f.at, startedAt: null, endedAt: null, outcome: 'skipped', detail: '' };
      this.records.push(rec);
      const task = this.execute(f, rec)
        .catch((err: unknown) => {
          rec.outcome = 'failed';
          rec.detail = `${rec.detail} ${(err as Error).message}`.trim().slice(0, 300);
        })
        .finally(() => {
          rec.endedAt ??= Date.now();
          this.deps.log(`fault ${rec.kind}: ${rec.outcome} ${rec.detail}`);
          this.tasks.delete(task);
        });
      this.tasks.add(task);
    }
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Kills take turns: one at a time, each once both replicas are up. */
  private async inKillTurn<T>(work: () => Promise<T>): Promise<T> {
    const prev = this.killTurn;
    let release!: () => void;
    this.killTurn = new Promise<void>((r) => (release = r));
    await prev;
    try {
      if (!(await this.deps.replicas.waitAllUp(120_000))) throw new Error('a replica did not come back up');
      return await work();
    } finally {
      release();
    }
  }

  private async execute(f: PlannedFault, rec: FaultRecord): Promise<void> {
    const { sim, connector, db, replicas } = this.deps;
    const d = f.draw;
    const start = () => (rec.startedAt = Date.now());
    switch (f.kind) {
      case 'kill':
        return this.inKillTurn(async () => {
          start();
          const killed = await replicas.killAndRestart(d.replica, 'kill at a random moment', d.restartMs);
          if (!killed) throw new Error(`replica ${d.replica} was not running`);
          Object.assign(rec, { outcome: 'done', killed: d.replica, killedPid: killed.pid, detail: `replica ${d.replica} (pid ${killed.pid})` });
        });
      case 'kill-patch-held':
        return this.inKillTurn(() => this.killWhilePatchHeld(rec, d.restartMs));
      case 'kill-post-hung':
      case 'kill-post-slow':
        return this.inKillTurn(() => this.killWhilePostHeld(f.kind === 'kill-post-hung' ? 'hung' : 'slow', rec, d.restartMs));
      case 'graph-429':
      case 'graph-503': {
        start();
        const route = GRAPH_ROUTES[d.routeIndex]!;
        const status = f.kind === 'graph-429' ? 429 : 503;
        await simFault(sim, {
          method: route.method,
          pathPattern: route.pathPattern,
          status,
          ...(status === 429 ? { retryAfterSeconds: d.retryAfterSeconds } : {}),
          times: d.times,
        });
        Object.assign(rec, {
          outcome: 'done',
          detail: `${status}${status === 429 ? ` Retry-After ${d.retryAfterSeconds}` : ''} on the next ${d.times} ${route.name} call(s)`,
        });
        return;
      }
      case 'graph-slow-patch':
        start();
        await simFault(sim, { method: 'PATCH', pathPattern: 'roleAssignmentApprovals/[^/]+/steps', answerAfterMs: d.ms, times: 1 });
        Object.assign(rec, { outcome: 'done', detail: `the next approval PATCH applied, answered after ${d.ms} ms` });
        return;
      case 'teams-429':
      case 'teams-503': {
        start();
        const status = f.kind === 'teams-429' ? 429 : 503;
        connector.failNext(status, d.times, status === 429 ? { retryAfterSeconds: d.retryAfterSeconds } : {});
        Object.assign(rec, {
          outcome: 'done',
          detail: `${status}${status === 429 ? ` Retry-After ${d.retryAfterSeconds}` : ''} on the next ${d.times} Bot Connector call(s)`,
        });
        return;
      }
      case 'teams-slow-post': {
        start();
        const before = connector.slowed;
        connector.slowNext('POST', this.deps.profile.slowPostMs, 1);
        const spare = this.deps.fileSpare();
        if (!(await until(() => connector.slowed > before, 30_000))) {
          Object.assign(rec, {
            outcome: 'partial',
            detail: `armed (answer after ${this.deps.profile.slowPostMs} ms), no post came within 30 s${spare ? '' : ' (no spare request left)'}`,
          });
          return;
        }
        Object.assign(rec, { outcome: 'done', detail: `a post accepted, answered after ${this.deps.profile.slowPostMs} ms` });
        return;
      }
      case 'pg-terminate': {
        start();
        const r = await db.terminate(d.replicas);
        Object.assign(rec, {
          outcome: r.inTransaction > 0 ? 'done' : 'partial',
          detail: `replica(s) ${d.replicas.join('+')}: ${r.terminated} connection(s) ended, ${r.inTransaction} inside a transaction (${r.betweenStatements} between two of its statements)`,
        });
        return;
      }
      case 'outbox-lock': {
        start();
        const r = await db.lockOutbox(d.ms);
        Object.assign(rec, { outcome: 'done', detail: `outbox locked for ${d.ms} ms (the lock took ${r.waitedMs} ms to get)` });
        return;
      }
      default:
        throw new Error(`unknown fault ${String(f.kind)}`);
    }
  }

  /** PIM applies the click's PATCH and holds its answer; the replica that sent it is killed before the answer. */
  private async killWhilePatchHeld(rec: FaultRecord, restartMs: number): Promise<void> {
    const { sim, approvers, replicas } = this.deps;
    let target: ReturnType<Approvers['takeForFault']> = null;
    const deadline = Date.now() + 30_000;
    while (!target && Date.now() < deadline) {
      target = approvers.takeForFault();
      if (!target) await sleep(250);
    }
    rec.startedAt = Date.now();
    if (!target) {
      rec.detail = 'no card waiting for its first click within 30 s';
      return;
    }
    await simFault(sim, {
      method: 'PATCH',
      pathPattern: `roleAssignmentApprovals/${target.pimId}/steps`,
      answerAfterMs: this.deps.profile.patchHeldMs,
      times: 1,
    });
    const { routed } = await approvers.faultClick(target.pimId, target.requestId, target.version, target.click);
    const backend = await routed;
    if (!backend) {
      rec.detail = `${target.pimId}: the click reached no replica`;
      return;
    }
    const applied = await until(() => sim.pim.get(target.pimId)?.approval?.steps[0]?.status === 'Completed', 20_000);
    const name = replicas.nameOf(backend.pid);
    if (!name) {
      rec.outcome = 'partial';
      rec.detail = `${target.pimId}: replica ${backend.name} (pid ${backend.pid}) was gone before the kill`;
      return;
    }
    const killed = await replicas.killAndRestart(name, `kill-patch-held ${target.pimId}`, restartMs);
    Object.assign(rec, {
      outcome: applied ? 'done' : 'partial',
      killed: name,
      killedPid: killed?.pid,
      detail: `${target.pimId}: ${applied ? 'PIM applied the PATCH, answer held' : 'the PATCH was not applied within 20 s'}; killed replica ${name} (pid ${backend.pid})`,
    });
  }

  /** Teams holds a post (never answered, or accepted and answered late); the replica that sent it is killed. */
  private async killWhilePostHeld(how: 'hung' | 'slow', rec: FaultRecord, restartMs: number): Promise<void> {
    const { connector, edge, replicas } = this.deps;
    rec.startedAt = Date.now();
    const armedAt = Date.now();
    const before = how === 'hung' ? connector.hung : connector.slowed;
    if (how === 'hung') connector.hangNext('POST', 1);
    else connector.slowNext('POST', this.deps.profile.slowPostMs, 1);
    const spare = this.deps.fileSpare();
    const held = await until(() => (how === 'hung' ? connector.hung : connector.slowed) > before, 30_000);
    if (!held) {
      rec.outcome = 'partial';
      rec.detail = `armed, but no post came within 30 s${spare ? '' : ' (no spare request left)'}`;
      return;
    }
    let pid: number | null = null;
    const call = edge.waiting().find((c) => c.method === 'POST' && c.startedAt >= armedAt - 5);
    if (call) pid = edge.senderOf(call, replicas.livePids());
    const name = pid === null ? undefined : replicas.nameOf(pid);
    if (!name || !call) {
      rec.outcome = 'partial';
      rec.detail = `a post held (${how}), but its sender could not be told (${call ? `port ${call.peerPort}` : 'no call waiting at the edge'})`;
      return;
    }
    const killed = await replicas.killAndRestart(name, `kill-post-${how} ${call.path}`, restartMs);
    Object.assign(rec, {
      outcome: 'done',
      killed: name,
      killedPid: killed?.pid,
      detail: `post to ${decodeURIComponent(call.path.split('/')[3] ?? '')} held (${how}); killed replica ${name} (pid ${pid})`,
    });
  }
}

async function simFault(sim: SimHandle, spec: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  if (res.status !== 201) throw new Error(`the simulator refused the fault ${JSON.stringify(spec)}: ${await res.text()}`);
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}
