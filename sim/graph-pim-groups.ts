import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { adminEndOf, adminInputOf, isAdminScheduleAction } from './pim-admin-actions';
import type { PimEngine, ScheduleRequestBody } from './pim-engine';
import type { AssignmentInstance, PimRequest } from './state';
import { graphStep } from './graph-pim';
import { applySelect, callerAcrs, contextUrl, graphCaller, graphError, isResponse, matchesFilter, page, parseFilter, type GraphCaller } from './graph-common';
import { eligibilityEndsOf, fromArray, fromIterable, lazyPage } from './pim-lists';
import { applySeedActivity, seededAssignments } from './scale-seed';
import type { SeedPimGroup } from './seed';

const PG = '/identityGovernance/privilegedAccess/group';
/** The delegated permission PIM for Groups requires to activate and to approve. */
export const GROUP_WRITE_SCOPE = 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup';
/** An administrator's changes to eligible memberships and ownerships (adminExtend, adminRenew). */
export const GROUP_ELIGIBILITY_WRITE_SCOPE = 'PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup';

/** A `privilegedAccessGroupAssignmentScheduleRequest` as Graph returns it. */
export function graphGroupRequest(r: PimRequest): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    createdDateTime: r.createdDateTime,
    completedDateTime: r.completedDateTime,
    approvalId: r.approvalId,
    customData: null,
    action: r.action,
    isValidationOnly: false,
    justification: r.justification,
    principalId: r.principalId,
    accessId: r.accessId,
    groupId: r.groupId,
    targetScheduleId: r.targetScheduleId,
    createdBy: { application: null, device: null, user: { displayName: null, id: r.requestedBy ?? r.principalId } },
    scheduleInfo: r.scheduleInfo,
    ticketInfo: r.ticketInfo,
  };
}

/**
 * PIM for Groups: self-activation of a membership or ownership, reading requests, and approvals
 * (delegated only, as for Entra roles; PIM refuses service principals).
 */
