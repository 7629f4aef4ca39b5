import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BOT_ACTOR, emergencyStepEntry } from '../audit/entries';
import type { ChannelTarget } from '../config/config';
import { roleKeyOf, type Verdict } from '../decision/evaluate-activation';
import type { ActivationRequest } from '../decision/activation-request';
import { differences } from '../approvals/callout-binding';
import type { Directory } from '../graph/directory';
import type { JobRun, JobScheduler } from '../jobs/scheduler';
import type { Outbox } from '../outbox/outbox';
import type { Store } from '../store/store';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import type { Tx } from '../store/database';
import { type EmergencyGrantRow, EmergencyGrants, type EmergencyRecordResult, type EmergencyReviewVerdict } from './emergency-grants';

export const EMERGENCY_BROADCAST = 'emergency:broadcast';
export const EMERGENCY_NOTE = 'emergency:note';
/** The requester is asked for the note for this long after the access ends (while the bot has no chat with them). */
const NOTE_ASK_FOR_MS = 7 * 24 * 3600_000;
const NOTE_RETRY_MS = 30 * 60_000;
const DAY_MS = 24 * 3600_000;

type CardJson = Record<string, unknown>;

/** The grant as the cards show it (names from the directory). */
export interface GrantView {
  grantId: string;
  requester: string;
  role: string;
  incident: string;
  onCall: string;
  justification: string | null;
  grantedAt: string;
  endsAt: string | null;
  durationMinutes: number | null;
}

/** The break-glass cards (cards/emergency), injected: services never import cards/. */
export interface BreakGlassRenderers {
  breakGlassCard(view: GrantView & { pim: string }): CardJson;
  noteCard(d: { grantId: string; role: string; incident: string; endedAt: string | null; answer?: string }): CardJson;
  reviewCard(d: {
    entries: Array<GrantView & { note: string | null; overdue: boolean; reviewBy: string }>;
    reviewWithinHours: number;
    answers?: Map<string, string>;
  }): CardJson;
}

export interface BreakGlassSettings {
  reviewWithinHours: number;
  /** The role's approver channel(s): APPROVER_CHANNELS by role key, else `default`. */
  channels: Record<string, ChannelTarget>;
  /** The security channel (policy `emergency.securityChannel`, else the admin channel). */
  securityChannel: ChannelTarget | null;
}

/**
 * Break-glass after the decision: records the grant before PIM hears the answer, posts the BREAK-GLASS card to
 * the role's approver channel and the security channel (through the outbox, once per channel whatever retries),
 * asks the requester for a post-incident note when the access ends (durable job), and takes the note and the
 * second person's review, each recorded once and audited.
 */
export class BreakGlass {
  readonly grants: EmergencyGrants;

