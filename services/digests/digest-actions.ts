import type { Logger } from 'pino';
import { assertNever } from '../approvals/request-lifecycle';
import type { AuditEntry } from '../audit/audit-trail';
import { digestActionEntry } from '../audit/entries';
import type { ChannelTarget } from '../config/config';
import { type ActivationRefusal, classifyRefusal } from '../elevation/activation-problems';
import type { SelfService } from '../elevation/self-service';
import type { ExtensionDesk } from '../extensions/extension-desk';
import type { EligibleTarget, ExpiredTarget } from '../elevation/types';
import type { UserProfile } from '../graph/directory';
import { errInfo } from '../observability/err-info';
import type { RequestStore } from '../store/requests';
import { type ChatNotifier, escapeXml } from '../teams/chat-notifier';
import { AuditReviewError, type AuditReviews, type AuditVerdict } from './audit-reviews';
import { EXTEND_WINDOW_DAYS } from './collect';
import type { DigestKind } from './types';

/**
 * What the digest's buttons do, per kind of assignment. The server re-reads the user's own eligibility
 * (or active assignment) before acting; these rules only say which path PIM offers.
 *
 * - Extend, Entra role: PIM has `selfExtend` (Graph roleEligibilityScheduleRequests for an eligible
 *   assignment, roleAssignmentScheduleRequests for an active one) inside the 14-day window; an
 *   administrator then approves it in PIM.
 * - Extend, group: PIM for Groups has no selfExtend or selfRenew (only adminExtend/adminRenew), so the
 *   bot asks the group's PIM administrators, who extend it themselves.
 * - Renew (an eligibility that expired within the last 30 days), Entra role: PIM has `selfRenew` (Graph
 *   roleEligibilityScheduleRequests); an administrator then decides (`PendingAdminDecision`).
 * - Renew, group: PIM for Groups has no selfRenew (only adminRenew), so the bot asks the administrators.
 * - No longer needed: PIM has no self-service removal of an eligibility (removal is `adminRemove`), so
 *   the bot tells the administrators, who remove it; nothing changes until they do.
 */
export type DigestAction = 'extend' | 'renew' | 'release';
export type DigestRoute = 'selfExtend' | 'selfRenew' | 'askAdmins' | 'tellAdmins';

export function digestRoute(action: DigestAction, kind: DigestKind): DigestRoute {
  switch (action) {
    case 'extend':
      return kind === 'entraRole' ? 'selfExtend' : 'askAdmins';
    case 'renew':
      return kind === 'entraRole' ? 'selfRenew' : 'askAdmins';
    case 'release':
      return 'tellAdmins';
    default:
      return assertNever(action);
  }
}

/** The Graph collection a self-extension is filed in, by which assignment ends. */
export function selfExtendCollection(assignment: 'eligible' | 'active'): 'roleEligibilityScheduleRequests' | 'roleAssignmentScheduleRequests' {
  return assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests';
}

/** A digest entry's assignment, as the button names it (checked against PIM's list, never trusted). */
export interface DigestEntryRef {
  kind: 'entraRole' | 'group';
  roleDefinitionId: string;
  scope: string;
  assignment: 'eligible' | 'active';
}

/** How long an extension asks for; administrators can shorten it when they approve. */
const EXTEND_BY_DAYS = 90;

/** What the administrators are asked in their channel; the renderer words it. */
export type AdminAsk =
  /** Extend an assignment PIM cannot self-extend (a group's, or an active one), which ends at `endsAt`. */
  | { action: 'extend'; displayName: string; endsAt: string }
  /** Renew an eligibility PIM cannot self-renew (a group's), which ended at `endedAt`. */
  | { action: 'renew'; displayName: string; endedAt: string }
  /** Remove an eligibility its holder no longer needs. */
  | { action: 'release'; displayName: string; eligibleUntil: string | null };

/** The card the admin channel gets for an ask (cards/digest's admin-ask card, injected by the composition root). */
export interface DigestActionRenderers {
  /** A rendered Adaptive Card's JSON (as services/jobs/ports.ts's CardJson; not imported: that module imports the digests). */
  adminAskCard(data: { requester: string; ask: AdminAsk }): object;
}

/** Who was told of an ask: `posted` false when no admin channel is configured; `owners` the group owners mentioned. */
export interface AdminsTold {
  posted: boolean;
  owners: string[];
}

