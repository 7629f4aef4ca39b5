import { ActivityTypes, CardFactory, MessageFactory, type TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { formatTime, renderActivationForm } from '../../cards/chat';
import type { NaturalLanguage } from '../../services/chat/natural-language';
import { cancelChatRequest } from '../../services/chat/cancel-request';
import { offerActivation } from '../../services/chat/offer-activation';
import { pimStatusWords } from '../../services/chat/plain-words';
import { approverNames } from '../../services/chat/submit-activation';
import type { DigestActionFlow } from '../../services/digests/digest-actions';
import type { DraftValues } from '../../services/elevation/activation-problems';
import type { SelfService } from '../../services/elevation/self-service';
import { type ActivationPolicy, type ActivationTarget, type EligibleTarget, targetKey } from '../../services/elevation/types';
import type { PimTarget, UserProfile } from '../../services/graph/directory';
import type { CardDelivery } from '../../services/jobs/card-delivery';
import type { ChatRequestRow } from '../../services/store/chat-store';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import type { ChatSignIn } from './chat-sign-in';
import { refusalText } from './chat-text';
import type { ChatStatusMessages } from './status-messages';

export interface ChatCommandDeps {
  store: Store;
  directory: {
    user(id: string): Promise<UserProfile>;
    activationPolicy(target: PimTarget): Promise<ActivationPolicy>;
    /** Names of the tenant's Entra roles, to say "not eligible" rather than guess another role. */
    roleNames(): Promise<string[]>;
  };
  status: ChatStatusMessages;
  delivery: Pick<CardDelivery, 'refreshCopies' | 'enqueuePersonalCopy'>;
  signIn: ChatSignIn;
  /** The stale-request ladder: a requester's "remind the approvers" goes through it (rate-limited there). */
  reminders?: { remindNow(row: ApprovalRequestRow, requesterId: string): Promise<string> } | null;
  /**
   * "renew <role>", and "extend <group>": the flows the digest's Renew and Extend buttons use
   * (services/digests/digest-actions.ts), so a group's renewal or extension becomes the same admin card and both
   * are audited alike. Absent: renewal is not offered, and a group's extension is left to the user to ask for.
   */
  renewal?: Pick<DigestActionFlow, 'renew' | 'extend'> | null;
  /** Optional (Azure OpenAI configured): reads free text the deterministic parser did not understand. */
  naturalLanguage?: NaturalLanguage | null;
  /** PIM as the user, on behalf of their SSO token; `claims` asks Entra for a stronger sign-in (authentication context). */
  selfServiceFor(ssoToken: string, claims?: string | null): SelfService;
  log: Logger;
  now?: () => Date;
}

/** Plain text: role and group names come from the directory and must not be read as markdown. */
export function plain(text: string) {
  return { type: ActivityTypes.Message, text, textFormat: 'plain' as const };
}

/** Teams markdown, for lists and headings: every directory name in `text` must have gone through `md()` (chat-text.ts). */
export function markdown(text: string) {
  return { type: ActivityTypes.Message, text, textFormat: 'markdown' as const };
}

/** The replies both the messages and the card actions send: the activation form, and the sign-in card after a refused token. */
export class ChatReplies {
  constructor(private readonly deps: ChatCommandDeps) {}

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Checks the activation against PIM's policy and what is already active or pending, then sends the form or the confirmation. */
  async offerActivation(ctx: TurnContext, svc: SelfService, userId: string, target: EligibleTarget, values: DraftValues, timeZone: string): Promise<void> {
    const offer = await offerActivation({ chat: this.deps.store.chat, directory: this.deps.directory, now: () => this.now() }, svc, {
      userId,
      target,
      values,
      timeZone,
    });
    switch (offer.kind) {
      case 'alreadyActive':
        await ctx.sendActivity(
          plain(
            `${target.displayName} is already active for you${offer.endDateTime ? ` until ${formatTime(offer.endDateTime, timeZone)}` : ' (a permanent assignment)'}. Nothing to request.`,
          ),
        );
        return;
      case 'alreadyPending':
        await ctx.sendActivity(
          plain(
            `You already have a request for ${target.displayName} in PIM (${pimStatusWords(offer.status)}). Type "status" to follow it or "cancel ${target.displayName}" to withdraw it.`,
          ),
        );
        return;
      case 'draft':
        await ctx.sendActivity(
          MessageFactory.attachment(CardFactory.adaptiveCard(await this.form(userId, offer.draftId, target, offer.policy, offer.values, offer.problems))),
        );
        return;
    }
  }

  /** The activation form (with problems, or when asked) or the confirmation card; `requesterId` is never listed as an approver. */
  async form(
    requesterId: string,
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
      // PIM never lets requesters approve themselves, so they are not shown as approvers.
      policy: {
        ...policy,
        approverNames: await approverNames(
          this.deps.directory,
          policy.approverIds.filter((id) => id.toLowerCase() !== requesterId.toLowerCase()),
        ),
      },
      values,
      problems,
      mode: problems.length || forceForm ? 'form' : 'confirm',
    });
  }

  /** Cancels a tracked request in PIM, then closes it and the approvers' card. A string is the reason it could not. */
  async cancelTracked(svc: SelfService, row: ChatRequestRow, log: Logger): Promise<ChatRequestRow | string> {
    const r = await cancelChatRequest(
      { chat: this.deps.store.chat, approvals: this.deps.store.requests, approvalCards: this.deps.delivery, now: () => this.now() },
      svc,
      row,
      log,
    );
    return r.kind === 'cancelled' ? r.request : refusalText(r.refusal, `PIM did not cancel the request for ${row.role_title}`);
  }

  /** Drops the user's token and sends the sign-in card, so the next sign-in is interactive (MFA, authentication context). */
  async askToSignInAgain(ctx: TurnContext, text: string): Promise<void> {
    await this.deps.signIn.signOut(ctx).catch(() => undefined);
    await ctx.sendActivity(MessageFactory.attachment(await this.deps.signIn.signInCard(ctx, text)));
  }
}
