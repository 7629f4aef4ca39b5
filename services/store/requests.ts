import { type Insertable, type Selectable, sql, type Updateable } from 'kysely';
import { FINAL_STATUSES, isRequestStatus, type RequestEvent, transition } from '../approvals/request-lifecycle';
import { appendAudit, type AuditEntry } from '../audit/audit-trail';
import { type Db, newestFor, type PageCursor, type Transact } from './database';
import type { EvaluationRow } from './evaluations';
import type { ApprovalRequestTable, EvaluationTable } from './schema';

export type ApprovalRequestRow = Selectable<ApprovalRequestTable>;

/**
 * What a caller may change on a request. The status is not among them: it changes only through
 * `RequestStore.transition`, by an event the request lifecycle allows.
 */
export type RequestPatch = Omit<Updateable<ApprovalRequestTable>, 'id' | 'status' | 'version' | 'updated_at'>;

/** The columns of an approval request the requester history reads (RequestStore.history). */
export type HistoryApprovalRow = Pick<
  ApprovalRequestRow,
  'pim_request_id' | 'status' | 'created_at' | 'decided_by_name' | 'decided_by_upn' | 'decision_justification'
>;
/** The columns of an evaluation the requester history reads. */
export type HistoryEvaluationRow = Pick<EvaluationRow, 'pim_request_id' | 'request_key' | 'evaluation_id' | 'outcome' | 'reasons' | 'created_at'>;

/** Open in the lifecycle: waiting for an approver, or an approver's decision being recorded. */
const OPEN = ['pending', 'recording'];
const CLOSED = [...FINAL_STATUSES];

/** Approval requests: one row per PIM request a human decides, its status moved only by the request lifecycle. */
export class RequestStore {
  constructor(
    private readonly db: Db,
    private readonly transaction: Transact,
  ) {}