export type ExtendOutcome =
  /** PIM no longer lists this eligibility for the user. */
  | { kind: 'notListed' }
  | { kind: 'noExpiry'; displayName: string }
  /** PIM accepts a self-extension only from `opensAt` (the last 14 days). */
  | { kind: 'windowNotOpen'; displayName: string; opensAt: string }
  /** PIM has no self-extension for this: the administrators (and a group's owners) were asked. */
  | ({ kind: 'adminsAsked'; displayName: string } & AdminsTold)
  | { kind: 'requested'; displayName: string; status: string }
  | { kind: 'refused'; displayName: string; refusal: ActivationRefusal };

/** An expired eligibility a renewal names (checked against PIM's list of the user's expired ones, never trusted). */
export interface ExpiredRef {
  kind: 'entraRole' | 'group' | 'azureResource';
  roleDefinitionId: string;
  scope: string;
}

export type RenewOutcome =
  /** PIM no longer lists it among the user's expired eligibilities (renewed, eligible again, or ended over 30 days ago). */
  | { kind: 'notListed' }
  /** PIM for Groups has no self-renewal: the administrators (and the group's owners) were asked. */
  | ({ kind: 'adminsAsked'; displayName: string; endedAt: string } & AdminsTold)
  | { kind: 'requested'; displayName: string; status: string; endedAt: string }
  | { kind: 'refused'; displayName: string; refusal: ActivationRefusal };

/** How long a renewal asks for; administrators set the new dates when they approve it. */
const RENEW_FOR_DAYS = 90;

export type ReleaseOutcome = { kind: 'notListed' } | ({ kind: 'adminsTold'; displayName: string } & AdminsTold);

export type ReviewOutcome =
  /** The digest only offers approvals the bot stored; any other id was not put on a card by the bot. */
  | { kind: 'unknownApproval' }
  /** The review is refused (the reviewer approved or asked for it, a note is missing, …): `message` says why. */
  | { kind: 'notRecorded'; message: string }
  | { kind: 'recorded'; verdict: AuditVerdict };

export interface DigestActionPorts {
  requests: Pick<RequestStore, 'get'>;
  reviews: Pick<AuditReviews, 'record'>;
  audit: { record(entry: AuditEntry): Promise<unknown> };
  directory: { user(id: string): Promise<UserProfile>; groupOwners(groupId: string): Promise<string[]> };
  notifier: Pick<ChatNotifier, 'postCard' | 'replyInThread'>;
  renderers: DigestActionRenderers;
  /**
   * Extension and renewal asks the administrators decide from a card (services/extensions' desk). Absent: such
   * an ask is a plain card in the admin channel and the administrators act in PIM.
   */
  decisions?: Pick<ExtensionDesk, 'askForUser'>;
  adminChannel: ChannelTarget | null;
  log: Logger;
  now?: () => Date;
}

/**
 * What the digest cards' buttons do, Teams-free. Extend and "no longer needed" act on the clicker's own
 * assignment as PIM lists it now (never on what the card says), read through the user's own PIM client (the
 * adapter signs them in); spot-audit verdicts are checked against the stored approval (the approver and the
 * requester cannot review it). The Teams adapter (bot/teams/digest-actions.ts) words each outcome.
 */
export class DigestActionFlow {
  constructor(private readonly deps: DigestActionPorts) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Extend the user's assignment: a self-extension in PIM as the user, or an ask to the administrators. */
  async extend(userId: string, d: DigestEntryRef, pim: Pick<SelfService, 'eligible' | 'extend'>): Promise<ExtendOutcome> {
    const mine = await ownEntry(pim, d);
    if (!mine) return { kind: 'notListed' };
    if (!mine.eligibleUntil) return { kind: 'noExpiry', displayName: mine.displayName };
    const opens = Date.parse(mine.eligibleUntil) - EXTEND_WINDOW_DAYS * 86_400_000;
    if (opens > this.now().getTime()) return { kind: 'windowNotOpen', displayName: mine.displayName, opensAt: new Date(opens).toISOString() };
    if (digestRoute('extend', d.kind) === 'askAdmins' || d.assignment === 'active') {
      // PIM for Groups has no self-extension, and admin-made active assignments are extended by admins.
      const told = await this.askForDecision(userId, { action: 'extend', displayName: mine.displayName, endsAt: mine.eligibleUntil }, d);
      await this.audited(digestActionEntry(userId, { action: 'extend', outcome: told.posted ? 'admins_asked' : 'not_delivered', target: d }, this.now()));
      return { kind: 'adminsAsked', displayName: mine.displayName, ...told };
    }
    try {
      const r = await pim.extend(mine, {
        principalId: userId,
        justification: 'Extension requested from the daily PIM digest in Teams',
        extendByDays: EXTEND_BY_DAYS,
        start: this.now(),
      });
      this.deps.log.info({ userId, pimRequestId: r.pimRequestId, status: r.status }, 'extension requested from the digest');
      await this.audited(
        digestActionEntry(userId, { action: 'extend', outcome: 'requested', target: d, pimRequestId: r.pimRequestId, status: r.status }, this.now()),
      );
      return { kind: 'requested', displayName: mine.displayName, status: r.status };
    } catch (err) {
      const refusal = classifyRefusal(err);
      await this.audited(digestActionEntry(userId, { action: 'extend', outcome: 'refused', target: d, status: refusal.kind }, this.now()));
      return { kind: 'refused', displayName: mine.displayName, refusal };
    }
  }

