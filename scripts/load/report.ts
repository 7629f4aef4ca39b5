/** The markdown section the load run prints and appends to BENCHMARKS.md. */
import { cpus, totalmem, type, release } from 'node:os';
import type { LoadSettings } from './config';
import type { Check, DbFigures } from './checks';
import type { OpStats } from './operations';
import type { LogTally, RssSample } from './replicas';
import { latencies, mb, ms, slope, type Latencies } from './stats';

export const SECTION_HEADING = '## Load: two replicas on PostgreSQL';

export interface MemorySummary {
  name: string;
  pid: number;
  start: number;
  max: number;
  end: number;
  afterDrain: number;
  /** MB per minute over the last half of the load (least squares; GC makes RSS a sawtooth, so read with the troughs). */
  slopeMbPerMin: number;
  /** The lowest RSS in each quarter of the load: after-GC levels, where a leak shows as a rising floor. */
  troughs: number[];
  growing: boolean;
}

export function memorySummary(name: string, pid: number, samples: RssSample[], seconds: number): MemorySummary {
  const during = samples.filter((s) => s.t <= seconds + 0.5 && Number.isFinite(s.bytes));
  const lastHalf = during.filter((s) => s.t >= seconds / 2);
  const perSecond = slope(lastHalf.map((s) => ({ x: s.t, y: s.bytes })));
  const slopeMbPerMin = (perSecond * 60) / 2 ** 20;
  const troughs = [0, 1, 2, 3].map((q) => {
    const inQuarter = during.filter((s) => s.t >= (q * seconds) / 4 && s.t < ((q + 1) * seconds) / 4 + 0.5);
    return inQuarter.length ? Math.min(...inQuarter.map((s) => s.bytes)) : Number.NaN;
  });
  // Growing: the floor rises from the second quarter (the first is warm-up) to the third and the fourth,
  // by more than 10% in all, and the fitted line over the last half still points up.
  const [, q2, q3, q4] = troughs as [number, number, number, number];
  const valid = samples.filter((s) => Number.isFinite(s.bytes));
  return {
    name,
    pid,
    start: during[0]?.bytes ?? Number.NaN,
    max: Math.max(...during.map((s) => s.bytes)),
    end: during.at(-1)?.bytes ?? Number.NaN,
    afterDrain: valid.at(-1)?.bytes ?? Number.NaN,
    slopeMbPerMin,
    troughs,
    growing: q3 > q2 && q4 > q3 && q4 > 1.1 * q2 && slopeMbPerMin > 0,
  };
}

export interface ReportInput {
  settings: LoadSettings;
  command: string;
  startedAt: Date;
  wallSeconds: number;
  ops: OpStats[];
  db: DbFigures;
  checks: Check[];
  memory: MemorySummary[];
  generatorMemory: MemorySummary;
  logs: Array<{ name: string; tally: LogTally; file: string }>;
  pairsUsed: number;
  pairsTotal: number;
  tenant: { users: number; roles: number; eligibilities: number; channels: number };
  /** Calls the bots made to the simulator (Entra, token service, Graph), by route. */
  simCalls: Array<[string, number]>;
  connector: { posts: number; updates: number };
  drainSeconds: number;
  maxDispatchLagMs: number;
}

