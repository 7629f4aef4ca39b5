import { sql, type Kysely, type Migration } from 'kysely';
import { engineOf } from '../store/dialect';

/**
 * The audit trail's table, append-only in the database too: triggers refuse UPDATE and DELETE (and
 * TRUNCATE on PostgreSQL), so a bug or a careless script cannot change history. Someone with the rights
 * to drop a trigger can; the hash chain is what shows it (verify-chain.ts).
 */
export const auditMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_log')
      // Assigned by the appender (head + 1) under the append lock, never by the database: a gap means a deleted row.
      .addColumn('seq', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('pim_request_id', 'text')
      .addColumn('request_id', 'text')
      .addColumn('evaluation_id', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    // Exports select by time.
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    await db.schema.createIndex('audit_log_pim_request').on('audit_log').column('pim_request_id').execute();
    if (engineOf(db) === 'postgres') {
      // Created in the connection's schema (search_path), like the table.
      await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
        END
      $$`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);
    } else {
      await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END`.execute(
        db,
      );
      await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed'); END`.execute(
        db,
      );
    }
  },
};
