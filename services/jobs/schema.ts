/** Where a job is: waiting for its due time, held by a runner's lease, or finished one way or another. */
export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * The durable scheduler's table (see scheduler.ts). Times are ISO-8601 UTC strings from
 * `Date.toISOString()`: fixed width, so text order is time order in SQLite and PostgreSQL alike.
 */
export interface JobTable {
  /** The caller's key, and so the idempotency key: a daily run is keyed by its local date. */
  id: string;
  /** Which handler runs it. */
  kind: string;
  /** Small JSON document for the handler (ids, a local date); null when there is none. */
  payload: string | null;
  status: JobStatus;
  due_at: string;
  /** The scheduler instance running it; null unless `running`. */
  lease_owner: string | null;
  /** After this, the runner is presumed dead and another may claim the job. */
  lease_expires_at: string | null;
  /** Runs started for this occurrence, the current one included; reset when the job is rescheduled. */
  attempts: number;
  /** The last failure's message, short; never a payload. */
  last_error: string | null;
  created_at: string;
  updated_at: string;
  /** When it became done, failed or cancelled. */
  finished_at: string | null;
}
