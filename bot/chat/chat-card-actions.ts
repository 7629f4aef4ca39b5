import { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ChatVerb, type ChatVerbName, formatTime, renderNoticeCard, renderRoleChooser, withStatusNote } from '../../cards/chat';
import { assertNever } from '../../services/approvals/request-lifecycle';
import { chatRequestTarget, emptyValues, pickTarget } from '../../services/chat/chat-drafts';
import { findOwnDraft, type ActivationRefused, SubmitActivation } from '../../services/chat/submit-activation';
import { checkDraft, classifyRefusal, type DraftValues } from '../../services/elevation/activation-problems';
import { endableFrom, type SelfService } from '../../services/elevation/self-service';
import { type ActivationPolicy, type ActivationTarget, type EligibleTarget, targetKey } from '../../services/elevation/types';
import { errInfo } from '../../services/observability/err-info';
import type { ChatDraftRow, ChatRequestRow } from '../../services/store/chat-store';
import { cardAnswer, errorAnswer, type InvokeBody } from '../teams/invoke-answers';
import { type ChatCommandDeps, type ChatReplies, plain } from './chat-replies';
import { refusalText } from './chat-text';

const cardInputs = z
  .object({
    draftId: z.string().uuid().optional(),
    chatRequestId: z.string().uuid().optional(),
    /** An approval request's id (the re-request offered when PIM dropped a request). */
    requestId: z.string().uuid().optional(),
    /** PIM's id of a request made outside this chat, picked on the cancel chooser. */
    pimRequestId: z.string().max(200).optional(),
    target: z.string().max(600).optional(),
    durationMinutes: z.union([z.string().max(8), z.number()]).optional(),
    ticketSystem: z.string().max(40).optional(),
    ticketNumber: z.string().max(80).optional(),
    justification: z.string().max(2000).optional(),
  })
  .passthrough();

const invokeValue = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: cardInputs }) });

const UNKNOWN_FORM = 'This form is not known to the bot any more. Type "activate <role>" to start again.';
const NOT_YOUR_FORM = 'This form belongs to someone else. Type "activate <role>" in your own chat with the bot.';
const SUBMITTING = { title: 'Submitting', text: 'This request is being sent to PIM already. Its status appears here in a moment.' };

/**
 * The chat cards' actions (the `chat.*` verbs): choose a role, submit or discard the form, cancel, ask
 * again, remind the approvers. Every action is authorised against the stored draft or request, never
 * against the card's data; the submission itself is the Teams-free `SubmitActivation` use case.
 */
export class ChatCardActions {
  private readonly submission: SubmitActivation;

  constructor(
    private readonly deps: ChatCommandDeps,
    private readonly replies: ChatReplies,
  ) {
    this.submission = new SubmitActivation({
      chat: deps.store.chat,
      evaluations: deps.store.evaluations,
      approvals: deps.store.requests,
      audit: deps.store.audit,
      directory: deps.directory,
      log: deps.log,
      now: () => replies.now(),
    });
  }

