import { type AdminScheduleInput, applyAdminSchedule } from './pim-admin-actions';
import { randomUUID } from 'node:crypto';
import type { SimContext } from './context';
import { callCustomExtension } from './custom-extension';
import { linkedCustomExtension } from './graph-applications';
import type { SeedEligibilityEnd, SeedRole } from './seed';
import { CANCELABLE_STATUSES, durationOf, type ApprovalStep, type PimKind, type PimRequest, type RequestExpiration, type ReviewResult } from './state';

/** What a self-activation or self-extension is for, whichever PIM files it. */
interface FilingTarget {
  kind: PimKind;
  /** Entra role id, `member`/`owner`, or the ARM role definition path. */
  roleDefinitionId: string;
  /** '/' for Entra roles, the group id, or the ARM scope. */
  target: string;
  policy: SeedRole['policy'];
  eligible: string[];
  /** The seeded role, group or Azure role whose eligibility ends apply. */
  ends: { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> };
  accessId?: 'member' | 'owner';
  armName?: string;
}

/**
 * What the caller's token proves. `acrs` absent means the caller (the portal, the control API) already
 * satisfied any authentication context; present, it is the token's `acrs` claim.
 */
export interface CallerStrength {
  mfaSatisfied: boolean;
  acrs?: readonly string[];
}

/** The claims challenge (JSON) PIM asks for when an authentication context is missing; its messages URL-encode it. */
export function acrsClaimsChallenge(context: string): string {
  return JSON.stringify({ access_token: { acrs: { essential: true, value: context } } });
}

/** The group id, ARM scope, or '/' a request is for. */
export function targetOf(r: PimRequest): string {
  return r.kind === 'group' ? r.groupId! : r.kind === 'azureResource' ? r.scope! : '/';
}

const DAY_MS = 24 * 3600 * 1000;

/** Entra roles' default approvers when a policy names none: Privileged Role Administrator, Global Administrator. */
export const DEFAULT_APPROVER_ROLES = ['e8611ab8-c189-46e8-94e1-60213ab1f814', '62e90394-69f5-4237-9190-012177145e10'] as const;

/** PIM's escalationTimeInMinutes for a policy with escalation approvers (seeded, or 720); null without escalation. */
export function escalationMinutesOf(policy: SeedRole['policy']): number | null {
  if (!(policy.escalationApprovers ?? []).length) return null;
  return policy.escalationTimeInMinutes ?? 720;
}
/** PIM lets users ask to extend assignments that expire within the next 14 days. */
export const EXTEND_WINDOW_DAYS = 14;
/** PIM ends an activation at its principal's request only once it has run this long. */
export const DEACTIVATE_AFTER_MS = 5 * 60_000;

/** A selfExtend: the eligible assignment to extend and, optionally, the new schedule asked for. */
export interface ExtensionInput {
  principalId: string;
  roleDefinitionId: string;
  justification?: string | null;
  /** Absent: the administrator picks the new end (`notSpecified`). */
  expiration?: RequestExpiration;
  startDateTime?: string | null;
  ticketNumber?: string | null;
  ticketSystem?: string | null;
}

/**
 * A schedule request as clients send it to Graph (and ARM, under `properties`), and as PIM posts it to a
 * custom extension: the fields the simulator reads, typed as the APIs document them. Nothing is checked by
 * the type; the handlers check what PIM checks.
 */
export interface ScheduleRequestBody {
  id?: string;
  action?: string;
  requestType?: string;
  principalId?: string;
  roleDefinitionId?: string;
  directoryScopeId?: string | null;
  groupId?: string;
  accessId?: string;
  justification?: string | null;
  scheduleInfo?: {
    startDateTime?: string | null;
    expiration?: { type?: string; duration?: string | null; endDateTime?: string | null } | null;
  } | null;
  ticketInfo?: { ticketNumber?: string | null; ticketSystem?: string | null } | null;
}

export interface ActivationInput {
  principalId: string;
  roleDefinitionId: string;
  justification?: string | null;
  /** ISO 8601 duration. */
  duration: string;
  ticketNumber?: string | null;
  ticketSystem?: string | null;
  startDateTime?: string | null;
}

/**
 * The expiration an extension asks for, from Graph's or ARM's casing (`afterDuration`/`AfterDuration`,
 * `afterDateTime`, `notSpecified`); absent means the administrator decides. A string is the error.
 */
