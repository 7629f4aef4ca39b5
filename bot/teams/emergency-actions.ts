import type { TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { EmergencyVerb, type EmergencyVerbName, emergencyNoteInputId, emergencyReviewNoteInputId } from '../../cards/emergency/emergency-cards';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { BreakGlass } from '../../services/emergency/break-glass';
import type { EmergencyRecordResult } from '../../services/emergency/emergency-grants';
import { cardAnswer, errorAnswer, type InvokeBody, messageAnswer } from './invoke-answers';

const grantData = z.object({ grantId: z.string().uuid() }).passthrough();
const invokeValue = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: z.record(z.unknown()) }) });

/**
 * The break-glass cards' buttons: the requester's post-incident note (their personal chat), and a second
 * person's review (Looks right / Flag) from the admin digest in the admin channel. The card's data names the
 * grant only: the grant is reloaded and the clicker (Teams' Entra object id) authorised against it.
 */
export class EmergencyActions {
  constructor(
    private readonly deps: {
      breakGlass: Pick<BreakGlass, 'note' | 'review'>;
      /** The admin channel the digest is posted in: reviews are taken only from there. Null: no review is taken. */
      adminConversationId: string | null;
    },
  ) {}

  async handle(ctx: TurnContext, verb: EmergencyVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success) return errorAnswer(400, 'This card action is not one the bot understands.');
    const { data } = parsed.data.action;
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    if (!userId) return errorAnswer(400, 'Teams sent no Entra object id for you.');
    const d = grantData.safeParse(data);
    if (!d.success) return errorAnswer(400, 'This break-glass card is not one the bot understands.');
    const { grantId } = d.data;
    switch (verb) {
      case EmergencyVerb.Note: {
        const raw = data[emergencyNoteInputId(grantId)];
        const { result, card } = await this.deps.breakGlass.note(grantId, userId, typeof raw === 'string' ? raw : null);
        return answerOf(result, card, 'Post-incident note recorded. Thank you.');
      }
      case EmergencyVerb.Review:
      case EmergencyVerb.Flag: {
        // Only from the admin digest's card in the admin channel, not an invoke crafted elsewhere.
        const channel = (ctx.activity.conversation?.id ?? '').split(';')[0];
        if (!this.deps.adminConversationId || channel !== this.deps.adminConversationId)
          return errorAnswer(400, "Break-glass grants are reviewed from the admin digest's card in the admin channel; review it there.");
        const raw = data[emergencyReviewNoteInputId(grantId)];
        const { result, card } = await this.deps.breakGlass.review(
          grantId,
          { id: userId, name: ctx.activity.from?.name ?? null },
          verb === EmergencyVerb.Flag ? 'flag' : 'looksRight',
          typeof raw === 'string' ? raw : null,
        );
        return answerOf(result, card, verb === EmergencyVerb.Flag ? 'Flag recorded.' : 'Review recorded: looks right.');
      }
      default:
        return assertNever(verb);
    }
  }
}

function answerOf(result: EmergencyRecordResult, card: Record<string, unknown> | null, recorded: string): InvokeBody {
  switch (result.kind) {
    case 'recorded':
      return card ? cardAnswer(card as AdaptiveCardJson) : messageAnswer(recorded);
    case 'already':
      return card ? cardAnswer(card as AdaptiveCardJson) : messageAnswer(result.message);
    case 'not_found':
    case 'not_requester':
    case 'requester':
    case 'note_required':
      return messageAnswer(result.message);
    default:
      return assertNever(result);
  }
}
