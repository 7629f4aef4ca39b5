import type { Kysely, Migration } from 'kysely';

/** The digests' table: spot-audit reviews of approvals. */
export const digestsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_reviews')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull().references('approval_requests.id'))
      .addColumn('reviewer_id', 'text', (c) => c.notNull())
      .addColumn('reviewer_name', 'text')
      .addColumn('verdict', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      // One verdict per reviewer and request: a second click updates it instead of adding a row.
      .addUniqueConstraint('audit_reviews_request_reviewer', ['request_id', 'reviewer_id'])
      .execute();
    // The next digest lists flags since the previous one.
    await db.schema.createIndex('audit_reviews_created').on('audit_reviews').columns(['verdict', 'created_at']).execute();
    // Yesterday's approvals for the spot-audit sample.
    await db.schema.createIndex('digests_approval_requests_decided').on('approval_requests').columns(['status', 'decided_at']).execute();
  },
};
