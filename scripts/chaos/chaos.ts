/**
 * Issue 19: a bounded-time chaos run of the whole product on loopback. The tenant simulator, the Bot
 * Connector stand-in behind a pass-through "Teams edge", a round-robin balancer and two bot replicas as
 * child processes on their own PostgreSQL schema; requesters file PIM activations (PIM calls the decision
 * endpoint through the balancer), approvers click the cards (some on both replicas at once), and scripted
 * faults (kills, held PATCHes and posts, Graph and Teams errors, slow answers, lost database connections,
 * a locked outbox) hit at moments drawn from a seeded generator. After a quiet period the invariants are
 * computed from the simulator, the connector and the database (scripts/chaos/invariants.ts).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type SimHandle } from '../../sim/server';
import { startFakeConnector, type FakeConnector } from '../../sim/bot-connector';
import { SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { APP_ID_URI, CHANNEL_ID, demoEnv, PKI_DIR, TEAM_ID } from '../../test/support/harness';
import { Approvers, fileRequest, sayHello, seededUser, type ClickRecord, type Filed } from './actors';
import { startBalancer, type Balancer } from './balancer';
import { createChaosDatabase, type ChaosDatabase } from './database';
import { FaultRunner, planFaults, type FaultRecord } from './faults';
import { checkInvariants, type CheckOutput } from './invariants';
import type { ChaosProfile, FaultKind } from './profiles';
import { FAULT_KINDS } from './profiles';
import { Prng } from './prng';
import { REPLICA_NAMES, ReplicaSet, sleep } from './replicas';
import { startTeamsEdge, type TeamsEdge } from './teams-edge';
import { TeamsView } from './teams-view';
import { makePlan, personalConversation } from './tenant';

export interface ChaosOptions {
  profile: ChaosProfile;
  seed: number;
  /** Replica logs and the report go here. */
  outDir: string;
  log?: (msg: string) => void;
  /** pino level of the replicas' logs (written to outDir/replica-X.log); default warn. */
  replicaLogLevel?: string;
  /** Ends the run early (Ctrl-C): the load and the quiet period stop, everything is cleaned up, runChaos rejects. */
  signal?: AbortSignal;
}

export interface QuietState {
  outboxOpen: number;
  verifying: number;
  recording: number;
  unposted: number;
  staleCards: number;
  noticesOwed: number;
  buttons: number;
  clicksInFlight: number;
  cardsNotSeen: number;
}

export interface ChaosResult {
  seed: number;
  profile: ChaosProfile;
  startedAt: Date;
  wallSeconds: number;
  loadSeconds: number;
  /** Date.now() when the load started: fault and request times count from here. */
  loadStartedAt: number;
  quiet: { seconds: number; settled: boolean; last: QuietState | null };
  filed: Filed[];
  /** Every click the approvers (and faults) sent, with where it went and how it was answered. */
  clicks: ClickRecord[];
  faults: FaultRecord[];
  checks: CheckOutput;
  figures: Figures;
  ok: boolean;
  schema: string;
}

export interface Figures {
  requestsPlanned: number;
  requestsFiled: number;
  sparesFiled: number;
  atFiling: Record<string, number>;
  finalPim: Record<string, number>;
  clicks: {
    total: number;
    first: number;
    double: number;
    again: number;
    fault: number;
    answered200: number;
    failed: number;
    perReplica: Record<string, number>;
  };
  faults: Record<FaultKind, { planned: number; done: number; partial: number; skipped: number; failed: number }>;
  kills: number;
  replicaStarts: number;
  cardLatencyMs: { n: number; p50: number; p95: number; max: number };
  balancer: Balancer['stats'];
  hungPosts: number;
  slowedPosts: number;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const { profile, seed } = opts;
  const log = opts.log ?? (() => undefined);
  const startedAt = new Date();
  const aborted = () => opts.signal?.aborted === true;
  mkdirSync(opts.outDir, { recursive: true });
  // Each run's replica logs on their own.
  for (const name of REPLICA_NAMES) rmSync(join(opts.outDir, `replica-${name}.log`), { force: true });
  const prng = new Prng(seed);
  const spareCount = profile.faults['kill-post-hung'] + profile.faults['kill-post-slow'] + profile.faults['teams-slow-post'];
  const plan = makePlan(profile, spareCount, prng.fork('plan'));
  const faultPlan = planFaults(profile, prng.fork('faults'));
  log(
    `profile ${profile.name}, seed ${seed}: ${plan.requests.length} requests (+${plan.spares.length} spare) over ${profile.loadSeconds} s, ${faultPlan.length} faults`,
  );

