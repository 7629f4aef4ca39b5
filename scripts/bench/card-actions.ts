/**
 * `npm run bench` (cards part). The simulator, each bot and the framework floor run in child processes of
 * their own; this process is the client (node:http, keep-alive) and the Bot Connector, which notes when
 * each request's card arrives.
 *   1. Escalation → card posted: signed escalation events (POST /api/pim/events) at a fixed rate, spread
 *      over approver channels below Teams' per-channel limits and with summaries off, so what is measured
 *      is the bot's own work (three Graph reads, rendering, the outbox) and not the pacing it applies on
 *      purpose. From the event's send to the card's arrival at the connector.
 *   2. Card actions: an approver's Approve (adaptiveCard/action invoke) on a real pending PIM request:
 *      Teams SSO token from the token service, on-behalf-of at Entra, the approver list and the approval
 *      read from Graph, the PATCH as the approver, the decider's name, the store, the answer card. Each
 *      action gets its own pending request, filed in the simulator and evaluated by the bot, whose card
 *      is posted before the run starts (so the card updates the approvals cause go out during the run,
 *      as they would). Run once with no added Graph latency (throughput, CPU per action) and once with a
 *      fixed latency on every Graph call (latency; overhead = latency − the Graph round trips the answer
 *      waited on in sequence × the latency; when the PATCH was recorded, from the simulator's log), and one
 *      action at a time with that latency: from the simulator's log, how many Graph calls each action made
 *      and how many of them it waited on one after another.
 *      The same runs again against the code before the change (lib/before.ts; BENCH_BEFORE), in its own bot
 *      with requests of its own, so both figures come from one run on one machine.
 *   3. The framework floor: restify + teams-ai answering the same invokes with a static card (the bot's
 *      own answer card), same client and concurrency.
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_BOT_APP, DEMO_TENANT_ID, seedTenant, USER } from '../../sim/seed';
import type { CallRecord } from '../../sim/state';
import type { BotArgs, BotReady, RowRef } from './children/bot';
import type { FloorArgs } from './children/floor';
import type { CallSummary, SimArgs, SimReady } from './children/sim';
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
import { beforeTree } from './lib/before';
import { cpuPer, profiled, sqlStatements, startChild, type Child } from './lib/children';
import { startBenchConnector, type BenchConnector } from './lib/connector';
import { closedLoop, HttpClient, openLoop, type BenchRequest, type BenchResponse, type RunResult } from './lib/http-load';
import { envNumber, fixed, machine, machineLine, pct, sleep, summarize, table, type LatencySummary } from './lib/stats';
import { APP_ID_URI, benchRoleId, GOOD_JUSTIFICATION, pimRequestBody, requesterId } from './lib/tenant';

const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const CHANNELS = Math.max(1, envNumber('BENCH_CHANNELS', 15));
const N_ESC = envNumber('BENCH_N_ESCALATIONS', 240);
const ESC_RATE = envNumber('BENCH_ESCALATION_RATE', 12);
const GRAPH_LATENCY_MS = envNumber('BENCH_GRAPH_LATENCY_MS', 50);
const N_ACTIONS = envNumber('BENCH_N_ACTIONS', 300);
const N_ACTIONS_LATENCY = envNumber('BENCH_N_ACTIONS_LATENCY', 300);
const N_ACTIONS_SERIAL = envNumber('BENCH_N_ACTIONS_SERIAL', 60);
const N_FLOOR = envNumber('BENCH_N_FLOOR_INVOKES', 5000);
const WARM_UP = 20;
const CALIBRATION = 3;
/** Pending requests each bot's card-action runs use up. */
const PER_BOT = WARM_UP + CALIBRATION + N_ACTIONS + N_ACTIONS_LATENCY + N_ACTIONS_SERIAL;
const HMAC_SECRET = 'bench-hmac-secret-0123456789abcdef0123456789';
const GRAPH = '^/(v1\\.0|beta)/';

const channelOf = (k: number) => `19:bench-role-${k}@thread.tacv2`;
const teamsUser = (id: string) => {
  const u = seedTenant.users.find((x) => x.id === id)!;
  return { teamsUserId: u.teamsUserId, id: u.id, displayName: u.displayName };
};
const APPROVERS = [teamsUser(USER.adele), teamsUser(USER.megan)];

