import type { AdminDigest, UserDigest } from '../digests';
import type { OutboxPayload } from '../outbox/outbox';
import type { SummaryEntry } from '../outbox/summary';
import type { ApprovalView } from '../approvals/request-display';
import type { ApprovalRequestRow } from '../store/store';

/**
 * The ports the jobs' flows (card delivery, reminders, the reconciler, digests) render and send through.
 * services/ never imports cards/ or bot/: the composition root (bot/create-bot.ts) passes cards/' render
 * functions as these renderers, and bot/teams implements the sending ports.
 */

/** A rendered Adaptive Card's JSON (cards/adaptive-card.ts's AdaptiveCardJson is one); the flows only pass it on. */
export type CardJson = object;

/** A request as a line of a summary card: what the outbox lists a collapsed approval-card post with. */
export type SummaryLine = SummaryEntry;

/** Which summary card of its batch a re-rendered summary is. */
export interface SummaryBatch {
  part: number;
  parts: number;
  batchTotal: number;
}

/** The approval cards, rendered from a request row (cards/approval-view.ts's `approvalCardRenderers`). */
export interface ApprovalCardRenderers {
  /**
   * The request's approval card as `view` sees it (`message`: a line said on this rendering) and the request's
   * line for a summary card, from the same card data.
   */
  approvalCard(row: ApprovalRequestRow, view: ApprovalView, now: Date, message?: string | null): { card: CardJson; summary: SummaryLine };
  /** A summary card listing `rows` as they are now; `withNames` false leaves decider names out (to fit Teams' limit). */
  summaryCard(rows: readonly ApprovalRequestRow[], batch: SummaryBatch, now: Date, withNames: boolean): CardJson;
  /** The requester's notice that PIM dropped their request, with a one-tap ask-again. */
  reRequestNotice(data: { text: string; requestId: string }): CardJson;
}

/** The daily digest cards (cards/digest). */
export interface DigestCardRenderers {
  /** `answers`: what a click on an entry did, by entry (`kind|role|scope|assignment`, lower case), shown under it. */
  userDigestCard(data: { digest: UserDigest; targetNames: ReadonlyMap<string, string>; answers?: ReadonlyMap<string, string> }): CardJson;
  /** `answers`: what a review click on a spot-audit entry did, by request id, shown under it. */
  adminDigestCards(data: {
    digest: AdminDigest;
    names: { users: ReadonlyMap<string, string>; targets: ReadonlyMap<string, string> };
    answers?: ReadonlyMap<string, string>;
  }): CardJson[];
}

/** Messages to one person's personal chat about a request (CardDelivery implements it, through the outbox). */
export interface RequesterNotices {
  /**
   * Queues a message to the personal chat of `row.principal_id`, once per request and `key`; false when the bot
   * has no chat with them. A payload function is given that person's time zone (read only when there is a chat).
   */
  tellRequester(row: ApprovalRequestRow, key: string, payload: OutboxPayload | ((timeZone: string) => OutboxPayload)): Promise<boolean>;
}