  /** A click on a chat card; `verb` is the one the card-action registry routed here. */
  async onAction(ctx: TurnContext, verb: ChatVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success)
      return errorAnswer(
        400,
        `This card action is not one the bot understands (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}).`,
      );
    const { data } = parsed.data.action;
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    if (!userId) return errorAnswer(400, 'Teams sent no Entra object id for you, so I cannot act for you in PIM.');
    const log = this.deps.log.child({ userId, verb, draftId: data.draftId, chatRequestId: data.chatRequestId });
    try {
      switch (verb) {
        case ChatVerb.Choose:
          return await this.choose(ctx, userId, data.draftId, data.target);
        case ChatVerb.Submit:
          return await this.submit(ctx, userId, data.draftId, valuesFrom(data), log);
        case ChatVerb.Discard:
          return await this.discard(userId, data.draftId);
        case ChatVerb.CancelRequest:
          return await this.cancelFromCard(ctx, userId, data.chatRequestId, log);
        case ChatVerb.Again:
          return await this.again(ctx, userId, data.chatRequestId);
        case ChatVerb.Remind:
          return await this.remindFromCard(userId, data.chatRequestId);
        case ChatVerb.RequestAgain:
          return await this.againFromApproval(ctx, userId, data.requestId);
        case ChatVerb.CancelChoice:
          return await this.cancelChoice(ctx, userId, data.chatRequestId, data.pimRequestId, log);
        case ChatVerb.EndNow:
          return await this.endFromCard(ctx, userId, data.chatRequestId, log);
        default:
          return assertNever(verb);
      }
    } catch (err) {
      log.warn({ err: errInfo(err) }, 'chat card action failed');
      return cardAnswer(renderNoticeCard({ title: 'That did not work', text: refusalText(classifyRefusal(err), 'PIM did not answer as expected') }));
    }
  }

  private async ownDraft(userId: string, draftId: string | undefined): Promise<ChatDraftRow | InvokeBody> {
    const own = await findOwnDraft(this.deps.store.chat, userId, draftId);
    if (own.kind === 'unknownDraft') return errorAnswer(400, UNKNOWN_FORM);
    if (own.kind === 'notYours') return errorAnswer(400, NOT_YOUR_FORM);
    return own.draft;
  }

  private async choose(ctx: TurnContext, userId: string, draftId: string | undefined, key: string | undefined): Promise<InvokeBody> {
    const draft = await this.ownDraft(userId, draftId);
    if ('statusCode' in draft) return draft;
    if (draft.status !== 'open')
      return cardAnswer(renderNoticeCard({ title: 'Already done', text: 'This form was already used. Type "activate <role>" to start a new request.' }));
    if (!key) return errorAnswer(400, 'Pick a role first.');
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const eligible = await this.deps.selfServiceFor(sso.token).eligible();
    const target = eligible.find((t) => targetKey(t) === key);
    if (!target)
      return cardAnswer(
        renderRoleChooser({
          draftId: draft.id,
          choices: eligible.map((t) => ({ key: targetKey(t), title: t.displayName })),
          message: 'You are not eligible for that role (any more). Pick one of these.',
        }),
      );
    const policy = await this.deps.directory.activationPolicy(target);
    const values = checkDraft(emptyValues(), policy, target.displayName).values;
    await this.deps.store.chat.updateDraft(draft.id, { target: JSON.stringify(pickTarget(target)), duration_minutes: values.durationMinutes });
    return cardAnswer(await this.replies.form(userId, draft.id, target, policy, values, [], true));
  }

  private async submit(ctx: TurnContext, userId: string, draftId: string | undefined, input: Partial<DraftValues>, log: Logger): Promise<InvokeBody> {
    const ready = await this.submission.prepare(userId, draftId, input);
    switch (ready.kind) {
      case 'unknownDraft':
        return errorAnswer(400, UNKNOWN_FORM);
      case 'notYours':
        return errorAnswer(400, NOT_YOUR_FORM);
      case 'alreadySubmitted':
        // A second tap, or Teams retrying the invoke: show what the first one did.
        return cardAnswer(this.deps.status.card(ready.request));
      case 'discarded':
        return cardAnswer(renderNoticeCard({ title: 'Not submitted', text: 'You closed this form. Type "activate <role>" to start again.' }));
      case 'inProgress':
        return cardAnswer(renderNoticeCard(SUBMITTING));
      case 'noTarget':
        return errorAnswer(400, 'Pick a role first.');
      case 'ready':
        break;
      default:
        return assertNever(ready);
    }
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const result = await this.submission.submit({
      userId,
      draft: ready.draft,
      target: ready.target,
      values: ready.values,
      pim: this.deps.selfServiceFor(sso.token, ready.draft.claims),
      statusMessage: {
        conversationRef: JSON.stringify(TurnContext.getConversationReference(ctx.activity)),
        replyToId: ctx.activity.replyToId ?? null,
      },
      log,
    });
    switch (result.kind) {
      case 'submitted':
        return cardAnswer(this.deps.status.card(result.request));
      case 'notEligible':
        return cardAnswer(
          renderNoticeCard({
            title: 'Not eligible',
            text: `You are not eligible for ${result.target.displayName} any more, so nothing was sent to PIM. Ask your PIM administrator if you still need it.`,
          }),
        );
      case 'needsChanges':
        return cardAnswer(await this.replies.form(userId, result.draft.id, result.target, result.policy, result.values, result.problems));
      case 'inProgress':
        return cardAnswer(renderNoticeCard(SUBMITTING));
      case 'refused':
        return this.refusalAnswer(ctx, result);
      default:
        return assertNever(result);
    }
  }

  /** PIM said no (or Entra wants a stronger sign-in): the form again with what to do, or a notice. */
  private async refusalAnswer(ctx: TurnContext, r: ActivationRefused): Promise<InvokeBody> {
    const { draft, target, policy, refusal } = r;
    const title = target.displayName;
    const withPolicy = async (p: Partial<ActivationPolicy>, problems: string[], v = r.values) => {
      const base = policy ?? (await this.deps.directory.activationPolicy(target));
      return cardAnswer(await this.replies.form(ctx.activity.from?.aadObjectId ?? '', draft.id, target, { ...base, ...p }, v, problems));
    };
    switch (refusal.kind) {
      case 'policy': {
        const retry = r.retry!;
        return withPolicy(retry.policyPatch, retry.problems, retry.values);
      }
      case 'mfa':
        await this.replies.askToSignInAgain(
          ctx,
          `PIM needs multi-factor authentication to activate ${title}. Sign in again and complete MFA, then press Submit request on the form.`,
        );
        return withPolicy({ mfaRequired: true }, [
          `PIM needs multi-factor authentication for ${title}. Sign in again with the card below (complete the MFA prompt), then press Submit request.`,
        ]);
      case 'authContext': {
        await this.replies.askToSignInAgain(
          ctx,
          `PIM needs a stronger sign-in to activate ${title} (your organisation's Conditional Access asks for it). Sign in again, then press Submit request on the form.`,
        );
        return withPolicy({}, [
          `PIM needs a stronger sign-in for ${title} than the one you used. Sign in again with the card below, then press Submit request.`,
        ]);
      }
      default:
        return cardAnswer(renderNoticeCard({ title: 'Not submitted', text: refusalText(refusal, `PIM did not accept the request for ${title}`) }));
    }
  }

  private async discard(userId: string, draftId: string | undefined): Promise<InvokeBody> {
    const draft = await this.ownDraft(userId, draftId);
    if ('statusCode' in draft) return draft;
    await this.deps.store.chat.moveDraft(draft.id, 'open', 'discarded');
    return cardAnswer(renderNoticeCard({ title: 'Not submitted', text: 'Nothing was sent to PIM. Type "activate <role>" when you need it.' }));
  }

  private async ownRequest(userId: string, id: string | undefined): Promise<ChatRequestRow | InvokeBody> {
    const row = id ? await this.deps.store.chat.request(id) : undefined;
    if (!row) return errorAnswer(400, 'This request is not known to the bot any more. Type "status" to see your requests.');
    if (row.user_id !== userId) return errorAnswer(400, 'Only the person who made this request can act on it from here.');
    return row;
  }

  private async cancelFromCard(ctx: TurnContext, userId: string, id: string | undefined, log: Logger): Promise<InvokeBody> {
    const row = await this.ownRequest(userId, id);
    if ('statusCode' in row) return row;
    if (row.state !== 'pending') return cardAnswer(this.deps.status.card(row));
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const updated = await this.replies.cancelTracked(this.deps.selfServiceFor(sso.token), row, log);
    if (typeof updated === 'string') return cardAnswer(renderNoticeCard({ title: 'Not cancelled', text: updated }));
    await this.deps.store.chat.markRendered(updated.id, updated.version, ctx.activity.replyToId ?? updated.activity_id ?? '');
    return cardAnswer(this.deps.status.card(updated));
  }

  /**
   * "End now" on the status card of a running activation (or on its "ending soon" message): ends it in PIM as
   * the user (selfDeactivate), then the card says it ended. Authorised against the stored request (the user's own, still active), never the card.
   */
  private async endFromCard(ctx: TurnContext, userId: string, id: string | undefined, log: Logger): Promise<InvokeBody> {
    const row = await this.ownRequest(userId, id);
    if ('statusCode' in row) return row;
    if (row.state !== 'active') return cardAnswer(this.deps.status.card(row));
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    try {
      await this.deps.selfServiceFor(sso.token).deactivate(chatRequestTarget(row), userId);
    } catch (err) {
      const from = endableFrom(err, row.active_from);
      if (from) {
        return cardAnswer(
          withStatusNote(
            this.deps.status.card(row),
            `PIM ends an activation only once it has run 5 minutes. Press End now again from ${formatTime(from, row.time_zone)}.`,
          ),
        );
      }
      // Already over in PIM (it ran out, or was ended elsewhere): the card catches up below.
      if ((err as { code?: string }).code !== 'RoleAssignmentDoesNotExist') throw err;
    }
    const at = this.replies.now().toISOString();
    const updated = (await this.deps.store.chat.updateRequest(row.id, { state: 'ended', ended_at: at }))!;
    // Pressed on the status message itself, the answer below rewrites it; pressed on the "ending soon"
    // message, the status message is brought up to date on its own.
    const onStatusMessage = !!ctx.activity.replyToId && ctx.activity.replyToId === updated.activity_id;
    if (onStatusMessage) await this.deps.store.chat.markRendered(updated.id, updated.version, updated.activity_id!);
    else await this.deps.status.deliver(updated.id);
    log.info({ kind: row.kind }, 'activation ended early from a chat card');
    return cardAnswer(this.deps.status.card(updated));
  }

  /**
   * A request picked on the cancel chooser. The card sends one id; the request is re-read (ours, or PIM's
   * own list of the user's open requests) and cancelled only if it is the user's and still waiting. The
   * chooser is replaced by what happened; the request's own status message is brought up to date.
   */
  private async cancelChoice(
    ctx: TurnContext,
    userId: string,
    chatRequestId: string | undefined,
    pimRequestId: string | undefined,
    log: Logger,
  ): Promise<InvokeBody> {
    if (!chatRequestId && !pimRequestId) return errorAnswer(400, 'This button names no request. Type "cancel" to choose again.');
    let row: ChatRequestRow | InvokeBody | undefined;
    if (chatRequestId) row = await this.ownRequest(userId, chatRequestId);
    else row = (await this.deps.store.chat.requestsOf(userId, 50)).find((r) => r.pim_request_id.toLowerCase() === pimRequestId!.toLowerCase());
    if (row && 'statusCode' in row) return row;
    if (row && row.state !== 'pending')
      return cardAnswer(
        renderNoticeCard({ title: 'Not waiting any more', text: `Your request for ${row.role_title} is no longer waiting, so there is nothing to cancel.` }),
      );
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    if (row) {
      const updated = await this.replies.cancelTracked(svc, row, log);
      if (typeof updated === 'string') return cardAnswer(renderNoticeCard({ title: 'Not cancelled', text: updated }));
      await this.deps.status.deliver(updated.id);
      return cardAnswer(renderNoticeCard({ title: 'Cancelled', text: `Cancelled your request for ${row.role_title}. Approvers no longer see it as waiting.` }));
    }
    // PIM lists only the signed-in user's own requests, so a match here is theirs.
    const open = (await svc.pendingRequests()).find((p) => p.pimRequestId.toLowerCase() === pimRequestId!.toLowerCase());
    if (!open)
      return cardAnswer(
        renderNoticeCard({
          title: 'Not waiting any more',
          text: 'PIM no longer has this request waiting, so there is nothing to cancel. Type "status" to see your requests.',
        }),
      );
    const title = /extend/i.test(open.action) ? `the extension of ${open.displayName}` : open.displayName;
    try {
      await svc.cancel(open, open.pimRequestId, open.action);
    } catch (err) {
      return cardAnswer(renderNoticeCard({ title: 'Not cancelled', text: refusalText(classifyRefusal(err), `PIM did not cancel the request for ${title}`) }));
    }
    log.info({ pimRequestId: open.pimRequestId }, 'request cancelled by the requester');
    return cardAnswer(renderNoticeCard({ title: 'Cancelled', text: `Cancelled your request for ${title}.` }));
  }

  private async again(ctx: TurnContext, userId: string, id: string | undefined): Promise<InvokeBody> {
    const row = await this.ownRequest(userId, id);
    if ('statusCode' in row) return row;
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    const target = await eligibleTargetFor(svc, row);
    if (!target) {
      await ctx.sendActivity(plain(`You are not eligible for ${row.role_title} any more. Ask your PIM administrator if you still need it.`));
    } else {
      await this.replies.offerActivation(
        ctx,
        svc,
        userId,
        target,
        { durationMinutes: row.duration_minutes, ticketSystem: row.ticket_system, ticketNumber: row.ticket_number, justification: row.justification },
        row.time_zone ?? 'UTC',
      );
    }
    return cardAnswer(this.deps.status.card(row));
  }

  private async remindFromCard(userId: string, id: string | undefined): Promise<InvokeBody> {
    const row = await this.ownRequest(userId, id);
    if ('statusCode' in row) return row;
    const approval = row.approval_key ? await this.deps.store.requests.byPimId(row.approval_key) : undefined;
    const said =
      approval && this.deps.reminders ? await this.deps.reminders.remindNow(approval, userId) : 'This request has no approval card to remind anyone about.';
    // The status card stays as it is, with what happened underneath.
    return cardAnswer(withStatusNote(this.deps.status.card(row), said));
  }

  /** The one-tap re-request offered when PIM dropped (or a human denied) a request made outside this chat. */
  private async againFromApproval(ctx: TurnContext, userId: string, requestId: string | undefined): Promise<InvokeBody> {
    const row = requestId ? await this.deps.store.requests.get(requestId) : undefined;
    if (!row) return errorAnswer(400, 'This request is not known to the bot any more. Type "activate <role>" to ask again.');
    if (row.principal_id.toLowerCase() !== userId) return errorAnswer(400, 'Only the person who made this request can ask for it again.');
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    const target = await eligibleTargetFor(svc, row);
    if (!target)
      return cardAnswer(
        renderNoticeCard({ title: 'Not eligible', text: 'You are not eligible for that role any more. Ask your PIM administrator if you still need it.' }),
      );
    await this.replies.offerActivation(
      ctx,
      svc,
      userId,
      target,
      { durationMinutes: row.duration_minutes, ticketSystem: row.ticket_system, ticketNumber: row.ticket_number, justification: row.justification },
      'UTC',
    );
    return cardAnswer(renderNoticeCard({ title: 'Asking again', text: 'I sent you a new request form below; check it and submit.' }));
  }
}

/** The form's inputs as draft values; what the card left empty or sent malformed is not taken. */
function valuesFrom(data: z.infer<typeof cardInputs>): Partial<DraftValues> {
  const out: Partial<DraftValues> = {};
  if (data.durationMinutes !== undefined && String(data.durationMinutes).trim() !== '') {
    const n = Number(data.durationMinutes);
    if (Number.isInteger(n) && n > 0) out.durationMinutes = n;
  }
  if (data.ticketSystem !== undefined) out.ticketSystem = data.ticketSystem.trim() || null;
  if (data.ticketNumber !== undefined) out.ticketNumber = data.ticketNumber.trim() || null;
  if (data.justification !== undefined) out.justification = data.justification.trim() || null;
  return out;
}

/** The user's eligibility a stored request names (kind, role and scope, compared as targetKey does), if PIM still lists it. */
async function eligibleTargetFor(svc: SelfService, row: { kind: string; role_definition_id: string; scope: string }): Promise<EligibleTarget | undefined> {
  const key = targetKey({ kind: row.kind as ActivationTarget['kind'], roleDefinitionId: row.role_definition_id, scope: row.scope, displayName: '' });
  return (await svc.eligible()).find((t) => targetKey(t) === key);
}
