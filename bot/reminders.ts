import type { Logger } from 'pino';
import { nextStep, PIM_WINDOW_MS, type LadderStep, type QuietHours } from '../services/approvals/reminder-ladder';
import { effectiveRule, type DecisionPolicy } from '../services/decision/policy';
import type { JobRun, JobScheduler } from '../services/jobs/scheduler';
import type { ChannelTarget } from '../services/config/config';
import type { Directory } from '../services/graph/directory';
import type { ApprovalRequestRow, Store } from '../services/store/store';
import { parseDisplay, refOf, utcText } from './approval-view';
import type { CardDelivery } from './card-delivery';
import { errInfo } from './card-delivery';
import type { ChatNotifier } from './chat-notifier';
import { escapeXml } from './chat-notifier';

export const LADDER_JOB = 'ladder';
/** A requester may ask for a reminder this often per request. */
export const REQUESTER_REMINDER_INTERVAL_MS = 30 * 60_000;
/** PIM's status is read again this long after the 24 hours if it still says pending (clock skew). */
const EXPIRY_RECHECK_MS = 5 * 60_000;
const OPEN = new Set(['pending', 'recording']);

export function ladderJobId(requestId: string): string {
  return `${LADDER_JOB}:${requestId}`;
}

function roleKeyOfRow(row: ApprovalRequestRow): string {
  if (row.kind === 'group') return `group:${row.scope}`;
  if (row.kind === 'azureResource') return `azure:${row.role_definition_id.split('/').pop()!.toLowerCase()}`;
  return row.role_definition_id;
}

/**
 * The stale-request ladder: nudges in the card's thread that @mention the approvers who can still act,
 * an escalation late in PIM's 24 hours (to the role's escalation channel, and the requester is told who
 * can still approve), and the close when PIM drops the request. One durable job per request; each run
 * reloads the request, so a decision taken anywhere stops the ladder at once.
 */
