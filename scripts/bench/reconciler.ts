/**
 * `npm run bench` (reconciler part): one reconciler pass over 10,000 open approval requests. The
 * simulator (its own process) holds 10,000 pending PIM requests; the bot (its own process) tracks them
 * all, as after a busy day whose cards are all posted. 1% were approved and 1% denied in the PIM portal
 * meanwhile, so the pass has something to close. Pass 1 reads Graph at loopback speed; pass 2 (after
 * another 2% were decided) with a fixed latency on every `$batch` call, as Graph's round trip. Graph
 * calls are counted in the simulator's log; the bot's CPU time and RSS in its own process.
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReconcileCounts } from '../../services/jobs/reconciler';
import { USER } from '../../sim/seed';
import type { BotArgs } from './children/bot';
import type { CallSummary, SimArgs, SimReady } from './children/sim';
import { BOT_LOG_LEVEL, botEnv, botMemory, SIM_CHILD, simClearFaults, simLatency, startBotChild } from './lib/bot-env';
import { profiled, sqlStatements, startChild, type Child, type Usage } from './lib/children';
import { startBenchConnector } from './lib/connector';
import { envNumber, fixed, machineLine, table } from './lib/stats';

const N = envNumber('BENCH_RECONCILE_N', 10_000);
const BATCH_LATENCY_MS = envNumber('BENCH_RECONCILE_BATCH_LATENCY_MS', 50);

interface Pass {
  name: string;
  ms: number;
  cpuMs: number;
  counts: ReconcileCounts;
  calls: CallSummary;
  after: Usage;
  sql: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-reconcile-'));
  const connector = await startBenchConnector();
  const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant: 'demo' } satisfies SimArgs);
  const children: Array<Child<unknown>> = [sim];
  try {
    process.stderr.write(`reconciler bench: ${N} tracked requests…\n`);
    const bot = await startBotChild('bot (reconciler)', {
      // The reconciler's own timer stays out of the way: passes run when this script asks.
      env: botEnv({
        simUrl: sim.ready.url,
        serviceUrl: connector.serviceUrl,
        dbPath: join(dir, 'reconcile.sqlite'),
        extra: { RECONCILE_INTERVAL_MS: String(3_600_000) },
      }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(bot);
    const seeded = await sim.rpc<{ ids: string[]; principals: string[]; roleDefinitionId: string }>('seedPending', { n: N });
    const percent = Math.max(1, Math.round(N / 100));
    const decide = async (from: number) => {
      await sim.rpc('decide', { ids: seeded.ids.slice(from, from + percent), approver: USER.megan, reviewResult: 'Approve' });
      await sim.rpc('decide', { ids: seeded.ids.slice(from + percent, from + 2 * percent), approver: USER.adele, reviewResult: 'Deny' });
    };
    await decide(0);
    const seed = await bot.rpc<{ ms: number }>('seedTracked', { pimIds: seeded.ids, principals: seeded.principals, roleDefinitionId: seeded.roleDefinitionId });
    const tracked = await bot.usage();

    const passes: Pass[] = [];
    const pass = async (name: string) => {
      const c0 = await sim.rpc<number>('callCount');
      const q0 = (await sqlStatements(bot)) ?? 0;
      const r = await profiled(bot, `bot-reconcile-${name}`, () => bot.rpc<{ ms: number; counts: ReconcileCounts; cpuMs: number }>('reconcile'));
      const sql = ((await sqlStatements(bot)) ?? 0) - q0;
      passes.push({ name, ...r, sql, calls: await sim.rpc<CallSummary>('callSummary', { from: c0 }), after: await bot.usage() });
      process.stderr.write(`  ${name}: ${fixed(r.ms / 1000, 2)} s, ${JSON.stringify(r.counts)}\n`);
    };
    await pass('loopback Graph');
    await decide(2 * percent);
    if (BATCH_LATENCY_MS > 0) await simLatency(sim.ready.url, '^/v1\\.0/\\$batch$', BATCH_LATENCY_MS);
    await pass(`${BATCH_LATENCY_MS} ms per $batch`);
    await simClearFaults(sim.ready.url);
    const memory = await botMemory('reconciler', bot);

    const out = process.stdout;
    out.write(`\n### Reconciler over ${N} tracked requests, ${machineLine()}, bot log level ${BOT_LOG_LEVEL}\n\n`);
    out.write(
      `${N} open approval requests written to the bot's store in ${fixed(seed.ms / 1000, 2)} s; bot RSS before, with them tracked: ${fixed(bot.ready.idle.rssMB, 0)} → ${fixed(tracked.rssMB, 0)} MB.\n\n`,
    );
    out.write(
      table(
        [
          'pass',
          'wall time (s)',
          'per 1,000 requests (ms)',
          'bot CPU (s)',
          'checked',
          'still open',
          'closed: approved / denied / expired / cancelled',
          'unread',
          'Graph HTTP calls ($batch)',
          'requests in batches',
          'SQL statements',
          'RSS after (MB)',
          'peak RSS (MB)',
        ],
        passes.map((p) => [
          p.name,
          fixed(p.ms / 1000, 2),
          fixed((p.ms / p.counts.checked) * 1000, 0),
          fixed(p.cpuMs / 1000, 2),
          p.counts.checked,
          p.counts.open,
          `${p.counts.approved} / ${p.counts.denied} / ${p.counts.expired} / ${p.counts.cancelled}`,
          p.counts.unread,
          `${p.calls.graphHttp} (${p.calls.batches})`,
          p.calls.batchItems,
          p.sql,
          fixed(p.after.rssMB, 0),
          fixed(p.after.maxRssMB, 0),
        ]),
      ),
    );
    out.write(
      `\n\nBot after both passes: RSS ${fixed(memory.loaded.rssMB, 0)} MB, heap ${fixed(memory.loaded.heapUsedMB, 0)} MB, live heap after a full GC ${fixed(memory.live.heapUsedMB, 0)} MB (idle at start-up: RSS ${fixed(memory.idle.rssMB, 0)} MB, heap ${fixed(memory.idle.heapUsedMB, 0)} MB).\n`,
    );
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