interface Tracked extends RowRef {
  channel: string;
}

async function main(): Promise<void> {
  const m = machine();
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-cards-'));
  // Each bot (the code now, and before the change) and the escalations get requesters of their own: PIM holds one
  // pending request per person and role.
  const requesters = 2 * PER_BOT + N_ESC + CHANNELS + 8;
  const connector = await startBenchConnector();
  const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant: { requesters, extraRoles: CHANNELS } } satisfies SimArgs);
  const children: Array<Child<unknown>> = [sim];
  const channels = {
    default: '19:bench-default@thread.tacv2',
    ...Object.fromEntries(Array.from({ length: CHANNELS }, (_, k) => [benchRoleId(k).toLowerCase(), channelOf(k)])),
  };
  const callSummary = async (from: number) => sim.rpc<CallSummary>('callSummary', { from });
  const callCount = () => sim.rpc<number>('callCount');
  try {
    // --- 1. escalation → card posted ---------------------------------------------------------------
    if (ESC_RATE / CHANNELS > 1.9 || ESC_RATE > 28)
      process.stderr.write(
        `warning: ${ESC_RATE} escalations/s over ${CHANNELS} channels reaches Teams' limits (60 per 30 s per channel, 30/s per tenant): the outbox's pacing will show in the latency\n`,
      );
    process.stderr.write(`card bench: ${N_ESC} escalations at ${ESC_RATE}/s over ${CHANNELS} channels…\n`);
    const escBot = await startBotChild('bot (escalations)', {
      env: botEnv({
        simUrl: sim.ready.url,
        serviceUrl: connector.serviceUrl,
        dbPath: join(dir, 'escalations.sqlite'),
        channels,
        extra: { CARD_SUMMARY_AFTER: '0', EVENTS_HMAC_SECRET: HMAC_SECRET },
      }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(escBot);
    const esc = new HttpClient(escBot.ready.url);
    // PIM holds every escalated request (the bot binds each card to PIM's own copy before posting it).
    const escalated = Array.from({ length: N_ESC + CHANNELS + 8 }, (_, i) =>
      pimRequestBody({
        id: randomUUID(),
        principalId: requesterId(2 * PER_BOT + i),
        roleDefinitionId: benchRoleId(i % CHANNELS),
        justification: GOOD_JUSTIFICATION,
      }),
    );
    for (const request of escalated) await simControl(sim.ready.url, 'POST', '/_sim/requests/adopt', request);
    const escalation = (i: number): BenchRequest => {
      const body = JSON.stringify({
        eventId: `bench-${randomUUID()}`,
        type: 'escalation',
        occurredAt: new Date().toISOString(),
        request: escalated[i % escalated.length],
        reasons: ['Risk score above the threshold of the decision service'],
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = createHmac('sha256', HMAC_SECRET).update(`${ts}.${body}`).digest('hex');
      return {
        method: 'POST',
        path: '/api/pim/events',
        headers: { 'content-type': 'application/json', 'x-pim-bot-timestamp': ts, 'x-pim-bot-signature': `sha256=${sig}` },
        body,
      };
    };
    const escOutcome = (res: BenchResponse) => (res.status === 200 ? String((JSON.parse(res.body) as { status?: string }).status) : `HTTP ${res.status}`);
    const requestIdOf = (res?: BenchResponse) => (res && res.status === 200 ? (JSON.parse(res.body) as { requestId?: string }).requestId : undefined);
    // Warm-up: one card per channel, then let the channels' windows clear.
    const warm = await closedLoop({ client: esc, concurrency: 1, n: CHANNELS, make: escalation, classify: escOutcome, keepResponses: true });
    await waitForCards(
      connector,
      warm.samples.map((s) => requestIdOf(s.response)).filter((x): x is string => !!x),
      15_000,
    );
    await sleep(2500);
    const escCalls0 = await callCount();
    const escCpu0 = await escBot.usage();
    const escSql0 = (await sqlStatements(escBot)) ?? 0;
    const postsBefore = connector.posts;
    let escIds: Array<string | undefined> = [];
    const escRun = await profiled(escBot, 'bot-escalations', async () => {
      const run = await openLoop({
        client: esc,
        rate: ESC_RATE,
        seconds: N_ESC / ESC_RATE,
        make: (i) => escalation(i + CHANNELS),
        classify: escOutcome,
        keepResponses: true,
      });
      escIds = run.samples.map((s) => requestIdOf(s.response));
      await waitForCards(
        connector,
        escIds.filter((x): x is string => !!x),
        30_000,
      );
      return run;
    });
    const escCpu1 = await escBot.usage();
    const escSql = ((await sqlStatements(escBot)) ?? 0) - escSql0;
    const escCalls = await callSummary(escCalls0);
    const cardMs: number[] = [];
    let missing = 0;
    escRun.samples.forEach((s, i) => {
      const id = escIds[i];
      const at = id ? connector.firstSeen.get(id) : undefined;
      if (at === undefined) missing++;
      else cardMs.push(at - (s.actualSentAt ?? s.sentAt));
    });
    const escalationResult = {
      run: escRun,
      achievedRate: escRun.achievedRate,
      answered: summarize(escRun.samples.map((s) => s.answeredAt - (s.actualSentAt ?? s.sentAt))),
      card: summarize(cardMs),
      missing,
      posts: connector.posts - postsBefore,
      calls: escCalls,
      cpuMs: cpuPer(escCpu0, escCpu1, escRun.n),
      sqlPerEvent: escSql / escRun.n,
      cpuCores: (escCpu1.cpuMs - escCpu0.cpuMs) / 1000 / escRun.seconds,
    };
    const escMemory = await botMemory('escalations (summaries off)', escBot);
    esc.close();
    await escBot.stop();
    process.stderr.write(`  card at the connector p50 ${fixed(escalationResult.card.p50)} ms, p99 ${fixed(escalationResult.card.p99)} ms\n`);

    // --- 2. card actions ---------------------------------------------------------------------------
    const invoke =
      (rows: Tracked[]) =>
      (i: number): BenchRequest => {
        const row = rows[i % rows.length]!;
        const a = APPROVERS[i % APPROVERS.length]!;
        const activity = {
          type: 'invoke',
          name: 'adaptiveCard/action',
          id: `invoke-${randomUUID()}`,
          channelId: 'msteams',
          serviceUrl: connector.serviceUrl,
          from: { id: a.teamsUserId, name: a.displayName, aadObjectId: a.id },
          recipient: { id: `28:${DEMO_BOT_APP.clientId}`, name: 'PIM Approvals' },
          conversation: { id: row.channel, isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID },
          channelData: { tenant: { id: DEMO_TENANT_ID } },
          value: {
            action: {
              type: 'Action.Execute',
              verb: 'pim.approve',
              data: { requestId: row.id, version: row.version, decisionJustification: 'Verified with the requester by phone' },
            },
            trigger: 'manual',
          },
        };
        return { method: 'POST', path: '/api/messages', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) };
      };
    const actionOutcome = (res: BenchResponse) => {
      if (res.status !== 200) return `HTTP ${res.status}`;
      const b = JSON.parse(res.body) as { statusCode?: number; type?: string; value?: { message?: string } };
      if (b.statusCode !== 200) return `statusCode ${b.statusCode}: ${b.value?.message ?? ''}`;
      if (b.type !== 'application/vnd.microsoft.card.adaptive') return `type ${b.type}`;
      return res.body.includes('"verb":"pim.approve"') ? 'card still open' : 'recorded';
    };
    /**
     * The card-action runs against one bot: `script` is the bot child (another tree's for the code before the
     * change), `first` the first requester it files requests for (each run files its own).
     */
    const actionRuns = async (label: string, script: string | undefined, first: number) => {
      process.stderr.write(`card bench: card actions (${label})…\n`);
      const cardBot = await startBotChild(
        `bot (card actions, ${label})`,
        {
          env: botEnv({
            simUrl: sim.ready.url,
            serviceUrl: connector.serviceUrl,
            dbPath: join(dir, `actions-${label.replace(/[^a-z0-9]+/gi, '-')}.sqlite`),
            channels,
            extra: { CARD_SUMMARY_AFTER: '0' },
          }),
          sweepIntervalMs: 600_000,
        } satisfies BotArgs,
        script,
      );
      children.push(cardBot);
      await simControl(sim.ready.url, 'PUT', '/_sim/custom-extension', {
        targetUrl: `${cardBot.ready.url}/api/pim/evaluate`,
        resourceId: APP_ID_URI,
        timeoutMs: 5000,
        maximumRetries: 1,
      });
      const prepStart = performance.now();
      const tracked = await fileRequests(sim.ready.url, cardBot, PER_BOT, first);
      await waitForCards(
        connector,
        tracked.map((t) => t.id),
        120_000,
      );
      const prepSeconds = (performance.now() - prepStart) / 1000;
      await simControl(sim.ready.url, 'DELETE', '/_sim/custom-extension');
      process.stderr.write(`  ${tracked.length} pending requests filed, evaluated and their cards posted in ${fixed(prepSeconds)} s\n`);
      const warmRows = tracked.slice(0, WARM_UP);
      const calibrationRows = tracked.slice(WARM_UP, WARM_UP + CALIBRATION);
      const throughputRows = tracked.slice(WARM_UP + CALIBRATION, WARM_UP + CALIBRATION + N_ACTIONS);
      const latencyRows = tracked.slice(WARM_UP + CALIBRATION + N_ACTIONS, WARM_UP + CALIBRATION + N_ACTIONS + N_ACTIONS_LATENCY);
      const serialRows = tracked.slice(WARM_UP + CALIBRATION + N_ACTIONS + N_ACTIONS_LATENCY);

      const bot = new HttpClient(cardBot.ready.url);
      const warm2 = await closedLoop({ client: bot, concurrency: 2, n: warmRows.length, make: invoke(warmRows), classify: actionOutcome, keepResponses: true });
      const staticCard = (JSON.parse(warm2.samples[0]!.response!.body) as { value: object }).value;

      // Calibration: Graph calls on one action's path, one action at a time.
      await sleep(500);
      const cal0 = await callCount();
      await closedLoop({ client: bot, concurrency: 1, n: calibrationRows.length, make: invoke(calibrationRows), classify: actionOutcome });
      const cal = await callSummary(cal0);
      const graphPerAction = cal.graphHttp / calibrationRows.length;

      const measure = async (rows: Tracked[], runLabel: string, concurrency = CONCURRENCY) => {
        const c0 = await callCount();
        const u0 = await cardBot.usage();
        const s0 = await sim.usage();
        const p0 = connector.updates + connector.posts;
        const q0 = (await sqlStatements(cardBot)) ?? 0;
        const run = await profiled(cardBot, runLabel, () =>
          closedLoop({ client: bot, concurrency, n: rows.length, make: invoke(rows), classify: actionOutcome, keepResponses: true }),
        );
        const u1 = await cardBot.usage();
        const s1 = await sim.usage();
        const q1 = (await sqlStatements(cardBot)) ?? 0;
        const calls = await sim.rpc<Array<CallRecord & { batchItemOf?: string }>>('calls', { from: c0 });
        return {
          run,
          botCpuMs: cpuPer(u0, u1, run.n),
          botCores: (u1.cpuMs - u0.cpuMs) / 1000 / run.seconds,
          simCpuMs: cpuPer(s0, s1, run.n),
          connectorCalls: connector.updates + connector.posts - p0,
          sqlPerAction: (q1 - q0) / run.n,
          calls,
        };
      };
      const tag = label === 'now' ? '' : `-${label.replace(/[^a-z0-9]+/gi, '-')}`;
      process.stderr.write(`  ${N_ACTIONS} approvals, no added Graph latency…\n`);
      const fast = await measure(throughputRows, `bot-card-actions-no-latency${tag}`);
      process.stderr.write(`  ${N_ACTIONS_LATENCY} approvals, ${GRAPH_LATENCY_MS} ms on every Graph call…\n`);
      if (GRAPH_LATENCY_MS > 0) await simLatency(sim.ready.url, GRAPH, GRAPH_LATENCY_MS);
      const slow = await measure(latencyRows, `bot-card-actions-graph-latency${tag}`);
      process.stderr.write(`  ${N_ACTIONS_SERIAL} approvals one at a time, ${GRAPH_LATENCY_MS} ms on every Graph call…\n`);
      const serial = serialRows.length ? await measure(serialRows, `bot-card-actions-one-at-a-time${tag}`, 1) : null;
      await simClearFaults(sim.ready.url);
      const statuses = await sim.rpc<Record<string, number>>('statuses', { ids: [...throughputRows, ...latencyRows, ...serialRows].map((r) => r.pimId) });
      const memory = await botMemory(`card actions (${label})`, cardBot);
      bot.close();
      await cardBot.stop();

      // When PIM recorded each decision (the simulator logs the PATCH when it answers it).
      const patchAt = new Map<string, number>();
      for (const c of slow.calls) {
        const mm = /\/roleAssignmentApprovals\/([0-9a-f-]{36})\/steps\//.exec(c.path);
        if (c.method === 'PATCH' && mm) patchAt.set(mm[1]!, Date.parse(c.answeredAt ?? c.time));
      }
      const toPatch: number[] = [];
      const afterPatch: number[] = [];
      slow.run.samples.forEach((s) => {
        const at = patchAt.get(latencyRows[s.index]!.pimId);
        if (at === undefined) return;
        toPatch.push(at - s.sentWallMs);
        afterPatch.push(s.sentWallMs + s.ms - at);
      });
      return {
        label,
        prepSeconds,
        prepared: tracked.length,
        graphPerAction,
        calibration: cal,
        fast,
        slow,
        serial,
        // What each action waited on, one at a time with the latency on every Graph call.
        sequence: serial ? sequenceOf(serial.run, serial.calls) : null,
        slowCalls: summaryOf(slow.calls),
        toPatch: summarize(toPatch),
        afterPatch: summarize(afterPatch),
        patchesMatched: toPatch.length,
        statuses,
        staticCard,
        memory,
        floorRows: latencyRows,
      };
    };
    const now = await actionRuns('now', undefined, 0);
    const tree = beforeTree();
    const before = tree ? await actionRuns(`before ${tree.commit}`, tree.botChild, PER_BOT) : null;

    // --- 3. the framework floor --------------------------------------------------------------------
    process.stderr.write('card bench: framework floor…\n');
    const floorChild = await startChild<{ url: string }>('framework floor', FLOOR_CHILD, { kind: 'teams', card: now.staticCard } satisfies FloorArgs);
    children.push(floorChild);
    const floor = new HttpClient(floorChild.ready.url);
    const floorOutcome = (res: BenchResponse) =>
      res.status === 200 && (JSON.parse(res.body) as { statusCode?: number }).statusCode === 200 ? 'static card' : `HTTP ${res.status}`;
    await closedLoop({ client: floor, concurrency: CONCURRENCY, n: Math.min(500, N_FLOOR), make: invoke(now.floorRows), classify: floorOutcome });
    const f0 = await floorChild.usage();
    const floorRun = await closedLoop({ client: floor, concurrency: CONCURRENCY, n: N_FLOOR, make: invoke(now.floorRows), classify: floorOutcome });
    const f1 = await floorChild.usage();
    floor.close();
    await floorChild.stop();
    const floorCpuMs = cpuPer(f0, f1, floorRun.n);

    report({
      machineText: machineLine(m),
      escalation: escalationResult,
      now,
      before,
      floorRun,
      floorCpuMs,
      floorCores: (f1.cpuMs - f0.cpuMs) / 1000 / floorRun.seconds,
      rss: [escMemory, now.memory, ...(before ? [before.memory] : [])],
    });
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function summaryOf(calls: ReadonlyArray<CallRecord & { batchItemOf?: string }>): {
  graph: number;
  patches: number;
  entra: number;
  entraMetadata: number;
  tokenService: number;
} {
  let graph = 0;
  let patches = 0;
  let entra = 0;
  let entraMetadata = 0;
  let tokenService = 0;
  for (const c of calls) {
    if (c.batchItemOf) continue;
    if (/^\/(v1\.0|beta)\//.test(c.path)) {
      graph++;
      if (c.method === 'PATCH') patches++;
    } else if (/\/oauth2\/v2\.0\/token$/.test(c.path)) entra++;
    else if (/\/\.well-known\/openid-configuration$/.test(c.path)) entraMetadata++;
    else if (/^\/api\/usertoken\//i.test(c.path)) tokenService++;
  }
  return { graph, patches, entra, entraMetadata, tokenService };
}

async function waitForCards(connector: BenchConnector, requestIds: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (requestIds.some((id) => !connector.firstSeen.has(id))) {
    if (Date.now() > until) {
      process.stderr.write(`  (${requestIds.filter((id) => !connector.firstSeen.has(id)).length} cards not at the connector after ${timeoutMs / 1000} s)\n`);
      return;
    }
    await sleep(50);
  }
}

/**
 * Files `n` activation requests in the simulator (each by its own requester, for one of the bench roles in
 * turn): PIM calls the bot's decision endpoint, which answers Approved and stores the approval request.
 */
async function fileRequests(simUrl: string, bot: Child<BotReady>, n: number, first: number): Promise<Tracked[]> {
  const pimIds: string[] = new Array(n);
  const roleOf: number[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < n) {
        const i = next++;
        const k = i % CHANNELS;
        const created = (await simControl(simUrl, 'POST', '/_sim/requests', {
          principal: requesterId(first + i),
          role: benchRoleId(k),
          justification: GOOD_JUSTIFICATION,
          durationMinutes: 60,
        })) as { id: string; status: string };
        if (created.status !== 'PendingApproval')
          throw new Error(`request ${i} is ${created.status}, not PendingApproval: did the bot's decision endpoint answer?`);
        pimIds[i] = created.id;
        roleOf[i] = k;
      }
    }),
  );
  const rows = await bot.rpc<Array<RowRef | null>>('rows', { pimIds });
  return rows.map((r, i) => {
    if (!r) throw new Error(`the bot has no approval request for PIM request ${pimIds[i]}`);
    return { ...r, channel: channelOf(roleOf[i]!) };
  });
}

interface ActionRun {
  run: RunResult;
  botCpuMs: number;
  botCores: number;
  simCpuMs: number;
  connectorCalls: number;
  sqlPerAction: number;
}

/** What one action waited on: its Graph calls, and the longest run of them made one after another. */
interface Sequence {
  graphCalls: LatencySummary;
  inSequence: LatencySummary;
}

/**
 * Per action of a one-at-a-time run, from the simulator's log: the Graph calls that arrived between the
 * invoke's send and its answer, and the longest chain of them in which each call arrived only once the one
 * before it had been answered (with a fixed latency on every Graph call, calls made side by side overlap).
 */
function sequenceOf(run: RunResult, calls: ReadonlyArray<CallRecord & { batchItemOf?: string }>): Sequence {
  const graph = calls.filter((c) => !c.batchItemOf && /^\/(v1\.0|beta)\//.test(c.path));
  const counts: number[] = [];
  const depths: number[] = [];
  for (const s of run.samples) {
    const from = s.sentWallMs;
    const to = s.sentWallMs + s.ms + 1;
    const mine = graph.filter((c) => Date.parse(c.time) >= from && Date.parse(c.time) <= to);
    counts.push(mine.length);
    const depth = new Map<CallRecord, number>();
    for (const c of [...mine].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) {
      let d = 1;
      for (const p of mine) if (p !== c && p.answeredAt && Date.parse(p.answeredAt) <= Date.parse(c.time)) d = Math.max(d, (depth.get(p) ?? 1) + 1);
      depth.set(c, d);
    }
    depths.push(Math.max(0, ...depth.values()));
  }
  return { graphCalls: summarize(counts), inSequence: summarize(depths) };
}

type Actions = {
  label: string;
  prepSeconds: number;
  prepared: number;
  graphPerAction: number;
  calibration: CallSummary;
  fast: ActionRun;
  slow: ActionRun;
  serial: ActionRun | null;
  sequence: Sequence | null;
  slowCalls: { graph: number; patches: number; entra: number; entraMetadata: number; tokenService: number };
  toPatch: LatencySummary;
  afterPatch: LatencySummary;
  patchesMatched: number;
  statuses: Record<string, number>;
};

function report(r: {
  machineText: string;
  escalation: {
    run: RunResult;
    achievedRate: number;
    answered: LatencySummary;
    card: LatencySummary;
    missing: number;
    posts: number;
    calls: CallSummary;
    cpuMs: number;
    cpuCores: number;
    sqlPerEvent: number;
  };
  now: Actions;
  before: Actions | null;
  floorRun: RunResult;
  floorCpuMs: number;
  floorCores: number;
  rss: BotMemory[];
}): void {
  const out = process.stdout;
  const e = r.escalation;
  out.write(`\n### Escalation → card posted, ${r.machineText}, bot log level ${BOT_LOG_LEVEL}\n\n`);
  out.write(
    table(
      [
        'events',
        'rate asked / achieved (per s)',
        'channels',
        'event answered p50 / p99 (ms)',
        'card at the connector p50 (ms)',
        'p99 (ms)',
        'max (ms)',
        'cards posted (missing)',
        'Graph requests per card (reads in them)',
        'bot CPU per event (ms)',
        'bot CPU (cores)',
        'SQL statements per event',
      ],
      [
        [
          e.run.n,
          `${ESC_RATE} / ${fixed(e.achievedRate, 1)}`,
          CHANNELS,
          `${fixed(e.answered.p50)} / ${fixed(e.answered.p99)}`,
          fixed(e.card.p50),
          fixed(e.card.p99),
          fixed(e.card.max),
          `${e.posts} (${e.missing})`,
          `${fixed(e.calls.graphHttp / e.run.n, 1)} (${fixed((e.calls.graphHttp - e.calls.batches + e.calls.batchItems) / e.run.n, 1)})`,
          fixed(e.cpuMs, 2),
          fixed(e.cpuCores, 2),
          fixed(e.sqlPerEvent, 1),
        ],
      ],
    ),
  );
  out.write(
    `\n\nescalation outcomes: ${Object.entries(e.run.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}\n`,
  );

  out.write(`\n### Card actions (Approve → Graph recorded → invoke answered), concurrency ${CONCURRENCY}\n\n`);
  const runs = [r.now, ...(r.before ? [r.before] : [])];
  for (const a of runs) {
    const who = a.label === 'now' ? 'The bot' : `The code ${a.label}`;
    out.write(
      `${who}: ${a.prepared} pending requests filed in the simulator, evaluated and their cards posted in ${fixed(a.prepSeconds)} s before the runs. ` +
        `Per action (measured one at a time): ${fixed(a.graphPerAction, 1)} Graph calls, ${fixed(a.calibration.entraTokens / CALIBRATION, 1)} Entra token request (on-behalf-of) after ${fixed(a.calibration.entraMetadata / CALIBRATION, 1)} read of Entra's OpenID metadata, ${fixed(a.calibration.tokenService / CALIBRATION, 1)} token service call` +
        (a.sequence
          ? `; with ${GRAPH_LATENCY_MS} ms on every Graph call, the answer waited on ${fixed(a.sequence.inSequence.p50, 0)} Graph round trips in sequence (p50; max ${fixed(a.sequence.inSequence.max, 0)}) of ${fixed(a.sequence.graphCalls.p50, 0)} Graph calls (${N_ACTIONS_SERIAL} actions, from the simulator's log).\n\n`
          : '.\n\n'),
    );
  }
  const lat = (x: ActionRun) => x.run.latency;
  const actionRow = (name: string, x: ActionRun) => [
    name,
    x.run.n,
    fixed(x.run.throughput, 1),
    fixed(lat(x).p50),
    fixed(lat(x).p99),
    fixed(lat(x).max),
    `${fixed(x.botCpuMs, 2)} / ${fixed(x.simCpuMs, 2)}`,
    fixed(x.botCores, 2),
    fixed(x.sqlPerAction, 1),
    outcomes(x.run),
  ];
  const rowsOf = (a: Actions) => {
    const prefix = a.label === 'now' ? 'bot' : a.label;
    return [
      actionRow(`${prefix}, no added Graph latency`, a.fast),
      actionRow(`${prefix}, ${GRAPH_LATENCY_MS} ms per Graph call`, a.slow),
      ...(a.serial ? [actionRow(`${prefix}, ${GRAPH_LATENCY_MS} ms per Graph call, one action at a time`, a.serial)] : []),
    ];
  };
  out.write(
    table(
      [
        'run',
        'actions',
        'throughput (per s)',
        'p50 (ms)',
        'p99 (ms)',
        'max (ms)',
        'CPU per action: bot / simulator (ms)',
        'bot CPU (cores)',
        'SQL statements per action',
        'outcomes',
      ],
      [
        ...runs.flatMap(rowsOf),
        [
          'framework floor (teams-ai, static card)',
          r.floorRun.n,
          fixed(r.floorRun.throughput, 1),
          fixed(r.floorRun.latency.p50),
          fixed(r.floorRun.latency.p99),
          fixed(r.floorRun.latency.max),
          `${fixed(r.floorCpuMs, 2)} / –`,
          fixed(r.floorCores, 2),
          '–',
          outcomes(r.floorRun),
        ],
      ],
    ),
  );
  out.write('\n\n');
  for (const a of runs) {
    const who = a.label === 'now' ? '' : `${a.label}: `;
    // The Graph latency on the path is what the answer waited on in sequence (one at a time, from the log).
    const k = a.sequence ? a.sequence.inSequence.p50 : a.graphPerAction;
    const graphMs = k * GRAPH_LATENCY_MS;
    const overheadP99 = lat(a.slow).p99 - graphMs;
    out.write(
      `${who}with ${GRAPH_LATENCY_MS} ms per Graph call (${fixed(k, 0)} in sequence × ${GRAPH_LATENCY_MS} = ${fixed(graphMs, 0)} ms of Graph on the path), concurrency ${CONCURRENCY}: overhead p50 ${fixed(lat(a.slow).p50 - graphMs)} ms, p99 ${fixed(overheadP99)} ms (target p99 < 100 ms: ${overheadP99 < 100 ? 'met' : 'MISSED'})\n`,
    );
    if (a.serial)
      out.write(
        `${who}one action at a time: answered p50 ${fixed(lat(a.serial).p50)} ms, p99 ${fixed(lat(a.serial).p99)} ms; overhead p50 ${fixed(lat(a.serial).p50 - graphMs)} ms, p99 ${fixed(lat(a.serial).p99 - graphMs)} ms\n`,
      );
    out.write(
      `${who}invoke sent → PATCH recorded: p50 ${fixed(a.toPatch.p50)} ms, p99 ${fixed(a.toPatch.p99)} ms; PATCH recorded → invoke answered: p50 ${fixed(a.afterPatch.p50)} ms, p99 ${fixed(a.afterPatch.p99)} ms (${a.patchesMatched} of ${a.slow.run.n} PATCHes matched in the simulator's log)\n`,
    );
    out.write(
      `${who}Graph calls in the ${GRAPH_LATENCY_MS} ms run: ${a.slowCalls.graph} (${fixed(a.slowCalls.graph / a.slow.run.n, 1)} per action), PATCHes ${a.slowCalls.patches}; Entra token requests ${a.slowCalls.entra} and OpenID metadata reads ${a.slowCalls.entraMetadata}, token service calls ${a.slowCalls.tokenService}; connector posts and updates during the runs: ${a.fast.connectorCalls} / ${a.slow.connectorCalls}\n`,
    );
    out.write(
      `${who}PIM's status of the approved requests afterwards: ${Object.entries(a.statuses)
        .map(([st, n]) => `${st} ${n}`)
        .join(', ')}\n`,
    );
    const share = a.fast.run.throughput / r.floorRun.throughput;
    out.write(
      `${who}bot (no added latency) / framework floor: throughput ${pct(share, 1)} (target ≥ 70%: ${share >= 0.7 ? 'met' : 'MISSED'}), CPU per invoke ${fixed(a.fast.botCpuMs / r.floorCpuMs, 0)}x\n`,
    );
  }

  out.write(`\n#### Bot RSS (its own process)\n\n`);
  out.write(
    table(
      MEMORY_HEADER,
      r.rss.map((x) => memoryRow(x, fixed)),
    ),
  );
  out.write('\n');
}

function outcomes(run: RunResult): string {
  return Object.entries(run.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
