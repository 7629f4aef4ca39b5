import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { Database, ExtensionAskTable } from './schema';

export type ExtensionAskRow = Selectable<ExtensionAskTable>;

/** Statuses in which an ask can still be decided from its card. */
export const OPEN_ASK = 'open';
export const DECIDED_ASK_STATUSES = ['extended', 'renewed', 'declined', 'withdrawn'] as const;

/**
 * Persistence for extension and renewal asks and their admin card. Every change bumps `version`; the card is
 * re-rendered until `rendered_version` catches up. Deciding is a compare-and-swap from `open` to `recording`,
 * so two admins (or a double click) make at most one PIM call.
 */
export class ExtensionAskStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts the ask unless one with its PIM id or ask key exists; true when this call inserted it. */
  async insertOnce(row: Insertable<ExtensionAskTable>): Promise<boolean> {
    const r = await this.db
      .insertInto('extension_asks')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async get(id: string): Promise<ExtensionAskRow | undefined> {
    return this.db.selectFrom('extension_asks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byAskKey(key: string): Promise<ExtensionAskRow | undefined> {
    return this.db.selectFrom('extension_asks').selectAll().where('ask_key', '=', key).executeTakeFirst();
  }

  /** PIM request ids among `ids` the store already holds an ask for. */
  async knownPimIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('extension_asks').select('pim_request_id').where('pim_request_id', 'in', ids).execute();
    return new Set(rows.map((r) => r.pim_request_id!));
  }

  async inStatus(statuses: string[], limit = 200): Promise<ExtensionAskRow[]> {
    return this.db.selectFrom('extension_asks').selectAll().where('status', 'in', statuses).orderBy('created_at').limit(limit).execute();
  }

  /** Asks whose card is behind (never posted, or a newer version to show). */
  async behind(limit = 50): Promise<ExtensionAskRow[]> {
    return this.db.selectFrom('extension_asks').selectAll().whereRef('rendered_version', '<', 'version').orderBy('created_at').limit(limit).execute();
  }

  /** Moves the ask from `from` to `to` with `patch`, bumping its version; the moved row, or undefined when it was not in `from`. */
  async move(id: string, from: string, to: string, patch: Updateable<ExtensionAskTable> = {}, now = new Date()): Promise<ExtensionAskRow | undefined> {
    const r = await this.db
      .updateTable('extension_asks')
      .set((eb) => ({ ...patch, status: to, version: eb('version', '+', 1), updated_at: now.toISOString() }))
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? this.get(id) : undefined;
  }

  async markRendered(id: string, version: number, activityId: string): Promise<void> {
    await this.db
      .updateTable('extension_asks')
      .set({ rendered_version: version, activity_id: activityId })
      .where('id', '=', id)
      .where('rendered_version', '<', version)
      .execute();
  }
}
