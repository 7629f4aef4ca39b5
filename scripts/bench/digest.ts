/**
 * `npm run bench` (digest part): the daily digests over a large tenant, read from the simulator through
 * Graph with paging, at two sizes to show how the cost grows. For each size:
 *   1. a child process serves a generated tenant (sim/scale-seed.ts) on loopback;
 *   2. another child process reads it as the bot does (app-only, $top=999, @odata.nextLink), builds every
 *      user's digest and the admin digest (names resolved, cards rendered), and reports wall time, peak
 *      RSS (process.resourceUsage().maxRSS, so only the digest process is measured, not the simulator) and
 *      the Graph calls it made;
 *   3. the simulator's own call log is read back to confirm the call count.
 * Sizes: BENCH_DIGEST_SIZES="10000x40000,50000x200000" (users x eligibility instances).
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '..', '..');
const PKI_DIR = path.join(ROOT, '.local', 'pki');
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Asia/Kolkata', 'America/Los_Angeles'];

interface ServeReady {
  url: string;
  tenantId: string;
  groupIds: string[];
  seedMs: number;
  rssMB: number;
}

interface RunResult {
  users: number;
  eligibilities: number;
  wallMs: number;
  readMs: number;
  userDigestMs: number;
  adminDigestMs: number;
  namesMs: number;
  userCardMsEach: number;
  baseRssMB: number;
  peakRssMB: number;
  readerCalls: number;
  batches: number;
  counts: { eligibilities: number; assignments: number; activationHistory: number };
  recipients: number;
  expiringKept: number;
  dormant: number;
  sampled: number;
  adminCards: number;
}

// --- child: the simulator -------------------------------------------------------------------------
async function serve(users: number, eligibilities: number): Promise<void> {
  const { startSimulator } = await import('../../sim/server');
  const { scaleSeed } = await import('../../sim/scale-seed');
  const t0 = performance.now();
  const seed = scaleSeed({ users, eligibilities });
  const sim = await startSimulator({ pkiDir: PKI_DIR, port: 0, seed });
  const ready: ServeReady = {
    url: sim.url,
    tenantId: sim.tenantId,
    groupIds: (seed.pimGroups ?? []).map((g) => g.groupId),
    seedMs: performance.now() - t0,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  // The parent closes stdin when it is done with us.
  process.stdin.resume();
  process.stdin.on('end', () => void sim.close().then(() => process.exit(0)));
}

// --- child: the digest run ------------------------------------------------------------------------
async function run(ready: ServeReady, users: number, eligibilities: number): Promise<void> {
  const { ClientSecretCredential } = await import('@azure/identity');
  const { DEMO_BOT_APP } = await import('../../sim/seed');
  const { createGraphClient } = await import('../../services/graph/graph-client');
  const digests = await import('../../services/digests');
  const { renderAdminDigestCards, renderUserDigestCard } = await import('../../cards/digest');
  type ApprovalFields = import('../../services/digests').ApprovalFields;
  const baseRssMB = process.resourceUsage().maxRSS / 1024;

  const credential = new ClientSecretCredential(ready.tenantId, DEMO_BOT_APP.clientId, DEMO_BOT_APP.clientSecret, {
    authorityHost: ready.url,
    disableInstanceDiscovery: true,
  });
  const reader = new digests.GraphTenantReader(createGraphClient(ready.url, credential));
  // Token acquisition is not the digest's cost.
  await credential.getToken('https://graph.microsoft.com/.default');

  const stage = (what: string) => {
    if (process.env.BENCH_DIGEST_TRACE)
      process.stderr.write(
        `  ${what}: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB, peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`,
      );
  };
  stage('after token');
  const now = new Date();
  const t0 = performance.now();
  const inputs = await digests.readDigestInputs(reader, { now, groupIds: ready.groupIds });
  const t1 = performance.now();
  stage('after reads');

  // Every user's digest at their own 09:00 is computed from the same reads.
  let recipients = 0;
  const sampleDigests: import('../../services/digests').UserDigest[] = [];
  for (const id of digests.digestCandidates(inputs)) {
    const zone = ZONES[parseInt(id.slice(-4), 16) % ZONES.length]!;
    const d = digests.buildUserDigest(inputs, id, { now, timeZone: zone });
    if (!d) continue;
    recipients++;
    if (sampleDigests.length < 200) sampleDigests.push(d);
  }
  const t2 = performance.now();
  stage('after user digests');

  // Synthetic store rows: 30 pending requests, 1,000 approvals yesterday.
  const window = digests.spotAuditWindow(now, 'Europe/Berlin');
  const row = (i: number, status: string, decidedAt: string | null): ApprovalFields => ({
    id: randomUUID(),
    pim_request_id: randomUUID(),
    kind: 'entraRole',
    principal_id: `5ca1e000-0000-4000-8000-${(i % users).toString(16).padStart(12, '0')}`,
    role_definition_id: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
    scope: '/',
    status,
    created_at: new Date(now.getTime() - (i + 1) * 60_000).toISOString(),
    justification: 'Investigating INC0012345',
    ticket_system: 'ServiceNow',
    ticket_number: 'INC0012345',
    decided_by_id: decidedAt ? '5ca1e000-0000-4000-8000-000000000000' : null,
    decided_by_name: decidedAt ? 'Scale User 0' : null,
    decided_at: decidedAt,
    decision_justification: decidedAt ? 'Matches the incident' : null,
  });
  const from = Date.parse(window.from);
  const pending = Array.from({ length: 30 }, (_, i) => row(i, 'pending', null));
  const approvals = Array.from({ length: 1000 }, (_, i) => row(i + 100, 'approved', new Date(from + i * 86_000).toISOString()));
  const admin = digests.buildAdminDigest({ inputs, pending, approvals, flags: [] }, { now, timeZone: 'Europe/Berlin', spotAudit: { salt: 'bench-salt' } });
  const refs = digests.adminDigestNameRefs(admin);
  const tn = performance.now();
  const names = await digests.resolveNames(reader, refs.userIds, refs.targets);
  const namesMs = performance.now() - tn;
  const adminCards = renderAdminDigestCards({ digest: admin, names });
  const t3 = performance.now();
  stage('after admin digest');
  const peakRssMB = process.resourceUsage().maxRSS / 1024;

  // Card rendering per user, measured on a sample (the bot renders each when it sends it).
  const targetNames = (
    await digests.resolveNames(
      reader,
      [],
      sampleDigests.flatMap((d) => [...d.ending, ...d.endingToday]),
    )
  ).targets;
  const t4 = performance.now();
  for (const d of sampleDigests) renderUserDigestCard({ digest: d, targetNames });
  const userCardMsEach = sampleDigests.length ? (performance.now() - t4) / sampleDigests.length : 0;

  const result: RunResult = {
    users,
    eligibilities,
    wallMs: t3 - t0,
    readMs: t1 - t0,
    userDigestMs: t2 - t1,
    adminDigestMs: t3 - t2,
    namesMs,
    userCardMsEach,
    baseRssMB,
    peakRssMB,
    readerCalls: reader.calls,
    batches: reader.batches,
    counts: inputs.counts,
    recipients,
    expiringKept: inputs.expiring.length,
    dormant: inputs.dormant.total,
    sampled: admin.spotAudit.sample.length,
    adminCards: adminCards.length,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// --- parent ---------------------------------------------------------------------------------------
function child(args: string[]): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, __filename, ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? path.join(PKI_DIR, 'ca.pem') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function firstLine<T>(p: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: p.stdout! });
    lines.once('line', (line) => resolve(JSON.parse(line) as T));
    p.once('exit', (code) => reject(new Error(`child exited with ${code} before answering`)));
  });
}

async function measure(
  users: number,
  eligibilities: number,
): Promise<RunResult & { simCalls: number; simBatchItems: number; seedMs: number; simRssMB: number }> {
  const sim = child(['--serve', String(users), String(eligibilities)]);
  try {
    const ready = await firstLine<ServeReady>(sim);
    const runner = child(['--run', JSON.stringify(ready), String(users), String(eligibilities)]);
    const result = await firstLine<RunResult>(runner);
    const calls = (await (await fetch(`${ready.url}/_sim/calls`)).json()) as { value: Array<{ path: string; batchItemOf?: string }> };
    const graph = calls.value.filter((c) => /^\/(v1\.0|beta)\//.test(c.path));
    // The simulator logs each item of a JSON batch too: Graph throttles them one by one.
    const simCalls = graph.filter((c) => !c.batchItemOf).length;
    return { ...result, simCalls, simBatchItems: graph.length - simCalls, seedMs: ready.seedMs, simRssMB: ready.rssMB };
  } finally {
    sim.stdin!.end();
  }
}

async function main(): Promise<void> {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === '--serve') return serve(Number(a), Number(b));
  if (mode === '--run') return run(JSON.parse(a!) as ServeReady, Number(b), Number(c));

  const sizes = (process.env.BENCH_DIGEST_SIZES ?? '10000x40000,50000x200000').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const results = [];
  for (const [users, eligibilities] of sizes) {
    process.stderr.write(`digest bench: ${users} users, ${eligibilities} eligibility instances…\n`);
    results.push(await measure(users, eligibilities));
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const out = process.stdout;
  out.write(
    `\nDigest benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`,
  );
  out.write(
    '| users | eligibility instances | wall time (s) | of which Graph reads (s) | user digests (s) | admin digest (s) | of which names (s) | peak RSS (MB) | RSS before reading (MB) | Graph HTTP calls (reader / sim log) | of which JSON batches (items) | history records | kept in memory | recipients | dormant | spot-audit sample (cards) |\n',
  );
  out.write('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n');
  for (const r of results) {
    out.write(
      `| ${r.users} | ${r.eligibilities} | ${(r.wallMs / 1000).toFixed(1)} | ${(r.readMs / 1000).toFixed(1)} | ${(r.userDigestMs / 1000).toFixed(2)} | ${(r.adminDigestMs / 1000).toFixed(2)} | ${(r.namesMs / 1000).toFixed(2)} | ${r.peakRssMB.toFixed(0)} | ${r.baseRssMB.toFixed(0)} | ${r.readerCalls} / ${r.simCalls} | ${r.batches} (${r.simBatchItems}) | ${r.counts.activationHistory} | ${r.expiringKept} | ${r.recipients} | ${r.dormant} | ${r.sampled} (${r.adminCards}) |\n`,
    );
  }
  if (results.length >= 2) {
    const [s, l] = [results[0]!, results.at(-1)!];
    const x = l.eligibilities / s.eligibilities;
    out.write(
      `\n${x.toFixed(1)}x the instances: wall time ${(l.wallMs / s.wallMs).toFixed(1)}x, Graph calls ${(l.readerCalls / s.readerCalls).toFixed(1)}x, peak RSS above baseline ${((l.peakRssMB - l.baseRssMB) / Math.max(1, s.peakRssMB - s.baseRssMB)).toFixed(1)}x\n`,
    );
  }
  out.write(
    `user digest card: ${results.map((r) => `${r.userCardMsEach.toFixed(2)} ms`).join(' / ')} to render each; simulator seeding ${results.map((r) => `${(r.seedMs / 1000).toFixed(1)} s`).join(' / ')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
