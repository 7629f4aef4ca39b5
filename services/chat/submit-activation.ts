import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditEntry } from '../audit/audit-trail';
import { selfActivationEntry } from '../audit/entries';
import { type ActivationRefusal, checkDraft, classifyRefusal, type DraftValues, hoursText } from '../elevation/activation-problems';
import type { SelfService, SubmittedRequest } from '../elevation/self-service';
import type { ActivationPolicy, ActivationTarget, EligibleTarget } from '../elevation/types';
import type { ChatDraftRow, ChatRequestRow, ChatStore } from '../store/chat-store';
import type { EvaluationStore } from '../store/evaluations';
import type { RequestStore } from '../store/requests';
import { draftTarget, draftValues, sameTarget } from './chat-drafts';
import { patchFromApproval } from './chat-request-patch';

/**
 * Submitting a chat draft to PIM as the user: the draft must be the user's and still open, the role one
 * PIM still lets them activate (read now, never taken from the card or the draft), and the values must pass
 * PIM's policy; then the activation is filed, audited and stored as a chat request whose status message
 * follows it. Teams-free: the chat adapter gets the user's PIM client (sign-in) between `prepare` and
 * `submit`, and turns each result into a card.
 */

/** Who may approve, for the form and the status message: the directory's display names. */
export interface ApproverDirectory {
  user(id: string): Promise<{ displayName: string }>;
}

export interface SubmitActivationPorts {
  chat: Pick<ChatStore, 'draft' | 'request' | 'updateDraft' | 'moveDraft' | 'insertRequest' | 'updateRequest'>;
  /** The decision service's answer for the new request, shown on its status message. */
  evaluations: Pick<EvaluationStore, 'latestFor' | 'byPimId'>;
  /** The approvers' card the new request follows. */
  approvals: Pick<RequestStore, 'latestFor' | 'byPimId'>;
  audit: { record(entry: AuditEntry): Promise<unknown> };
  directory: ApproverDirectory & { activationPolicy(target: ActivationTarget): Promise<ActivationPolicy> };
  log: Logger;
  now(): Date;
}

/** The draft a card action names, when it is the user's. */
export type OwnDraft = { kind: 'own'; draft: ChatDraftRow } | { kind: 'unknownDraft' } | { kind: 'notYours' };

/** `prepare`'s answer: the draft ready to submit with the values it now holds, or why there is nothing to submit. */
export type SubmitPreparation =
  | Exclude<OwnDraft, { kind: 'own' }>
  /** A second tap, or Teams retrying the invoke: the request the first one made. */
  | { kind: 'alreadySubmitted'; request: ChatRequestRow }
  | { kind: 'discarded' }
  /** Another tap is submitting this draft right now. */
  | { kind: 'inProgress' }
  | { kind: 'noTarget' }
  | { kind: 'ready'; draft: ChatDraftRow; target: ActivationTarget; values: DraftValues };

/** How PIM refused (or Entra wants a stronger sign-in), and the form to offer again where the user can fix it. */
export interface ActivationRefused {
  kind: 'refused';
  draft: ChatDraftRow;
  target: ActivationTarget;
  /** The policy read for this submission; null when reading it (or eligibility) is what failed. */
  policy: ActivationPolicy | null;
  values: DraftValues;
  refusal: ActivationRefusal;
  /** For a policy refusal: what the form now asks for, the values it shows (already saved on the draft) and why. */
  retry: { policyPatch: Partial<ActivationPolicy>; values: DraftValues; problems: string[] } | null;
}

/** `submit`'s answer. */
export type SubmitResult =
  | { kind: 'submitted'; request: ChatRequestRow; submitted: SubmittedRequest }
  /** PIM no longer lists the role for the user; the draft is discarded and nothing went to PIM. */
  | { kind: 'notEligible'; target: ActivationTarget }
  /** The values do not pass PIM's policy: the form again, with the problems (saved on the draft). */
  | { kind: 'needsChanges'; draft: ChatDraftRow; target: ActivationTarget; policy: ActivationPolicy; values: DraftValues; problems: string[] }
  | { kind: 'inProgress' }
  | ActivationRefused;

/** Where the request's status message lives: the personal chat, and the card the click came from (it becomes the message). */
export interface StatusMessagePlace {
  /** The conversation reference, as JSON. */
  conversationRef: string;
  replyToId: string | null;
}

