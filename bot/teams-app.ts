import { ActivityTypes, TurnContext } from 'botbuilder';
import { Application, TeamsAdapter, TurnState } from '@microsoft/teams-ai';
import type { Logger } from 'pino';
import type { Store } from '../services/store/store';
import type { ApprovalActions } from './approval-actions';
import type { ChatCommands } from './chat/chat-commands';
import { DigestActions } from './digest-actions';

/**
 * The Teams surface: teams-ai routes. Card actions are an invoke route (answered first; Teams waits
 * only a few seconds). Installs and messages record the conversation reference so the bot can tell
 * requesters what happened.
 */
export function createTeamsApp(opts: { adapter: TeamsAdapter; botAppId: string; store: Store; actions: ApprovalActions; chat: ChatCommands; digestActions: DigestActions; log: Logger }): Application<TurnState> {
  const { adapter, botAppId, store, actions, chat, digestActions, log } = opts;
  const app = new Application<TurnState>({ adapter, botAppId, removeRecipientMention: true, startTypingTimer: false, longRunningMessages: false });

  app.addRoute(
    async (ctx) => ctx.activity.type === ActivityTypes.Invoke && ctx.activity.name === 'adaptiveCard/action',
    async (ctx) => {
      let body;
      const verb = String((ctx.activity.value as { action?: { verb?: unknown } } | undefined)?.action?.verb ?? '');
      try {
        body = verb.startsWith('chat.') ? await chat.onAction(ctx) : DigestActions.handles(verb) ? await digestActions.handle(ctx) : await actions.handle(ctx);
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'card action failed');
        body = { statusCode: 500, type: 'application/vnd.microsoft.error', value: { code: '500', message: 'The bot hit an error; nothing was recorded. Try again.' } };
      }
      await ctx.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body } });
    },
    true,
  );

  // Teams SSO in the personal chat: the token exchange behind the OAuth card, or the sign-in link's magic code.
  app.addRoute(
    async (ctx) => ctx.activity.type === ActivityTypes.Invoke && (ctx.activity.name === 'signin/tokenExchange' || ctx.activity.name === 'signin/verifyState'),
    async (ctx) => {
      let result: { status: number; body?: unknown };
      try {
        result = await chat.onSignIn(ctx);
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'sign-in failed');
        result = { status: 500 };
      }
      await ctx.sendActivity({ type: ActivityTypes.InvokeResponse, value: result });
    },
    true,
  );

  app.conversationUpdate('membersAdded', async (ctx) => {
    await rememberUser(ctx, store);
  });

  app.activity(ActivityTypes.InstallationUpdate, async (ctx) => {
    await rememberUser(ctx, store);
  });

  app.activity(ActivityTypes.Message, async (ctx) => {
    await rememberUser(ctx, store);
    if (ctx.activity.conversation?.conversationType === 'personal' || !ctx.activity.conversation?.isGroup) {
      await chat.onMessage(ctx);
    } else {
      await ctx.sendActivity('I take elevation requests in our personal chat, so your roles and reasons stay between us. Message me there.');
    }
  });

  return app;
}

async function rememberUser(ctx: TurnContext, store: Store): Promise<void> {
  const aad = ctx.activity.from?.aadObjectId;
  if (!aad || ctx.activity.conversation?.isGroup) return;
  const reference = TurnContext.getConversationReference(ctx.activity);
  await store.saveConversationRef(aad.toLowerCase(), reference);
}
