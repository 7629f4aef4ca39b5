import { Attachment, CardFactory, CloudAdapter, ConversationReference, MessageFactory } from 'botbuilder';
import type { ChannelTarget } from '../services/config/config';

/** Port: what the approval flows need from Teams. Adapters hold the Bot Connector calls. */
export interface ChatNotifier {
  /** Posts a card as a new message in a channel; returns the activity id of the posted message. */
  postCard(target: ChannelTarget, card: object): Promise<string>;
  updateCard(target: ChannelTarget, activityId: string, card: object): Promise<void>;
  /** Sends a message on a stored conversation reference (a user's personal chat). */
  sendText(reference: Partial<ConversationReference>, text: string): Promise<void>;
}

export class TeamsChatNotifier implements ChatNotifier {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly tenantId: string,
  ) {}

  async postCard(target: ChannelTarget, card: object): Promise<string> {
    let id: string | undefined;
    await this.adapter.continueConversationAsync(this.botAppId, this.channelReference(target), async (ctx) => {
      const sent = await ctx.sendActivity(MessageFactory.attachment(asAttachment(card)));
      id = sent?.id;
    });
    if (!id) throw new Error('Teams accepted the card but returned no message id');
    return id;
  }

  async updateCard(target: ChannelTarget, activityId: string, card: object): Promise<void> {
    await this.adapter.continueConversationAsync(this.botAppId, this.channelReference(target), async (ctx) => {
      const activity = MessageFactory.attachment(asAttachment(card));
      activity.id = activityId;
      await ctx.updateActivity(activity);
    });
  }

  async sendText(reference: Partial<ConversationReference>, text: string): Promise<void> {
    await this.adapter.continueConversationAsync(this.botAppId, reference, async (ctx) => {
      await ctx.sendActivity(MessageFactory.text(text));
    });
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

function asAttachment(card: object): Attachment {
  return CardFactory.adaptiveCard(card);
}
