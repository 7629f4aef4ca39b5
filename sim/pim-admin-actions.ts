import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SeedEligibilityEnd } from './seed';
import type { PimKind, PimRequest, SimState } from './state';

const DAY_MS = 24 * 3600 * 1000;

/** PIM keeps an expired assignment visible, and renewable, for this long. */
export const RENEW_WINDOW_DAYS = 30;

/** Built-in Entra roles whose holders manage PIM assignments (template ids). */
export const PRIVILEGED_ROLE_ADMINISTRATOR = 'e8611ab8-c189-46e8-94e1-60213ab1f814';
export const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10';
/** Built-in Azure roles whose holders manage role assignments at a scope. */
export const AZURE_OWNER = '8e3af657-a8ff-4c85-8aa3-bc7c1e4b54b8';
export const AZURE_USER_ACCESS_ADMINISTRATOR = '18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d';

export type AdminScheduleAction = 'adminExtend' | 'adminRenew';

/** An eligible assignment an administrator changes: the seeded role, group or Azure role and whose ends apply. */
export interface AdminTarget {
  kind: PimKind;
  roleDefinitionId: string;
  /** '/' for Entra roles, the group id, or the ARM scope. */
  target: string;
  eligible: string[];
  ends: { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> };
  accessId?: 'member' | 'owner';
  armName?: string;
}

export interface AdminScheduleInput {
  /** The signed-in administrator (delegated token's oid). */
  callerId: string;
  action: AdminScheduleAction;
  principalId: string;
  justification: string | null;
  startDateTime?: string | null;
  /** The new end of the eligible assignment (ISO 8601). */
  endDateTime: string;
}

export type AdminScheduleResult = { ok: true; request: PimRequest } | { ok: false; status: number; code: string; message: string };

/**
 * Who PIM lets extend or renew an assignment of the target. Entra roles: Privileged Role Administrators and
 * Global Administrators. Groups: the group's owners and Global Administrators, and Privileged Role
 * Administrators when the group is role-assignable. Azure resources: Owners and User Access Administrators at
 * the scope or above. (The bot reads the same rules: services/graph/pim-admins.ts.)
 */
export function mayAdminister(state: SimState, callerId: string, t: Pick<AdminTarget, 'kind' | 'target'>): boolean {
  const id = callerId.toLowerCase();
  const holds = (templateId: string) => directoryRoleHolders(state, templateId).includes(id);
  switch (t.kind) {
    case 'entraRole':
      return holds(PRIVILEGED_ROLE_ADMINISTRATOR) || holds(GLOBAL_ADMINISTRATOR);
    case 'group': {
      const group = state.group(t.target);
      return (
        (group?.owners ?? []).some((o) => o.toLowerCase() === id) ||
        holds(GLOBAL_ADMINISTRATOR) ||
        (!!group?.isAssignableToRole && holds(PRIVILEGED_ROLE_ADMINISTRATOR))
      );
    }
    case 'azureResource':
      return azureRoleHolders(state, t.target, [AZURE_OWNER, AZURE_USER_ACCESS_ADMINISTRATOR]).includes(id);
    default:
      return false;
  }
}

/** Users who hold a directory role as a permanent active assignment, lower case (a group holder's members too). */
export function directoryRoleHolders(state: SimState, templateId: string): string[] {
  const role = state.seed.roles.find((r) => r.templateId.toLowerCase() === templateId.toLowerCase());
  return expandUsers(state, role?.assigned ?? []);
}

/** Users who hold one of the Azure roles at `scope` or a scope above it, lower case (groups expanded). */
export function azureRoleHolders(state: SimState, scope: string, roleIds: string[]): string[] {
  const s = scope.toLowerCase().replace(/\/$/, '');
  const held = (state.seed.azureRoleAssignments ?? []).filter((h) => {
    const at = h.scope.toLowerCase().replace(/\/$/, '');
    return roleIds.includes(h.roleDefinitionId.toLowerCase()) && (s === at || s.startsWith(`${at}/`));
  });
  return expandUsers(
    state,
    held.map((h) => h.principalId),
  );
}

function expandUsers(state: SimState, ids: string[]): string[] {
  const out = new Set<string>();
  for (const id of ids) {
    const group = state.group(id);
    if (group) for (const m of group.members) out.add(m.toLowerCase());
    else out.add(id.toLowerCase());
  }
  return [...out];
}

/**
 * An administrator's `adminExtend` (an eligible assignment that has not ended yet gets a later end) or
 * `adminRenew` (one that ended within the last 30 days starts again). Neither needs an approval: PIM applies
 * it at once (status Provisioned). Any pending selfExtend or selfRenew of the user is left as it is: PIM's
 * documentation does not say whether an administrator's action closes it (the README says so too).
 */
