import type { Logger } from 'pino';
import { PIM_MY_ROLES_URL, renderApprovalCard } from '../cards/approval-card';
import type { ChannelTarget } from '../services/config/config';
import type { Directory } from '../services/graph/directory';
import type { ApprovalRequestRow, Store } from '../services/store/store';
import { cardDataOf, parseDisplay, refOf, RequestDisplay, utcText } from './approval-view';
import type { ChatNotifier } from './chat-notifier';
import { reRequestCard } from './chat/chat-text';
import { recoverClaim } from '../services/approvals/claim-recovery';
import { assertNever } from '../services/approvals/request-lifecycle';
import type { PostApprovalOutcome } from '../services/events/inbound-event';

/** Who "decided" a request whose role needs no approval. */
export const NO_APPROVAL_NEEDED = 'PIM (no approval required)';

/** Longer than a decision can take: Graph's 10 s timeout with retries honouring Retry-After. */
const STALE_CLAIM_MS = 2 * 60_000;

/**
 * Posts approval cards and keeps every posted copy in step with the request. Durable by
 * construction: what is owed is read from the database (requests without cards, copies rendered
 * at an older version), so a sweep after a crash or a Teams outage finishes the work.
 */
export class CardDelivery {
  private inFlight = new Set<Promise<unknown>>();
  private sweeping: Promise<void> | null = null;
  private follower: RequestFollower | null = null;
  private readonly postedListeners: Array<(requestId: string) => Promise<void>> = [];

  constructor(
    private readonly store: Store,
    private readonly directory: Directory,
    private readonly notifier: ChatNotifier,
    private readonly channels: Record<string, ChannelTarget>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Requests made by chat have a status message that follows them; it is told first and replaces the plain-text notice. */
  followRequests(follower: RequestFollower): void {
    this.follower = follower;
  }

  /** Starts work without making the caller wait (PIM's call, an invoke); errors are logged, a sweep retries. */
  kick(work: () => Promise<unknown>): void {
    const p = work()
      .catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'card delivery failed; the next sweep retries'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Waits for started work; used at shutdown and by tests. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.sweeping) await Promise.allSettled([...this.inFlight, this.sweeping]);
  }

