import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HistoryEntry } from '../approvals/requester-history';
import type { AuditEntry } from '../audit/audit-trail';
import type { ChannelTarget } from '../config/config';
import type { AdminScheduleAction, AdminSchedules } from '../graph/admin-schedules';
import type { PimTarget, UserProfile } from '../graph/directory';
import type { PimAdministrators } from '../graph/pim-admins';
import type { HrSignals, IdentityRiskSignals } from '../integrations/ports';
import { errInfo } from '../observability/err-info';
import type { Outbox } from '../outbox/outbox';
import type { SentItem } from '../outbox/types';
import type { ExtensionAskRow, ExtensionAskStore } from '../store/extension-asks';
import type { ConversationStore } from '../store/conversations';
import { escapeXml } from '../teams/chat-notifier';
import { formatTime } from '../text/format-time';
import { visibleLength } from '../text/plain-text';

const DAY_MS = 86_400_000;
/** The history and checks on a new card are read within this; a slow system leaves "could not be read". */
const SIGNAL_TIMEOUT_MS = 5000;
/** A decision left `recording` this long (the process died mid-call) is checked against PIM and settled. */
const STUCK_AFTER_MS = 2 * 60_000;
/** An extension or renewal nobody names an end for is offered for this long from today (or the current end). */
const DEFAULT_EXTEND_DAYS = 90;
const PURPOSE = 'extension-card';
const OWNERS = 'extension-owners';
const NOTICE = 'extension-notice';

/** What an ask is about: the assignment, whose it is, and what is asked. */
export interface AskTarget extends PimTarget {
  principalId: string;
  assignment: 'eligible' | 'active';
}

/** A selfExtend or selfRenew PIM holds, waiting for an administrator (read with the bot's own identity). */
export interface PendingExtensionRequest extends AskTarget {
  pimRequestId: string;
  action: 'extend' | 'renew';
  reason: string | null;
  requestedEnd: string | null;
  createdAt: string;
}

/** Port: PIM's extension and renewal requests and the assignments they are about (app-only reads). */
export interface ExtensionReads {
  /**
   * Every selfExtend and selfRenew PIM holds as PendingAdminDecision. Rejects when Graph cannot be read; an Azure
   * scope that cannot be read is left out of this sweep (its open asks stay as they are).
   */
  pending(): Promise<PendingExtensionRequest[]>;
  /** PIM's status of one of them now; null when PIM no longer has it. */
  status(ask: Pick<AskTarget, 'kind' | 'scope' | 'assignment'> & { pimRequestId: string }): Promise<string | null>;
  /** When the assignment ends now: an ISO time, null when it does not end, undefined when PIM does not list it (ended). */
  currentEnd(target: AskTarget): Promise<string | null | undefined>;
}

/** What the card shows beyond the columns, as stored (JSON in `display`). */
export interface AskDisplay {
  requester: string;
  requesterName: string;
  target: string;
  scope: string | null;
  activations90d: { count: number; lastAt: string | null } | null;
  hr: { status: 'pass' | 'fail' | 'unknown'; detail: string } | null;
  risk: { status: 'pass' | 'fail' | 'unknown'; detail: string } | null;
  whoCan: string;
}

/** The card for an ask in its state, with a line for the viewer (services never import cards: injected). */
export type ExtensionCardRenderer = (row: ExtensionAskRow, display: AskDisplay, now: Date, message?: string) => object;

export interface ExtensionDeskDeps {
  asks: ExtensionAskStore;
  conversations: Pick<ConversationStore, 'get'>;
  audit: { record(entry: AuditEntry): Promise<unknown> };
  reads: ExtensionReads;
  directory: { user(id: string): Promise<UserProfile>; roleDisplayName(target: PimTarget): Promise<string>; groupOwners(groupId: string): Promise<string[]> };
  admins: PimAdministrators;
  history: { entries(t: { kind: string; principalId: string; roleDefinitionId: string; scope: string }, signal?: AbortSignal): Promise<HistoryEntry[]> } | null;
  hr: HrSignals | null;
  identityRisk?: IdentityRiskSignals;
  outbox: Outbox;
  render: ExtensionCardRenderer;
  adminChannel: ChannelTarget | null;
  /** The requester's own time zone, for the message that tells them. */
  zoneOf?: (userId: string) => Promise<string>;
  /** Shortest note an administrator decides with (the approval cards' justification minimum). */
  minNote: number;
  /** Takes or renews this replica's lease on the sweep for `ms`; false: another replica holds it. Absent: always swept here. */
  lease?: (ms: number) => Promise<boolean>;
  log: Logger;
  now?: () => Date;
}

