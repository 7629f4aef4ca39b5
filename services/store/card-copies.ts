import { type Insertable, type Selectable, sql } from 'kysely';
import type { Db, PageCursor } from './database';
import type { CardPostTable } from './schema';

export type CardPostRow = Selectable<CardPostTable>;

/** An approval card's outbox row that Teams accepted (see CardCopyStore.sentWithoutCopies). */
export interface SentCardRow {
  id: string;
  conversation_id: string;
  service_url: string;
  result_activity_id: string;
  meta: string | null;
  status: string;
  sent_at: string;
  dedupe_key: string;
}

/** Card copies: every message in Teams that shows an approval request (a card of its own, or a line on a summary). */
export class CardCopyStore {
  constructor(private readonly db: Db) {}

  /** The copies of one request, in the order they were recorded. */
  async of(requestId: string): Promise<CardPostRow[]> {
    return this.db.selectFrom('card_posts').selectAll().where('request_id', '=', requestId).orderBy('id').execute();
  }

  /** Records a copy; a copy already recorded for the request in that conversation stands. */
  async add(post: Insertable<CardPostTable>): Promise<void> {
    await this.db
      .insertInto('card_posts')
      .values(post)
      .onConflict((oc) => oc.columns(['request_id', 'conversation_id']).doNothing())
      .execute();
  }

  /** The requests listed on one summary card, in the order they were listed. */
  async onSummary(conversationId: string, activityId: string): Promise<CardPostRow[]> {
    return this.db
      .selectFrom('card_posts')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('activity_id', '=', activityId)
      .where('summary', '=', 1)
      .orderBy('id')
      .execute();
  }

  async markRendered(postId: number, version: number): Promise<void> {
    await this.db.updateTable('card_posts').set({ rendered_version: version }).where('id', '=', postId).where('rendered_version', '<', version).execute();
  }

  /**
   * A page of approval-card outbox rows Teams accepted (sent alone, or listed on a sent summary) whose
   * copy has no card_posts row: a process stopped between the outbox marking the send and the copy being
   * recorded. Ordered by (sent_at, id) after `after`. The outbox row (key `card:<request>:<conversation>`,
   * meta {requestId, version}) was written before the send, so the copy is derivable from it.
   */
  async sentWithoutCopies(after: PageCursor | null, limit = 100): Promise<SentCardRow[]> {
    let q = this.db
      .selectFrom('outbox as o')
      .select(['o.id', 'o.conversation_id', 'o.service_url', 'o.result_activity_id', 'o.meta', 'o.status', 'o.sent_at', 'o.dedupe_key'])
      .where('o.dedupe_key', 'like', 'card:%')
      .where('o.status', 'in', ['sent', 'summarized'])
      .where('o.result_activity_id', 'is not', null)
      .where('o.sent_at', 'is not', null)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('card_posts as cp')
              .select('cp.id')
              .whereRef('cp.conversation_id', '=', 'o.conversation_id')
              .where(sql<boolean>`o.dedupe_key = 'card:' || cp.request_id || ':' || cp.conversation_id`),
          ),
        ),
      );
    if (after) q = q.where((eb) => eb.or([eb('o.sent_at', '>', after.at), eb.and([eb('o.sent_at', '=', after.at), eb('o.id', '>', after.id)])]));
    return (await q.orderBy('o.sent_at').orderBy('o.id').limit(limit).execute()) as SentCardRow[];
  }
}
