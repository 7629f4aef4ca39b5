import type { Logger } from 'pino';
import type { AuditEntry } from '../audit/audit-trail';
import type { ProvenUser } from '../auth/user-token';
import { z } from 'zod';
import { digestActionEntry } from '../audit/entries';
import { cancelChatRequest, type CancelRequestPorts, closeApprovalAsCancelled } from '../chat/cancel-request';
import { chatRequestTarget, sameTarget } from '../chat/chat-drafts';
import { type OfferActivationPorts, offerActivation } from '../chat/offer-activation';
import type { SubmitActivation } from '../chat/submit-activation';
import { EXTEND_WINDOW_DAYS, RENEW_WINDOW_DAYS } from '../digests/collect';
import { type ActivationRefusal, classifyRefusal } from '../elevation/activation-problems';
import { endableFrom, type SelfService } from '../elevation/self-service';
import { type ActivationTarget, type ActiveAssignment, type EligibleTarget, type ExpiredTarget, targetKey } from '../elevation/types';
import type { ChatStore } from '../store/chat-store';
import type { RequestStore } from '../store/requests';
import type { ApprovalRequestRow } from '../store/store';
import { formatTime } from '../text/format-time';
import { requestIdParam, requestItem, TabError } from './tab-api';
import { type AdminCheck, isTabAdmin } from './tab-dashboard';

/**
 * The tab's "My access" and the actions on the caller's own requests and assignments (issue 23), through the
 * product's own flows, as the caller (on-behalf-of from the tab's SSO token): PIM's lists of the user's eligible,
 * active and expired assignments (services/elevation/self-service.ts), the chat's activation (an offer, then
 * the chat's submission: policy checks, one PIM request per draft, audit, the status message), the chat's
 * cancel (PIM, the chat request, the approvers' cards), selfExtend/selfRenew/selfDeactivate, and the reminder
 * ladder's requester reminder (rate-limited there). Keys are opaque to the tab and re-resolved here against the
 * user's own lists from PIM, never trusted.
 */

/** Caller of a tab route (tab-api.ts's tabCaller). */
export interface TabCaller {
  user: ProvenUser;
  token: string;
}

/** How long an extension and a renewal ask for (the digest's and chat's own figures). */
const EXTEND_BY_DAYS = 90;
const RENEW_FOR_DAYS = 90;
const DAY_MS = 86_400_000;

export type AccessKind = 'entraRole' | 'group' | 'azureResource';

export interface AccessItem {
  key: string;
  kind: AccessKind;
  name: string;
  scope: string;
  scopeName: string;
  memberType?: string;
  start: string | null;
  end: string | null;
  actions: { activate: boolean; extend: boolean; renew: boolean; end: boolean };
}

/** The opaque key of a target: its kind, role and scope, as base64url JSON (checked against PIM on the way back). */
export function accessKey(t: ActivationTarget): string {
  return Buffer.from(JSON.stringify([t.kind, t.roleDefinitionId, t.scope])).toString('base64url');
}

/** The target a key names, or null when it is not a key this API gives out. */
export function parseAccessKey(key: string): Pick<ActivationTarget, 'kind' | 'roleDefinitionId' | 'scope'> | null {
  try {
    const v = JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'string')) return null;
    const [kind, roleDefinitionId, scope] = v as [string, string, string];
    if (kind !== 'entraRole' && kind !== 'group' && kind !== 'azureResource') return null;
    return { kind, roleDefinitionId, scope };
  } catch {
    return null;
  }
}

/** What the tab shows as the scope: "Directory", the group's name, the Azure resource's name. */
export function scopeName(t: ActivationTarget): string {
  if (t.kind === 'entraRole') return t.scope === '/' ? 'Directory' : t.scope;
  if (t.kind === 'group') return t.displayName.replace(/ \((member|owner)\)$/, '');
  const at = t.displayName.lastIndexOf(' on ');
  return at >= 0 ? t.displayName.slice(at + 4) : t.scope;
}