export class ReminderLadder {
  constructor(
    private readonly deps: {
      store: Store;
      directory: Pick<Directory, 'user' | 'requestStatus'>;
      notifier: ChatNotifier;
      delivery: Pick<CardDelivery, 'refreshCopies' | 'notifyRequester' | 'targetsFor' | 'enqueueCard' | 'replyUnderCards'>;
      scheduler: JobScheduler;
      channels: Record<string, ChannelTarget>;
      policy: DecisionPolicy;
      log: Logger;
      now?: () => Date;
    },
  ) {
    deps.scheduler.on(LADDER_JOB, (job, now) => this.run(job, now));
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private quiet(): QuietHours | null {
    return this.deps.policy.quietHours ?? null;
  }

  /** Starts the ladder of one request whose cards are posted (idempotent: the job id is the request's). */
  async start(requestId: string): Promise<void> {
    const row = await this.deps.store.getRequest(requestId);
    if (!row || !OPEN.has(row.status) || !row.cards_posted_at) return;
    const step = this.stepFor(row, this.now());
    await this.deps.scheduler.schedule({ id: ladderJobId(row.id), kind: LADDER_JOB, dueAt: step.at, payload: { requestId: row.id } });
  }

  /** Starts the ladder for every open request with cards and none yet: at start-up, for cards posted before a restart. */
  async startPending(): Promise<void> {
    for (const row of await this.deps.store.pendingApprovals()) await this.start(row.id);
  }

  private stepFor(row: ApprovalRequestRow, now: Date): LadderStep {
    const rule = effectiveRule(this.deps.policy, roleKeyOfRow(row));
    return nextStep(new Date(row.created_at), { nudges: row.nudge_count, escalated: !!row.escalated_at }, rule.reminders, this.quiet(), now);
  }

  private async run(job: JobRun, now: Date): Promise<void | { rescheduleAt: Date }> {
    const requestId = (job.payload as { requestId?: string } | null)?.requestId ?? job.id.slice(LADDER_JOB.length + 1);
    let row = await this.deps.store.getRequest(requestId);
    if (!row || !OPEN.has(row.status)) return; // decided, expired or cancelled: the ladder ends here
    const step = this.stepFor(row, now);
    if (step.at.getTime() > now.getTime()) return { rescheduleAt: step.at };
    const log = this.deps.log.child({ requestId: row.id, pimRequestId: row.pim_request_id, step: step.kind });
    switch (step.kind) {
      case 'nudge':
        await this.nudge(row, `Still waiting for a decision (${ageText(row, now)}).`, `nudge:${row.id}:${step.index + 1}`);
        await this.deps.store.recordLadder(row.id, { nudge_count: step.index + 1 });
        log.info({ nudge: step.index + 1 }, 'approvers nudged');
        break;
      case 'escalate':
        await this.escalate(row, now);
        await this.deps.store.recordLadder(row.id, { escalated_at: now.toISOString() });
        log.info('request escalated');
        break;
      case 'expire': {
        const closed = await this.closeIfDropped(row, now);
        if (!closed) return { rescheduleAt: new Date(now.getTime() + EXPIRY_RECHECK_MS) };
        return;
      }
    }
    row = (await this.deps.store.getRequest(requestId))!;
    return { rescheduleAt: this.stepFor(row, now).at };
  }

  /** People who can still decide: PIM's approvers for the role, without the requester. */
  private async approversToMention(row: ApprovalRequestRow): Promise<Array<{ id: string; name: string }>> {
    return this.people(row, parseDisplay(row).approverIds);
  }

  /** Users by object id (at most 10, never the requester), named from the directory; unknown ids are left out. */
  private async people(row: ApprovalRequestRow, ids: readonly string[]): Promise<Array<{ id: string; name: string }>> {
    const wanted = ids.filter((id) => id.toLowerCase() !== row.principal_id.toLowerCase()).slice(0, 10);
    const people = await Promise.all(wanted.map((id) => this.deps.directory.user(id).then((u) => ({ id: u.id, name: u.displayName })).catch(() => null)));
    return people.filter((p): p is { id: string; name: string } => !!p);
  }

  /** A reply in the thread of every copy of the card, mentioning the approvers (and `also`); `key` makes it once. */
  private async nudge(row: ApprovalRequestRow, lead: string, key: string, also?: { people: Array<{ id: string; name: string }>; ask: string }): Promise<void> {
    const display = parseDisplay(row);
    const mentions = await this.approversToMention(row);
    const tags = (list: Array<{ name: string }>) => list.map((m) => `<at>${escapeXml(m.name)}</at>`).join(', ');
    const who = tags(mentions);
    const extra = also?.people.length ? ` ${tags(also.people)}: ${escapeXml(also.ask)}` : '';
    const text = `${escapeXml(lead)} ${escapeXml(display.requester.displayName)} asks for ${escapeXml(display.roleDisplayName)}. ${who ? `${who}: please approve or deny on the card above.` : 'Approvers: please decide on the card above.'}${extra} PIM drops the request at ${utcText(new Date(new Date(row.created_at).getTime() + PIM_WINDOW_MS))}.`;
    await this.deps.delivery.replyUnderCards(row, text, [...mentions, ...(also?.people ?? [])], key);
  }

  /**
   * Late in PIM's window: a copy of the card in the role's escalation channel (if configured), a nudge that
   * also mentions the escalation approvers PIM's policy names for the role (if any), and the requester told
   * who can still approve. Escalation approvers are asked to chase a decision: deciding still takes an
   * approver, as PIM checks.
   */
  private async escalate(row: ApprovalRequestRow, now: Date): Promise<void> {
    const rule = effectiveRule(this.deps.policy, roleKeyOfRow(row));
    const target = rule.reminders.escalateTo ? this.deps.channels[rule.reminders.escalateTo] : undefined;
    const posted = new Set((await this.deps.store.cardPosts(row.id)).map((p) => p.conversation_id));
    if (target && !posted.has(target.conversationId)) {
      // A copy of the card in the escalation channel: it is updated with every other copy from now on.
      await this.deps.delivery.enqueueCard(row, target, "Escalated: this request has waited most of PIM's 24 hours.");
    }
    const display = parseDisplay(row);
    const approverIds = new Set(display.approverIds.map((id) => id.toLowerCase()));
    const contacts = await this.people(row, (display.escalationApproverIds ?? []).filter((id) => !approverIds.has(id.toLowerCase())));
    await this.nudge(row, `Escalation: no decision after ${ageText(row, now)}.`, `escalate:${row.id}`, {
      people: contacts,
      ask: "you are this role's escalation contacts in PIM: please make sure an approver decides in time.",
    });
    const reference = await this.deps.store.conversationRef(row.principal_id);
    if (reference) {
      const names = (await this.approversToMention(row)).map((m) => m.name);
      const where = [target ? rule.reminders.escalateTo : '', contacts.length ? contacts.map((c) => c.name).join(', ') : ''].filter(Boolean).join(' and to ');
      await this.deps.notifier
        .sendText(reference as object, `Your request for ${display.roleDisplayName} is still waiting after ${ageText(row, now)}. I escalated it${where ? ` to ${where}` : ''}. ${names.length ? `These people can still approve: ${names.join(', ')}.` : ''} PIM drops it at ${utcText(new Date(new Date(row.created_at).getTime() + PIM_WINDOW_MS))}.`)
        .catch((err: unknown) => this.deps.log.warn({ err: errInfo(err), requestId: row.id }, 'telling the requester about the escalation failed'));
    }
  }

  /** At PIM's 24 hours: if PIM says the request is closed, close it here, mark every card EXPIRED and offer the requester a re-request. */
  private async closeIfDropped(row: ApprovalRequestRow, now: Date): Promise<boolean> {
    const status = await this.deps.directory.requestStatus(refOf(row));
    if (status === 'PendingApproval' || status === 'PendingEvaluation') return false;
    const expired = status === 'TimedOut' || status === 'Expired';
    const updated = await this.deps.store.updateRequestIfVersion(row.id, row.version, {
      status: expired ? 'expired' : status === 'Canceled' ? 'cancelled' : status === 'Denied' ? 'denied' : 'approved',
      decided_by_name: 'PIM',
      decided_at: now.toISOString(),
      decision_justification: expired ? 'No approver decided within PIM\'s 24 hours.' : `Closed in PIM (${status})`,
    });
    if (!updated) return true; // someone else closed it meanwhile
    await this.deps.delivery.refreshCopies(row.id).catch((err: unknown) => this.deps.log.warn({ err: errInfo(err), requestId: row.id }, 'cards not updated; the sweep retries'));
    if (expired) await this.deps.delivery.notifyRequester(row.id, { outcome: 'expired' }).catch(() => false);
    return true;
  }

  /**
   * The requester asks for a reminder: a nudge now, at most once per REQUESTER_REMINDER_INTERVAL_MS. Returns
   * what to tell them.
   */
  async remindNow(row: ApprovalRequestRow, requesterId: string): Promise<string> {
    if (row.principal_id.toLowerCase() !== requesterId.toLowerCase()) return 'Only the person who made the request can ask for a reminder.';
    if (!OPEN.has(row.status)) return 'This request is no longer waiting, so there is no one to remind.';
    const now = this.now();
    const last = row.requester_reminded_at ? Date.parse(row.requester_reminded_at) : 0;
    if (now.getTime() - last < REQUESTER_REMINDER_INTERVAL_MS) {
      const next = new Date(last + REQUESTER_REMINDER_INTERVAL_MS);
      return `The approvers were reminded at ${utcText(new Date(last))}; you can ask again from ${utcText(next)}.`;
    }
    // Claim the reminder first, so two quick taps send one.
    const claimed = await this.deps.store.claimRequesterReminder(row.id, row.requester_reminded_at, now.toISOString());
    if (!claimed) return 'The approvers were just reminded.';
    await this.nudge(row, `${parseDisplay(row).requester.displayName} is still waiting and asked me to remind you (${ageText(row, now)}).`, `remind:${row.id}:${now.toISOString()}`);
    const names = (await this.approversToMention(row)).map((m) => m.name);
    return `I reminded ${names.length ? names.join(', ') : 'the approvers'} in the approvers' channel.`;
  }
}

function ageText(row: ApprovalRequestRow, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(row.created_at)) / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
