import { Pool } from 'pg';
import { testPostgresUrl } from './test-database';

/**
 * After a PostgreSQL test run: drops the per-test schemas (t_<hex>) that tests left behind (stores opened
 * without a harness, or a test that failed before its cleanup). Does nothing on SQLite runs.
 */
export default async function dropTestSchemas(): Promise<void> {
  const server = testPostgresUrl();
  if (!server) return;
  const pool = new Pool({ connectionString: server, max: 1 });
  try {
    const { rows } = await pool.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{12}$'`);
    for (const { nspname } of rows) await pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
  } finally {
    await pool.end();
  }
}
