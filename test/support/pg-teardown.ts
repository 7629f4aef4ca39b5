import { Pool } from 'pg';
import { testPostgresUrl } from './test-database';

/**
 * After a PostgreSQL test run: drops the per-test schemas (t_<pid>_<hex>) this run left behind (stores opened
 * without a harness, or a test that failed before its cleanup), and those of runs whose process is gone; never
 * the schemas of another run still going on the same server (two runs side by side lost each other's schemas
 * when this dropped every test schema). Does nothing on SQLite runs.
 */
export default async function dropTestSchemas(): Promise<void> {
  const server = testPostgresUrl();
  if (!server) return;
  const pool = new Pool({ connectionString: server, max: 1 });
  try {
    const { rows } = await pool.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]+_[0-9a-f]{12}$'`);
    for (const { nspname } of rows) {
      const pid = parseInt(nspname.split('_')[1]!, 16);
      if (pid === process.pid || !alive(pid)) await pool.query(`DROP SCHEMA IF EXISTS ${nspname} CASCADE`);
    }
  } finally {
    await pool.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
