import type { ConversationReference } from 'botbuilder';
import type { Logger } from 'pino';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { renderEndingSoon, renderRequestStatus, type RequestState, type RequestStatusData } from '../../cards/chat';
import type { ChatRequestRow, ChatStore } from '../../services/store/chat-store';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import type { ChatNotifier } from '../teams/chat-notifier';
import type { Outbox, SentItem } from '../../services/outbox/outbox';
import type { OutcomeNews } from '../../services/jobs/card-delivery';
import { errInfo } from '../../services/observability/err-info';
import { patchFromApproval } from '../../services/chat/chat-request-patch';

/**
 * The one status message each chat request gets in the requester's personal chat, kept in step with the
 * request: pending → approved or denied (by whom, why) → active until a time → ended. Durable like the
 * approval cards: a change bumps the row's version, and whatever is rendered at an older version is
 * (re)sent by `deliver` now or by the sweep after a Teams outage or a restart.
 */
const PURPOSE = 'chat-status';

export class ChatStatusMessages {
  private timer: ReturnType<typeof setInterval> | undefined;
  /**
   * With an outbox the message goes through it (paced, retried, and never posted twice when Teams' answer is
   * lost: the outbox finds the first copy); without one, straight through the notifier.
   */
  constructor(
    private readonly deps: {
      chat: ChatStore;
      store: Store;
      notifier: ChatNotifier;
      log: Logger;
      now?: () => Date;
      outbox?: Outbox;
      /** Minutes before an activation ends that its requester is told (through the outbox, once); 0 or absent: never. */
      endingSoonMinutes?: number;
    },
  ) {
    deps.outbox?.onSent((item) => this.onSent(item));
  }

