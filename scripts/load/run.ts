/**
 * Issue 7, item 6: a steady open-loop load on loopback against two bot replicas sharing one PostgreSQL
 * schema — PIM activations through the custom extension, signed escalations and approve clicks — with
 * latencies, replica memory and end-of-run consistency checks, printed as markdown and appended to
 * BENCHMARKS.md. `npm run load`; LOAD_* variables change the rates and the length (scripts/load/config.ts).
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { startSimulator } from '../../sim/server';
import { DEMO_BOT_APP } from '../../sim/seed';
import type { CustomExtensionConfig } from '../../sim/context';
import { demoEnv, PKI_DIR } from '../../test/support/harness';
import { startFakeConnector } from '../../test/support/fake-connector';
import { freshDatabase } from '../../test/support/test-database';
import { loadSettings, nonDefault } from './config';
import { dbFigures, owed, runChecks, simCallSummary } from './checks';
import {
  approveDataOf,
  cardAction,
  escalation,
  evaluation,
  OpStats,
  PairSource,
  type Filed,
  type OpContext,
  type PendingCard,
  type ReplicaName,
} from './operations';
import { rssOf, spawnReplica, type Replica, type RssSample } from './replicas';
import { memorySummary, renderSection } from './report';
import { loadPolicyJson, loadTenant } from './tenant';

const REPO = join(__dirname, '..', '..');
const OUT_DIR = join(REPO, '.local', 'load');
const APP_ID_URI = `api://127.0.0.1/${DEMO_BOT_APP.clientId}`;
const EVENTS_SECRET = 'load-run-only-events-secret-0123456789abcdef';

const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, msec)));
const log = (msg: string) => process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * Starts `run(i)` at t0 + i / rate for i = 0, 1, … while inside `seconds`, without waiting for earlier
 * ones (open loop). At most `maxInFlight` run at once; a start beyond that is counted as shed.
 */
async function openLoop(
  stats: OpStats,
  t0: number,
  seconds: number,
  maxInFlight: number,
  inFlight: Set<Promise<void>>,
  run: (i: number) => Promise<void> | 'skip',
): Promise<void> {
  if (stats.rate <= 0) return;
  const interval = 1000 / stats.rate;
  for (let i = 0; ; i++) {
    const at = t0 + i * interval;
    if (at - t0 >= seconds * 1000) return;
    await sleep(at - performance.now());
    stats.maxDispatchLagMs = Math.max(stats.maxDispatchLagMs, performance.now() - at);
    if (stats.inFlight >= maxInFlight) {
      stats.shed += 1;
      continue;
    }
    const p = run(i);
    if (p === 'skip') {
      stats.skipped += 1;
      continue;
    }
    stats.started += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const tracked: Promise<void> = p
      .catch((err: unknown) => stats.error(`generator: ${(err as Error).message}`))
      .finally(() => {
        stats.inFlight -= 1;
        inFlight.delete(tracked);
      });
    inFlight.add(tracked);
  }
}