  async sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      try {
        await this.recoverStaleClaims().catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'claim recovery failed'));
        for (const row of await this.store.requestsWithoutCards()) await this.postCards(row.id).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId: row.id }, 'posting card failed'));
        for (const row of await this.store.requestsWithStaleCards()) await this.refreshCopies(row.id).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId: row.id }, 'updating cards failed'));
      } finally {
        this.sweeping = null;
      }
    })();
    return this.sweeping;
  }

  /**
   * A claim older than the longest a decision can take (Graph timeout and retries) was left by a
   * process that died or lost Graph's answer. PIM's status says whether the PATCH landed: if the
   * request is still pending it did not, and the claim is released; otherwise the card is closed.
   */
  async recoverStaleClaims(): Promise<void> {
    const before = new Date(this.now().getTime() - STALE_CLAIM_MS).toISOString();
    for (const row of await this.store.staleClaims(before)) {
      const pimStatus = await this.directory.requestStatus(refOf(row));
      const recovery = recoverClaim(row.claimed_result, pimStatus);
      const log = this.log.child({ requestId: row.id, pimRequestId: row.pim_request_id, pimStatus });
      if (recovery.kind === 'wait') continue;
      if (recovery.kind === 'release') {
        await this.store.updateRequestIfVersion(row.id, row.version, { status: 'pending', claimed_by: null, claimed_at: null, claimed_result: null, decision_justification: null });
        log.warn('stale claim released: PIM never recorded the decision');
      } else {
        const claimant = recovery.byClaimant && row.claimed_by ? await this.directory.user(row.claimed_by).catch(() => null) : null;
        await this.store.updateRequestIfVersion(row.id, row.version, {
          status: recovery.status,
          decided_by_id: recovery.byClaimant ? row.claimed_by : null,
          decided_by_name: claimant?.displayName ?? (recovery.byClaimant ? row.claimed_by : 'PIM'),
          decided_by_upn: claimant?.userPrincipalName ?? null,
          decided_at: this.now().toISOString(),
          decision_justification: recovery.byClaimant ? row.decision_justification : `Closed in PIM (${pimStatus})`,
          claimed_by: null,
          claimed_at: null,
          claimed_result: null,
        });
        log.warn({ status: recovery.status }, 'stale claim closed from PIM state');
      }
      await this.refreshCopies(row.id);
    }
  }

  targetsFor(row: ApprovalRequestRow): ChannelTarget[] {
    const key = row.kind === 'group' ? `group:${row.scope}` : row.role_definition_id.toLowerCase();
    return [this.channels[key] ?? this.channels.default!];
  }

  async postCards(requestId: string): Promise<void> {
    let row = await this.store.getRequest(requestId);
    if (!row || row.cards_posted_at) return;
    const display = await this.fetchDisplay(row);
    if (display.approvalRequired === false) {
      // PIM activates without an approver for this role: a card would ask people to decide nothing, and
      // the request is closed here so the reconciler does not report PIM's grant as a decision taken elsewhere.
      await this.store.markCardsPosted(row.id, JSON.stringify(display));
      if (row.status === 'pending') {
        await this.store.updateRequestIfVersion(row.id, row.version, {
          status: 'approved',
          decided_by_name: NO_APPROVAL_NEEDED,
          decided_at: this.now().toISOString(),
          decision_justification: "The role's PIM policy activates without approval.",
        });
      }
      this.log.info({ requestId: row.id, pimRequestId: row.pim_request_id }, 'no card: the role policy needs no approval');
      return;
    }
    await this.store.setDisplay(row.id, JSON.stringify(display));
    row = (await this.store.getRequest(requestId))!;
    const posted = new Set((await this.store.cardPosts(row.id)).map((p) => p.conversation_id));
    for (const target of this.targetsFor(row)) {
      if (posted.has(target.conversationId)) continue;
      // The channel copy is the approver view; Teams' refresh gives requester and observers their own view.
      const card = renderApprovalCard(cardDataOf(row, this.now()), row.status === 'pending' ? 'approver' : 'final');
      const activityId = await this.notifier.postCard(target, card);
      await this.store.addCardPost({ request_id: row.id, conversation_id: target.conversationId, service_url: target.serviceUrl, activity_id: activityId, posted_at: this.now().toISOString(), rendered_version: row.version });
      this.log.info({ requestId: row.id, pimRequestId: row.pim_request_id, conversationId: target.conversationId }, 'approval card posted');
    }
    await this.store.markCardsPosted(row.id, JSON.stringify(display));
    for (const listener of this.postedListeners) await listener(row.id).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId: row.id }, 'after-post work failed'));
  }

  /** Runs after a request's cards are all posted (the reminder ladder starts there). */
  onCardsPosted(listener: (requestId: string) => Promise<void>): void {
    this.postedListeners.push(listener);
  }

  /** Rewrites every posted copy with the current state (final copies lose their buttons). */
  async refreshCopies(requestId: string): Promise<void> {
    const row = await this.store.getRequest(requestId);
    if (!row) return;
    for (const post of await this.store.cardPosts(row.id)) {
      if (post.rendered_version >= row.version) continue;
      const view = row.status === 'pending' ? 'approver' : row.status === 'recording' ? 'observer' : 'final';
      const card = renderApprovalCard(cardDataOf(row, this.now()), view);
      await this.notifier.updateCard({ conversationId: post.conversation_id, serviceUrl: post.service_url }, post.activity_id, card);
      await this.store.markCardRendered(post.id, row.version);
    }
  }

  /** Tells the requester the outcome in their personal chat, if the bot has one with them. */
  async notifyRequester(requestId: string, news?: OutcomeNews): Promise<boolean> {
    const row = await this.store.getRequest(requestId);
    if (row && this.follower && (await this.follower.onApprovalChanged(row, news))) return true;
    // A post-approval event is news even without a named decider (PIM expired or cancelled it).
    if (!row || (!row.decided_by_id && !news)) return false;
    const reference = await this.store.conversationRef(row.principal_id);
    if (!reference) return false;
    const display = parseDisplay(row);
    if (news?.outcome === 'expired') {
      // One tap asks again: the handler checks eligibility and shows the prefilled form.
      await this.notifier.sendCardTo(reference as object, reRequestCard(`Your request for ${display.roleDisplayName} expired: PIM dropped it after 24 hours without a decision.`, row.id));
      return true;
    }
    if (news) {
      await this.notifier.sendText(reference as object, outcomeText(row, display.roleDisplayName, news));
      return true;
    }
    const verb = row.status === 'approved' ? 'approved' : 'denied';
    const next = row.status === 'approved' ? 'PIM activates the role now; it ends when the requested duration is over.' : 'You can submit a new request with more detail.';
    await this.notifier.sendText(
      reference as object,
      `Your request for ${display.roleDisplayName} was ${verb} by ${row.decided_by_name ?? row.decided_by_upn} at ${utcText(new Date(row.decided_at!))}: "${row.decision_justification}". ${next}`,
    );
    return true;
  }

  private async fetchDisplay(row: ApprovalRequestRow): Promise<RequestDisplay> {
    const fallback = parseDisplay(row);
    const [user, roleName, policy] = await Promise.allSettled([
      this.directory.user(row.principal_id),
      this.directory.roleDisplayName(refOf(row)),
      this.directory.approvalPolicy(refOf(row)),
    ]);
    for (const r of [user, roleName, policy]) if (r.status === 'rejected') this.log.warn({ err: errInfo(r.reason), requestId: row.id }, 'card context incomplete');
    return {
      requester: user.status === 'fulfilled' ? user.value : fallback.requester,
      roleDisplayName: roleName.status === 'fulfilled' ? roleName.value : fallback.roleDisplayName,
      approverIds: policy.status === 'fulfilled' && policy.value ? policy.value.approverIds : [],
      approvalRequired: policy.status === 'fulfilled' && policy.value ? policy.value.isApprovalRequired : undefined,
    };
  }
}

