/**
 * `npm run bench` (decision endpoint part): POST /api/pim/evaluate on loopback, with a valid PIM token and
 * a fresh PIM request id per call. The simulator, each bot and the HTTP floor run in child processes of
 * their own; this process is the client (node:http, keep-alive) and the Bot Connector. Runs, in one go:
 *   1. the HTTP floor: a bare restify route answering the same JSON, same client and concurrency; and the
 *      HTTP + store floor: the same route committing one insert per request as the bot's store commits
 *      it (the least a durable answer costs);
 *   2. rules only (no system of record configured), closed loop: throughput and latency, and its share of 1;
 *   3. rules only, open loop at a fixed arrival rate (1,000/s for 10 s): latency counted from the
 *      scheduled send time, and the rate achieved;
 *   4. rules only with an `Approved` outcome: the card is posted in the background of the next requests
 *      (each request held by PIM, so the bot binds the card to PIM's copy, and by its own requester); its
 *      CPU is read once every card of the run was handed to the outbox, so the card's work is counted;
 *   5. every check (Graph user lookup, ServiceNow, PagerDuty, Opsgenie, Graph HR) with a fixed simulated
 *      latency on each call to those systems;
 *   6. the same with PagerDuty hanging: the answer must come at the budget, as human review;
 *   7. runs 2 and 4 again against the code before the change (lib/before.ts, BENCH_BEFORE), in a bot of its own,
 *      so a decision's CPU with and without a card is compared before and after in one run on one machine.
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
  simControl,
  simLatency,
  startBotChild,
  type BotMemory,
} from './lib/bot-env';
import { cpuPer, profiled, sqlStatements, startChild, type Child } from './lib/children';
import { beforeTree } from './lib/before';
import { startBenchConnector } from './lib/connector';
import { closedLoop, HttpClient, openLoop, type BenchRequest, type BenchResponse, type OpenLoopResult, type RunResult } from './lib/http-load';
import { envNumber, fixed, machine, machineLine, pct, table } from './lib/stats';
import { pimRequestBody, requesterId } from './lib/tenant';

const LATENCY_MS = envNumber('BENCH_LATENCY_MS', 20);
const BUDGET_MS = 1500;
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const N_FLOOR = envNumber('BENCH_N_FLOOR', 20_000);
const N_STORE_FLOOR = envNumber('BENCH_N_STORE_FLOOR', 5000);
const N_RULES = envNumber('BENCH_N_RULES', 5000);
const N_CARDS = envNumber('BENCH_N_CARDS', 2000);
const CARD_WARM_UP = 60;
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
  // The demo tenant plus a requester per card: PIM holds one pending request per person and role.
  const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant: { requesters: 2 * (CARD_WARM_UP + N_CARDS), extraRoles: 0 } } satisfies SimArgs);
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
    floor.close();
    await floorChild.stop();
    // The second floor: the same route plus one insert committed as the store commits it (a durable answer).
    const storeFloorChild = await startChild<{ url: string }>('HTTP + store floor', FLOOR_CHILD, {
      kind: 'http-store',
      answer: { evaluationOutcome: sample.evaluationOutcome, reason: sample.reason },
      dbPath: join(dir, 'floor.sqlite'),
    } satisfies FloorArgs);
    children.push(storeFloorChild);
    const storeFloor = new HttpClient(storeFloorChild.ready.url);
    await closedLoop({ client: storeFloor, concurrency: CONCURRENCY, n: Math.min(500, N_STORE_FLOOR), make: evaluate(WEAK), classify: outcome });
    const storeFloorRow = await measure('HTTP + store floor: the same route, one insert committed per request', storeFloorChild, () =>
      closedLoop({ client: storeFloor, concurrency: CONCURRENCY, n: N_STORE_FLOOR, make: evaluate(WEAK), classify: outcome }),
    );
    storeFloor.close();
    await storeFloorChild.stop();
    const rulesRow = await measure('rules only (Denied, no card)', rulesBot, () =>
      closedLoop({ client: bot, concurrency: CONCURRENCY, n: N_RULES, make: evaluate(WEAK), classify: outcome }),
    );

    process.stderr.write(`decision bench: open loop, ${OPEN_RATE}/s for ${OPEN_SECONDS} s…\n`);
    const openBefore = await rulesBot.usage();
    const open = await openLoop({ client: bot, rate: OPEN_RATE, seconds: OPEN_SECONDS, make: evaluate(WEAK), classify: outcome });
    const openAfter = await rulesBot.usage();

    // PIM holds each of these requests as its callout describes it: the bot binds the card to PIM's own copy
    // before posting it (a request PIM does not hold gets no card, which would measure nothing of the card).
    // Each by its own requester (PIM lets a person have one pending request per role), for the same role.
    const cardBodies = Array.from({ length: 2 * (CARD_WARM_UP + N_CARDS) }, (_, i) =>
      pimRequestBody({
        id: randomUUID(),
        principalId: requesterId(i),
        roleDefinitionId: ROLE.securityOperator,
        justification: GOOD,
        ticketNumber: TICKET.approvedChange,
      }),
    );
    for (const b of cardBodies) await simControl(sim.ready.url, 'POST', '/_sim/requests/adopt', b);
    /** The Approved run of `server` with the callouts from `first` on: warmed up as the other runs are, then measured until its cards are posted. */
    const cardRun = async (name: string, server: Child<unknown>, client: HttpClient, first: number) => {
      const postCallout = (i: number): BenchRequest => ({
        method: 'POST',
        path: '/api/pim/evaluate',
        headers: auth,
        body: JSON.stringify(cardBodies[first + i]),
      });
      const warm0 = await server.rpc<CardProgress>('cardProgress');
      await closedLoop({ client, concurrency: CONCURRENCY, n: CARD_WARM_UP, make: postCallout, classify: outcome });
      await waitForCardWork(server, warm0, CARD_WARM_UP);
      const cards0 = await server.rpc<CardProgress>('cardProgress');
      const posts0 = connector.posts;
      const row = await measure(name, server, async () => {
        const run = await closedLoop({ client, concurrency: CONCURRENCY, n: N_CARDS, make: (i) => postCallout(CARD_WARM_UP + i), classify: outcome });
        // The card work is the decision's too: measured until every card of the run was handed to the outbox.
        await waitForCardWork(server, cards0, N_CARDS);
        return run;
      });
      const cards1 = await server.rpc<CardProgress>('cardProgress');
      const note =
        `${cards1.posted - cards0.posted} of ${N_CARDS} cards handed to the outbox, ${cards1.unbound - cards0.unbound} unbound (no card), ` +
        `${cards1.owed} still owed when the CPU was read, ${connector.posts - posts0} posts at the connector by then (one channel: the outbox paces it and lists the rest on summary cards)`;
      return { row, note };
    };
    const card = await cardRun('rules only (Approved, card posted)', rulesBot, bot, 0);
    rss.push(await botMemory('rules only', rulesBot));
    bot.close();
    await rulesBot.stop();

    // --- the code before the change, the same two runs ----------------------------------------------
    let before: { commit: string; rules: Row; card: Row; note: string } | null = null;
    const tree = beforeTree();
    if (tree) {
      process.stderr.write(`decision bench: the code before (${tree.commit}), rules only and Approved with a card…\n`);
      const beforeBot = await startBotChild(
        `bot before ${tree.commit} (rules only)`,
        {
          env: botEnv({
            simUrl: sim.ready.url,
            serviceUrl: connector.serviceUrl,
            dbPath: join(dir, 'rules-before.sqlite'),
            policy: rulesPolicy,
            extra: { DECISION_BUDGET_MS: String(BUDGET_MS) },
          }),
          sweepIntervalMs: 600_000,
        } satisfies BotArgs,
        tree.botChild,
      );
      children.push(beforeBot);
      const old = new HttpClient(beforeBot.ready.url);
      await closedLoop({ client: old, concurrency: CONCURRENCY, n: Math.min(500, N_RULES), make: evaluate(WEAK), classify: outcome });
      const oldRules = await measure(`before (${tree.commit}): rules only (Denied, no card)`, beforeBot, () =>
        closedLoop({ client: old, concurrency: CONCURRENCY, n: N_RULES, make: evaluate(WEAK), classify: outcome }),
      );
      const oldCard = await cardRun(`before (${tree.commit}): rules only (Approved, card posted)`, beforeBot, old, CARD_WARM_UP + N_CARDS);
      before = { commit: tree.commit, rules: oldRules, card: oldCard.row, note: oldCard.note };
      old.close();
      await beforeBot.stop();
    }

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

    report(
      m,
      rows,
      { floor: floorRow, storeFloor: storeFloorRow, rules: rulesRow, card: card.row, cardsNote: card.note, before },
      open,
      openAfter.cpuMs - openBefore.cpuMs,
      rss,
    );
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CardProgress {
  owed: number;
  posted: number;
  unbound: number;
}

