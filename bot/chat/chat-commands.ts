import { randomUUID } from 'node:crypto';
import { ActivityTypes, type Attachment, CardFactory, MessageFactory, TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { ChatVerb, type ChatVerbName, formatTime, renderActivationForm, renderNoticeCard, renderRoleChooser, withStatusNote } from '../../cards/chat';
import type { NaturalLanguage } from '../../services/chat/nl-planner';
import { parseCommand, type RoleCandidate } from '../../services/chat/parse-command';
import { checkDraft, classifyRefusal, hoursText, type ActivationRefusal, type DraftValues } from '../../services/elevation/activation-problems';
import type { SelfService, SubmittedRequest } from '../../services/elevation/self-service';
import { targetKey, type ActivationPolicy, type ActivationTarget, type EligibleTarget } from '../../services/elevation/types';
import type { PimTarget, UserProfile } from '../../services/graph/directory';
import type { ChatDraftRow, ChatRequestRow } from '../../services/store/chat-store';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import { selfActivationEntry } from '../../services/audit/entries';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { SsoResult, UserTokenResult } from '../approver-token';
import type { CardDelivery } from '../card-delivery';
import { errInfo } from '../card-delivery';
import { helpText, rolesText, statusText } from './chat-text';
import { patchFromApproval, type ChatStatusMessages } from './status-messages';
import { cardAnswer, errorAnswer, type InvokeBody } from '../teams/invoke-answers';

/** PIM opens self-extension 14 days before an assignment ends. */
export const EXTEND_WINDOW_DAYS = 14;
/** How long an extension asks for; administrators can shorten it when they approve. */
const EXTEND_BY_DAYS = 90;
/** A command typed before sign-in is run after sign-in only if the user typed it this recently. */
const PENDING_COMMAND_TTL_MS = 15 * 60_000;

/**
 * Teams' sign-in and token service calls for the user in this turn (see approver-token.ts). Every token
 * comes proven to be the acting user's (`oid` = the activity's `from.aadObjectId`, the bot's tenant), or
 * as the refusal to tell them.
 */
export interface ChatSignIn {
  /** The user's token if the token service already holds one. */
  token(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** An OAuth card that signs the user in (with Teams SSO token exchange where Teams can). */
  signInCard(ctx: TurnContext, text: string): Promise<Attachment>;
  /** For Action.Execute: the token, or the invoke response that makes Teams sign the user in. */
  invokeToken(ctx: TurnContext): Promise<SsoResult>;
  /** `signin/tokenExchange`: exchanges the SSO token Teams sent; undefined when it cannot (Teams then shows the sign-in card). */
  exchange(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** `signin/verifyState`: the token for the magic code of a completed sign-in. */
  verifyState(ctx: TurnContext): Promise<UserTokenResult | undefined>;
  /** Drops the stored token, so the next sign-in is interactive (MFA, authentication context). */
  signOut(ctx: TurnContext): Promise<void>;
}

export interface ChatCommandDeps {
  store: Store;
  directory: {
    user(id: string): Promise<UserProfile>;
    activationPolicy(target: PimTarget): Promise<ActivationPolicy>;
    /** Names of the tenant's Entra roles, to say "not eligible" rather than guess another role. */
    roleNames(): Promise<string[]>;
  };
  status: ChatStatusMessages;
  delivery: Pick<CardDelivery, 'refreshCopies'>;
  signIn: ChatSignIn;
  /** The stale-request ladder: a requester's "remind the approvers" goes through it (rate-limited there). */
  reminders?: { remindNow(row: ApprovalRequestRow, requesterId: string): Promise<string> } | null;
  /** Optional (Azure OpenAI configured): reads free text the deterministic parser did not understand. */
  naturalLanguage?: NaturalLanguage | null;
  /** PIM as the user, on behalf of their SSO token; `claims` asks Entra for a stronger sign-in (authentication context). */
  selfServiceFor(ssoToken: string, claims?: string | null): SelfService;
  log: Logger;
  now?: () => Date;
}

const cardInputs = z
  .object({
    draftId: z.string().uuid().optional(),
    chatRequestId: z.string().uuid().optional(),
    /** An approval request's id (the re-request offered when PIM dropped a request). */
    requestId: z.string().uuid().optional(),
    target: z.string().max(600).optional(),
    durationMinutes: z.union([z.string().max(8), z.number()]).optional(),
    ticketSystem: z.string().max(40).optional(),
    ticketNumber: z.string().max(80).optional(),
    justification: z.string().max(2000).optional(),
  })
  .passthrough();

const invokeValue = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: cardInputs }) });

function asCandidate(t: EligibleTarget): RoleCandidate {
  return { id: targetKey(t), displayName: t.displayName, kind: t.kind };
}

function sameTarget(a: ActivationTarget, b: ActivationTarget): boolean {
  return targetKey(a) === targetKey(b);
}

/**
 * Elevation by chat: commands in the personal chat (activate, roles, status, cancel, extend, help), the
 * form and confirmation cards, submission to PIM as the user, and PIM's refusals turned into next steps.
 * Every card action is authorised against the stored draft or request, never against the card's data.
 */
