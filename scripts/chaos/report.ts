/** The chaos run's figures and invariant results as markdown (printed, written to .local/chaos, and to BENCHMARKS.md on request). */
import { cpus, release, totalmem, type } from 'node:os';
import type { ChaosResult } from './chaos';
import { FAULT_KINDS } from './profiles';

export const SECTION_HEADING = '## Chaos run (`npm run chaos`)';

function row(cells: Array<string | number>): string {
  return `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const kv = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

export function machineText(): string {
  const cpu = cpus();
  return `${type()} ${release()}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
}

/** The figures table and the invariants, with every violation listed. */
export function renderReport(r: ChaosResult, command: string, note?: string): string {
  const f = r.figures;
  const c = r.checks;
  const lines: string[] = [];
  lines.push(`### ${r.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, profile ${r.profile.name}, seed ${r.seed}`, '');
  lines.push(`- Command: \`${command}\` (replay: \`--seed ${r.seed}\`)`);
  lines.push(`- Machine: ${machineText()}.`);
  if (note) lines.push(`- ${note}`);
  lines.push(
    `- Wall time ${r.wallSeconds.toFixed(0)} s: load and faults ${r.loadSeconds.toFixed(0)} s, quiet period ${r.quiet.seconds.toFixed(0)} s (${r.quiet.settled ? 'settled' : '**did not settle**'}).`,
  );
  lines.push('');
  lines.push(row(['figure', 'value']));
  lines.push(row(['---', '---']));
  lines.push(row(['requests filed (planned + spare filed by faults)', `${f.requestsFiled} (${f.requestsPlanned} + ${f.sparesFiled})`]));
  lines.push(row(['PIM status when the filing answered', kv(f.atFiling)]));
  lines.push(row(['PIM status at the end', kv(f.finalPim)]));
  lines.push(
    row(['clicks sent (first / double / again / fault)', `${f.clicks.total} (${f.clicks.first} / ${f.clicks.double} / ${f.clicks.again} / ${f.clicks.fault})`]),
  );
  lines.push(row(['clicks answered 200 / not answered or failed', `${f.clicks.answered200} / ${f.clicks.failed}`]));
  lines.push(row(['clicks by replica', kv(f.clicks.perReplica)]));
  lines.push(
    row([
      'faults injected (done / partial / skipped / failed of planned)',
      FAULT_KINDS.map((k) => `${k} ${f.faults[k].done}/${f.faults[k].partial}/${f.faults[k].skipped}/${f.faults[k].failed} of ${f.faults[k].planned}`).join(
        '; ',
      ),
    ]),
  );
  lines.push(row(['kills (replica processes ended by the driver) / replica starts', `${f.kills} / ${f.replicaStarts}`]));
  lines.push(row(['posts held by Teams (hung / accepted but answered late)', `${f.hungPosts} / ${f.slowedPosts}`]));
  lines.push(row(['Bot Connector calls (sends) by method', `${c.limits.sends}: ${kv(c.limits.byMethod)}`]));
  lines.push(row(['Bot Connector answers', kv(c.limits.byStatus)]));
  lines.push(row(['max sends in any 1 s, tenant-wide (limit 30)', c.limits.tenantMax1s]));
  lines.push(
    row([
      'max sends to one conversation in 1 s / 2 s / 30 s (limits 7 / 8 / 60)',
      `${c.limits.conversationMax1s} / ${c.limits.conversationMax2s} / ${c.limits.conversationMax30s}`,
    ]),
  );
  lines.push(
    row([
      'PIM request → card visible, p50 / p95 / max (ms)',
      `${ms(f.cardLatencyMs.p50)} / ${ms(f.cardLatencyMs.p95)} / ${ms(f.cardLatencyMs.max)} (n ${f.cardLatencyMs.n})`,
    ]),
  );
  lines.push(row(['approval PATCHes PIM answered: success / 409 (already decided) / other', `${c.patches.ok} / ${c.patches.conflict} / ${c.patches.other}`]));
  lines.push(row(['balancer: requests / failovers (connect refused) / 502', `${f.balancer.requests} / ${f.balancer.failovers} / ${f.balancer.badGateway}`]));
  lines.push(row(['channel cards deleted by the bot (second copies cleaned up) / unattributed channel messages', `${c.deletedCopies} / ${c.unattributed}`]));
  lines.push('');
  lines.push(row(['invariant', 'checked', 'result']));
  lines.push(row(['---', '---', '---']));
  for (const i of c.invariants) lines.push(row([`${i.id}. ${i.name}`, i.checked, i.ok ? 'holds' : `**VIOLATED** (${i.violations.length})`]));
  lines.push(
    row([
      'quiet period settled (no outbox row owed, no open claim, no stale card, no notice owed)',
      r.quiet.last ? kv(r.quiet.last as unknown as Record<string, number>) : '–',
      r.quiet.settled ? 'yes' : '**NO**',
    ]),
  );
  lines.push('');
  const violations = c.invariants.filter((i) => !i.ok);
  if (violations.length) {
    lines.push('Violations:');
    for (const i of violations) for (const v of i.violations.slice(0, 25)) lines.push(`- (${i.id}) ${v}`);
    lines.push('');
  }
  lines.push('Faults as injected (seconds after the load started: planned, and when it began; kills wait for their turn):');
  const at = (t: number | null) => (t === null ? '–' : ((t - r.loadStartedAt) / 1000).toFixed(1));
  for (const x of r.faults) lines.push(`- planned t=${(x.plannedAt / 1000).toFixed(1)} s, began ${at(x.startedAt)} s, ${x.kind}: ${x.outcome}; ${x.detail}`);
  lines.push('');
  return lines.join('\n');
}
