import type { Logger } from 'pino';
import type { ChannelTarget } from '../config/config';
import type { Directory, PimRequestCopy, RoleApprovalPolicy } from '../graph/directory';
import type { ReadBatch } from '../graph/read-batch';
import { BOT_ACTOR, calloutUnboundEntry, graphResultEntry } from '../audit/entries';
import { differences, sameContent } from '../approvals/callout-binding';
import type { ActivationRequest } from '../decision/activation-request';
import type { Metrics } from '../observability/metrics';
import { calloutColumnsOf, contentOfRequest, contentOfRow } from '../approvals/approval-request-row';
import { checkLinesOf, type CheckForLine } from '../approvals/check-lines';
import type { ApprovalRequestRow, PageCursor, Store, Tx } from '../store/store';
import { approversExceptRequester, claimReleaseOf, parseDisplay, refOf, type RequestDisplay } from '../approvals/request-display';
import { formatTime } from '../text/format-time';
import { tellApproverNotRecorded } from './claim-release';
import type { RequesterSignalsReader } from './requester-signals';
import { recoverClaim } from '../approvals/claim-recovery';
import { assertNever, closingEvent } from '../approvals/request-lifecycle';
import type { PostApprovalOutcome } from '../events/inbound-event';
import type { EnqueueResult, Outbox, OutboxMessage, OutboxMeta, OutboxPayload, SentItem } from '../outbox/outbox';
import { TEAMS_CARD_MAX_BYTES } from '../teams/teams-limits';
import { PIM_MY_ROLES_URL } from '../config/microsoft-endpoints';
import type { ApprovalCardRenderers, RequesterNotices } from './ports';
import type { CardPostRow } from '../store/store';
import { errInfo } from '../observability/err-info';

/** Who "decided" a request whose role needs no approval. */
export const NO_APPROVAL_NEEDED = 'PIM (no approval required)';

/** The evaluations' key of a row: `entraRole:<id>`, `group:<id>`, or the Azure request key itself. */
function requestKeyOfRow(row: Pick<ApprovalRequestRow, 'kind' | 'pim_request_id'>): string {
  return row.kind === 'azureResource' ? row.pim_request_id : `${row.kind}:${row.pim_request_id}`;
}

function parseStoredCallout(json: string): { request: ActivationRequest; riskFlags: string[] } | null {
  try {
    const v = JSON.parse(json) as { request?: ActivationRequest; riskFlags?: string[] };
    return v.request ? { request: v.request, riskFlags: v.riskFlags ?? [] } : null;
  } catch {
    return null;
  }
}

function parseChecks(json: string): CheckForLine[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? (v as CheckForLine[]) : [];
  } catch {
    return [];
  }
}

/** Longer than a decision can take: Graph's 10 s timeout with retries honouring Retry-After. */
const STALE_CLAIM_MS = 2 * 60_000;

/** A card drain waits at most this long for paced or retried sends (tests and shutdown). */
const DRAIN_LIMIT_MS = 30_000;

/**
 * Posts approval cards and keeps every posted copy in step with the request. Durable by
 * construction: what is owed is read from the database (requests without cards, copies rendered
 * at an older version), so a sweep after a crash or a Teams outage finishes the work.
 *
 * Channel messages (cards, updates, thread replies) go through the outbox, which paces them to Teams'
 * limits, honours 429 Retry-After and collapses a busy minute into summary cards; a copy is recorded
 * (card_posts) when the outbox reports it sent.
 */
export class CardDelivery implements RequesterNotices {
  private inFlight = new Set<Promise<unknown>>();
  /**
   * One Graph read batch for every card being posted: the reads of cards posted together (a burst of
   * callouts, a sweep) travel in one $batch request (undefined: the directory does not batch).
   */
  private readBatch: ReadBatch | undefined | null = null;
  /** Background card posts running (postCardsSoon), and those waiting for a lane. */
  private postingNow = 0;
  private readonly postingQueue: Array<() => void> = [];
  /** Role names and approval policies for the cards (the same for every request of a role), read at most once per TTL. */
  private readonly roleNames = new TtlCache<string>(ROLE_NAME_TTL_MS);
  private readonly policies = new TtlCache<RoleApprovalPolicy>(POLICY_TTL_MS);
  private sweeping: Promise<void> | null = null;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  /** Closed requests (`<id>:<status>`) whose requester notice this process has made sure of, and when. */
  private readonly checkedOutcomes = new Map<string, number>();
  private follower: RequestFollower | null = null;
  private zoneOf: ((userId: string) => Promise<string>) | null = null;
  private readonly postedListeners: Array<(row: ApprovalRequestRow, tx: Tx) => Promise<void>> = [];
  private readonly copyListeners: Array<(row: ApprovalRequestRow, conversationId: string, activityId: string) => Promise<unknown>> = [];
  /** Counts callouts that could not be bound to PIM's copy (set by the composition root). */
  bindingMetrics: Pick<Metrics, 'calloutBinding'> | null = null;

