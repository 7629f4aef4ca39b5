import type { Kysely, Migration } from 'kysely';
import { engineOf } from '../store/dialect';

/** The outbox's table (see schema.ts for what each column is for). */
export const outboxMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull())
      .addColumn('service_url', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('activity_id', 'text')
      .addColumn('reply_to_id', 'text')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('not_before', 'text', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .addColumn('result_activity_id', 'text')
      .addColumn('meta', 'text')
      .addColumn('revision', 'integer')
      .addColumn('summary_entry', 'text')
      .addColumn('window_start', 'text')
      .addColumn('summary_id', 'text')
      .addColumn('covered_ids', 'text')
      // Insertion order among rows of the same millisecond: SQLite has its rowid; PostgreSQL gets a sequence.
      .$call((t) => (engineOf(db) === 'postgres' ? t.addColumn('seq', 'bigserial', (c) => c.notNull()) : t))
      .execute();
    // The drain's scan: due rows by status and time.
    await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'not_before']).execute();
    // Collapse: a channel's current minute, and the held rows of a closed one.
    await db.schema.createIndex('outbox_window').on('outbox').columns(['conversation_id', 'window_start']).execute();
    // Updates of one message supersede each other.
    await db.schema.createIndex('outbox_message').on('outbox').columns(['conversation_id', 'activity_id']).execute();
    await db.schema.createIndex('outbox_summary').on('outbox').column('summary_id').execute();
    await db.schema.createIndex('outbox_sent').on('outbox').column('sent_at').execute();
  },
};