function row(cells: Array<string | number>): string {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

function outcomes(o: OpStats): string {
  return [...o.outcomes.entries()].map(([k, v]) => `${k} ${v}`).join(', ') || '–';
}

function latencyCells(l: Latencies): string[] {
  return [ms(l.p50), ms(l.p95), ms(l.p99), ms(l.max)];
}

export function machineText(): string {
  const cpu = cpus();
  return `${type()} ${release()}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
}

export function renderSection(r: ReportInput): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push(SECTION_HEADING, '');
  lines.push(`### ${r.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${s.seconds} s of load`, '');
  lines.push(`- Machine: ${machineText()}.`);
  lines.push(`- Command: \`${r.command}\``);
  lines.push(
    `- Setup (scripts/load/): tenant simulator, recording Bot Connector and load generator in one process; two bot replicas (test/support/replica-main.ts) as child processes on one fresh PostgreSQL schema; ` +
      `generated tenant of ${r.tenant.users} users, ${r.tenant.roles} roles, ${r.tenant.eligibilities} eligibilities (sim/scale-seed.ts), ${r.tenant.channels === r.tenant.roles ? 'one approver channel per role' : `${r.tenant.channels} approver channel(s) shared by the roles`}, ` +
      `${r.pairsUsed} of ${r.pairsTotal} fresh (requester, role) pairs used. Open-loop rates: ${s.evalRate} activations/s (PIM's custom extension pointed at replica A and B in turn), ` +
      `${s.escalationRate} HMAC-signed escalations/s, ${s.actionRate} approve clicks/s on posted cards (A and B in turn). Replicas run jobs every ${s.jobsMs} ms and reconcile every ${s.reconcileMs} ms.`,
  );
  lines.push('');
  lines.push(
    row([
      'operation',
      'rate (/s)',
      'started',
      'ok',
      'errors',
      'unexpected answers',
      'shed / skipped',
      'p50 (ms)',
      'p95 (ms)',
      'p99 (ms)',
      'max (ms)',
      'outcomes',
      'A / B',
    ]),
  );
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const o of r.ops) {
    lines.push(
      row([
        o.name,
        o.rate,
        o.started,
        o.ok,
        o.errors,
        o.unexpected,
        `${o.shed} / ${o.skipped}`,
        ...latencyCells(latencies(o.latencies)),
        outcomes(o),
        `${o.perReplica.A} / ${o.perReplica.B}`,
      ]),
    );
  }
  lines.push(
    row(['decision time inside the endpoint (evaluations.latency_ms)', '', r.db.decisionMs.n, '', '', '', '', ...latencyCells(r.db.decisionMs), '', '']),
  );
  lines.push(row(['request row → card posted (cards_posted_at − created_at)', '', r.db.cardLagMs.n, '', '', '', '', ...latencyCells(r.db.cardLagMs), '', '']));
  lines.push('');
  const floors = (m: MemorySummary) => m.troughs.map((t) => mb(t)).join(' / ');
  lines.push(
    row([
      'process',
      'RSS start (MB)',
      'RSS max (MB)',
      'RSS end of load (MB)',
      'after drain (MB)',
      'lowest RSS per quarter of the load (MB)',
      'slope, last half (MB/min)',
      'kept growing?',
      'warn / error log lines',
    ]),
  );
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const m of r.memory) {
    const tally = r.logs.find((l) => l.name === m.name)?.tally;
    lines.push(
      row([
        `replica ${m.name} (pid ${m.pid})`,
        mb(m.start),
        mb(m.max),
        mb(m.end),
        mb(m.afterDrain),
        floors(m),
        m.slopeMbPerMin.toFixed(1),
        m.growing ? 'yes' : 'no',
        `${tally?.levels.warn ?? 0} / ${(tally?.levels.error ?? 0) + (tally?.levels.fatal ?? 0)}`,
      ]),
    );
  }
  const g = r.generatorMemory;
  lines.push(
    row([
      'load generator + simulator + connector',
      mb(g.start),
      mb(g.max),
      mb(g.end),
      mb(g.afterDrain),
      floors(g),
      g.slopeMbPerMin.toFixed(1),
      g.growing ? 'yes' : 'no',
      '–',
    ]),
  );
  lines.push('');
  lines.push(row(['check after the drain', 'expected', 'found', 'ok']));
  lines.push(row(['---', '---', '---', '---']));
  for (const c of r.checks) lines.push(row([c.name, c.expected, c.found + (c.detail && !c.ok ? ` (${c.detail})` : ''), c.ok ? 'yes' : '**NO**']));
  lines.push('');
  const st = (x: Record<string, number>) =>
    Object.entries(x)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  lines.push(
    `Database at the end: requests ${st(r.db.requestsByStatus)}; outbox ${st(r.db.outboxByStatus)} (${st(r.db.outboxByKind)}); jobs ${st(r.db.jobsByStatus)} (${st(r.db.jobsByKind)}); ` +
      `${r.db.evaluations} evaluations stored. Connector: ${r.connector.posts} posts, ${r.connector.updates} updates. Drain after the load: ${r.drainSeconds.toFixed(1)} s. ` +
      `Largest open-loop dispatch delay: ${ms(r.maxDispatchLagMs)} ms. Wall time ${r.wallSeconds.toFixed(0)} s.`,
  );
  const totalCalls = r.simCalls.reduce((a, [, n]) => a + n, 0);
  lines.push('');
  lines.push(
    `Calls the replicas made to the simulator: ${totalCalls}; by route: ${r.simCalls
      .slice(0, 10)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}.`,
  );
  lines.push('');
  lines.push('What the figures say:');
  for (const b of verdicts(r)) lines.push(`- ${b}`);
  lines.push('');
  return lines.join('\n');
}

/** Plain statements computed from the figures; the reader draws the rest. */
function verdicts(r: ReportInput): string[] {
  const out: string[] = [];
  const errors = r.ops.reduce((a, o) => a + o.errors, 0);
  const unexpected = r.ops.reduce((a, o) => a + o.unexpected, 0);
  const shed = r.ops.reduce((a, o) => a + o.shed, 0);
  const failedChecks = r.checks.filter((c) => !c.ok);
  out.push(
    errors === 0 && unexpected === 0 && shed === 0
      ? `No errors: ${r.ops.map((o) => `${o.ok} ${o.name.split(' (')[0]}`).join(', ')}, every answer the expected one.`
      : `${errors} errors, ${unexpected} unexpected answers, ${shed} operations shed (see below).`,
  );
  for (const o of r.ops) {
    const l = latencies(o.latencies);
    if (l.n) out.push(`${o.name}: p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms.`);
  }
  out.push(
    failedChecks.length === 0 ? 'Every end-of-run check passed.' : `Failed checks: ${failedChecks.map((c) => `${c.name} (found ${c.found})`).join('; ')}.`,
  );
  for (const m of r.memory) {
    out.push(
      `Replica ${m.name}: RSS ${mb(m.start)} → ${mb(m.end)} MB (max ${mb(m.max)}), floor per quarter ${m.troughs.map((t) => mb(t)).join(' → ')} MB: ${m.growing ? 'the floor keeps rising' : 'bounded'}` +
        `${r.settings.seconds < 300 ? ' (a run this short shows a trend, not a leak verdict)' : ''}.`,
    );
  }
  for (const o of r.ops) {
    for (const e of o.errorSamples.slice(0, 3)) out.push(`${o.name} error: ${e}`);
    for (const e of o.unexpectedSamples.slice(0, 3)) out.push(`${o.name} unexpected: ${e}`);
  }
  for (const l of r.logs) {
    const top = [...l.tally.messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    if (top.length) out.push(`Replica ${l.name} logged ${top.map(([k, v]) => `"${k}" ×${v}`).join(', ')} (${l.file}).`);
  }
  return out;
}