/** Something that follows approval requests for their requester (the chat status messages). */
export interface RequestFollower {
  /** True when it told the requester itself. */
  onApprovalChanged(row: ApprovalRequestRow, news?: OutcomeNews): Promise<boolean>;
}

/** What a post-approval event tells the requester: PIM's outcome and, once active, when the access ends. */
export interface OutcomeNews {
  outcome: PostApprovalOutcome;
  activeUntil?: Date | null;
}

function outcomeText(row: ApprovalRequestRow, role: string, news: OutcomeNews): string {
  const by = row.decided_by_name ?? row.decided_by_upn;
  const decided = `${by ? ` by ${by}` : ''}${row.decided_at ? ` at ${utcText(new Date(row.decided_at))}` : ''}${row.decision_justification ? `: "${row.decision_justification}"` : ''}`;
  const ends = news.activeUntil ? `it ends ${utcText(news.activeUntil)}` : 'it ends when the requested duration is over';
  switch (news.outcome) {
    case 'granted':
      return `Your request for ${role} was approved${decided}. PIM activates the role now; ${ends}.`;
    case 'activated':
      return `Your ${role} role is active now${news.activeUntil ? ` until ${utcText(news.activeUntil)}` : ''}${by ? ` (approved by ${by})` : ''}. ${news.activeUntil ? 'Ask for an extension in PIM before then if the work runs over.' : 'It ends when the requested duration is over.'}`;
    case 'denied':
      return `Your request for ${role} was denied${decided}. You can submit a new request with more detail.`;
    case 'expired':
      return `Your request for ${role} expired: PIM dropped it after 24 hours without a decision. To ask again, activate the role from My roles in PIM: ${PIM_MY_ROLES_URL}`;
    case 'cancelled':
      return `Your request for ${role} was cancelled in PIM${row.decision_justification ? `: "${row.decision_justification}"` : ''}.`;
    default:
      return assertNever(news.outcome);
  }
}

export function errInfo(err: unknown): { message: string; status?: number; code?: string } {
  const e = err as { message?: string; status?: number; statusCode?: number; code?: string };
  return { message: e?.message ?? String(err), status: e?.status ?? e?.statusCode, code: typeof e?.code === 'string' ? e.code : undefined };
}
