/**
 * `npm run bench` (decision endpoint part): POST /api/pim/evaluate on loopback, with a valid PIM token and
 * a fresh PIM request id per call. The simulator, each bot and the HTTP floor run in child processes of
 * their own; this process is the client (node:http, keep-alive) and the Bot Connector. Runs, in one go:
 *   1. the HTTP floor: a bare restify route answering the same JSON, same client and concurrency;
 *   2. rules only (no system of record configured), closed loop: throughput and latency, and its share of 1;
 *   3. rules only, open loop at a fixed arrival rate (1,000/s for 10 s): latency counted from the
 *      scheduled send time, and the rate achieved;
 *   4. rules only with an `Approved` outcome: the card is posted in the background of the next requests;
 *   5. every check (Graph user lookup, ServiceNow, PagerDuty, Opsgenie, Graph HR) with a fixed simulated
 *      latency on each call to those systems;
 *   6. the same with PagerDuty hanging: the answer must come at the budget, as human review.
 * The bots' RSS at rest and after the load is read in their own processes.
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE, TICKET, USER } from '../../sim/seed';
import { demoPolicy } from '../demo-policy';
import type { BotArgs } from './children/bot';
import type { FloorArgs } from './children/floor';
import type { SimArgs, SimReady } from './children/sim';
import {
  BOT_LOG_LEVEL,
  botEnv,
  botMemory,
  FLOOR_CHILD,
  MEMORY_HEADER,
  memoryRow,
  SIM_CHILD,
  simClearFaults,
  simLatency,
  startBotChild,
  type BotMemory,
} from './lib/bot-env';
import { cpuPer, profiled, sqlStatements, startChild, type Child } from './lib/children';
import { startBenchConnector } from './lib/connector';
import { closedLoop, HttpClient, openLoop, type BenchRequest, type BenchResponse, type OpenLoopResult, type RunResult } from './lib/http-load';
import { envNumber, fixed, machine, machineLine, pct, table } from './lib/stats';
import { pimRequestBody } from './lib/tenant';

const LATENCY_MS = envNumber('BENCH_LATENCY_MS', 20);
const BUDGET_MS = 1500;
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const N_FLOOR = envNumber('BENCH_N_FLOOR', 20_000);
const N_RULES = envNumber('BENCH_N_RULES', 5000);
const N_CARDS = envNumber('BENCH_N_CARDS', 600);
const N_FULL = envNumber('BENCH_N_FULL', 600);
const N_HANG = envNumber('BENCH_N_HANG', 40);
const OPEN_RATE = envNumber('BENCH_OPEN_RATE', 1000);
const OPEN_SECONDS = envNumber('BENCH_OPEN_SECONDS', 10);

interface Row {
  name: string;
  run: RunResult;
  /** Server CPU per request (ms) and as a share of one core. */
  serverCpuMs: number;
  serverCpu: number;
  /** SQL statements per request (bots only). */
  sql: number | null;
}