  let sim: SimHandle | undefined;
  let connector: FakeConnector | undefined;
  let edge: TeamsEdge | undefined;
  let db: ChaosDatabase | undefined;
  let balancer: Balancer | undefined;
  let replicas: ReplicaSet | undefined;
  let approvers: Approvers | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    sim = await startSimulator({ pkiDir: PKI_DIR, port: 0, seed: plan.seed });
    connector = await startFakeConnector({ messages: sim.teams });
    connector.registerChannel(CHANNEL_ID, TEAM_ID);
    edge = await startTeamsEdge(connector.serviceUrl);
    db = await createChaosDatabase();
    balancer = await startBalancer();
    log(`simulator ${sim.url}, connector ${connector.serviceUrl} behind ${edge.url}, balancer ${balancer.url}, schema ${db.schema}`);
    const level = opts.replicaLogLevel ?? 'warn';
    const chaosDb = db;
    const serviceUrl = edge.url;
    const simUrl = sim.url;
    const envFor = (name: string) =>
      demoEnv(simUrl, serviceUrl, join(opts.outDir, 'unused.sqlite'), {
        DATABASE_URL: chaosDb.urlFor(name),
        // Every request gets its own card (no summary cards), as in the component tests.
        CARD_SUMMARY_AFTER: '0',
        // As bot/main.ts runs: jobs every 5 s, the delivery sweep every 15 s.
        REPLICA_JOBS_MS: '5000',
        REPLICA_SWEEP_MS: '15000',
        REPLICA_LOG_LEVEL: level,
        LOG_LEVEL: level,
        OUTBOX_SEND_TIMEOUT_MS: String(profile.outboxSendTimeoutMs),
        // The app's manifest id lets the bot find a user's chat in Graph, so a notice whose answer was lost is
        // looked for there before it is sent again (without it, it is sent again: a second notice).
        TEAMS_APP_MANIFEST_ID: SIM_TEAMS_APP_MANIFEST_ID,
      });
    replicas = new ReplicaSet(envFor, balancer, opts.outDir, log);
    // One after the other: the first migrates the fresh schema.
    for (const name of REPLICA_NAMES) await replicas.start(name);
    sim.setCustomExtension({
      targetUrl: `${balancer.url}/api/pim/evaluate`,
      resourceId: APP_ID_URI,
      timeoutMs: profile.extension.timeoutMs,
      maximumRetries: profile.extension.maximumRetries,
    });

    const view = new TeamsView(connector, CHANNEL_ID);
    const conversations = new Map(plan.requesters.map((id) => [id, personalConversation(seededUser(id).teamsUserId)]));
    for (const id of plan.requesters) await sayHello(balancer.url, edge.url, connector, id);
    const pool = db.pool;
    await waitFor(
      'the bot stores every requester’s chat',
      async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM conversation_refs')).rows[0]!.n) >= plan.requesters.length,
      30_000,
    );

    const filed: Filed[] = [];
    approvers = new Approvers(
      balancer,
      edge.url,
      view,
      profile,
      async () =>
        new Map(
          (await pool.query<{ id: string; pim_request_id: string }>('SELECT id, pim_request_id FROM approval_requests')).rows.map((r) => [
            r.pim_request_id,
            r.id,
          ]),
        ),
    );
    const desk = approvers;
    const filings = new Set<Promise<void>>();
    const file = (p: (typeof plan.requests)[number]): Promise<Filed> => {
      const s = sim!;
      const task = fileRequest(s, p, filed).then((f) => {
        desk.watch(f);
        return f;
      });
      const tracked = task.then(() => undefined);
      filings.add(tracked);
      void tracked.finally(() => filings.delete(tracked));
      return task;
    };
    const spares = [...plan.spares];
    let sparesFiled = 0;
    const faults = new FaultRunner({
      profile,
      sim,
      connector,
      edge,
      db,
      replicas,
      approvers,
      fileSpare: () => {
        const p = spares.shift();
        if (!p) return null;
        sparesFiled += 1;
        return file(p);
      },
      log,
    });

