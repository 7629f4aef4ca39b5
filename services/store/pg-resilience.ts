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

/** `describeConnectionError` answers without a SQLSTATE or errno. */
const VAGUE = new Set(['connection terminated', 'connection error']);

/** What a SQLSTATE or errno in `lastError` means, for the readiness answer (PostgreSQL's condition names). */
const CONNECTION_ERROR_NAMES: Record<string, string> = {
  '57P01': 'admin_shutdown: the server ended the session (a restart, a failover or pg_terminate_backend)',
  '57P02': 'crash_shutdown: the server is recovering from a crash',
  '57P03': 'cannot_connect_now: the server is starting or shutting down',
  '08000': 'connection_exception',
  '08001': 'the client could not establish the connection',
  '08003': 'connection_does_not_exist',
  '08004': 'the server refused the connection',
  '08006': 'connection_failure',
  ECONNRESET: 'the connection was reset',
  ECONNREFUSED: 'the connection was refused',
  EPIPE: 'the connection was closed while writing',
  ETIMEDOUT: 'the connection timed out',
  ENOTCONN: 'not connected',
};

/** `lastError` with what it means, e.g. "57P01 admin_shutdown: …"; a description without a code as is. */
export function explainConnectionError(described: string): string {
  const meaning = CONNECTION_ERROR_NAMES[described];
  return meaning ? `${described} ${meaning}` : described;
}

/** What the store's connections are doing right now, as the readiness answer shows it. */
export interface ConnectionState {
  /** `ok`, or `reconnecting` from a connection error until a query succeeds afterwards with no work waiting to run again. */
  status: 'ok' | 'reconnecting';
  /** Reconnecting: since when (the first error of this incident), ISO. */
  since?: string;
  /** Reconnecting: the last error seen, as `describeConnectionError` puts it (no message text). */
  lastError?: string;
  /** Reconnecting: units of work that lost their connection and are waiting to run again or running again. */
  awaitingRetry?: number;
}

/**
 * What the store knows about its connections right now; the readiness check reads it. An incident starts at
 * the first connection error (a client's `error` event, a transaction that lost its connection, the
 * readiness probe failing to connect) and ends when a query succeeds afterwards while no unit of work is
 * waiting to be run again: until then the store reports itself `reconnecting`.
 */
export class ConnectionHealth {
  /** Connection errors seen since the process started (any client, idle or in use). */
  errors = 0;
  /** Units of work run again after a connection error. */
  retries = 0;
  /** Units of work that lost their connection and have not finished being run again (in backoff or running). */
  awaitingRetry = 0;
  /** When the last connection error was seen (epoch ms), and what it was. */
  lastErrorAt: number | null = null;
  lastError: string | null = null;
  /** When the current incident started (epoch ms): its first error. Null while the connections are fine. */
  lostAt: number | null = null;
  /** When a query last succeeded after the last error: the incident is over. */
  recoveredAt: number | null = null;
  /** Bumped when an incident starts or ends: the readiness report is not reused across a change. */
  generation = 0;
  private incidentLogged = false;

  constructor(private readonly log: (line: string) => void = (line) => console.warn(line)) {}

  /** True from a connection error until the incident ends (see the class comment). */
  get lost(): boolean {
    return this.lostAt !== null;
  }

  /** Records an error; logs once per incident (the first error after a recovery), never the message. */
  noteError(err: unknown, where: string): void {
    this.errors++;
    this.lastErrorAt = Date.now();
    const described = describeConnectionError(err);
    // Within an incident a description without a code says nothing new (a terminated session's socket
    // ending after the server said 57P01, a client refusing queries after its connection failed): it does
    // not replace the code that said why.
    if (!VAGUE.has(described) || this.lostAt === null || this.lastError === null || VAGUE.has(this.lastError)) this.lastError = described;
    this.recoveredAt = null;
    if (this.lostAt === null) {
      this.lostAt = this.lastErrorAt;
      this.generation++;
    }
    if (!this.incidentLogged) {
      this.incidentLogged = true;
      this.log(JSON.stringify({ level: 'warn', msg: 'database connection lost; failing the work in flight and reconnecting', where, error: this.lastError }));
    }
  }

  /**
   * A query succeeded: ends the incident, unless a unit of work that lost its connection is still waiting
   * to run again (then its own commit ends it, or, if it gives up, the next query that succeeds).
   */
  noteSuccess(): void {
    if (this.lostAt === null || this.awaitingRetry > 0) return;
    this.recoveredAt = Date.now();
    this.lostAt = null;
    this.generation++;
    if (this.incidentLogged) {
      this.incidentLogged = false;
      this.log(JSON.stringify({ level: 'info', msg: 'database connection recovered', errors: this.errors }));
    }
  }

  /** The state for the readiness answer. */
  state(): ConnectionState {
    if (this.lostAt === null) return { status: 'ok' };
    return {
      status: 'reconnecting',
      since: new Date(this.lostAt).toISOString(),
      lastError: this.lastError ?? 'connection error',
      awaitingRetry: this.awaitingRetry,
    };
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
  // From its first lost connection until it finishes (committed or given up), this unit is counted in
  // `awaitingRetry`: the store does not report itself recovered while work is waiting to run again.
  let waiting = false;
  const doneWaiting = () => {
    if (waiting && health) health.awaitingRetry--;
    waiting = false;
  };
  try {
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
        doneWaiting();
        health?.noteSuccess();
        return result;
      } catch (err) {
        // pg refuses a query on a client whose connection already failed without sending it ("... is not
        // queryable"): a COMMIT refused so never reached the server, and the session's end rolled back.
        const commitNeverSent =
          stage === 'commit' && /encountered a connection error and is not queryable/i.test(String((err as { message?: unknown })?.message));
        const retryable = stage === 'lost in work' || commitNeverSent || (stage === 'before' && isConnectionError(err));
        if (!retryable) {
          if (isConnectionError(err)) health?.noteError(err, 'commit');
          throw err;
        }
        const cause = lost ?? err;
        health?.noteError(cause, 'transaction');
        if (attempt >= attempts) throw cause;
        if (health) {
          health.retries++;
          if (!waiting) health.awaitingRetry++;
        }
        waiting = true;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  } finally {
    doneWaiting();
  }
}
