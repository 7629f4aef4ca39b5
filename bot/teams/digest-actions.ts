import type { TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AuditVerb, type AuditVerbName, auditNoteInputId, DigestVerb, type DigestVerbName, renderAdminAskCard } from '../../cards/digest';
import { formatTime } from '../../cards/chat';
import { AuditReviewError, type AuditReviews, EXTEND_WINDOW_DAYS } from '../../services/digests';
import { classifyRefusal } from '../../services/elevation/activation-problems';
import type { SelfService } from '../../services/elevation/self-service';
import type { ChannelTarget } from '../../services/config/config';
import type { UserProfile } from '../../services/graph/directory';
import type { Store } from '../../services/store/store';
import { digestActionEntry } from '../../services/audit/entries';
import type { AuditEntry } from '../../services/audit/audit-trail';
import type { ChatSignIn } from '../chat/chat-sign-in';
import { refusalText } from '../chat/chat-text';
import type { ChatNotifier } from './chat-notifier';
import { escapeXml } from './chat-notifier';
import { errInfo } from '../../services/observability/err-info';
import { assertNever } from '../../services/approvals/request-lifecycle';
import { errorAnswer, type InvokeBody, messageAnswer } from './invoke-answers';

/** How long an extension asks for; administrators can shorten it when they approve. */
const EXTEND_BY_DAYS = 90;

const digestData = z.object({
  kind: z.enum(['entraRole', 'group']),
  roleDefinitionId: z.string().min(1).max(200),
  scope: z.string().min(1).max(300),
  assignment: z.enum(['eligible', 'active']).default('eligible'),
});
const auditData = z.object({ requestId: z.string().uuid() }).passthrough();
const invokeValue = z.object({ action: z.object({ type: z.literal('Action.Execute'), verb: z.string().max(64), data: z.record(z.unknown()) }) });

/**
 * The digest cards' buttons. Extend and "no longer needed" act on the clicker's own assignment as PIM
 * lists it now (never on what the card says); spot-audit verdicts are checked against the stored approval
 * (the approver and the requester cannot review it).
 */
export class DigestActions {
  private readonly audit: AuditReviews;