    const t0 = Date.now() + 300;
    approvers.start();
    const progress = setInterval(() => {
      const c = connector!;
      log(
        `t=${((Date.now() - t0) / 1000).toFixed(0)}s filed ${filed.length} (answered ${filed.filter((f) => f.answeredAt).length}), clicks ${desk.clicks.length}, connector calls ${c.calls.length}, faults ${faults.records.length}/${faultPlan.length}, replicas up ${replicas!.livePids().length}`,
      );
    }, 10_000);
    timers.push(progress);
    log('load starts');
    const schedule = (async () => {
      for (const p of plan.requests) {
        await sleep(t0 + p.at! - Date.now());
        if (aborted()) return;
        void file(p);
      }
    })();
    const stopFaults = () => faults.stop();
    opts.signal?.addEventListener('abort', stopFaults);
    await Promise.all([schedule, faults.run(faultPlan, t0)]);
    opts.signal?.removeEventListener('abort', stopFaults);
    if (aborted()) throw new Error('interrupted');
    while (filings.size) await Promise.allSettled([...filings]);
    const loadSeconds = (Date.now() - t0) / 1000;
    log(`load and faults over after ${loadSeconds.toFixed(0)} s; quiet period (faults off)`);

    // Quiet: no new faults; both replicas up; wait for the database and the approvers to settle.
    faults.stop();
    await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    connector.clearFailures();
    await replicas.waitAllUp(120_000);
    const quietStart = Date.now();
    let last: QuietState | null = null;
    let settled = false;
    while (Date.now() - quietStart < profile.quietTimeoutSeconds * 1000) {
      if (aborted()) throw new Error('interrupted');
      last = await quietState(pool, desk);
      if (isQuiet(last)) {
        await sleep(3000);
        last = await quietState(pool, desk);
        if (isQuiet(last)) {
          settled = true;
          break;
        }
      }
      await sleep(1000);
    }
    const quietSeconds = (Date.now() - quietStart) / 1000;
    log(`quiet period ${settled ? 'settled' : 'did NOT settle'} after ${quietSeconds.toFixed(0)} s: ${JSON.stringify(last)}`);
    await approvers.stop();
    for (const t of timers) clearInterval(t);

    const checks = await checkInvariants({ sim, connector, view, pool, filed, approvers, replicas, channelId: CHANNEL_ID, conversations });
    const figures = figuresOf({
      plan,
      filed,
      sparesFiled,
      approvers,
      faults: faults.records,
      faultPlanKinds: faultPlan.map((f) => f.kind),
      replicas,
      view,
      checks,
      balancer,
      connector,
      sim,
    });
    const ok = checks.invariants.every((i) => i.ok) && settled;
    return {
      seed,
      profile,
      startedAt,
      wallSeconds: (Date.now() - startedAt.getTime()) / 1000,
      loadSeconds,
      loadStartedAt: t0,
      quiet: { seconds: quietSeconds, settled, last },
      filed,
      clicks: approvers.clicks,
      faults: faults.records,
      checks,
      figures,
      ok,
      schema: db.schema,
    };
  } finally {
    for (const t of timers) clearInterval(t);
    await approvers?.stop().catch(() => undefined);
    await replicas?.stopAll().catch(() => undefined);
    await balancer?.close().catch(() => undefined);
    await edge?.close().catch(() => undefined);
    await connector?.close().catch(() => undefined);
    await sim?.close().catch(() => undefined);
    await db?.drop().catch((err: unknown) => log(`could not drop schema ${db?.schema}: ${(err as Error).message}`));
  }
}

