import type { Generated } from 'kysely';
/**
 * The outbox's table (see queue.ts): one row per message to send, post, update or thread reply.
 * Times are ISO-8601 UTC strings like every other table, so they compare as text.
 */
export interface OutboxTable {
  id: string;
  conversation_id: string;
  service_url: string;
  /** post | update | reply */
  kind: string;
  /** The message an update rewrites; null for posts and replies. */
  activity_id: string | null;
  /** The message a reply goes under (a channel thread); null otherwise. */
  reply_to_id: string | null;
  /** The card or text to send (JSON, a small bounded document). Never logged. */
  payload: string;
  /** Unique: enqueueing the same thing twice is a no-op that returns the first row. */
  dedupe_key: string;
  /**
   * pending | sending | sent | failed, and for collapse: held (waiting for its minute to close),
   * summarized (listed on a summary card, see summary_id), superseded (a newer update replaced it).
   */
  status: string;
  /** Sends that ended in an error counted against the cap (429s are not counted). */
  attempts: number;
  not_before: string;
  /** Who holds a `sending` row and until when; an expired lease is taken over by another instance. */
  lease_owner: string | null;
  lease_until: string | null;
  /** A short reason (status code and message), never the payload. */
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  /** The id Teams gave the posted message; for a summarized row, the summary's message id. */
  result_activity_id: string | null;
  /** Ids the caller wants back in onSent (JSON), e.g. {requestId, version}. */
  meta: string | null;
  /** Orders updates of one message: an update never replaces a newer one. Null when the caller gives none. */
  revision: number | null;
  /** For collapsible posts (approval cards): what a summary card lists about it (JSON). */
  summary_entry: string | null;
  /** Start of the per-channel minute this collapsible post was counted in. */
  window_start: string | null;
  /** The summary row that lists this row (status summarized), or for a summary row null. */
  summary_id: string | null;
  /** For a summary row: the ids of the rows it lists (JSON array), so any instance can finish marking them. */
  covered_ids: string | null;
  /** When the attempt now (or last) in flight began: a copy from it may be in Teams even if no answer came. */
  attempt_started_at: Generated<string | null>;
  /**
   * For a post or reply: when the earliest attempt that may have landed began (its answer was lost, or the
   * sender died). Before sending again the outbox looks for that copy in the conversation.
   */
  uncertain_since: Generated<string | null>;
  /** A sent row whose earlier attempt was uncertain: look once more then, and delete a late second copy. */
  verify_at: Generated<string | null>;
}

/**
 * The shared pace (shared-pace.ts): one row per send any replica took a slot for, kept for the longest
 * Teams window (an hour), so every replica counts the others' sends.
 */
export interface PaceSendTable {
  /** Names the slot for settle and release (a random UUID). */
  id: string;
  conversation_id: string;
  reserved_at: string;
  /** The latest the message can reach Teams: its answer's time once settled, until then reserved_at + the in-flight bound. */
  arrives_by: string;
}

/** A 429's Retry-After, seen by every replica: a conversation id, or 'tenant' for all of them. */
export interface PacePauseTable {
  scope: string;
  until: string;
}
