import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database } from '../store/schema';
import type { EmergencyGrantTable } from './schema';

export type EmergencyGrantRow = Selectable<EmergencyGrantTable>;
export type EmergencyReviewVerdict = 'looksRight' | 'flag';

/** A note longer than this is cut: it is shown on cards. */
export const EMERGENCY_NOTE_MAX = 1000;

/** Why a note or a review was not recorded; `message` is safe to show to the person who clicked. */
export type EmergencyRefusal =
  | { kind: 'not_found'; message: string }
  | { kind: 'not_requester'; message: string }
  | { kind: 'requester'; message: string }
  | { kind: 'note_required'; message: string }
  | { kind: 'already'; message: string; row: EmergencyGrantRow };

export type EmergencyRecordResult = { kind: 'recorded'; row: EmergencyGrantRow } | EmergencyRefusal;

function clip(note: string | null | undefined): string | null {
  const t = note?.trim();
  return t ? Array.from(t).slice(0, EMERGENCY_NOTE_MAX).join('') : null;
}

/**
 * Break-glass grants (table emergency_grants). Inserting is keyed by the evaluation (a PIM retry inserts
 * nothing); the note and the review are compare-and-set on an empty column, so each is recorded once.
 */
export class EmergencyGrants {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Inserts the grant unless its evaluation has one; the stored row either way. */
  async insertOnce(row: Insertable<EmergencyGrantTable>): Promise<{ row: EmergencyGrantRow; created: boolean }> {
    const r = await this.db
      .insertInto('emergency_grants')
      .values(row)
      .onConflict((oc) => oc.column('evaluation_id').doNothing())
      .executeTakeFirst();
    const created = Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    const stored = await this.db.selectFrom('emergency_grants').selectAll().where('evaluation_id', '=', row.evaluation_id).executeTakeFirstOrThrow();
    return { row: stored, created };
  }

  async get(id: string): Promise<EmergencyGrantRow | undefined> {
    return this.db.selectFrom('emergency_grants').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user's grants at or after `since`: the per-user daily limit. */
  async countSince(principalId: string, since: Date): Promise<number> {
    const r = await this.db
      .selectFrom('emergency_grants')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('principal_id', '=', principalId.toLowerCase())
      .where('granted_at', '>=', since.toISOString())
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Grants no second person has reviewed yet, oldest first (the admin digest's section). */
  async unreviewed(limit = 50): Promise<EmergencyGrantRow[]> {
    return this.db.selectFrom('emergency_grants').selectAll().where('reviewed_at', 'is', null).orderBy('granted_at').limit(limit).execute();
  }

  /** The requester's post-incident note, once; only the requester (the row's principal, never card data) may give it. */
  async recordNote(id: string, userId: string, note: string | null): Promise<EmergencyRecordResult> {
    const row = await this.get(id);
    if (!row) return { kind: 'not_found', message: 'This break-glass grant was not found.' };
    if (row.principal_id.toLowerCase() !== userId.toLowerCase())
      return { kind: 'not_requester', message: 'Only the person who used break-glass access can write its post-incident note.' };
    const text = clip(note);
    if (!text) return { kind: 'note_required', message: 'Write the post-incident note first: what you did with the access, and why it was needed.' };
    if (row.note) return { kind: 'already', message: 'The post-incident note was already recorded.', row };
    const now = this.clock().toISOString();
    const r = await this.db.updateTable('emergency_grants').set({ note: text, note_at: now }).where('id', '=', id).where('note', 'is', null).executeTakeFirst();
    const after = (await this.get(id))!;
    return Number(r.numUpdatedRows) === 1
      ? { kind: 'recorded', row: after }
      : { kind: 'already', message: 'The post-incident note was already recorded.', row: after };
  }

  /** A second person's review, once: never the requester; a flag needs a note. */
  async recordReview(
    id: string,
    reviewer: { id: string; name: string | null },
    verdict: EmergencyReviewVerdict,
    note: string | null,
  ): Promise<EmergencyRecordResult> {
    const row = await this.get(id);
    if (!row) return { kind: 'not_found', message: 'This break-glass grant was not found: reload the digest.' };
    if (row.principal_id.toLowerCase() === reviewer.id.toLowerCase())
      return { kind: 'requester', message: 'This was your own break-glass grant, so you cannot review it: a second person must.' };
    const text = clip(note);
    if (verdict === 'flag' && !text) return { kind: 'note_required', message: 'Say in a few words what looks wrong, then flag again.' };
    if (row.reviewed_at) return { kind: 'already', message: alreadyReviewed(row), row };
    const now = this.clock().toISOString();
    const r = await this.db
      .updateTable('emergency_grants')
      .set({ review_verdict: verdict, reviewer_id: reviewer.id.toLowerCase(), reviewer_name: reviewer.name, review_note: text, reviewed_at: now })
      .where('id', '=', id)
      .where('reviewed_at', 'is', null)
      .executeTakeFirst();
    const after = (await this.get(id))!;
    return Number(r.numUpdatedRows) === 1 ? { kind: 'recorded', row: after } : { kind: 'already', message: alreadyReviewed(after), row: after };
  }
}

function alreadyReviewed(row: EmergencyGrantRow): string {
  return `${row.reviewer_name ?? 'Someone'} already reviewed this grant (${row.review_verdict === 'flag' ? 'flagged' : 'looks right'}).`;
}
