/** Helpers for the digest tests: the simulator, the bot's production Graph client, store rows. */
import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import { createGraphClient } from '../../services/graph/graph-client';
import type { SimHandle } from '../../sim/server';
import { botAppCredential } from '../../sim/test-support';
import type { Store } from '../../services/store/store';
import type { ApprovalRequestTable, EvaluationTable } from '../../services/store/schema';
import { GraphTenantReader, type TenantReaderOptions } from '../../services/digests/tenant-reader';

/** The reader exactly as the bot builds it: client credentials against the simulator's Entra. */
export function tenantReader(sim: SimHandle, opts?: TenantReaderOptions): GraphTenantReader {
  return new GraphTenantReader(createGraphClient(sim.url, botAppCredential(sim)), opts);
}

/** Graph HTTP requests the simulator logged since `from` (an index into its call log): no token requests, no batch items. */
export function graphCallsSince(sim: SimHandle, from: number): number {
  return sim.state.calls.slice(from).filter((c) => /^\/(v1\.0|beta)\//.test(c.path) && !('batchItemOf' in c)).length;
}

export interface ApprovalRowInput {
  principalId: string;
  status?: string;
  kind?: string;
  roleDefinitionId?: string;
  scope?: string;
  decidedById?: string | null;
  decidedByName?: string | null;
  decidedAt?: string | null;
  createdAt?: string;
  justification?: string;
}

/** Stores an approval request (with its evaluation) as the decision endpoint would, in a given state. */
export async function insertApproval(store: Store, r: ApprovalRowInput): Promise<string> {
  const id = randomUUID();
  const pimRequestId = randomUUID();
  const created = r.createdAt ?? new Date().toISOString();
  const evaluation: Insertable<EvaluationTable> = {
    evaluation_id: randomUUID(),
    request_key: pimRequestId,
    pim_request_id: pimRequestId,
    kind: r.kind ?? 'entraRole',
    principal_id: r.principalId,
    role_definition_id: r.roleDefinitionId ?? '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
    scope: r.scope ?? '/',
    outcome: 'Approved',
    would_be: 'Approved',
    mode: 'enforce',
    reasons: '[]',
    checks: '[]',
    latency_ms: 5,
    created_at: created,
  };
  const approval: Insertable<ApprovalRequestTable> = {
    id,
    pim_request_id: pimRequestId,
    evaluation_id: evaluation.evaluation_id,
    kind: evaluation.kind,
    principal_id: r.principalId,
    role_definition_id: evaluation.role_definition_id,
    scope: evaluation.scope,
    justification: r.justification ?? 'Investigating INC0012345',
    ticket_system: 'ServiceNow',
    ticket_number: 'INC0012345',
    duration: 'PT1H',
    duration_minutes: 60,
    start_at: null,
    risk_flags: '[]',
    reasons: '[]',
    status: r.status ?? 'pending',
    version: 1,
    claimed_by: null,
    claimed_at: null,
    claimed_result: null,
    decided_by_id: r.decidedById ?? null,
    decided_by_upn: null,
    decided_by_name: r.decidedByName ?? null,
    decided_at: r.decidedAt ?? null,
    decision_justification: r.decidedAt ? 'Matches the incident.' : null,
    display: null,
    cards_posted_at: null,
    created_at: created,
    expires_at: new Date(Date.parse(created) + 24 * 3600 * 1000).toISOString(),
    updated_at: created,
  };
  await store.evaluations.insert(evaluation, approval);
  return id;
}
