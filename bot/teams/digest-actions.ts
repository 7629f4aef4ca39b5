import type { TurnContext } from 'botbuilder';
import { z } from 'zod';
import { formatTime } from '../../cards/chat';
import { AuditVerb, type AuditVerbName, auditNoteInputId, DigestVerb, type DigestVerbName, renderAdminAskCard } from '../../cards/digest';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { AdminAsk, DigestActionFlow, ExtendOutcome, ReleaseOutcome, RenewOutcome, ReviewOutcome } from '../../services/digests/digest-actions';
import type { SelfService } from '../../services/elevation/self-service';
import type { ChatSignIn } from '../chat/chat-sign-in';
import { refusalText } from '../chat/chat-text';
import { pimStatusWords } from '../../services/chat/plain-words';
import { cardAnswer, errorAnswer, type InvokeBody, messageAnswer } from './invoke-answers';

const digestData = z.object({
  kind: z.enum(['entraRole', 'group']),
  roleDefinitionId: z.string().min(1).max(200),
  scope: z.string().min(1).max(300),
  assignment: z.enum(['eligible', 'active']).default('eligible'),
  /** The digest's date (cards sent before it was added have none): the answer re-renders that digest. */
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});
/** A Renew button's data: an expired eligibility of the clicker's (checked against PIM's list, never trusted). */
const renewData = z.object({
  kind: z.enum(['entraRole', 'group']),
  roleDefinitionId: z.string().min(1).max(200),
  scope: z.string().min(1).max(300),
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});
const auditData = z
  .object({
    requestId: z.string().uuid(),
    /** The admin digest's date (cards posted before it was added have none): the answer re-renders that digest. */
    digestDate: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
  })
  .passthrough();
const invokeValue = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: z.record(z.unknown()) }) });

/** The admin channel's card for a digest user's ask (the flow's renderer port). */
export function adminAskCard(data: { requester: string; ask: AdminAsk }): AdaptiveCardJson {
  const { ask } = data;
  return renderAdminAskCard({ requester: data.requester, ask: adminAskText(ask) });
}

function adminAskText(ask: AdminAsk): string {
  switch (ask.action) {
    case 'extend':
      return `asks to extend their ${ask.displayName} assignment, which ends ${formatTime(ask.endsAt)}. Extend it in PIM if it is still needed.`;
    case 'renew':
      return `asks to renew their ${ask.displayName} eligibility, which expired ${formatTime(ask.endedAt)}. PIM for Groups has no self-renewal: renew it in PIM (Expired assignments) if it is still needed.`;
    case 'release':
      return `no longer needs ${ask.displayName}${ask.eligibleUntil ? ` (eligible until ${formatTime(ask.eligibleUntil)})` : ''}. Remove the eligible assignment in PIM.`;
    default:
      return assertNever(ask);
  }
}

/**
 * The Teams side of the digest cards' buttons: reads and validates the activity, signs the user in for the
 * actions that read PIM as them, and words the flow's outcome (services/digests/digest-actions.ts) as the
 * invoke answer.
 */
export class DigestActions {
  constructor(
    private readonly deps: {
      flow: Pick<DigestActionFlow, 'extend' | 'release' | 'renew' | 'review'>;
      signIn: Pick<ChatSignIn, 'invokeToken'>;
      selfServiceFor(ssoToken: string): SelfService;
      /**
       * The user's digest of `date` as it was sent, with `answer` under the entry clicked (services/jobs/digests.ts
       * `answeredDigestCard`); null when it is no longer kept. Absent: the answer is a message.
       */
      answeredDigest?: (userId: string, date: string, entry: AnsweredEntry, answer: string) => Promise<AdaptiveCardJson | null>;
      /** The admin digest of `date` with `answer` under the spot-audit entry of `requestId`; null when not kept. */
      answeredAdminDigest?: (date: string, requestId: string, answer: string) => Promise<AdaptiveCardJson | null>;
      /**
       * The admin channel the digest is posted in: spot-audit reviews are taken only from there (its members
       * are who the digest asks). Null: no admin digest, so no review is taken.
       */
      adminConversationId: string | null;
    },
  ) {}