/** The administrator who clicked, as their token proves them. */
export interface DecidingAdmin {
  id: string;
  name: string;
}

export type DecideOutcome =
  /** Nothing changed: `message` says why (not an administrator, the requester, a bad date, …). */
  | { kind: 'refused'; row: ExtensionAskRow; message: string }
  | { kind: 'unknownAsk' }
  /** Decided now (or, when `message` says so, already decided by someone else). */
  | { kind: 'shown'; row: ExtensionAskRow; message?: string }
  /** PIM refused the change: the ask is open again and `message` says what PIM said. */
  | { kind: 'pimRefused'; row: ExtensionAskRow; message: string };

/**
 * Extension and renewal asks, end to end and Teams-free: finds the selfExtend/selfRenew requests PIM holds
 * (and takes the asks PIM has no self-service for, a group's), posts one card per ask in the admin channel
 * through the outbox, and records an administrator's decision in PIM as that administrator.
 *
 * Who may decide is read from PIM's own rules at the click (PimAdministrators), never from the card; the
 * requester may not decide their own ask. A decision is claimed (open → recording) before PIM is called, so two
 * clicks make one call; a call whose answer was lost is settled by reading the assignment's end back.
 */
export class ExtensionDesk {
  constructor(private readonly deps: ExtensionDeskDeps) {
    deps.outbox.onSent((item) => this.onSent(item));
  }