  constructor(
    private readonly store: Store,
    private readonly directory: Directory,
    /** The approval, summary and re-request cards (cards/approval-view.ts's `approvalCardRenderers`). */
    private readonly renderers: ApprovalCardRenderers,
    private readonly outbox: Outbox,
    private readonly channels: Record<string, ChannelTarget>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    /** The requester's identity risk and history for the card; never rejects (a failed read shows as such). */
    private readonly signals: Pick<RequesterSignalsReader, 'read'> | null = null,
  ) {
    outbox.onSent((item) => this.onSent(item));
  }

  /** Requests made by chat have a status message that follows them; it is told first and replaces the plain-text notice. */
  followRequests(follower: RequestFollower): void {
    this.follower = follower;
  }

  /**
   * Where a person's own zone comes from for the messages the bot writes them (their mailbox's, see
   * user-time-zone.ts); without it, those times are in UTC, labelled so.
   */
  useTimeZones(zoneOf: (userId: string) => Promise<string>): void {
    this.zoneOf = zoneOf;
  }

  /** The person's zone; UTC when none is known or the lookup fails (the message is never held back for it). */
  private async timeZoneOf(userId: string): Promise<string> {
    return this.zoneOf ? this.zoneOf(userId).catch(() => 'UTC') : 'UTC';
  }

  /**
   * Posts a request's cards in the background, at most POSTING_LANES at a time (the rest wait their turn, in
   * order). A burst of callouts posted one card each at once opened a Graph connection (a TLS handshake) per
   * read in flight and competed with the decisions PIM waits for; in lanes, the cards posted together send
   * their reads in one Graph batch. Like `kick`: errors are logged, a sweep retries, and `drain` waits for
   * the queued ones too.
   */
  postCardsSoon(requestId: string): void {
    this.kick(async () => {
      if (this.postingNow >= POSTING_LANES) await new Promise<void>((resolve) => this.postingQueue.push(resolve));
      else this.postingNow++;
      try {
        await this.postCards(requestId);
      } finally {
        const next = this.postingQueue.shift();
        if (next) next();
        else this.postingNow--;
      }
    });
  }

  private reads(): ReadBatch | undefined {
    if (this.readBatch === null) this.readBatch = this.directory.readBatch?.();
    return this.readBatch;
  }

