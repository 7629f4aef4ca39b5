import { sql, type Kysely } from 'kysely';
import { engineOf } from '../../services/store/dialect';

/** What someone with DDL rights does before editing history: drop the append-only triggers. */
export async function dropAuditTriggers(db: Kysely<any>): Promise<void> {
  if (engineOf(db) === 'postgres') {
    await sql`DROP TRIGGER audit_log_no_change ON audit_log`.execute(db);
    await sql`DROP TRIGGER audit_log_no_truncate ON audit_log`.execute(db);
  } else {
    await sql`DROP TRIGGER audit_log_no_update`.execute(db);
    await sql`DROP TRIGGER audit_log_no_delete`.execute(db);
  }
}