  private timer: ReturnType<typeof setInterval> | undefined;

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * Sweeps every `intervalMs` until `stop`, one sweep at a time; with several replicas, the one holding the lease
   * reads PIM for all. A failed sweep is logged and the next one tries again.
   */
  start(intervalMs: number): void {
    this.stop();
    let running = false;
    this.timer = setInterval(() => {
      if (running) return;
      running = true;
      void (async () => {
        // Held for two intervals: a live holder renews it every tick, a dead one's passes to another replica.
        if (this.deps.lease && !(await this.deps.lease(2 * intervalMs))) return;
        await this.sweep();
      })()
        .catch((err: unknown) => this.deps.log.warn({ err: errInfo(err) }, 'extension sweep failed'))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Finds new asks in PIM, closes withdrawn ones, settles stuck decisions and sends cards that are behind. */
  async sweep(): Promise<void> {
    await this.discover().catch((err: unknown) => this.deps.log.warn({ err: errInfo(err) }, 'extension requests could not be read from PIM; next sweep'));
    await this.settleStuck().catch((err: unknown) => this.deps.log.warn({ err: errInfo(err) }, 'settling extension decisions failed; next sweep'));
    await this.deliverAll();
  }

  /** New selfExtend/selfRenew requests become asks; an open ask whose request PIM closed (cancelled) is withdrawn. */
  async discover(): Promise<number> {
    const pending = await this.deps.reads.pending();
    const known = await this.deps.asks.knownPimIds(pending.map((p) => p.pimRequestId));
    let added = 0;
    for (const p of pending) {
      if (known.has(p.pimRequestId)) continue;
      if (await this.insert(p, 'pim', `pim:${p.pimRequestId}`, p.pimRequestId, await this.endNow(p))) added++;
    }
    const stillPending = new Set(pending.map((p) => p.pimRequestId));
    for (const row of await this.deps.asks.inStatus(['open'])) {
      if (row.source !== 'pim' || !row.pim_request_id || stillPending.has(row.pim_request_id)) continue;
      const status = await this.deps.reads.status({ ...targetOf(row), pimRequestId: row.pim_request_id }).catch(() => undefined);
      if (status === undefined || status === 'PendingAdminDecision') continue;
      const why =
        status === 'Canceled' || status === null
          ? 'Withdrawn: the requester cancelled the request in PIM.'
          : `Closed in PIM (${status}) outside Teams: nothing to decide here.`;
      const moved = await this.deps.asks.move(row.id, 'open', 'withdrawn', { last_error: why }, this.now());
      if (moved) await this.deliver(moved);
    }
    return added;
  }

  /**
   * A user's ask PIM has no self-service for (PIM for Groups has no selfExtend or selfRenew): an ask with a
   * card, once per assignment, action and end (a second click finds the first). `posted` false when no admin
   * channel is configured.
   */
  async askForUser(
    target: AskTarget,
    ask: { action: 'extend' | 'renew'; currentEnd: string | null; reason: string },
  ): Promise<{ posted: boolean; created: boolean; row: ExtensionAskRow | undefined }> {
    if (!this.deps.adminChannel) return { posted: false, created: false, row: undefined };
    const key = ['user', target.principalId, target.kind, target.roleDefinitionId, target.scope, ask.action, ask.currentEnd ?? 'none'].join('|').toLowerCase();
    const created = await this.insert(
      { ...target, pimRequestId: '', action: ask.action, reason: ask.reason, requestedEnd: null, createdAt: this.now().toISOString() },
      'user',
      key,
      null,
      ask.currentEnd,
    );
    const row = await this.deps.asks.byAskKey(key);
    if (row) await this.deliver(row);
    return { posted: true, created, row };
  }

  private async endNow(t: AskTarget): Promise<string | null> {
    return (await this.deps.reads.currentEnd(t).catch(() => undefined)) ?? null;
  }

  private async insert(p: PendingExtensionRequest, source: string, key: string, pimRequestId: string | null, currentEnd: string | null): Promise<boolean> {
    const now = this.now();
    const display = await this.display(p, now);
    const inserted = await this.deps.asks.insertOnce({
      id: randomUUID(),
      source,
      pim_request_id: pimRequestId,
      ask_key: key,
      kind: p.kind,
      role_definition_id: p.roleDefinitionId,
      scope: p.scope,
      principal_id: p.principalId.toLowerCase(),
      action: p.action,
      assignment: p.assignment,
      current_end: currentEnd,
      requested_end: p.requestedEnd,
      reason: p.reason,
      display: JSON.stringify(display),
      status: 'open',
      version: 1,
      rendered_version: 0,
      activity_id: null,
      claimed_by: null,
      decided_by_id: null,
      decided_by_name: null,
      decided_at: null,
      decision_note: null,
      new_end: null,
      last_error: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    });
    if (inserted) {
      this.deps.log.info({ pimRequestId, kind: p.kind, action: p.action }, 'extension ask recorded');
      await this.audited({
        kind: 'extension.asked',
        actor: p.principalId.toLowerCase(),
        pimRequestId,
        outcome: p.action,
        at: now,
        details: {
          target: { kind: p.kind, roleDefinitionId: p.roleDefinitionId, scope: p.scope, assignment: p.assignment },
          source,
          currentEnd,
          requestedEnd: p.requestedEnd,
        },
      });
    }
    return inserted;
  }

  /** The card's context, each read on its own: a failed read says so on the card and never holds it back. */
  private async display(p: PendingExtensionRequest, now: Date): Promise<AskDisplay> {
    const signal = () => AbortSignal.timeout(SIGNAL_TIMEOUT_MS);
    const [profile, target, history, admins] = await Promise.all([
      this.deps.directory.user(p.principalId).catch(() => null),
      this.deps.directory.roleDisplayName(p).catch(() => p.roleDefinitionId),
      this.deps.history ? this.deps.history.entries({ ...p }, signal()).catch(() => null) : Promise.resolve(null),
      this.deps.admins.of(p).catch(() => null),
    ]);
    const since = now.getTime() - 90 * DAY_MS;
    const used = history?.filter((h) => h.outcome === 'activated' && Date.parse(h.at) >= since).sort((a, b) => b.at.localeCompare(a.at));
    const [hr, risk] = await Promise.all([
      this.deps.hr && profile
        ? this.deps.hr
            .check(
              { id: profile.id, userPrincipalName: profile.userPrincipalName, mail: profile.mail },
              { start: now, end: p.requestedEnd ? new Date(p.requestedEnd) : null },
              signal(),
            )
            .then((f) => ({ status: f.status, detail: f.detail }))
        : Promise.resolve(this.deps.hr ? { status: 'unknown' as const, detail: 'The requester could not be read from the directory.' } : null),
      this.riskToday(p.principalId),
    ]);
    return {
      requester: profile ? `${profile.displayName} (${profile.userPrincipalName})` : p.principalId,
      requesterName: profile?.displayName ?? p.principalId,
      target,
      scope: p.kind === 'azureResource' ? p.scope : null,
      activations90d: used ? { count: used.length, lastAt: used[0]?.at ?? null } : null,
      hr,
      risk,
      whoCan: whoCanText(p.kind, admins?.names ?? null),
    };
  }

  private async riskToday(userId: string): Promise<AskDisplay['risk']> {
    if (!this.deps.identityRisk) return null;
    try {
      const r = await this.deps.identityRisk.userRisk(userId, AbortSignal.timeout(SIGNAL_TIMEOUT_MS));
      const level = r.riskLevel;
      if (level === 'none' || level === 'low') return { status: 'pass', detail: `User risk ${level}` };
      if (level === 'medium' || level === 'high') return { status: 'fail', detail: `User risk ${level} (${r.riskState})` };
      return { status: 'unknown', detail: `User risk not shown (${level})` };
    } catch {
      return { status: 'unknown', detail: 'Microsoft Entra ID Protection could not be read' };
    }
  }

  /**
   * An administrator's Extend (Renew) or Decline. `endDate` (YYYY-MM-DD) is the new end's day; the time of day
   * is the current end's (else the end of the day, UTC). `pim` acts as the administrator (on-behalf-of).
   */
  async decide(
    askId: string,
    admin: DecidingAdmin,
    choice: 'apply' | 'decline',
    input: { endDate: string | null; note: string },
    pim: AdminSchedules,
  ): Promise<DecideOutcome> {
    const row = await this.deps.asks.get(askId);
    if (!row) return { kind: 'unknownAsk' };
    const actor = admin.id.toLowerCase();
    if (row.status !== 'open') return { kind: 'shown', row, message: alreadyText(row) };
    if (actor === row.principal_id) return { kind: 'refused', row, message: 'You cannot decide your own request. Another administrator must.' };
    const note = input.note.trim();
    if (visibleLength(note) < this.deps.minNote)
      return { kind: 'refused', row, message: `Add a note of at least ${this.deps.minNote} characters: it is recorded in PIM with your decision.` };
    let admins: { ids: string[]; names: string[] };
    try {
      admins = await this.deps.admins.of(targetOf(row));
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), askId }, 'extension administrators could not be read');
      return { kind: 'refused', row, message: 'The bot could not read from PIM who may decide this just now, so nothing changed. Try again in a minute.' };
    }
    if (!admins.ids.includes(actor)) {
      this.deps.log.warn({ askId }, 'extension decision by a non-administrator refused');
      return { kind: 'refused', row, message: `Only ${whoCanText(row.kind, admins.names)} can decide this in PIM.` };
    }
    const now = this.now();
    let newEnd: string | null = null;
    if (choice === 'apply') {
      const end = newEndOf(input.endDate, row.current_end);
      if (!end) return { kind: 'refused', row, message: 'Choose the day the assignment should end (a date in the card).' };
      if (Date.parse(end) <= now.getTime()) return { kind: 'refused', row, message: 'The new end must be in the future.' };
      if (row.current_end && Date.parse(end) <= Date.parse(row.current_end))
        return { kind: 'refused', row, message: 'The new end must be later than the current end.' };
      newEnd = end;
    }
    const claimed = await this.deps.asks.move(row.id, 'open', 'recording', { claimed_by: actor, last_error: null }, now);
    if (!claimed) {
      const current = (await this.deps.asks.get(row.id))!;
      return { kind: 'shown', row: current, message: alreadyText(current) };
    }
    if (choice === 'decline') return this.finish(claimed, admin, 'declined', note, null, null);

    const action: AdminScheduleAction = row.action === 'renew' ? 'adminRenew' : 'adminExtend';
    try {
      const r = await pim.apply(targetOf(row), action, newEnd!, note, now);
      return this.finish(claimed, admin, row.action === 'renew' ? 'renewed' : 'extended', note, newEnd, r.pimRequestId);
    } catch (err) {
      // The answer may be lost while PIM made the change: the assignment's end tells.
      if (await this.applied(row, newEnd!)) return this.finish(claimed, admin, row.action === 'renew' ? 'renewed' : 'extended', note, newEnd, null);
      const message = `PIM did not accept it: ${(err as Error).message}`;
      this.deps.log.warn({ err: errInfo(err), askId }, 'extension decision refused by PIM');
      await this.audited(decisionEntry(claimed, actor, 'failed', note, newEnd, null, this.now(), message));
      const reopened = await this.deps.asks.move(row.id, 'recording', 'open', { claimed_by: null, last_error: message }, this.now());
      if (reopened) await this.deliver(reopened);
      return { kind: 'pimRefused', row: reopened ?? claimed, message };
    }
  }