export function applyAdminSchedule(state: SimState, log: Logger, t: AdminTarget, input: AdminScheduleInput): AdminScheduleResult {
  const what = input.action === 'adminExtend' ? 'extend' : 'renew';
  if (!mayAdminister(state, input.callerId, t)) {
    return {
      ok: false,
      status: 403,
      code: 'Forbidden',
      message:
        t.kind === 'entraRole'
          ? `The caller may not ${what} assignments of this role: PIM lets Privileged Role Administrators and Global Administrators do that.`
          : t.kind === 'group'
            ? `The caller may not ${what} assignments of this group: PIM lets the group's owners and Global Administrators (and Privileged Role Administrators, for a role-assignable group) do that.`
            : `The caller may not ${what} assignments at this scope: PIM lets Owners and User Access Administrators of the scope do that.`,
    };
  }
  const user = state.user(input.principalId);
  if (!user) return { ok: false, status: 400, code: 'PrincipalNotFound', message: `The principal '${input.principalId}' does not exist.` };
  if (!t.eligible.some((u) => u.toLowerCase() === user.id.toLowerCase())) {
    return { ok: false, status: 400, code: 'RoleAssignmentDoesNotExist', message: 'The principal holds no eligible assignment of this role to change.' };
  }
  const newEnd = Date.parse(input.endDateTime);
  if (Number.isNaN(newEnd))
    return { ok: false, status: 400, code: 'BadRequest', message: 'scheduleInfo.expiration.endDateTime must be an ISO 8601 date and time.' };
  const now = state.now().getTime();
  const current = state.eligibilityEnd(t.ends, user.id, t.accessId);
  if (current === null) {
    return {
      ok: false,
      status: 400,
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: `The eligible assignment is permanent: there is no end to ${what}.`,
    };
  }
  const ended = Date.parse(current) <= now;
  if (input.action === 'adminExtend' && ended) {
    return {
      ok: false,
      status: 400,
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: `The eligible assignment ended ${current}: an expired assignment is renewed (adminRenew), not extended.`,
    };
  }
  if (input.action === 'adminRenew' && !ended) {
    return {
      ok: false,
      status: 400,
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: `The eligible assignment has not ended (it ends ${current}): extend it (adminExtend) instead.`,
    };
  }
  if (input.action === 'adminRenew' && now - Date.parse(current) > RENEW_WINDOW_DAYS * DAY_MS) {
    return {
      ok: false,
      status: 400,
      code: 'RoleAssignmentDoesNotExist',
      message: `The eligible assignment ended ${current}, more than ${RENEW_WINDOW_DAYS} days ago: PIM no longer keeps it, so it cannot be renewed. Assign the role again.`,
    };
  }
  if (newEnd <= now || newEnd <= Date.parse(current)) {
    return {
      ok: false,
      status: 400,
      code: 'RoleAssignmentRequestPolicyValidationFailed',
      message: `The following policy rules failed: ["ExpirationRule"]. The new end (${input.endDateTime}) must be later than now and than the current end (${current}).`,
    };
  }
  state.setEligibilityEnd(t.ends, user.id, t.accessId, new Date(newEnd).toISOString());
  const id = randomUUID();
  const nowIso = new Date(now).toISOString();
  const request: PimRequest = {
    id,
    kind: t.kind,
    status: 'Provisioned',
    action: input.action,
    collection: 'eligibility',
    principalId: user.id,
    roleDefinitionId: t.roleDefinitionId,
    directoryScopeId: '/',
    justification: input.justification,
    scheduleInfo: { startDateTime: input.startDateTime ?? nowIso, expiration: { type: 'afterDateTime', endDateTime: new Date(newEnd).toISOString() } },
    ticketInfo: { ticketNumber: null, ticketSystem: null },
    createdDateTime: nowIso,
    completedDateTime: nowIso,
    approvalId: null,
    targetScheduleId: id,
    requestedBy: input.callerId.toLowerCase(),
    ...(t.kind === 'group' ? { groupId: t.target, accessId: t.accessId } : {}),
    ...(t.kind === 'azureResource' ? { scope: t.target, armName: t.armName ?? id } : {}),
  };
  state.requests.set(id, request);
  log.info(
    { pimRequestId: id, action: input.action, kind: t.kind, principalId: user.id, endDateTime: new Date(newEnd).toISOString() },
    'eligibility changed by an administrator',
  );
  return { ok: true, request };
}

/** The new end an administrator's request names: `scheduleInfo.expiration` must be `{type: 'afterDateTime', endDateTime}`. */
export function adminEndOf(
  scheduleInfo: { expiration?: { type?: string; endDateTime?: string | null } | null } | null | undefined,
): string | { error: string } {
  const e = scheduleInfo?.expiration;
  if (String(e?.type ?? '').toLowerCase() !== 'afterdatetime' || typeof e?.endDateTime !== 'string' || Number.isNaN(Date.parse(e.endDateTime))) {
    return {
      error:
        "For adminExtend and adminRenew, scheduleInfo.expiration must be {type: 'afterDateTime', endDateTime: '<ISO 8601>'}: the new end of the assignment.",
    };
  }
  return e.endDateTime;
}

export function isAdminScheduleAction(action: unknown): action is AdminScheduleAction {
  return action === 'adminExtend' || action === 'adminRenew';
}

/** The administrator's request as PIM applies it: who asks, for whom, why and until when (the body's fields already checked). */
export function adminInputOf(
  callerId: string,
  action: AdminScheduleAction,
  body: { principalId?: string; justification?: string | null; scheduleInfo?: { startDateTime?: string | null } | null },
  endDateTime: string,
): AdminScheduleInput {
  return {
    callerId,
    action,
    principalId: String(body.principalId),
    justification: body.justification ?? null,
    startDateTime: body.scheduleInfo?.startDateTime,
    endDateTime,
  };
}