/**
 * PIM's rules for the actions (pure): activate an eligibility not already active; extend an eligibility that
 * ends within 14 days (PIM for Groups has no self-extension); renew an eligibility that ended within 30 days
 * (none for groups either); end an activation (not an administrator's assignment).
 */
export function accessLists(
  lists: { eligible: EligibleTarget[]; active: ActiveAssignment[]; expired: ExpiredTarget[] },
  now: Date,
): { eligible: AccessItem[]; active: AccessItem[]; expired: AccessItem[] } {
  const t = now.getTime();
  const running = lists.active.filter((a) => !a.endDateTime || Date.parse(a.endDateTime) > t);
  const activeKeys = new Set(running.map(targetKey));
  const base = (x: ActivationTarget) => ({ key: accessKey(x), kind: x.kind, name: x.displayName, scope: x.scope, scopeName: scopeName(x) });
  return {
    eligible: lists.eligible.map((e) => ({
      ...base(e),
      start: null,
      end: e.eligibleUntil,
      actions: {
        activate: !activeKeys.has(targetKey(e)),
        extend: e.kind !== 'group' && e.eligibleUntil !== null && Date.parse(e.eligibleUntil) - t <= EXTEND_WINDOW_DAYS * DAY_MS,
        renew: false,
        end: false,
      },
    })),
    active: running.map((a) => ({
      ...base(a),
      memberType: a.assignmentType,
      start: a.startDateTime,
      end: a.endDateTime,
      actions: { activate: false, extend: false, renew: false, end: a.assignmentType === 'Activated' },
    })),
    expired: lists.expired.map((x) => ({
      ...base(x),
      start: null,
      end: x.endedAt,
      actions: {
        activate: false,
        extend: false,
        renew: x.kind !== 'group' && t - Date.parse(x.endedAt) <= RENEW_WINDOW_DAYS * DAY_MS,
        end: false,
      },
    })),
  };
}

const key = z.string({ message: 'key must be the key an access list returned' }).min(1, 'key is required').max(2000, 'key is too long');
const justification = z
  .string({ message: 'justification must be a string' })
  .trim()
  .min(1, 'justification is required')
  .max(500, 'the justification is limited to 500 characters');

