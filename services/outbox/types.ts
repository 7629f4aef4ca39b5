/**
 * The outbox's shared types: what callers enqueue and get back, what the sender port receives, and the
 * stored row. Every module of the outbox (and sent-copies.ts) imports these from here, never from outbox.ts.
 */
import type { Selectable } from 'kysely';
import type { OutboxTable } from './schema';
import type { SummaryEntry } from './summary';

export type OutboxKind = 'post' | 'update' | 'reply';
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'held' | 'summarized' | 'superseded';

/** What to send: a card (an Adaptive Card's JSON) or a plain-text message. */
export type OutboxPayload = { type: 'card'; card: object } | { type: 'text'; text: string; mentions?: Array<{ id: string; name: string }> };

/** Small ids the caller gets back when the message is sent (never the payload). */
export type OutboxMeta = Record<string, string | number | boolean | null>;

export interface OutboxMessage {
  conversationId: string;
  serviceUrl: string;
  kind: OutboxKind;
  /** For an update: the message to rewrite. */
  activityId?: string;
  /** For a reply: the message (thread root) to reply under. */
  replyToId?: string;
  payload: OutboxPayload;
  /** Unique per thing to send, e.g. `card:<requestId>:v<version>:<conversationId>`; a repeat is a no-op. */
  dedupeKey: string;
  meta?: OutboxMeta;
  /** For updates: an update never replaces one with a higher revision (e.g. the request's version). */
  revision?: number;
  /** For approval-card posts: makes the post collapsible into a summary card, listed with these details. */
  summary?: SummaryEntry;
  /** Do not send before this time. */
  notBefore?: Date;
}

/** What the sender port receives. */
export interface OutboxDelivery {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  serviceUrl: string;
  activityId: string | null;
  replyToId: string | null;
  payload: OutboxPayload;
  /** 1 for the first try. */
  attempt: number;
  meta: OutboxMeta | null;
}

/**
 * The port the outbox sends through (the bot adapts ChatNotifier to it). Errors should carry
 * `statusCode` or `status`, and for a 429 `retryAfterMs` or the response's Retry-After header.
 */
export interface OutboxSender {
  send(item: OutboxDelivery): Promise<{ activityId?: string }>;
  /** Deletes a message (a second copy of a post whose first answer was lost); without it extras stay. */
  remove?(target: { conversationId: string; serviceUrl: string; personal: boolean }, activityId: string): Promise<void>;
}

/** A row a summary card listed in its place. */
export interface CoveredItem {
  id: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  entry: SummaryEntry;
}

export interface SentItem {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  serviceUrl: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  /** The posted message's id (for an update, the updated message's). */
  activityId: string | null;
  sentAt: Date;
  /** For a summary card: the requests it lists (empty otherwise). */
  covers: CoveredItem[];
}

export interface FailedItem {
  id: string;
  kind: OutboxKind;
  conversationId: string;
  dedupeKey: string;
  meta: OutboxMeta | null;
  attempts: number;
  lastError: string;
}

export interface EnqueueResult {
  id: string;
  /** False when the dedupe key was already there: the existing row's state is returned. */
  created: boolean;
  status: OutboxStatus;
  /** The sent message's id once there is one (for a summarized row, the summary's). */
  resultActivityId: string | null;
}

export interface DrainResult {
  sent: number;
  throttled: number;
  retried: number;
  failed: number;
  summaries: number;
}

/**
 * What became of a post that may already be in Teams: found (recorded, not sent again), absent (sent
 * again), unchecked (could not look; sent again), removed (a second copy deleted), waiting (looking again later).
 */
export type UncertainResult = 'found' | 'absent' | 'unchecked' | 'removed' | 'waiting';

/** How one send ended, as counted by the metrics. */
export type SendOutcome = 'sent' | 'throttled' | 'retry' | 'failed';

/** Counts each send's result (sent, throttled, retry, failed) and what became of uncertain posts. */
export interface OutboxMetrics {
  teamsSend(result: SendOutcome): void;
  uncertainSend?(result: UncertainResult): void;
}

export type SendFailure =
  | { kind: 'throttled'; retryAfterMs: number | null; summary: string }
  | { kind: 'transient'; summary: string }
  | { kind: 'permanent'; summary: string };

/** A stored outbox row. */
export type OutboxRow = Selectable<OutboxTable>;
/** A due row's ids and routing (the claim reads the rest). */
export type DueRow = Pick<OutboxRow, 'id' | 'conversation_id' | 'kind' | 'activity_id'>;