  private async applied(row: ExtensionAskRow, newEnd: string): Promise<boolean> {
    const end = await this.deps.reads.currentEnd(targetOf(row)).catch(() => undefined);
    return typeof end === 'string' && Math.abs(Date.parse(end) - Date.parse(newEnd)) < 60_000;
  }

  private async finish(
    row: ExtensionAskRow,
    admin: DecidingAdmin,
    to: 'extended' | 'renewed' | 'declined',
    note: string,
    newEnd: string | null,
    pimRequestId: string | null,
  ): Promise<DecideOutcome> {
    const at = this.now();
    const done = await this.deps.asks.move(
      row.id,
      'recording',
      to,
      { decided_by_id: admin.id.toLowerCase(), decided_by_name: admin.name, decided_at: at.toISOString(), decision_note: note, new_end: newEnd },
      at,
    );
    const current = done ?? (await this.deps.asks.get(row.id))!;
    await this.audited(decisionEntry(current, admin.id.toLowerCase(), to, note, newEnd, pimRequestId, at));
    if (done) {
      await this.deliver(done);
      await this.tellRequester(done).catch((err: unknown) => this.deps.log.warn({ err: errInfo(err), askId: row.id }, 'requester not told of the decision'));
    }
    return { kind: 'shown', row: current };
  }

