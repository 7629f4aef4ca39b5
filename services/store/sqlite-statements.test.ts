import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { withStatementCache } from './sqlite-statements';

describe('withStatementCache', () => {
  it('prepares each SQL text once and reuses it', () => {
    const raw = new SqliteDatabase(':memory:');
    const prepare = jest.spyOn(raw, 'prepare');
    const db = withStatementCache(raw);
    const a = db.prepare('SELECT 1 AS one');
    const b = db.prepare('SELECT 1 AS one');
    expect(b).toBe(a);
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(db.prepare('SELECT 2 AS two')).not.toBe(a);
    expect(prepare).toHaveBeenCalledTimes(2);
    db.close();
  });

  it('keeps at most `max` statements, dropping the least recently used', () => {
    const raw = new SqliteDatabase(':memory:');
    const db = withStatementCache(raw, 2);
    const one = db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    db.prepare('SELECT 1'); // 1 is now the most recent
    db.prepare('SELECT 3'); // evicts 2
    expect(db.cached).toBe(2);
    expect(db.prepare('SELECT 1')).toBe(one);
    const prepare = jest.spyOn(raw, 'prepare');
    db.prepare('SELECT 2');
    expect(prepare).toHaveBeenCalledTimes(1);
    db.close();
  });

  it('gives a query whose cached statement is still being iterated a statement of its own', () => {
    const raw = new SqliteDatabase(':memory:');
    raw.exec('CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)');
    const db = withStatementCache(raw);
    const sql = 'SELECT n FROM t ORDER BY n';
    const streaming = db.prepare(sql);
    const seen: unknown[] = [];
    for (const row of streaming.iterate([])) {
      const again = db.prepare(sql);
      expect(again).not.toBe(streaming);
      expect(again.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      seen.push(row);
    }
    expect(seen).toHaveLength(3);
    expect(db.prepare(sql)).toBe(streaming); // done iterating: the cached one again
    db.close();
  });

  it('sees schema changes made after a statement was cached', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(new SqliteDatabase(':memory:')) }) });
    await db.schema.createTable('t').addColumn('n', 'integer').execute();
    await db.insertInto('t').values({ n: 1 }).execute();
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([{ n: 1 }]);
    await db.schema.alterTable('t').addColumn('m', 'text').execute();
    expect(await db.selectFrom('t').selectAll().execute()).toEqual([{ n: 1, m: null }]);
    await db.destroy();
  });
});
