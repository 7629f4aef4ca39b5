import type { OutboxDelivery, OutboxSender } from '../../services/outbox/outbox';
import type { ChatNotifier } from './chat-notifier';

/**
 * The outbox's way to Teams: each stored message goes out through the Bot Connector calls the notifier
 * makes. Give it a notifier built with `{ retries: false }`: the outbox owns retries and must see a 429
 * (and its Retry-After) to pause the conversation, which the connector's own retry policy would hide.
 */
export class NotifierSender implements OutboxSender {
  constructor(private readonly notifier: ChatNotifier) {}

  async send(d: OutboxDelivery): Promise<{ activityId?: string }> {
    const target = { conversationId: d.conversationId, serviceUrl: d.serviceUrl };
    const p = d.payload;
    switch (d.kind) {
      case 'post': {
        // A personal chat (a requester's notice): posted on a reference to that 1:1 conversation.
        if (d.meta?.chat === 'personal') {
          const reference = {
            channelId: 'msteams',
            serviceUrl: d.serviceUrl,
            conversation: { id: d.conversationId, conversationType: 'personal', isGroup: false, name: '' },
          };
          if (p.type === 'text') return { activityId: (await this.notifier.sendText(reference, p.text)) || undefined };
          return { activityId: await this.notifier.sendCardTo(reference, p.card) };
        }
        if (p.type !== 'card') throw new Error('The outbox posts cards to channels; plain text goes as a reply in a thread');
        return { activityId: await this.notifier.postCard(target, p.card) };
      }
      case 'update':
        if (p.type !== 'card') throw new Error('Only cards are updated in place');
        await this.notifier.updateCard(target, d.activityId!, p.card);
        return { activityId: d.activityId! };
      case 'reply':
        if (p.type !== 'text') throw new Error('Replies in a thread are text with mentions');
        return { activityId: (await this.notifier.replyInThread(target, d.replyToId!, p.text, p.mentions ?? [])) || undefined };
    }
  }

  async remove(target: { conversationId: string; serviceUrl: string; personal: boolean }, activityId: string): Promise<void> {
    const reference = target.personal
      ? {
          channelId: 'msteams',
          serviceUrl: target.serviceUrl,
          conversation: { id: target.conversationId, conversationType: 'personal', isGroup: false, name: '' },
        }
      : {
          channelId: 'msteams',
          serviceUrl: target.serviceUrl,
          conversation: { id: target.conversationId, conversationType: 'channel', isGroup: true, name: '' },
        };
    await this.notifier.deleteMessage(reference, activityId);
  }
}