  /**
   * Renew the user's eligibility that expired within the last 30 days (the digest's Renew and chat's "renew
   * <role>"): `selfRenew` in PIM as the user, or, for a group, an ask to the administrators. `via` says where the
   * user asked, for the justification PIM shows the administrators.
   */
  async renew(userId: string, d: ExpiredRef, pim: Pick<SelfService, 'expired' | 'renew'>, via: 'digest' | 'chat' = 'digest'): Promise<RenewOutcome> {
    const mine = (await pim.expired(this.now())).find(
      (t) => t.kind === d.kind && t.roleDefinitionId.toLowerCase() === d.roleDefinitionId.toLowerCase() && t.scope.toLowerCase() === d.scope.toLowerCase(),
    );
    if (!mine) return { kind: 'notListed' };
    const target = { kind: d.kind, roleDefinitionId: mine.roleDefinitionId, scope: mine.scope, assignment: 'expired' };
    if (mine.kind === 'group') {
      const told = await this.askAdminsToRenew(userId, mine);
      await this.audited(digestActionEntry(userId, { action: 'renew', outcome: told.posted ? 'admins_asked' : 'not_delivered', target }, this.now()));
      return { kind: 'adminsAsked', displayName: mine.displayName, endedAt: mine.endedAt, ...told };
    }
    try {
      const r = await pim.renew(mine, {
        principalId: userId,
        justification: via === 'chat' ? 'Renewal of an expired eligibility requested in Teams' : 'Renewal requested from the daily PIM digest in Teams',
        renewForDays: RENEW_FOR_DAYS,
        start: this.now(),
      });
      this.deps.log.info({ userId, pimRequestId: r.pimRequestId, status: r.status }, 'renewal requested');
      await this.audited(
        digestActionEntry(userId, { action: 'renew', outcome: 'requested', target, pimRequestId: r.pimRequestId, status: r.status }, this.now()),
      );
      return { kind: 'requested', displayName: mine.displayName, status: r.status, endedAt: mine.endedAt };
    } catch (err) {
      const refusal = classifyRefusal(err);
      await this.audited(digestActionEntry(userId, { action: 'renew', outcome: 'refused', target, status: refusal.kind }, this.now()));
      return { kind: 'refused', displayName: mine.displayName, refusal };
    }
  }

  /**
   * PIM for Groups has no selfRenew: the renewal of a group eligibility is an ask in the admin channel (and to the
   * group's owners). The one place that does so, to be replaced by a decidable admin card.
   */
  private askAdminsToRenew(userId: string, mine: ExpiredTarget): Promise<AdminsTold> {
    return this.askForDecision(
      userId,
      { action: 'renew', displayName: mine.displayName, endedAt: mine.endedAt },
      { kind: 'group', roleDefinitionId: mine.roleDefinitionId, scope: mine.scope, assignment: 'eligible' },
    );
  }

  /** "No longer needed": PIM has no self-removal of an eligibility, so an administrator is told to remove it. */
  async release(userId: string, d: DigestEntryRef, pim: Pick<SelfService, 'eligible'>): Promise<ReleaseOutcome> {
    const mine = await ownEntry(pim, d);
    if (!mine) return { kind: 'notListed' };
    const told = await this.tellAdmins(userId, { action: 'release', displayName: mine.displayName, eligibleUntil: mine.eligibleUntil ?? null }, d);
    await this.audited(digestActionEntry(userId, { action: 'release', outcome: told.posted ? 'admins_told' : 'not_delivered', target: d }, this.now()));
    return { kind: 'adminsTold', displayName: mine.displayName, ...told };
  }