  async get(id: string): Promise<ApprovalRequestRow | undefined> {
    return this.db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byPimId(pimRequestId: string): Promise<ApprovalRequestRow | undefined> {
    return this.db.selectFrom('approval_requests').selectAll().where('pim_request_id', '=', pimRequestId).executeTakeFirst();
  }

  /**
   * The request lifecycle's step, stored: moves `row` by `event` (see request-lifecycle.ts) and applies
   * `patch` with it, compare-and-swap on the version `row` was read at, so the status the lifecycle moved
   * from is the stored one. Returns the new row; undefined when someone else changed the row first, or when
   * the lifecycle refuses the event from that status (nothing is written either way). With audit entries,
   * the change and its audit rows commit together, and only if the swap won.
   */
  async transition(
    row: Pick<ApprovalRequestRow, 'id' | 'version' | 'status'>,
    event: RequestEvent,
    patch: RequestPatch = {},
    audit?: readonly AuditEntry[],
  ): Promise<ApprovalRequestRow | undefined> {
    if (!isRequestStatus(row.status)) throw new Error(`Request ${row.id} has status '${row.status}', which the request lifecycle does not know`);
    const step = transition(row.status, event);
    if (!step.ok) return undefined;
    return this.swap(row.id, row.version, { ...withoutStatus(patch), status: step.next }, audit);
  }

  /**
   * Compare-and-swap on what is not the status: applies `patch` only if the row still has `expectedVersion`,
   * bumping the version. Returns the new row, or undefined when someone else changed it first.
   */
  async update(id: string, expectedVersion: number, patch: RequestPatch, audit?: readonly AuditEntry[]): Promise<ApprovalRequestRow | undefined> {
    return this.swap(id, expectedVersion, withoutStatus(patch), audit);
  }

  private async swap(
    id: string,
    expectedVersion: number,
    patch: Updateable<ApprovalRequestTable>,
    audit?: readonly AuditEntry[],
  ): Promise<ApprovalRequestRow | undefined> {
    // With audit entries: the change and its audit rows commit together, and only if the swap won.
    if (audit?.length && !this.db.isTransaction)
      return this.transaction((trx) => new RequestStore(trx, this.transaction).swap(id, expectedVersion, patch, audit));
    const updated = await this.db
      .updateTable('approval_requests')
      .set({ ...patch, version: expectedVersion + 1, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .where('version', '=', expectedVersion)
      .returningAll()
      .executeTakeFirst();
    if (updated && audit?.length) await appendAudit(this.db, audit);
    return updated;
  }

  /**
   * Records an approval request that reached us as an escalation rather than through our own
   * evaluation. The evaluation for the same request key is reused when there is one (our endpoint
   * evaluated it first); `created` is false when the PIM request already has an approval request.
   */
  async insertEscalated(
    evaluation: Insertable<EvaluationTable>,
    approval: Insertable<ApprovalRequestTable>,
  ): Promise<{ row: ApprovalRequestRow; created: boolean }> {
    return this.transaction(async (trx) => {
      await trx
        .insertInto('evaluations')
        .values(evaluation)
        .onConflict((oc) => oc.column('request_key').doNothing())
        .execute();
      const { evaluation_id } = await trx
        .selectFrom('evaluations')
        .select('evaluation_id')
        .where('request_key', '=', evaluation.request_key)
        .executeTakeFirstOrThrow();
      const inserted = await trx
        .insertInto('approval_requests')
        .values({ ...approval, evaluation_id })
        .onConflict((oc) => oc.column('pim_request_id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { row: inserted, created: true };
      const existing = await trx.selectFrom('approval_requests').selectAll().where('pim_request_id', '=', approval.pim_request_id).executeTakeFirstOrThrow();
      return { row: existing, created: false };
    });
  }

  async withoutCards(limit = 20): Promise<ApprovalRequestRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('cards_posted_at', 'is', null)
      .where('unbound_at', 'is', null)
      .orderBy('created_at')
      .limit(limit)
      .execute();
  }

  /**
   * A page of requests with no card posted yet (and bound to PIM's copy), ordered by (created_at, id)
   * after `after`: the sweep pages through all of them, however many a burst left.
   */
  async withoutCardsAfter(after: PageCursor | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('cards_posted_at', 'is', null).where('unbound_at', 'is', null);
    if (after) q = q.where((eb) => eb.or([eb('created_at', '>', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)])]));
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /** No callout matches PIM's copy: the card waits (unbound) until one does. */
  async markUnbound(id: string, at: string | null, audit?: AuditEntry): Promise<void> {
    await this.transaction(async (trx) => {
      await trx.updateTable('approval_requests').set({ unbound_at: at }).where('id', '=', id).execute();
      if (audit) await appendAudit(trx, [audit]);
    });
  }

  /**
   * Binds a request that has no card yet to the callout whose content equals PIM's own copy: its
   * justification, ticket, evaluation, reasons, flags and check lines. Only while no card was posted.
   */
  async rebind(
    id: string,
    values: Pick<
      Updateable<ApprovalRequestTable>,
      | 'evaluation_id'
      | 'justification'
      | 'ticket_system'
      | 'ticket_number'
      | 'reasons'
      | 'risk_flags'
      | 'check_lines'
      | 'duration'
      | 'duration_minutes'
      | 'start_at'
    >,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('approval_requests')
      .set({ ...values, unbound_at: null })
      .where('id', '=', id)
      .where('cards_posted_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Requests with a posted copy rendered at an older version than the request's. */
  async withStaleCards(limit = 50): Promise<ApprovalRequestRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll('approval_requests')
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('card_posts')
            .select('card_posts.id')
            .whereRef('card_posts.request_id', '=', 'approval_requests.id')
            .whereRef('card_posts.rendered_version', '<', 'approval_requests.version'),
        ),
      )
      .limit(limit)
      .execute();
  }

  /** Requests that reached a final state (approved, denied, expired, cancelled) at or after `since`. */
  async closedSince(since: string, limit = 100): Promise<ApprovalRequestRow[]> {
    return (
      this.db
        .selectFrom('approval_requests')
        .selectAll()
        .where('status', 'in', CLOSED)
        .where('updated_at', '>=', since)
        // A request no callout bound to PIM's copy had no card: its requester is never told about it.
        .where('unbound_at', 'is', null)
        .orderBy('updated_at')
        .limit(limit)
        .execute()
    );
  }

  /**
   * A page of closed requests (approved, denied, expired, cancelled; bound to PIM's copy) updated at or
   * after `since`, whose requester has a personal chat with the bot and whose notice for the current
   * status (outbox key `notice:<id>:<status>`) was never queued: what is owed, not a window's oldest.
   * Ordered by (updated_at, id) after `after`. `since` only keeps the look-back inside the outbox's
   * retention (an older notice row may have been pruned; telling it again would be a duplicate).
   */
  async owingNotice(since: string, after: PageCursor | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db
      .selectFrom('approval_requests as r')
      .selectAll('r')
      .where('r.status', 'in', CLOSED)
      .where('r.updated_at', '>=', since)
      // A request no callout bound to PIM's copy had no card: its requester is never told about it.
      .where('r.unbound_at', 'is', null)
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('conversation_refs as c').select('c.aad_object_id').whereRef('c.aad_object_id', '=', 'r.principal_id')),
      )
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('outbox as o').select('o.id').where(sql<boolean>`o.dedupe_key = 'notice:' || r.id || ':' || r.status`))),
      );
    if (after) q = q.where((eb) => eb.or([eb('r.updated_at', '>', after.at), eb.and([eb('r.updated_at', '=', after.at), eb('r.id', '>', after.id)])]));
    return q.orderBy('r.updated_at').orderBy('r.id').limit(limit).execute();
  }

  /** Claims older than `before`: the process that held them died or lost its Graph call. */
  async staleClaims(before: string, limit = 20): Promise<ApprovalRequestRow[]> {
    return this.db.selectFrom('approval_requests').selectAll().where('status', '=', 'recording').where('claimed_at', '<', before).limit(limit).execute();
  }

  async markCardsPosted(id: string, display: string, at = new Date().toISOString()): Promise<void> {
    await this.db.updateTable('approval_requests').set({ cards_posted_at: at, display }).where('id', '=', id).execute();
  }

  async setDisplay(id: string, display: string): Promise<void> {
    await this.db.updateTable('approval_requests').set({ display }).where('id', '=', id).execute();
  }

  /** The approval row for a request of this principal, role and scope created since a time. */
  async latestFor(kind: string, principalId: string, roleDefinitionId: string, scope: string, since: string): Promise<ApprovalRequestRow | undefined> {
    return newestFor(this.db, 'approval_requests', { kind, principalId, roleDefinitionId, scope, since });
  }

  /**
   * One person's earlier requests and evaluations for one role and scope, newest first (the card's
   * requester history): approval rows say who decided and why, evaluations what the decision service
   * answered without a person. Capped: the card needs the last few months, not everything.
   */
  async history(m: {
    kind: string;
    principalId: string;
    roleDefinitionId: string;
    scope: string;
    limit?: number;
  }): Promise<{ approvals: HistoryApprovalRow[]; evaluations: HistoryEvaluationRow[] }> {
    const limit = m.limit ?? 200;
    const principal = m.principalId.toLowerCase();
    // The columns the history uses only: a card is posted after this read, and whole rows (display, request
    // JSON) made it the costliest read of a card for a requester with many requests.
    const [approvals, evaluations] = await Promise.all([
      this.db
        .selectFrom('approval_requests')
        .select(['pim_request_id', 'status', 'created_at', 'decided_by_name', 'decided_by_upn', 'decision_justification'])
        .where('principal_id', '=', principal)
        .where('kind', '=', m.kind)
        .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
        .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
      this.db
        .selectFrom('evaluations')
        .select(['pim_request_id', 'request_key', 'evaluation_id', 'outcome', 'reasons', 'created_at'])
        .where('principal_id', '=', principal)
        .where('kind', '=', m.kind)
        .where((eb) => eb.fn('lower', ['role_definition_id']), '=', m.roleDefinitionId.toLowerCase())
        .where((eb) => eb.fn('lower', ['scope']), '=', m.scope.toLowerCase())
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute(),
    ]);
    return { approvals, evaluations };
  }

  /** Records the reminder ladder's progress; no version bump, since the cards do not show it. */
  async recordLadder(id: string, patch: { nudge_count?: number; escalated_at?: string }, audit?: AuditEntry): Promise<void> {
    if (!audit) {
      await this.db.updateTable('approval_requests').set(patch).where('id', '=', id).execute();
      return;
    }
    await this.transaction(async (trx) => {
      await trx.updateTable('approval_requests').set(patch).where('id', '=', id).execute();
      await appendAudit(trx, [audit]);
    });
  }

  /** Presence routing: an approver was reachable at this check. */
  async recordApproversReachable(id: string, at: string): Promise<void> {
    await this.db.updateTable('approval_requests').set({ approvers_reachable_at: at }).where('id', '=', id).execute();
  }

  /**
   * Compare-and-swap: marks an open request escalated early, unless it escalated already. True for the one
   * caller (replica, retry) that may send the escalation.
   */
  async claimEarlyEscalation(id: string, at: string): Promise<boolean> {
    const r = await this.db
      .updateTable('approval_requests')
      .set({ escalated_at: at, escalated_early: 1 })
      .where('id', '=', id)
      .where('escalated_at', 'is', null)
      .where('status', 'in', OPEN)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Undoes this caller's early-escalation claim when sending it failed, so a retry sends it. */
  async releaseEarlyEscalation(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('approval_requests')
      .set({ escalated_at: null, escalated_early: 0 })
      .where('id', '=', id)
      .where('escalated_at', '=', at)
      .where('escalated_early', '=', 1)
      .execute();
  }

  /** Compare-and-swap on the requester's last reminder time: true for the one caller that may send a reminder now. */
  async claimRequesterReminder(id: string, previous: string | null, at: string): Promise<boolean> {
    let q = this.db.updateTable('approval_requests').set({ requester_reminded_at: at }).where('id', '=', id);
    q = previous === null ? q.where('requester_reminded_at', 'is', null) : q.where('requester_reminded_at', '=', previous);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Requests still waiting for an approver (pending, or a decision being recorded), oldest first. */
  async waiting(limit = 500): Promise<ApprovalRequestRow[]> {
    return this.db.selectFrom('approval_requests').selectAll().where('status', 'in', OPEN).orderBy('created_at').limit(limit).execute();
  }

  /**
   * One page of `pending` requests of a kind, oldest first, after the keyset `after` (created_at, id):
   * stable while rows of the page leave `pending`, so a reconciler closing rows never skips one.
   */
  async pendingPage(kind: string, after: { createdAt: string; id: string } | null, limit = 100): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('status', '=', 'pending').where('kind', '=', kind);
    if (after) {
      q = q.where((eb) => eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]));
    }
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /**
   * One page of a person's own requests, newest first, before the keyset `before` (created_at, id): the tab's
   * "My requests". Stable while new requests arrive, since a new row sorts before the first page.
   */
  async byPrincipalPage(principalId: string, before: PageCursor | null, limit = 50): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('principal_id', '=', principalId.toLowerCase());
    if (before) {
      q = q.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('id', '<', before.id)])]));
    }
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }
}

