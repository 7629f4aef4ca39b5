/**
 * `npm run chaos`: the chaos run (scripts/chaos/chaos.ts) with the long profile by default.
 *   --profile short|long   which profile (scripts/chaos/profiles.ts)
 *   --seed N               replay a run's schedule (printed at the start and in the report)
 *   --write-benchmarks     put the report into BENCHMARKS.md's "Chaos run" section
 *   --note TEXT            a line for the report (what code ran, what else ran on the machine)
 * Needs PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). Exits 1 when an
 * invariant fails (the report names the request ids), 2 when the run itself could not be carried out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChaos } from './chaos';
import { PROFILES, type ChaosProfile } from './profiles';
import { randomSeed } from './prng';
import { renderReport, SECTION_HEADING } from './report';

const REPO = join(__dirname, '..', '..');
const OUT_DIR = join(REPO, '.local', 'chaos');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const name = (arg('profile') ?? 'long') as ChaosProfile['name'];
  const profile = PROFILES[name];
  if (!profile) throw new Error(`--profile: short or long, not ${name}`);
  const seedArg = arg('seed');
  const seed = seedArg === undefined ? randomSeed() : Number(seedArg);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: a whole number, not ${seedArg}`);
  const log = (msg: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  // Ctrl-C: stop the run and clean up (replicas, schema); a second one exits at once (the replicas are killed on exit).
  const abort = new AbortController();
  process.on('SIGINT', () => {
    if (abort.signal.aborted) process.exit(130);
    log('interrupted: stopping the run and cleaning up (Ctrl-C again to exit at once)');
    abort.abort();
  });
  const result = await runChaos({ profile, seed, outDir: OUT_DIR, log, replicaLogLevel: process.env.CHAOS_REPLICA_LOG_LEVEL, signal: abort.signal });
  const command = `npm run chaos --${name === 'long' ? '' : ` --profile ${name}`}`.replace(/ --$/, '');
  const report = renderReport(result, command, arg('note'));
  process.stdout.write(`\n${report}\n`);
  const stamp = result.startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(OUT_DIR, `report-${stamp}.md`), report);
  writeFileSync(join(OUT_DIR, `result-${stamp}.json`), JSON.stringify({ ...result, checks: { ...result.checks, rows: undefined } }, null, 1));
  if (process.argv.includes('--write-benchmarks')) {
    writeSection(report);
    log('report written to BENCHMARKS.md');
  }
  log(`report and raw result in .local/chaos/ (${stamp}); replica logs in .local/chaos/replica-{A,B}.log`);
  process.exitCode = result.ok ? 0 : 1;
}

const INTRO = [
  SECTION_HEADING,
  '',
  'scripts/chaos/ (issue 19): the whole product on loopback with its own PostgreSQL schema. The tenant simulator and the',
  'Bot Connector stand-in run in the driver process (the replicas reach the connector through a pass-through proxy that',
  'tells which process sent a call); two bot replicas (test/support/replica-main.ts) are child processes behind a small',
  "round-robin balancer that PIM's custom extension and the Teams invokes go through. Requesters file PIM activations,",
  'approvers click Approve/Deny on the cards as Teams shows them (some on both replicas at once, again when a card still',
  'offers buttons after a lost or failed click), while faults drawn from a seeded generator hit: kill -9 of a replica at',
  'random moments, while PIM holds the answer to its approval PATCH, while Teams holds its post (never answered, or',
  'accepted and answered late); Graph 429 (Retry-After) and 503 on PIM, directory and message read-back routes; approval',
  "PATCHes applied but answered after the bot's 10 s Graph timeout; Teams 429 and 503; posts accepted but answered after the",
  "outbox's send timeout (OUTBOX_SEND_TIMEOUT_MS=4000 here, 8 s answers); the replicas' PostgreSQL connections terminated",
  '(pg_terminate_backend, waiting for one inside a transaction); the outbox table locked for seconds. Killed replicas start',
  'again after a second or two. The replicas run as bot/main.ts does (jobs every 5 s, delivery sweep every 15 s) with',
  'TEAMS_APP_MANIFEST_ID set, so they can read a personal chat back. After a quiet period (faults off, both replicas',
  'up, until the database owes nothing), the invariants are computed from the simulator, the connector and the database,',
  "never from the bot's own report. The short profile runs in `npm test` (test/chaos/chaos-short.test.ts).",
  '',
  '',
].join('\n');

/** Replaces this section of BENCHMARKS.md (from its heading to the next `## `), or appends it. */
function writeSection(report: string): void {
  const file = join(REPO, 'BENCHMARKS.md');
  const current = readFileSync(file, 'utf8');
  const section = `${INTRO}${report}`;
  const start = current.indexOf(SECTION_HEADING);
  if (start < 0) {
    writeFileSync(file, `${current}${current.endsWith('\n') ? '' : '\n'}\n${section}`);
    return;
  }
  const next = current.indexOf('\n## ', start + SECTION_HEADING.length);
  writeFileSync(file, `${current.slice(0, start)}${section}${next >= 0 ? current.slice(next + 1) : ''}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos run failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
