/**
 * The chaos run's own PostgreSQL schema (chaos_<pid>_<hex>) on the test server, the URL each replica
 * connects with (search_path = the schema, application_name naming the replica, so the driver can cut
 * exactly that replica's connections), and the database faults: connections terminated mid-transaction
 * and the outbox table locked for a few seconds.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Pool } from 'pg';

export const DEFAULT_DATABASE_SERVER = 'postgres://postgres@127.0.0.1:5432/test';

export interface ChaosDatabase {
  schema: string;
  /** The URL a replica connects with: its connections carry application_name `<schema>_<name>`. */
  urlFor(name: string): string;
  /** The driver's own pool (application_name `<schema>_driver`), for the quiet-period polls and the checks. */
  pool: Pool;
  /**
   * Ends the connections of these replicas' pools, waiting (at most `waitForTransactionMs`) for one that is
   * inside a transaction so that one is cut mid-transaction; how many were ended, and how many of them were
   * inside a transaction (between two statements of one, or in a statement).
   */
  terminate(names: readonly string[], waitForTransactionMs?: number): Promise<{ terminated: number; inTransaction: number; betweenStatements: number }>;
  /** Holds an ACCESS EXCLUSIVE lock on the outbox table for `ms`, then rolls back; how long it waited for the lock. */
  lockOutbox(ms: number): Promise<{ waitedMs: number }>;
  drop(): Promise<void>;
}

/** The server the run uses: TEST_DATABASE_URL when it is a PostgreSQL URL, else the loopback test database. */
export function databaseServer(): string {
  const url = process.env.TEST_DATABASE_URL;
  return url && /^postgres(ql)?:\/\//.test(url) ? url : DEFAULT_DATABASE_SERVER;
}

export async function createChaosDatabase(server = databaseServer()): Promise<ChaosDatabase> {
  const schema = `chaos_${process.pid.toString(16)}_${randomBytes(5).toString('hex')}`;
  const admin = new Pool({ connectionString: server, max: 1 });
  try {
    await dropAbandonedSchemas(admin);
    await admin.query(`CREATE SCHEMA ${schema}`);
    // Who made it: a later run on this host drops it if this process died before its clean-up.
    await admin.query(`COMMENT ON SCHEMA ${schema} IS ${literal(`chaos run ${hostname()} ${process.pid}`)}`);
  } finally {
    await admin.end();
  }
  const urlFor = (name: string) => {
    const url = new URL(server);
    url.searchParams.set('options', `-c search_path=${schema}`);
    url.searchParams.set('application_name', `${schema}_${name}`);
    return url.toString();
  };
  const pool = new Pool({ connectionString: urlFor('driver'), max: 3 });
  // A connection the run's own faults end must not take the driver down.
  pool.on('error', () => undefined);
  let dropped = false;
  return {
    schema,
    urlFor,
    pool,
    async terminate(names, waitForTransactionMs = 5_000) {
      const apps = names.map((n) => `${schema}_${n}`);
      const kill = async (where: string) =>
        (
          await pool.query<{ state: string | null }>(
            `SELECT state, pg_terminate_backend(pid)
               FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND query NOT ILIKE '%pg_stat_activity%' AND application_name = ANY($1) AND ${where}`,
            [apps],
          )
        ).rows;
      // Mid-transaction first: between two statements of a transaction if one comes within 3/5 of the wait,
      // else inside any statement's transaction; then every other connection of the same replicas.
      let inTransaction: Array<{ state: string | null }> = [];
      const end = Date.now() + waitForTransactionMs;
      const betweenUntil = Date.now() + (waitForTransactionMs * 3) / 5;
      while (inTransaction.length === 0 && Date.now() < end) {
        inTransaction = await kill(Date.now() < betweenUntil ? "state = 'idle in transaction'" : 'xact_start IS NOT NULL');
        if (inTransaction.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      const rest = await kill('true');
      return {
        terminated: inTransaction.length + rest.length,
        inTransaction: inTransaction.length,
        betweenStatements: inTransaction.filter((r) => r.state === 'idle in transaction').length,
      };
    },
    async lockOutbox(ms) {
      const client = await pool.connect();
      try {
        const asked = Date.now();
        await client.query('BEGIN');
        await client.query("SET LOCAL lock_timeout = '10s'");
        await client.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
        const waitedMs = Date.now() - asked;
        await new Promise((r) => setTimeout(r, ms));
        await client.query('ROLLBACK');
        return { waitedMs };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      const p = new Pool({ connectionString: server, max: 1 });
      try {
        await p.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await p.end();
      }
    },
  };
}

/**
 * Schemas of chaos runs on this host whose process is gone (killed before its clean-up); never another
 * live run's, and never one made on another host (whose process ids mean nothing here).
 */
async function dropAbandonedSchemas(admin: Pool): Promise<void> {
  const { rows } = await admin.query<{ nspname: string; note: string | null }>(
    `SELECT nspname, obj_description(oid, 'pg_namespace') AS note FROM pg_namespace WHERE nspname ~ '^chaos_[0-9a-f]+_[0-9a-f]{10}$'`,
  );
  for (const { nspname, note } of rows) {
    const m = /^chaos run (\S+) (\d+)$/.exec(note ?? '');
    if (!m || m[1] !== hostname() || alive(Number(m[2]))) continue;
    await admin.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
  }
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
