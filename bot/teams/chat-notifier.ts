import { type Attachment, CardFactory, type CloudAdapter, type ConversationReference, MessageFactory, type TurnContext } from 'botbuilder';
import type { ChannelTarget } from '../services/config/config';

/** Port: what the approval flows need from Teams. Adapters hold the Bot Connector calls. */
export interface ChatNotifier {
  /** Posts a card as a new message in a channel; returns the activity id of the posted message. */
  postCard(target: ChannelTarget, card: object): Promise<string>;
  updateCard(target: ChannelTarget, activityId: string, card: object): Promise<void>;
  /** Sends a message on a stored conversation reference (a user's personal chat); returns its id ('' if Teams gave none). */
  sendText(reference: Partial<ConversationReference>, text: string): Promise<string>;
  /** Sends a card on a stored conversation reference; returns the message id, for later updates. */
  sendCardTo(reference: Partial<ConversationReference>, card: object): Promise<string>;
  /**
   * Replies in the thread of a channel post, @mentioning people (by Entra object id) so Teams notifies them.
   * Each `<at>name</at>` in the text is backed by one mention entity.
   */
  replyInThread(target: ChannelTarget, rootActivityId: string, text: string, mentions: Array<{ id: string; name: string }>): Promise<string>;
  /** Rewrites a message the bot sent on a stored conversation reference. */
  updateCardAt(reference: Partial<ConversationReference>, activityId: string, card: object): Promise<void>;
  /** Deletes a message the bot sent (a second copy of a post whose first answer was lost). */
  deleteMessage(reference: Partial<ConversationReference>, activityId: string): Promise<void>;
}

export class TeamsChatNotifier implements ChatNotifier {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly tenantId: string,
    /**
     * retries false: one HTTP call per send, errors (a 429 with its Retry-After) straight to the caller; for
     * the outbox. onThrottled: told of every 429 the Bot Connector answers (each attempt, retried or not).
     */
    private readonly options: { retries?: boolean; onThrottled?: () => void } = {},
  ) {}

  async postCard(target: ChannelTarget, card: object): Promise<string> {
    const sent = await this.within(this.channelReference(target), (ctx) => ctx.sendActivity(MessageFactory.attachment(asAttachment(card))));
    if (!sent?.id) throw new Error('Teams accepted the card but returned no message id');
    return sent.id;
  }

  async updateCard(target: ChannelTarget, activityId: string, card: object): Promise<void> {
    await this.within(this.channelReference(target), async (ctx) => {
      const activity = MessageFactory.attachment(asAttachment(card));
      activity.id = activityId;
      await ctx.updateActivity(activity);
    });
  }

  async sendText(reference: Partial<ConversationReference>, text: string): Promise<string> {
    const sent = await this.within(reference, (ctx) => ctx.sendActivity(MessageFactory.text(text)));
    return sent?.id ?? '';
  }

  async sendCardTo(reference: Partial<ConversationReference>, card: object): Promise<string> {
    const sent = await this.within(reference, (ctx) => ctx.sendActivity(MessageFactory.attachment(asAttachment(card))));
    if (!sent?.id) throw new Error('Teams accepted the card but returned no message id');
    return sent.id;
  }

  async replyInThread(target: ChannelTarget, rootActivityId: string, text: string, mentions: Array<{ id: string; name: string }>): Promise<string> {
    const reference = this.channelReference({ ...target, conversationId: `${target.conversationId};messageid=${rootActivityId}` });
    const sent = await this.within(reference, (ctx) =>
      ctx.sendActivity({
        type: 'message',
        text,
        textFormat: 'xml',
        entities: mentions.map((m) => ({ type: 'mention', text: `<at>${escapeXml(m.name)}</at>`, mentioned: { id: m.id, name: m.name } })),
      }),
    );
    return sent?.id ?? '';
  }

  async updateCardAt(reference: Partial<ConversationReference>, activityId: string, card: object): Promise<void> {
    await this.within(reference, async (ctx) => {
      const activity = MessageFactory.attachment(asAttachment(card));
      activity.id = activityId;
      await ctx.updateActivity(activity);
    });
  }

  async deleteMessage(reference: Partial<ConversationReference>, activityId: string): Promise<void> {
    await this.within(reference, (ctx) => ctx.deleteActivity(activityId));
  }

  /**
   * Runs `work` in a proactive turn and hands back its result or error. The adapter routes errors in a
   * turn to onTurnError, which would hide a failed post from the caller (and from the retry sweep).
   */
  private async within<T>(reference: Partial<ConversationReference>, work: (ctx: TurnContext) => Promise<T>): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    await this.adapter.continueConversationAsync(this.botAppId, reference, async (ctx) => {
      if (this.options.retries === false) withoutRetries(ctx);
      if (this.options.onThrottled) countThrottling(ctx, this.options.onThrottled);
      try {
        outcome = { ok: true, value: await work(ctx) };
      } catch (error) {
        outcome = { ok: false, error };
      }
    });
    if (!outcome) throw new Error('The proactive turn did not run');
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private channelReference(target: ChannelTarget): Partial<ConversationReference> {
    return {
      channelId: 'msteams',
      serviceUrl: target.serviceUrl,
      conversation: { id: target.conversationId, isGroup: true, conversationType: 'channel', tenantId: this.tenantId, name: '' },
      bot: { id: this.botAppId, name: '' },
    };
  }
}

/** Names go inside <at> tags of an XML-format message: angle brackets and ampersands must not break out. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The Bot Connector client retries 429s and 5xx itself (core-rest-pipeline's `defaultRetryPolicy`),
 * which hides Teams' throttling from whoever paces the sends. The client is made for this turn only.
 */
function withoutRetries(ctx: TurnContext): void {
  const client = ctx.turnState.get(ctx.adapter.ConnectorClientKey) as { client?: { pipeline?: { removePolicy(p: { name: string }): unknown } } } | undefined;
  const pipeline = client?.client?.pipeline;
  if (!pipeline) throw new Error('The Bot Connector client has no pipeline to take the retry policy out of (botbuilder changed?)');
  pipeline.removePolicy({ name: 'defaultRetryPolicy' });
}

/**
 * Sees every response of the turn's Bot Connector client, after its retry policy (phase Sign runs
 * closest to the wire), so each 429 counts even when the client retries it itself.
 */
function countThrottling(ctx: TurnContext, onThrottled: () => void): void {
  const client = ctx.turnState.get(ctx.adapter.ConnectorClientKey) as { client?: { pipeline?: { addPolicy(p: object, o?: object): unknown } } } | undefined;
  client?.client?.pipeline?.addPolicy(
    {
      name: 'countThrottling',
      async sendRequest(request: unknown, next: (r: unknown) => Promise<{ status: number }>) {
        const response = await next(request);
        if (response.status === 429) onThrottled();
        return response;
      },
    },
    { phase: 'Sign' },
  );
}

function asAttachment(card: object): Attachment {
  return CardFactory.adaptiveCard(card);
}
