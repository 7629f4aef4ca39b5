import { randomUUID } from 'node:crypto';
import { CardFactory, MessageFactory, type TurnContext } from 'botbuilder';
import { type CancelChoice, formatTime, renderCancelChooser, renderHelpCard, renderRoleChooser } from '../../cards/chat';
import { chatRequestTarget, emptyValues, newDraft, sameTarget } from '../../services/chat/chat-drafts';
import { ineligibleRoleNamed } from '../../services/chat/named-role';
import { parseCommand, type RoleCandidate } from '../../services/chat/parse-command';
import { looksLikeEndCommand, parseEndCommand } from '../../services/chat/parse-end';
import { looksLikeRenewCommand, parseRenewCommand } from '../../services/chat/parse-renew';
import { pimStatusWords, scopeWords } from '../../services/chat/plain-words';
import { EXTEND_WINDOW_DAYS } from '../../services/digests';
import { type ActivationRefusal, classifyRefusal } from '../../services/elevation/activation-problems';
import { endableFrom, type SelfService } from '../../services/elevation/self-service';
import { type ActivationTarget, type ActiveAssignment, type EligibleTarget, type ExpiredTarget, targetKey } from '../../services/elevation/types';
import { errInfo } from '../../services/observability/err-info';
import type { ChatRequestRow } from '../../services/store/chat-store';
import { type ChatCommandDeps, type ChatReplies, markdown, plain } from './chat-replies';
import { extendText, renewText } from '../teams/digest-actions';
import { eligibleList, md, refusalText, rolesText, STATUS_RECENT_LIMIT, statusText } from './chat-text';
import { decidersNow, parseDisplay } from '../../services/approvals/request-display';

/** "approvals on" / "approvals off": a copy of every card waiting for me in this chat, or not. */
const APPROVALS_SETTING = /^\s*approvals\s+(on|off)\s*[.!]?\s*$/i;
/** "approvals" and its plain variants: what waits for my approval. */
const APPROVALS = /^\s*(approvals|my approvals|pending approvals|to approve|what awaits me)\s*[.!?]?\s*$/i;
/** Cards an `approvals` answer sends at most (the rest are named as waiting in the channel). */
const APPROVALS_SHOWN = 10;

/** How long an extension asks for; administrators can shorten it when they approve. */
const EXTEND_BY_DAYS = 90;
/** A command typed before sign-in is run after sign-in only if the user typed it this recently. */
const PENDING_COMMAND_TTL_MS = 15 * 60_000;

function asCandidate(t: ActivationTarget): RoleCandidate {
  return { id: targetKey(t), displayName: t.displayName, kind: t.kind };
}

/**
 * Messages in the personal chat (activate, roles, status, cancel, extend, remind, help), the sign-in that
 * runs the command typed before it, and PIM's refusals turned into next steps.
 */
export class ChatMessages {
  constructor(
    private readonly deps: ChatCommandDeps,
    private readonly replies: ChatReplies,
  ) {}

  private now(): Date {
    return this.replies.now();
  }

  async onMessage(ctx: TurnContext): Promise<void> {
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    const text = (ctx.activity.text ?? '').slice(0, 1000);
    const timeZone = validZone(ctx.activity.localTimezone);
    if (!userId) {
      await ctx.sendActivity('I could not tell who you are (Teams sent no Entra object id), so I cannot act for you in PIM.');
      return;
    }
    if (parseCommand(text, [], this.now(), timeZone).kind === 'help') {
      await ctx.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(renderHelpCard())));
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
    const cardsSetting = APPROVALS_SETTING.exec(text);
    if (cardsSetting) {
      await this.approvalCardsSetting(ctx, userId, cardsSetting[1]!.toLowerCase() === 'on');
      return;
    }
    if (APPROVALS.test(text)) {
      await this.approvalsCommand(ctx, userId);
      return;
    }
    const svc = this.deps.selfServiceFor(token);
    let eligible: EligibleTarget[];
    try {
      eligible = await svc.eligible();
    } catch (err) {
      await this.replyRefusal(ctx, classifyRefusal(err), 'I could not read your eligible roles from PIM');
      return;
    }
    if (looksLikeEndCommand(text)) {
      await this.endCommand(ctx, svc, userId, text, timeZone);
      return;
    }
    if (looksLikeRenewCommand(text)) {
      await this.renewCommand(ctx, svc, userId, text, timeZone, eligible);
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
          await this.replies.offerActivation(
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
          await ctx.sendActivity(markdown(rolesText(eligible, await svc.active(), this.now(), timeZone)));
          return;
        case 'status':
          await ctx.sendActivity(markdown(await this.statusFor(svc, userId, timeZone)));
          return;
        case 'cancel':
          await this.cancelCommand(ctx, svc, userId, eligible, cmd.requestRef, timeZone);
          return;
        case 'extend':
          await this.extendCommand(ctx, svc, userId, eligible.find((t) => targetKey(t) === cmd.role.candidate.id)!, timeZone);
          return;
        case 'help':
          await ctx.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(renderHelpCard())));
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