export interface Submission {
  userId: string;
  draft: ChatDraftRow;
  target: ActivationTarget;
  values: DraftValues;
  /** PIM as the user, on behalf of their token (with the draft's claims). */
  pim: Pick<SelfService, 'eligible' | 'activate'>;
  statusMessage: StatusMessagePlace;
  /** The click's logger (user, verb, draft). */
  log?: Logger;
}

/** PIM's request status as the chat request's state. */
export function stateOfPimStatus(status: string): ChatRequestRow['state'] {
  switch (status) {
    case 'Granted':
    case 'Provisioned':
    case 'PendingProvisioning':
    case 'ScheduleCreated':
      return 'active';
    case 'Denied':
      return 'denied';
    case 'Failed':
    case 'Revoked':
      return 'failed';
    case 'Canceled':
    case 'Cancelled':
      return 'cancelled';
    case 'TimedOut':
      return 'expired';
    default:
      return 'pending';
  }
}

/** Display names of up to six approvers, and "N more" for the rest; a name that cannot be read is left out. */
export async function approverNames(directory: ApproverDirectory, ids: string[]): Promise<string[]> {
  const shown = ids.slice(0, 6);
  const names = await Promise.all(
    shown.map((id) =>
      directory
        .user(id)
        .then((u) => u.displayName)
        .catch(() => null),
    ),
  );
  const out = names.filter((n): n is string => !!n);
  if (ids.length > shown.length) out.push(`${ids.length - shown.length} more`);
  return out;
}

/** The draft `draftId` names, if it exists and is `userId`'s. */
export async function findOwnDraft(chat: Pick<ChatStore, 'draft'>, userId: string, draftId: string | undefined): Promise<OwnDraft> {
  const draft = draftId ? await chat.draft(draftId) : undefined;
  if (!draft) return { kind: 'unknownDraft' };
  if (draft.user_id !== userId) return { kind: 'notYours' };
  return { kind: 'own', draft };
}

/** What the form asks for after PIM's policy refused the values, and why; `values` is what it shows. */
export function policyRetry(
  rules: string[],
  target: ActivationTarget,
  policy: ActivationPolicy | null,
  values: DraftValues,
): { policyPatch: Partial<ActivationPolicy>; values: DraftValues; problems: string[] } {
  const title = target.displayName;
  const problems: string[] = [];
  const policyPatch: Partial<ActivationPolicy> = {};
  let v = values;
  if (rules.includes('TicketingRule')) {
    policyPatch.ticketRequired = true;
    problems.push(`PIM needs a ticket for ${title}: enter the incident or change number you are working on.`);
  }
  if (rules.includes('ExpirationRule')) {
    const max = policy?.maximumMinutes ?? 60;
    v = { ...values, durationMinutes: max };
    problems.push(
      `PIM refused ${hoursText(values.durationMinutes ?? 0)} for ${title}; the most it allows is ${hoursText(max)}. I selected the maximum: submit again to use it.`,
    );
  }
  if (rules.includes('JustificationRule')) {
    policyPatch.justificationRequired = true;
    problems.push(`PIM needs a reason for ${title}: say what you will do with it.`);
  }
  const other = rules.filter((r) => !['TicketingRule', 'ExpirationRule', 'JustificationRule'].includes(r));
  if (other.length) problems.push(`PIM's policy for ${title} refused the request (${other.join(', ')}). Check the request with your PIM administrator.`);
  return { policyPatch, values: v, problems };
}

export class SubmitActivation {
  constructor(private readonly ports: SubmitActivationPorts) {}

  /** Step 1, before any PIM call: the user's open draft with the form's values merged in and saved. */
  async prepare(userId: string, draftId: string | undefined, input: Partial<DraftValues>): Promise<SubmitPreparation> {
    const own = await findOwnDraft(this.ports.chat, userId, draftId);
    if (own.kind !== 'own') return own;
    const { draft } = own;
    if (draft.status === 'submitted' && draft.chat_request_id) {
      const request = await this.ports.chat.request(draft.chat_request_id);
      if (request) return { kind: 'alreadySubmitted', request };
    }
    if (draft.status === 'discarded') return { kind: 'discarded' };
    if (draft.status !== 'open') return { kind: 'inProgress' };
    const target = draftTarget(draft);
    if (!target) return { kind: 'noTarget' };
    const values: DraftValues = {
      durationMinutes: input.durationMinutes ?? draft.duration_minutes,
      ticketSystem: input.ticketSystem ?? draft.ticket_system,
      ticketNumber: input.ticketNumber ?? draft.ticket_number,
      justification: input.justification ?? draft.justification,
    };
    await this.ports.chat.updateDraft(draft.id, draftValues(values));
    return { kind: 'ready', draft, target, values };
  }

