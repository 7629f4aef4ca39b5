import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';

/** A database for one test, and how to throw it away. */
export interface TestDatabase {
  url: string;
  engine: 'sqlite' | 'postgres';
  drop(): Promise<void>;
}

/**
 * The PostgreSQL server the tests use when TEST_DATABASE_URL is set (`npm run test:postgres`), e.g.
 * postgres://postgres@127.0.0.1:5432/test; unset, tests run on SQLite files.
 */
export function testPostgresUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  return url && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
}

/**
 * A fresh, empty database: a new schema on the test PostgreSQL server (the connection's search_path
 * points at it, so every replica opened on the URL shares it), or a SQLite file in `dir`.
 */
export async function freshDatabase(dir: string, name = 'bot.sqlite'): Promise<TestDatabase> {
  const server = testPostgresUrl();
  if (!server) return { url: `sqlite:${join(dir, name)}`, engine: 'sqlite', drop: async () => undefined };
  // Named after this process, so a run's clean-up drops its own schemas and never those of a run beside it.
  const schema = `t_${process.pid.toString(16)}_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: server, max: 1 });
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    engine: 'postgres',
    async drop() {
      const pool = new Pool({ connectionString: server, max: 1 });
      try {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}