export class ChatCommands {
  constructor(private readonly deps: ChatCommandDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  // --- messages ---------------------------------------------------------------------------------

  async onMessage(ctx: TurnContext): Promise<void> {
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    const text = (ctx.activity.text ?? '').slice(0, 1000);
    const timeZone = validZone(ctx.activity.localTimezone);
    if (!userId) {
      await ctx.sendActivity('I could not tell who you are (Teams sent no Entra object id), so I cannot act for you in PIM.');
      return;
    }
    if (parseCommand(text, [], this.now(), timeZone).kind === 'help') {
      await ctx.sendActivity(plain(helpText()));
      return;
    }
    const token = await this.deps.signIn.token(ctx);
    if (token?.kind === 'identityRefused') {
      // Not kept to run after sign-in: the command came with someone else's sign-in.
      if (token.check === 'keys_unavailable') await ctx.sendActivity(plain(token.message));
      else await ctx.sendActivity(MessageFactory.attachment(await this.deps.signIn.signInCard(ctx, token.message)));
      return;
    }
    if (!token) {
      await this.deps.store.chat.savePending(userId, text, timeZone);
      await ctx.sendActivity(
        MessageFactory.attachment(
          await this.deps.signIn.signInCard(
            ctx,
            'Sign in so I can read your PIM roles and request them as you. I will run your command once you are signed in.',
          ),
        ),
      );
      return;
    }
    await this.run(ctx, userId, text, timeZone, token.token);
  }

  /** `signin/tokenExchange` and `signin/verifyState`: finish sign-in, then run the command the user typed before. */
  async onSignIn(ctx: TurnContext): Promise<{ status: number; body?: unknown }> {
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    const token = ctx.activity.name === 'signin/tokenExchange' ? await this.deps.signIn.exchange(ctx) : await this.deps.signIn.verifyState(ctx);
    if (!token) {
      // 412 tells Teams the exchange failed so it shows the sign-in card instead.
      return ctx.activity.name === 'signin/tokenExchange'
        ? {
            status: 412,
            body: {
              id: (ctx.activity.value as { id?: string })?.id,
              connectionName: (ctx.activity.value as { connectionName?: string })?.connectionName,
              failureDetail: 'The token could not be exchanged; sign in with the button.',
            },
          }
        : { status: 200 };
    }
    if (token.kind === 'identityRefused') {
      await ctx.sendActivity(plain(token.message));
      return { status: 200 };
    }
    if (userId) {
      const pending = await this.deps.store.chat.takePending(userId, new Date(this.now().getTime() - PENDING_COMMAND_TTL_MS).toISOString());
      if (pending) await this.run(ctx, userId, pending.text, pending.timeZone ?? 'UTC', token.token);
      else await ctx.sendActivity('You are signed in. Type "activate <role>" or "roles".');
    }
    return { status: 200 };
  }

  private async run(ctx: TurnContext, userId: string, text: string, timeZone: string, token: string): Promise<void> {
    const svc = this.deps.selfServiceFor(token);
    let eligible: EligibleTarget[];
    try {
      eligible = await svc.eligible();
    } catch (err) {
      await this.replyRefusal(ctx, classifyRefusal(err), 'I could not read your eligible roles from PIM');
      return;
    }
    if (/^\s*(remind|nudge|chase|ping)\b/i.test(text)) {
      await ctx.sendActivity(plain(await this.remindCommand(userId)));
      return;
    }
    if (/^\s*(form|new request|request form|request|activate|elevate)\s*[.!]?\s*$/i.test(text)) {
      await this.sendChooser(ctx, userId, eligible, timeZone);
      return;
    }
    const candidates = eligible.map(asCandidate);
    let cmd = parseCommand(text, candidates, this.now(), timeZone);
    if ((cmd.kind === 'unknown' || cmd.kind === 'clarify') && this.deps.naturalLanguage) {
      // The model only proposes: its role is matched among the user's eligible ones, and the same
      // checks and the confirmation card follow as for a typed command.
      cmd = (await this.deps.naturalLanguage.interpret(text, candidates, this.now(), timeZone).catch(() => null)) ?? cmd;
    }
    const log = this.deps.log.child({ userId, command: cmd.kind });
    if (cmd.kind === 'clarify' || cmd.kind === 'unknown' || ((cmd.kind === 'activate' || cmd.kind === 'extend') && cmd.role.confidence === 'fuzzy')) {
      const named = await this.namedIneligibleRole(text, eligible);
      if (named) {
        await ctx.sendActivity(
          plain(
            `You are not eligible for ${named} in PIM, so I cannot request it for you. Ask your PIM administrator to make you eligible if you need it. ${eligibleList(eligible)}`,
          ),
        );
        return;
      }
    }
    try {
      switch (cmd.kind) {
        case 'activate': {
          const target = eligible.find((t) => targetKey(t) === cmd.role.candidate.id)!;
          await this.offerActivation(
            ctx,
            svc,
            userId,
            target,
            {
              durationMinutes: cmd.durationMinutes,
              ticketSystem: cmd.ticket?.system ?? null,
              ticketNumber: cmd.ticket?.number ?? null,
              justification: cmd.justification,
            },
            timeZone,
          );
          return;
        }
        case 'roles':
          await ctx.sendActivity(plain(rolesText(eligible, await svc.active(), this.now(), timeZone)));
          return;
        case 'status':
          await ctx.sendActivity(plain(await this.statusFor(svc, userId, timeZone)));
          return;
        case 'cancel':
          await this.cancelCommand(ctx, svc, userId, eligible, cmd.requestRef);
          return;
        case 'extend':
          await this.extendCommand(ctx, svc, userId, eligible.find((t) => targetKey(t) === cmd.role.candidate.id)!, timeZone);
          return;
        case 'help':
          await ctx.sendActivity(plain(helpText()));
          return;
        case 'clarify':
          await ctx.sendActivity(plain(cmd.question));
          return;
        case 'unknown':
          await ctx.sendActivity(plain(cmd.hint));
          return;
      }
    } catch (err) {
      log.warn({ err: errInfo(err) }, 'chat command failed');
      await this.replyRefusal(ctx, classifyRefusal(err), 'That did not work');
    }
  }

  /** A role the user named in full that exists in the tenant but is not one of theirs. */
  private async namedIneligibleRole(text: string, eligible: EligibleTarget[]): Promise<string | null> {
    const words = ` ${text.toLowerCase().replace(/[^a-z0-9]+/g, ' ')} `;
    const mine = new Set(eligible.map((t) => t.displayName.toLowerCase()));
    const names = await this.deps.directory.roleNames().catch(() => [] as string[]);
    const hits = names.filter(
      (n) =>
        !mine.has(n.toLowerCase()) &&
        words.includes(
          ` ${n
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, ' ')
            .trim()} `,
        ),
    );
    // The longest name wins: "Exchange Recipient Administrator" over "Exchange Administrator" would not both match, but be safe.
    return hits.sort((a, b) => b.length - a.length)[0] ?? null;
  }

  private async sendChooser(ctx: TurnContext, userId: string, eligible: EligibleTarget[], timeZone: string): Promise<void> {
    const draftId = randomUUID();
    await this.deps.store.chat.insertDraft(newDraft(draftId, userId, null, emptyValues(), timeZone, this.now()));
    await ctx.sendActivity(
      MessageFactory.attachment(
        CardFactory.adaptiveCard(renderRoleChooser({ draftId, choices: eligible.map((t) => ({ key: targetKey(t), title: t.displayName })) })),
      ),
    );
  }

  /** Checks the activation against PIM's policy and what is already active or pending, then sends the form or the confirmation. */
  private async offerActivation(
    ctx: TurnContext,
    svc: SelfService,
    userId: string,
    target: EligibleTarget,
    values: DraftValues,
    timeZone: string,
  ): Promise<void> {
    const [policy, active, pending] = await Promise.all([this.deps.directory.activationPolicy(target), svc.active(), svc.pendingRequests()]);
    const running = active.find((a) => sameTarget(a, target) && (!a.endDateTime || Date.parse(a.endDateTime) > this.now().getTime()));
    if (running) {
      await ctx.sendActivity(
        plain(
          `${target.displayName} is already active for you${running.endDateTime ? ` until ${formatTime(running.endDateTime, timeZone)}` : ' (a permanent assignment)'}. Nothing to request.`,
        ),
      );
      return;
    }
    const open = pending.find((p) => p.action === 'selfActivate' && sameTarget(p, target));
    if (open) {
      await ctx.sendActivity(
        plain(
          `You already have a request for ${target.displayName} waiting in PIM (${open.status}). Type "status" to follow it or "cancel ${target.displayName}" to withdraw it.`,
        ),
      );
      return;
    }
    const checked = checkDraft(values, policy, target.displayName);
    const draftId = randomUUID();
    await this.deps.store.chat.insertDraft(newDraft(draftId, userId, target, checked.values, timeZone, this.now()));
    await ctx.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(await this.form(draftId, target, policy, checked.values, checked.problems))));
  }

  private async form(
    draftId: string,
    target: ActivationTarget,
    policy: ActivationPolicy,
    values: DraftValues,
    problems: string[],
    forceForm = false,
  ): Promise<AdaptiveCardJson> {
    return renderActivationForm({
      draftId,
      target: { key: targetKey(target), title: target.displayName, kind: target.kind },
      policy: { ...policy, approverNames: await this.names(policy.approverIds) },
      values,
      problems,
      mode: problems.length || forceForm ? 'form' : 'confirm',
    });
  }

  private async names(ids: string[]): Promise<string[]> {
    const shown = ids.slice(0, 6);
    const names = await Promise.all(
      shown.map((id) =>
        this.deps.directory
          .user(id)
          .then((u) => u.displayName)
          .catch(() => null),
      ),
    );
    const out = names.filter((n): n is string => !!n);
    if (ids.length > shown.length) out.push(`${ids.length - shown.length} more`);
    return out;
  }

  // --- card actions -----------------------------------------------------------------------------

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
        default:
          return assertNever(verb);
      }
    } catch (err) {
      log.warn({ err: errInfo(err) }, 'chat card action failed');
      return cardAnswer(renderNoticeCard({ title: 'That did not work', text: refusalText(classifyRefusal(err), 'PIM did not answer as expected') }));
    }
  }

  private async ownDraft(userId: string, draftId: string | undefined): Promise<ChatDraftRow | InvokeBody> {
    const draft = draftId ? await this.deps.store.chat.draft(draftId) : undefined;
    if (!draft) return errorAnswer(400, 'This form is not known to the bot any more. Type "activate <role>" to start again.');
    if (draft.user_id !== userId) return errorAnswer(400, 'This form belongs to someone else. Type "activate <role>" in your own chat with the bot.');
    return draft;
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
    return cardAnswer(await this.form(draft.id, target, policy, values, [], true));
  }

  private async submit(ctx: TurnContext, userId: string, draftId: string | undefined, input: Partial<DraftValues>, log: Logger): Promise<InvokeBody> {
    const draft = await this.ownDraft(userId, draftId);
    if ('statusCode' in draft) return draft;
    if (draft.status === 'submitted' && draft.chat_request_id) {
      // A second tap, or Teams retrying the invoke: show what the first one did.
      const row = await this.deps.store.chat.request(draft.chat_request_id);
      if (row) return cardAnswer(this.deps.status.card(row));
    }
    if (draft.status === 'discarded')
      return cardAnswer(renderNoticeCard({ title: 'Not submitted', text: 'You closed this form. Type "activate <role>" to start again.' }));
    if (draft.status !== 'open')
      return cardAnswer(renderNoticeCard({ title: 'Submitting', text: 'This request is being sent to PIM already. Its status appears here in a moment.' }));
    if (!draft.target) return errorAnswer(400, 'Pick a role first.');
    const target = JSON.parse(draft.target) as ActivationTarget;
    let values: DraftValues = {
      durationMinutes: input.durationMinutes ?? draft.duration_minutes,
      ticketSystem: input.ticketSystem ?? draft.ticket_system,
      ticketNumber: input.ticketNumber ?? draft.ticket_number,
      justification: input.justification ?? draft.justification,
    };
    await this.deps.store.chat.updateDraft(draft.id, draftValues(values));

    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token, draft.claims);
    let eligible: EligibleTarget[];
    let policy: ActivationPolicy;
    try {
      [eligible, policy] = await Promise.all([svc.eligible(), this.deps.directory.activationPolicy(target)]);
    } catch (err) {
      return this.refusalBody(ctx, draft, target, null, values, classifyRefusal(err));
    }
    // Authorisation is PIM's eligibility now, not what the card or the draft remembered.
    if (!eligible.some((t) => sameTarget(t, target))) {
      await this.deps.store.chat.moveDraft(draft.id, 'open', 'discarded');
      return cardAnswer(
        renderNoticeCard({
          title: 'Not eligible',
          text: `You are not eligible for ${target.displayName} any more, so nothing was sent to PIM. Ask your PIM administrator if you still need it.`,
        }),
      );
    }
    const checked = checkDraft(values, policy, target.displayName);
    if (checked.problems.length) {
      await this.deps.store.chat.updateDraft(draft.id, draftValues(checked.values));
      return cardAnswer(await this.form(draft.id, target, policy, checked.values, checked.problems));
    }
    values = checked.values;
    if (!(await this.deps.store.chat.moveDraft(draft.id, 'open', 'submitting', draftValues(values)))) {
      return cardAnswer(renderNoticeCard({ title: 'Submitting', text: 'This request is being sent to PIM already. Its status appears here in a moment.' }));
    }
    const submittedAt = this.now();
    let submitted: SubmittedRequest;
    try {
      submitted = await svc.activate(target, {
        principalId: userId,
        durationMinutes: values.durationMinutes!,
        justification: values.justification?.trim() || null,
        ticket: values.ticketNumber?.trim() ? { system: values.ticketSystem, number: values.ticketNumber.trim() } : null,
        start: submittedAt,
      });
    } catch (err) {
      await this.deps.store.chat.moveDraft(draft.id, 'submitting', 'open');
      const refusal = classifyRefusal(err);
      log.info({ refusal: refusal.kind, rules: refusal.kind === 'policy' ? refusal.rules : undefined }, 'PIM refused the activation');
      await this.auditActivation(
        userId,
        target,
        values,
        null,
        'refused',
        refusal.kind === 'policy' ? `${refusal.kind}: ${refusal.rules.join(', ')}` : refusal.kind,
      );
      return this.refusalBody(ctx, draft, target, policy, values, refusal);
    }
    await this.auditActivation(userId, target, values, submitted.pimRequestId, submitted.status, null);
    const row = await this.recordSubmission(ctx, userId, draft, target, policy, values, submitted, submittedAt);
    await this.deps.store.chat.moveDraft(draft.id, 'submitting', 'submitted', { chat_request_id: row.id });
    log.info({ pimRequestId: submitted.pimRequestId, status: submitted.status, state: row.state }, 'activation submitted');
    return cardAnswer(this.deps.status.card(row));
  }

  /** The activation filed (or refused) in PIM as the user, in the audit trail; a failed append is logged, never shown as a failed request. */
  private async auditActivation(
    userId: string,
    target: ActivationTarget,
    values: DraftValues,
    pimRequestId: string | null,
    outcome: string,
    problem: string | null,
  ): Promise<void> {
    const entry = selfActivationEntry(
      userId,
      {
        pimRequestId,
        outcome,
        requestKind: target.kind,
        roleDefinitionId: target.roleDefinitionId,
        scope: target.scope,
        durationMinutes: values.durationMinutes ?? 0,
        justification: values.justification?.trim() || null,
        ticket: values.ticketNumber?.trim() ? `${values.ticketSystem ?? ''} ${values.ticketNumber.trim()}`.trim() : null,
        problem,
      },
      this.now(),
    );
    await this.deps.store.audit
      .record(entry)
      .catch((err: unknown) =>
        this.deps.log.error({ err: { message: (err as Error).message }, pimRequestId }, 'audit: the activation could not be recorded in the audit trail'),
      );
  }

  /** Stores the request and the status it starts in; the card that answered the invoke becomes its status message. */
  private async recordSubmission(
    ctx: TurnContext,
    userId: string,
    draft: ChatDraftRow,
    target: ActivationTarget,
    policy: ActivationPolicy,
    values: DraftValues,
    submitted: SubmittedRequest,
    at: Date,
  ): Promise<ChatRequestRow> {
    const store = this.deps.store;
    const since = new Date(at.getTime() - 5_000).toISOString();
    const evaluation =
      target.kind === 'azureResource'
        ? await store.latestEvaluationFor(target.kind, userId, target.roleDefinitionId, target.scope, since)
        : await store.evaluationByPimId(submitted.pimRequestId);
    const approval =
      target.kind === 'azureResource'
        ? await store.latestApprovalFor(target.kind, userId, target.roleDefinitionId, target.scope, since)
        : await store.getRequestByPimId(submitted.pimRequestId);
    const decisionService =
      evaluation && (evaluation.outcome === 'AutoApproved' || evaluation.outcome === 'Denied')
        ? { outcome: evaluation.outcome, reasons: JSON.parse(evaluation.reasons) as string[] }
        : null;
    const state = stateOfPimStatus(submitted.status);
    const until = new Date(at.getTime() + values.durationMinutes! * 60_000);
    const id = randomUUID();
    const nowIso = this.now().toISOString();
    await store.chat.insertRequest({
      id,
      user_id: userId,
      kind: target.kind,
      role_definition_id: target.roleDefinitionId,
      scope: target.scope,
      role_title: target.displayName,
      pim_request_id: submitted.pimRequestId,
      approval_key: approval?.pim_request_id ?? (target.kind === 'azureResource' ? null : submitted.pimRequestId),
      duration_minutes: values.durationMinutes!,
      ticket_system: values.ticketNumber ? values.ticketSystem : null,
      ticket_number: values.ticketNumber?.trim() || null,
      justification: values.justification?.trim() || null,
      state,
      // PIM never lets requesters approve themselves, so they are not shown as approvers.
      approver_names: JSON.stringify(state === 'pending' ? await this.names(policy.approverIds.filter((id) => id.toLowerCase() !== userId)) : []),
      decided_by_name: null,
      decided_at: null,
      decision_justification: null,
      decision_service: decisionService ? JSON.stringify(decisionService) : null,
      active_from: state === 'active' ? at.toISOString() : null,
      active_until: state === 'active' ? until.toISOString() : null,
      ended_at: null,
      message:
        state === 'failed'
          ? "PIM could not complete the request (status Failed): it did not get an answer it could act on from your organisation's checks, so nothing was activated. Try again in a few minutes; if it keeps failing, tell your PIM administrator."
          : null,
      conversation_ref: JSON.stringify(TurnContext.getConversationReference(ctx.activity)),
      activity_id: ctx.activity.replyToId ?? null,
      version: 1,
      // The invoke response shows this version in place of the form; with no message to replace, the sweep posts it.
      rendered_version: ctx.activity.replyToId ? 1 : 0,
      time_zone: draft.time_zone,
      created_at: nowIso,
      updated_at: nowIso,
    });
    let row = (await store.chat.request(id))!;
    // An approver may have been quicker than this write: catch up at once rather than at the next sweep.
    if (approval && state === 'pending') {
      const patch = patchFromApproval(row, approval, undefined, this.now());
      if (patch) row = (await store.chat.updateRequest(id, { ...patch, rendered_version: row.version + 1 }))!;
    }
    return row;
  }

  /** PIM said no (or Entra wants a stronger sign-in): the form again with what to do, or a notice. */
  private async refusalBody(
    ctx: TurnContext,
    draft: ChatDraftRow,
    target: ActivationTarget,
    policy: ActivationPolicy | null,
    values: DraftValues,
    refusal: ActivationRefusal,
  ): Promise<InvokeBody> {
    const title = target.displayName;
    const withPolicy = async (p: Partial<ActivationPolicy>, problems: string[], v = values) => {
      const base = policy ?? (await this.deps.directory.activationPolicy(target));
      return cardAnswer(await this.form(draft.id, target, { ...base, ...p }, v, problems));
    };
    switch (refusal.kind) {
      case 'policy': {
        const problems: string[] = [];
        const patch: Partial<ActivationPolicy> = {};
        let v = values;
        if (refusal.rules.includes('TicketingRule')) {
          patch.ticketRequired = true;
          problems.push(`PIM needs a ticket for ${title}: enter the incident or change number you are working on.`);
        }
        if (refusal.rules.includes('ExpirationRule')) {
          const max = policy?.maximumMinutes ?? 60;
          v = { ...values, durationMinutes: max };
          problems.push(
            `PIM refused ${hoursText(values.durationMinutes ?? 0)} for ${title}; the most it allows is ${hoursText(max)}. I selected the maximum: submit again to use it.`,
          );
        }
        if (refusal.rules.includes('JustificationRule')) {
          patch.justificationRequired = true;
          problems.push(`PIM needs a reason for ${title}: say what you will do with it.`);
        }
        const other = refusal.rules.filter((r) => !['TicketingRule', 'ExpirationRule', 'JustificationRule'].includes(r));
        if (other.length) problems.push(`PIM's policy for ${title} refused the request (${other.join(', ')}). Check the request with your PIM administrator.`);
        await this.deps.store.chat.updateDraft(draft.id, draftValues(v));
        return withPolicy(patch, problems, v);
      }
      case 'mfa':
        await this.askToSignInAgain(
          ctx,
          `PIM needs multi-factor authentication to activate ${title}. Sign in again and complete MFA, then press Submit request on the form.`,
        );
        return withPolicy({ mfaRequired: true }, [
          `PIM needs multi-factor authentication for ${title}. Sign in again with the card below (complete the MFA prompt), then press Submit request.`,
        ]);
      case 'authContext': {
        if (refusal.claims) await this.deps.store.chat.updateDraft(draft.id, { claims: refusal.claims });
        const context = policy?.authenticationContext;
        await this.askToSignInAgain(
          ctx,
          `PIM needs a stronger sign-in to activate ${title}${context ? ` (Conditional Access authentication context ${context})` : ''}. Sign in again, then press Submit request on the form.`,
        );
        return withPolicy({}, [
          `PIM needs a stronger sign-in for ${title}${context ? ` (authentication context ${context})` : ''}. Sign in again with the card below, then press Submit request.`,
        ]);
      }
      default:
        return cardAnswer(renderNoticeCard({ title: 'Not submitted', text: refusalText(refusal, `PIM did not accept the request for ${title}`) }));
    }
  }

  private async askToSignInAgain(ctx: TurnContext, text: string): Promise<void> {
    await this.deps.signIn.signOut(ctx).catch(() => undefined);
    await ctx.sendActivity(MessageFactory.attachment(await this.deps.signIn.signInCard(ctx, text)));
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
    const updated = await this.cancelTracked(this.deps.selfServiceFor(sso.token), row, log);
    if (typeof updated === 'string') return cardAnswer(renderNoticeCard({ title: 'Not cancelled', text: updated }));
    await this.deps.store.chat.markRendered(updated.id, updated.version, ctx.activity.replyToId ?? updated.activity_id ?? '');
    return cardAnswer(this.deps.status.card(updated));
  }

  /** Cancels in PIM, then closes the chat request and the approvers' card. A string is the reason it could not. */
  private async cancelTracked(svc: SelfService, row: ChatRequestRow, log: Logger): Promise<ChatRequestRow | string> {
    try {
      await svc.cancel({ kind: row.kind as ActivationTarget['kind'], scope: row.scope }, row.pim_request_id);
    } catch (err) {
      return refusalText(classifyRefusal(err), `PIM did not cancel the request for ${row.role_title}`);
    }
    const at = this.now().toISOString();
    const updated = (await this.deps.store.chat.updateRequest(row.id, { state: 'cancelled', decided_at: at, message: 'You cancelled this request.' }))!;
    const approval = row.approval_key ? await this.deps.store.getRequestByPimId(row.approval_key) : undefined;
    if (approval && approval.status === 'pending') {
      await this.deps.store.updateRequestIfVersion(approval.id, approval.version, {
        status: 'cancelled',
        decided_by_id: null,
        decided_by_name: 'the requester',
        decided_at: at,
        decision_justification: 'Cancelled by the requester in Teams',
      });
      await this.deps.delivery
        .refreshCopies(approval.id)
        .catch((err: unknown) => log.warn({ err: errInfo(err) }, 'approval cards not updated; the sweep retries'));
    }
    log.info({ pimRequestId: row.pim_request_id }, 'request cancelled by the requester');
    return updated;
  }

  private async again(ctx: TurnContext, userId: string, id: string | undefined): Promise<InvokeBody> {
    const row = await this.ownRequest(userId, id);
    if ('statusCode' in row) return row;
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    const target = (await svc.eligible()).find(
      (t) =>
        t.kind === row.kind && t.roleDefinitionId.toLowerCase() === row.role_definition_id.toLowerCase() && t.scope.toLowerCase() === row.scope.toLowerCase(),
    );
    if (!target) {
      await ctx.sendActivity(plain(`You are not eligible for ${row.role_title} any more. Ask your PIM administrator if you still need it.`));
    } else {
      await this.offerActivation(
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
    const approval = row.approval_key ? await this.deps.store.getRequestByPimId(row.approval_key) : undefined;
    const said =
      approval && this.deps.reminders ? await this.deps.reminders.remindNow(approval, userId) : 'This request has no approval card to remind anyone about.';
    // The status card stays as it is, with what happened underneath.
    return cardAnswer(withStatusNote(this.deps.status.card(row), said));
  }

  /** "remind": the user's one waiting request, or which one when there are several. */
  private async remindCommand(userId: string): Promise<string> {
    const waiting = (await this.deps.store.pendingApprovals()).filter((r) => r.principal_id.toLowerCase() === userId);
    if (!this.deps.reminders) return 'Reminders are not switched on here.';
    if (waiting.length === 0) return 'None of your requests is waiting for an approver.';
    if (waiting.length > 1) {
      const names = waiting.map((r) => (r.display ? (JSON.parse(r.display) as { roleDisplayName?: string }).roleDisplayName : null) ?? r.role_definition_id);
      return `You have ${waiting.length} requests waiting (${names.join(', ')}): use the Remind approvers button on the one you mean.`;
    }
    return this.deps.reminders.remindNow(waiting[0]!, userId);
  }

  /** The one-tap re-request offered when PIM dropped (or a human denied) a request made outside this chat. */
  private async againFromApproval(ctx: TurnContext, userId: string, requestId: string | undefined): Promise<InvokeBody> {
    const row = requestId ? await this.deps.store.getRequest(requestId) : undefined;
    if (!row) return errorAnswer(400, 'This request is not known to the bot any more. Type "activate <role>" to ask again.');
    if (row.principal_id.toLowerCase() !== userId) return errorAnswer(400, 'Only the person who made this request can ask for it again.');
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    const target = (await svc.eligible()).find(
      (t) =>
        t.kind === row.kind && t.roleDefinitionId.toLowerCase() === row.role_definition_id.toLowerCase() && t.scope.toLowerCase() === row.scope.toLowerCase(),
    );
    if (!target)
      return cardAnswer(
        renderNoticeCard({ title: 'Not eligible', text: 'You are not eligible for that role any more. Ask your PIM administrator if you still need it.' }),
      );
    await this.offerActivation(
      ctx,
      svc,
      userId,
      target,
      { durationMinutes: row.duration_minutes, ticketSystem: row.ticket_system, ticketNumber: row.ticket_number, justification: row.justification },
      'UTC',
    );
    return cardAnswer(renderNoticeCard({ title: 'Asking again', text: 'I sent you a new request form below; check it and submit.' }));
  }

  // --- text commands ----------------------------------------------------------------------------

  private async statusFor(svc: SelfService, userId: string, timeZone: string): Promise<string> {
    const [mine, pimOpen, waiting] = await Promise.all([this.deps.store.chat.requestsOf(userId, 10), svc.pendingRequests(), this.waitingFor(userId)]);
    return statusText({ mine, pimOpen, waiting, timeZone, now: this.now() });
  }

  /** Requests this user may approve that are still waiting, from the approval cards' own records. */
  private async waitingFor(userId: string): Promise<Array<{ requester: string; role: string; createdAt: string }>> {
    const out: Array<{ requester: string; role: string; createdAt: string }> = [];
    for (const row of await this.deps.store.pendingApprovals()) {
      if (row.principal_id.toLowerCase() === userId) continue;
      const display = row.display
        ? (JSON.parse(row.display) as { approverIds?: string[]; requester?: { displayName?: string }; roleDisplayName?: string })
        : null;
      if (!display?.approverIds?.some((id) => id.toLowerCase() === userId)) continue;
      out.push({
        requester: display.requester?.displayName ?? row.principal_id,
        role: display.roleDisplayName ?? row.role_definition_id,
        createdAt: row.created_at,
      });
    }
    return out;
  }

  private async cancelCommand(ctx: TurnContext, svc: SelfService, userId: string, eligible: EligibleTarget[], ref: string | null): Promise<void> {
    const log = this.deps.log.child({ userId, command: 'cancel' });
    const tracked = (await this.deps.store.chat.requestsOf(userId, 50)).filter((r) => r.state === 'pending');
    const open = await svc.pendingRequests();
    type Candidate = { title: string; tracked?: ChatRequestRow; pim?: (typeof open)[number] };
    const candidates: Candidate[] = [
      ...tracked.map((t) => ({ title: t.role_title, tracked: t })),
      ...open
        .filter((p) => !tracked.some((t) => t.pim_request_id.toLowerCase() === p.pimRequestId.toLowerCase()))
        .map((p) => ({ title: /extend/i.test(p.action) ? `extension of ${p.displayName}` : p.displayName, pim: p })),
    ];
    let chosen = candidates;
    if (ref) {
      const r = ref.toLowerCase();
      const role = eligible.find((t) => targetKey(t) === ref);
      chosen = candidates.filter((c) => {
        const id = (c.tracked?.pim_request_id ?? c.pim?.pimRequestId ?? '').toLowerCase();
        const chatId = c.tracked?.id.toLowerCase() ?? '';
        if (id === r || chatId === r || (r.length >= 6 && (id.startsWith(r) || chatId.startsWith(r)))) return true;
        if (!role) return false;
        const t = c.tracked ? { kind: c.tracked.kind, roleDefinitionId: c.tracked.role_definition_id, scope: c.tracked.scope } : c.pim!;
        return sameTarget(t as ActivationTarget, role);
      });
    }
    if (chosen.length === 0) {
      await ctx.sendActivity(
        plain(ref ? 'I found no pending request of yours matching that. Type "status" to see your requests.' : 'You have no pending requests to cancel.'),
      );
      return;
    }
    if (chosen.length > 1) {
      await ctx.sendActivity(
        plain(`You have ${chosen.length} pending requests: ${chosen.map((c) => c.title).join(', ')}. Say which one, for example "cancel ${chosen[0]!.title}".`),
      );
      return;
    }
    const c = chosen[0]!;
    if (c.tracked) {
      const updated = await this.cancelTracked(svc, c.tracked, log);
      if (typeof updated === 'string') {
        await ctx.sendActivity(plain(updated));
        return;
      }
      await this.deps.status.deliver(updated.id);
    } else {
      try {
        await svc.cancel(c.pim!, c.pim!.pimRequestId, c.pim!.action);
      } catch (err) {
        await ctx.sendActivity(plain(refusalText(classifyRefusal(err), `PIM did not cancel the request for ${c.title}`)));
        return;
      }
    }
    await ctx.sendActivity(plain(`Cancelled your request for ${c.title}. Approvers no longer see it as waiting.`));
  }

  private async extendCommand(ctx: TurnContext, svc: SelfService, userId: string, target: EligibleTarget, timeZone: string): Promise<void> {
    if (!target.eligibleUntil) {
      await ctx.sendActivity(
        plain(
          `Your eligibility for ${target.displayName} does not expire, so there is nothing to extend. Activations themselves are not extended: when one ends, activate again.`,
        ),
      );
      return;
    }
    const ends = Date.parse(target.eligibleUntil);
    const opens = new Date(ends - EXTEND_WINDOW_DAYS * 86_400_000);
    if (opens.getTime() > this.now().getTime()) {
      await ctx.sendActivity(
        plain(
          `Your eligibility for ${target.displayName} ends ${formatTime(target.eligibleUntil, timeZone)}. PIM accepts extension requests from ${EXTEND_WINDOW_DAYS} days before that, from ${formatTime(opens.toISOString(), timeZone)}; ask again then.`,
        ),
      );
      return;
    }
    if (target.kind === 'group') {
      await ctx.sendActivity(
        plain(
          `PIM for Groups has no self-extension: ask an owner of the group or your PIM administrator to extend your ${target.displayName} eligibility before ${formatTime(target.eligibleUntil, timeZone)}.`,
        ),
      );
      return;
    }
    try {
      const r = await svc.extend(target, {
        principalId: userId,
        justification: 'Extension of eligibility requested in Teams before it ends',
        extendByDays: EXTEND_BY_DAYS,
        start: this.now(),
      });
      await ctx.sendActivity(
        plain(
          `Asked PIM to extend your eligibility for ${target.displayName} (it ends ${formatTime(target.eligibleUntil, timeZone)}). PIM sends extension requests to your administrators; status: ${r.status}.`,
        ),
      );
    } catch (err) {
      await ctx.sendActivity(plain(refusalText(classifyRefusal(err), `PIM did not accept the extension of ${target.displayName}`)));
    }
  }

  private async replyRefusal(ctx: TurnContext, refusal: ActivationRefusal, what: string): Promise<void> {
    if (refusal.kind === 'authContext' || refusal.kind === 'mfa') {
      await this.askToSignInAgain(ctx, 'PIM needs a stronger sign-in from you. Sign in again, then repeat your command.');
      return;
    }
    await ctx.sendActivity(plain(refusalText(refusal, what)));
  }
}

function eligibleList(eligible: EligibleTarget[]): string {
  return eligible.length ? `You can activate: ${eligible.map((t) => t.displayName).join(', ')}.` : 'You are not eligible for any role or group in PIM yet.';
}

/** One sentence per refusal that says what happened and what to do; PIM's own message and request id for the rest. */
export function refusalText(refusal: ActivationRefusal, what: string): string {
  switch (refusal.kind) {
    case 'alreadyActive':
      return `${what}: the role is already active for you. Type "roles" to see until when.`;
    case 'alreadyPending':
      return `${what}: you already have a request for it waiting in PIM. Type "status" to follow it or "cancel" to withdraw it.`;
    case 'notEligible':
      return `${what}: PIM says you are not eligible for it. Ask your PIM administrator to make you eligible.`;
    case 'mfa':
      return `${what}: PIM needs multi-factor authentication. Sign in again and complete MFA.`;
    case 'authContext':
      return `${what}: PIM needs a stronger sign-in (Conditional Access authentication context). Sign in again.`;
    case 'policy':
      return `${what}: PIM's policy refused it (${refusal.rules.join(', ')}).`;
    case 'other':
      return `${what}. PIM said: ${refusal.message}${refusal.requestId ? ` (request id ${refusal.requestId})` : ''}. Nothing was changed; try again, and if it keeps failing send this message to your PIM administrator.`;
  }
}

export function stateOfPimStatus(status: string): ChatRequestRow['state'] {
  switch (status) {
    case 'Granted':
    case 'Provisioned':
    case 'PendingProvisioning':
    case 'ScheduleCreated':
      return 'active';
    case 'Denied':
      return 'denied';
    case 'Failed':
    case 'Revoked':
      return 'failed';
    case 'Canceled':
    case 'Cancelled':
      return 'cancelled';
    case 'TimedOut':
      return 'expired';
    default:
      return 'pending';
  }
}

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

function emptyValues(): DraftValues {
  return { durationMinutes: null, ticketSystem: null, ticketNumber: null, justification: null };
}

function draftValues(v: DraftValues) {
  return { duration_minutes: v.durationMinutes, ticket_system: v.ticketSystem, ticket_number: v.ticketNumber, justification: v.justification };
}

function pickTarget(t: ActivationTarget): ActivationTarget {
  return { kind: t.kind, roleDefinitionId: t.roleDefinitionId, scope: t.scope, displayName: t.displayName };
}

function newDraft(id: string, userId: string, target: ActivationTarget | null, v: DraftValues, timeZone: string, now: Date) {
  const at = now.toISOString();
  return {
    id,
    user_id: userId,
    target: target ? JSON.stringify(pickTarget(target)) : null,
    ...draftValues(v),
    claims: null,
    status: 'open',
    chat_request_id: null,
    time_zone: timeZone,
    created_at: at,
    updated_at: at,
  };
}

function validZone(zone: string | undefined): string {
  if (!zone) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

/** Plain text: role and group names come from the directory and must not be read as markdown. */
function plain(text: string) {
  return { type: ActivityTypes.Message, text, textFormat: 'plain' as const };
}