async function main(): Promise<void> {
  const m = machine();
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-'));
  const connector = await startBenchConnector();
  const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant: 'demo' } satisfies SimArgs);
  const children: Array<Child<unknown>> = [sim];
  const rows: Row[] = [];
  const rss: BotMemory[] = [];
  try {
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${sim.ready.pimToken}` };
    const evaluate =
      (justification: string, roleDefinitionId = ROLE.securityOperator) =>
      (): BenchRequest => ({
        method: 'POST',
        path: '/api/pim/evaluate',
        headers: auth,
        body: JSON.stringify(
          pimRequestBody({ id: randomUUID(), principalId: USER.alex, roleDefinitionId, justification, ticketNumber: TICKET.approvedChange }),
        ),
      });
    const outcome = (res: BenchResponse) =>
      res.status === 200 ? String((JSON.parse(res.body) as { evaluationOutcome?: string }).evaluationOutcome) : `HTTP ${res.status}`;
    const GOOD = 'Contain the phishing incident on the finance mailboxes';
    const WEAK = 'test';

    const measure = async (name: string, server: Child<unknown>, run: () => Promise<RunResult>) => {
      const before = await server.usage();
      const sql0 = await sqlStatements(server);
      const r = await profiled(server, `${server.name} ${name}`, run);
      const after = await server.usage();
      const sql1 = await sqlStatements(server);
      const row = {
        name,
        run: r,
        serverCpuMs: cpuPer(before, after, r.n),
        serverCpu: (after.cpuMs - before.cpuMs) / 1000 / r.seconds,
        sql: sql0 === null || sql1 === null ? null : (sql1 - sql0) / r.n,
      };
      rows.push(row);
      process.stderr.write(`  ${name}: ${fixed(r.throughput, 0)} req/s, p50 ${fixed(r.latency.p50)} ms, p99 ${fixed(r.latency.p99)} ms\n`);
      return row;
    };

    // --- rules only, and the HTTP floor ---------------------------------------------------------
    process.stderr.write('decision bench: rules only and the HTTP floor…\n');
    const rulesPolicy = { version: 1, roles: { default: { justification: 'deny' } } };
    const rulesBot = await startBotChild('bot (rules only)', {
      env: botEnv({
        simUrl: sim.ready.url,
        serviceUrl: connector.serviceUrl,
        dbPath: join(dir, 'rules.sqlite'),
        policy: rulesPolicy,
        extra: { DECISION_BUDGET_MS: String(BUDGET_MS) },
      }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(rulesBot);
    const bot = new HttpClient(rulesBot.ready.url);
    // The floor answers exactly what the endpoint answers for these requests (a new evaluationId each time).
    const sample = JSON.parse((await bot.send(evaluate(WEAK)())).body) as { evaluationOutcome: string; reason: string[] };
    const floorChild = await startChild<{ url: string }>('HTTP floor', FLOOR_CHILD, {
      kind: 'http',
      answer: { evaluationOutcome: sample.evaluationOutcome, reason: sample.reason },
    } satisfies FloorArgs);
    children.push(floorChild);
    const floor = new HttpClient(floorChild.ready.url);
    await closedLoop({ client: floor, concurrency: CONCURRENCY, n: Math.min(2000, N_FLOOR), make: evaluate(WEAK), classify: outcome });
    await closedLoop({ client: bot, concurrency: CONCURRENCY, n: Math.min(500, N_RULES), make: evaluate(WEAK), classify: outcome });
    const floorRow = await measure('HTTP floor: bare restify route, same JSON', floorChild, () =>
      closedLoop({ client: floor, concurrency: CONCURRENCY, n: N_FLOOR, make: evaluate(WEAK), classify: outcome }),
    );
    const rulesRow = await measure('rules only (Denied, no card)', rulesBot, () =>
      closedLoop({ client: bot, concurrency: CONCURRENCY, n: N_RULES, make: evaluate(WEAK), classify: outcome }),
    );
    floor.close();
    await floorChild.stop();

    process.stderr.write(`decision bench: open loop, ${OPEN_RATE}/s for ${OPEN_SECONDS} s…\n`);
    const openBefore = await rulesBot.usage();
    const open = await openLoop({ client: bot, rate: OPEN_RATE, seconds: OPEN_SECONDS, make: evaluate(WEAK), classify: outcome });
    const openAfter = await rulesBot.usage();

    await measure('rules only (Approved, card posted)', rulesBot, () =>
      closedLoop({ client: bot, concurrency: CONCURRENCY, n: N_CARDS, make: evaluate(GOOD), classify: outcome }),
    );
    rss.push(await botMemory('rules only', rulesBot));
    bot.close();
    await rulesBot.stop();

    // --- every check, with simulated latency --------------------------------------------------------
    process.stderr.write('decision bench: every check…\n');
    const fullBot = await startBotChild('bot (all checks)', {
      env: botEnv({
        simUrl: sim.ready.url,
        serviceUrl: connector.serviceUrl,
        dbPath: join(dir, 'full.sqlite'),
        policy: demoPolicy(sim.ready.url),
        extra: { DECISION_BUDGET_MS: String(BUDGET_MS) },
      }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(fullBot);
    const full = new HttpClient(fullBot.ready.url);
    const systems = '^/(servicenow|pagerduty|opsgenie|jira)/|^/v1\\.0/users/';
    await closedLoop({ client: full, concurrency: CONCURRENCY, n: 50, make: evaluate(GOOD), classify: outcome });
    if (LATENCY_MS > 0) await simLatency(sim.ready.url, systems, LATENCY_MS);
    await measure(`all checks, ${LATENCY_MS} ms per call`, fullBot, () =>
      closedLoop({ client: full, concurrency: CONCURRENCY, n: N_FULL, make: evaluate(GOOD), classify: outcome }),
    );
    // Faults match first-come: the hang goes in before the general latency.
    await simClearFaults(sim.ready.url);
    await simLatency(sim.ready.url, '^/pagerduty/', 30_000);
    if (LATENCY_MS > 0) await simLatency(sim.ready.url, systems, LATENCY_MS);
    await measure(`PagerDuty hangs (budget ${BUDGET_MS} ms)`, fullBot, () =>
      closedLoop({ client: full, concurrency: CONCURRENCY, n: N_HANG, make: evaluate(GOOD), classify: outcome }),
    );
    await simClearFaults(sim.ready.url);
    rss.push(await botMemory('all checks', fullBot));
    full.close();
    await fullBot.stop();

    report(m, rows, floorRow, rulesRow, open, openAfter.cpuMs - openBefore.cpuMs, rss);
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(m: ReturnType<typeof machine>, rows: Row[], floor: Row, rules: Row, open: OpenLoopResult, openCpuMs: number, rss: BotMemory[]): void {
  const out = process.stdout;
  out.write(
    `\n### Decision endpoint, ${machineLine(m)}, concurrency ${CONCURRENCY}, ${LATENCY_MS} ms simulated latency per call to a system of record, bot log level ${BOT_LOG_LEVEL}\n\n`,
  );
  out.write(
    table(
      [
        'run',
        'requests',
        'throughput (req/s)',
        'p50 (ms)',
        'p99 (ms)',
        'max (ms)',
        'server CPU per request (ms)',
        'server CPU (cores)',
        'client CPU (cores)',
        'SQL statements per request',
        'outcomes',
      ],
      rows.map((r) => [
        r.name,
        r.run.n,
        fixed(r.run.throughput, 0),
        fixed(r.run.latency.p50),
        fixed(r.run.latency.p99),
        fixed(r.run.latency.max),
        fixed(r.serverCpuMs, 2),
        fixed(r.serverCpu, 2),
        fixed(r.run.clientCpu, 2),
        r.sql === null ? '–' : fixed(r.sql, 1),
        Object.entries(r.run.outcomes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ]),
    ),
  );
  const share = rules.run.throughput / floor.run.throughput;
  out.write(
    `\n\nrules only / HTTP floor: throughput ${pct(share)} (target ≥ 40%: ${share >= 0.4 ? 'met' : 'MISSED'}), p50 ${fixed(rules.run.latency.p50 / floor.run.latency.p50)}x, server CPU per request ${fixed(rules.serverCpuMs / floor.serverCpuMs)}x\n`,
  );
  const full = rows.find((r) => r.name.startsWith('all checks'));
  if (full)
    out.write(
      `all checks / rules only: p50 ${fixed(full.run.latency.p50 / rules.run.latency.p50)}x, throughput ${fixed(full.run.throughput / rules.run.throughput, 2)}x\n`,
    );

  out.write(`\n#### Open loop: rules only (Denied, no card) at a fixed arrival rate\n\n`);
  const okOpen = open.latency.p99 < 25 && open.achievedRate >= 0.97 * open.targetRate;
  out.write(
    table(
      [
        'target rate (req/s)',
        'seconds',
        'requests',
        'achieved (req/s)',
        'p50 (ms)',
        'p99 (ms)',
        'max (ms)',
        'p99 from actual send (ms)',
        'client send lag p99 (ms)',
        'most in flight',
        'bot CPU (cores)',
        'outcomes',
      ],
      [
        [
          open.targetRate,
          OPEN_SECONDS,
          open.n,
          fixed(open.achievedRate, 0),
          fixed(open.latency.p50),
          fixed(open.latency.p99),
          fixed(open.latency.max),
          fixed(open.serviceLatency.p99),
          fixed(open.sendLag.p99),
          open.maxInFlight,
          fixed(openCpuMs / 1000 / open.seconds, 2),
          Object.entries(open.outcomes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
      ],
    ),
  );
  out.write(
    `\n\nopen loop: p99 ${fixed(open.latency.p99)} ms at ${fixed(open.achievedRate, 0)}/s achieved (target p99 < 25 ms at ${open.targetRate}/s: ${okOpen ? 'met' : 'MISSED'})\n`,
  );

  out.write(`\n#### Bot RSS (its own process)\n\n`);
  out.write(
    table(
      MEMORY_HEADER,
      rss.map((r) => memoryRow(r, fixed)),
    ),
  );
  out.write('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
