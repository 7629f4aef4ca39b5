import type { Pool, PoolClient } from 'pg';

/**
 * Surviving PostgreSQL dropping connections (a restart, a failover, `pg_terminate_backend`).
 *
 * 1. Every `pg` client gets an `error` listener the moment the pool creates it. pg emits `error` on a
 *    client whose connection dies while no query is running on it; the pool listens only while the
 *    client is idle, so a client checked out between two statements of a transaction had none and the
 *    process exited. With the listener the error is logged and the client's next query fails instead.
 * 2. `withConnectionRetry` runs a unit of work again when it failed with a connection-level error
 *    before its COMMIT was sent, i.e. when PostgreSQL rolled it back as a whole. See its comment.
 */

/** SQLSTATEs of a lost or refused connection: admin_shutdown, crash_shutdown, cannot_connect_now, connection_exception classes. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const CONNECTION_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN']);
const CONNECTION_MESSAGES = [/connection terminated/i, /client has encountered a connection error/i, /connection ended unexpectedly/i];

/** True for an error that says the connection (not the statement) failed. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (CONNECTION_SQLSTATES.has(e.code) || CONNECTION_ERRNOS.has(e.code))) return true;
  // "Cannot use a pool after calling end" is our own shutdown, never retried.
  if (typeof e.message === 'string' && /after calling end/i.test(e.message)) return false;
  return typeof e.message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(e.message as string));
}

/** A short, secret-free description: SQLSTATE or errno, never the message (it can hold host or user names). */
export function describeConnectionError(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,20}$/.test(code)) return code;
  const message = (err as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && /connection terminated/i.test(message)) return 'connection terminated';
  return 'connection error';
}

/** What the store knows about its connections right now; the readiness check reads it. */
export class ConnectionHealth {
  /** Connection errors seen since the process started (any client, idle or in use). */
  errors = 0;
  /** Units of work run again after a connection error. */
  retries = 0;
  /** When the last connection error was seen (epoch ms), and what it was. */
  lastErrorAt: number | null = null;
  lastError: string | null = null;
  /** When a query last succeeded after the last error: the incident is over. */
  recoveredAt: number | null = null;
  private incidentLogged = false;

  constructor(private readonly log: (line: string) => void = (line) => console.warn(line)) {}

  /** Records an error; logs once per incident (the first error after a recovery), never the message. */
  noteError(err: unknown, where: string): void {
    this.errors++;
    this.lastErrorAt = Date.now();
    this.lastError = describeConnectionError(err);
    this.recoveredAt = null;
    if (!this.incidentLogged) {
      this.incidentLogged = true;
      this.log(JSON.stringify({ level: 'warn', msg: 'database connection lost; failing the work in flight and reconnecting', where, error: this.lastError }));
    }
  }

  noteSuccess(): void {
    if (this.lastErrorAt === null || this.recoveredAt !== null) return;
    this.recoveredAt = Date.now();
    if (this.incidentLogged) {
      this.incidentLogged = false;
      this.log(JSON.stringify({ level: 'info', msg: 'database connection recovered', errors: this.errors }));
    }
  }
}

/** Listens for `error` on the pool and on every client it creates, for its whole life. */
export function attachErrorListeners(pool: Pool, health: ConnectionHealth): void {
  pool.on('error', (err) => health.noteError(err, 'idle client'));
  pool.on('connect', (client: PoolClient) => {
    client.on('error', (err) => health.noteError(err, 'client'));
  });
}

/** Bounds for re-running a unit of work after a lost connection. */
export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** Delay before the first retry, doubled each time. */
  backoffMs?: number;
}

/**
 * Runs `run(work)` — a transaction whose body is `work` — and runs it again, up to `attempts` times
 * with a short doubling backoff, when the connection was lost before COMMIT was sent: while taking a
 * connection or sending BEGIN (nothing ran), or while `work` ran. PostgreSQL rolls back a transaction
 * whose session ends, so nothing of the failed attempt was kept and the retry is the only copy. (kysely
 * then fails its ROLLBACK on the dead connection and throws that error instead; the flag below, not the
 * error thrown, says where it failed.) Also retried: a COMMIT pg refused to send because the connection
 * had already failed. A connection lost while COMMIT was on the wire is ambiguous — the commit may have
 * happened — and is NOT retried: it fails to the caller as before. `work` must have no effect outside
 * the transaction (every store transaction only reads and writes the database).
 */
export async function withConnectionRetry<T, Trx>(
  run: (work: (trx: Trx) => Promise<T>) => Promise<T>,
  work: (trx: Trx) => Promise<T>,
  health: ConnectionHealth | undefined,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  let delay = options.backoffMs ?? 50;
  for (let attempt = 1; ; attempt++) {
    let stage = 'before' as 'before' | 'work' | 'lost in work' | 'commit';
    let lost: unknown;
    try {
      const result = await run(async (trx) => {
        stage = 'work';
        try {
          const value = await work(trx);
          stage = 'commit';
          return value;
        } catch (err) {
          if (isConnectionError(err)) {
            stage = 'lost in work';
            lost = err;
          }
          throw err;
        }
      });
      health?.noteSuccess();
      return result;
    } catch (err) {
      // pg refuses a query on a client whose connection already failed without sending it ("... is not
      // queryable"): a COMMIT refused so never reached the server, and the session's end rolled back.
      const commitNeverSent = stage === 'commit' && /encountered a connection error and is not queryable/i.test(String((err as { message?: unknown })?.message));
      const retryable = stage === 'lost in work' || commitNeverSent || (stage === 'before' && isConnectionError(err));
      if (!retryable) {
        if (isConnectionError(err)) health?.noteError(err, 'commit');
        throw err;
      }
      const cause = lost ?? err;
      health?.noteError(cause, 'transaction');
      if (attempt >= attempts) throw cause;
      if (health) health.retries++;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}