export function parseExtensionExpiration(exp: unknown): RequestExpiration | string {
  if (exp === undefined || exp === null) return { type: 'notSpecified' };
  if (typeof exp !== 'object') return 'scheduleInfo.expiration must be an object.';
  const e = exp as { type?: unknown; duration?: unknown; endDateTime?: unknown };
  const type = String(e.type ?? '').toLowerCase();
  if (type === 'afterduration') {
    if (typeof e.duration !== 'string' || !parseIsoDuration(e.duration)) return "scheduleInfo.expiration.duration must be an ISO 8601 duration such as 'P90D'.";
    return { type: 'afterDuration', duration: e.duration };
  }
  if (type === 'afterdatetime') {
    if (typeof e.endDateTime !== 'string' || Number.isNaN(Date.parse(e.endDateTime))) return 'scheduleInfo.expiration.endDateTime must be a date and time.';
    return { type: 'afterDateTime', endDateTime: e.endDateTime };
  }
  if (type === 'notspecified' || type === '') return { type: 'notSpecified' };
  return `scheduleInfo.expiration.type '${String(e.type)}' is not supported for an extension; use afterDuration, afterDateTime or leave it out.`;
}

export type ActivationResult = { ok: true; request: PimRequest } | { ok: false; status: number; code: string; message: string };

export type DecisionResult = { ok: true; request: PimRequest } | { ok: false; status: number; code: string; message: string };