async function quietState(pool: ChaosDatabase['pool'], approvers: Approvers): Promise<QuietState> {
  const q = await pool.query<Record<string, string>>(`
    SELECT
      (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'held')) AS outbox_open,
      (SELECT count(*) FROM outbox WHERE status = 'sent' AND verify_at IS NOT NULL) AS verifying,
      (SELECT count(*) FROM approval_requests WHERE status = 'recording') AS recording,
      (SELECT count(*) FROM approval_requests WHERE cards_posted_at IS NULL AND unbound_at IS NULL) AS unposted,
      (SELECT count(*) FROM approval_requests r WHERE EXISTS (SELECT 1 FROM card_posts c WHERE c.request_id = r.id AND c.rendered_version < r.version)) AS stale_cards,
      (SELECT count(*) FROM approval_requests r
        WHERE r.status IN ('approved', 'denied', 'expired', 'cancelled') AND r.unbound_at IS NULL
          AND EXISTS (SELECT 1 FROM conversation_refs c WHERE c.aad_object_id = r.principal_id)
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'notice:' || r.id || ':' || r.status)) AS notices_owed`);
  const r = q.rows[0]!;
  const u = approvers.unsettled();
  return {
    outboxOpen: Number(r.outbox_open),
    verifying: Number(r.verifying),
    recording: Number(r.recording),
    unposted: Number(r.unposted),
    staleCards: Number(r.stale_cards),
    noticesOwed: Number(r.notices_owed),
    buttons: u.buttons.length,
    clicksInFlight: u.inFlight.length,
    cardsNotSeen: u.notSeen.length,
  };
}

function isQuiet(s: QuietState): boolean {
  return Object.values(s).every((n) => n === 0);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

function figuresOf(o: {
  plan: ReturnType<typeof makePlan>;
  filed: Filed[];
  sparesFiled: number;
  approvers: Approvers;
  faults: FaultRecord[];
  faultPlanKinds: FaultKind[];
  replicas: ReplicaSet;
  view: TeamsView;
  checks: CheckOutput;
  balancer: Balancer;
  connector: FakeConnector;
  sim: SimHandle;
}): Figures {
  const count = (xs: Array<string | null>) => {
    const m: Record<string, number> = {};
    for (const x of xs) m[x ?? 'no answer'] = (m[x ?? 'no answer'] ?? 0) + 1;
    return m;
  };
  const clicks = o.approvers.clicks;
  const perReplica: Record<string, number> = {};
  for (const c of clicks) perReplica[c.replica ?? 'none'] = (perReplica[c.replica ?? 'none'] ?? 0) + 1;
  const faults = Object.fromEntries(
    FAULT_KINDS.map((k) => [k, { planned: o.faultPlanKinds.filter((x) => x === k).length, done: 0, partial: 0, skipped: 0, failed: 0 }]),
  ) as Figures['faults'];
  for (const r of o.faults) faults[r.kind][r.outcome] += 1;
  // Request filed → its card first shown in the channel (the connector's acceptance time).
  const first = o.view.firstPostedAt();
  const lat: number[] = [];
  for (const f of o.filed) {
    const rows = f.pimId ? (o.checks.rows.get(f.pimId.toLowerCase()) ?? []) : [];
    const shown = rows.map((r) => first.get(r.id)).filter((x): x is number => x !== undefined);
    if (shown.length) lat.push(Math.min(...shown) - f.filedAt);
  }
  lat.sort((a, b) => a - b);
  return {
    requestsPlanned: o.plan.requests.length,
    requestsFiled: o.filed.length,
    sparesFiled: o.sparesFiled,
    atFiling: count(o.filed.map((f) => f.status ?? (f.error ? 'error' : null))),
    finalPim: count(o.filed.map((f) => (f.pimId ? (o.sim.pim.get(f.pimId)?.status ?? 'missing') : 'not filed'))),
    clicks: {
      total: clicks.length,
      first: clicks.filter((c) => c.kind === 'first').length,
      double: clicks.filter((c) => c.kind === 'double').length,
      again: clicks.filter((c) => c.kind === 'again').length,
      fault: clicks.filter((c) => c.kind === 'fault').length,
      answered200: clicks.filter((c) => c.httpStatus === 200 && c.statusCode === 200).length,
      failed: clicks.filter((c) => !(c.httpStatus === 200 && c.statusCode === 200)).length,
      perReplica,
    },
    faults,
    kills: o.faults.filter((r) => r.killedPid !== undefined).length,
    replicaStarts: o.replicas.starts(),
    cardLatencyMs: { n: lat.length, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), max: lat.at(-1) ?? Number.NaN },
    balancer: o.balancer.stats,
    hungPosts: o.connector.hung,
    slowedPosts: o.connector.slowed,
  };
}
