import { randomUUID } from 'node:crypto';
import type { SimContext } from './context';
import { json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { type ActivationResult, type ExtensionInput, type PimEngine, parseExtensionExpiration, type ScheduleRequestBody } from './pim-engine';
import { CANCELABLE_STATUSES, type PimRequest } from './state';
import type { SeedEligibilityEnd, SeedPimGroup, SeedRole } from './seed';
import { contextUrl, type GraphCaller, graphCaller, graphError, isResponse, parseFilter } from './graph-common';
import { graphRequest } from './graph-pim';
import { graphRoleDefinition } from './graph-directory';
import { eligibilityEndsOf, lazyPage } from './pim-lists';

/**
 * PIM's renewal of an expired eligible assignment (`selfRenew`), and the schedule lists that keep an ended
 * eligibility readable while it can be renewed.
 *
 * Documented (entra-docs, pim-how-to-renew-extend.md): expired assignments stay visible for up to 30 days and
 * the affected user can "request to renew roles that are already expired"; administrators then decide (the
 * request waits as `PendingAdminDecision`, like a selfExtend). Graph's unifiedRoleEligibilityScheduleRequest
 * documents `selfRenew` as "for users to request to renew their expired assignments"; PIM for Groups has no
 * selfRenew (graph-pim-groups.ts refuses it). No documented error code was found for a renewal of an
 * assignment that has not expired, or expired more than 30 days ago: the simulator answers with PIM's
 * policy-validation code, as fileExtension does for an extension outside its window, and says why.
 */

const DAY_MS = 24 * 3600 * 1000;
/** PIM keeps an expired assignment, and its holder's Renew, for this many days. */
export const RENEW_WINDOW_DAYS = 30;

type EndsTarget = { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> };

/** When the user's eligibility ended, if it ended within the renewal window before `now`; else null. */
export function renewableEnd(ctx: SimContext, ends: EndsTarget, eligible: string[], userId: string, accessId?: string): string | null {
  if (!eligible.some((u) => u.toLowerCase() === userId.toLowerCase())) return null;
  const end = ctx.state.eligibilityEnd(ends, userId, accessId);
  if (end === null) return null;
  const now = ctx.state.now().getTime();
  const at = Date.parse(end);
  return at <= now && now - at <= RENEW_WINDOW_DAYS * DAY_MS ? end : null;
}

const policyRefusal = (message: string): ActivationResult => ({ ok: false, status: 400, code: 'RoleAssignmentRequestPolicyValidationFailed', message });

/** Entra roles: a selfRenew of the caller's eligibility that ended within the last 30 days. */
export function fileRenewal(ctx: SimContext, pim: PimEngine, input: ExtensionInput, collection: PimRequest['collection']): ActivationResult {
  const role = ctx.state.role(input.roleDefinitionId);
  if (!role || role.displayName.toLowerCase() === input.roleDefinitionId.toLowerCase()) {
    return { ok: false, status: 400, code: 'RoleNotFound', message: `The role definition '${input.roleDefinitionId}' does not exist.` };
  }
  const user = ctx.state.user(input.principalId);
  if (!user) return { ok: false, status: 400, code: 'PrincipalNotFound', message: `The principal '${input.principalId}' does not exist.` };
  if (!role.eligible.some((u) => u.toLowerCase() === user.id.toLowerCase())) return policyRefusal('The following policy rules failed: ["EligibilityRule"]');
  const end = ctx.state.eligibilityEnd(role, user.id);
  const now = ctx.state.now();
  if (end === null || Date.parse(end) > now.getTime()) {
    return policyRefusal(
      end === null
        ? 'The eligible assignment is permanent and has not expired, so there is nothing to renew.'
        : `The eligible assignment has not expired (it ends ${end}): renew applies to expired assignments; ask to extend it instead.`,
    );
  }
  if (!renewableEnd(ctx, role, role.eligible, user.id)) {
    return policyRefusal(
      `The eligible assignment expired ${end}, more than ${RENEW_WINDOW_DAYS} days ago: PIM renews an expired assignment only within ${RENEW_WINDOW_DAYS} days. Ask an administrator to assign it again.`,
    );
  }
  const pending = pim
    .all('entraRole')
    .find((r) => r.principalId === user.id && r.roleDefinitionId === role.id && r.action === 'selfRenew' && CANCELABLE_STATUSES.has(r.status));
  if (pending) {
    return { ok: false, status: 400, code: 'PendingRoleAssignmentRequest', message: 'There is already an existing pending Role assignment request.' };
  }
  const id = randomUUID();
  const request: PimRequest = {
    id,
    kind: 'entraRole',
    status: 'PendingAdminDecision',
    action: 'selfRenew',
    collection,
    principalId: user.id,
    roleDefinitionId: role.id,
    directoryScopeId: '/',
    justification: input.justification ?? null,
    scheduleInfo: { startDateTime: input.startDateTime ?? now.toISOString(), expiration: input.expiration ?? { type: 'notSpecified' } },
    ticketInfo: { ticketNumber: input.ticketNumber ?? null, ticketSystem: input.ticketSystem ?? null },
    createdDateTime: now.toISOString(),
    completedDateTime: null,
    approvalId: null,
    targetScheduleId: id,
  };
  ctx.state.requests.set(id, request);
  ctx.logger.info({ pimRequestId: id, principalId: user.id, roleDefinitionId: role.id, expiredAt: end }, 'renewal filed');
  return { ok: true, request };
}

/**
 * `POST roleEligibilityScheduleRequests` with `action: 'selfRenew'` (graph-pim.ts dispatches it here). No request
 * body for selfRenew is published; the simulator takes selfExtend's documented shape (principalId, roleDefinitionId,
 * directoryScopeId, justification, scheduleInfo, ticketInfo) and PIM's self-service rules: a user token with the
 * write permission, the caller as principal.
 */
export function selfRenewRequest(ctx: SimContext, pim: PimEngine, req: SimRequest, body: ScheduleRequestBody, caller: GraphCaller): SimResponse {
  if (caller.kind !== 'user')
    return graphError(req, 403, 'Forbidden', 'selfRenew is not supported with application permissions; call it with a delegated (user) token.');
  if (!caller.scopes.some((s) => s === 'RoleAssignmentSchedule.ReadWrite.Directory' || s === 'RoleManagement.ReadWrite.Directory'))
    return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleAssignmentSchedule.ReadWrite.Directory.');
  if (typeof body.principalId !== 'string' || body.principalId.toLowerCase() !== caller.oid.toLowerCase())
    return graphError(req, 400, 'BadRequest', 'For selfRenew the principalId must be the signed-in user.');
  if (typeof body.roleDefinitionId !== 'string') return graphError(req, 400, 'BadRequest', 'roleDefinitionId is required.');
  if ((body.directoryScopeId ?? '/') !== '/') return graphError(req, 400, 'BadRequest', "The simulator supports directoryScopeId '/' only.");
  const expiration = parseExtensionExpiration(body.scheduleInfo?.expiration);
  if (typeof expiration === 'string') return graphError(req, 400, 'BadRequest', expiration);
  const result = fileRenewal(
    ctx,
    pim,
    {
      principalId: body.principalId,
      roleDefinitionId: body.roleDefinitionId,
      justification: body.justification,
      expiration,
      startDateTime: body.scheduleInfo?.startDateTime,
      ticketNumber: body.ticketInfo?.ticketNumber,
      ticketSystem: body.ticketInfo?.ticketSystem,
    },
    'eligibility',
  );
  if (!result.ok) return graphError(req, result.status, result.code, result.message);
  return json(201, {
    '@odata.context': contextUrl(req, 'roleManagement/directory/roleEligibilityScheduleRequests/$entity'),
    ...graphRequest(ctx, result.request),
  });
}

/** The schedule's `scheduleInfo`: permanent, or ending at `end` (epoch ms). */
function scheduleInfo(end: number | null): Record<string, unknown> {
  return {
    startDateTime: '2025-01-01T00:00:00Z',
    recurrence: null,
    expiration:
      end === null
        ? { type: 'noExpiration', endDateTime: null, duration: null }
        : { type: 'afterDateTime', endDateTime: new Date(end).toISOString(), duration: null },
  };
}

/**
 * `roleEligibilitySchedules` (and its filterByCurrentUser): unlike the instances, which list only current
 * eligibility, the schedules keep one that ended within the last 30 days (PIM's "Expired" tab). Graph documents
 * no `Expired` status for a schedule; the end in `scheduleInfo.expiration.endDateTime` is what tells it.
 */
export function roleEligibilitySchedules(ctx: SimContext, req: SimRequest, onlyPrincipal?: string): SimResponse {
  const clauses = parseFilter(req.query.get('$filter'));
  if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
  const now = ctx.state.now().getTime();
  const expandRole = /\broleDefinition\b/i.test(req.query.get('$expand') ?? '');
  type Row = { role: SeedRole; uid: string; end: number | null };
  function* rows(from: number): Generator<readonly [number, Row]> {
    let base = 0;
    for (const role of ctx.state.seed.roles) {
      const list = role.eligible;
      if (from >= base + list.length) {
        base += list.length;
        continue;
      }
      const endOf = eligibilityEndsOf(ctx.state, role, list);
      for (let k = Math.max(0, from - base); k < list.length; k++) {
        const uid = list[k]!;
        if (onlyPrincipal && uid !== onlyPrincipal) continue;
        const end = endOf(k);
        if (end !== null && now - end > RENEW_WINDOW_DAYS * DAY_MS) continue;
        yield [base + k, { role, uid, end }];
      }
      base += list.length;
    }
  }
  return lazyPage(req, rows, {
    fragment: 'roleManagement/directory/roleEligibilitySchedules',
    clauses,
    toItem: ({ role, uid, end }) => {
      const item: Record<string, unknown> = {
        id: `${role.id}_${uid}`,
        principalId: uid,
        roleDefinitionId: role.id,
        directoryScopeId: '/',
        appScopeId: null,
        createdUsing: `${role.id}_${uid}`,
        createdDateTime: '2025-01-01T00:00:00Z',
        modifiedDateTime: null,
        status: 'Provisioned',
        memberType: 'Direct',
        scheduleInfo: scheduleInfo(end),
      };
      if (expandRole) item.roleDefinition = graphRoleDefinition(role);
      return item;
    },
    quick: { principalId: (r) => r.uid, roleDefinitionId: (r) => r.role.id, directoryScopeId: () => '/', memberType: () => 'Direct' },
  });
}

/** PIM for Groups' `eligibilitySchedules`: as for roles, an eligibility that ended within 30 days stays listed. */
function groupEligibilitySchedules(ctx: SimContext, req: SimRequest, onlyPrincipal?: string): SimResponse {
  const clauses = parseFilter(req.query.get('$filter'));
  if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
  const now = ctx.state.now().getTime();
  const expandGroup = /\bgroup\b/i.test(req.query.get('$expand') ?? '');
  type Row = { pg: SeedPimGroup; accessId: 'member' | 'owner'; uid: string; end: number | null };
  function* rows(from: number): Generator<readonly [number, Row]> {
    let base = 0;
    for (const pg of ctx.state.seed.pimGroups ?? []) {
      for (const accessId of ['member', 'owner'] as const) {
        const list = pg.eligible[accessId];
        if (from >= base + list.length) {
          base += list.length;
          continue;
        }
        const endOf = eligibilityEndsOf(ctx.state, pg, list, accessId);
        for (let k = Math.max(0, from - base); k < list.length; k++) {
          const uid = list[k]!;
          if (onlyPrincipal && uid !== onlyPrincipal) continue;
          const end = endOf(k);
          if (end !== null && now - end > RENEW_WINDOW_DAYS * DAY_MS) continue;
          yield [base + k, { pg, accessId, uid, end }];
        }
        base += list.length;
      }
    }
  }
  return lazyPage(req, rows, {
    fragment: 'identityGovernance/privilegedAccess/group/eligibilitySchedules',
    clauses,
    toItem: ({ pg, accessId, uid, end }) => {
      const id = `${pg.groupId}_${accessId}_${uid}`;
      const item: Record<string, unknown> = {
        id,
        groupId: pg.groupId,
        principalId: uid,
        accessId,
        memberType: 'direct',
        status: 'Provisioned',
        createdDateTime: '2025-01-01T00:00:00Z',
        modifiedDateTime: null,
        createdUsing: id,
        scheduleInfo: scheduleInfo(end),
      };
      if (expandGroup) {
        const g = ctx.state.group(pg.groupId);
        item.group = g ? { id: g.id, displayName: g.displayName, securityEnabled: true, mailEnabled: false } : null;
      }
      return item;
    },
    quick: { groupId: (r) => r.pg.groupId, principalId: (r) => r.uid, accessId: (r) => r.accessId },
  });
}

const RD = '/roleManagement/directory';
const PG = '/identityGovernance/privilegedAccess/group';

/** The eligibility schedule lists (roles and groups), each with filterByCurrentUser for the signed-in user. */
export function registerEligibilitySchedules(router: Router, ctx: SimContext): void {
  const on = (path: string, h: (req: SimRequest, oid: string | null) => SimResponse) => {
    for (const v of ['v1.0', 'beta']) {
      router.add('GET', `/${v}${path}`, async (req) => {
        const caller = await graphCaller(ctx, req);
        if (isResponse(caller)) return caller;
        return h(req, caller.kind === 'user' ? caller.oid : null);
      });
    }
  };
  const delegatedOnly = (req: SimRequest) =>
    graphError(req, 403, 'Forbidden', 'filterByCurrentUser is not supported with application permissions; call it with a delegated (user) token.');
  on(`${RD}/roleEligibilitySchedules`, (req) => roleEligibilitySchedules(ctx, req));
  on(`${RD}/roleEligibilitySchedules/filterByCurrentUser(on='principal')`, (req, oid) => (oid ? roleEligibilitySchedules(ctx, req, oid) : delegatedOnly(req)));
  on(`${PG}/eligibilitySchedules`, (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    // Graph refuses these lists without a groupId or principalId filter.
    if (clauses === 'invalid' || !clauses.some((c) => /^(groupId|principalId)$/i.test(c.field)))
      return graphError(req, 400, 'BadRequest', "The $filter must include groupId or principalId, for example groupId eq '{id}'.");
    return groupEligibilitySchedules(ctx, req);
  });
  on(`${PG}/eligibilitySchedules/filterByCurrentUser(on='principal')`, (req, oid) => (oid ? groupEligibilitySchedules(ctx, req, oid) : delegatedOnly(req)));
}