  /** Step 2, as the user in PIM: eligibility and policy now, one PIM request per draft, the audit entry and the chat request. */
  async submit(s: Submission): Promise<SubmitResult> {
    const { chat } = this.ports;
    const { userId, draft, target } = s;
    const log = s.log ?? this.ports.log;
    let values = s.values;
    let eligible: EligibleTarget[];
    let policy: ActivationPolicy;
    try {
      [eligible, policy] = await Promise.all([s.pim.eligible(), this.ports.directory.activationPolicy(target)]);
    } catch (err) {
      return this.refused(draft, target, null, values, classifyRefusal(err));
    }
    // Authorisation is PIM's eligibility now, not what the card or the draft remembered.
    if (!eligible.some((t) => sameTarget(t, target))) {
      await chat.moveDraft(draft.id, 'open', 'discarded');
      return { kind: 'notEligible', target };
    }
    const checked = checkDraft(values, policy, target.displayName);
    if (checked.problems.length) {
      await chat.updateDraft(draft.id, draftValues(checked.values));
      return { kind: 'needsChanges', draft, target, policy, values: checked.values, problems: checked.problems };
    }
    values = checked.values;
    if (!(await chat.moveDraft(draft.id, 'open', 'submitting', draftValues(values)))) return { kind: 'inProgress' };
    const submittedAt = this.ports.now();
    let submitted: SubmittedRequest;
    try {
      submitted = await s.pim.activate(target, {
        principalId: userId,
        durationMinutes: values.durationMinutes!,
        justification: values.justification?.trim() || null,
        ticket: values.ticketNumber?.trim() ? { system: values.ticketSystem, number: values.ticketNumber.trim() } : null,
        start: submittedAt,
      });
    } catch (err) {
      await chat.moveDraft(draft.id, 'submitting', 'open');
      const refusal = classifyRefusal(err);
      log.info({ refusal: refusal.kind, rules: refusal.kind === 'policy' ? refusal.rules : undefined }, 'PIM refused the activation');
      await this.audit(userId, target, values, null, 'refused', refusal.kind === 'policy' ? `${refusal.kind}: ${refusal.rules.join(', ')}` : refusal.kind);
      return this.refused(draft, target, policy, values, refusal);
    }
    await this.audit(userId, target, values, submitted.pimRequestId, submitted.status, null);
    const request = await this.record(userId, draft, target, policy, values, submitted, submittedAt, s.statusMessage);
    await chat.moveDraft(draft.id, 'submitting', 'submitted', { chat_request_id: request.id });
    log.info({ pimRequestId: submitted.pimRequestId, status: submitted.status, state: request.state }, 'activation submitted');
    return { kind: 'submitted', request, submitted };
  }

  /** Saves on the draft what the next attempt needs (the form's corrected values, Entra's claims challenge). */
  private async refused(
    draft: ChatDraftRow,
    target: ActivationTarget,
    policy: ActivationPolicy | null,
    values: DraftValues,
    refusal: ActivationRefusal,
  ): Promise<ActivationRefused> {
    let retry: ActivationRefused['retry'] = null;
    if (refusal.kind === 'policy') {
      retry = policyRetry(refusal.rules, target, policy, values);
      await this.ports.chat.updateDraft(draft.id, draftValues(retry.values));
    } else if (refusal.kind === 'authContext' && refusal.claims) {
      await this.ports.chat.updateDraft(draft.id, { claims: refusal.claims });
    }
    return { kind: 'refused', draft, target, policy, values, refusal, retry };
  }

