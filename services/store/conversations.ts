import type { Db } from './database';

/** Conversation references: how the bot reaches a user's personal chat (saved when they message it or install the app). */
export class ConversationStore {
  constructor(private readonly db: Db) {}

  async save(aadObjectId: string, reference: unknown): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('conversation_refs')
      .values({ aad_object_id: aadObjectId, reference: JSON.stringify(reference), updated_at: now })
      .onConflict((oc) => oc.column('aad_object_id').doUpdateSet({ reference: JSON.stringify(reference), updated_at: now }))
      .execute();
  }

  /**
   * Saves a reference only if the user has none, and returns the one stored: a reference the bot built
   * itself (a chat opened through Graph) never replaces one from the user's own message that arrived
   * meanwhile, which names the user as Teams does.
   */
  async saveIfAbsent(aadObjectId: string, reference: unknown): Promise<unknown> {
    await this.db
      .insertInto('conversation_refs')
      .values({ aad_object_id: aadObjectId, reference: JSON.stringify(reference), updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('aad_object_id').doNothing())
      .execute();
    return (await this.get(aadObjectId)) ?? reference;
  }

  /** Forgets a chat Teams says is gone (the user removed the app, or the conversation no longer exists). */
  async forget(aadObjectId: string, reference: unknown): Promise<void> {
    // Only the reference that failed: a newer one (the user just opened the chat again) is kept.
    await this.db.deleteFrom('conversation_refs').where('aad_object_id', '=', aadObjectId).where('reference', '=', JSON.stringify(reference)).execute();
  }

  /**
   * `approvals on|off`: whether a copy of every card waiting for this user's approval comes to their chat.
   * False when the bot has no chat with them (they turn it on from that chat, so it has one then).
   */
  async setApprovalCards(aadObjectId: string, on: boolean): Promise<boolean> {
    const r = await this.db
      .updateTable('conversation_refs')
      .set({ approval_cards: on ? 1 : 0 })
      .where('aad_object_id', '=', aadObjectId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The chats of those of `aadObjectIds` who turned approval cards on, by user. */
  async approvalCardChats(aadObjectIds: readonly string[]): Promise<Map<string, unknown>> {
    if (aadObjectIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('conversation_refs')
      .select(['aad_object_id', 'reference'])
      .where('aad_object_id', 'in', [...aadObjectIds])
      .where('approval_cards', '=', 1)
      .execute();
    return new Map(rows.map((r) => [r.aad_object_id, JSON.parse(r.reference) as unknown]));
  }

  async get(aadObjectId: string): Promise<unknown | undefined> {
    const row = await this.db.selectFrom('conversation_refs').select('reference').where('aad_object_id', '=', aadObjectId).executeTakeFirst();
    return row ? (JSON.parse(row.reference) as unknown) : undefined;
  }
}