  /** A click on a digest card; `verb` is the one the card-action registry routed here. */
  async handle(ctx: TurnContext, verb: DigestVerbName | AuditVerbName): Promise<InvokeBody> {
    const parsed = invokeValue.safeParse(ctx.activity.value);
    if (!parsed.success) return errorAnswer(400, 'This card action is not one the bot understands.');
    const { data } = parsed.data.action;
    const userId = ctx.activity.from?.aadObjectId?.toLowerCase();
    if (!userId) return errorAnswer(400, 'Teams sent no Entra object id for you.');
    switch (verb) {
      case DigestVerb.Extend:
      case DigestVerb.Release: {
        const d = digestData.safeParse(data);
        if (!d.success) return errorAnswer(400, 'This digest entry is not one the bot understands; open the latest digest.');
        return verb === DigestVerb.Extend ? this.extend(ctx, userId, d.data) : this.release(ctx, userId, d.data);
      }
      case DigestVerb.Renew: {
        const d = renewData.safeParse(data);
        if (!d.success) return errorAnswer(400, 'This digest entry is not one the bot understands; open the latest digest.');
        return this.renew(ctx, userId, d.data);
      }
      case AuditVerb.LooksRight:
      case AuditVerb.Flag: {
        // Never trust where a click says it is from beyond what Teams sends: a review only from the admin
        // channel's card, not an invoke crafted in a chat with a request id someone learnt elsewhere.
        const channel = (ctx.activity.conversation?.id ?? '').split(';')[0];
        if (!this.deps.adminConversationId || channel !== this.deps.adminConversationId)
          return errorAnswer(400, "Spot-audit reviews are taken from the admin digest's card in the admin channel; review it there.");
        const d = auditData.safeParse(data);
        if (!d.success) return errorAnswer(400, 'This spot-audit entry is not one the bot understands; open the latest digest.');
        const note = typeof data[auditNoteInputId(d.data.requestId)] === 'string' ? String(data[auditNoteInputId(d.data.requestId)]) : null;
        const outcome = await this.deps.flow.review(userId, d.data.requestId, verb === AuditVerb.Flag ? 'flag' : 'looksRight', note);
        if (outcome.kind !== 'recorded' || !d.data.digestDate || !this.deps.answeredAdminDigest) return reviewAnswer(outcome);
        // Recorded: the digest comes back with the verdict under the entry, in place of its buttons.
        const card = await this.deps.answeredAdminDigest(d.data.digestDate, d.data.requestId, reviewText(outcome)).catch(() => null);
        return card ? cardAnswer(card) : reviewAnswer(outcome);
      }
      default:
        return assertNever(verb);
    }
  }

  private async extend(ctx: TurnContext, userId: string, d: DigestEntry): Promise<InvokeBody> {
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    return this.answer(userId, d, extendText(await this.deps.flow.extend(userId, d, this.deps.selfServiceFor(sso.token))));
  }

  private async release(ctx: TurnContext, userId: string, d: DigestEntry): Promise<InvokeBody> {
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    return this.answer(userId, d, releaseText(await this.deps.flow.release(userId, d, this.deps.selfServiceFor(sso.token))));
  }

  private async renew(ctx: TurnContext, userId: string, d: z.infer<typeof renewData>): Promise<InvokeBody> {
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const text = renewText(await this.deps.flow.renew(userId, d, this.deps.selfServiceFor(sso.token)), ctx.activity.localTimezone);
    // The answer goes under the expired entry, whose key names the assignment `expired`.
    return this.answer(userId, { ...d, assignment: 'expired' }, text);
  }

  /** The digest the click came from, with what it did under the entry (its buttons gone); a message when it is not kept. */
  private async answer(userId: string, d: AnsweredEntry, text: string): Promise<InvokeBody> {
    const card = d.date && this.deps.answeredDigest ? await this.deps.answeredDigest(userId, d.date, d, text).catch(() => null) : null;
    return card ? cardAnswer(card) : messageAnswer(text);
  }
}

