import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { ChatDraftTable, ChatRequestTable, Database } from './schema';

export type ChatDraftRow = Selectable<ChatDraftTable>;
export type ChatRequestRow = Selectable<ChatRequestTable>;

/** States in which a chat request's message still changes on its own (PIM or an approver moves it on). */
export const LIVE_CHAT_STATES = ['submitting', 'pending', 'approved', 'active'] as const;

/** Persistence for elevation by chat: drafts, requests and their status messages, commands awaiting sign-in. */
export class ChatStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertDraft(row: Insertable<ChatDraftTable>): Promise<void> {
    await this.db.insertInto('chat_drafts').values(row).execute();
  }

  async draft(id: string): Promise<ChatDraftRow | undefined> {
    return this.db.selectFrom('chat_drafts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateDraft(id: string, patch: Updateable<ChatDraftTable>): Promise<void> {
    await this.db
      .updateTable('chat_drafts')
      .set({ ...patch, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Compare-and-swap on the draft's status: the caller that moves it from `from` owns the next step. */
  async moveDraft(id: string, from: string, to: string, patch: Updateable<ChatDraftTable> = {}): Promise<boolean> {
    const r = await this.db
      .updateTable('chat_drafts')
      .set({ ...patch, status: to, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertRequest(row: Insertable<ChatRequestTable>): Promise<void> {
    await this.db.insertInto('chat_requests').values(row).execute();
  }

  async request(id: string): Promise<ChatRequestRow | undefined> {
    return this.db.selectFrom('chat_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Changes a request and bumps its version, so the status message is re-rendered (now or by the sweep). */
  async updateRequest(id: string, patch: Updateable<ChatRequestTable>): Promise<ChatRequestRow | undefined> {
    await this.db
      .updateTable('chat_requests')
      .set((eb) => ({ ...patch, version: eb('version', '+', 1), updated_at: new Date().toISOString() }))
      .where('id', '=', id)
      .execute();
    return this.request(id);
  }

  async markRendered(id: string, version: number, activityId: string): Promise<void> {
    await this.db
      .updateTable('chat_requests')
      .set({ rendered_version: version, activity_id: activityId })
      .where('id', '=', id)
      .where('rendered_version', '<', version)
      .execute();
  }

  async requestsByApprovalKey(approvalKey: string): Promise<ChatRequestRow[]> {
    return this.db.selectFrom('chat_requests').selectAll().where('approval_key', '=', approvalKey).execute();
  }

  async requestByPimId(kind: string, pimRequestId: string): Promise<ChatRequestRow | undefined> {
    return this.db.selectFrom('chat_requests').selectAll().where('kind', '=', kind).where('pim_request_id', '=', pimRequestId).executeTakeFirst();
  }

  /** Live Azure resource requests for this principal, role and scope (ARM bodies carry no request id to link by). */
  async liveAzureRequests(userId: string, roleDefinitionId: string, scope: string): Promise<ChatRequestRow[]> {
    return this.db
      .selectFrom('chat_requests')
      .selectAll()
      .where('kind', '=', 'azureResource')
      .where('user_id', '=', userId)
      .where((eb) => eb.fn('lower', ['role_definition_id']), '=', roleDefinitionId.toLowerCase())
      .where((eb) => eb.fn('lower', ['scope']), '=', scope.toLowerCase())
      .where('state', 'in', [...LIVE_CHAT_STATES])
      .orderBy('created_at', 'desc')
      .execute();
  }

  async requestsOf(userId: string, limit = 10): Promise<ChatRequestRow[]> {
    return this.db.selectFrom('chat_requests').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
  }

  async requestsInState(states: string[], limit = 200): Promise<ChatRequestRow[]> {
    return this.db.selectFrom('chat_requests').selectAll().where('state', 'in', states).orderBy('created_at').limit(limit).execute();
  }

  /** Status messages rendered at an older version than the request: the sweep posts or updates them. */
  async staleMessages(limit = 50): Promise<ChatRequestRow[]> {
    return this.db.selectFrom('chat_requests').selectAll().whereRef('rendered_version', '<', 'version').orderBy('updated_at').limit(limit).execute();
  }

  async savePending(userId: string, text: string, timeZone: string | null): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('chat_pending')
      .values({ user_id: userId, text, time_zone: timeZone, created_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ text, time_zone: timeZone, created_at: now }))
      .execute();
  }

  /** Takes (reads and deletes) the command a user typed before signing in, if it is recent enough to still mean it. */
  async takePending(userId: string, notBefore: string): Promise<{ text: string; timeZone: string | null } | undefined> {
    const row = await this.db.deleteFrom('chat_pending').where('user_id', '=', userId).returningAll().executeTakeFirst();
    if (!row || row.created_at < notBefore) return undefined;
    return { text: row.text, timeZone: row.time_zone };
  }
}
