import type { Metrics } from '../observability/metrics';
import type { Logger } from 'pino';
import { afterQuietHours, inQuietHours, nextStep, PIM_WINDOW_MS, type LadderStep, type QuietHours } from '../approvals/reminder-ladder';
import { earlyEscalationDue, nextPresenceCheck, planMentions, reachText, type MentionPlan } from '../approvals/presence-routing';
import { effectiveRule, type DecisionPolicy } from '../decision/policy';
import type { JobRun, JobScheduler } from './scheduler';
import type { ChannelTarget } from '../config/config';
import type { Directory } from '../graph/directory';
import type { ApprovalRequestRow, Store, Tx } from '../store/store';
import { BOT_ACTOR, reminderEntry, requestClosedEntry } from '../audit/entries';
import { closingEvent } from '../approvals/request-lifecycle';
import { escalationOpen, parseDisplay, refOf } from '../approvals/request-display';
import { formatDuration } from '../text/format-time';
import type { CardDelivery } from './card-delivery';
import { errInfo } from '../observability/err-info';
import { escapeXml } from '../teams/chat-notifier';
import type { PresenceBoard } from './presence-board';

export const LADDER_JOB = 'ladder';
/** A requester may ask for a reminder this often per request. */
export const REQUESTER_REMINDER_INTERVAL_MS = 30 * 60_000;
/** PIM's status is read again this long after the 24 hours if it still says pending (clock skew). */
const EXPIRY_RECHECK_MS = 5 * 60_000;
const OPEN = new Set(['pending', 'recording']);
/** Requests due this soon are counted as due when a ladder job reads presence for its pass. */
const PRESENCE_LOOKAHEAD_MS = 30_000;

