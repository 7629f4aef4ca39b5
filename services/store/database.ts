import type { Kysely, Selectable } from 'kysely';
import { type ConnectionHealth, withConnectionRetry } from './pg-resilience';
import type { Database } from './schema';

/** The kysely handle. It stays inside services/store: see Store for how other services get what they need. */
export type Db = Kysely<Database>;

/**
 * Runs `work` in one transaction, or in the caller's when `work` is handed a transaction already (see
 * Store.transaction for the retry on PostgreSQL).
 */
export type Transact = <T>(work: (trx: Db) => Promise<T>) => Promise<T>;

/**
 * Runs `work` in one transaction. On PostgreSQL (`connections` given), when the connection is lost while
 * `work` runs (before COMMIT), the database rolled the whole transaction back, so `work` is run again in a
 * new one: up to 4 attempts, 50/100/200 ms apart. A connection lost during COMMIT is not retried (the commit
 * may have happened). `work` must only touch the database. Inside a transaction already, runs `work` in it.
 */
export function transactor(db: Db, connections?: ConnectionHealth): Transact {
  return <T>(work: (trx: Db) => Promise<T>): Promise<T> => {
    if (db.isTransaction) return work(db);
    if (!connections) return db.transaction().execute(work);
    return withConnectionRetry((w) => db.transaction().execute(w), work, connections);
  };
}

declare const inTransaction: unique symbol;

/**
 * A transaction the store opened (`Store.unitOfWork`), as services outside the store hold it: opaque, so the
 * handle stays here. The outbox and the job scheduler, which keep SQL of their own, write in it through
 * `transactionDb`.
 */
export interface Tx {
  readonly [inTransaction]: true;
}

export function transactionDb(tx: Tx): Db {
  return tx as unknown as Db;
}

/** Where a paged sweep stopped: the ordering time and id of the last row it read. */
export interface PageCursor {
  at: string;
  id: string;
}

/** Who asked, for which role and where: how rows without PIM's request id (ARM bodies) are matched. */
export interface RoleMatch {
  kind: string;
  principalId: string;
  roleDefinitionId: string;
  scope: string;
  since: string;
}

/** The newest row of `table` for this principal, role and scope created since `m.since`. */
export async function newestFor<T extends 'evaluations' | 'approval_requests'>(db: Db, table: T, m: RoleMatch): Promise<Selectable<Database[T]> | undefined> {
  // Both tables have these columns; kysely cannot see that through a union of table names.
  const row = await db
    .selectFrom(table as 'evaluations')
    .selectAll()
    .where('kind', '=', m.kind)
    .where('principal_id', '=', m.principalId)
    .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
    .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
    .where('created_at', '>=', m.since)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return row as unknown as Selectable<Database[T]> | undefined;
}
