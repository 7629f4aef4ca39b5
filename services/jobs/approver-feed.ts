/**
 * Approvers reached where they already are: when a request's card is in the approvers' channel, each approver
 * who can decide gets a Teams activity-feed notification (`approvalRequested`) that opens that card. PIM's own
 * e-mail arrives minutes later, and a channel post is easy to miss among others.
 *
 * - **Once per request and approver**: one durable job per pair (`feed:<request>:<approver>`), inserted only if
 *   absent, so a second copy of the card (an escalation channel, a sweep, another replica) sends nothing more.
 *   A send whose answer was lost is sent again by the job's retry: Graph keeps no key to ask it by.
 * - **Paced**: the jobs of one request are due a spacing apart, and a throttled or failing send is retried by
 *   the scheduler with its backoff; a user the app cannot reach (not installed for them) is left out, logged.
 * - **Only while it waits**: a job finds the request decided, expired or cancelled and sends nothing.
 * - **Presence-aware**, as the reminder ladder's mentions are: when presence is read, approvers out of office
 *   are not notified while someone else is reachable (the ladder's plan decides who is asked).
 * - **No self-approval**: the requester is never notified, whatever the policy lists.
 */
import type { Logger } from 'pino';
import { planMentions } from '../approvals/presence-routing';
import { approversExceptRequester, parseDisplay } from '../approvals/request-display';
import { errInfo } from '../observability/err-info';
import type { ApprovalRequestRow, Store } from '../store/store';
import type { ActivityNotice, NotifyResult } from '../teams/personal-chats';
import type { PresenceBoard } from './presence-board';
import type { JobRun, JobScheduler } from './scheduler';

export const FEED_JOB = 'feed:approval';
/** Declared in the Teams app manifest (`activities.activityTypes`) with the template parameters below. */
export const APPROVAL_ACTIVITY_TYPE = 'approvalRequested';
/** Between two approvers' notifications of one request. */
const FEED_SPACING_MS = 500;
/** At most this many approvers are notified for one request (a policy naming a large group reaches its first ones). */
const MAX_NOTIFIED = 25;

export function feedJobId(requestId: string, approverId: string): string {
  return `feed:${requestId}:${approverId.toLowerCase()}`;
}

/** What the feed needs of Teams: the activity-feed send (services/teams/personal-chats.ts). */
export interface FeedNotifier {
  notify(userId: string, notice: ActivityNotice): Promise<NotifyResult>;
}

interface FeedPayload {
  requestId: string;
  approverId: string;
  /** The card's message: where the notification leads. */
  conversationId: string;
  activityId: string;
}

/**
 * A Teams deep link to a channel message (the card, or the summary card that lists it). Teams opens the
 * channel at that message; `parentMessageId` is the message itself (it starts a thread).
 */
export function channelMessageLink(conversationId: string, activityId: string, tenantId: string): string {
  const channelId = conversationId.split(';')[0]!;
  return `https://teams.microsoft.com/l/message/${encodeURIComponent(channelId)}/${encodeURIComponent(activityId)}?tenantId=${encodeURIComponent(tenantId)}&parentMessageId=${encodeURIComponent(activityId)}`;
}

/** The notification: role and requester (the approver reads the card anyway); no justification or other user text. */
export function approvalNotice(row: ApprovalRequestRow, webUrl: string): ActivityNotice {
  const display = parseDisplay(row);
  const requester = display.requester.displayName;
  const role = display.roleDisplayName;
  return {
    activityType: APPROVAL_ACTIVITY_TYPE,
    topicText: `${role}: approval requested`,
    previewText: `${requester} asks to activate ${role}. Open the card to approve or deny.`,
    webUrl,
    templateParameters: { requester, role },
  };
}

export class ApproverFeed {
  constructor(
    private readonly deps: {
      store: Pick<Store, 'requests'>;
      scheduler: JobScheduler;
      notifier: FeedNotifier;
      tenantId: string;
      presence?: { board: PresenceBoard } | null;
      log: Logger;
      now?: () => Date;
    },
  ) {
    deps.scheduler.on(FEED_JOB, (job) => this.run(job));
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * A copy of `row`'s card is in a channel (`conversationId`, message `activityId`): one job per approver who
   * can decide, unless one was scheduled before. Never throws (a failure is logged; the card is unaffected).
   */
  async onCardCopy(row: ApprovalRequestRow, conversationId: string, activityId: string): Promise<number> {
    if (row.status !== 'pending') return 0;
    try {
      const approvers = await this.whoToNotify(row);
      const at = this.now().getTime();
      let scheduled = 0;
      for (const [i, approverId] of approvers.entries()) {
        const payload: FeedPayload = { requestId: row.id, approverId, conversationId, activityId };
        if (await this.deps.scheduler.schedule({ id: feedJobId(row.id, approverId), kind: FEED_JOB, dueAt: new Date(at + i * FEED_SPACING_MS), payload }))
          scheduled++;
      }
      return scheduled;
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), requestId: row.id }, 'approver notifications not scheduled');
      return 0;
    }
  }

  /** Approvers the card names (never the requester), routed by presence when it is read. */
  private async whoToNotify(row: ApprovalRequestRow): Promise<string[]> {
    const ids = approversExceptRequester(row).slice(0, MAX_NOTIFIED);
    const board = this.deps.presence?.board;
    if (!board || ids.length === 0) return ids;
    const presence = await board.lookup(ids, async () => []);
    if (!presence) return ids;
    return planMentions(
      ids.map((id) => ({ id, name: id })),
      presence,
    ).mention.map((p) => p.id);
  }

  private async run(job: JobRun): Promise<void> {
    const p = job.payload as FeedPayload;
    const log = this.deps.log.child({ requestId: p.requestId, approverId: p.approverId });
    const row = await this.deps.store.requests.get(p.requestId);
    if (row?.status !== 'pending') {
      log.info('approver notification not sent: the request no longer waits');
      return;
    }
    const result = await this.deps.notifier.notify(p.approverId, approvalNotice(row, channelMessageLink(p.conversationId, p.activityId, this.deps.tenantId)));
    if (result !== 'sent') log.info({ result }, 'approver notification not sent: the app cannot reach this approver');
  }
}