  /** Decisions left in `recording` (the process stopped during PIM's call): settled by reading the end back. */
  private async settleStuck(): Promise<void> {
    const now = this.now().getTime();
    for (const row of await this.deps.asks.inStatus(['recording'])) {
      if (now - Date.parse(row.updated_at) < STUCK_AFTER_MS) continue;
      const end = await this.deps.reads.currentEnd(targetOf(row)).catch(() => undefined);
      const movedOn = typeof end === 'string' && (!row.current_end || Date.parse(end) > Date.parse(row.current_end));
      const moved = movedOn
        ? await this.deps.asks.move(
            row.id,
            'recording',
            row.action === 'renew' ? 'renewed' : 'extended',
            {
              decided_by_id: row.claimed_by,
              decided_by_name: null,
              decided_at: new Date(now).toISOString(),
              new_end: end,
              decision_note: null,
            },
            new Date(now),
          )
        : await this.deps.asks.move(
            row.id,
            'recording',
            'open',
            { claimed_by: null, last_error: 'The last decision was not recorded in PIM; decide again.' },
            new Date(now),
          );
      if (moved) {
        await this.audited(
          decisionEntry(moved, row.claimed_by ?? 'bot', movedOn ? `${moved.status}_settled` : 'reopened', null, end ?? null, null, new Date(now)),
        );
        await this.deliver(moved);
        if (movedOn) await this.tellRequester(moved).catch(() => undefined);
      }
    }
  }

  /** Tells the requester in their chat (once per ask: the outbox key), times in their own zone. */
  private async tellRequester(row: ExtensionAskRow): Promise<void> {
    const reference = (await this.deps.conversations.get(row.principal_id)) as { conversation?: { id?: string }; serviceUrl?: string } | undefined;
    const conversationId = reference?.conversation?.id;
    const serviceUrl = reference?.serviceUrl;
    if (!conversationId || !serviceUrl) return;
    const zone = this.deps.zoneOf ? await this.deps.zoneOf(row.principal_id).catch(() => 'UTC') : 'UTC';
    await this.deps.outbox.enqueue({
      conversationId,
      serviceUrl,
      kind: 'post',
      payload: { type: 'text', text: requesterText(row, displayOf(row), zone) },
      dedupeKey: `${NOTICE}:${row.id}`,
      meta: { purpose: NOTICE, askId: row.id, chat: 'personal', userId: row.principal_id },
    });
  }

