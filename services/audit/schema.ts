/**
 * The audit trail: one row per thing the bot did or decided, appended in `seq` order and never changed.
 * Each row's `hash` is sha256(prev_hash || canonical JSON of its other fields), so an edited or deleted row
 * breaks the chain (see verify-chain.ts). Append-only is also enforced by triggers (see migration.ts).
 */
export interface AuditLogTable {
  /** 1, 2, 3, … without gaps: a missing number is a deleted row. */
  seq: number;
  /** When it happened, ISO 8601 UTC. */
  at: string;
  /** evaluation | card.decision | graph.result | nudge | escalation | digest.action | self_activation */
  kind: string;
  /** Who acted: an Entra object id, or `bot` for the bot's own timers. */
  actor: string;
  pim_request_id: string | null;
  /** Our approval request id (approval_requests.id), when there is one. */
  request_id: string | null;
  /** The evaluationId returned to PIM (and written to PIM's own audit log). */
  evaluation_id: string | null;
  outcome: string;
  /** Canonical JSON of a small, bounded object: never tokens or whole payloads. */
  details: string;
  prev_hash: string;
  hash: string;
  /**
   * `<batch>:<index>` for rows appended by `AuditTrail.record` (one random batch id per call), so a retry
   * after a COMMIT whose answer was lost finds its rows instead of appending them again; unique. Null for
   * rows appended inside a state change's transaction, and for rows written before the column existed.
   * Not covered by the hash: the chain's fields stay as they were, and old rows verify unchanged.
   */
  entry_key?: string | null;
}
