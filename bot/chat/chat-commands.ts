import type { TurnContext } from 'botbuilder';
import type { ChatVerbName } from '../../cards/chat';
import type { InvokeBody } from '../teams/invoke-answers';
import { ChatCardActions } from './chat-card-actions';
import { ChatMessages } from './chat-messages';
import { type ChatCommandDeps, ChatReplies } from './chat-replies';

export type { ChatCommandDeps } from './chat-replies';

/**
 * Elevation by chat, as the Teams app wires it: messages in the personal chat and sign-in (chat-messages.ts),
 * and the chat cards' actions (chat-card-actions.ts); the submission to PIM is the Teams-free use case in
 * services/chat/submit-activation.ts. Every card action is authorised against the stored draft or request,
 * never against the card's data.
 */
export class ChatCommands {
  private readonly messages: ChatMessages;
  private readonly cardActions: ChatCardActions;

  constructor(deps: ChatCommandDeps) {
    const replies = new ChatReplies(deps);
    this.messages = new ChatMessages(deps, replies);
    this.cardActions = new ChatCardActions(deps, replies);
  }

  /** A message in the personal chat. */
  onMessage(ctx: TurnContext): Promise<void> {
    return this.messages.onMessage(ctx);
  }

  /** `signin/tokenExchange` and `signin/verifyState`: finish sign-in, then run the command the user typed before. */
  onSignIn(ctx: TurnContext): Promise<{ status: number; body?: unknown }> {
    return this.messages.onSignIn(ctx);
  }

  /** A click on a chat card; `verb` is the one the card-action registry routed here. */
  onAction(ctx: TurnContext, verb: ChatVerbName): Promise<InvokeBody> {
    return this.cardActions.onAction(ctx, verb);
  }
}
