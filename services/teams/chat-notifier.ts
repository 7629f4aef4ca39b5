import type { ChannelTarget } from '../config/config';

/**
 * A stored Bot Framework conversation reference (a user's personal chat), as botbuilder's
 * `Partial<ConversationReference>`; the flows only pass it through, so its shape is the adapter's business.
 */
export type ConversationReferenceLike = object;

/** Port: what the approval flows need from Teams. The Bot Connector adapter (bot/teams/chat-notifier.ts) implements it. */
export interface ChatNotifier {
  /** Posts a card as a new message in a channel; returns the activity id of the posted message. */
  postCard(target: ChannelTarget, card: object): Promise<string>;
  updateCard(target: ChannelTarget, activityId: string, card: object): Promise<void>;
  /** Sends a message on a stored conversation reference (a user's personal chat); returns its id ('' if Teams gave none). */
  sendText(reference: ConversationReferenceLike, text: string): Promise<string>;
  /** Sends a card on a stored conversation reference; returns the message id, for later updates. */
  sendCardTo(reference: ConversationReferenceLike, card: object): Promise<string>;
  /**
   * Replies in the thread of a channel post, @mentioning people (by Entra object id) so Teams notifies them.
   * Each `<at>name</at>` in the text is backed by one mention entity.
   */
  replyInThread(target: ChannelTarget, rootActivityId: string, text: string, mentions: Array<{ id: string; name: string }>): Promise<string>;
  /** Rewrites a message the bot sent on a stored conversation reference. */
  updateCardAt(reference: ConversationReferenceLike, activityId: string, card: object): Promise<void>;
  /** Deletes a message the bot sent (a second copy of a post whose first answer was lost). */
  deleteMessage(reference: ConversationReferenceLike, activityId: string): Promise<void>;
}

/** Names go inside <at> tags of an XML-format message: angle brackets and ampersands must not break out. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