  /** Starts work without making the caller wait (PIM's call, an invoke); errors are logged, a sweep retries. */
  kick(work: () => Promise<unknown>): void {
    const p = work()
      .catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'card delivery failed; the next sweep retries'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Waits for started work and for the outbox to send what is due; used at shutdown and by tests. */
  async drain(): Promise<void> {
    const until = Date.now() + DRAIN_LIMIT_MS;
    for (;;) {
      while (this.inFlight.size > 0 || this.sweeping) await Promise.allSettled([...this.inFlight, this.sweeping]);
      const pass = await this.outbox.drain();
      if (this.inFlight.size > 0) continue; // a send's listener started more work
      if (!(await this.outbox.hasDue())) return;
      if (Date.now() > until) {
        this.log.warn('card drain gave up waiting: the outbox still has messages due (paced or retrying)');
        return;
      }
      if (pass.sent === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sweeps every `intervalMs` (owed card posts and updates, after Teams or Graph failures or a restart) until `stopSweeps`. */
  startSweeps(intervalMs: number): void {
    this.stopSweeps();
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), intervalMs);
    this.sweepTimer.unref();
  }

  stopSweeps(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  async sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = (async () => {
      try {
        await this.recoverStaleClaims().catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'claim recovery failed'));
        // Copies Teams accepted whose record was lost (a stop between the send and its listener); at start-up too.
        await this.recordSentCopies().catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'recording sent copies failed'));
        // Every request without a card, paged (a burst larger than a page is not left for later sweeps).
        let after: PageCursor | null = null;
        for (;;) {
          const page = await this.store.requests.withoutCardsAfter(after, SWEEP_PAGE);
          for (const row of page)
            await this.postCards(row.id).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId: row.id }, 'posting card failed'));
          if (page.length < SWEEP_PAGE) break;
          const last = page[page.length - 1]!;
          after = { at: last.created_at, id: last.id };
        }
        for (const row of await this.store.requests.withStaleCards())
          await this.refreshCopies(row.id).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId: row.id }, 'updating cards failed'));
        await this.tellRecentOutcomes().catch((err: unknown) => this.log.warn({ err: errInfo(err) }, 'checking requester notices failed'));
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
    for (const row of await this.store.requests.staleClaims(before)) {
      const pimStatus = await this.directory.requestStatus(refOf(row));
      const recovery = recoverClaim(row.claimed_result, pimStatus);
      const log = this.log.child({ requestId: row.id, pimRequestId: row.pim_request_id, pimStatus });
      if (recovery.kind === 'wait') continue;
      // Audited as the claimant's Graph result, read back from PIM (the answer itself was lost).
      const audit = (outcome: 'recorded' | 'closed' | 'failed', finalStatus: string) => [
        graphResultEntry(
          row,
          row.claimed_by ?? BOT_ACTOR,
          {
            outcome,
            reviewResult: row.claimed_result,
            status: null,
            code: `PIM status ${pimStatus}`,
            alreadyDecided: outcome === 'closed' && (finalStatus === 'approved' || finalStatus === 'denied'),
            finalStatus,
            recovered: true,
          },
          this.now(),
        ),
      ];
      if (recovery.kind === 'release') {
        // The approver's click is not lost silently: every copy says it was not recorded, and they are told.
        const claimant = row.claimed_by ? await this.directory.user(row.claimed_by).catch(() => null) : null;
        const release = claimReleaseOf(row, claimant?.displayName ?? null);
        const released = await this.store.requests.transition(
          row,
          { type: 'release' },
          {
            claimed_by: null,
            claimed_at: null,
            claimed_result: null,
            decision_justification: null,
            last_release: release ? JSON.stringify(release) : null,
          },
          audit('failed', 'pending'),
        );
        log.warn('stale claim released: PIM never recorded the decision');
        if (released && release)
          await tellApproverNotRecorded(this, released, release).catch((err: unknown) => log.warn({ err: errInfo(err) }, 'telling the approver failed'));
      } else {
        const claimant = recovery.byClaimant && row.claimed_by ? await this.directory.user(row.claimed_by).catch(() => null) : null;
        await this.store.requests.transition(
          row,
          closingEvent(recovery.status, recovery.byClaimant),
          {
            decided_by_id: recovery.byClaimant ? row.claimed_by : null,
            decided_by_name: claimant?.displayName ?? (recovery.byClaimant ? row.claimed_by : 'PIM'),
            decided_by_upn: claimant?.userPrincipalName ?? null,
            decided_at: this.now().toISOString(),
            decision_justification: recovery.byClaimant ? row.decision_justification : `Closed in PIM (${pimStatus})`,
            claimed_by: null,
            claimed_at: null,
            claimed_result: null,
          },
          audit(recovery.byClaimant ? 'recorded' : 'closed', recovery.status),
        );
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
    let row = await this.store.requests.get(requestId);
    if (!row || row.unbound_at) return;
    if (row.cards_posted_at) {
      // Handed to the outbox before: nothing to post, but a copy Teams accepted may still lack its record.
      for (const target of this.targetsFor(row)) await this.recordIfSent(row.id, target);
      return;
    }
    // Approvers see what PIM holds, never what a callout claimed: bind first (a failed read throws, and the sweep tries again).
    // The card's own reads start with the binding's, in one Graph batch; they are used only once it is bound.
    const via = this.reads();
    const copy = this.directory.pimRequestCopy(refOf(row), via);
    const context = this.fetchDisplay(row, via);
    context.catch(() => undefined); // awaited below once bound; never left to reject unheard
    const bound = await this.bindToPim(row, copy);
    if (!bound) return;
    // Rebound to another callout's content (another evaluation, perhaps another requester): its context is read afresh.
    const display: RequestDisplay = { ...(bound === row ? await context : await this.fetchDisplay(bound)), pimApprovalId: (await copy)?.approvalId ?? null };
    row = bound;
    if (display.approvalRequired === false) {
      // PIM activates without an approver for this role: a card would ask people to decide nothing, and
      // the request is closed here so the reconciler does not report PIM's grant as a decision taken elsewhere.
      await this.store.requests.markCardsPosted(row.id, JSON.stringify(display));
      if (row.status === 'pending') {
        await this.store.requests.transition(
          row,
          { type: 'noApprovalRequired' },
          {
            decided_by_name: NO_APPROVAL_NEEDED,
            decided_at: this.now().toISOString(),
            decision_justification: "The role's PIM policy activates without approval.",
          },
        );
      }
      this.log.info({ requestId: row.id, pimRequestId: row.pim_request_id }, 'no card: the role policy needs no approval');
      return;
    }
    // The card is rendered with the display just read; it is stored with the mark below (one write, not two).
    const displayJson = JSON.stringify(display);
    row = { ...row, display: displayJson };
    const posted = new Set((await this.store.cardCopies.of(row.id)).map((p) => p.conversation_id));
    const cards = this.targetsFor(row)
      .filter((target) => !posted.has(target.conversationId))
      .map((target) => ({ target, message: this.cardMessage(row, target) }));
    // Approvers who asked for them (`approvals on`) get a copy in their chat too, never on a summary card.
    for (const chat of row.status === 'pending' ? await this.approverChats(row) : []) {
      if (posted.has(chat.conversationId)) continue;
      cards.push({ target: chat, message: this.cardMessage(row, chat, undefined, 'chat') });
    }
    // Posted means handed to the outbox: from here it is the outbox's to deliver, once. The copies, the
    // mark and the reminder ladder commit together (one commit, and no crash leaves one without the others).
    const postedAt = this.now().toISOString();
    const queued = await this.store.unitOfWork(async ({ tx, requests }) => {
      const results = [];
      for (const card of cards) results.push({ target: card.target, result: await this.outbox.enqueueIn(tx, card.message) });
      await requests.markCardsPosted(row.id, displayJson, postedAt);
      for (const listener of this.postedListeners) await listener({ ...row, cards_posted_at: postedAt }, tx);
      return results;
    });
    this.outbox.wake();
    for (const { target, result } of queued) await this.recordIfResent(row.id, target, result);
  }

  /**
   * Takes PIM's own copy of the request (`read`, made with the app's identity) and returns the row to post when a
   * callout's content equals it: this row's, or another callout's for the same id (this one was forged
   * or pre-empted), which the row is then rebound to (justification, ticket, evaluation, reasons, flags,
   * check lines). When none matches, or PIM has no such request, no card is posted: the row is marked
   * unbound, with an audit row, a metric and a warning. A later callout for the same id looks again.
   */
  private async bindToPim(row: ApprovalRequestRow, read: Promise<PimRequestCopy | null>): Promise<ApprovalRequestRow | null> {
    const copy = await read;
    if (copy && sameContent(copy, contentOfRow(row))) return row;
    const log = this.log.child({ requestId: row.id, pimRequestId: row.pim_request_id });
    const fields: string[] = copy ? differences(copy, contentOfRow(row)) : [];
    if (copy) {
      for (const e of await this.store.evaluations.forKey(requestKeyOfRow(row))) {
        if (e.outcome !== 'Approved') continue;
        const stored = parseStoredCallout(e.request_json);
        if (!stored || !sameContent(copy, contentOfRequest(stored.request))) continue;
        const rebound = await this.store.requests.rebind(row.id, {
          evaluation_id: e.evaluation_id,
          ...calloutColumnsOf(stored.request),
          reasons: e.reasons,
          risk_flags: JSON.stringify(stored.riskFlags),
          check_lines: JSON.stringify(checkLinesOf(parseChecks(e.checks))),
        });
        if (!rebound) return null;
        log.warn(
          { evaluationId: e.evaluation_id, differingFields: fields },
          "card bound to the callout that matches PIM's copy; the first callout for this id did not",
        );
        return (await this.store.requests.get(row.id)) ?? null;
      }
    }
    const reason = copy ? 'differs' : 'not_in_pim';
    await this.store.requests.markUnbound(row.id, this.now().toISOString(), calloutUnboundEntry(row, { reason, fields, at: this.now() }));
    this.bindingMetrics?.calloutBinding(copy ? 'unbound' : 'not_in_pim');
    log.warn({ reason, differingFields: fields }, "no card: no callout for this request matches PIM's own copy");
    return null;
  }

  /**
   * Queues a copy of the request's card for a channel. The channel copy is the approver view; Teams'
   * refresh gives requester and observers their own view. In a busy minute the outbox may list it on
   * a summary card instead. A repeat (sweep after a crash) finds the queued copy by its key.
   */
  async enqueueCard(row: ApprovalRequestRow, target: ChannelTarget, message?: string): Promise<void> {
    await this.recordIfResent(row.id, target, await this.outbox.enqueue(this.cardMessage(row, target, message)));
  }

  /**
   * A copy of a request's card in an approver's personal chat with the bot (their `approvals`): recorded like
   * every copy, so each decision and change rewrites it too. Never on a summary card, and nudges stay in the
   * channel's thread (replyUnderCards). A second ask finds the copy queued before.
   */
  async enqueuePersonalCopy(row: ApprovalRequestRow, chat: ChannelTarget): Promise<void> {
    await this.recordIfResent(row.id, chat, await this.outbox.enqueue(this.cardMessage(row, chat, undefined, 'chat')));
  }

  /** The chats of the request's approvers who turned approval cards on (never the requester's). */
  private async approverChats(row: ApprovalRequestRow): Promise<ChannelTarget[]> {
    const chats = await this.store.conversations.approvalCardChats(approversExceptRequester(row));
    const targets: ChannelTarget[] = [];
    for (const ref of chats.values()) {
      const r = ref as { conversation?: { id?: string }; serviceUrl?: string };
      if (r.conversation?.id && r.serviceUrl) targets.push({ conversationId: r.conversation.id, serviceUrl: r.serviceUrl });
    }
    return targets;
  }

  /** The outbox message of a request's card for a channel, or a personal chat (never collapsed into a summary card). */
  private cardMessage(row: ApprovalRequestRow, target: ChannelTarget, message?: string, where: 'channel' | 'chat' = 'channel'): OutboxMessage {
    const { card, summary } = this.renderers.approvalCard(row, row.status === 'pending' ? 'approver' : 'final', this.now(), message);
    return {
      conversationId: target.conversationId,
      serviceUrl: target.serviceUrl,
      kind: 'post',
      payload: { type: 'card', card },
      dedupeKey: `card:${row.id}:${target.conversationId}`,
      meta: { purpose: CARD, requestId: row.id, version: row.version },
      ...(where === 'channel' ? { summary } : {}),
    };
  }

  /** After an enqueue that found the card queued before: records the copy if it was sent but never recorded (a crash between the send and its listener). */
  private async recordIfResent(requestId: string, target: ChannelTarget, queued: EnqueueResult): Promise<void> {
    if (!queued.created && queued.resultActivityId && (queued.status === 'sent' || queued.status === 'summarized')) await this.recordIfSent(requestId, target);
  }

  /** Records the copy of a request's card in a channel if the outbox row says Teams accepted it and no copy is recorded. */
  private async recordIfSent(requestId: string, target: ChannelTarget): Promise<void> {
    const sent = await this.outbox.byDedupeKey(`card:${requestId}:${target.conversationId}`);
    if (!sent?.result_activity_id || (sent.status !== 'sent' && sent.status !== 'summarized')) return;
    if ((await this.store.cardCopies.of(requestId)).some((p) => p.conversation_id === sent.conversation_id)) return;
    const meta = parseMetaText(sent.meta);
    await this.recordCopy(requestId, sent.conversation_id, sent.service_url, sent.result_activity_id, Number(meta.version ?? 0), sent.status === 'summarized');
  }

  /**
   * Records every copy Teams accepted that has no card_posts row, from the outbox rows written before the
   * sends (the message id Teams returned is stored with the row when it is marked sent). Paged to the end.
   */
  async recordSentCopies(): Promise<number> {
    let after: PageCursor | null = null;
    let recorded = 0;
    for (;;) {
      const page = await this.store.cardCopies.sentWithoutCopies(after, SWEEP_PAGE);
      for (const sent of page) {
        const meta = parseMetaText(sent.meta);
        if (meta.purpose !== CARD || typeof meta.requestId !== 'string') continue;
        try {
          await this.recordCopy(
            meta.requestId,
            sent.conversation_id,
            sent.service_url,
            sent.result_activity_id,
            Number(meta.version ?? 0),
            sent.status === 'summarized',
          );
          this.log.warn({ requestId: meta.requestId, conversationId: sent.conversation_id }, 'recorded a sent card copy whose record was missing');
          recorded++;
        } catch (err) {
          this.log.warn({ err: errInfo(err), requestId: meta.requestId }, 'recording a sent card copy failed; the next sweep retries');
        }
      }
      if (page.length < SWEEP_PAGE) return recorded;
      const last = page[page.length - 1]!;
      after = { at: last.sent_at, id: last.id };
    }
  }

  /**
   * Replies in the thread of every channel copy of the request's card (a summary's thread for a listed
   * request). Copies in personal chats get none: a chat has no thread, and the nudge is for the channel.
   */
  async replyUnderCards(row: ApprovalRequestRow, text: string, mentions: Array<{ id: string; name: string }>, key: string): Promise<number> {
    const posts = (await this.store.cardCopies.of(row.id)).filter((p) => !isPersonalChat(p.conversation_id));
    for (const post of posts) {
      await this.outbox.enqueue({
        conversationId: post.conversation_id,
        serviceUrl: post.service_url,
        kind: 'reply',
        replyToId: post.activity_id,
        payload: { type: 'text', text, mentions },
        dedupeKey: `reply:${key}:${post.id}`,
        meta: { purpose: 'reply', requestId: row.id },
      });
    }
    return posts.length;
  }

  private async onSent(item: SentItem): Promise<void> {
    const meta = item.meta ?? {};
    if (item.covers.length > 0) {
      for (const covered of item.covers) {
        const m = covered.meta ?? {};
        if (m.purpose === CARD && item.activityId)
          await this.recordCopy(String(m.requestId), item.conversationId, item.serviceUrl, item.activityId, Number(m.version), true);
      }
      return;
    }
    if (meta.purpose === CARD && item.kind === 'post' && item.activityId) {
      await this.recordCopy(String(meta.requestId), item.conversationId, item.serviceUrl, item.activityId, Number(meta.version), false);
    } else if (meta.purpose === UPDATE) {
      for (const [postId, version] of renderedOf(meta)) await this.store.cardCopies.markRendered(postId, version);
    }
  }

  /** Records a sent copy; if the request moved on while it waited in the outbox, the copy is brought up to date. */
  private async recordCopy(
    requestId: string,
    conversationId: string,
    serviceUrl: string,
    activityId: string,
    version: number,
    summary: boolean,
  ): Promise<void> {
    await this.store.cardCopies.add({
      request_id: requestId,
      conversation_id: conversationId,
      service_url: serviceUrl,
      activity_id: activityId,
      posted_at: this.now().toISOString(),
      rendered_version: version,
      summary: summary ? 1 : 0,
    });
    this.log.info({ requestId, conversationId, summary }, summary ? 'approval request listed on a summary card' : 'approval card posted');
    const row = await this.store.requests.get(requestId);
    if (row && row.version > version) this.kick(() => this.refreshCopies(requestId));
    if (row)
      for (const listener of this.copyListeners)
        await listener(row, conversationId, activityId).catch((err: unknown) => this.log.warn({ err: errInfo(err), requestId }, 'after-copy work failed'));
  }

  /**
   * Runs when a copy of a request's card is recorded (sent by the outbox, or found sent by a sweep after a
   * restart): `activityId` is the message that shows it (the card, or the summary card listing it).
   */
  onCardCopy(listener: (row: ApprovalRequestRow, conversationId: string, activityId: string) => Promise<unknown>): void {
    this.copyListeners.push(listener);
  }

  /**
   * Runs as a request's cards are handed to the outbox, in the same transaction (the reminder ladder starts
   * there): `row` is the request as marked posted. A listener that fails rolls the post back; the sweep
   * posts again.
   */
  onCardsPosted(listener: (row: ApprovalRequestRow, tx: Tx) => Promise<void>): void {
    this.postedListeners.push(listener);
  }

  /** Rewrites every posted copy with the current state (final copies lose their buttons). */
  async refreshCopies(requestId: string): Promise<void> {
    const row = await this.store.requests.get(requestId);
    if (!row) return;
    for (const post of await this.store.cardCopies.of(row.id)) {
      if (post.rendered_version >= row.version) continue;
      if (post.summary) {
        await this.refreshSummary(post);
        continue;
      }
      const view = row.status === 'pending' ? 'approver' : row.status === 'recording' ? 'observer' : 'final';
      await this.enqueueUpdate(post, this.renderers.approvalCard(row, view, this.now()).card, `update:${post.id}:v${row.version}`, row.version, [
        [post.id, row.version],
      ]);
    }
  }

  /** Queues a rewrite of a posted message; `rendered` ([card_posts id, version] pairs) is marked when it is sent. */
  private async enqueueUpdate(post: CardPostRow, card: object, dedupeKey: string, revision: number, rendered: Array<[number, number]>): Promise<void> {
    await this.outbox.enqueue({
      conversationId: post.conversation_id,
      serviceUrl: post.service_url,
      kind: 'update',
      activityId: post.activity_id,
      payload: { type: 'card', card },
      dedupeKey,
      revision,
      meta: { purpose: UPDATE, requestId: post.summary ? null : post.request_id, rendered: JSON.stringify(rendered) },
    });
  }

  /**
   * Re-renders a summary card with the current state of every request it lists (each decided one says
   * how it ended). Its revision is the sum of the listed requests' versions, which only grows, so an
   * older rendering never overwrites a newer one.
   */
  private async refreshSummary(post: CardPostRow): Promise<void> {
    const posts = await this.store.cardCopies.onSummary(post.conversation_id, post.activity_id);
    const rows = (await Promise.all(posts.map((p) => this.store.requests.get(p.request_id)))).filter((r): r is ApprovalRequestRow => !!r);
    const batch = (await this.outbox.summaryBatch(post.conversation_id, post.activity_id)) ?? { part: 1, parts: 1, batchTotal: rows.length };
    const render = (withNames: boolean) => this.renderers.summaryCard(rows, batch, this.now(), withNames);
    let card = render(true);
    // Decider names (and the names on released claims) are directory text of any length: if they would push
    // the card over Teams' limit, the lines say what happened without them (Open shows who).
    if (Buffer.byteLength(JSON.stringify(card), 'utf8') > TEAMS_CARD_MAX_BYTES - 2_048) card = render(false);
    const revision = rows.reduce((sum, r) => sum + r.version, 0);
    const rendered = posts.map((p): [number, number] => [p.id, rows.find((r) => r.id === p.request_id)?.version ?? 0]);
    await this.enqueueUpdate(post, card, `summary-update:${post.conversation_id}:${post.activity_id}:r${revision}`, revision, rendered);
  }

  /** Tells the requester the outcome in their personal chat, if the bot has one with them. */
  async notifyRequester(requestId: string, news?: OutcomeNews): Promise<boolean> {
    const row = await this.store.requests.get(requestId);
    if (row && this.follower && (await this.follower.onApprovalChanged(row, news))) return true;
    // A post-approval event is news even without a named decider (PIM expired or cancelled it).
    if (!row || (!row.decided_by_id && !news)) return false;
    const display = parseDisplay(row);
    // Through the outbox, once per request and outcome (`activated` is news of its own): a crash before
    // the send is finished by the next drain, and the reconciler, an event and the sweep telling the same
    // outcome cause one message.
    const what = news ? (news.outcome === 'granted' ? 'approved' : news.outcome) : row.status;
    const notice = (payload: OutboxPayload | ((zone: string) => OutboxPayload)) => this.tellRequester(row, what, payload);
    if (news?.outcome === 'expired') {
      // One tap asks again: the handler checks eligibility and shows the prefilled form.
      return notice({
        type: 'card',
        card: this.renderers.reRequestNotice({
          text: `Your request for ${display.roleDisplayName} expired: PIM dropped it after 24 hours without a decision.`,
          requestId: row.id,
        }),
      });
    }
    // Times in the requester's own zone, named ("Mon 7 Dec, 09:05 PST").
    if (news) return notice((zone) => ({ type: 'text', text: outcomeText(row, display.roleDisplayName, news, zone) }));
    const verb = row.status === 'approved' ? 'approved' : 'denied';
    const next =
      row.status === 'approved' ? 'PIM activates the role now; it ends when the requested duration is over.' : 'You can submit a new request with more detail.';
    return notice((zone) => ({
      type: 'text',
      text: `Your request for ${display.roleDisplayName} was ${verb} by ${row.decided_by_name ?? row.decided_by_upn} at ${formatTime(row.decided_at!, zone)}: "${row.decision_justification}". ${next}`,
    }));
  }

  /**
   * Queues a message to the requester's personal chat, if the bot has one with them: through the outbox, once
   * per request and `key` (a repeat is a no-op), so a crash before the send loses nothing and sends nothing twice.
   */
  async tellRequester(row: ApprovalRequestRow, key: string, payload: OutboxPayload | ((timeZone: string) => OutboxPayload)): Promise<boolean> {
    const reference = (await this.store.conversations.get(row.principal_id)) as { conversation?: { id?: string }; serviceUrl?: string } | undefined;
    const conversationId = reference?.conversation?.id;
    const serviceUrl = reference?.serviceUrl;
    if (!conversationId || !serviceUrl) return false;
    await this.outbox.enqueue({
      conversationId,
      serviceUrl,
      kind: 'post',
      // A message with times in it is written once the person is known to have a chat: their zone is a Graph read.
      payload: typeof payload === 'function' ? payload(await this.timeZoneOf(row.principal_id)) : payload,
      dedupeKey: `notice:${row.id}:${key}`,
      meta: { purpose: NOTICE, requestId: row.id, chat: 'personal', userId: row.principal_id },
    });
    return true;
  }

  /**
   * Closed requests whose requester notice is owed (no outbox row for it: a process stopped between the
   * decision and queueing the notice), paged by a cursor to the end, so a burst is told in one sweep.
   * The notice's outbox key makes a repeat a no-op.
   */
  private async tellRecentOutcomes(): Promise<void> {
    const now = this.now().getTime();
    const since = new Date(now - NOTICE_LOOKBACK_MS).toISOString();
    for (const [key, at] of this.checkedOutcomes) if (at < now - NOTICE_LOOKBACK_MS) this.checkedOutcomes.delete(key);
    let after: PageCursor | null = null;
    for (;;) {
      const page = await this.store.requests.owingNotice(since, after, SWEEP_PAGE);
      for (const row of page) {
        // Once per process and outcome: a chat request's status message replaces the notice (no outbox row),
        // so it would be owed on every sweep; after a restart each is looked at again, which is the case this is for.
        const key = `${row.id}:${row.status}`;
        if (this.checkedOutcomes.has(key)) continue;
        // Closed outside a card (the portal, an event, PIM's expiry): no named decider, so the outcome is the news.
        const news: OutcomeNews | undefined =
          row.status === 'expired' || row.status === 'cancelled'
            ? { outcome: row.status }
            : !row.decided_by_id
              ? { outcome: row.status === 'approved' ? 'granted' : 'denied' }
              : undefined;
        try {
          await this.notifyRequester(row.id, news);
          this.checkedOutcomes.set(key, now);
        } catch (err) {
          this.log.warn({ err: errInfo(err), requestId: row.id }, 'telling the requester failed; the next sweep retries');
        }
      }
      if (page.length < SWEEP_PAGE) return;
      const last = page[page.length - 1]!;
      after = { at: last.updated_at, id: last.id };
    }
  }

  /** The card's context: requester, role name, approvers, signals. Never rejects (what could not be read falls back). */
  private async fetchDisplay(row: ApprovalRequestRow, via?: ReadBatch): Promise<RequestDisplay> {
    const fallback = parseDisplay(row);
    const signals = this.signals ? this.signals.read(row, via) : Promise.resolve(undefined);
    const ref = refOf(row);
    const key = `${ref.kind}|${ref.roleDefinitionId.toLowerCase()}|${ref.scope.toLowerCase()}`;
    const [user, roleName, policy] = await Promise.allSettled([
      this.directory.user(row.principal_id, via),
      this.roleNames.get(key, () => this.directory.roleDisplayName(ref)),
      this.policies.get(key, () => this.directory.approvalPolicy(ref)),
    ]);
    for (const r of [user, roleName, policy])
      if (r.status === 'rejected') this.log.warn({ err: errInfo(r.reason), requestId: row.id }, 'card context incomplete');
    return {
      requester: user.status === 'fulfilled' ? user.value : fallback.requester,
      roleDisplayName: roleName.status === 'fulfilled' ? roleName.value : fallback.roleDisplayName,
      approverIds: policy.status === 'fulfilled' && policy.value ? policy.value.approverIds : [],
      escalationApproverIds: policy.status === 'fulfilled' && policy.value ? policy.value.escalationApproverIds : [],
      escalationTimeInMinutes: policy.status === 'fulfilled' && policy.value ? (policy.value.escalationTimeInMinutes ?? null) : null,
      approvalRequired: policy.status === 'fulfilled' && policy.value ? policy.value.isApprovalRequired : undefined,
      approverGroupIds: policy.status === 'fulfilled' && policy.value ? policy.value.approverGroupIds : undefined,
      approverNames: policy.status === 'fulfilled' && policy.value ? policy.value.approverNames : undefined,
      signals: await signals,
    };
  }
}

