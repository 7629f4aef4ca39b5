import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * kysely's SQLite driver prepares every query again; preparing is most of a simple query's cost (11% of
 * the decision endpoint's CPU in the rules-only benchmark). The store's queries are a fixed set of SQL
 * texts with parameters, so their prepared statements are kept, least recently used first out.
 *
 * A statement that is still being iterated (`busy`: a streamed query not yet finished) cannot be run
 * again until it is done; such a query gets a statement of its own instead.
 */
export function withStatementCache(db: BetterSqlite3.Database, max = 256): SqliteDatabase & { readonly cached: number } {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    get cached() {
      return statements.size;
    },
    close() {
      statements.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const known = statements.get(sql);
      if (known) {
        if (known.busy) return db.prepare(sql);
        statements.delete(sql);
        statements.set(sql, known);
        return known;
      }
      const fresh = db.prepare(sql);
      statements.set(sql, fresh);
      if (statements.size > max) statements.delete(statements.keys().next().value as string);
      return fresh;
    },
  };
}