  private async onSent(item: SentItem): Promise<void> {
    const m = item.meta;
    if (m?.purpose !== PURPOSE || typeof m.chatRequestId !== 'string' || typeof m.version !== 'number' || !item.activityId) return;
    await this.deps.chat.markRendered(m.chatRequestId, m.version, item.activityId);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  card(row: ChatRequestRow): AdaptiveCardJson {
    return renderRequestStatus(statusDataOf(row, this.now()));
  }

  /**
   * An approval card's request changed (decided on a card, in the portal, expired, cancelled): move the chat
   * requests that follow it. True when one did, so the caller does not also send a plain-text notice.
   */
  async onApprovalChanged(approval: ApprovalRequestRow, news?: OutcomeNews): Promise<boolean> {
    const rows =
      approval.kind === 'azureResource'
        ? (await this.deps.chat.liveAzureRequests(approval.principal_id, approval.role_definition_id, approval.scope)).slice(0, 1)
        : await this.deps.chat.requestsByApprovalKey(approval.pim_request_id);
    for (const row of rows) {
      const patch = patchFromApproval(row, approval, news, this.now());
      if (!patch) continue;
      await this.deps.chat.updateRequest(row.id, { ...patch, approval_key: approval.pim_request_id });
      await this.deliver(row.id);
    }
    // The status message speaks for these requests, even when this news changes nothing on it.
    return rows.length > 0;
  }

  /** Posts or rewrites the request's status message if it is behind; errors are left for the sweep. */
  async deliver(id: string): Promise<void> {
    const row = await this.deps.chat.request(id);
    if (!row || row.rendered_version >= row.version) return;
    const reference = JSON.parse(row.conversation_ref) as Partial<ConversationReference>;
    const card = this.card(row);
    if (this.deps.outbox) return this.enqueue(row, reference, card);
    try {
      if (row.activity_id) {
        await this.deps.notifier.updateCardAt(reference, row.activity_id, card);
        await this.deps.chat.markRendered(row.id, row.version, row.activity_id);
      } else {
        const activityId = await this.deps.notifier.sendCardTo(reference, card);
        await this.deps.chat.markRendered(row.id, row.version, activityId);
      }
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), chatRequestId: row.id }, 'status message not delivered; the sweep retries');
    }
  }

  /** Queues the post (once per request) or the rewrite (once per version); the outbox's onSent records it. */
  private async enqueue(row: ChatRequestRow, reference: Partial<ConversationReference>, card: object): Promise<void> {
    const conversationId = reference.conversation?.id;
    const serviceUrl = reference.serviceUrl;
    if (!conversationId || !serviceUrl) {
      this.deps.log.warn({ chatRequestId: row.id }, 'status message has no conversation to go to');
      return;
    }
    const meta = { purpose: PURPOSE, chatRequestId: row.id, version: row.version, chat: 'personal', userId: row.user_id };
    const payload = { type: 'card' as const, card };
    try {
      if (row.activity_id) {
        await this.deps.outbox!.enqueue({
          conversationId,
          serviceUrl,
          kind: 'update',
          activityId: row.activity_id,
          payload,
          dedupeKey: `${PURPOSE}:${row.id}:v${row.version}`,
          revision: row.version,
          meta,
        });
        return;
      }
      const key = `${PURPOSE}:${row.id}:post`;
      const queued = await this.deps.outbox!.enqueue({ conversationId, serviceUrl, kind: 'post', payload, dedupeKey: key, meta });
      if (!queued.created && queued.resultActivityId) {
        // Posted before, but its onSent was lost (a crash): record it at the version it showed; the next
        // delivery rewrites it if the request moved on since.
        const posted = await this.deps.outbox!.byDedupeKey(key);
        const version = posted?.meta ? Number((JSON.parse(posted.meta) as { version?: unknown }).version) : Number.NaN;
        await this.deps.chat.markRendered(row.id, Number.isInteger(version) ? version : 1, queued.resultActivityId);
      }
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), chatRequestId: row.id }, 'status message not queued; the sweep retries');
    }
  }

  /**
   * Ends activations whose time is up, catches up with approvals decided before the chat request was
   * stored, and re-sends status messages a failed delivery left behind.
   */
  /** Sweeps every `intervalMs` (status messages behind their request) until `stop`; a failed sweep is logged. */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(
      () => void this.sweep().catch((err: unknown) => this.deps.log.warn({ err: errInfo(err) }, 'chat status sweep failed')),
      intervalMs,
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Inside the last ENDING_SOON_MINUTES of an activation that ran longer than that (a shorter one was just
   * asked for: no warning the moment it starts).
   */
  private endingSoon(row: ChatRequestRow, now: Date): boolean {
    const minutes = this.deps.endingSoonMinutes ?? 0;
    if (minutes <= 0 || !row.active_until || !this.deps.outbox) return false;
    const until = Date.parse(row.active_until);
    const from = row.active_from ? Date.parse(row.active_from) : Number.NaN;
    const lead = minutes * 60_000;
    return until - now.getTime() <= lead && !(until - from <= lead);
  }

  /** The "ending soon" card in the requester's chat: once per activation (the outbox's key), paced and retried like every send. */
  private async tellEndingSoon(row: ChatRequestRow): Promise<void> {
    const reference = JSON.parse(row.conversation_ref) as Partial<ConversationReference>;
    const conversationId = reference.conversation?.id;
    const serviceUrl = reference.serviceUrl;
    if (!conversationId || !serviceUrl) return;
    const card = renderEndingSoon({ chatRequestId: row.id, roleTitle: row.role_title, activeUntil: row.active_until! });
    try {
      await this.deps.outbox!.enqueue({
        conversationId,
        serviceUrl,
        kind: 'post',
        payload: { type: 'card', card },
        dedupeKey: `ending-soon:${row.id}:${row.active_until}`,
        meta: { purpose: 'ending-soon', chatRequestId: row.id, chat: 'personal', userId: row.user_id },
      });
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), chatRequestId: row.id }, 'ending-soon message not queued; the next sweep tries again');
    }
  }

  async sweep(): Promise<void> {
    const now = this.now();
    for (const row of await this.deps.chat.requestsInState(['active'])) {
      if (row.active_until && Date.parse(row.active_until) <= now.getTime()) {
        await this.deps.chat.updateRequest(row.id, { state: 'ended', ended_at: row.active_until });
      } else if (this.endingSoon(row, now)) {
        await this.tellEndingSoon(row);
      }
    }
    for (const row of await this.deps.chat.requestsInState(['pending'])) {
      const approval = row.approval_key ? await this.deps.store.requests.byPimId(row.approval_key) : undefined;
      const patch = approval ? patchFromApproval(row, approval, undefined, now) : undefined;
      if (patch) await this.deps.chat.updateRequest(row.id, patch);
    }
    for (const row of await this.deps.chat.staleMessages()) await this.deliver(row.id);
  }
}

/** Moved to services/chat (the submit use case catches up with it too); exported here for the status tests. */
export { patchFromApproval };

export function statusDataOf(row: ChatRequestRow, now: Date): RequestStatusData {
  const decisionService = row.decision_service ? (JSON.parse(row.decision_service) as RequestStatusData['decisionService']) : null;
  return {
    chatRequestId: row.id,
    roleTitle: row.role_title,
    durationMinutes: row.duration_minutes,
    ticket: row.ticket_number ? { system: row.ticket_system, number: row.ticket_number } : null,
    justification: row.justification,
    state: row.state as RequestState,
    approverNames: JSON.parse(row.approver_names) as string[],
    decision: row.decided_by_name && row.decided_at ? { byName: row.decided_by_name, at: row.decided_at, justification: row.decision_justification } : null,
    decisionService,
    activeFrom: row.active_from,
    activeUntil: row.active_until,
    endedAt: row.ended_at,
    message: row.message,
    pimRequestId: row.pim_request_id,
    timeZone: row.time_zone,
    updatedAt: now.toISOString(),
  };
}