export const activateBody = z
  .object({
    key,
    justification,
    durationMinutes: z
      .number({ message: 'durationMinutes must be a number of minutes' })
      .int('durationMinutes must be a whole number')
      .min(5, 'durationMinutes is at least 5')
      .max(1440, 'durationMinutes is at most 1440')
      .optional(),
    ticket: z
      .object({
        number: z.string({ message: 'ticket.number must be a string' }).trim().min(1, 'ticket.number is required').max(100),
        system: z.string({ message: 'ticket.system must be a string' }).trim().max(100).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export const extendBody = z.object({ key, justification }).strict();
export const renewBody = extendBody;
export const endBody = z.object({ key }).strict();

/** A zod body as its data, or 400 with the field at fault (nothing is changed). */
export function parseBody<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || undefined;
  throw new TabError(400, 'invalid_body', `${field ? `${field}: ` : ''}${issue.message}`, field);
}

/** PIM's refusal as the tab's error, saying what to do. */
export function refusalError(refusal: ActivationRefusal, what: string): TabError {
  switch (refusal.kind) {
    case 'policy':
      return new TabError(422, 'pim_policy', `${what}: PIM's policy refused it (${refusal.rules.join(', ')}).`, undefined, { rules: refusal.rules });
    case 'mfa':
      return new TabError(403, 'mfa_required', `${what}: PIM needs multi-factor authentication. Sign in again with MFA, then retry.`);
    case 'authContext':
      return new TabError(403, 'auth_context_required', `${what}: PIM needs a stronger sign-in (Conditional Access). Sign in again, then retry.`, undefined, {
        claims: refusal.claims,
      });
    case 'alreadyActive':
      return new TabError(409, 'already_active', `${what}: it is already active.`);
    case 'alreadyPending':
      return new TabError(409, 'already_pending', `${what}: a request for it is already waiting.`);
    case 'notEligible':
      return new TabError(403, 'not_eligible', `${what}: PIM does not list you as eligible.`);
    default:
      return new TabError(502, 'pim_refused', `${what}: PIM answered ${refusal.status} ${refusal.code}. ${refusal.message}`.trim());
  }
}

export interface TabAccessDeps {
  /** PIM as the caller, on behalf of the tab's SSO token. */
  selfServiceFor(ssoToken: string): SelfService;
  offer: OfferActivationPorts;
  submission: Pick<SubmitActivation, 'prepare' | 'submit'>;
  chat: Pick<ChatStore, 'requestsOf' | 'requestsByApprovalKey' | 'updateRequest'>;
  /** The caller's personal chat with the bot, where the chat's status message of an activation goes (none: no message). */
  conversations: { get(userId: string): Promise<unknown | undefined> };
  requests: Pick<RequestStore, 'get' | 'byPimId'>;
  cancel: CancelRequestPorts;
  /** The stale-request ladder's requester reminder (rate-limited there); absent: reminders are off. */
  reminders: { remindNow(row: ApprovalRequestRow, requesterId: string): Promise<string> } | null;
  audit: { record(entry: AuditEntry): Promise<unknown> };
  /** The caller's time zone as the product knows it (their mailbox's); null when unknown. */
  zoneOf(userId: string): Promise<string | null>;
  admin: AdminCheck;
  log: Logger;
  now?: () => Date;
}

export class TabAccess {
  private readonly now: () => Date;

  constructor(private readonly deps: TabAccessDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Who the caller is, whether they see the admin dashboard (a failed membership read: no), and their zone. */
  async me(caller: TabCaller) {
    const me = caller.user.oid.toLowerCase();
    const [isAdmin, timeZone] = await Promise.all([
      isTabAdmin(this.deps.admin, me).catch((err: unknown) => {
        this.deps.log.warn({ err: { message: (err as Error).message } }, 'tab: admin membership not read; not an admin');
        return false;
      }),
      this.deps.zoneOf(me).catch(() => null),
    ]);
    return { user: { id: me, name: caller.user.name, upn: caller.user.upn }, isAdmin, timeZone };
  }

  /** The caller's eligible, active and expired assignments, with the actions PIM allows on each. */
  async access(caller: TabCaller) {
    const svc = this.deps.selfServiceFor(caller.token);
    const now = this.now();
    try {
      const [eligible, active, expired] = await Promise.all([svc.eligible(), svc.active(), svc.expired(now)]);
      return accessLists({ eligible, active, expired }, now);
    } catch (err) {
      throw refusalError(classifyRefusal(err), 'Your assignments could not be read from PIM');
    }
  }

  /** The caller's zone for times written in a message (their mailbox's, else UTC, which the text names). */
  private async zoneOf(userId: string): Promise<string> {
    return (await this.deps.zoneOf(userId).catch(() => null)) ?? 'UTC';
  }

  /** Re-resolves a key against the user's own list from PIM: 404 when it is not theirs (or not there any more). */
  private resolve<T extends ActivationTarget>(list: T[], k: string, what: string): T {
    const wanted = parseAccessKey(k);
    if (!wanted) throw new TabError(400, 'bad_key', 'key is not one this API returned: pass an access item key unchanged.', 'key');
    const found = list.find((t) => targetKey(t) === targetKey({ ...wanted, displayName: '' }));
    if (!found) throw new TabError(404, 'not_in_your_access', `PIM does not list this among your ${what} assignments (any more); reload My access.`, 'key');
    return found;
  }

  private async read<T>(p: () => Promise<T>, what: string): Promise<T> {
    try {
      return await p();
    } catch (err) {
      throw refusalError(classifyRefusal(err), what);
    }
  }

  /**
   * Activation: the chat's own steps. The offer (already active or pending? PIM's policy for the values), a
   * draft, and the chat's submission (eligibility read again, policy, one PIM request per draft, audit, the
   * chat request whose status message follows it in the caller's personal chat).
   */
  async activate(caller: TabCaller, input: unknown, log: Logger) {
    const body = parseBody(activateBody, input);
    const me = caller.user.oid.toLowerCase();
    const svc = this.deps.selfServiceFor(caller.token);
    const eligible = await this.read(() => svc.eligible(), 'Your eligible assignments could not be read from PIM');
    const target = this.resolve(eligible, body.key, 'eligible');
    const zone = await this.zoneOf(me);
    const values = {
      durationMinutes: body.durationMinutes ?? null,
      justification: body.justification,
      ticketNumber: body.ticket?.number ?? null,
      ticketSystem: body.ticket?.number ? (body.ticket.system ?? null) : null,
    };
    const offer = await this.read(() => offerActivation(this.deps.offer, svc, { userId: me, target, values, timeZone: zone }), 'Not submitted');
    if (offer.kind === 'alreadyActive') throw new TabError(409, 'already_active', `${target.displayName} is already active; nothing was sent to PIM.`);
    if (offer.kind === 'alreadyPending') throw new TabError(409, 'already_pending', `A request for ${target.displayName} is already waiting in PIM.`);
    if (offer.problems.length) {
      throw new TabError(422, 'policy_problems', offer.problems.join(' '), undefined, {
        problems: offer.problems,
        policy: {
          maximumMinutes: offer.policy.maximumMinutes,
          ticketRequired: offer.policy.ticketRequired,
          justificationRequired: offer.policy.justificationRequired,
        },
      });
    }
    const ready = await this.deps.submission.prepare(me, offer.draftId, {});
    if (ready.kind !== 'ready') throw new TabError(409, 'not_submitted', 'The activation could not be prepared; try again.');
    const conversation = await this.deps.conversations.get(me).catch(() => undefined);
    const result = await this.deps.submission.submit({
      userId: me,
      draft: ready.draft,
      target: ready.target,
      values: ready.values,
      pim: svc,
      statusMessage: { conversationRef: JSON.stringify(conversation ?? {}), replyToId: null },
      log: log.child({ via: 'tab', kind: target.kind }),
    });
    switch (result.kind) {
      case 'submitted': {
        const r = result.request;
        const approval = r.approval_key ? await this.deps.requests.byPimId(r.approval_key).catch(() => undefined) : undefined;
        return {
          result: r.state,
          message:
            r.state === 'pending'
              ? `Requested ${target.displayName}: waiting for approval${r.approver_names !== '[]' ? ` (${(JSON.parse(r.approver_names) as string[]).join(', ')})` : ''}.`
              : r.state === 'active'
                ? `${target.displayName} is active until ${r.active_until ? formatTime(r.active_until, zone) : "PIM's end time"}.`
                : `PIM answered: ${r.state}.${r.message ? ` ${r.message}` : ''}`,
          requestId: approval?.id,
          activeUntil: r.state === 'active' ? r.active_until : null,
          pimRequestId: r.pim_request_id,
          chatRequestId: r.id,
        };
      }
      case 'notEligible':
        throw new TabError(403, 'not_eligible', `PIM no longer lists you as eligible for ${target.displayName}; nothing was sent.`);
      case 'needsChanges':
        throw new TabError(422, 'policy_problems', result.problems.join(' '), undefined, { problems: result.problems });
      case 'inProgress':
        throw new TabError(409, 'in_progress', 'This activation is being submitted already.');
      case 'refused':
        throw refusalError(result.refusal, `PIM did not accept the request for ${target.displayName}`);
      default:
        throw new Error('unreachable');
    }
  }

  /** selfExtend of an eligibility ending within 14 days (roles and Azure resources), audited as the digest's Extend is. */
  async extend(caller: TabCaller, input: unknown) {
    const body = parseBody(extendBody, input);
    const me = caller.user.oid.toLowerCase();
    const svc = this.deps.selfServiceFor(caller.token);
    const now = this.now();
    const target = this.resolve(await this.read(() => svc.eligible(), 'Your eligible assignments could not be read from PIM'), body.key, 'eligible');
    if (target.kind === 'group')
      throw new TabError(409, 'no_self_extend', 'PIM for Groups has no self-extension: ask an owner of the group or your PIM administrator.');
    if (!target.eligibleUntil) throw new TabError(409, 'no_expiry', `Your eligibility for ${target.displayName} does not expire.`);
    const opens = Date.parse(target.eligibleUntil) - EXTEND_WINDOW_DAYS * DAY_MS;
    if (opens > now.getTime())
      throw new TabError(
        409,
        'window_not_open',
        `PIM accepts an extension from ${formatTime(new Date(opens).toISOString(), await this.zoneOf(me))} (14 days before the end).`,
        undefined,
        {
          opensAt: new Date(opens).toISOString(),
        },
      );
    const ref = { kind: target.kind, roleDefinitionId: target.roleDefinitionId, scope: target.scope, assignment: 'eligible' };
    try {
      const r = await svc.extend(target, { principalId: me, justification: body.justification, extendByDays: EXTEND_BY_DAYS, start: now });
      await this.audited(digestActionEntry(me, { action: 'extend', outcome: 'requested', target: ref, pimRequestId: r.pimRequestId, status: r.status }, now));
      return {
        result: 'requested',
        message: `Asked PIM to extend ${target.displayName} by ${EXTEND_BY_DAYS} days (${r.status}).`,
        pimRequestId: r.pimRequestId,
      };
    } catch (err) {
      const refusal = classifyRefusal(err);
      await this.audited(digestActionEntry(me, { action: 'extend', outcome: 'refused', target: ref, status: refusal.kind }, now));
      throw refusalError(refusal, `PIM did not accept the extension of ${target.displayName}`);
    }
  }

  /** selfRenew of an eligibility that ended within 30 days (roles and Azure resources), audited as the digest's Renew is. */
  async renew(caller: TabCaller, input: unknown) {
    const body = parseBody(renewBody, input);
    const me = caller.user.oid.toLowerCase();
    const svc = this.deps.selfServiceFor(caller.token);
    const now = this.now();
    const target = this.resolve(await this.read(() => svc.expired(now), 'Your expired assignments could not be read from PIM'), body.key, 'expired');
    if (target.kind === 'group') throw new TabError(409, 'no_self_renew', 'PIM for Groups has no self-renewal: ask your PIM administrator.');
    const ref = { kind: target.kind, roleDefinitionId: target.roleDefinitionId, scope: target.scope, assignment: 'expired' };
    try {
      const r = await svc.renew(target, { principalId: me, justification: body.justification, renewForDays: RENEW_FOR_DAYS, start: now });
      await this.audited(digestActionEntry(me, { action: 'renew', outcome: 'requested', target: ref, pimRequestId: r.pimRequestId, status: r.status }, now));
      return {
        result: 'requested',
        message: `Asked PIM to renew ${target.displayName} for ${RENEW_FOR_DAYS} days (${r.status}).`,
        pimRequestId: r.pimRequestId,
      };
    } catch (err) {
      const refusal = classifyRefusal(err);
      await this.audited(digestActionEntry(me, { action: 'renew', outcome: 'refused', target: ref, status: refusal.kind }, now));
      throw refusalError(refusal, `PIM did not accept the renewal of ${target.displayName}`);
    }
  }

  /** Ends a running activation now (selfDeactivate), and the chat request that activated it says so. */
  async end(caller: TabCaller, input: unknown, log: Logger) {
    const body = parseBody(endBody, input);
    const me = caller.user.oid.toLowerCase();
    const svc = this.deps.selfServiceFor(caller.token);
    const active = await this.read(() => svc.active(), 'Your active assignments could not be read from PIM');
    const target = this.resolve(
      active.filter((a) => a.assignmentType === 'Activated'),
      body.key,
      'activated',
    );
    try {
      await svc.deactivate(target, me);
    } catch (err) {
      const from = endableFrom(err, target.startDateTime);
      if (from)
        throw new TabError(
          409,
          'too_soon_to_end',
          `PIM ends an activation only once it has run 5 minutes: try again from ${formatTime(from, await this.zoneOf(me))}.`,
          undefined,
          {
            endableFrom: from,
          },
        );
      if ((err as { code?: string }).code !== 'RoleAssignmentDoesNotExist') throw refusalError(classifyRefusal(err), `PIM did not end ${target.displayName}`);
    }
    const at = this.now().toISOString();
    for (const row of await this.deps.chat.requestsOf(me, 50)) {
      if (row.state !== 'active' || !sameTarget(chatRequestTarget(row), target)) continue;
      // The status sweep rewrites the chat's status message (its version moved).
      await this.deps.chat.updateRequest(row.id, { state: 'ended', ended_at: at });
    }
    log.info({ kind: target.kind, via: 'tab' }, 'activation ended early by its user');
    return { result: 'ended', message: `Your ${target.displayName} activation has ended.` };
  }

  /** The caller's own pending request, or why not: 404 unknown, 403 someone else's, 409 not pending. */
  private async ownPending(caller: TabCaller, requestId: string) {
    const id = requestIdParam.safeParse(requestId);
    if (!id.success) throw new TabError(400, 'bad_request_id', id.error.issues[0]!.message, 'requestId');
    const row = await this.deps.requests.get(id.data);
    if (!row) throw new TabError(404, 'unknown_request', 'The bot knows no request with this id.');
    if (row.principal_id.toLowerCase() !== caller.user.oid.toLowerCase())
      throw new TabError(403, 'not_requester', 'Only the person who made the request can do this.');
    if (row.status !== 'pending') throw new TabError(409, 'not_pending', 'This request is no longer waiting.', undefined, { request: requestItem(row) });
    return row;
  }

  /** "Remind approvers": the reminder ladder's requester reminder (at most once per interval; 429 inside it). */
  async remind(caller: TabCaller, requestId: string) {
    const row = await this.ownPending(caller, requestId);
    if (!this.deps.reminders) throw new TabError(503, 'reminders_off', 'Reminders are not available here.');
    const message = await this.deps.reminders.remindNow(row, caller.user.oid.toLowerCase());
    if (/you can ask again|were just reminded/i.test(message)) throw new TabError(429, 'remind_too_soon', message);
    if (!message.startsWith('I reminded')) throw new TabError(409, 'not_pending', message);
    return { result: 'reminded', message };
  }

  /**
   * Cancel: the chat's cancel (PIM as the user, then the chat request and the approvers' cards); a request made
   * outside the chat is cancelled in PIM the same way and its cards closed alike.
   */
  async cancel(caller: TabCaller, requestId: string, log: Logger) {
    const row = await this.ownPending(caller, requestId);
    const svc = this.deps.selfServiceFor(caller.token);
    const me = caller.user.oid.toLowerCase();
    const chatRow = (await this.deps.chat.requestsByApprovalKey(row.pim_request_id)).find((c) => c.user_id === me && c.state === 'pending');
    const l = log.child({ requestId: row.id, via: 'tab' });
    if (chatRow) {
      const outcome = await cancelChatRequest(this.deps.cancel, svc, chatRow, l);
      if (outcome.kind === 'refused') throw refusalError(outcome.refusal, 'PIM did not cancel the request');
    } else {
      try {
        await svc.cancel({ kind: row.kind as AccessKind, scope: row.scope }, row.pim_request_id);
      } catch (err) {
        throw refusalError(classifyRefusal(err), 'PIM did not cancel the request');
      }
      await closeApprovalAsCancelled(this.deps.cancel, row, this.now().toISOString(), l);
      l.info({ pimRequestId: row.pim_request_id }, 'request cancelled by the requester');
    }
    const after = await this.deps.requests.get(row.id);
    return { result: 'cancelled', message: 'Cancelled: approvers no longer see it as waiting.', request: after ? requestItem(after) : null };
  }

  private async audited(entry: AuditEntry): Promise<void> {
    await this.deps.audit
      .record(entry)
      .catch((err: unknown) => this.deps.log.error({ err: { message: (err as Error).message } }, 'audit: the tab action could not be recorded'));
  }
}