/** Waits until the bot has handed every card of the run to the outbox (or found it unbound); at most 60 s. */
/**
 * Waits until the `n` requests decided since `before` (all stored: their callouts were answered) have had
 * their card work done. Polls `cardsOwed`, which costs the measured bot next to nothing; a bot child of an
 * older tree without it is polled with the full `cardProgress`.
 */
async function waitForCardWork(bot: Child<unknown>, before: CardProgress, n: number): Promise<void> {
  const until = Date.now() + 60_000;
  let cheap = true;
  for (;;) {
    let owed: number;
    if (cheap) {
      try {
        owed = await bot.rpc<number>('cardsOwed');
      } catch {
        cheap = false;
        continue;
      }
    } else owed = (await bot.rpc<CardProgress>('cardProgress')).owed;
    if (owed === 0) {
      const p = await bot.rpc<CardProgress>('cardProgress');
      if (p.owed === 0 && p.posted + p.unbound - before.posted - before.unbound >= n) return;
    }
    if (Date.now() > until) {
      process.stderr.write(`  (${owed} cards still owed after 60 s)\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function report(
  m: ReturnType<typeof machine>,
  rows: Row[],
  key: { floor: Row; storeFloor: Row; rules: Row; card: Row; cardsNote: string; before: { commit: string; rules: Row; card: Row; note: string } | null },
  open: OpenLoopResult,
  openCpuMs: number,
  rss: BotMemory[],
): void {
  const { floor, storeFloor, rules, card } = key;
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
  const storeShare = rules.run.throughput / storeFloor.run.throughput;
  out.write(
    `rules only / HTTP + store floor (one committed insert per request): throughput ${pct(storeShare)}, p50 ${fixed(rules.run.latency.p50 / storeFloor.run.latency.p50)}x, server CPU per request ${fixed(rules.serverCpuMs / storeFloor.serverCpuMs)}x\n`,
  );
  const cardRatio = card.serverCpuMs / rules.serverCpuMs;
  out.write(
    `a decision that posts a card / one that does not: server CPU per request ${fixed(card.serverCpuMs, 2)} / ${fixed(rules.serverCpuMs, 2)} ms = ${fixed(cardRatio)}x (target ≤ 3x: ${cardRatio <= 3 ? 'met' : 'MISSED'}); against the HTTP + store floor: ${fixed(card.serverCpuMs / storeFloor.serverCpuMs)}x\n`,
  );
  out.write(`Approved run: ${key.cardsNote}\n`);
  if (key.before) {
    const b = key.before;
    out.write(
      `before (${b.commit}), same machine and run: ${fixed(b.card.serverCpuMs, 2)} / ${fixed(b.rules.serverCpuMs, 2)} ms = ${fixed(b.card.serverCpuMs / b.rules.serverCpuMs)}x; ` +
        `its Approved run: ${b.note}\n`,
    );
  }
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