const CARD = 'approval-card';

/** A 1:1 chat with the bot (Bot Framework's `a:` id, or Graph's `…@unq.gbl.spaces`), not a channel or group chat. */
export function isPersonalChat(conversationId: string): boolean {
  return conversationId.startsWith('a:') || conversationId.includes('@unq.gbl.spaces');
}
const NOTICE = 'requester-notice';
/**
 * Background card posts at a time (postCardsSoon). A card's three Graph reads go in one batch with those of
 * the cards posted alongside it: six cards' reads fit one $batch (Graph takes 20).
 */
const POSTING_LANES = 6;
/**
 * How long a role's name and approval policy read for one card serve the next cards of the role. The card
 * shows the approvers PIM lists; a decision never relies on this copy (it reads the policy and PIM's
 * approval steps afresh), so a minute's delay in a changed approver list only delays who sees buttons.
 */
const ROLE_NAME_TTL_MS = 60 * 60_000;
const POLICY_TTL_MS = 60_000;

/**
 * Values read per key, kept for `ttlMs` from when the read started; concurrent reads of a key share one
 * call; a failed read is not kept (the next card reads again). Bounded: the oldest keys go first.
 */
class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 1000,
  ) {}

  get(key: string, read: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = read();
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}
/**
 * How far back the sweep looks for closed requests whose requester notice is owed: everything owed in it is
 * paged through. Kept well inside the outbox's retention (a week), so a pruned notice row is never re-sent.
 */