export function registerGraphPimGroups(router: Router, ctx: SimContext, pim: PimEngine): void {
  // A generated tenant's activation history (applied once per state, whichever PIM registers first).
  applySeedActivity(ctx.state);
  type H = (req: SimRequest, p: Record<string, string>, caller: GraphCaller) => Promise<SimResponse> | SimResponse;
  const on = (method: string, path: string, h: H, versions = ['v1.0', 'beta']) => {
    for (const v of versions) {
      router.add(method, `/${v}${path}`, async (req, p) => {
        const caller = await graphCaller(ctx, req);
        if (isResponse(caller)) return caller;
        return h(req, p, caller);
      });
    }
  };
  const delegatedOnly = (req: SimRequest, what: string) =>
    graphError(req, 403, 'Forbidden', `${what} is not supported with application permissions; call it with a delegated (user) token.`);
  const canWrite = (caller: GraphCaller) => caller.kind === 'user' && caller.scopes.includes(GROUP_WRITE_SCOPE);
  const badFilter = (req: SimRequest) => graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
  const groupOf = (groupId: string) => {
    const g = ctx.state.group(groupId);
    return g ? { id: g.id, displayName: g.displayName, securityEnabled: true, mailEnabled: false } : null;
  };

  on('POST', `${PG}/assignmentScheduleRequests`, async (req, _p, caller) => {
    const body = jsonBody<ScheduleRequestBody>(req);
    if (!body || typeof body !== 'object') return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
    if (body.action === 'selfExtend' || body.action === 'selfRenew') {
      // privilegedAccessGroupAssignmentScheduleRequest's actions do not include selfExtend or selfRenew.
      return graphError(
        req,
        400,
        'BadRequest',
        `The action '${body.action}' is not supported for PIM for Groups: group assignment requests allow adminAssign, adminUpdate, adminRemove, selfActivate, selfDeactivate, adminExtend and adminRenew. Ask an administrator to extend the assignment.`,
      );
    }
    if (body.action !== 'selfActivate' && body.action !== 'selfDeactivate')
      return graphError(req, 400, 'BadRequest', `The simulator supports actions 'selfActivate' and 'selfDeactivate' only, not '${String(body.action)}'.`);
    if (caller.kind !== 'user') return delegatedOnly(req, body.action);
    if (!canWrite(caller)) return graphError(req, 403, 'Forbidden', `Missing delegated permission ${GROUP_WRITE_SCOPE}.`);
    if (typeof body.principalId !== 'string' || body.principalId.toLowerCase() !== caller.oid.toLowerCase()) {
      return graphError(req, 400, 'BadRequest', `For ${body.action} the principalId must be the signed-in user.`);
    }
    if (typeof body.groupId !== 'string') return graphError(req, 400, 'BadRequest', 'groupId is required.');
    if (body.accessId !== 'member' && body.accessId !== 'owner') return graphError(req, 400, 'BadRequest', "accessId is required: 'member' or 'owner'.");
    const entity = (r: PimRequest) =>
      json(201, { '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/group/assignmentScheduleRequests/$entity'), ...graphGroupRequest(r) });
    if (body.action === 'selfDeactivate') {
      const ended = pim.deactivateGroup(body.principalId, body.groupId, body.accessId);
      return ended.ok ? entity(ended.request) : graphError(req, ended.status, ended.code, ended.message);
    }
    const duration = body.scheduleInfo?.expiration?.duration;
    if (String(body.scheduleInfo?.expiration?.type ?? '').toLowerCase() !== 'afterduration' || typeof duration !== 'string') {
      return graphError(req, 400, 'BadRequest', "scheduleInfo.expiration must be {type: 'afterDuration', duration: 'PT…'}.");
    }
    const result = await pim.activateGroup(
      {
        principalId: body.principalId,
        groupId: body.groupId,
        accessId: body.accessId,
        justification: body.justification,
        duration,
        ticketNumber: body.ticketInfo?.ticketNumber,
        ticketSystem: body.ticketInfo?.ticketSystem,
        startDateTime: body.scheduleInfo?.startDateTime,
      },
      { mfaSatisfied: caller.amr.includes('mfa'), acrs: callerAcrs(caller) },
    );
    if (!result.ok) return graphError(req, result.status, result.code, result.message);
    return entity(result.request);
  });

  // An administrator extends or renews someone's eligible membership or ownership (adminExtend, adminRenew).
  on('POST', `${PG}/eligibilityScheduleRequests`, (req, _p, caller) => {
    const body = jsonBody<ScheduleRequestBody>(req);
    if (!body || typeof body !== 'object') return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
    if (!isAdminScheduleAction(body.action))
      return graphError(req, 400, 'BadRequest', `The simulator supports actions 'adminExtend' and 'adminRenew' only here, not '${String(body.action)}'.`);
    if (caller.kind !== 'user') return delegatedOnly(req, body.action);
    if (!caller.scopes.includes(GROUP_ELIGIBILITY_WRITE_SCOPE))
      return graphError(req, 403, 'Forbidden', `Missing delegated permission ${GROUP_ELIGIBILITY_WRITE_SCOPE}.`);
    if (typeof body.principalId !== 'string' || typeof body.groupId !== 'string')
      return graphError(req, 400, 'BadRequest', 'principalId and groupId are required.');
    if (body.accessId !== 'member' && body.accessId !== 'owner') return graphError(req, 400, 'BadRequest', "accessId is required: 'member' or 'owner'.");
    const end = adminEndOf(body.scheduleInfo);
    if (typeof end !== 'string') return graphError(req, 400, 'BadRequest', end.error);
    const result = pim.adminSchedule({ kind: 'group', groupId: body.groupId, accessId: body.accessId }, adminInputOf(caller.oid, body.action, body, end));
    if (!result.ok) return graphError(req, result.status, result.code, result.message);
    return json(201, {
      '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/group/eligibilityScheduleRequests/$entity'),
      ...graphGroupRequest(result.request),
    });
  });

  // The requester cancels a pending request (204; 400 when it is no longer pending).
  on('POST', `${PG}/assignmentScheduleRequests/:id/cancel`, (req, p, caller) => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'cancel');
    if (!canWrite(caller)) return graphError(req, 403, 'Forbidden', `Missing delegated permission ${GROUP_WRITE_SCOPE}.`);
    const result = pim.cancel(p.id, caller.oid, 'group');
    return result.ok ? { status: 204 } : graphError(req, result.status, result.code, result.message);
  });

  on('GET', `${PG}/assignmentScheduleRequests/filterByCurrentUser(on=':on')`, (req, p, caller) => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'filterByCurrentUser');
    if (p.on !== 'approver' && p.on !== 'principal') {
      return graphError(req, 400, 'BadRequest', `The value '${p.on}' of parameter 'on' is not supported; use 'principal' or 'approver'.`);
    }
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const mine = pim
      .all('group')
      .filter((r) =>
        p.on === 'principal'
          ? r.principalId === caller.oid
          : r.principalId !== caller.oid && !!r.approval?.steps.some((s) => s.approverIds.includes(caller.oid)),
      );
    const items = mine.map(graphGroupRequest).filter((r) => matchesFilter(r, clauses));
    return page(req, items, 'Collection(privilegedAccessGroupAssignmentScheduleRequest)');
  });

  // --- eligible and active memberships/ownerships -------------------------------------------------
  const withGroup = (req: SimRequest, item: Record<string, unknown>) => {
    if (/\bgroup\b/i.test(req.query.get('$expand') ?? '')) item.group = groupOf(String(item.groupId));
    return item;
  };
  const eligibility = (req: SimRequest, onlyPrincipal?: string): SimResponse => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const now = ctx.state.now().getTime();
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
            if (end !== null && end <= now) continue;
            yield [base + k, { pg, accessId, uid, end }];
          }
          base += list.length;
        }
      }
    }
    return lazyPage(req, rows, {
      fragment: 'identityGovernance/privilegedAccess/group/eligibilityScheduleInstances',
      clauses,
      toItem: ({ pg, accessId, uid, end }) => {
        const id = `${pg.groupId}_${accessId}_${uid}`;
        return withGroup(req, {
          id,
          groupId: pg.groupId,
          principalId: uid,
          accessId,
          memberType: 'Direct',
          startDateTime: '2025-01-01T00:00:00Z',
          endDateTime: end === null ? null : new Date(end).toISOString(),
          eligibilityScheduleId: id,
        });
      },
      quick: { groupId: (r) => r.pg.groupId, principalId: (r) => r.uid, accessId: (r) => r.accessId, memberType: () => 'Direct' },
    });
  };
  const needsScopeFilter = (req: SimRequest) => {
    const clauses = parseFilter(req.query.get('$filter'));
    // Graph refuses these lists without a groupId or principalId filter.
    return clauses === 'invalid' || !clauses.some((c) => /^(groupId|principalId)$/i.test(c.field))
      ? graphError(req, 400, 'BadRequest', "The $filter must include groupId or principalId, for example groupId eq '{id}'.")
      : undefined;
  };
  on('GET', `${PG}/eligibilityScheduleInstances`, (req) => needsScopeFilter(req) ?? eligibility(req));
  on('GET', `${PG}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')`, (req, _p, caller) =>
    caller.kind === 'user' ? eligibility(req, caller.oid) : delegatedOnly(req, 'filterByCurrentUser'),
  );

  const graphGroupInstance = (req: SimRequest, i: AssignmentInstance): Record<string, unknown> =>
    withGroup(req, {
      id: i.id,
      groupId: i.target,
      principalId: i.principalId,
      accessId: i.roleDefinitionId,
      memberType: 'Direct',
      assignmentType: 'Activated',
      startDateTime: i.startDateTime,
      endDateTime: i.endDateTime,
      assignmentScheduleId: i.requestId,
    });
  /** Activations, then memberships/ownerships an administrator assigned (`Assigned`; only a generated tenant has them). */
  const active = (req: SimRequest, onlyPrincipal?: string): SimResponse => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const now = ctx.state.now().getTime();
    type Row = { groupId: string; principalId: string; accessId: string; assignmentType: string; item: () => Record<string, unknown> };
    function* rows(from: number): Generator<readonly [number, Row]> {
      const activations = ctx.state.instances;
      for (const [pos, i] of fromArray(activations, from)) {
        if (i.kind !== 'group' || !(Date.parse(i.endDateTime) > now) || (onlyPrincipal && i.principalId !== onlyPrincipal)) continue;
        yield [
          pos,
          { groupId: i.target, principalId: i.principalId, accessId: i.roleDefinitionId, assignmentType: 'Activated', item: () => graphGroupInstance(req, i) },
        ];
      }
      for (const [pos, a] of fromArray(seededAssignments(ctx.state, 'group', now), from, activations.length)) {
        if (onlyPrincipal && a.principalId !== onlyPrincipal) continue;
        yield [
          pos,
          {
            groupId: a.target,
            principalId: a.principalId,
            accessId: a.roleDefinitionId,
            assignmentType: 'Assigned',
            item: () =>
              withGroup(req, {
                id: a.id,
                groupId: a.target,
                principalId: a.principalId,
                accessId: a.roleDefinitionId,
                memberType: 'Direct',
                assignmentType: 'Assigned',
                startDateTime: a.startDateTime,
                endDateTime: a.endDateTime,
                assignmentScheduleId: a.id,
              }),
          },
        ];
      }
    }
    return lazyPage(req, rows, {
      fragment: 'identityGovernance/privilegedAccess/group/assignmentScheduleInstances',
      clauses,
      toItem: (r) => r.item(),
      quick: {
        groupId: (r) => r.groupId,
        principalId: (r) => r.principalId,
        accessId: (r) => r.accessId,
        assignmentType: (r) => r.assignmentType,
        memberType: () => 'Direct',
      },
    });
  };
  on('GET', `${PG}/assignmentScheduleInstances`, (req) => needsScopeFilter(req) ?? active(req));
  on('GET', `${PG}/assignmentScheduleInstances/filterByCurrentUser(on='principal')`, (req, _p, caller) =>
    caller.kind === 'user' ? active(req, caller.oid) : delegatedOnly(req, 'filterByCurrentUser'),
  );

  // App-only: the digests read each group's activation history here (`groupId eq … and action eq 'selfActivate'`).
  on('GET', `${PG}/assignmentScheduleRequests`, (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
    function* rows(from: number) {
      for (const [pos, r] of fromIterable(ctx.state.requests.values(), from)) if (r.kind === 'group') yield [pos, pim.refresh(r)] as const;
    }
    return lazyPage(req, rows, {
      fragment: 'identityGovernance/privilegedAccess/group/assignmentScheduleRequests',
      clauses,
      toItem: graphGroupRequest,
      quick: {
        groupId: (r) => r.groupId,
        accessId: (r) => r.accessId,
        action: (r) => r.action,
        status: (r) => r.status,
        principalId: (r) => r.principalId,
        id: (r) => r.id,
      },
    });
  });

  on('GET', `${PG}/assignmentScheduleRequests/:id`, (req, p) => {
    const r = pim.get(p.id, 'group');
    if (!r) return graphError(req, 404, 'NotFound', `The request '${p.id}' was not found.`);
    return json(200, {
      '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/group/assignmentScheduleRequests/$entity'),
      ...applySelect(graphGroupRequest(r), req.query.get('$select')),
    });
  });

  const approval = (req: SimRequest, id: string, caller: GraphCaller): { request: PimRequest } | SimResponse => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'assignmentApprovals');
    const r = pim.get(id, 'group');
    if (!r?.approval) return graphError(req, 404, 'NotFound', `The approval '${id}' was not found.`);
    return { request: r };
  };
  on(
    'GET',
    `${PG}/assignmentApprovals/:id`,
    (req, p, caller) => {
      const found = approval(req, p.id, caller);
      if (!('request' in found)) return found;
      const r = found.request;
      return json(200, {
        '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/group/assignmentApprovals/$entity'),
        id: r.approval!.id,
        steps: r.approval!.steps.map((s) => graphStep(s, caller.oid, r.principalId)),
      });
    },
    ['beta'],
  );
  on(
    'GET',
    `${PG}/assignmentApprovals/:id/steps`,
    (req, p, caller) => {
      const found = approval(req, p.id, caller);
      if (!('request' in found)) return found;
      const r = found.request;
      return json(200, {
        '@odata.context': contextUrl(req, `identityGovernance/privilegedAccess/group/assignmentApprovals('${r.id}')/steps`),
        value: r.approval!.steps.map((s) => graphStep(s, caller.oid, r.principalId)),
      });
    },
    ['beta'],
  );
  on('PATCH', `${PG}/assignmentApprovals/:id/steps/:stepId`, (req, p, caller) => {
    if (caller.kind !== 'user') return graphError(req, 403, 'Forbidden', 'Service principals are not allowed to approve requests.');
    if (!canWrite(caller)) return graphError(req, 403, 'Forbidden', `Missing delegated permission ${GROUP_WRITE_SCOPE}.`);
    const body = jsonBody<Record<string, unknown>>(req);
    if (!body) return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
    if (!pim.get(p.id, 'group')) return graphError(req, 404, 'NotFound', `The approval '${p.id}' was not found.`);
    const result = pim.decide(p.id, caller.oid, body.reviewResult, body.justification, p.stepId);
    if (!result.ok) return graphError(req, result.status, result.code, result.message);
    return { status: 204 };
  });
}
