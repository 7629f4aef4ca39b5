/**
 * Benchmark child: the bot, started as `npm start` starts it (startBot with the config read from the
 * environment it is given; its pino logger writes to stdout, which the parent discards), alone in its
 * process so its CPU time and RSS are its own. Answers: `rows` (approval request rows by PIM id),
 * `seedTracked` (open approval requests written straight to the store, for the reconciler), `reconcile`
 * (one timed reconciler pass).
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { startBot } from '../../../bot/create-bot';
import type { RequestDisplay } from '../../../services/approvals/request-display';
import { loadConfig } from '../../../services/config/config';
import type { ActivationRequest } from '../../../services/decision/activation-request';
import { USER } from '../../../sim/seed';
import { childArgs, serveParent, usage } from '../lib/children';
import { requestByPimId, rowBuilders } from '../lib/product';
import { sleep } from '../lib/stats';

export interface BotArgs {
  env: Record<string, string>;
  sweepIntervalMs?: number;
  /** 0: no jobs timer. */
  jobsIntervalMs?: number;
}

export interface BotReady {
  url: string;
  startMs: number;
  /** One second after start-up, nothing asked of it yet. */
  idle: ReturnType<typeof usage>;
}

export interface RowRef {
  pimId: string;
  id: string;
  version: number;
  status: string;
}

/**
 * Counts the SQL statements the bot runs (the store keeps its prepared statements, so each run, all, get
 * or iterate of a statement is one statement executed): a measure of how much store work a request costs.
 * Instrumentation in this benchmark process only.
 */
let sqlStatements = 0;
/** BENCH_SQL_TIMES=1: time spent in each SQL text, written to stderr when the child stops (diagnostics only). */
const sqlTimes = process.env.BENCH_SQL_TIMES ? new Map<string, { n: number; ms: number }>() : null;
if (sqlTimes) {
  process.on('exit', () => {
    const top = [...sqlTimes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25);
    for (const [sql, t] of top) process.stderr.write(`sql ${t.ms.toFixed(1)} ms ${t.n}x ${sql.slice(0, 220)}\n`);
  });
}
{
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'all' | 'get' | 'iterate', (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'all', 'get', 'iterate'] as const) {
    const original = statementProto[method];
    statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
      sqlStatements++;
      if (!sqlTimes) return original.apply(this, args);
      const t = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const seen = sqlTimes.get(this.source) ?? { n: 0, ms: 0 };
        seen.n++;
        seen.ms += performance.now() - t;
        sqlTimes.set(this.source, seen);
      }
    };
  }
}

async function main(): Promise<void> {
  const args = childArgs<BotArgs>();
  const t0 = performance.now();
  const bot = await startBot(loadConfig(args.env), { sweepIntervalMs: args.sweepIntervalMs, jobsIntervalMs: args.jobsIntervalMs });
  const startMs = performance.now() - t0;
  await sleep(1000);
  const idle = usage();

  serveParent({ url: bot.url, startMs, idle } satisfies BotReady, {
    sqlStatements: () => sqlStatements,
    /**
     * Approval requests by card state: `owed` (no card handed to the outbox yet, bound or not yet looked at),
     * `posted` (handed to the outbox), `unbound` (no card: PIM's copy did not match, or PIM had none).
     */
    async cardProgress(): Promise<{ owed: number; posted: number; unbound: number }> {
      const r = await bot.store.db
        .selectFrom('approval_requests')
        .select((eb) => [
          eb.fn.countAll<number>().as('all'),
          eb.fn.count<number>('cards_posted_at').as('posted'),
          eb.fn.count<number>('unbound_at').as('unbound'),
        ])
        .executeTakeFirstOrThrow();
      const all = Number(r.all);
      const posted = Number(r.posted);
      const unbound = Number(r.unbound);
      return { owed: all - posted - unbound, posted, unbound };
    },
    /**
     * Requests whose card is still owed (neither handed to the outbox nor unbound): what the decision bench
     * polls while the card work it measures finishes. Counted in the sweep's own index, so the polling costs
     * the bot next to nothing (cardProgress counts the whole table).
     */
    async cardsOwed(): Promise<number> {
      const r = await bot.store.db
        .selectFrom('approval_requests')
        .select((eb) => eb.fn.countAll<number>().as('owed'))
        .where('cards_posted_at', 'is', null)
        .where('unbound_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(r.owed);
    },
    async rows(a: { pimIds: string[] }): Promise<Array<RowRef | null>> {
      const out: Array<RowRef | null> = [];
      for (const pimId of a.pimIds) {
        const r = await requestByPimId(bot.store, pimId);
        out.push(r ? { pimId, id: r.id, version: r.version, status: r.status } : null);
      }
      return out;
    },
    /** Open approval requests whose cards were posted long ago: what the reconciler finds after a busy day. */
    async seedTracked(a: { pimIds: string[]; principals: string[]; roleDefinitionId: string }) {
      const at = new Date();
      const display = (principalId: string): RequestDisplay => ({
        requester: {
          displayName: `User ${principalId.slice(-4)}`,
          userPrincipalName: `${principalId.slice(-4)}@contoso.example`,
          jobTitle: null,
          department: null,
        },
        roleDisplayName: 'User Administrator',
        approverIds: [USER.adele, USER.megan],
        escalationApproverIds: [],
        approvalRequired: true,
      });
      const { newApprovalRequestRow, newEvaluationRow } = rowBuilders();
      const t = performance.now();
      const CHUNK = 400;
      await bot.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < a.pimIds.length; i += CHUNK) {
          const evaluations = [];
          const approvals = [];
          for (let j = i; j < Math.min(a.pimIds.length, i + CHUNK); j++) {
            const pimId = a.pimIds[j]!;
            const request: ActivationRequest = {
              kind: 'entraRole',
              pimRequestId: pimId,
              requestKey: pimId,
              principalId: a.principals[j]!,
              roleDefinitionId: a.roleDefinitionId,
              scope: '/',
              justification: 'Quarterly access review of the finance mailboxes, INC0012345',
              ticket: { system: 'ServiceNow', number: 'INC0012345' },
              startDateTime: at.toISOString(),
              duration: 'PT2H',
              durationMinutes: 120,
              endDateTime: null,
              action: 'selfActivate',
            };
            const evaluationId = randomUUID();
            const created = new Date(at.getTime() - (a.pimIds.length - j) * 1000);
            evaluations.push(
              newEvaluationRow(request, {
                evaluationId,
                outcome: 'Approved',
                wouldBe: 'Approved',
                mode: 'enforce',
                reasons: ['An approver decides.'],
                checks: [],
                latencyMs: 3,
                at: created,
              }),
            );
            approvals.push({
              ...newApprovalRequestRow(request, { id: randomUUID(), evaluationId, riskFlags: [], reasons: ['An approver decides.'], at: created }),
              display: JSON.stringify(display(a.principals[j]!)),
              cards_posted_at: created.toISOString(),
            });
          }
          await trx.insertInto('evaluations').values(evaluations).execute();
          await trx.insertInto('approval_requests').values(approvals).execute();
        }
      });
      return { ms: performance.now() - t };
    },
    async reconcile() {
      const before = usage();
      const t = performance.now();
      const counts = await bot.reconciler.reconcileOnce();
      const ms = performance.now() - t;
      return { ms, counts, cpuMs: usage().cpuMs - before.cpuMs };
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bot child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