/** PRESENCE_ROUTING on: the approvers' Teams presence orders mentions and can bring the escalation forward. */
export interface PresenceRouting {
  board: PresenceBoard;
  /** PRESENCE_EARLY_ESCALATION_AFTER: how long no approver may be reachable before the request escalates. */
  earlyEscalationAfterMs: number;
}

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
      delivery: Pick<CardDelivery, 'refreshCopies' | 'notifyRequester' | 'tellRequester' | 'targetsFor' | 'enqueueCard' | 'replyUnderCards'>;
      scheduler: JobScheduler;
      channels: Record<string, ChannelTarget>;
      policy: DecisionPolicy;
      log: Logger;
      now?: () => Date;
      /** Null or absent: nudges and escalations ignore presence. */
      presence?: PresenceRouting | null;
      metrics?: Pick<Metrics, 'nudge'>;
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
    const row = await this.deps.store.requests.get(requestId);
    if (row) await this.startFor(row);
  }

  /** Starts the ladder of `row` as read; with `tx`, its job commits with the card post that started it. */
  async startFor(row: ApprovalRequestRow, tx?: Tx): Promise<void> {
    if (!OPEN.has(row.status) || !row.cards_posted_at) return;
    await this.deps.scheduler.schedule(
      { id: ladderJobId(row.id), kind: LADDER_JOB, dueAt: this.nextRunAt(row, this.now()), payload: { requestId: row.id } },
      tx,
    );
  }

  /** Starts the ladder for every open request with cards and none yet: at start-up, for cards posted before a restart. */
  async startPending(): Promise<void> {
    for (const row of await this.deps.store.requests.waiting()) await this.start(row.id);
  }

  private stepFor(row: ApprovalRequestRow, now: Date): LadderStep {
    const rule = effectiveRule(this.deps.policy, roleKeyOfRow(row));
    return nextStep(
      new Date(row.created_at),
      { nudges: row.nudge_count, escalated: !!row.escalated_at, escalatedEarly: !!row.escalated_early },
      rule.reminders,
      this.quiet(),
      now,
    );
  }

  /** When presence must next be looked at for early escalation; null once escalated or without presence routing. */
  private presenceCheckAt(row: ApprovalRequestRow): Date | null {
    const p = this.deps.presence;
    if (!p || row.escalated_at) return null;
    return nextPresenceCheck(new Date(row.created_at), row.approvers_reachable_at ? new Date(row.approvers_reachable_at) : null, p.earlyEscalationAfterMs);
  }

  /** The ladder's next run: its next step, or the next presence check if sooner (never in the past but for `retryAt`). */
  private nextRunAt(row: ApprovalRequestRow, now: Date, retryCheckAt?: Date): Date {
    const step = this.stepFor(row, now).at;
    let check = this.presenceCheckAt(row);
    if (check && check.getTime() <= now.getTime()) check = retryCheckAt ?? new Date(now.getTime() + this.deps.presence!.earlyEscalationAfterMs);
    return check && check.getTime() < step.getTime() ? check : step;
  }

  /** Quiet hours hold early escalations as they hold nudges, unless the role is urgent. */
  private quietFor(row: ApprovalRequestRow, now: Date): QuietHours | null {
    const q = this.quiet();
    if (!q || effectiveRule(this.deps.policy, roleKeyOfRow(row)).reminders.urgent) return null;
    return inQuietHours(now, q) ? q : null;
  }

  private async run(job: JobRun, now: Date): Promise<{ rescheduleAt: Date } | undefined> {
    const requestId = (job.payload as { requestId?: string } | null)?.requestId ?? job.id.slice(LADDER_JOB.length + 1);
    let row = await this.deps.store.requests.get(requestId);
    if (!row || !OPEN.has(row.status)) return; // decided, expired or cancelled: the ladder ends here
    const step = this.stepFor(row, now);
    const checkAt = this.presenceCheckAt(row);
    const stepDue = step.at.getTime() <= now.getTime();
    const checkDue = !!checkAt && checkAt.getTime() <= now.getTime();
    if (!stepDue && !checkDue) return { rescheduleAt: this.nextRunAt(row, now) };
    const log = this.deps.log.child({ requestId: row.id, pimRequestId: row.pim_request_id, step: stepDue ? step.kind : 'presence' });
    // Presence orders the mentions of what is due and tells whether an approver is there at all.
    const plan = (stepDue && step.kind !== 'expire') || checkDue ? await this.plan(row, now) : null;
    let retryCheckAt: Date | undefined;
    if (plan?.anyReachable) {
      await this.deps.store.requests.recordApproversReachable(row.id, now.toISOString());
    } else if (
      plan &&
      checkDue &&
      earlyEscalationDue({
        createdAt: new Date(row.created_at),
        lastReachableAt: row.approvers_reachable_at ? new Date(row.approvers_reachable_at) : null,
        anyReachableNow: false,
        afterMs: this.deps.presence!.earlyEscalationAfterMs,
        now,
      })
    ) {
      const quiet = this.quietFor(row, now);
      if (quiet) {
        retryCheckAt = afterQuietHours(now, quiet);
      } else if (await this.escalateEarly(row, now, plan, stepDue && step.kind === 'nudge' ? step.index + 1 : undefined)) {
        log.info({ away: plan.named.length }, 'request escalated early: no approver reachable');
        this.deps.metrics?.nudge('escalation');
        row = (await this.deps.store.requests.get(requestId))!;
        return { rescheduleAt: this.nextRunAt(row, now) };
      } else {
        row = (await this.deps.store.requests.get(requestId))!; // escalated meanwhile by another runner
        if (!OPEN.has(row.status)) return;
      }
    }
    if (!stepDue) return { rescheduleAt: this.nextRunAt(row, now, retryCheckAt) };
    switch (step.kind) {
      case 'nudge':
        await this.nudge(row, `Still waiting for a decision (${ageText(row, now)}).`, `nudge:${row.id}:${step.index + 1}`, undefined, plan);
        await this.deps.store.requests.recordLadder(
          row.id,
          { nudge_count: step.index + 1 },
          reminderEntry(row, 'nudge', { actor: BOT_ACTOR, trigger: 'ladder', index: step.index + 1 }, now),
        );
        log.info({ nudge: step.index + 1 }, 'approvers nudged');
        this.deps.metrics?.nudge('nudge');
        break;
      case 'escalate':
        await this.escalate(row, now, { plan });
        await this.deps.store.requests.recordLadder(
          row.id,
          { escalated_at: now.toISOString() },
          reminderEntry(
            row,
            'escalation',
            { actor: BOT_ACTOR, trigger: 'ladder', escalatedTo: effectiveRule(this.deps.policy, roleKeyOfRow(row)).reminders.escalateTo ?? null },
            now,
          ),
        );
        log.info('request escalated');
        this.deps.metrics?.nudge('escalation');
        break;
      case 'expire': {
        const closed = await this.closeIfDropped(row, now);
        if (!closed) return { rescheduleAt: new Date(now.getTime() + EXPIRY_RECHECK_MS) };
        return;
      }
    }
    row = (await this.deps.store.requests.get(requestId))!;
    return { rescheduleAt: this.nextRunAt(row, now, retryCheckAt) };
  }

  /** Mentions ordered by presence; null without presence routing or when presence cannot be read (the ladder then runs as without it). */
  private async plan(row: ApprovalRequestRow, now: Date): Promise<MentionPlan | null> {
    const p = this.deps.presence;
    if (!p) return null;
    const people = await this.approversToMention(row);
    if (people.length === 0) return null;
    const presence = await p.board.lookup(
      people.map((m) => m.id),
      () => this.dueApproverIds(now),
    );
    return presence ? planMentions(people, presence) : null;
  }

  /** Approvers of every request whose ladder runs in this pass (or within moments): read in the same presence call. */
  private async dueApproverIds(now: Date): Promise<string[]> {
    const horizon = now.getTime() + PRESENCE_LOOKAHEAD_MS;
    const ids = new Set<string>();
    for (const r of await this.deps.store.requests.waiting()) {
      if (!r.cards_posted_at || this.nextRunAt(r, now).getTime() > horizon) continue;
      for (const id of parseDisplay(r).approverIds) if (id.toLowerCase() !== r.principal_id.toLowerCase()) ids.add(id.toLowerCase());
    }
    return [...ids];
  }

  /**
   * No approver reachable for the configured time: the escalation now, once. The claim (a compare-and-swap
   * on the request) comes first, so a second replica or a retry never sends it twice; if sending fails the
   * claim is given back and the job's retry sends it.
   */
  private async escalateEarly(row: ApprovalRequestRow, now: Date, plan: MentionPlan, nudgesDone: number | undefined): Promise<boolean> {
    const at = now.toISOString();
    if (!(await this.deps.store.requests.claimEarlyEscalation(row.id, at))) return false;
    try {
      await this.escalate(row, now, { plan, early: true });
      // Sent: a failed (already retried) audit append is logged, never a reason to send the escalation again.
      await this.deps.store.audit
        .record(
          reminderEntry(
            row,
            'escalation',
            { actor: BOT_ACTOR, trigger: 'presence', escalatedTo: effectiveRule(this.deps.policy, roleKeyOfRow(row)).reminders.escalateTo ?? null },
            now,
          ),
        )
        .catch((err: unknown) =>
          this.deps.log.error({ err: errInfo(err), requestId: row.id }, 'audit: the early escalation was sent but could not be recorded'),
        );
      // The escalation's message in the thread stands for the nudge that was due with it.
      if (nudgesDone !== undefined) await this.deps.store.requests.recordLadder(row.id, { nudge_count: nudgesDone });
    } catch (err) {
      await this.deps.store.requests.releaseEarlyEscalation(row.id, at).catch(() => undefined);
      throw err;
    }
    return true;
  }

  /** People who can still decide: PIM's approvers for the role, without the requester. */
  private async approversToMention(row: ApprovalRequestRow): Promise<Array<{ id: string; name: string }>> {
    return this.people(row, parseDisplay(row).approverIds);
  }

  /** Users by object id (at most 10, never the requester), named from the directory; unknown ids are left out. */
  private async people(row: ApprovalRequestRow, ids: readonly string[]): Promise<Array<{ id: string; name: string }>> {
    const wanted = ids.filter((id) => id.toLowerCase() !== row.principal_id.toLowerCase()).slice(0, 10);
    const people = await Promise.all(
      wanted.map((id) =>
        this.deps.directory
          .user(id)
          .then((u) => ({ id: u.id, name: u.displayName }))
          .catch(() => null),
      ),
    );
    return people.filter((p): p is { id: string; name: string } => !!p);
  }

  /**
   * A reply in the thread of every copy of the card, mentioning the approvers (and `also`); `key` makes it
   * once. With a presence `plan`, the approvers who can act now are mentioned first and those away or out
   * of office are named, not pinged.
   */
  private async nudge(
    row: ApprovalRequestRow,
    lead: string,
    key: string,
    also?: { people: Array<{ id: string; name: string }>; ask: string },
    plan?: MentionPlan | null,
  ): Promise<void> {
    const display = parseDisplay(row);
    const mentions = plan ? plan.mention : await this.approversToMention(row);
    const tags = (list: Array<{ name: string }>) => list.map((m) => `<at>${escapeXml(m.name)}</at>`).join(', ');
    const who = tags(mentions);
    const extra = also?.people.length ? ` ${tags(also.people)}: ${escapeXml(also.ask)}` : '';
    const named = plan?.named.length ? ` Not mentioned: ${plan.named.map((n) => `${escapeXml(n.name)} (${reachText(n)})`).join(', ')}.` : '';
    const text = `${escapeXml(lead)} ${escapeXml(display.requester.displayName)} asks for ${escapeXml(display.roleDisplayName)}. ${who ? `${who}: please approve or deny on the card above.` : 'Approvers: please decide on the card above.'}${named}${extra} ${dropsText(row, this.now())}`;
    await this.deps.delivery.replyUnderCards(row, text, [...mentions, ...(also?.people ?? [])], key);
  }

  /**
   * Late in PIM's window: a copy of the card in the role's escalation channel (if configured), a nudge that
   * also mentions the escalation approvers PIM's policy names for the role (if any), and the requester told
   * who can still approve. Escalation approvers are asked to chase a decision, and told they can decide on the
   * card themselves once PIM's escalation time has passed (before it, deciding takes an approver, as PIM checks).
   */
  private async escalate(row: ApprovalRequestRow, now: Date, how: { plan?: MentionPlan | null; early?: boolean } = {}): Promise<void> {
    const rule = effectiveRule(this.deps.policy, roleKeyOfRow(row));
    const target = rule.reminders.escalateTo ? this.deps.channels[rule.reminders.escalateTo] : undefined;
    const posted = new Set((await this.deps.store.cardCopies.of(row.id)).map((p) => p.conversation_id));
    const unreachable = how.early
      ? `no approver has been available for ${durationText(now.getTime() - Date.parse(row.approvers_reachable_at ?? row.created_at))}`
      : '';
    if (target && !posted.has(target.conversationId)) {
      // A copy of the card in the escalation channel: it is updated with every other copy from now on.
      await this.deps.delivery.enqueueCard(
        row,
        target,
        how.early ? `Escalated early: ${unreachable} (away or out of office).` : "Escalated: this request has waited most of PIM's 24 hours.",
      );
    }
    const display = parseDisplay(row);
    const approverIds = new Set(display.approverIds.map((id) => id.toLowerCase()));
    const contacts = await this.people(
      row,
      (display.escalationApproverIds ?? []).filter((id) => !approverIds.has(id.toLowerCase())),
    );
    await this.nudge(
      row,
      how.early ? `Escalated early: ${unreachable}.` : `Escalation: no decision after ${ageText(row, now)}.`,
      `escalate:${row.id}`,
      {
        people: contacts,
        ask: how.early
          ? "you are this role's escalation contacts in PIM: no approver is available, please find one who can decide."
          : escalationOpen(display.escalationTimeInMinutes, row.created_at, now)
            ? "you are this role's escalation contacts in PIM: PIM's escalation time has passed, so you can decide on the card above yourself, or make sure an approver decides in time."
            : "you are this role's escalation contacts in PIM: please make sure an approver decides in time.",
      },
      how.plan,
    );
    if (await this.deps.store.conversations.get(row.principal_id)) {
      const names = (await this.approversToMention(row)).map((m) => m.name);
      const where = [target ? rule.reminders.escalateTo : '', contacts.length ? contacts.map((c) => c.name).join(', ') : ''].filter(Boolean).join(' and to ');
      const why = how.early ? `is still waiting and ${unreachable}, so I escalated it early` : `is still waiting after ${ageText(row, now)}. I escalated it`;
      const text = `Your request for ${display.roleDisplayName} ${why}${where ? ` to ${where}` : ''}. ${names.length ? `These people can still approve: ${names.join(', ')}.` : ''} PIM drops it in ${durationText(new Date(row.created_at).getTime() + PIM_WINDOW_MS - now.getTime())}.`;
      // Through the outbox, once per request: a retry of this job, or the other replica, queues nothing new.
      await this.deps.delivery
        .tellRequester(row, 'escalated', { type: 'text', text })
        .catch((err: unknown) => this.deps.log.warn({ err: errInfo(err), requestId: row.id }, 'telling the requester about the escalation failed'));
    }
  }

  /** At PIM's 24 hours: if PIM says the request is closed, close it here, mark every card EXPIRED and offer the requester a re-request. */
  private async closeIfDropped(row: ApprovalRequestRow, now: Date): Promise<boolean> {
    const status = await this.deps.directory.requestStatus(refOf(row));
    if (status === 'PendingApproval' || status === 'PendingEvaluation') return false;
    const expired = status === 'TimedOut' || status === 'Expired';
    const closedStatus = expired ? 'expired' : status === 'Canceled' ? 'cancelled' : status === 'Denied' ? 'denied' : 'approved';
    const updated = await this.deps.store.requests.transition(
      row,
      closingEvent(closedStatus),
      {
        decided_by_name: 'PIM',
        decided_at: now.toISOString(),
        decision_justification: expired ? "No approver decided within PIM's 24 hours." : `Closed in PIM (${status})`,
      },
      [requestClosedEntry(row, { status: closedStatus, source: 'ladder', pimStatus: status }, now)],
    );
    if (!updated) return true; // someone else closed it meanwhile
    await this.deps.delivery
      .refreshCopies(row.id)
      .catch((err: unknown) => this.deps.log.warn({ err: errInfo(err), requestId: row.id }, 'cards not updated; the sweep retries'));
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
      // Said relative to now: one clock for every reader, whatever their zone (the card and the chat have no zone here).
      const since = now.getTime() - last;
      return `The approvers were reminded ${since < 60_000 ? 'just now' : `${durationText(since)} ago`}; you can ask again in ${durationText(next.getTime() - now.getTime())}.`;
    }
    // Claim the reminder first, so two quick taps send one.
    const claimed = await this.deps.store.requests.claimRequesterReminder(row.id, row.requester_reminded_at, now.toISOString());
    if (!claimed) return 'The approvers were just reminded.';
    const plan = await this.plan(row, now);
    await this.nudge(
      row,
      `${parseDisplay(row).requester.displayName} is still waiting and asked me to remind you (requested ${agoText(row, now)}).`,
      `remind:${row.id}:${now.toISOString()}`,
      undefined,
      plan,
    );
    this.deps.metrics?.nudge('requester_reminder');
    // No state change of ours to share a transaction with (the reminder claim came first): a standalone, retried append.
    await this.deps.store.audit
      .record(reminderEntry(row, 'nudge', { actor: requesterId.toLowerCase(), trigger: 'requester' }, now))
      .catch((err: unknown) => this.deps.log.error({ err: errInfo(err), requestId: row.id }, 'audit: the reminder was sent but could not be recorded'));
    const names = (plan ? plan.mention : await this.approversToMention(row)).map((m) => m.name);
    return `I reminded ${names.length ? names.join(', ') : 'the approvers'} in the approvers' channel.`;
  }
}

function ageText(row: ApprovalRequestRow, now: Date): string {
  return durationText(now.getTime() - Date.parse(row.created_at));
}

/** "just now" under a minute (a reminder asked for at once must not read "0 min"), else "12 min ago". */
function agoText(row: ApprovalRequestRow, now: Date): string {
  const ms = now.getTime() - Date.parse(row.created_at);
  return ms < 60_000 ? 'just now' : `${durationText(ms)} ago`;
}

function durationText(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * When PIM drops the request, for a channel reply many people read: as time left from now (the reply is read as
 * it arrives, it mentions its readers), since one clock time would be in one zone for everyone; the card above
 * it shows the moment in each reader's own zone.
 */
export function dropsText(row: Pick<ApprovalRequestRow, 'created_at'>, now: Date): string {
  const leftMinutes = Math.floor((new Date(row.created_at).getTime() + PIM_WINDOW_MS - now.getTime()) / 60_000);
  return leftMinutes > 0 ? `PIM drops the request in ${formatDuration(leftMinutes)} (the card shows when).` : 'PIM drops the request now.';
}
