import type { IncomingMessage } from 'node:http';
import { ActivityTypes, TurnContext } from 'botbuilder';
import { Application } from '@microsoft/teams-ai/lib/Application';
import type { TeamsAdapter } from '@microsoft/teams-ai/lib/TeamsAdapter';
import type { TurnState } from '@microsoft/teams-ai/lib/TurnState';
import type { Logger } from 'pino';
import { z } from 'zod';
import { errorResult, HttpError, type HttpResult, requireJsonContentType } from '../http/http-body';
import type { Store } from '../../services/store/store';
import type { ApprovalActions } from './approval-actions';
import type { ChatCommands } from '../chat/chat-commands';
import type { DigestActions } from './digest-actions';
import type { ExtensionActions } from './extension-actions';
import type { EmergencyActions } from './emergency-actions';
import type { Metrics } from '../../services/observability/metrics';
import { isLoopbackServiceUrl } from '../http/demo-containment';
import { cardActionRegistry, createCardActions } from './card-actions';
import { errorAnswer, invokeResponse } from './invoke-answers';

/**
 * The Teams surface: teams-ai routes. Card actions are an invoke route (answered first; Teams waits
 * only a few seconds), routed by verb through the card-action registry (teams/card-actions.ts). Installs
 * and messages record the conversation reference so the bot can tell requesters what happened.
 */
export function createTeamsApp(opts: {
  adapter: TeamsAdapter;
  botAppId: string;
  store: Store;
  actions: ApprovalActions;
  chat: ChatCommands;
  digestActions: DigestActions;
  extensionActions: ExtensionActions;
  /** Break-glass cards' notes and reviews; absent (tests of other routes): every emergency click is refused. */
  emergencyActions?: Pick<EmergencyActions, 'handle'>;
  log: Logger;
  metrics?: Pick<Metrics, 'cardAction'>;
  /**
   * Demo (no channel authentication): run no turn for an activity whose serviceUrl is not on loopback, so
   * nothing is stored as a conversation and nothing is sent there. The HTTP route refuses such activities
   * first (bot/demo-containment.ts); this holds whatever the HTTP layer is.
   */
  loopbackServiceUrlsOnly?: boolean;
}): Application<TurnState> {
  const { adapter, botAppId, store, actions, chat, digestActions, extensionActions, emergencyActions, log } = opts;
  const app = new Application<TurnState>({ adapter, botAppId, removeRecipientMention: true, startTypingTimer: false, longRunningMessages: false });
  const answerCardAction = createCardActions(
    cardActionRegistry({
      approval: actions,
      chat,
      digest: digestActions,
      extension: extensionActions,
      emergency: emergencyActions ?? { handle: async () => errorAnswer(400, 'Break-glass cards are not handled here.') },
    }),
    { log, metrics: opts.metrics },
  );

  if (opts.loopbackServiceUrlsOnly) {
    app.turn('beforeTurn', async (ctx) => {
      if (isLoopbackServiceUrl(ctx.activity.serviceUrl)) return true;
      log.warn({ activityType: ctx.activity.type }, 'demo: activity with a serviceUrl off loopback refused; nothing stored or sent');
      if (ctx.activity.type === ActivityTypes.Invoke) {
        // Becomes the HTTP answer (botbuilder keeps invoke responses in the turn; nothing goes to the serviceUrl).
        const refused = errorResult(
          new HttpError(403, 'demo_service_url_not_allowed', "Demo mode talks only to a Bot Connector on loopback (the Teams playground's).", 'serviceUrl'),
        );
        await ctx.sendActivity(invokeResponse(refused.body, refused.status));
      }
      return false;
    });
  }

  app.addRoute(
    async (ctx) => ctx.activity.type === ActivityTypes.Invoke && ctx.activity.name === 'adaptiveCard/action',
    async (ctx) => {
      // Routing only; each handler validates the whole value. An unknown verb is refused, naming it.
      await ctx.sendActivity(invokeResponse(await answerCardAction(ctx)));
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
      await ctx.sendActivity(invokeResponse(result.body, result.status));
    },
    true,
  );

  // Any other invoke (message extensions, task modules, ...): this bot offers none. Without this route
  // botbuilder answers 501 with an empty body.
  app.addRoute(
    async (ctx) => ctx.activity.type === ActivityTypes.Invoke,
    async (ctx) => {
      const name = typeof ctx.activity.name === 'string' ? ctx.activity.name.slice(0, 64) : '';
      const refused = errorResult(
        new HttpError(400, 'unsupported_invoke', `This bot does not handle '${name}' invokes; it answers card actions (adaptiveCard/action) and sign-in.`),
      );
      await ctx.sendActivity(invokeResponse(refused.body, refused.status));
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
  await store.conversations.save(aad.toLowerCase(), reference);
}

// --- the envelope of an activity, checked before botbuilder sees it ----------------------------------

const optionalText = z.string().max(4096).nullish();

/**
 * The fields every activity from Teams carries (Bot Framework protocol) and that the bot reads, with
 * their types. Everything else passes through untouched.
 */
const activityEnvelope = z
  .object({
    type: z.string().min(1).max(64),
    name: z.string().max(256).nullish(),
    channelId: z.string().min(1).max(256),
    serviceUrl: z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL'),
    from: z.object({ id: z.string().min(1).max(512), aadObjectId: optionalText, name: optionalText }).passthrough(),
    conversation: z
      .object({ id: z.string().min(1).max(1024), isGroup: z.boolean().nullish(), conversationType: optionalText, tenantId: optionalText })
      .passthrough(),
    recipient: z
      .object({ id: z.string().max(512) })
      .passthrough()
      .nullish(),
    text: z.string().nullish(),
    replyToId: optionalText,
    localTimezone: optionalText,
    channelData: z.record(z.unknown()).nullish(),
    entities: z.array(z.unknown()).nullish(),
  })
  .passthrough();

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * POST /api/messages, before the body is parsed: Bot Framework sends JSON only. Refusing anything else
 * here keeps a general body parser from reading forms or writing multipart uploads to disk for callers
 * that channel authentication (which runs after parsing) would refuse anyway.
 */
export function refuseNonJsonActivity(req: IncomingMessage): HttpResult | null {
  try {
    requireJsonContentType(req);
    return null;
  } catch (err) {
    if (err instanceof HttpError) return errorResult(err);
    throw err;
  }
}

/**
 * POST /api/messages, after the body is parsed and before botbuilder sees it: an activity without its
 * envelope makes botbuilder throw (500), answer 400 with no word of why, or run a turn on half an
 * activity (and remember a conversation nobody can reach). Refused with 400 naming the field.
 */
export function refuseMalformedActivity(body: unknown): HttpResult | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return errorResult(
      new HttpError(
        400,
        'invalid_activity',
        'The body must be a Bot Framework activity: a JSON object with type, channelId, serviceUrl, from and conversation.',
      ),
    );
  }
  const parsed = activityEnvelope.safeParse(body);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  return errorResult(new HttpError(400, 'invalid_activity', `Not a Bot Framework activity: ${field || '(body)'}: ${issue.message}.`, field));
}
