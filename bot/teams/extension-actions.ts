import type { TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import {
  EXTENSION_END_INPUT,
  EXTENSION_NOTE_INPUT,
  EXTENSION_NOTE_MAX_LENGTH,
  ExtensionVerb,
  type ExtensionVerbName,
  renderExtensionCard,
} from '../../cards/extension';
import type { AdminSchedules } from '../../services/graph/admin-schedules';
import { type AskDisplay, defaultEndDate, type ExtensionDesk, minEndDate } from '../../services/extensions/extension-desk';
import type { ExtensionAskRow } from '../../services/store/extension-asks';
import type { ChatSignIn } from '../chat/chat-sign-in';
import { cardAnswer, errorAnswer, type InvokeBody } from './invoke-answers';

const invokeValue = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.string().max(64),
    data: z
      .object({
        askId: z.string().uuid(),
        [EXTENSION_END_INPUT]: z.string().max(40).optional(),
        [EXTENSION_NOTE_INPUT]: z
          .string()
          .max(EXTENSION_NOTE_MAX_LENGTH * 4)
          .optional(),
      })
      .passthrough(),
  }),
});

/** The card for an ask in its state (the desk's renderer port), with an optional line for the viewer. */
export function extensionCard(row: ExtensionAskRow, display: AskDisplay, now: Date, message?: string): AdaptiveCardJson {
  const state =
    row.status === 'open'
      ? ({ kind: 'open' } as const)
      : row.status === 'recording'
        ? ({ kind: 'recording', byName: 'an administrator' } as const)
        : row.status === 'extended' || row.status === 'renewed'
          ? ({
              kind: row.status,
              byName: row.decided_by_name ?? 'an administrator (read back from PIM)',
              at: row.decided_at ?? row.updated_at,
              newEnd: row.new_end ?? '',
              note: row.decision_note,
            } as const)
          : row.status === 'declined'
            ? ({ kind: 'declined', byName: row.decided_by_name ?? 'an administrator', at: row.decided_at ?? row.updated_at, note: row.decision_note } as const)
            : ({ kind: 'withdrawn', why: row.last_error ?? 'Closed: nothing to decide.' } as const);
  return renderExtensionCard({
    askId: row.id,
    action: row.action === 'renew' ? 'renew' : 'extend',
    assignment: row.assignment === 'active' ? 'active' : 'eligible',
    requester: display.requester,
    target: display.target,
    scope: display.scope,
    currentEnd: row.current_end,
    requestedEnd: row.requested_end,
    reason: row.reason,
    activations90d: display.activations90d,
    hr: display.hr,
    risk: display.risk,
    whoCan: display.whoCan,
    defaultEnd: defaultEndDate(row, now),
    minEnd: minEndDate(row, now),
    state,
    message: message ?? (row.status === 'open' ? (row.last_error ?? undefined) : undefined),
  });
}

/**
 * The Teams side of the extension card's buttons: validates the action, proves the clicker with their own
 * token (Teams SSO through the token service), and lets the desk (services/extensions) check them against
 * PIM's administrators of the target and act in PIM as them (on-behalf-of). Answers with the card as it
 * now stands, the outcome said on it.
 */
export class ExtensionActions {
  constructor(
    private readonly deps: {
      desk: Pick<ExtensionDesk, 'decide'>;
      signIn: Pick<ChatSignIn, 'invokeToken'>;
      /** PIM as the administrator whose SSO token is given. */
      schedulesFor(ssoToken: string): AdminSchedules;
      /** The admin channel: decisions are taken only from the card there. Null: none configured, nothing is taken. */
      adminConversationId: string | null;
      now?: () => Date;
    },
  ) {}

  async handle(ctx: TurnContext, verb: ExtensionVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success) return errorAnswer(400, 'This extension card action is not one the bot understands; open the latest card in the admin channel.');
    // Only from the admin channel's card, never from an invoke crafted elsewhere with an id learnt there.
    const channel = (ctx.activity.conversation?.id ?? '').split(';')[0];
    if (!this.deps.adminConversationId || channel !== this.deps.adminConversationId)
      return errorAnswer(400, 'Extension requests are decided from their card in the admin channel; decide it there.');
    if (!ctx.activity.from?.aadObjectId) return errorAnswer(400, 'Teams sent no Entra object id for you, so the bot cannot check that you may decide.');
    const data = parsed.data.action.data;
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    // From here the decider is who the token proves (the sign-in already checked it is the clicker).
    const outcome = await this.deps.desk.decide(
      data.askId,
      { id: sso.user.oid, name: sso.user.name || sso.user.upn || sso.user.oid },
      verb === ExtensionVerb.Apply ? 'apply' : 'decline',
      { endDate: data[EXTENSION_END_INPUT] ?? null, note: data[EXTENSION_NOTE_INPUT] ?? '' },
      this.deps.schedulesFor(sso.token),
    );
    const now = this.deps.now?.() ?? new Date();
    switch (outcome.kind) {
      case 'unknownAsk':
        return errorAnswer(400, 'This extension request is not known to the bot. Open the latest card in the admin channel.');
      case 'refused':
      case 'pimRefused':
        return cardAnswer(extensionCard(outcome.row, JSON.parse(outcome.row.display) as AskDisplay, now, outcome.message));
      case 'shown':
        return cardAnswer(extensionCard(outcome.row, JSON.parse(outcome.row.display) as AskDisplay, now, outcome.message));
    }
  }
}
