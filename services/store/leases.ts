import type { Kysely, Migration } from 'kysely';
import type { Database } from './schema';

export const leasesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('until', 'text', (c) => c.notNull())
      .execute();
  },
};

/**
 * Takes or renews `name` for `owner` until `now + ms`: true when this owner holds it now. One statement
 * (insert, or update only when the lease ran out or is already ours), so of replicas asking at once one wins.
 */
export async function tryLease(db: Kysely<Database>, name: string, owner: string, ms: number, now: Date = new Date()): Promise<boolean> {
  const until = new Date(now.getTime() + ms).toISOString();
  const row = await db
    .insertInto('leases')
    .values({ name, owner, until })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ owner, until })
        .where((eb) => eb.or([eb('leases.until', '<', now.toISOString()), eb('leases.owner', '=', owner)])),
    )
    .returning('owner')
    .executeTakeFirst();
  return row?.owner === owner;
}
