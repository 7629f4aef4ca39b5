import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { ApprovalRequestTable, Database } from '../store/schema';
import type { AuditReviewTable } from './schema';

export type AuditReviewRow = Selectable<AuditReviewTable>;
export type ApprovalRow = Selectable<ApprovalRequestTable>;
export type AuditVerdict = 'looksRight' | 'flag';

/** A note longer than this is cut: it is shown on a card, and a flag's reason fits in a sentence or two. */
export const AUDIT_NOTE_MAX = 500;

export type AuditReviewRefusal = 'approver' | 'requester' | 'not_approved' | 'wrong_request' | 'bad_verdict' | 'note_required';

/** Why a review was not recorded; the message says what to do and is safe to show to the reviewer. */
export class AuditReviewError extends Error {
  readonly status: number;
  constructor(
    readonly refusal: AuditReviewRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'AuditReviewError';
    this.status = refusal === 'approver' || refusal === 'requester' ? 403 : refusal === 'wrong_request' ? 404 : 400;
  }
}

/** A flag with the approval it is about, for the next admin digest. */
export interface AuditFlag {
  requestId: string;
  pimRequestId: string;
  kind: string;
  principalId: string;
  roleDefinitionId: string;
  scope: string;
  approvedById: string | null;
  approvedByName: string | null;
  approvedAt: string | null;
  reviewerId: string;
  reviewerName: string | null;
  note: string | null;
  flaggedAt: string;
}

/**
 * Spot-audit reviews ('Looks right' / 'Flag') of approvals. Whoever approved a request, and whoever
 * asked for it, cannot review it: a second pair of eyes is the point.
 */
export class AuditReviews {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Records `reviewerId`'s verdict on the approval `approval` (the row the caller reloaded by
   * `requestId`, never card data). A second verdict by the same reviewer replaces the first.
   */
  async record(
    requestId: string,
    reviewerId: string,
    verdict: AuditVerdict,
    note: string | null,
    approval: ApprovalRow,
    reviewerName: string | null = null,
  ): Promise<AuditReviewRow> {
    if (verdict !== 'looksRight' && verdict !== 'flag') {
      throw new AuditReviewError('bad_verdict', `Unknown verdict '${String(verdict)}': use looksRight or flag.`);
    }
    if (approval.id !== requestId) {
      throw new AuditReviewError('wrong_request', `The approval ${requestId} was not found: reload the digest and review from its card.`);
    }
    if (approval.status !== 'approved') {
      throw new AuditReviewError('not_approved', `This request is ${approval.status}, not approved: only approvals are spot-audited.`);
    }
    const reviewer = reviewerId.toLowerCase();
    if (approval.decided_by_id && approval.decided_by_id.toLowerCase() === reviewer) {
      throw new AuditReviewError('approver', 'You approved this request, so you cannot review it: the spot audit needs someone else. Ask another reviewer.');
    }
    if (approval.principal_id.toLowerCase() === reviewer) {
      throw new AuditReviewError('requester', 'This was your own request, so you cannot review it. Ask another reviewer.');
    }
    const trimmed = note?.trim() ? Array.from(note.trim()).slice(0, AUDIT_NOTE_MAX).join('') : null;
    if (verdict === 'flag' && !trimmed) {
      throw new AuditReviewError('note_required', 'Say in a few words what looks wrong, then flag again.');
    }
    const now = this.clock().toISOString();
    return this.db
      .insertInto('audit_reviews')
      .values({ id: randomUUID(), request_id: requestId, reviewer_id: reviewer, reviewer_name: reviewerName, verdict, note: trimmed, created_at: now })
      .onConflict((oc) => oc.columns(['request_id', 'reviewer_id']).doUpdateSet({ verdict, note: trimmed, reviewer_name: reviewerName, created_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Flags recorded at or after `since` (ISO), oldest first, with the approvals they are about. */
  async flagsSince(since: string, limit = 200): Promise<AuditFlag[]> {
    const rows = await this.db
      .selectFrom('audit_reviews')
      .innerJoin('approval_requests', 'approval_requests.id', 'audit_reviews.request_id')
      .select([
        'audit_reviews.request_id as requestId',
        'approval_requests.pim_request_id as pimRequestId',
        'approval_requests.kind as kind',
        'approval_requests.principal_id as principalId',
        'approval_requests.role_definition_id as roleDefinitionId',
        'approval_requests.scope as scope',
        'approval_requests.decided_by_id as approvedById',
        'approval_requests.decided_by_name as approvedByName',
        'approval_requests.decided_at as approvedAt',
        'audit_reviews.reviewer_id as reviewerId',
        'audit_reviews.reviewer_name as reviewerName',
        'audit_reviews.note as note',
        'audit_reviews.created_at as flaggedAt',
      ])
      .where('audit_reviews.verdict', '=', 'flag')
      .where('audit_reviews.created_at', '>=', since)
      .orderBy('audit_reviews.created_at')
      .limit(limit)
      .execute();
    return rows;
  }

  /** Every review of these approvals (to show who already looked at a sampled one). */
  async reviewsOf(requestIds: readonly string[]): Promise<AuditReviewRow[]> {
    if (requestIds.length === 0) return [];
    return this.db
      .selectFrom('audit_reviews')
      .selectAll()
      .where('request_id', 'in', [...requestIds])
      .orderBy('created_at')
      .execute();
  }

  /** Approvals decided in [from, to) (ISO): the population the spot-audit sample is drawn from. */
  async approvalsDecidedBetween(from: string, to: string): Promise<ApprovalRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('status', '=', 'approved')
      .where('decided_at', '>=', from)
      .where('decided_at', '<', to)
      .orderBy('decided_at')
      .execute();
  }
}
