import { PostgresAdapter, type Kysely } from 'kysely';

/** The two SQL engines the store runs on: SQLite for one process, PostgreSQL for replicas. */
export type SqlEngine = 'sqlite' | 'postgres';

/** Which engine a Kysely instance talks to (migrations and a few queries differ). */
export function engineOf<DB>(db: Kysely<DB>): SqlEngine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** `postgres://` or `postgresql://` URLs select PostgreSQL; `sqlite:<path>` SQLite. */
export function engineOfUrl(databaseUrl: string): SqlEngine | null {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return 'postgres';
  if (databaseUrl.startsWith('sqlite:')) return 'sqlite';
  return null;
}