  /** A spot-audit verdict on a stored approval, by `userId`. */
  async review(userId: string, requestId: string, verdict: AuditVerdict, note: string | null): Promise<ReviewOutcome> {
    const approval = await this.deps.requests.get(requestId);
    if (!approval) return { kind: 'unknownApproval' };
    const name = await this.deps.directory
      .user(userId)
      .then((u) => u.displayName)
      .catch(() => null);
    try {
      await this.deps.reviews.record(requestId, userId, verdict, note, approval, name);
    } catch (err) {
      if (err instanceof AuditReviewError) return { kind: 'notRecorded', message: err.message };
      throw err;
    }
    await this.audited(
      digestActionEntry(
        userId,
        { action: 'spot_audit', outcome: verdict, pimRequestId: approval.pim_request_id, requestId: approval.id, evaluationId: approval.evaluation_id, note },
        this.now(),
      ),
    );
    return { kind: 'recorded', verdict };
  }

  /**
   * An extension or renewal PIM has no self-service for: an ask the administrators decide from its card in the
   * admin channel (services/extensions; the card's post @mentions a group's owners), once per assignment and
   * end. Without that desk (tests of this flow alone), a plain ask card.
   */
  private async askForDecision(userId: string, ask: Extract<AdminAsk, { action: 'extend' | 'renew' }>, d: DigestEntryRef): Promise<AdminsTold> {
    const desk = this.deps.decisions;
    if (!desk) return this.tellAdmins(userId, ask, d);
    const currentEnd = ask.action === 'extend' ? ask.endsAt : ask.endedAt;
    const r = await desk.askForUser(
      { kind: d.kind, roleDefinitionId: d.roleDefinitionId, scope: d.scope, principalId: userId.toLowerCase(), assignment: d.assignment },
      {
        action: ask.action,
        currentEnd,
        reason: `${ask.action === 'extend' ? 'Extension' : 'Renewal'} asked for in Teams: PIM has no self-service ${ask.action} for this assignment`,
      },
    );
    return { posted: r.posted, owners: r.posted && d.kind === 'group' ? (await this.ownersOf(userId, d.scope)).map((o) => o.name) : [] };
  }

  /** A group's owners other than the user (at most ten), with their names; none when they cannot be read. */
  private async ownersOf(userId: string, groupId: string): Promise<Array<{ id: string; name: string }>> {
    const ownerIds = await this.deps.directory.groupOwners(groupId).catch((err: unknown) => {
      this.deps.log.warn({ err: errInfo(err), groupId }, 'group owners unavailable; only the admin channel was told');
      return [] as string[];
    });
    return (
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
  }

  /**
   * Posts the user's ask in the admin channel. For a group, whose owners manage its PIM assignments, the
   * owners are @mentioned in the post's thread (names as XML-escaped mention text, never card markdown).
   */
  private async tellAdmins(userId: string, ask: AdminAsk, d: DigestEntryRef): Promise<AdminsTold> {
    if (!this.deps.adminChannel) return { posted: false, owners: [] };
    const who = await this.deps.directory
      .user(userId)
      .then((u) => `${u.displayName} (${u.userPrincipalName})`)
      .catch(() => userId);
    const posted = await this.deps.notifier.postCard(this.deps.adminChannel, this.deps.renderers.adminAskCard({ requester: who, ask }));
    if (d.kind !== 'group') return { posted: true, owners: [] };
    const owners = await this.ownersOf(userId, d.scope);
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
    await this.deps.audit
      .record(entry)
      .catch((err: unknown) => this.deps.log.error({ err: errInfo(err), kind: entry.kind }, 'audit: a digest action could not be recorded in the audit trail'));
  }
}

/** The user's own eligibility a digest entry names, as PIM lists it now. */
async function ownEntry(pim: Pick<SelfService, 'eligible'>, d: DigestEntryRef): Promise<EligibleTarget | undefined> {
  return (await pim.eligible()).find(
    (t) => t.kind === d.kind && t.roleDefinitionId.toLowerCase() === d.roleDefinitionId.toLowerCase() && t.scope.toLowerCase() === d.scope.toLowerCase(),
  );
}