  /** The activation filed (or refused) in PIM as the user, in the audit trail; a failed append is logged, never shown as a failed request. */
  private async audit(
    userId: string,
    target: ActivationTarget,
    values: DraftValues,
    pimRequestId: string | null,
    outcome: string,
    problem: string | null,
  ): Promise<void> {
    const entry = selfActivationEntry(
      userId,
      {
        pimRequestId,
        outcome,
        requestKind: target.kind,
        roleDefinitionId: target.roleDefinitionId,
        scope: target.scope,
        durationMinutes: values.durationMinutes ?? 0,
        justification: values.justification?.trim() || null,
        ticket: values.ticketNumber?.trim() ? `${values.ticketSystem ?? ''} ${values.ticketNumber.trim()}`.trim() : null,
        problem,
      },
      this.ports.now(),
    );
    await this.ports.audit
      .record(entry)
      .catch((err: unknown) =>
        this.ports.log.error({ err: { message: (err as Error).message }, pimRequestId }, 'audit: the activation could not be recorded in the audit trail'),
      );
  }

  /** Stores the request and the status it starts in; the card that answered the click becomes its status message. */
  private async record(
    userId: string,
    draft: ChatDraftRow,
    target: ActivationTarget,
    policy: ActivationPolicy,
    values: DraftValues,
    submitted: SubmittedRequest,
    at: Date,
    place: StatusMessagePlace,
  ): Promise<ChatRequestRow> {
    const { chat, evaluations, approvals } = this.ports;
    const since = new Date(at.getTime() - 5_000).toISOString();
    const evaluation =
      target.kind === 'azureResource'
        ? await evaluations.latestFor(target.kind, userId, target.roleDefinitionId, target.scope, since)
        : await evaluations.byPimId(submitted.pimRequestId);
    const approval =
      target.kind === 'azureResource'
        ? await approvals.latestFor(target.kind, userId, target.roleDefinitionId, target.scope, since)
        : await approvals.byPimId(submitted.pimRequestId);
    const decisionService =
      evaluation && (evaluation.outcome === 'AutoApproved' || evaluation.outcome === 'Denied')
        ? { outcome: evaluation.outcome, reasons: JSON.parse(evaluation.reasons) as string[] }
        : null;
    const state = stateOfPimStatus(submitted.status);
    const until = new Date(at.getTime() + values.durationMinutes! * 60_000);
    const id = randomUUID();
    const nowIso = this.ports.now().toISOString();
    await chat.insertRequest({
      id,
      user_id: userId,
      kind: target.kind,
      role_definition_id: target.roleDefinitionId,
      scope: target.scope,
      role_title: target.displayName,
      pim_request_id: submitted.pimRequestId,
      approval_key: approval?.pim_request_id ?? (target.kind === 'azureResource' ? null : submitted.pimRequestId),
      duration_minutes: values.durationMinutes!,
      ticket_system: values.ticketNumber ? values.ticketSystem : null,
      ticket_number: values.ticketNumber?.trim() || null,
      justification: values.justification?.trim() || null,
      state,
      // PIM never lets requesters approve themselves, so they are not shown as approvers.
      approver_names: JSON.stringify(
        state === 'pending'
          ? await approverNames(
              this.ports.directory,
              policy.approverIds.filter((id) => id.toLowerCase() !== userId),
            )
          : [],
      ),
      decided_by_name: null,
      decided_at: null,
      decision_justification: null,
      decision_service: decisionService ? JSON.stringify(decisionService) : null,
      active_from: state === 'active' ? at.toISOString() : null,
      active_until: state === 'active' ? until.toISOString() : null,
      ended_at: null,
      message:
        state === 'failed'
          ? "PIM could not complete the request (status Failed): it did not get an answer it could act on from your organisation's checks, so nothing was activated. Try again in a few minutes; if it keeps failing, tell your PIM administrator."
          : null,
      conversation_ref: place.conversationRef,
      activity_id: place.replyToId,
      version: 1,
      // The click's answer shows this version in place of the form; with no message to replace, the sweep posts it.
      rendered_version: place.replyToId ? 1 : 0,
      time_zone: draft.time_zone,
      created_at: nowIso,
      updated_at: nowIso,
    });
    let row = (await chat.request(id))!;
    // An approver may have been quicker than this write: catch up at once rather than at the next sweep.
    if (approval && state === 'pending') {
      const patch = patchFromApproval(row, approval, undefined, this.ports.now());
      if (patch) row = (await chat.updateRequest(id, { ...patch, rendered_version: row.version + 1 }))!;
    }
    return row;
  }
}