  async deliverAll(): Promise<void> {
    for (const row of await this.deps.asks.behind()) await this.deliver(row);
  }

  /** Queues the card's post (once) or its rewrite (once per version); onSent records it. Errors are left for the sweep. */
  async deliver(row: ExtensionAskRow): Promise<void> {
    const channel = this.deps.adminChannel;
    if (!channel || row.rendered_version >= row.version) return;
    const card = this.deps.render(row, displayOf(row), this.now());
    const meta = { purpose: PURPOSE, askId: row.id, version: row.version };
    try {
      if (row.activity_id) {
        await this.deps.outbox.enqueue({
          conversationId: channel.conversationId,
          serviceUrl: channel.serviceUrl,
          kind: 'update',
          activityId: row.activity_id,
          payload: { type: 'card', card },
          dedupeKey: `${PURPOSE}:${row.id}:v${row.version}`,
          revision: row.version,
          meta,
        });
        return;
      }
      const key = `${PURPOSE}:${row.id}:post`;
      const queued = await this.deps.outbox.enqueue({
        conversationId: channel.conversationId,
        serviceUrl: channel.serviceUrl,
        kind: 'post',
        payload: { type: 'card', card },
        dedupeKey: key,
        meta,
      });
      if (!queued.created && queued.resultActivityId) {
        // Posted before, its onSent lost (a crash): record it at the version it showed; the next delivery rewrites it.
        const posted = await this.deps.outbox.byDedupeKey(key);
        const version = posted?.meta ? Number((JSON.parse(posted.meta) as { version?: unknown }).version) : Number.NaN;
        await this.deps.asks.markRendered(row.id, Number.isInteger(version) ? version : 1, queued.resultActivityId);
      }
    } catch (err) {
      this.deps.log.warn({ err: errInfo(err), askId: row.id }, 'extension card not queued; the sweep retries');
    }
  }

  private async onSent(item: SentItem): Promise<void> {
    const meta = item.meta as { purpose?: string; askId?: string; version?: number } | null;
    if (meta?.purpose !== PURPOSE || !meta.askId || !item.activityId) return;
    await this.deps.asks.markRendered(meta.askId, Number(meta.version ?? 1), item.activityId);
    if (item.kind !== 'post') return;
    const row = await this.deps.asks.get(meta.askId);
    // A group's owners manage its assignments: they are @mentioned under the card, so Teams tells them.
    if (row?.kind === 'group' && this.deps.adminChannel) await this.mentionOwners(row, item.activityId).catch(() => undefined);
    // A card posted after its ask moved on (decided while the post was queued) catches up now.
    if (row && row.version > Number(meta.version ?? 1))
      await this.deliver({ ...row, activity_id: item.activityId, rendered_version: Number(meta.version ?? 1) });
  }

  private async mentionOwners(row: ExtensionAskRow, rootActivityId: string): Promise<void> {
    const ownerIds = (await this.deps.directory.groupOwners(row.scope)).filter((id) => id.toLowerCase() !== row.principal_id).slice(0, 10);
    const owners = (await Promise.all(ownerIds.map((id) => this.deps.directory.user(id).catch(() => null)))).filter((o): o is UserProfile => !!o);
    if (owners.length === 0) return;
    const tags = owners.map((o) => `<at>${escapeXml(o.displayName)}</at>`).join(', ');
    await this.deps.outbox.enqueue({
      conversationId: this.deps.adminChannel!.conversationId,
      serviceUrl: this.deps.adminChannel!.serviceUrl,
      kind: 'reply',
      replyToId: rootActivityId,
      payload: {
        type: 'text',
        text: `${tags}: you own this group, so this request is yours to decide.`,
        mentions: owners.map((o) => ({ id: o.id, name: o.displayName })),
      },
      dedupeKey: `${OWNERS}:${row.id}`,
      meta: { purpose: OWNERS, askId: row.id },
    });
  }

  private async audited(entry: AuditEntry): Promise<void> {
    await this.deps.audit
      .record(entry)
      .catch((err: unknown) =>
        this.deps.log.error({ err: errInfo(err), kind: entry.kind }, 'audit: an extension step could not be recorded in the audit trail'),
      );
  }
}

