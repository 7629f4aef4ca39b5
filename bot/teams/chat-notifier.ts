import { type Attachment, CardFactory, type CloudAdapter, type ConversationReference, MessageFactory, type TurnContext } from 'botbuilder';
import type { ChannelTarget } from '../../services/config/config';
import { type ChatNotifier, escapeXml } from '../../services/teams/chat-notifier';

/** The port this adapter implements; re-exported for the bot's own callers. */
export type { ChatNotifier } from '../../services/teams/chat-notifier';
export { escapeXml } from '../../services/teams/chat-notifier';

/** The Bot Connector implementation of the flows' ChatNotifier port: proactive turns on the CloudAdapter. */
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
