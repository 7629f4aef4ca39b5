import type { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApprovalVerb, type ApprovalVerbName, renderApprovalCard } from '../../cards/approval-card';
import { cardDataOf, viewFor } from '../../cards/approval-view';
import { parseDisplay } from '../../services/approvals/request-display';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { ApprovalRequestRow } from '../../services/store/store';
import type { ApprovalDecisions, ApproverSignIn, DecisionOutcome, DecisionVerb } from '../../services/jobs/decide';
import { identityRefusalLog, type SsoResult } from './approver-token';
import { cardAnswer, errorAnswer, type InvokeBody } from './invoke-answers';

export interface ApprovalActionDeps {
  /** The decision flow (services/jobs/decide.ts): authorise, claim, record in PIM as the approver, tell everyone. */
  decisions: Pick<ApprovalDecisions, 'handle'>;
  /**
   * The approver's SSO token with the identity it proves (`oid` = the activity's `from.aadObjectId`, `tid`
   * = the bot's tenant), the invoke response that asks them to sign in, or the refusal of a token that
   * proves someone else.
   */
  ssoToken(ctx: TurnContext): Promise<SsoResult>;
  /**
   * The requester's "Remind approvers" (services/jobs/reminders.ts `remindNow`, rate-limited there): the
   * request as it stands and what was done, in words; null when there is no such request.
   */
  remind?: (requestId: string, requesterId: string) => Promise<{ row: ApprovalRequestRow; message: string } | null>;
  log: Logger;
  now?: () => Date;
}

/** Card action data: ids and a version only. Everything else is reloaded from our store and PIM. */
const actionData = z
  .object({
    requestId: z.string().uuid('requestId must be the request id the card was rendered with'),
    version: z.coerce.number().int().nonnegative().optional(),
    decisionJustification: z.string().max(2000, 'the justification is limited to 2000 characters').optional(),
  })
  .passthrough();

const invokeValue = z.object({
  action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: actionData }),
});

function decisionVerb(verb: ApprovalVerbName): DecisionVerb {
  switch (verb) {
    case ApprovalVerb.Approve:
      return 'approve';
    case ApprovalVerb.Deny:
      return 'deny';
    case ApprovalVerb.Refresh:
      return 'refresh';
    case ApprovalVerb.Remind:
      throw new Error('a reminder is not a decision (ApprovalActions.remind answers it)');
    default:
      return assertNever(verb);
  }
}

/**
 * The Teams side of an approval or summary card's buttons: reads and validates the activity, gets the
 * approver's SSO token when the decision flow asks for it, and answers the invoke with the card (or the
 * error, or the sign-in) for the flow's outcome. The decision itself is services/jobs/decide.ts.
 */
export class ApprovalActions {
  private readonly now: () => Date;

  constructor(private readonly deps: ApprovalActionDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A click on an approval or summary card; `verb` is the one the card-action registry routed here. */
  async handle(ctx: TurnContext, verb: ApprovalVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success) {
      return errorAnswer(
        400,
        `This card action is not one the bot understands (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`,
      );
    }
    const { data } = parsed.data.action;
    const actorId = ctx.activity.from?.aadObjectId?.toLowerCase();
    const log = this.deps.log.child({ requestId: data.requestId, approverId: actorId, verb });
    if (verb === ApprovalVerb.Remind) return this.remind(data.requestId, actorId);
    // The token service's answer, kept for the invoke answer when it is a sign-in or a refusal.
    let sso: SsoResult | undefined;
    const signIn = async (): Promise<ApproverSignIn> => {
      sso = await this.deps.ssoToken(ctx);
      if (sso.kind === 'token') return { kind: 'proven', token: sso.token, user: sso.user };
      if (sso.kind === 'identityRefused') return { kind: 'identityRefused', message: sso.message };
      return { kind: 'noToken' };
    };
    const outcome = await this.deps.decisions.handle({
      verb: decisionVerb(verb),
      requestId: data.requestId,
      justification: data.decisionJustification ?? '',
      actorId,
      signIn,
      log,
    });
    return this.answer(ctx, outcome, sso, log, data.decisionJustification ?? null);
  }

  /** The requester's reminder: their own view of the card back, saying what was done (or why not). */
  private async remind(requestId: string, actorId: string | undefined): Promise<InvokeBody> {
    if (!actorId) return errorAnswer(400, 'Teams did not say who you are (no Entra object id on the action), so no reminder was sent.');
    if (!this.deps.remind) return errorAnswer(400, 'Reminders are not switched on here, so no reminder was sent.');
    const done = await this.deps.remind(requestId, actorId);
    if (!done) return errorAnswer(400, 'This request is not one the bot knows, so no reminder was sent.');
    const view = viewFor(done.row, actorId, parseDisplay(done.row).approverIds);
    return cardAnswer(renderApprovalCard(cardDataOf(done.row, this.now(), done.message), view));
  }

  /** `draft`: what the approver typed; a card answer that still shows the form keeps it. */
  private answer(ctx: TurnContext, outcome: DecisionOutcome, sso: SsoResult | undefined, log: Logger, draft: string | null): InvokeBody {
    switch (outcome.kind) {
      case 'refused':
        return errorAnswer(400, outcome.message);
      case 'card': {
        const view = outcome.view ?? viewFor(outcome.row, outcome.viewer, outcome.approverIds ?? parseDisplay(outcome.row).approverIds);
        return cardAnswer(renderApprovalCard({ ...cardDataOf(outcome.row, this.now(), outcome.message), draftJustification: draft }, view));
      }
      case 'identityRefused':
        if (sso?.kind === 'identityRefused') log.warn(identityRefusalLog(ctx, sso), 'card action refused: the sign-in does not prove the approver');
        return this.answer(ctx, { kind: 'card', row: outcome.row, viewer: outcome.viewer, message: outcome.message }, sso, log, draft);
      case 'signInRequired':
        if (!sso || sso.kind === 'token' || sso.kind === 'identityRefused')
          throw new Error('the decision flow asked for a sign-in the token service did not ask for');
        return sso.response;
      default:
        return assertNever(outcome);
    }
  }
}