  /** A role the user named (in full or shortened) that exists in the tenant but is not one of theirs. */
  private async namedIneligibleRole(text: string, eligible: EligibleTarget[]): Promise<string | null> {
    const names = await this.deps.directory.roleNames().catch(() => [] as string[]);
    return ineligibleRoleNamed(
      text,
      eligible.map((t) => t.displayName),
      names,
    );
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

  /**
   * "approvals": the requests waiting for this user's approval (as the cards list the approvers; a decision
   * still checks PIM's policy afresh), each as a copy of its card here, with the controls. The copies are
   * recorded like the channel's, so every decision rewrites them; asking again sends no second copy.
   */
  private async approvalsCommand(ctx: TurnContext, userId: string, quietWhenNone = false): Promise<void> {
    const mine = (await this.deps.store.requests.waiting())
      .filter((r) => r.status === 'pending' && r.cards_posted_at && r.principal_id.toLowerCase() !== userId)
      // Who may decide now: the approvers, and the escalation approvers once PIM's escalation time has passed.
      .filter((r) => decidersNow(r, this.now()).includes(userId));
    if (mine.length === 0) {
      if (!quietWhenNone) await ctx.sendActivity(plain('Nothing is waiting for your approval right now.'));
      return;
    }
    const shown = mine.slice(0, APPROVALS_SHOWN);
    const lines = shown.map((r) => {
      const d = parseDisplay(r);
      return `- ${md(d.roleDisplayName)} for ${md(d.requester.displayName)}`;
    });
    const more = mine.length > shown.length ? `\n\n${mine.length - shown.length} more wait in the approvers' channel.` : '';
    await ctx.sendActivity(
      markdown(
        `**${mine.length === 1 ? '1 request waits' : `${mine.length} requests wait`} for your approval.** Their cards follow here, with Approve and Deny; each stays in step with the channel's copy.\n\n${lines.join('\n')}${more}`,
      ),
    );
    const chat = { conversationId: ctx.activity.conversation.id, serviceUrl: ctx.activity.serviceUrl };
    for (const row of shown) await this.deps.delivery.enqueuePersonalCopy(row, chat);
  }

  /** "approvals on|off": every card waiting for this approver also comes to this chat, from now on (or no longer). */
  private async approvalCardsSetting(ctx: TurnContext, userId: string, on: boolean): Promise<void> {
    if (!(await this.deps.store.conversations.setApprovalCards(userId, on))) {
      await ctx.sendActivity(plain('I could not keep that setting: this chat is not saved yet. Send it again in a moment.'));
      return;
    }
    if (!on) {
      await ctx.sendActivity(
        plain('Turned off: new requests waiting for your approval come only to the approvers\' channel. Type "approvals" to see them here.'),
      );
      return;
    }
    await ctx.sendActivity(
      plain(
        'Turned on: every new request waiting for your approval also comes to this chat as its card, kept in step with the channel. Type "approvals off" to stop.',
      ),
    );
    await this.approvalsCommand(ctx, userId, true);
  }

  /** "remind": the user's one waiting request, or which one when there are several. */
  private async remindCommand(userId: string): Promise<string> {
    const waiting = (await this.deps.store.requests.waiting()).filter((r) => r.principal_id.toLowerCase() === userId);
    if (!this.deps.reminders) return 'Reminders are not switched on here.';
    if (waiting.length === 0) return 'None of your requests is waiting for an approver.';
    if (waiting.length > 1) {
      const names = waiting.map((r) => (r.display ? (JSON.parse(r.display) as { roleDisplayName?: string }).roleDisplayName : null) ?? r.role_definition_id);
      return `You have ${waiting.length} requests waiting (${names.join(', ')}): use the Remind approvers button on the one you mean.`;
    }
    return this.deps.reminders.remindNow(waiting[0]!, userId);
  }

  private async statusFor(svc: SelfService, userId: string, timeZone: string): Promise<string> {
    const [mine, pimOpen, waiting] = await Promise.all([
      this.deps.store.chat.requestsOf(userId, STATUS_RECENT_LIMIT),
      svc.pendingRequests(),
      this.waitingFor(userId),
    ]);
    return statusText({ mine, pimOpen, waiting, timeZone, now: this.now() });
  }

  /** Requests this user may approve that are still waiting, from the approval cards' own records. */
  private async waitingFor(userId: string): Promise<Array<{ requester: string; role: string; createdAt: string }>> {
    const out: Array<{ requester: string; role: string; createdAt: string }> = [];
    for (const row of await this.deps.store.requests.waiting()) {
      if (row.principal_id.toLowerCase() === userId || !row.display || !decidersNow(row, this.now()).includes(userId)) continue;
      const display = parseDisplay(row);
      out.push({ requester: display.requester.displayName, role: display.roleDisplayName, createdAt: row.created_at });
    }
    return out;
  }

  /**
   * "cancel" with a role or request id that points at one request cancels it at once (the user said which).
   * A bare "cancel", or one that fits several requests, asks first: a card with one button per request
   * (`chat.cancelChoice`), so the bot never guesses which request to withdraw.
   */
  private async cancelCommand(
    ctx: TurnContext,
    svc: SelfService,
    userId: string,
    eligible: EligibleTarget[],
    ref: string | null,
    timeZone: string,
  ): Promise<void> {
    const log = this.deps.log.child({ userId, command: 'cancel' });
    const tracked = (await this.deps.store.chat.requestsOf(userId, 50)).filter((r) => r.state === 'pending');
    const open = await svc.pendingRequests();
    type Candidate = { title: string; tracked?: ChatRequestRow; pim?: (typeof open)[number] };
    const candidates: Candidate[] = [
      ...tracked.map((t) => ({ title: t.role_title, tracked: t })),
      ...open
        .filter((p) => !tracked.some((t) => t.pim_request_id.toLowerCase() === p.pimRequestId.toLowerCase()))
        .map((p) => ({
          title: /extend/i.test(p.action) ? `extension of ${p.displayName}` : /renew/i.test(p.action) ? `renewal of ${p.displayName}` : p.displayName,
          pim: p,
        })),
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
    if (chosen.length > 1 || !ref) {
      const choices: CancelChoice[] = chosen.map((c) =>
        c.tracked
          ? {
              roleTitle: c.tracked.role_title,
              scopeText: scopeWords(c.tracked.kind, c.tracked.scope),
              statusText: 'waiting for approval',
              requestedAt: c.tracked.created_at,
              chatRequestId: c.tracked.id,
            }
          : {
              roleTitle: c.title.charAt(0).toUpperCase() + c.title.slice(1),
              scopeText: scopeWords(c.pim!.kind, c.pim!.scope),
              statusText: pimStatusWords(c.pim!.status),
              requestedAt: c.pim!.createdDateTime,
              pimRequestId: c.pim!.pimRequestId,
            },
      );
      await ctx.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(renderCancelChooser({ choices, timeZone }))));
      return;
    }
    const c = chosen[0]!;
    if (c.tracked) {
      const updated = await this.replies.cancelTracked(svc, c.tracked, log);
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
      // PIM for Groups has no self-extension: the group's administrators decide it from a card in the admin
      // channel, as for the digest's Extend.
      if (this.deps.renewal) {
        const outcome = await this.deps.renewal.extend(
          userId,
          { kind: 'group', roleDefinitionId: target.roleDefinitionId, scope: target.scope, assignment: 'eligible' },
          svc,
        );
        await ctx.sendActivity(plain(extendText(outcome)));
        return;
      }
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
          `Asked PIM to extend your eligibility for ${target.displayName} (it ends ${formatTime(target.eligibleUntil, timeZone)}). PIM sends extension requests to your administrators; it is ${pimStatusWords(r.status)}.`,
        ),
      );
    } catch (err) {
      await ctx.sendActivity(plain(refusalText(classifyRefusal(err), `PIM did not accept the extension of ${target.displayName}`)));
    }
  }

  /**
   * "done <role>": ends one of the user's running activations now (selfDeactivate), so access does not outlive
   * the work. Only activations can be ended this way (a permanent active assignment is the admins' to remove),
   * and the role is always named, so access never ends by surprise.
   */
  private async endCommand(ctx: TurnContext, svc: SelfService, userId: string, text: string, timeZone: string): Promise<void> {
    let running: ActiveAssignment[];
    try {
      running = (await svc.active()).filter((a) => a.assignmentType === 'Activated' && (!a.endDateTime || Date.parse(a.endDateTime) > this.now().getTime()));
    } catch (err) {
      await this.replyRefusal(ctx, classifyRefusal(err), 'I could not read your active roles from PIM');
      return;
    }
    const cmd = parseEndCommand(text, running.map(asCandidate));
    if (!cmd) return;
    if (cmd.kind === 'clarify') {
      await ctx.sendActivity(plain(cmd.question));
      return;
    }
    const target = running.find((a) => targetKey(a) === cmd.role.candidate.id)!;
    const log = this.deps.log.child({ userId, command: 'end', kind: target.kind });
    try {
      await svc.deactivate(target, userId);
      log.info('activation ended early by its user');
      // The status message of the chat request that activated it says so too.
      const at = this.now().toISOString();
      for (const row of await this.deps.store.chat.requestsOf(userId, 50)) {
        if (row.state !== 'active' || !sameTarget(chatRequestTarget(row), target)) continue;
        await this.deps.store.chat.updateRequest(row.id, { state: 'ended', ended_at: at });
        await this.deps.status.deliver(row.id);
      }
      const until = target.endDateTime ? ` (it would have run until ${formatTime(target.endDateTime, timeZone)})` : '';
      await ctx.sendActivity(plain(`Done: your ${target.displayName} activation has ended${until}. Activate it again when you next need it.`));
    } catch (err) {
      const from = endableFrom(err, target.startDateTime);
      if (from) {
        await ctx.sendActivity(
          plain(
            `PIM ends an activation only once it has run 5 minutes: your ${target.displayName} started just now. Send "done ${target.displayName}" again from ${formatTime(from, timeZone)}.`,
          ),
        );
        return;
      }
      log.warn({ err: errInfo(err) }, 'ending the activation failed');
      await this.replyRefusal(ctx, classifyRefusal(err), `PIM did not end your ${target.displayName} activation`);
    }
  }

  /**
   * "renew <role>": asks to renew one of the user's eligibilities that expired in the last 30 days, through the
   * digest's renewal flow (selfRenew for roles; for groups, which PIM cannot self-renew, an ask to the admins).
   * The role is always named, matched by its whole name among the expired ones.
   */
  private async renewCommand(ctx: TurnContext, svc: SelfService, userId: string, text: string, timeZone: string, eligible: EligibleTarget[]): Promise<void> {
    if (!this.deps.renewal) {
      await ctx.sendActivity(plain('Renewal is not switched on here: ask your PIM administrator to renew it, or use My roles > Expired in PIM.'));
      return;
    }
    let expired: ExpiredTarget[];
    try {
      expired = await svc.expired(this.now());
    } catch (err) {
      await this.replyRefusal(ctx, classifyRefusal(err), 'I could not read your expired roles from PIM');
      return;
    }
    const cmd = parseRenewCommand(text, expired.map(asCandidate), eligible.map(asCandidate));
    if (!cmd) return;
    if (cmd.kind === 'clarify') {
      await ctx.sendActivity(plain(cmd.question));
      return;
    }
    const target = expired.find((t) => targetKey(t) === cmd.role.candidate.id)!;
    const outcome = await this.deps.renewal.renew(userId, target, svc, 'chat');
    if (outcome.kind === 'refused' && (outcome.refusal.kind === 'authContext' || outcome.refusal.kind === 'mfa')) {
      await this.replyRefusal(ctx, outcome.refusal, `PIM did not accept the renewal of ${target.displayName}`);
      return;
    }
    await ctx.sendActivity(plain(renewText(outcome, timeZone)));
  }

  private async replyRefusal(ctx: TurnContext, refusal: ActivationRefusal, what: string): Promise<void> {
    if (refusal.kind === 'authContext' || refusal.kind === 'mfa') {
      await this.replies.askToSignInAgain(ctx, 'PIM needs a stronger sign-in from you. Sign in again, then repeat your command.');
      return;
    }
    await ctx.sendActivity(plain(refusalText(refusal, what)));
  }
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
