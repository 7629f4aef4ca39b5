/**
 * `npm run bench`: every benchmark, one after another, each in its own process (which starts the
 * simulator, bots and floors it needs as child processes and stops them). Prints the results as markdown
 * and writes them to .local/bench/<date>.md, headed with the machine, the command and the date.
 *   BENCH_ONLY=decision,cards,reconciler,memory,digest,tab   run only these parts.
 *   BENCH_BEFORE=<rev>   the commit the decision and card parts also measure, as "before" (lib/before.ts); empty: none.
 *   BENCH_CPU_PROFILE=<dir>   a V8 CPU profile of each measured run, per process.
 *   BENCH_SQL_TIMES=1   each bot child writes, as it exits, the SQL texts it spent most time in (diagnostics).
 * Each part's own variables (BENCH_N_*, ...) scale it; see BENCHMARKS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/children';
import { machineLine } from './lib/stats';

const PARTS: Array<[string, string]> = [
  ['decision', 'decision-endpoint.ts'],
  ['cards', 'card-actions.ts'],
  ['reconciler', 'reconciler.ts'],
  ['memory', 'memory.ts'],
  ['digest', 'digest.ts'],
  ['tab', 'tab.ts'],
];

function runPart(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, path.join(__dirname, file)], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      process.stdout.write(c);
    });
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`${file} exited with ${code}`))));
  });
}

/**
 * CPU time (s) the whole machine spent busy, and what this process and its finished descendants spent
 * (Linux: /proc). Their difference over a part is what other processes took from the benchmark.
 */
function cpuSeconds(): { machine: number; ours: number } | null {
  try {
    const hz = 100; // USER_HZ, the unit of both files
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu as [number, number, number, number, number, number, number, number];
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // Fields 14-17 of /proc/self/stat (utime, stime, cutime, cstime); f starts at field 3.
    const ours = f[11]! + f[12]! + f[13]! + f[14]!;
    return { machine: (user + nice + system + irq + softirq + steal) / hz, ours: ours / hz };
  } catch {
    return null;
  }
}

function othersText(before: ReturnType<typeof cpuSeconds>, after: ReturnType<typeof cpuSeconds>, seconds: number): string {
  if (!before || !after) return '';
  const others = Math.max(0, after.machine - before.machine - (after.ours - before.ours));
  return `other processes used ${others.toFixed(1)} CPU-s meanwhile (${((others / seconds) * 100).toFixed(0)}% of one core)`;
}

/** The commit measured, and whether the working tree differed from it. */
function codeVersion(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `commit ${commit}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
  const started = Date.now();
  const cpuStart = cpuSeconds();
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`);
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ');
  const header = `## ${machineLine()}\n\nCommand: \`${[...overrides, 'npm run bench'].join(' ')}\`; code: ${codeVersion()}; load average (1 / 5 / 15 min) at the start: ${load()}\n`;
  process.stdout.write(`${header}\n`);
  let doc = `${header}\n`;
  for (const [name, file] of PARTS) {
    if (only && !only.has(name)) continue;
    const t = Date.now();
    const c0 = cpuSeconds();
    process.stderr.write(`\n=== ${name} (${file})\n`);
    doc += await runPart(file);
    const seconds = (Date.now() - t) / 1000;
    const note = `\n(${name}: ${seconds.toFixed(0)} s; ${othersText(c0, cpuSeconds(), seconds)})\n`;
    process.stdout.write(note);
    doc += note;
  }
  const wall = (Date.now() - started) / 1000;
  const total = `\nWhole run: ${wall.toFixed(0)} s; ${othersText(cpuStart, cpuSeconds(), wall)}; load average at the end: ${load()}.\n`;
  process.stdout.write(total);
  doc += total;
  const dir = path.join(ROOT, '.local', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.md`);
  writeFileSync(file, doc);
  process.stderr.write(`results written to ${path.relative(ROOT, file)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