  constructor(
    private readonly deps: {
      store: Store;
      scheduler: JobScheduler;
      outbox: Pick<Outbox, 'enqueue' | 'wake'>;
      directory: Pick<Directory, 'user' | 'roleDisplayName' | 'pimRequestCopy'>;
      renderers: BreakGlassRenderers;
      settings: BreakGlassSettings;
      log: Logger;
      now?: () => Date;
    },
  ) {
    this.grants = deps.store.emergencyGrants(() => this.now());
    deps.scheduler.on(EMERGENCY_BROADCAST, (job) => this.broadcast(grantIdOf(job)));
    deps.scheduler.on(EMERGENCY_NOTE, (job, now) => this.askForNote(grantIdOf(job), now));
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The user's emergency grants in the last 24 hours; null when they could not be counted (then no grant). */
  async grantsInLastDay(principalId: string, now: Date): Promise<number | null> {
    try {
      return await this.grants.countSince(principalId, new Date(now.getTime() - DAY_MS));
    } catch (err) {
      this.deps.log.warn({ err: { message: (err as Error).message } }, 'break-glass: earlier grants could not be counted');
      return null;
    }
  }

  /**
   * The writes that record the grant of an evaluation enforce mode granted on the emergency row, and schedule its
   * broadcast (now) and its post-incident note (when the access ends): run in the evaluation's own transaction
   * (EvaluationStore.insert's `also`), so PIM never hears an emergency AutoApproved the bot has not recorded.
   * Null when the verdict is no emergency grant.
   */
  grantWrites(
    request: ActivationRequest,
    verdict: Verdict,
    evaluationId: string,
    at: Date,
    endsAt: Date | null,
  ): { grantId: string; write: (trx: Kysely<Database>) => Promise<void> } | null {
    if (!verdict.emergency?.granted || verdict.outcome !== 'AutoApproved') return null;
    const grantId = randomUUID();
    return {
      grantId,
      write: async (trx) => {
        await this.recordGrant(request, verdict, evaluationId, at, endsAt, { grants: new EmergencyGrants(trx), tx: trx as unknown as Tx, grantId });
      },
    };
  }

  /** Records the grant and schedules its jobs (idempotent by evaluation id), on `via` (a transaction) when given. */
  async recordGrant(
    request: ActivationRequest,
    verdict: Verdict,
    evaluationId: string,
    at: Date,
    endsAt: Date | null,
    via?: { grants: EmergencyGrants; tx: Tx; grantId: string },
  ): Promise<EmergencyGrantRow | null> {
    const e = verdict.emergency;
    if (!e?.granted) return null;
    const { row, created } = await (via?.grants ?? this.grants).insertOnce({
      id: via?.grantId ?? randomUUID(),
      evaluation_id: evaluationId,
      pim_request_id: request.pimRequestId,
      kind: request.kind,
      principal_id: request.principalId.toLowerCase(),
      role_definition_id: request.roleDefinitionId,
      scope: request.scope,
      justification: request.justification ?? null,
      incident: e.incident ? e.incident.number : null,
      incident_priority: e.incident ? (e.incident.priorityLabel ?? e.incident.priority) : null,
      on_call_evidence: e.onCallEvidence,
      granted_at: at.toISOString(),
      ends_at: endsAt ? endsAt.toISOString() : null,
      note: null,
      note_at: null,
      review_verdict: null,
      reviewer_id: null,
      reviewer_name: null,
      review_note: null,
      reviewed_at: null,
    });
    if (created) {
      await this.deps.scheduler.schedule(
        { id: `${EMERGENCY_BROADCAST}:${row.id}`, kind: EMERGENCY_BROADCAST, dueAt: at, payload: { grantId: row.id } },
        via?.tx,
      );
      // No end: the note is asked a day on (the review asks for it too).
      const noteAt = endsAt ?? new Date(at.getTime() + DAY_MS);
      await this.deps.scheduler.schedule({ id: `${EMERGENCY_NOTE}:${row.id}`, kind: EMERGENCY_NOTE, dueAt: noteAt, payload: { grantId: row.id } }, via?.tx);
    }
    return row;
  }

  /** After PIM has its answer: the broadcast now rather than at the scheduler's next run (the job repeats it harmlessly). */
  broadcastSoon(grantId: string): void {
    setImmediate(() => {
      this.broadcast(grantId).catch((err: unknown) =>
        this.deps.log.warn({ err: { message: (err as Error).message }, grantId }, 'break-glass broadcast failed; the job retries it'),
      );
    });
  }

  /** The BREAK-GLASS card to the role's approver channel(s) and the security channel, each once (outbox dedupe keys). */
  async broadcast(grantId: string): Promise<void> {
    const row = await this.grants.get(grantId);
    if (!row) return;
    const [view, pim] = await Promise.all([this.viewOf(row), this.pimCheck(row)]);
    const card = this.deps.renderers.breakGlassCard({ ...view, pim: pim.text });
    const targets = new Map<string, ChannelTarget>();
    for (const t of [...this.approverChannels(row), ...(this.deps.settings.securityChannel ? [this.deps.settings.securityChannel] : [])])
      targets.set(t.conversationId, t);
    for (const target of targets.values()) {
      const queued = await this.deps.outbox.enqueue({
        conversationId: target.conversationId,
        serviceUrl: target.serviceUrl,
        kind: 'post',
        payload: { type: 'card', card },
        dedupeKey: `breakglass:${row.id}:${target.conversationId}`,
        meta: { purpose: 'breakglass', grantId: row.id },
      });
      if (queued.created) {
        await this.deps.store.audit.record(
          emergencyStepEntry({
            kind: 'emergency.broadcast',
            actor: BOT_ACTOR,
            grantId: row.id,
            evaluationId: row.evaluation_id,
            pimRequestId: row.pim_request_id,
            outcome: 'queued',
            details: { conversationId: target.conversationId, pim: pim.state },
            at: this.now(),
          }),
        );
      }
    }
    this.deps.outbox.wake();
  }

  /**
   * The callout's request against PIM's own copy (read with the bot's identity): the alert goes out either way
   * (security must hear of a grant), and says whether PIM holds the request it describes.
   */
  private async pimCheck(row: EmergencyGrantRow): Promise<{ state: 'confirmed' | 'missing' | 'differs' | 'unread'; text: string }> {
    if (!row.pim_request_id) return { state: 'unread', text: 'not checked (PIM gives no request id for this kind of request)' };
    try {
      const copy = await this.deps.directory.pimRequestCopy({
        kind: row.kind,
        roleDefinitionId: row.role_definition_id,
        scope: row.scope,
        pimRequestId: row.pim_request_id,
        principalId: row.principal_id,
        createdAt: row.granted_at,
      });
      if (!copy) return { state: 'missing', text: 'PIM holds no such request: what is shown is what the callout said' };
      const fields = differences(
        {
          principalId: row.principal_id,
          roleDefinitionId: row.role_definition_id,
          scope: row.scope,
          justification: row.justification ?? '',
          ticketNumber: row.incident,
          ticketSystem: copy.ticketSystem,
        },
        copy,
      );
      return fields.length === 0
        ? { state: 'confirmed', text: `request ${row.pim_request_id} confirmed in PIM (${copy.status})` }
        : { state: 'differs', text: `PIM's copy of request ${row.pim_request_id} differs in ${fields.join(', ')}: what is shown is what the callout said` };
    } catch {
      return { state: 'unread', text: "PIM's copy could not be read: what is shown is what the callout said" };
    }
  }

  private approverChannels(row: EmergencyGrantRow): ChannelTarget[] {
    const key = roleKeyOf({ kind: row.kind as ActivationRequest['kind'], roleDefinitionId: row.role_definition_id, scope: row.scope }).toLowerCase();
    const channels = this.deps.settings.channels;
    const own = Object.entries(channels).find(([k]) => k.toLowerCase() === key)?.[1];
    const target = own ?? channels.default;
    return target ? [target] : [];
  }

  /** When the access ends: the note card in the requester's personal chat, once (outbox dedupe key). */
  private async askForNote(grantId: string, now: Date): Promise<{ rescheduleAt: Date } | undefined> {
    const row = await this.grants.get(grantId);
    if (!row || row.note) return;
    const reference = (await this.deps.store.conversations.get(row.principal_id)) as { conversation?: { id?: string }; serviceUrl?: string } | undefined;
    if (!reference?.conversation?.id || !reference.serviceUrl) {
      // No chat with the requester yet: ask again later, for a while (the review shows the note is missing).
      const retry = new Date(now.getTime() + NOTE_RETRY_MS);
      const endedAt = Date.parse(row.ends_at ?? row.granted_at);
      if (retry.getTime() - endedAt < NOTE_ASK_FOR_MS) return { rescheduleAt: retry };
      this.deps.log.info({ grantId }, 'break-glass: no chat with the requester; the post-incident note was not asked');
      return;
    }
    const view = await this.viewOf(row);
    const queued = await this.deps.outbox.enqueue({
      conversationId: reference.conversation.id,
      serviceUrl: reference.serviceUrl,
      kind: 'post',
      payload: { type: 'card', card: this.deps.renderers.noteCard({ grantId: row.id, role: view.role, incident: view.incident, endedAt: row.ends_at }) },
      dedupeKey: `breakglass-note:${row.id}`,
      meta: { purpose: 'breakglass-note', grantId: row.id },
    });
    if (queued.created) {
      await this.deps.store.audit.record(
        emergencyStepEntry({
          kind: 'emergency.note',
          actor: BOT_ACTOR,
          grantId: row.id,
          evaluationId: row.evaluation_id,
          pimRequestId: row.pim_request_id,
          outcome: 'asked',
          at: now,
        }),
      );
    }
    this.deps.outbox.wake();
  }

  /** The requester's note from the card: only the requester, once; audited. */
  async note(grantId: string, userId: string, text: string | null): Promise<{ result: EmergencyRecordResult; card: CardJson | null }> {
    const result = await this.grants.recordNote(grantId, userId, text);
    if (result.kind === 'recorded') {
      await this.deps.store.audit.record(
        emergencyStepEntry({
          kind: 'emergency.note',
          actor: userId.toLowerCase(),
          grantId,
          evaluationId: result.row.evaluation_id,
          pimRequestId: result.row.pim_request_id,
          outcome: 'recorded',
          details: { note: result.row.note },
          at: this.now(),
        }),
      );
    }
    const row = result.kind === 'recorded' || result.kind === 'already' ? result.row : null;
    if (!row?.note) return { result, card: null };
    const view = await this.viewOf(row);
    const card = this.deps.renderers.noteCard({
      grantId,
      role: view.role,
      incident: view.incident,
      endedAt: row.ends_at,
      answer: `Post-incident note recorded: ${row.note}`,
    });
    return { result, card };
  }

  /** A second person's review from the admin digest: never the requester, once; audited. */
  async review(
    grantId: string,
    reviewer: { id: string; name: string | null },
    verdict: EmergencyReviewVerdict,
    note: string | null,
  ): Promise<{ result: EmergencyRecordResult; card: CardJson | null }> {
    const result = await this.grants.recordReview(grantId, reviewer, verdict, note);
    if (result.kind === 'recorded') {
      await this.deps.store.audit.record(
        emergencyStepEntry({
          kind: 'emergency.review',
          actor: reviewer.id.toLowerCase(),
          grantId,
          evaluationId: result.row.evaluation_id,
          pimRequestId: result.row.pim_request_id,
          outcome: verdict,
          details: { note: result.row.review_note },
          at: this.now(),
        }),
      );
    }
    if (result.kind !== 'recorded') return { result, card: null };
    // The review card comes back with the verdict under the entry, in place of its buttons.
    const entries = await this.reviewEntries([result.row, ...(await this.grants.unreviewed())]);
    const answer = `${reviewer.name ?? 'A reviewer'} ${verdict === 'flag' ? `flagged this grant: ${result.row.review_note ?? ''}` : 'reviewed this grant: looks right'}`;
    return {
      result,
      card: this.deps.renderers.reviewCard({ entries, reviewWithinHours: this.deps.settings.reviewWithinHours, answers: new Map([[grantId, answer]]) }),
    };
  }

  /** The admin digest's review card: every unreviewed grant, or null when there is none. */
  async reviewCard(): Promise<CardJson | null> {
    const rows = await this.grants.unreviewed();
    if (rows.length === 0) return null;
    return this.deps.renderers.reviewCard({ entries: await this.reviewEntries(rows), reviewWithinHours: this.deps.settings.reviewWithinHours });
  }

  private async reviewEntries(rows: EmergencyGrantRow[]): Promise<Array<GrantView & { note: string | null; overdue: boolean; reviewBy: string }>> {
    const seen = new Set<string>();
    const now = this.now().getTime();
    const out: Array<GrantView & { note: string | null; overdue: boolean; reviewBy: string }> = [];
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      const reviewBy = new Date(Date.parse(row.granted_at) + this.deps.settings.reviewWithinHours * 3600_000);
      out.push({ ...(await this.viewOf(row)), note: row.note, overdue: !row.reviewed_at && reviewBy.getTime() < now, reviewBy: reviewBy.toISOString() });
    }
    return out;
  }

  /** Names from the directory; an id stands in when a read fails (the card still goes out). */
  private async viewOf(row: EmergencyGrantRow): Promise<GrantView> {
    const [user, role] = await Promise.all([
      this.deps.directory.user(row.principal_id).catch(() => null),
      this.deps.directory.roleDisplayName({ kind: row.kind, roleDefinitionId: row.role_definition_id, scope: row.scope }).catch(() => null),
    ]);
    const minutes = row.ends_at ? Math.round((Date.parse(row.ends_at) - Date.parse(row.granted_at)) / 60_000) : null;
    return {
      grantId: row.id,
      requester: user ? `${user.displayName} (${user.userPrincipalName})` : row.principal_id,
      role: role ?? row.role_definition_id,
      incident: row.incident ? `${row.incident}${row.incident_priority ? ` (priority ${row.incident_priority})` : ''}` : 'unknown',
      onCall: row.on_call_evidence ?? 'confirmed',
      justification: row.justification,
      grantedAt: row.granted_at,
      endsAt: row.ends_at,
      durationMinutes: minutes,
    };
  }
}

function grantIdOf(job: JobRun): string {
  return String((job.payload as { grantId?: unknown } | null)?.grantId ?? '');
}