/** The tab's reads over a date range (services/tab): keyset pages, bounded by the caller. */
export class RequestRangeReads {
  constructor(private readonly db: Db) {}

  /** Requests created in [from, to) (ISO), oldest first, after the keyset `after` (created_at, id). */
  async createdPage(from: string, to: string, after: { createdAt: string; id: string } | null, limit = 1000): Promise<ApprovalRequestRow[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('created_at', '>=', from).where('created_at', '<', to);
    if (after) {
      q = q.where((eb) => eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]));
    }
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /** Requests `deciderId` approved or denied since `since` (ISO), newest decision first. */
  async decidedBy(deciderId: string, since: string, limit = 500): Promise<ApprovalRequestRow[]> {
    return this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('decided_by_id', '=', deciderId.toLowerCase())
      .where('status', 'in', ['approved', 'denied'])
      .where('decided_at', '>=', since)
      .orderBy('decided_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** The decision endpoint's answers in [from, to), counted by outcome (AutoApproved, Denied, Approved). */
  async evaluationOutcomes(from: string, to: string, roleDefinitionId?: string): Promise<Array<{ outcome: string; count: number }>> {
    let q = this.db
      .selectFrom('evaluations')
      .select((eb) => ['outcome', eb.fn.countAll<number | string>().as('n')])
      .where('created_at', '>=', from)
      .where('created_at', '<', to);
    if (roleDefinitionId) q = q.where('role_definition_id', '=', roleDefinitionId);
    const rows = await q.groupBy('outcome').execute();
    return rows.map((r) => ({ outcome: r.outcome, count: Number(r.n) }));
  }
}

/** A patch typed without a status may still carry one at run time (a cast, a spread row): refused, not written. */
function withoutStatus(patch: RequestPatch): RequestPatch {
  if ('status' in patch) throw new Error('A request status changes only through RequestStore.transition, by a request lifecycle event');
  return patch;
}