async function main(): Promise<void> {
  const settings = loadSettings();
  process.env.TEST_DATABASE_URL = settings.databaseServer;
  mkdirSync(OUT_DIR, { recursive: true });
  const startedAt = new Date();
  const wallStart = performance.now();
  const command = [...nonDefault(settings), 'npm run load'].join(' ');
  log(`settings: ${JSON.stringify(settings)}`);

  const tenant = loadTenant(settings.users, settings.eligibilities, settings.channels);
  const needed = Math.ceil((settings.evalRate + settings.escalationRate) * settings.seconds * 1.05) + 50;
  if (tenant.pairs.length < needed)
    throw new Error(
      `The tenant has ${tenant.pairs.length} fresh (requester, role) pairs; the run needs about ${needed}: raise LOAD_ELIGIBILITIES (and LOAD_USERS).`,
    );
  log(`tenant: ${tenant.seed.users.length} users, ${tenant.seed.roles.length} roles, ${tenant.pairs.length} usable pairs`);

  const sim = await startSimulator({ pkiDir: PKI_DIR, port: 0, seed: tenant.seed });
  const connector = await startFakeConnector();
  const database = await freshDatabase(OUT_DIR);
  if (database.engine !== 'postgres') throw new Error('TEST_DATABASE_URL must point at PostgreSQL');
  const pool = new Pool({ connectionString: database.url, max: 2 });
  const replicas: Replica[] = [];
  let cleanedUp = false;
  const cleanup = async () => {
    if (cleanedUp) return;
    cleanedUp = true;
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await pool.end().catch(() => undefined);
    if (!settings.keepDb) await database.drop().catch((err: unknown) => log(`could not drop the schema: ${(err as Error).message}`));
    else log(`schema kept: ${database.url}`);
    await sim.close();
    await connector.close();
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping replicas');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const approverChannels = Object.fromEntries([
      ['default', { conversationId: '19:load-default@thread.tacv2', serviceUrl: connector.serviceUrl }],
      ...Object.entries(tenant.channels).flatMap(([conversationId, roleIds]) =>
        roleIds.map((roleId) => [roleId.toLowerCase(), { conversationId, serviceUrl: connector.serviceUrl }]),
      ),
    ]);
    const env = demoEnv(sim.url, connector.serviceUrl, join(OUT_DIR, 'unused.sqlite'), {
      DATABASE_URL: database.url,
      CARD_SUMMARY_AFTER: '0',
      // Two replicas send for one bot: each paces to half of Teams' limits.
      REPLICA_COUNT: '2',
      APPROVER_CHANNELS: JSON.stringify(approverChannels),
      POLICY_JSON: loadPolicyJson(),
      EVENTS_HMAC_SECRET: EVENTS_SECRET,
      RECONCILE_INTERVAL_MS: String(settings.reconcileMs),
      REPLICA_JOBS_MS: String(settings.jobsMs),
      REPLICA_LOG_LEVEL: settings.replicaLogLevel,
      LOG_LEVEL: settings.replicaLogLevel,
    });
    // One after the other: the first runs the migrations on the fresh schema.
    replicas.push(await spawnReplica('A', env, join(OUT_DIR, 'replica-A.log')));
    replicas.push(await spawnReplica('B', env, join(OUT_DIR, 'replica-B.log')));
    const [a, b] = replicas as [Replica, Replica];
    log(`replica A ${a.url} (pid ${a.pid}), replica B ${b.url} (pid ${b.pid}), schema ${new URL(database.url).searchParams.get('options')}`);

    const urls: Record<ReplicaName, string> = { A: a.url, B: b.url };
    const extension = (u: string): CustomExtensionConfig => ({
      targetUrl: `${u}/api/pim/evaluate`,
      resourceId: APP_ID_URI,
      timeoutMs: 10_000,
      maximumRetries: 0,
    });
    const filed: Filed[] = [];
    const pairs = new PairSource(tenant.pairs);
    const ctx: OpContext & { serviceUrl: string } = {
      sim,
      extension: { A: extension(a.url), B: extension(b.url) },
      urls,
      pairs,
      denyShare: settings.denyShare,
      eventsSecret: EVENTS_SECRET,
      filed,
      serviceUrl: connector.serviceUrl,
    };

    // Memory: every replica and this process, every sampleMs, from before the load to after the drain.
    let t0 = performance.now();
    const rss: Record<string, RssSample[]> = { A: [], B: [], generator: [] };
    const sample = () => {
      const t = (performance.now() - t0) / 1000;
      rss.A!.push({ t, bytes: rssOf(a.pid) });
      rss.B!.push({ t, bytes: rssOf(b.pid) });
      rss.generator!.push({ t, bytes: rssOf(process.pid) });
    };

    // Cards the connector received become clickable, oldest first.
    const queue: PendingCard[] = [];
    let cursor = 0;
    const harvest = () => {
      for (; cursor < connector.posts.length; cursor++) {
        const p = connector.posts[cursor]!;
        if (!tenant.channels[p.conversationId]) continue;
        const data = approveDataOf(p.activity);
        if (data) queue.push({ ...data, conversationId: p.conversationId });
      }
    };
    const harvester = setInterval(harvest, 100);
    const approvedByClick = new Set<string>();

    const evals = new OpStats('PIM activation → decision endpoint', settings.evalRate);
    const escalations = new OpStats('escalation event (/api/pim/events)', settings.escalationRate);
    const actions = new OpStats('approve click (Action.Execute invoke)', settings.actionRate);
    const inFlight = new Set<Promise<void>>();
    const replicaOf = (i: number): ReplicaName => (i % 2 === 0 ? 'A' : 'B');

    t0 = performance.now() + 200;
    sample();
    const sampler = setInterval(sample, settings.sampleMs);
    const progress = setInterval(() => {
      const el = ((performance.now() - t0) / 1000).toFixed(0);
      log(
        `t=${el}s evals ${evals.ok}/${evals.started} (err ${evals.errors}) esc ${escalations.ok}/${escalations.started} (err ${escalations.errors}) clicks ${actions.ok}/${actions.started} (err ${actions.errors}, waiting cards ${queue.length}) RSS A ${(rss.A!.at(-1)!.bytes / 2 ** 20).toFixed(0)} MB B ${(rss.B!.at(-1)!.bytes / 2 ** 20).toFixed(0)} MB`,
      );
    }, 15_000);
    log(`load: ${settings.seconds} s`);
    await Promise.all([
      openLoop(evals, t0, settings.seconds, settings.maxInFlight, inFlight, (i) => evaluation(ctx, evals, i, replicaOf(i))),
      openLoop(escalations, t0, settings.seconds, settings.maxInFlight, inFlight, (i) => escalation(ctx, escalations, i, replicaOf(i))),
      openLoop(actions, t0, settings.seconds, settings.maxInFlight, inFlight, (i) => {
        harvest();
        const card = queue.shift();
        if (!card) return 'skip';
        return cardAction(ctx, actions, card, tenant.approvers[i % 2]!, replicaOf(i), approvedByClick);
      }),
    ]);
    log(`load over; waiting for ${inFlight.size} operations in flight`);
    await Promise.allSettled([...inFlight]);
    const loadEnd = (performance.now() - t0) / 1000;
    sample();

    // Drain: every card posted, every update sent, no claim left open.
    const drainStart = performance.now();
    let last = await owed(pool);
    while ((last.outbox > 0 || last.unposted > 0 || last.recording > 0) && performance.now() - drainStart < settings.drainSeconds * 1000) {
      await sleep(1000);
      last = await owed(pool);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    log(`drained in ${drainSeconds.toFixed(1)} s: ${JSON.stringify(last)}`);
    // A last look a moment later: nothing else may arrive after the outbox said it was done.
    await sleep(2000);
    sample();
    clearInterval(sampler);
    clearInterval(progress);
    clearInterval(harvester);

    for (const r of replicas) if (r.exited()) log(`replica ${r.name} exited during the run: ${r.exited()}`);
    const checks = await runChecks({ pool, sim, connector, channels: tenant.channels, filed, approvedByClick });
    for (const r of replicas) {
      const exit = r.exited();
      checks.push({ name: `replica ${r.name} alive at the end`, expected: 'running', found: exit ?? 'running', ok: !exit });
    }
    const db = await dbFigures(pool);
    const memory = [memorySummary('A', a.pid, rss.A!, loadEnd), memorySummary('B', b.pid, rss.B!, loadEnd)];
    const section = renderSection({
      settings,
      command,
      startedAt,
      wallSeconds: (performance.now() - wallStart) / 1000,
      ops: [evals, escalations, actions],
      db,
      checks,
      memory,
      generatorMemory: memorySummary('generator', process.pid, rss.generator!, loadEnd),
      logs: replicas.map((r) => ({ name: r.name, tally: r.logs, file: `.local/load/replica-${r.name}.log` })),
      pairsUsed: pairs.used,
      pairsTotal: pairs.total,
      tenant: {
        users: tenant.seed.users.length,
        roles: tenant.seed.roles.length,
        eligibilities: settings.eligibilities,
        channels: Object.keys(tenant.channels).length,
      },
      simCalls: simCallSummary(sim),
      connector: { posts: connector.posts.length, updates: connector.updates.length },
      drainSeconds,
      maxDispatchLagMs: Math.max(evals.maxDispatchLagMs, escalations.maxDispatchLagMs, actions.maxDispatchLagMs),
    });
    process.stdout.write(`\n${section}\n`);
    const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
    writeFileSync(join(OUT_DIR, `report-${stamp}.md`), section);
    writeFileSync(
      join(OUT_DIR, `samples-${stamp}.json`),
      JSON.stringify({
        settings,
        rss,
        latencies: { evaluations: evals.latencies, escalations: escalations.latencies, actions: actions.latencies },
        errors: [evals, escalations, actions].map((o) => ({ op: o.name, errors: o.errorSamples, unexpected: o.unexpectedSamples })),
        logSamples: replicas.map((r) => ({ name: r.name, samples: r.logs.samples, messages: [...r.logs.messages] })),
      }),
    );
    if (settings.append) {
      // One append at the end of the file, whatever else is being edited above it.
      const file = join(REPO, 'BENCHMARKS.md');
      const current = readFileSync(file, 'utf8');
      appendFileSync(file, `${current.endsWith('\n') ? '' : '\n'}\n${section}`);
      log('section appended to BENCHMARKS.md');
    } else {
      log(`LOAD_APPEND=0: BENCHMARKS.md left alone; the section is in .local/load/report-${stamp}.md`);
    }
    const failed = checks.filter((c) => !c.ok).length + evals.errors + escalations.errors + actions.errors;
    process.exitCode = failed > 0 ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`load run failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