const NOTICE_LOOKBACK_MS = 24 * 3600_000;
/** Rows per page of a sweep's cursor. */
const SWEEP_PAGE = 100;
const UPDATE = 'card-update';

/** The [card_posts id, version] pairs an update rendered. */
function renderedOf(meta: OutboxMeta): Array<[number, number]> {
  return typeof meta.rendered === 'string' ? (JSON.parse(meta.rendered) as Array<[number, number]>) : [];
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

function outcomeText(row: ApprovalRequestRow, role: string, news: OutcomeNews, zone: string): string {
  const by = row.decided_by_name ?? row.decided_by_upn;
  const decided = `${by ? ` by ${by}` : ''}${row.decided_at ? ` at ${formatTime(row.decided_at, zone)}` : ''}${row.decision_justification ? `: "${row.decision_justification}"` : ''}`;
  const until = news.activeUntil ? formatTime(news.activeUntil.toISOString(), zone) : null;
  const ends = until ? `it ends ${until}` : 'it ends when the requested duration is over';
  switch (news.outcome) {
    case 'granted':
      return `Your request for ${role} was approved${decided}. PIM activates the role now; ${ends}.`;
    case 'activated':
      return `Your ${role} role is active now${until ? ` until ${until}` : ''}${by ? ` (approved by ${by})` : ''}. ${until ? 'Ask for an extension in PIM before then if the work runs over.' : 'It ends when the requested duration is over.'}`;
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

function parseMetaText(text: string | null): Record<string, unknown> {
  try {
    const v: unknown = text ? JSON.parse(text) : {};
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