export function parseIsoDuration(d: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(d);
  if (!m || d.toUpperCase() === 'P' || d.toUpperCase().endsWith('T')) return undefined;
  const [, days, h, min, s] = m;
  return ((Number(days ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

const policyError = (rules: string[]): ActivationResult => ({
  ok: false,
  status: 400,
  code: 'RoleAssignmentRequestPolicyValidationFailed',
  message: `The following policy rules failed: [${rules.map((r) => JSON.stringify(r)).join(',')}]`,
});

/** PIM's own behaviour: policy checks, the pre-approval callout, approvals and the 24-hour expiry. */
export class PimEngine {
  constructor(private readonly ctx: SimContext) {}

  private get state() {
    return this.ctx.state;
  }

  private roleTarget(roleDefinitionId: string): FilingTarget | ActivationResult {
    const role = this.state.role(roleDefinitionId);
    if (!role || role.displayName.toLowerCase() === roleDefinitionId.toLowerCase()) {
      return { ok: false, status: 400, code: 'RoleNotFound', message: `The role definition '${roleDefinitionId}' does not exist.` };
    }
    return { kind: 'entraRole', roleDefinitionId: role.id, target: '/', policy: role.policy, eligible: role.eligible, ends: role };
  }

  private groupTarget(groupId: string, accessId: string): FilingTarget | ActivationResult {
    const found = this.state.pimGroup(groupId);
    if (!found) return { ok: false, status: 400, code: 'GroupNotFound', message: `The group '${groupId}' is not onboarded to PIM.` };
    if (accessId !== 'member' && accessId !== 'owner') {
      return { ok: false, status: 400, code: 'BadRequest', message: `accessId must be 'member' or 'owner', not '${accessId}'.` };
    }
    return {
      kind: 'group',
      roleDefinitionId: accessId,
      target: found.group.id,
      policy: found.pim.policy,
      eligible: found.pim.eligible[accessId],
      ends: found.pim,
      accessId,
    };
  }

  private azureTarget(roleDefinitionId: string, scope: string, name?: string): FilingTarget | ActivationResult {
    const role = this.state.azureRole(roleDefinitionId, scope);
    if (!role)
      return {
        ok: false,
        status: 400,
        code: 'RoleDefinitionDoesNotExist',
        message: `The role definition '${roleDefinitionId}' has no eligible assignments at scope '${scope}'.`,
      };
    const path = `${role.scope}/providers/Microsoft.Authorization/roleDefinitions/${role.id}`;
    return { kind: 'azureResource', roleDefinitionId: path, target: role.scope, policy: role.policy, eligible: role.eligible, ends: role, armName: name };
  }

  /**
   * Validates and files a self-activation, calls the custom extension if configured and applies the
   * verdict. `mfaSatisfied: false` fails roles whose enablement rules demand MFA (portal requests skip it);
   * `acrs` without the policy's authentication context fails with PIM's claims challenge.
   */
  async activate(input: ActivationInput, opts: CallerStrength): Promise<ActivationResult> {
    const t = this.roleTarget(input.roleDefinitionId);
    if ('ok' in t) return t;
    return this.file(t, { ...input, roleDefinitionId: t.roleDefinitionId }, opts);
  }

  /** PIM for Groups: a member or owner self-activation for a PIM-enabled group. */
  async activateGroup(
    input: Omit<ActivationInput, 'roleDefinitionId'> & { groupId: string; accessId: string },
    opts: CallerStrength,
  ): Promise<ActivationResult> {
    const t = this.groupTarget(input.groupId, input.accessId);
    if ('ok' in t) return t;
    return this.file(t, { ...input, roleDefinitionId: input.accessId }, opts);
  }

  /** Azure resources: a SelfActivate role assignment schedule request at an ARM scope. */
  async activateAzure(input: ActivationInput & { scope: string; name?: string }, opts: CallerStrength): Promise<ActivationResult> {
    const t = this.azureTarget(input.roleDefinitionId, input.scope, input.name);
    if ('ok' in t) return t;
    return this.file(t, { ...input, roleDefinitionId: t.roleDefinitionId }, opts);
  }

  /** Entra roles: a selfExtend of an eligible assignment that expires within 14 days. */
  extend(input: ExtensionInput, collection: PimRequest['collection'] = 'assignment'): ActivationResult {
    const t = this.roleTarget(input.roleDefinitionId);
    return 'ok' in t ? t : this.fileExtension(t, input, collection);
  }

  /** Azure resources: a SelfExtend schedule request at an ARM scope. */
  extendAzure(input: ExtensionInput & { scope: string; name?: string }, collection: PimRequest['collection'] = 'assignment'): ActivationResult {
    const t = this.azureTarget(input.roleDefinitionId, input.scope, input.name);
    return 'ok' in t ? t : this.fileExtension(t, input, collection);
  }

  /**
   * An administrator extends (adminExtend) or renews (adminRenew) a user's eligible assignment: PIM applies it
   * at once, with no approval (sim/pim-admin-actions.ts).
   */
  adminSchedule(
    target:
      | { kind: 'entraRole'; roleDefinitionId: string }
      | { kind: 'group'; groupId: string; accessId: string }
      | { kind: 'azureResource'; roleDefinitionId: string; scope: string; name?: string },
    input: AdminScheduleInput,
  ): ActivationResult {
    const t =
      target.kind === 'entraRole'
        ? this.roleTarget(target.roleDefinitionId)
        : target.kind === 'group'
          ? this.groupTarget(target.groupId, target.accessId)
          : this.azureTarget(target.roleDefinitionId, target.scope, target.name);
    return 'ok' in t ? t : applyAdminSchedule(this.state, this.ctx.logger, t, input);
  }

  /** A pending request of the same kind, target, principal, role and action. */
  private pendingLike(kind: PimKind, target: string, principalId: string, roleDefinitionId: string, action: PimRequest['action']): PimRequest | undefined {
    for (const r of this.state.requests.values()) {
      this.refresh(r);
      if (
        r.kind === kind &&
        targetOf(r) === target &&
        r.principalId === principalId &&
        r.roleDefinitionId === roleDefinitionId &&
        r.action === action &&
        CANCELABLE_STATUSES.has(r.status)
      ) {
        return r;
      }
    }
    return undefined;
  }

  private fileExtension(t: FilingTarget, input: ExtensionInput, collection: PimRequest['collection']): ActivationResult {
    const user = this.state.user(input.principalId);
    if (!user) return { ok: false, status: 400, code: 'PrincipalNotFound', message: `The principal '${input.principalId}' does not exist.` };
    if (!this.state.isEligible(t.ends, t.eligible, user.id, t.accessId)) return policyError(['EligibilityRule']);
    if (this.pendingLike(t.kind, t.target, user.id, t.roleDefinitionId, 'selfExtend')) {
      return { ok: false, status: 400, code: 'PendingRoleAssignmentRequest', message: 'There is already an existing pending Role assignment request.' };
    }
    const now = this.state.now();
    const end = this.state.eligibilityEnd(t.ends, user.id, t.accessId);
    // No documented error code for this case was found. PIM's UI offers "Extend" only inside the
    // window, so the simulator answers with PIM's policy-validation code and says why in the message.
    if (end === null || Date.parse(end) - now.getTime() > EXTEND_WINDOW_DAYS * DAY_MS) {
      return {
        ok: false,
        status: 400,
        code: 'RoleAssignmentRequestPolicyValidationFailed',
        message:
          end === null
            ? `The eligible assignment is permanent: it does not expire within the next ${EXTEND_WINDOW_DAYS} days, so it cannot be extended.`
            : `The eligible assignment ends ${end}: it does not expire within the next ${EXTEND_WINDOW_DAYS} days, so it cannot be extended yet.`,
      };
    }
    const id = randomUUID();
    const request: PimRequest = {
      id,
      kind: t.kind,
      status: 'PendingAdminDecision',
      action: 'selfExtend',
      collection,
      principalId: user.id,
      roleDefinitionId: t.roleDefinitionId,
      directoryScopeId: '/',
      justification: input.justification ?? null,
      scheduleInfo: { startDateTime: input.startDateTime ?? now.toISOString(), expiration: input.expiration ?? { type: 'notSpecified' } },
      ticketInfo: { ticketNumber: input.ticketNumber ?? null, ticketSystem: input.ticketSystem ?? null },
      createdDateTime: now.toISOString(),
      completedDateTime: null,
      approvalId: null,
      targetScheduleId: id,
      ...(t.kind === 'azureResource' ? { scope: t.target, armName: t.armName ?? id } : {}),
    };
    this.state.requests.set(id, request);
    this.ctx.logger.info({ pimRequestId: id, kind: t.kind, principalId: user.id, roleDefinitionId: t.roleDefinitionId, eligibleUntil: end }, 'extension filed');
    return { ok: true, request };
  }

  /** Entra roles: the principal ends its running activation (selfDeactivate). */
  deactivate(principalId: string, roleDefinitionId: string): ActivationResult {
    const t = this.roleTarget(roleDefinitionId);
    return 'ok' in t ? t : this.endActivation(t, principalId);
  }

  /** PIM for Groups: the principal ends its running member or owner activation. */
  deactivateGroup(principalId: string, groupId: string, accessId: string): ActivationResult {
    const t = this.groupTarget(groupId, accessId);
    return 'ok' in t ? t : this.endActivation(t, principalId);
  }

  /** Azure resources: a SelfDeactivate request at an ARM scope. */
  deactivateAzure(principalId: string, roleDefinitionId: string, scope: string, name?: string): ActivationResult {
    const t = this.azureTarget(roleDefinitionId, scope, name);
    return 'ok' in t ? t : this.endActivation(t, principalId);
  }

  /**
   * Ends a running activation now. PIM refuses when there is none (`RoleAssignmentDoesNotExist`) and within
   * five minutes of the activation's start (`ActiveDurationTooShort`); otherwise the request is `Revoked`
   * at once (no approval, no custom extension) and the access ends.
   */
  private endActivation(t: FilingTarget, principalId: string): ActivationResult {
    const user = this.state.user(principalId);
    if (!user) return { ok: false, status: 400, code: 'PrincipalNotFound', message: `The principal '${principalId}' does not exist.` };
    const now = this.state.now();
    const instance = this.activeInstance(user.id, t.roleDefinitionId, now, t.target);
    if (!instance) return { ok: false, status: 400, code: 'RoleAssignmentDoesNotExist', message: 'The Role assignment does not exist.' };
    if (now.getTime() - Date.parse(instance.startDateTime) < DEACTIVATE_AFTER_MS) {
      return {
        ok: false,
        status: 400,
        code: 'ActiveDurationTooShort',
        message: 'The role assignment was activated less than 5 minutes ago. Try again once it has been active for 5 minutes.',
      };
    }
    instance.endDateTime = now.toISOString();
    const id = randomUUID();
    const request: PimRequest = {
      id,
      kind: t.kind,
      status: 'Revoked',
      action: 'selfDeactivate',
      collection: 'assignment',
      principalId: user.id,
      roleDefinitionId: t.roleDefinitionId,
      directoryScopeId: '/',
      justification: null,
      scheduleInfo: { startDateTime: now.toISOString(), expiration: { type: 'notSpecified' } },
      ticketInfo: { ticketNumber: null, ticketSystem: null },
      createdDateTime: now.toISOString(),
      completedDateTime: now.toISOString(),
      approvalId: null,
      targetScheduleId: instance.requestId,
      ...(t.kind === 'azureResource' ? { scope: t.target, armName: t.armName ?? id } : {}),
      ...(t.kind === 'group' ? { groupId: t.target, accessId: t.accessId } : {}),
    };
    this.state.requests.set(id, request);
    this.ctx.logger.info({ pimRequestId: id, kind: t.kind, principalId: user.id, roleDefinitionId: t.roleDefinitionId }, 'activation ended by its principal');
    return { ok: true, request };
  }

  /**
   * The requester cancels a pending request: only its principal, only while pending. Open approval
   * steps close unreviewed. `status` 404/403/400 as the APIs answer them.
   */
  cancel(id: string, callerId: string, kind: PimKind, collection: PimRequest['collection'] = 'assignment'): DecisionResult {
    const found = this.get(id, kind);
    const r = found?.collection === collection ? found : undefined;
    if (!r) return { ok: false, status: 404, code: 'NotFound', message: `The request '${id}' was not found.` };
    if (r.principalId.toLowerCase() !== callerId.toLowerCase()) {
      return { ok: false, status: 403, code: 'Forbidden', message: 'Only the principal of a request can cancel it.' };
    }
    if (!CANCELABLE_STATUSES.has(r.status)) {
      // Observed from PIM (ARM) when the request is no longer pending.
      return { ok: false, status: 400, code: 'RequestCannotBeCancelled', message: `Request is not in cancellable state. Its status is '${r.status}'.` };
    }
    const now = this.state.now().toISOString();
    r.status = 'Canceled';
    r.completedDateTime = now;
    for (const s of r.approval?.steps ?? []) if (s.status !== 'Completed') s.status = 'Completed';
    this.ctx.logger.info({ pimRequestId: r.id, kind }, 'request canceled by the requester');
    return { ok: true, request: r };
  }

  private async file(t: FilingTarget, input: ActivationInput, opts: CallerStrength): Promise<ActivationResult> {
    const user = this.state.user(input.principalId);
    if (!user) return { ok: false, status: 400, code: 'PrincipalNotFound', message: `The principal '${input.principalId}' does not exist.` };
    if (!this.state.isEligible(t.ends, t.eligible, user.id, t.accessId)) return policyError(['EligibilityRule']);

    const now = this.state.now();
    if (this.activeInstance(user.id, t.roleDefinitionId, now, t.target)) {
      return { ok: false, status: 400, code: 'RoleAssignmentExists', message: 'The Role assignment already exists.' };
    }
    if (this.pendingLike(t.kind, t.target, user.id, t.roleDefinitionId, 'selfActivate')) {
      return { ok: false, status: 400, code: 'PendingRoleAssignmentRequest', message: 'There is already an existing pending Role assignment request.' };
    }

    const context = t.policy.authenticationContext;
    if (context && opts.acrs && !opts.acrs.includes(context)) {
      // PIM's answer carries the claims challenge to acquire a token with (observed as `&claims=...`).
      return {
        ok: false,
        status: 400,
        code: 'RoleAssignmentRequestAcrsValidationFailed',
        message: `The role requires the Conditional Access authentication context '${context}', which the caller's token does not satisfy. Acquire a token with the claims challenge and retry: &claims=${encodeURIComponent(acrsClaimsChallenge(context))}`,
      };
    }

    const failed: string[] = [];
    const durationMs = parseIsoDuration(input.duration);
    const maxMs = parseIsoDuration(t.policy.maximumDuration) ?? Infinity;
    if (durationMs === undefined || durationMs <= 0 || durationMs > maxMs) failed.push('ExpirationRule');
    const rules = t.policy.enabledRules;
    // An authentication context replaces the MFA requirement in PIM's settings (they are exclusive).
    if (rules.includes('MultiFactorAuthentication') && !context && !opts.mfaSatisfied) failed.push('MfaRule');
    if (rules.includes('Justification') && !input.justification?.trim()) failed.push('JustificationRule');
    if (rules.includes('Ticketing') && !input.ticketNumber?.trim()) failed.push('TicketingRule');
    if (failed.length) return policyError(failed);

    const id = randomUUID();
    const request: PimRequest = {
      id,
      kind: t.kind,
      status: 'PendingEvaluation',
      action: 'selfActivate',
      collection: 'assignment',
      principalId: user.id,
      roleDefinitionId: t.roleDefinitionId,
      directoryScopeId: '/',
      justification: input.justification ?? null,
      scheduleInfo: {
        startDateTime: input.startDateTime ?? now.toISOString(),
        expiration: { type: 'afterDuration', duration: input.duration },
      },
      ticketInfo: { ticketNumber: input.ticketNumber ?? null, ticketSystem: input.ticketSystem ?? null },
      createdDateTime: now.toISOString(),
      completedDateTime: null,
      approvalId: null,
      targetScheduleId: id,
      ...(t.kind === 'group' ? { groupId: t.target, accessId: t.accessId ?? (t.roleDefinitionId as 'member' | 'owner') } : {}),
      ...(t.kind === 'azureResource' ? { scope: t.target, armName: t.armName ?? id } : {}),
    };
    this.state.requests.set(id, request);
    const log = this.ctx.logger.child({ pimRequestId: id, kind: t.kind, principalId: user.id, roleDefinitionId: t.roleDefinitionId });

    // One configured by hand wins; otherwise the extension the role's policy links (`npm run onboard`).
    const ext = this.ctx.customExtension() ?? (t.kind === 'entraRole' ? linkedCustomExtension(this.ctx, t.roleDefinitionId) : undefined);
    if (ext) {
      // The extension sees the status the request would take without it; PIM does not document the value.
      const result = await callCustomExtension(this.ctx, ext, request, t.policy.isApprovalRequired ? 'PendingApproval' : 'Provisioned');
      if (!result.ok) {
        // Fail closed: an unreachable or confused extension must never turn into access.
        request.status = 'Failed';
        request.failureReason = result.reason;
        request.completedDateTime = this.state.now().toISOString();
        log.warn({ reason: result.reason }, 'activation failed: custom extension');
        return { ok: true, request };
      }
      request.evaluation = result.evaluation;
      switch (result.evaluation.evaluationOutcome) {
        case 'Denied':
          request.status = 'Denied';
          request.completedDateTime = this.state.now().toISOString();
          return { ok: true, request };
        case 'AutoApproved':
          this.provision(request);
          return { ok: true, request };
        case 'Approved':
          break;
      }
    }
    if (t.policy.isApprovalRequired) this.openApproval(request, t.policy);
    else this.provision(request);
    log.info({ status: request.status }, 'activation filed');
    return { ok: true, request };
  }

  /**
   * Test and demo control: PIM holds a request exactly as a callout describes it (an Entra role or group
   * body, as PIM posts it to a custom extension), pending approval where the role's policy asks for one,
   * without calling the extension: the caller plays PIM's callout itself. Eligibility and policy rules are
   * not applied; an existing request with the id is replaced.
   */
  adopt(body: ScheduleRequestBody): ActivationResult {
    const id = typeof body.id === 'string' ? body.id.toLowerCase() : '';
    if (!/^[0-9a-f-]{36}$/.test(id)) return { ok: false, status: 400, code: 'BadRequest', message: 'id: a request id (GUID) is required.' };
    if (typeof body.principalId !== 'string') return { ok: false, status: 400, code: 'BadRequest', message: 'principalId: required.' };
    const group = typeof body.groupId === 'string';
    const now = this.state.now();
    const request: PimRequest = {
      id,
      kind: group ? 'group' : 'entraRole',
      status: 'PendingApproval',
      action: 'selfActivate',
      collection: 'assignment',
      principalId: body.principalId.toLowerCase(),
      roleDefinitionId: String(group ? body.accessId : body.roleDefinitionId).toLowerCase(),
      directoryScopeId: '/',
      justification: body.justification ?? null,
      scheduleInfo: {
        startDateTime: body.scheduleInfo?.startDateTime ?? now.toISOString(),
        expiration: { type: 'afterDuration', duration: body.scheduleInfo?.expiration?.duration ?? 'PT1H' },
      },
      ticketInfo: { ticketNumber: body.ticketInfo?.ticketNumber ?? null, ticketSystem: body.ticketInfo?.ticketSystem ?? null },
      createdDateTime: now.toISOString(),
      completedDateTime: null,
      approvalId: null,
      targetScheduleId: id,
      ...(group ? { groupId: String(body.groupId).toLowerCase(), accessId: body.accessId === 'owner' ? ('owner' as const) : ('member' as const) } : {}),
    };
    this.state.requests.set(id, request);
    const policy = group ? this.state.pimGroup(request.groupId!)?.pim.policy : this.state.role(request.roleDefinitionId)?.policy;
    if (policy?.isApprovalRequired) this.openApproval(request, policy);
    return { ok: true, request };
  }

  private openApproval(request: PimRequest, policy: SeedRole['policy']): void {
    const primary = this.primaryApprovers(request.kind, policy);
    const escalation = this.state.escalationApproverIds({ policy });
    const minutes = escalationMinutesOf(policy);
    const escalatesAt = escalation.length > 0 && minutes !== null ? new Date(this.state.now().getTime() + minutes * 60_000).toISOString() : null;
    const state = this.state;
    const step = {
      id: randomUUID(),
      displayName: null,
      status: 'InProgress',
      reviewResult: 'NotReviewed',
      reviewedDateTime: null,
      justification: null,
      reviewedBy: null,
      escalationApproverIds: escalation,
      escalatesAt,
      isApproverJustificationRequired: policy.isApproverJustificationRequired,
    } as Omit<ApprovalStep, 'approverIds'>;
    // Who may decide is read on the simulator clock, by every route that asks (assignedToMe, the approver
    // lists, the decision itself): the escalation approvers join once the escalation time has passed.
    Object.defineProperty(step, 'approverIds', {
      enumerable: true,
      get: (): string[] => (escalatesAt && state.now().getTime() >= Date.parse(escalatesAt) ? [...new Set([...primary, ...escalation])] : primary),
    });
    request.status = 'PendingApproval';
    // Graph's examples show approvalId equal to the request id; ARM approvals are resources of their own.
    const approvalId = request.kind === 'azureResource' ? randomUUID() : request.id;
    request.approvalId = request.kind === 'azureResource' ? `/providers/Microsoft.Authorization/roleAssignmentApprovals/${approvalId}` : approvalId;
    request.approval = { id: approvalId, steps: [step as ApprovalStep] };
  }

  /**
   * The approvers a step opens with. A policy that requires approval and names nobody falls back to PIM's
   * documented defaults: for Entra roles the Privileged Role Administrators and Global Administrators who
   * hold the role now (pim-how-to-change-default-settings.md, "Require approval to activate"). PIM for Groups
   * and Azure resources document no default approvers ("There are no default approvers": groups-role-settings.md,
   * pim-resource-roles-configure-role-settings.md): nobody may approve.
   */
  private primaryApprovers(kind: PimKind, policy: SeedRole['policy']): string[] {
    const named = this.state.approverIds({ policy });
    if (policy.primaryApprovers.length > 0 || kind !== 'entraRole') return named;
    return [...new Set(DEFAULT_APPROVER_ROLES.flatMap((roleId) => this.state.roleHolderIds(roleId)))];
  }

  private provision(request: PimRequest): void {
    const now = this.state.now();
    const requested = Date.parse(request.scheduleInfo.startDateTime);
    const start = new Date(Math.max(now.getTime(), Number.isNaN(requested) ? 0 : requested));
    const end = new Date(start.getTime() + (parseIsoDuration(durationOf(request) ?? '') ?? 0));
    request.status = 'Provisioned';
    request.completedDateTime = now.toISOString();
    this.state.instances.push({
      id: randomUUID(),
      kind: request.kind,
      target: targetOf(request),
      principalId: request.principalId,
      roleDefinitionId: request.roleDefinitionId,
      directoryScopeId: '/',
      startDateTime: start.toISOString(),
      endDateTime: end.toISOString(),
      requestId: request.id,
    });
  }

  activeInstance(principalId: string, roleId: string, now: Date, target = '/') {
    return this.state.instances.find(
      (i) => i.target === target && i.principalId === principalId && i.roleDefinitionId === roleId && Date.parse(i.endDateTime) > now.getTime(),
    );
  }

  /** Applies PIM's 24-hour limit lazily, whenever a request is read or decided. */
  refresh(request: PimRequest): PimRequest {
    if (request.status !== 'PendingApproval') return request;
    const created = Date.parse(request.createdDateTime);
    if (this.state.now().getTime() - created < DAY_MS) return request;
    request.status = 'TimedOut';
    request.completedDateTime = new Date(created + DAY_MS).toISOString();
    for (const s of request.approval?.steps ?? []) if (s.status !== 'Completed') s.status = 'Completed';
    this.ctx.logger.info({ pimRequestId: request.id }, 'PIM activation request expired');
    return request;
  }

  /** A request by id; with `kind`, only a request of that PIM (each API sees its own requests). */
  get(id: string, kind?: PimKind, collection?: PimRequest['collection']): PimRequest | undefined {
    const r = this.state.requests.get(id.toLowerCase()) ?? [...this.state.requests.values()].find((x) => x.id.toLowerCase() === id.toLowerCase());
    return r && (!kind || r.kind === kind) && (!collection || r.collection === collection) ? this.refresh(r) : undefined;
  }

  /** The Azure resource request whose approval has this id (the GUID or its full resource id). */
  byArmApproval(approvalId: string): PimRequest | undefined {
    const k = approvalId.toLowerCase().split('/').pop();
    const r = [...this.state.requests.values()].find((x) => x.kind === 'azureResource' && x.approval?.id.toLowerCase() === k);
    return r ? this.refresh(r) : undefined;
  }

  all(kind?: PimKind, collection?: PimRequest['collection']): PimRequest[] {
    return [...this.state.requests.values()]
      .filter((r) => (!kind || r.kind === kind) && (!collection || r.collection === collection))
      .map((r) => this.refresh(r));
  }

  /**
   * An approver's decision, with PIM's rules in PIM's order: who may decide (403), then the body (400),
   * then whether the step is still open (409: first decision wins; an expired step is closed too).
   */
  decide(requestId: string, approverId: string, reviewResult: unknown, justification: unknown, stepId?: string): DecisionResult {
    const request = this.get(requestId);
    if (!request?.approval) {
      return { ok: false, status: 404, code: 'NotFound', message: `The approval '${requestId}' was not found.` };
    }
    const step = stepId ? request.approval.steps.find((s) => s.id.toLowerCase() === stepId.toLowerCase()) : request.approval.steps[0];
    if (!step) return { ok: false, status: 404, code: 'NotFound', message: `The approval step '${stepId}' was not found.` };
    const approver = this.state.user(approverId);
    if (!approver) return { ok: false, status: 403, code: 'Forbidden', message: 'The caller is not a user of this tenant.' };
    if (approver.id === request.principalId) {
      return { ok: false, status: 403, code: 'Forbidden', message: 'Approvers cannot approve their own requests.' };
    }
    if (!step.approverIds.includes(approver.id)) {
      return { ok: false, status: 403, code: 'Forbidden', message: 'The caller is not an approver of this request.' };
    }
    if (reviewResult !== 'Approve' && reviewResult !== 'Deny') {
      return { ok: false, status: 400, code: 'BadRequest', message: `reviewResult must be 'Approve' or 'Deny', not '${String(reviewResult)}'.` };
    }
    const just = typeof justification === 'string' ? justification.trim() : '';
    if (step.isApproverJustificationRequired && !just) {
      return { ok: false, status: 400, code: 'BadRequest', message: 'A justification is required to review this request.' };
    }
    if (step.status === 'Completed') {
      const why =
        request.status === 'TimedOut'
          ? 'The request expired: PIM closes approvals after 24 hours.'
          : request.status === 'Canceled'
            ? 'The request was canceled by the requester.'
            : `The request was already reviewed (${step.reviewResult}) by ${step.reviewedBy?.displayName ?? 'another approver'}.`;
      return { ok: false, status: 409, code: 'Conflict', message: why };
    }
    const now = this.state.now().toISOString();
    step.status = 'Completed';
    step.reviewResult = reviewResult as ReviewResult;
    step.reviewedDateTime = now;
    step.justification = just || null;
    step.reviewedBy = { id: approver.id, displayName: approver.displayName, userPrincipalName: approver.userPrincipalName };
    if (reviewResult === 'Approve') this.provision(request);
    else {
      request.status = 'Denied';
      request.completedDateTime = now;
    }
    this.ctx.logger.info({ pimRequestId: request.id, approverId: approver.id, reviewResult }, 'approval decided');
    return { ok: true, request };
  }
}
