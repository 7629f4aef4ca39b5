import type { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { ApprovalVerb, type ApprovalVerbName } from '../../cards/approval-card';
import { ChatVerb, type ChatVerbName } from '../../cards/chat';
import { AuditVerb, type AuditVerbName, DigestVerb, type DigestVerbName } from '../../cards/digest';
import { ExtensionVerb, type ExtensionVerbName } from '../../cards/extension';
import { EmergencyVerb, type EmergencyVerbName } from '../../cards/emergency/emergency-cards';
import type { CardActionHandler, Metrics } from '../../services/observability/metrics';
import type { ApprovalActions } from './approval-actions';
import type { ChatCardActions } from '../chat/chat-card-actions';
import type { DigestActions } from './digest-actions';
import type { EmergencyActions } from './emergency-actions';
import type { ExtensionActions } from './extension-actions';
import { answerStatusOf, errorAnswer, type InvokeBody } from './invoke-answers';

/**
 * Every verb a card of ours sends with Action.Execute (the verb constants live with the cards in cards/).
 * A verb added there is a compile error below until it has a handler; `card-actions.test.ts` checks that
 * every verb on a card is here and every verb here is on a card.
 */
export const CARD_VERBS = [
  ...Object.values(ApprovalVerb),
  ...Object.values(ChatVerb),
  ...Object.values(DigestVerb),
  ...Object.values(AuditVerb),
  ...Object.values(ExtensionVerb),
  ...Object.values(EmergencyVerb),
] as const;
export type CardVerb = ApprovalVerbName | ChatVerbName | DigestVerbName | AuditVerbName | ExtensionVerbName | EmergencyVerbName;

/** Who answers one verb: the handler's name (the metrics label) and the call, given the verb it was routed. */
export interface CardActionRoute<V extends CardVerb> {
  readonly handler: Exclude<CardActionHandler, 'unknown'>;
  readonly answer: (ctx: TurnContext, verb: V) => Promise<InvokeBody>;
}

/** One route per verb, no more and no fewer: a missing or an extra verb does not compile. */
export type CardActionRegistry = { readonly [V in CardVerb]: CardActionRoute<V> };

/** The handlers behind the routes; each validates the whole action and authorises it against server state. */
export interface CardActionHandlers {
  approval: Pick<ApprovalActions, 'handle'>;
  chat: Pick<ChatCardActions, 'onAction'>;
  digest: Pick<DigestActions, 'handle'>;
  extension: Pick<ExtensionActions, 'handle'>;
  emergency: Pick<EmergencyActions, 'handle'>;
}

export function cardActionRegistry(h: CardActionHandlers): CardActionRegistry {
  const approval = { handler: 'approval', answer: (ctx: TurnContext, verb: ApprovalVerbName) => h.approval.handle(ctx, verb) } as const;
  const chat = { handler: 'chat', answer: (ctx: TurnContext, verb: ChatVerbName) => h.chat.onAction(ctx, verb) } as const;
  const digest = { handler: 'digest', answer: (ctx: TurnContext, verb: DigestVerbName | AuditVerbName) => h.digest.handle(ctx, verb) } as const;
  const extension = { handler: 'extension', answer: (ctx: TurnContext, verb: ExtensionVerbName) => h.extension.handle(ctx, verb) } as const;
  const emergency = { handler: 'emergency', answer: (ctx: TurnContext, verb: EmergencyVerbName) => h.emergency.handle(ctx, verb) } as const;
  return {
    [ApprovalVerb.Approve]: approval,
    [ApprovalVerb.Deny]: approval,
    [ApprovalVerb.Refresh]: approval,
    [ApprovalVerb.Remind]: approval,
    [ChatVerb.Choose]: chat,
    [ChatVerb.Submit]: chat,
    [ChatVerb.Discard]: chat,
    [ChatVerb.CancelRequest]: chat,
    [ChatVerb.Again]: chat,
    [ChatVerb.Remind]: chat,
    [ChatVerb.RequestAgain]: chat,
    [ChatVerb.CancelChoice]: chat,
    [ChatVerb.EndNow]: chat,
    [DigestVerb.Extend]: digest,
    [DigestVerb.Release]: digest,
    [DigestVerb.Renew]: digest,
    [AuditVerb.LooksRight]: digest,
    [AuditVerb.Flag]: digest,
    [ExtensionVerb.Apply]: extension,
    [ExtensionVerb.Decline]: extension,
    [EmergencyVerb.Note]: emergency,
    [EmergencyVerb.Review]: emergency,
    [EmergencyVerb.Flag]: emergency,
  };
}

const KNOWN_VERBS: ReadonlySet<string> = new Set(CARD_VERBS);

/** True for a verb with a route (own entries only: `__proto__` or `toString` is no verb). */
export function isCardVerb(verb: unknown): verb is CardVerb {
  return typeof verb === 'string' && KNOWN_VERBS.has(verb);
}

/** Longest verb text repeated in an answer or a log line (a card's verbs are far shorter). */
const VERB_ECHO_MAX = 64;

/** The answer to a verb no card of ours sends: a refusal naming it, so the click is explained and nothing is done. */
export function unknownVerbAnswer(verb: unknown): InvokeBody {
  return typeof verb === 'string' && verb.length > 0
    ? errorAnswer(400, `Unknown card action '${verb.slice(0, VERB_ECHO_MAX)}': this bot has no such action, so nothing was done.`)
    : errorAnswer(400, 'This card action names no action the bot knows (action.verb is missing or not text), so nothing was done.');
}

const FAILED = 'The bot hit an error; nothing was recorded. Try again.';

/** Calls the route of `verb` with that same verb (the registry's type ties the two together). */
function answerWith<V extends CardVerb>(registry: CardActionRegistry, verb: V, ctx: TurnContext): Promise<InvokeBody> {
  const route: CardActionRoute<V> = registry[verb];
  return route.answer(ctx, verb);
}

/**
 * Answers an `adaptiveCard/action` invoke: the route of its verb, a refusal naming an unknown verb (with
 * one warning), or a 500 answer when the handler throws. Every answer is counted by handler and status.
 */
export function createCardActions(
  registry: CardActionRegistry,
  deps: { log: Logger; metrics?: Pick<Metrics, 'cardAction'> },
): (ctx: TurnContext) => Promise<InvokeBody> {
  return async (ctx) => {
    const verb = (ctx.activity.value as { action?: { verb?: unknown } } | null | undefined)?.action?.verb;
    let handler: CardActionHandler;
    let body: InvokeBody;
    if (!isCardVerb(verb)) {
      handler = 'unknown';
      deps.log.warn(
        { verb: typeof verb === 'string' ? verb.slice(0, VERB_ECHO_MAX) : null, verbType: typeof verb },
        'card action refused: no card of this bot sends its verb',
      );
      body = unknownVerbAnswer(verb);
    } else {
      handler = registry[verb].handler;
      try {
        body = await answerWith(registry, verb, ctx);
      } catch (err) {
        deps.log.error({ err: { message: (err as Error).message }, verb }, 'card action failed');
        body = errorAnswer(500, FAILED);
      }
    }
    deps.metrics?.cardAction(handler, answerStatusOf(body));
    return body;
  };
}
