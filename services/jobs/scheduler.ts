import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import pino, { type Logger } from 'pino';
import type { Database } from '../store/schema';
import { transactionDb, type Tx } from '../store/database';
import { engineOf } from '../store/dialect';
import type { JobStatus, JobTable } from './schema';

export type JobRow = Selectable<JobTable>;
export type { JobStatus } from './schema';

export interface JobSpec {
  /** The idempotency key: `schedule` never inserts a second job with this id, whatever became of the first. */
  id: string;
  kind: string;
  dueAt: Date;
  /** Small and JSON-serialisable: ids and dates, never tokens or whole Graph objects. */
  payload?: unknown;
}

export interface JobRun {
  id: string;
  kind: string;
  payload: unknown;
  dueAt: Date;
  /** Runs started for this occurrence, this one included (1 on the first run). */
  attempts: number;
}

/**
 * Runs one job. Resolve to finish it, resolve with `rescheduleAt` to run the same job again later
 * (attempts start over), throw to have it retried with backoff.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing (`async () => {}` is Promise<void>, which `undefined` would refuse)
export type JobHandler = (job: JobRun, now: Date) => Promise<void | { rescheduleAt: Date; payload?: unknown }>;

export interface JobSchedulerOptions {
  /** Names this replica in `lease_owner` (a random suffix keeps two replicas with one name apart). */
  owner: string;
  now?: () => Date;
  /** How long a claim holds without renewal; a live runner renews it every third of this. */
  leaseMs?: number;
  /** Runs per occurrence before the job is marked failed. */
  maxAttempts?: number;
  /** Delay before the first retry; it doubles with each further attempt, up to an hour. */
  retryBaseMs?: number;
  log?: Logger;
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RETRY_BASE_MS = 30_000;
/** A retry later than this is no retry at all for a daily job; the cap matters only with a large maxAttempts. */
const MAX_BACKOFF_MS = 3_600_000;
/** Enough for an error's first sentence; the column is for operators, not for payloads or stack traces. */
const LAST_ERROR_MAX = 300;
const ID_MAX = 512;

/**
 * A durable scheduler over the `jobs` table. Every replica runs one; a job is claimed with a
 * compare-and-swap UPDATE that sets a lease, so each due job runs on one replica, and a job whose
 * runner died becomes claimable again when its lease expires. Delivery is therefore at least once
 * for a runner that dies mid-job; handlers stay idempotent (keyed by the job id).
 */
export class JobScheduler {
  /** The value this instance writes to `lease_owner`. */
  readonly leaseOwner: string;
  private readonly now: () => Date;
  /** PostgreSQL: claims skip rows another replica has locked. */
  private readonly postgres: boolean;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly log: Logger;
  private readonly handlers = new Map<string, JobHandler>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> | undefined;
  private running = false;
  private draining = false;

  constructor(
    private readonly db: Kysely<Database>,
    opts: JobSchedulerOptions,
  ) {
    if (!opts.owner) throw new Error('JobScheduler needs an owner name (the replica, e.g. its host name) for its leases');
    this.leaseOwner = `${opts.owner}#${randomBytes(4).toString('hex')}`;
    this.now = opts.now ?? (() => new Date());
    this.postgres = engineOf(db) === 'postgres';
    this.leaseMs = positive(opts.leaseMs ?? DEFAULT_LEASE_MS, 'leaseMs');
    this.maxAttempts = positive(opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, 'maxAttempts');
    this.retryBaseMs = positive(opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, 'retryBaseMs');
    this.log = opts.log ?? pino({ level: 'silent' });
  }