  constructor(
    private readonly deps: {
      store: Store;
      signIn: Pick<ChatSignIn, 'invokeToken'>;
      selfServiceFor(ssoToken: string): SelfService;
      directory: { user(id: string): Promise<UserProfile>; groupOwners(groupId: string): Promise<string[]> };
      notifier: ChatNotifier;
      adminChannel: ChannelTarget | null;
      log: Logger;
      now?: () => Date;
    },
  ) {
    this.audit = deps.store.auditReviews(() => this.now());
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

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
      case AuditVerb.LooksRight:
      case AuditVerb.Flag: {
        const d = auditData.safeParse(data);
        if (!d.success) return errorAnswer(400, 'This spot-audit entry is not one the bot understands; open the latest digest.');
        const note = typeof data[auditNoteInputId(d.data.requestId)] === 'string' ? String(data[auditNoteInputId(d.data.requestId)]) : null;
        return this.review(userId, d.data.requestId, verb === AuditVerb.Flag ? 'flag' : 'looksRight', note);
      }
      default:
        return assertNever(verb);
    }
  }

  private async extend(ctx: TurnContext, userId: string, d: z.infer<typeof digestData>): Promise<InvokeBody> {
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const svc = this.deps.selfServiceFor(sso.token);
    const mine = (await svc.eligible()).find(
      (t) => t.kind === d.kind && t.roleDefinitionId.toLowerCase() === d.roleDefinitionId.toLowerCase() && t.scope.toLowerCase() === d.scope.toLowerCase(),
    );
    if (!mine) return messageAnswer('PIM no longer lists this eligibility for you, so there is nothing to extend.');
    if (!mine.eligibleUntil) return messageAnswer(`Your eligibility for ${mine.displayName} does not expire.`);
    const opens = Date.parse(mine.eligibleUntil) - EXTEND_WINDOW_DAYS * 86_400_000;
    if (opens > this.now().getTime())
      return messageAnswer(`PIM accepts an extension of ${mine.displayName} from ${formatTime(new Date(opens).toISOString())}.`);
    if (d.kind === 'group' || d.assignment === 'active') {
      // PIM for Groups has no self-extension, and admin-made active assignments are extended by admins.
      const told = await this.tellAdmins(
        userId,
        `asks to extend their ${mine.displayName} assignment, which ends ${formatTime(mine.eligibleUntil)}. Extend it in PIM if it is still needed.`,
        d,
      );
      await this.audited(digestActionEntry(userId, { action: 'extend', outcome: told.posted ? 'admins_asked' : 'not_delivered', target: d }, this.now()));
      return messageAnswer(
        told.posted
          ? `PIM has no self-extension for this, so I asked ${told.owners.length ? `the group's owners (${told.owners.join(', ')}) and ` : ''}your PIM administrators to extend ${mine.displayName}.`
          : 'PIM has no self-extension for this; ask your PIM administrators to extend it.',
      );
    }
    try {
      const r = await svc.extend(mine, {
        principalId: userId,
        justification: 'Extension requested from the daily PIM digest in Teams',
        extendByDays: EXTEND_BY_DAYS,
        start: this.now(),
      });
      this.deps.log.info({ userId, pimRequestId: r.pimRequestId, status: r.status }, 'extension requested from the digest');
      await this.audited(
        digestActionEntry(userId, { action: 'extend', outcome: 'requested', target: d, pimRequestId: r.pimRequestId, status: r.status }, this.now()),
      );
      return messageAnswer(`Asked PIM to extend your eligibility for ${mine.displayName}; your administrators decide (status ${r.status}).`);
    } catch (err) {
      const refusal = classifyRefusal(err);
      await this.audited(digestActionEntry(userId, { action: 'extend', outcome: 'refused', target: d, status: refusal.kind }, this.now()));
      return messageAnswer(refusalText(refusal, `PIM did not accept the extension of ${mine.displayName}`));
    }
  }

  private async release(ctx: TurnContext, userId: string, d: z.infer<typeof digestData>): Promise<InvokeBody> {
    const sso = await this.deps.signIn.invokeToken(ctx);
    if (sso.kind !== 'token') return sso.response;
    const mine = (await this.deps.selfServiceFor(sso.token).eligible()).find(
      (t) => t.kind === d.kind && t.roleDefinitionId.toLowerCase() === d.roleDefinitionId.toLowerCase() && t.scope.toLowerCase() === d.scope.toLowerCase(),
    );
    if (!mine) return messageAnswer('PIM no longer lists this for you: nothing to remove.');
    // PIM has no self-removal of an eligibility: an administrator removes it.
    const told = await this.tellAdmins(
      userId,
      `no longer needs ${mine.displayName}${mine.eligibleUntil ? ` (eligible until ${formatTime(mine.eligibleUntil)})` : ''}. Remove the eligible assignment in PIM.`,
      d,
    );
    await this.audited(digestActionEntry(userId, { action: 'release', outcome: told.posted ? 'admins_told' : 'not_delivered', target: d }, this.now()));
    return messageAnswer(
      told.posted
        ? `Thanks: I told ${told.owners.length ? `the group's owners (${told.owners.join(', ')}) and ` : ''}your PIM administrators you no longer need ${mine.displayName}.`
        : 'Tell your PIM administrators you no longer need it; no admin channel is configured here.',
    );
  }

  /**
   * Posts the user's ask in the admin channel. For a group, whose owners manage its PIM assignments, the
   * owners are @mentioned in the post's thread (names as XML-escaped mention text, never card markdown).
   */
  private async tellAdmins(userId: string, what: string, d: z.infer<typeof digestData>): Promise<{ posted: boolean; owners: string[] }> {
    if (!this.deps.adminChannel) return { posted: false, owners: [] };
    const who = await this.deps.directory
      .user(userId)
      .then((u) => `${u.displayName} (${u.userPrincipalName})`)
      .catch(() => userId);
    const posted = await this.deps.notifier.postCard(this.deps.adminChannel, renderAdminAskCard({ requester: who, ask: what }));
    if (d.kind !== 'group') return { posted: true, owners: [] };
    const ownerIds = await this.deps.directory.groupOwners(d.scope).catch((err: unknown) => {
      this.deps.log.warn({ err: errInfo(err), groupId: d.scope }, 'group owners unavailable; only the admin channel was told');
      return [] as string[];
    });
    const owners = (
      await Promise.all(
        ownerIds
          .filter((id) => id !== userId.toLowerCase())
          .slice(0, 10)
          .map((id) =>
            this.deps.directory
              .user(id)
              .then((u) => ({ id: u.id, name: u.displayName }))
              .catch(() => null),
          ),
      )
    ).filter((o): o is { id: string; name: string } => !!o);
    if (owners.length) {
      const tags = owners.map((o) => `<at>${escapeXml(o.name)}</at>`).join(', ');
      await this.deps.notifier
        .replyInThread(this.deps.adminChannel, posted, `${tags}: you own this group, so its PIM assignments are yours to manage.`, owners)
        .catch((err: unknown) => this.deps.log.warn({ err: errInfo(err) }, 'mentioning the group owners failed'));
    }
    return { posted: true, owners: owners.map((o) => o.name) };
  }

  /** Digest buttons change no state of ours to share a transaction with: a standalone (retried) append; a failure is logged, the user's action stands. */
  private async audited(entry: AuditEntry): Promise<void> {
    await this.deps.store.audit
      .record(entry)
      .catch((err: unknown) => this.deps.log.error({ err: errInfo(err), kind: entry.kind }, 'audit: a digest action could not be recorded in the audit trail'));
  }

  private async review(userId: string, requestId: string, verdict: 'looksRight' | 'flag', note: string | null): Promise<InvokeBody> {
    const approval = await this.deps.store.requests.get(requestId);
    // The digest only offers approvals the bot stored; any other id was not put on a card by the bot.
    if (!approval) return errorAnswer(400, 'This approval is not known to the bot. Open the latest digest and review from its card.');
    const name = await this.deps.directory
      .user(userId)
      .then((u) => u.displayName)
      .catch(() => null);
    try {
      await this.audit.record(requestId, userId, verdict, note, approval, name);
    } catch (err) {
      if (err instanceof AuditReviewError) return messageAnswer(err.message);
      throw err;
    }
    await this.audited(
      digestActionEntry(
        userId,
        { action: 'spot_audit', outcome: verdict, pimRequestId: approval.pim_request_id, requestId: approval.id, evaluationId: approval.evaluation_id, note },
        this.now(),
      ),
    );
    return messageAnswer(
      verdict === 'flag' ? 'Flagged. The flag is listed in the next admin digest.' : 'Recorded: looks right. Thanks for the second pair of eyes.',
    );
  }
}
