/**
 * The chaos run's short profile (scripts/chaos/, `npm run chaos` is the long one): two bot replicas as child
 * processes behind a round-robin balancer on their own PostgreSQL schema, a handful of PIM requests and
 * clicks, and every fault kind at least once (kills at random and while a PATCH or a post is held, Graph and
 * Teams 429/503, slow answers, terminated database connections, a locked outbox). The invariants are computed
 * from the simulator, the Bot Connector stand-in and the database after a quiet period.
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`, trust auth), or TEST_DATABASE_URL. CHAOS_SEED replays
 * a schedule (a failing run prints its seed).
 */
import { join } from 'node:path';
import { runChaos, type ChaosResult } from '../../scripts/chaos/chaos';
import { FAULT_KINDS, PROFILES } from '../../scripts/chaos/profiles';
import { randomSeed } from '../../scripts/chaos/prng';
import { renderReport } from '../../scripts/chaos/report';

const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomSeed();

describe('chaos run, short profile', () => {
  let result: ChaosResult;

  beforeAll(async () => {
    const lines: string[] = [];
    result = await runChaos({
      profile: PROFILES.short,
      seed,
      outDir: join(__dirname, '..', '..', '.local', 'chaos-test'),
      log: (msg) => lines.push(`${new Date().toISOString().slice(11, 19)} ${msg}`),
    });
    // The whole report (figures, faults, every violation with its ids, the run's log) when anything is off.
    const missing = FAULT_KINDS.filter((k) => result.figures.faults[k].done === 0);
    if (!result.ok || missing.length) process.stderr.write(`${renderReport(result, `CHAOS_SEED=${seed} npx jest test/chaos`)}\n${lines.join('\n')}\n`);
  }, 330_000);

  it('injects every fault kind at least once', () => {
    const injected = FAULT_KINDS.filter((k) => result.figures.faults[k].done >= 1);
    expect(injected).toEqual([...FAULT_KINDS]);
    // Four kinds end a replica: each kill took one process down, and each came back.
    expect(result.figures.kills).toBe(4);
    expect(result.figures.replicaStarts).toBe(2 + 4);
  });

  it('files every planned request and has PIM open an approval for each', () => {
    expect(result.filed.filter((f) => f.error || f.status !== 'PendingApproval').map((f) => `${f.pimId}: ${f.status} ${f.error ?? ''}`)).toEqual([]);
    expect(result.figures.requestsFiled).toBe(PROFILES.short.requests + result.figures.sparesFiled);
  });

  it('settles in the quiet period: nothing owed to Teams, no open claim', () => {
    expect(result.quiet).toMatchObject({ settled: true });
  });

  it.each([1, 2, 3, 4, 5])('keeps invariant %i', (id) => {
    const inv = result.checks.invariants.find((i) => i.id === id)!;
    expect({ name: inv.name, violations: inv.violations }).toEqual({ name: inv.name, violations: [] });
  });
});