  on(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`A handler for job kind "${kind}" is already registered`);
    this.handlers.set(kind, handler);
  }

  /**
   * Insert if absent (id is the idempotency key); returns true when it was new. Never moves an existing job.
   * With `tx` (Store.unitOfWork), the job commits with the caller's other writes.
   */
  async schedule(spec: JobSpec, tx?: Tx): Promise<boolean> {
    const row = this.newRow(spec);
    const inserted = await (tx ? transactionDb(tx) : this.db)
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /**
   * Insert, or move the job to this due time, kind and payload. A pending job keeps its attempts; a
   * finished or cancelled one is reopened with none. A running job takes the change too, and its
   * runner then leaves it pending at the new time instead of finishing it.
   */
  async upsert(spec: JobSpec): Promise<void> {
    const row = this.newRow(spec);
    await this.db
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => {
          const open = eb('jobs.status', 'in', ['pending', 'running']);
          return {
            kind: eb.ref('excluded.kind'),
            payload: eb.ref('excluded.payload'),
            due_at: eb.ref('excluded.due_at'),
            updated_at: eb.ref('excluded.updated_at'),
            status: eb.case().when('jobs.status', '=', 'running').then(eb.val<JobStatus>('running')).else(eb.val<JobStatus>('pending')).end(),
            attempts: eb.case().when(open).then(eb.ref('jobs.attempts')).else(eb.val(0)).end(),
            last_error: eb.case().when(open).then(eb.ref('jobs.last_error')).else(eb.val(null)).end(),
            finished_at: null,
          };
        }),
      )
      .execute();
  }

  /** Cancels a pending or running job; a runner still busy with it will not finish or reschedule it. */
  async cancel(id: string): Promise<boolean> {
    const r = await this.cancelWhere().where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Cancels every open job whose id starts with `prefix` (e.g. all reminders of one request). */
  async cancelPrefix(prefix: string): Promise<number> {
    if (!prefix) throw new Error('cancelPrefix needs a non-empty prefix; an empty one would cancel every job');
    // substr/length rather than LIKE: LIKE treats `_` and `%` as wildcards and is case-insensitive in
    // SQLite but not in PostgreSQL.
    const r = await this.cancelWhere()
      // The cast tells PostgreSQL which length() is meant; the database counts characters on both sides.
      .where((eb) => eb(eb.fn('substr', ['id', eb.lit(1), eb.fn('length', [eb.cast(eb.val(prefix), 'text')])]), '=', prefix))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** The payload a job was stored with, as its handler gets it; undefined when there is no such job or it has none. */
  async payloadOf(id: string): Promise<unknown> {
    const job = await this.get(id);
    return job?.payload == null ? undefined : (JSON.parse(job.payload) as unknown);
  }

  async get(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * One pass: claims due jobs one at a time (so a lease starts when its handler does), runs each
   * handler, and records the outcome. Returns how many jobs this instance claimed and ran (or failed).
   */
  async runDue(limit = 50): Promise<number> {
    const startedAt = this.now().toISOString();
    const found = await this.db
      .selectFrom('jobs')
      .select(['id', 'status', 'lease_owner'])
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'pending'), eb('due_at', '<=', startedAt)]),
          eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<=', startedAt)]),
        ]),
      )
      .orderBy('due_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    let ran = 0;
    for (const candidate of found) {
      if (this.draining) break;
      const now = this.now();
      const job = await this.claim(candidate, now);
      if (!job) continue; // another replica got there first, or it moved
      ran += 1;
      await this.execute(job, now);
    }
    return ran;
  }

  /** Runs a pass now and then every `intervalMs` after the previous pass ends (passes never overlap). */
  start(intervalMs: number): void {
    if (this.running) return;
    positive(intervalMs, 'intervalMs');
    this.running = true;
    const tick = () => {
      this.timer = undefined;
      if (!this.running) return;
      this.pass = this.runDue()
        .catch((err: unknown) => this.log.error({ err: errorMessage(err), owner: this.leaseOwner }, 'job scheduler pass failed'))
        .finally(() => {
          this.pass = undefined;
          if (!this.running) return;
          this.timer = setTimeout(tick, intervalMs);
          this.timer.unref();
        });
    };
    this.timer = setTimeout(tick, 0);
    this.timer.unref();
  }

  /** Stops the timer and waits for the running pass, which claims nothing more once asked to stop. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draining = true;
    try {
      await this.pass;
    } finally {
      this.draining = false;
    }
  }

  private newRow(spec: JobSpec): JobTable {
    if (typeof spec.id !== 'string' || spec.id.length === 0 || spec.id.length > ID_MAX) throw new Error(`Job id must be 1 to ${ID_MAX} characters`);
    if (!spec.kind) throw new Error(`Job ${spec.id} needs a kind`);
    const due = spec.dueAt instanceof Date ? spec.dueAt.getTime() : NaN;
    if (!Number.isFinite(due)) throw new Error(`Job ${spec.id} needs a valid dueAt`);
    const now = this.now().toISOString();
    return {
      id: spec.id,
      kind: spec.kind,
      payload: serialise(spec.payload),
      status: 'pending',
      due_at: new Date(due).toISOString(),
      lease_owner: null,
      lease_expires_at: null,
      attempts: 0,
      last_error: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
    };
  }

  private cancelWhere() {
    const now = this.now().toISOString();
    return this.db
      .updateTable('jobs')
      .set({ status: 'cancelled', lease_owner: null, lease_expires_at: null, finished_at: now, updated_at: now })
      .where('status', 'in', ['pending', 'running']);
  }

  /**
   * Compare-and-swap: takes the job only if it is still what the pass saw — pending and due, or
   * running under the same owner with that lease expired. Exactly one replica's UPDATE matches.
   */
  private async claim(c: { id: string; status: string; lease_owner: string | null }, now: Date): Promise<JobRow | undefined> {
    const nowIso = now.toISOString();
    let q = this.db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        lease_owner: this.leaseOwner,
        lease_expires_at: new Date(now.getTime() + this.leaseMs).toISOString(),
        attempts: eb('attempts', '+', 1),
        updated_at: nowIso,
        ...(c.status === 'running'
          ? {
              last_error: truncate(
                `The lease of ${c.lease_owner ?? 'an unknown runner'} expired before the job finished (runner stopped or overran its lease)`,
              ),
            }
          : {}),
      }))
      // PostgreSQL: skip a job another replica is claiming this instant instead of queueing behind its lock.
      .where('id', 'in', (eb) => {
        const one = eb.selectFrom('jobs as locked').select('locked.id').where('locked.id', '=', c.id);
        return this.postgres ? one.forUpdate().skipLocked() : one;
      });
    if (c.status === 'pending') {
      q = q.where('status', '=', 'pending').where('due_at', '<=', nowIso);
    } else {
      q = q.where('status', '=', 'running').where('lease_expires_at', '<=', nowIso);
      q = c.lease_owner === null ? q.where('lease_owner', 'is', null) : q.where('lease_owner', '=', c.lease_owner);
    }
    return q.returningAll().executeTakeFirst();
  }

  private async execute(job: JobRow, now: Date): Promise<void> {
    const fields = { jobId: job.id, kind: job.kind, attempts: job.attempts };
    if (job.attempts > this.maxAttempts) {
      // Only a reclaimed lease gets here: the runner died this many times, so running it again is
      // more likely to take down another replica than to succeed.
      await this.finish(job, { kind: 'failed', error: job.last_error ?? 'Gave up after its runners stopped repeatedly' });
      this.log.error(fields, 'job failed: its runners kept stopping before it finished');
      return;
    }
    const handler = this.handlers.get(job.kind);
    if (!handler) {
      await this.finish(job, {
        kind: 'failed',
        error: `No handler for job kind "${job.kind}" on ${this.leaseOwner}; register one with scheduler.on('${job.kind}', ...) before start()`,
      });
      this.log.error(fields, 'job failed: no handler for its kind');
      return;
    }
    let payload: unknown;
    try {
      payload = job.payload === null ? undefined : JSON.parse(job.payload);
    } catch {
      await this.finish(job, { kind: 'failed', error: 'The stored payload is not valid JSON' });
      this.log.error(fields, 'job failed: unreadable payload');
      return;
    }
    const heartbeat = setInterval(() => void this.renewLease(job.id), Math.max(1, Math.floor(this.leaseMs / 3)));
    heartbeat.unref();
    let outcome: Outcome;
    try {
      const result = await handler({ id: job.id, kind: job.kind, payload, dueAt: new Date(job.due_at), attempts: job.attempts }, now);
      if (result && typeof result === 'object') {
        const at = result.rescheduleAt instanceof Date ? result.rescheduleAt.getTime() : NaN;
        outcome = Number.isFinite(at)
          ? {
              kind: 'reschedule',
              at: new Date(at),
              payload: 'payload' in result && result.payload !== undefined ? (serialise(result.payload) ?? undefined) : undefined,
            }
          : { kind: 'error', error: 'The handler returned an invalid rescheduleAt' };
      } else {
        outcome = { kind: 'done' };
      }
    } catch (err) {
      outcome = { kind: 'error', error: errorMessage(err) };
    } finally {
      clearInterval(heartbeat);
    }
    if (outcome.kind === 'error') {
      if (job.attempts >= this.maxAttempts) {
        await this.finish(job, { kind: 'failed', error: outcome.error });
        this.log.error({ ...fields, err: outcome.error }, 'job failed after its last attempt');
        return;
      }
      const retryAt = new Date(this.now().getTime() + this.backoff(job.attempts));
      await this.finish(job, { kind: 'retry', at: retryAt, error: outcome.error });
      this.log.warn({ ...fields, err: outcome.error, retryAt: retryAt.toISOString() }, 'job failed; will retry');
      return;
    }
    await this.finish(job, outcome);
  }

  private backoff(attempts: number): number {
    return Math.min(MAX_BACKOFF_MS, this.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  private async renewLease(id: string): Promise<void> {
    try {
      await this.db
        .updateTable('jobs')
        .set({ lease_expires_at: new Date(this.now().getTime() + this.leaseMs).toISOString() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .where('lease_owner', '=', this.leaseOwner)
        .execute();
    } catch (err) {
      this.log.warn({ jobId: id, err: errorMessage(err) }, 'could not renew a job lease');
    }
  }

  /**
   * Records the outcome if this instance still holds the job and nobody moved it meanwhile. If
   * `upsert` moved it during the run, it stays pending at its new time; if it was cancelled or the
   * lease was lost to another replica, the outcome is dropped.
   */
  private async finish(job: JobRow, outcome: Final): Promise<void> {
    const nowIso = this.now().toISOString();
    const released = { lease_owner: null, lease_expires_at: null, updated_at: nowIso };
    const patch =
      outcome.kind === 'done'
        ? { ...released, status: 'done' as const, finished_at: nowIso }
        : outcome.kind === 'failed'
          ? { ...released, status: 'failed' as const, finished_at: nowIso, last_error: truncate(outcome.error) }
          : outcome.kind === 'retry'
            ? { ...released, status: 'pending' as const, due_at: outcome.at.toISOString(), last_error: truncate(outcome.error) }
            : {
                ...released,
                status: 'pending' as const,
                due_at: outcome.at.toISOString(),
                attempts: 0,
                last_error: null,
                ...(outcome.payload !== undefined ? { payload: outcome.payload } : {}),
              };
    let q = this.db
      .updateTable('jobs')
      .set(patch)
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', this.leaseOwner)
      .where('due_at', '=', job.due_at);
    q = job.payload === null ? q.where('payload', 'is', null) : q.where('payload', '=', job.payload);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return;
    const moved = await this.db
      .updateTable('jobs')
      .set({
        ...released,
        status: 'pending',
        attempts: 0,
        ...(outcome.kind === 'failed' || outcome.kind === 'retry' ? { last_error: truncate(outcome.error) } : {}),
      })
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', this.leaseOwner)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) > 0) {
      this.log.info({ jobId: job.id, kind: job.kind }, 'job was moved while it ran; left pending at its new time');
      return;
    }
    this.log.warn({ jobId: job.id, kind: job.kind, outcome: outcome.kind }, 'job outcome dropped: it was cancelled or its lease passed to another runner');
  }
}

type Outcome = { kind: 'done' } | { kind: 'reschedule'; at: Date; payload: string | undefined } | { kind: 'error'; error: string };
type Final =
  | { kind: 'done' }
  | { kind: 'reschedule'; at: Date; payload: string | undefined }
  | { kind: 'retry'; at: Date; error: string }
  | { kind: 'failed'; error: string };

function serialise(payload: unknown): string | null {
  if (payload === undefined) return null;
  const s = JSON.stringify(payload);
  if (s === undefined) throw new Error('Job payload must be JSON-serialisable');
  return s;
}

function errorMessage(err: unknown): string {
  const raw = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  return truncate(raw);
}

function truncate(s: string): string {
  const oneLine = s.replace(/\s+/g, ' ').trim();
  return oneLine.length > LAST_ERROR_MAX ? `${oneLine.slice(0, LAST_ERROR_MAX - 1)}…` : oneLine;
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`JobScheduler ${name} must be a positive number, got ${n}`);
  return n;
}
