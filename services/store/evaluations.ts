import type { Insertable, Selectable } from 'kysely';
import { appendAudit, type AuditEntry } from '../audit/audit-trail';
import { type Db, newestFor, type Transact } from './database';
import type { ApprovalRequestTable, EvaluationTable } from './schema';

export type EvaluationRow = Selectable<EvaluationTable>;

/** Evaluations: what the decision endpoint answered PIM, one row per request key. */
export class EvaluationStore {
  constructor(
    private readonly db: Db,
    private readonly transaction: Transact,
  ) {}

  async find(requestKey: string): Promise<EvaluationRow | undefined> {
    return this.db.selectFrom('evaluations').selectAll().where('request_key', '=', requestKey).executeTakeFirst();
  }

  /**
   * Records an evaluation, unless one exists for the same request key (a PIM retry racing the first
   * call): then the stored one wins and is returned, so both answers carry the same evaluationId. The
   * approval request it opens (`pending`: the lifecycle's first state) and its audit rows commit with it, and
   * so do `also`'s writes (a break-glass grant and its jobs), only when this call created the evaluation.
   */
  async insert(
    row: Insertable<EvaluationTable>,
    approval?: Insertable<ApprovalRequestTable>,
    audit?: AuditEntry | AuditEntry[],
    also?: (trx: Db) => Promise<void>,
  ): Promise<{ row: EvaluationRow; created: boolean; approvalCreated: boolean }> {
    return this.transaction(async (trx) => {
      const inserted = await trx
        .insertInto('evaluations')
        .values(row)
        .onConflict((oc) => oc.column('request_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) {
        const existing = await trx.selectFrom('evaluations').selectAll().where('request_key', '=', row.request_key).executeTakeFirstOrThrow();
        return { row: existing, created: false, approvalCreated: false };
      }
      // Whether this call's approval row went in (another body for the same PIM request may hold the id).
      let approvalCreated = false;
      if (approval) {
        const r = await trx
          .insertInto('approval_requests')
          .values(approval)
          .onConflict((oc) => oc.column('pim_request_id').doNothing())
          .executeTakeFirst();
        approvalCreated = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
      }
      // The audit row commits with the evaluation: no answer PIM logs without its audit record.
      if (audit) await appendAudit(trx, Array.isArray(audit) ? audit : [audit]);
      if (also) await also(trx);
      return { row: inserted, created: true, approvalCreated };
    });
  }

  /** Every evaluation stored for a request key: the first callout's, and those of other bodies for the same id (`key~digest`). */
  async forKey(requestKey: string): Promise<EvaluationRow[]> {
    const k = requestKey.replace(/[%_\\]/g, '');
    return this.db
      .selectFrom('evaluations')
      .selectAll()
      .where((eb) => eb.or([eb('request_key', '=', requestKey), eb('request_key', 'like', `${k}~%`), eb('request_key', 'like', `${k}:%`)]))
      .orderBy('created_at')
      .execute();
  }

  /** The newest evaluation of a request PIM filed with this id (Entra roles and groups carry it). */
  async byPimId(pimRequestId: string): Promise<EvaluationRow | undefined> {
    return this.db.selectFrom('evaluations').selectAll().where('pim_request_id', '=', pimRequestId).orderBy('created_at', 'desc').executeTakeFirst();
  }

  /** The newest evaluation for this principal, role and scope since a time (ARM bodies carry no request id). */
  async latestFor(kind: string, principalId: string, roleDefinitionId: string, scope: string, since: string): Promise<EvaluationRow | undefined> {
    return newestFor(this.db, 'evaluations', { kind, principalId, roleDefinitionId, scope, since });
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('evaluations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