export function displayOf(row: ExtensionAskRow): AskDisplay {
  return JSON.parse(row.display) as AskDisplay;
}

export function targetOf(row: ExtensionAskRow): AskTarget {
  return {
    kind: row.kind,
    roleDefinitionId: row.role_definition_id,
    scope: row.scope,
    principalId: row.principal_id,
    assignment: row.assignment === 'active' ? 'active' : 'eligible',
  };
}

/** "Privileged Role Administrators and Global Administrators (Adele Vance, …)", or PIM's rule when names could not be read. */
export function whoCanText(kind: string, names: string[] | null): string {
  const rule =
    kind === 'group'
      ? "the group's owners and Global Administrators (and Privileged Role Administrators, for a role-assignable group)"
      : kind === 'azureResource'
        ? 'Owners and User Access Administrators of the scope'
        : 'Privileged Role Administrators and Global Administrators';
  if (!names || names.length === 0) return rule;
  const shown = names.slice(0, 6).join(', ');
  return `${rule} (${shown}${names.length > 6 ? ` and ${names.length - 6} more` : ''})`;
}

/**
 * The new end from the card's date: that day at the current end's time of day (UTC), else the day's last
 * second (UTC). Null when the date is not YYYY-MM-DD.
 */
export function newEndOf(date: string | null, currentEnd: string | null): string | null {
  if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const time = currentEnd && !Number.isNaN(Date.parse(currentEnd)) ? new Date(currentEnd).toISOString().slice(11, 19) : '23:59:59';
  const end = new Date(`${date}T${time}Z`);
  return Number.isNaN(end.getTime()) ? null : end.toISOString();
}

/** The date input's first value: the asked-for end, else 90 days past the current end (or today). */
export function defaultEndDate(row: Pick<ExtensionAskRow, 'requested_end' | 'current_end'>, now: Date): string {
  if (row.requested_end && !Number.isNaN(Date.parse(row.requested_end)) && Date.parse(row.requested_end) > now.getTime()) return row.requested_end.slice(0, 10);
  const from = Math.max(now.getTime(), row.current_end ? Date.parse(row.current_end) || 0 : 0);
  return new Date(from + DEFAULT_EXTEND_DAYS * DAY_MS).toISOString().slice(0, 10);
}

/** The earliest day the date input allows: the day after today or after the current end, whichever is later. */
export function minEndDate(row: Pick<ExtensionAskRow, 'current_end'>, now: Date): string {
  const from = Math.max(now.getTime(), row.current_end ? Date.parse(row.current_end) || 0 : 0);
  return new Date(from + DAY_MS).toISOString().slice(0, 10);
}

function alreadyText(row: ExtensionAskRow): string {
  switch (row.status) {
    case 'recording':
      return 'Another administrator is deciding this right now.';
    case 'withdrawn':
      return 'This request is closed: nothing to decide.';
    default:
      return `Already ${row.status} by ${row.decided_by_name ?? 'another administrator'}.`;
  }
}

function requesterText(row: ExtensionAskRow, d: AskDisplay, zone: string): string {
  const what = row.action === 'renew' ? 'renew' : 'extend';
  const by = row.decided_by_name ?? 'an administrator';
  const note = row.decision_note ? ` Their note: "${row.decision_note}"` : '';
  if (row.status === 'declined') return `Your request to ${what} ${d.target} was declined by ${by}.${note}`;
  const until = row.new_end ? formatTime(row.new_end, zone) : 'a later date';
  return `Your request to ${what} ${d.target} was approved by ${by}: it now ends ${until}.${note}`;
}

function decisionEntry(
  row: ExtensionAskRow,
  actor: string,
  outcome: string,
  note: string | null,
  newEnd: string | null,
  pimRequestId: string | null,
  at: Date,
  error?: string,
): AuditEntry {
  return {
    kind: 'extension.decision',
    actor,
    pimRequestId: pimRequestId ?? row.pim_request_id,
    requestId: row.id,
    outcome,
    at,
    details: {
      action: row.action,
      target: { kind: row.kind, roleDefinitionId: row.role_definition_id, scope: row.scope, assignment: row.assignment, principalId: row.principal_id },
      note,
      newEnd,
      previousEnd: row.current_end,
      error: error ?? null,
    },
  };
}