type DigestEntry = z.infer<typeof digestData>;
/** The entry an answer goes under: an ending one (`eligible`, `active`) or an expired one (`expired`). */
type AnsweredEntry = Omit<DigestEntry, 'assignment'> & { assignment: string };

function ownersAnd(owners: string[]): string {
  return owners.length ? `the group's owners (${owners.join(', ')}) and ` : '';
}

/** What an Extend did, and what happens next. */
export function extendText(o: ExtendOutcome): string {
  switch (o.kind) {
    case 'notListed':
      return 'PIM no longer lists this eligibility for you, so there is nothing to extend.';
    case 'noExpiry':
      return `Your eligibility for ${o.displayName} does not expire.`;
    case 'windowNotOpen':
      return `PIM accepts an extension of ${o.displayName} from ${formatTime(o.opensAt)}.`;
    case 'adminsAsked':
      return o.posted
        ? `PIM has no self-extension for this, so I asked ${ownersAnd(o.owners)}your PIM administrators to extend ${o.displayName}. The new end date will show in your digest once they do.`
        : 'PIM has no self-extension for this; ask your PIM administrators to extend it.';
    case 'requested':
      return `Asked PIM to extend your eligibility for ${o.displayName}: ${pimStatusWords(o.status)}. The new end date will show in your digest once PIM extends it.`;
    case 'refused':
      return refusalText(o.refusal, `PIM did not accept the extension of ${o.displayName}`);
    default:
      return assertNever(o);
  }
}

/**
 * What a renewal (the digest's Renew, chat's "renew <role>") did, and what happens next; times in `timeZone`
 * (the reader's), UTC when unknown.
 */
export function renewText(o: RenewOutcome, timeZone?: string | null): string {
  switch (o.kind) {
    case 'notListed':
      return 'PIM no longer lists this among your expired assignments (it keeps them 30 days, or it was renewed), so there is nothing to renew.';
    case 'adminsAsked':
      return o.posted
        ? `PIM for Groups has no self-renewal, so I asked ${ownersAnd(o.owners)}your PIM administrators to renew ${o.displayName} (it expired ${formatTime(o.endedAt, timeZone)}). It shows as eligible again once they do.`
        : `PIM for Groups has no self-renewal and no admin channel is configured here: ask your PIM administrators to renew ${o.displayName}.`;
    case 'requested':
      return `PIM has your renewal request for ${o.displayName} (it expired ${formatTime(o.endedAt, timeZone)}); an administrator decides. It is ${pimStatusWords(o.status)}; type "status" to follow it.`;
    case 'refused':
      return o.refusal.kind === 'alreadyPending'
        ? `PIM already has a renewal request of yours for ${o.displayName} waiting for an administrator: nothing new was sent. Type "status" to follow it or "cancel ${o.displayName}" to withdraw it.`
        : refusalText(o.refusal, `PIM did not accept the renewal of ${o.displayName}`);
    default:
      return assertNever(o);
  }
}

/** What "No longer needed" did, and what happens next. */
function releaseText(o: ReleaseOutcome): string {
  switch (o.kind) {
    case 'notListed':
      return 'PIM no longer lists this for you: nothing to remove.';
    case 'adminsTold':
      return o.posted
        ? `Thanks: I told ${ownersAnd(o.owners)}your PIM administrators you no longer need ${o.displayName}; they remove it in PIM.`
        : 'Tell your PIM administrators you no longer need it; no admin channel is configured here.';
    default:
      return assertNever(o);
  }
}

function reviewAnswer(o: ReviewOutcome): InvokeBody {
  switch (o.kind) {
    case 'unknownApproval':
      return errorAnswer(400, 'This approval is not known to the bot. Open the latest digest and review from its card.');
    case 'notRecorded':
      return messageAnswer(o.message);
    case 'recorded':
      return messageAnswer(reviewText(o));
    default:
      return assertNever(o);
  }
}

/** What a recorded review did, and what happens next. */
function reviewText(o: Extract<ReviewOutcome, { kind: 'recorded' }>): string {
  return o.verdict === 'flag' ? 'Flagged. The flag is listed in the next admin digest.' : 'Recorded: looks right. Thanks for the second pair of eyes.';
}
