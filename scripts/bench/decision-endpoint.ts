/**
 * `npm run bench`: the decision endpoint's throughput and latency, measured on loopback against the
 * tenant simulator. Three runs in one process, so their ratios compare like with like:
 *   1. rules only (no system of record configured);
 *   2. every check (Graph user lookup, ServiceNow, PagerDuty, Opsgenie, Graph HR) with a fixed
 *      simulated latency on each call to those systems;
 *   3. the same with PagerDuty hanging: the answer must come at the budget, as human review.
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';
import { startSimulator } from '../../sim/server';
import { DEMO_BOT_APP, DEMO_PIM_CALLER_APP_ID, DEMO_TENANT_ID, ROLE, TICKET, USER } from '../../sim/seed';
import { demoPolicy } from '../demo-policy';

const SIMULATED_LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const BUDGET_MS = 1500;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

interface Run {
  name: string;
  n: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  outcomes: Record<string, number>;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-'));
  // A connector that accepts card posts, so Approved outcomes cost what they cost in production.
  const connector = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: randomUUID() }));
    });
  });
  await new Promise<void>((r) => connector.listen(0, '127.0.0.1', r));
  const serviceUrl = `http://127.0.0.1:${(connector.address() as AddressInfo).port}/`;
  const sim = await startSimulator({ pkiDir: '.local/pki', port: 0 });
  const appIdUri = `api://127.0.0.1/${DEMO_BOT_APP.clientId}`;
  const token = await sim.issueToken({ aud: appIdUri, azp: DEMO_PIM_CALLER_APP_ID }, { expiresInSeconds: 7200 });
  const runs: Run[] = [];

  const startBotWith = async (policy: unknown, db: string) =>
    startBot(
      loadConfig({
        APP_MODE: 'demo', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', TENANT_ID: DEMO_TENANT_ID,
        ENTRA_AUTHORITY_HOST: sim.url, GRAPH_BASE_URL: sim.url, BOT_OAUTH_URL: sim.url,
        BOT_APP_ID: DEMO_BOT_APP.clientId, BOT_APP_SECRET: DEMO_BOT_APP.clientSecret,
        PIM_ENDPOINT_APP_ID_URI: appIdUri, PIM_ALLOWED_CALLER_APP_IDS: DEMO_PIM_CALLER_APP_ID,
        APPROVER_CHANNELS: JSON.stringify({ default: { conversationId: '19:bench@thread.tacv2', serviceUrl } }),
        DATABASE_URL: `sqlite:${join(dir, db)}`, DECISION_BUDGET_MS: String(BUDGET_MS), POLICY_JSON: JSON.stringify(policy),
      }),
      { logger: pino({ level: 'silent' }), sweepIntervalMs: 600_000 },
    );

  const body = (justification = 'Contain the phishing incident on the finance mailboxes') => ({
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: randomUUID(), status: 'PendingApproval', action: 'selfActivate', principalId: USER.alex, roleDefinitionId: ROLE.securityOperator,
    directoryScopeId: '/', justification,
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    ticketInfo: { ticketNumber: TICKET.approvedChange, ticketSystem: 'ServiceNow' },
  });

  async function drive(name: string, url: string, n: number, justification?: string): Promise<void> {
    const latencies: number[] = [];
    const outcomes: Record<string, number> = {};
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next++;
          const t0 = process.hrtime.bigint();
          const res = await fetch(`${url}/api/pim/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body(justification)) });
          const json = (await res.json()) as { evaluationOutcome?: string };
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          const key = res.status === 200 ? json.evaluationOutcome! : `HTTP ${res.status}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    runs.push({ name, n, seconds, p50: q(0.5), p99: q(0.99), max: latencies.at(-1)!, outcomes });
  }

  const rulesOnly = await startBotWith({ version: 1, roles: { default: { justification: 'deny' } } }, 'rules.sqlite');
  await drive('warm-up', rulesOnly.url, 200, 'test');
  runs.pop();
  // Denied by the justification rule: the decision alone, no card to post.
  await drive('rules only (Denied, no card)', rulesOnly.url, Number(process.env.BENCH_N_RULES ?? 3000), 'test');
  // Approved: the same decision, plus the card posted in the background (Graph look-ups, rendering, Teams).
  await drive('rules only (Approved, card posted)', rulesOnly.url, Number(process.env.BENCH_N_CARDS ?? 600));
  await rulesOnly.delivery.drain();
  await rulesOnly.close();

  const full = await startBotWith(demoPolicy(sim.url), 'full.sqlite');
  const systems = '^/(servicenow|pagerduty|opsgenie|jira)/|^/v1\\.0/users/';
  await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pathPattern: systems, latencyMs: SIMULATED_LATENCY_MS, times: 1_000_000 }) });
  await drive(`all checks, ${SIMULATED_LATENCY_MS} ms per call`, full.url, Number(process.env.BENCH_N_FULL ?? 600));
  // Faults match first-come: the hang goes in before the general latency.
  await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
  await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pathPattern: '^/pagerduty/', latencyMs: 30_000, times: 1_000_000 }) });
  await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pathPattern: systems, latencyMs: SIMULATED_LATENCY_MS, times: 1_000_000 }) });
  await drive(`PagerDuty hangs (budget ${BUDGET_MS} ms)`, full.url, 40);
  await full.close();
  await sim.close();
  connector.close();
  rmSync(dir, { recursive: true, force: true });

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`\nDecision endpoint benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, concurrency ${CONCURRENCY}\n\n`);
  process.stdout.write('| run | requests | throughput (req/s) | p50 (ms) | p99 (ms) | max (ms) | outcomes |\n|---|---|---|---|---|---|---|\n');
  for (const r of runs) {
    process.stdout.write(`| ${r.name} | ${r.n} | ${(r.n / r.seconds).toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')} |\n`);
  }
  const [rules, , all] = runs;
  process.stdout.write(`\nall checks / rules only: p50 ${(all!.p50 / rules!.p50).toFixed(1)}x, throughput ${((all!.n / all!.seconds) / (rules!.n / rules!.seconds)).toFixed(2)}x\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
