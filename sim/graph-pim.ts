import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { type AdminScheduleAction, adminEndOf, adminInputOf, isAdminScheduleAction } from './pim-admin-actions';
import { parseExtensionExpiration, type PimEngine, type ScheduleRequestBody } from './pim-engine';
import { selfRenewRequest } from './pim-renewal';
import type { ApprovalStep, AssignmentInstance, PimRequest } from './state';
import type { SeedRole } from './seed';
import { applySelect, callerAcrs, contextUrl, graphCaller, graphError, isResponse, matchesFilter, page, parseFilter, type GraphCaller } from './graph-common';
import { graphRoleDefinition, graphUser } from './graph-directory';
import { eligibilityEndsOf, fromArray, fromIterable, lazyPage } from './pim-lists';
import { applySeedActivity, seededAssignments } from './scale-seed';

const RD = '/roleManagement/directory';

export function graphRequest(ctx: SimContext, r: PimRequest, expand?: string | null): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: r.id,
    status: r.status,
    createdDateTime: r.createdDateTime,
    completedDateTime: r.completedDateTime,
    approvalId: r.approvalId,
    customData: null,
    action: r.action,
    principalId: r.principalId,
    roleDefinitionId: r.roleDefinitionId,
    directoryScopeId: r.directoryScopeId,
    appScopeId: null,
    isValidationOnly: false,
    targetScheduleId: r.targetScheduleId,
    justification: r.justification,
    createdBy: { application: null, device: null, user: { displayName: null, id: r.requestedBy ?? r.principalId } },
    scheduleInfo: r.scheduleInfo,
    ticketInfo: r.ticketInfo,
  };
  if (expand && /\bprincipal\b/i.test(expand)) {
    const u = ctx.state.user(r.principalId);
    out.principal = u ? { '@odata.type': '#microsoft.graph.user', ...graphUser(u) } : null;
  }
  if (expand && /\broleDefinition\b/i.test(expand)) {
    const role = ctx.state.role(r.roleDefinitionId);
    out.roleDefinition = role ? graphRoleDefinition(role) : null;
  }
  return out;
}

function graphStep(s: ApprovalStep, callerId: string | undefined, requesterId: string): Record<string, unknown> {
  return {
    id: s.id,
    displayName: s.displayName,
    reviewedDateTime: s.reviewedDateTime,
    reviewResult: s.reviewResult,
    status: s.status,
    assignedToMe: !!callerId && callerId !== requesterId && s.approverIds.includes(callerId),
    justification: s.justification,
    reviewedBy: s.reviewedBy,
  };
}

function graphInstance(ctx: SimContext, i: AssignmentInstance, expand: string | null): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: i.id,
    principalId: i.principalId,
    roleDefinitionId: i.roleDefinitionId,
    directoryScopeId: i.directoryScopeId,
    appScopeId: null,
    startDateTime: i.startDateTime,
    endDateTime: i.endDateTime,
    assignmentType: 'Activated',
    memberType: 'Direct',
    roleAssignmentOriginId: i.id,
    roleAssignmentScheduleId: i.requestId,
  };
  if (expand && /\broleDefinition\b/i.test(expand)) {
    const role = ctx.state.role(i.roleDefinitionId);
    out.roleDefinition = role ? graphRoleDefinition(role) : null;
  }
  return out;
}

export { graphStep };

export function registerGraphPim(router: Router, ctx: SimContext, pim: PimEngine): void {
  // A generated tenant's activation history and running activations (none in the demo seed).
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
  const badFilter = (req: SimRequest) => graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
  const delegatedOnly = (req: SimRequest, what: string) =>
    graphError(req, 403, 'Forbidden', `${what} is not supported with application permissions; call it with a delegated (user) token.`);

  const writeScope = (caller: GraphCaller) =>
    caller.kind === 'user' && caller.scopes.some((s) => s === 'RoleAssignmentSchedule.ReadWrite.Directory' || s === 'RoleManagement.ReadWrite.Directory');
  const collectionPath = (c: PimRequest['collection']) => (c === 'assignment' ? 'roleAssignmentScheduleRequests' : 'roleEligibilityScheduleRequests');

  /** A selfExtend, filed in either request collection (the caller and the body's principalId and roleDefinitionId are already checked). */
  const selfExtend = (req: SimRequest, body: ScheduleRequestBody, collection: PimRequest['collection']): SimResponse => {
    const expiration = parseExtensionExpiration(body.scheduleInfo?.expiration);
    if (typeof expiration === 'string') return graphError(req, 400, 'BadRequest', expiration);
    const result = pim.extend(
      {
        principalId: body.principalId as string,
        roleDefinitionId: body.roleDefinitionId as string,
        justification: body.justification,
        expiration,
        startDateTime: body.scheduleInfo?.startDateTime,
        ticketNumber: body.ticketInfo?.ticketNumber,
        ticketSystem: body.ticketInfo?.ticketSystem,
      },
      collection,
    );
    if (!result.ok) return graphError(req, result.status, result.code, result.message);
    return json(201, {
      '@odata.context': contextUrl(req, `roleManagement/directory/${collectionPath(collection)}/$entity`),
      ...graphRequest(ctx, result.request),
    });
  };

  // --- roleAssignmentScheduleRequests -------------------------------------------------------------
  on('POST', `${RD}/roleAssignmentScheduleRequests`, async (req, _p, caller) => {
    const body = jsonBody<ScheduleRequestBody>(req);
    if (!body || typeof body !== 'object') return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
    const action = body.action;
    if (action !== 'selfActivate' && action !== 'selfExtend' && action !== 'selfDeactivate') {
      return graphError(
        req,
        400,
        'BadRequest',
        `The simulator supports actions 'selfActivate', 'selfExtend' and 'selfDeactivate' only, not '${String(action)}'.`,
      );
    }
    if (caller.kind !== 'user') return delegatedOnly(req, action);
    if (!writeScope(caller)) return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleAssignmentSchedule.ReadWrite.Directory.');
    if (typeof body.principalId !== 'string' || body.principalId.toLowerCase() !== caller.oid.toLowerCase()) {
      return graphError(req, 400, 'BadRequest', `For ${action} the principalId must be the signed-in user.`);
    }
    if (typeof body.roleDefinitionId !== 'string') return graphError(req, 400, 'BadRequest', 'roleDefinitionId is required.');
    if ((body.directoryScopeId ?? '/') !== '/') return graphError(req, 400, 'BadRequest', "The simulator supports directoryScopeId '/' only.");
    const created = (r: PimRequest) =>
      json(201, { '@odata.context': contextUrl(req, 'roleManagement/directory/roleAssignmentScheduleRequests/$entity'), ...graphRequest(ctx, r) });

    if (action === 'selfExtend') return selfExtend(req, body, 'assignment');
    if (action === 'selfDeactivate') {
      const ended = pim.deactivate(body.principalId, body.roleDefinitionId);
      return ended.ok ? created(ended.request) : graphError(req, ended.status, ended.code, ended.message);
    }

    const duration = body.scheduleInfo?.expiration?.duration;
    const expType = String(body.scheduleInfo?.expiration?.type ?? '').toLowerCase();
    if (expType !== 'afterduration' || typeof duration !== 'string') {
      return graphError(req, 400, 'BadRequest', "scheduleInfo.expiration must be {type: 'afterDuration', duration: 'PT…'}.");
    }
    const result = await pim.activate(
      {
        principalId: body.principalId,
        roleDefinitionId: body.roleDefinitionId,
        justification: body.justification,
        duration,
        ticketNumber: body.ticketInfo?.ticketNumber,
        ticketSystem: body.ticketInfo?.ticketSystem,
        startDateTime: body.scheduleInfo?.startDateTime,
      },
      { mfaSatisfied: caller.amr.includes('mfa'), acrs: callerAcrs(caller) },
    );
    return result.ok ? created(result.request) : graphError(req, result.status, result.code, result.message);
  });

  // The requester cancels a pending request (documented: 204; 400 when not cancelable). Both collections.
  for (const collection of ['assignment', 'eligibility'] as const) {
    on('POST', `${RD}/${collectionPath(collection)}/:id/cancel`, (req, p, caller) => {
      if (caller.kind !== 'user') return delegatedOnly(req, 'cancel');
      if (!writeScope(caller)) return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleAssignmentSchedule.ReadWrite.Directory.');
      const result = pim.cancel(p.id, caller.oid, 'entraRole', collection);
      return result.ok ? { status: 204 } : graphError(req, result.status, result.code, result.message);
    });
  }

  /** An administrator's adminExtend or adminRenew of someone's eligible role assignment (delegated: PIM checks the signed-in admin). */
  const adminSchedule = (req: SimRequest, body: ScheduleRequestBody, caller: GraphCaller): SimResponse => {
    if (caller.kind !== 'user') return delegatedOnly(req, String(body.action));
    if (!caller.scopes.some((s) => s === 'RoleEligibilitySchedule.ReadWrite.Directory' || s === 'RoleManagement.ReadWrite.Directory'))
      return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleEligibilitySchedule.ReadWrite.Directory.');
    if (typeof body.principalId !== 'string' || typeof body.roleDefinitionId !== 'string')
      return graphError(req, 400, 'BadRequest', 'principalId and roleDefinitionId are required.');
    if ((body.directoryScopeId ?? '/') !== '/') return graphError(req, 400, 'BadRequest', "The simulator supports directoryScopeId '/' only.");
    const end = adminEndOf(body.scheduleInfo);
    if (typeof end !== 'string') return graphError(req, 400, 'BadRequest', end.error);
    const result = pim.adminSchedule(
      { kind: 'entraRole', roleDefinitionId: body.roleDefinitionId },
      adminInputOf(caller.oid, body.action as AdminScheduleAction, body, end),
    );
    if (!result.ok) return graphError(req, result.status, result.code, result.message);
    return json(201, {
      '@odata.context': contextUrl(req, 'roleManagement/directory/roleEligibilityScheduleRequests/$entity'),
      ...graphRequest(ctx, result.request),
    });
  };

  // --- roleEligibilityScheduleRequests: the documented home of a selfExtend of an eligible assignment ---
  on('POST', `${RD}/roleEligibilityScheduleRequests`, (req, _p, caller) => {
    const body = jsonBody<ScheduleRequestBody>(req);
    if (!body || typeof body !== 'object') return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
    if (isAdminScheduleAction(body.action)) return adminSchedule(req, body, caller);
    if (body.action === 'selfRenew') return selfRenewRequest(ctx, pim, req, body, caller);
    if (body.action !== 'selfExtend') {
      return graphError(
        req,
        400,
        'BadRequest',
        `The simulator supports action 'selfExtend' only on roleEligibilityScheduleRequests, not '${String(body.action)}'.`,
      );
    }
    if (caller.kind !== 'user') return delegatedOnly(req, 'selfExtend');
    if (!writeScope(caller)) return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleAssignmentSchedule.ReadWrite.Directory.');
    if (typeof body.principalId !== 'string' || body.principalId.toLowerCase() !== caller.oid.toLowerCase()) {
      return graphError(req, 400, 'BadRequest', 'For selfExtend the principalId must be the signed-in user.');
    }
    if (typeof body.roleDefinitionId !== 'string') return graphError(req, 400, 'BadRequest', 'roleDefinitionId is required.');
    if ((body.directoryScopeId ?? '/') !== '/') return graphError(req, 400, 'BadRequest', "The simulator supports directoryScopeId '/' only.");
    return selfExtend(req, body, 'eligibility');
  });
  on('GET', `${RD}/roleEligibilityScheduleRequests`, (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const items = pim
      .all('entraRole', 'eligibility')
      .map((r) => graphRequest(ctx, r, req.query.get('$expand')))
      .filter((r) => matchesFilter(r, clauses));
    return page(req, items, 'roleManagement/directory/roleEligibilityScheduleRequests');
  });
  on('GET', `${RD}/roleEligibilityScheduleRequests/filterByCurrentUser(on='principal')`, (req, _p, caller) => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'filterByCurrentUser');
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const items = pim
      .all('entraRole', 'eligibility')
      .filter((r) => r.principalId === caller.oid)
      .map((r) => graphRequest(ctx, r, req.query.get('$expand')))
      .filter((r) => matchesFilter(r, clauses));
    return page(req, items, 'Collection(unifiedRoleEligibilityScheduleRequest)');
  });
  on('GET', `${RD}/roleEligibilityScheduleRequests/:id`, (req, p) => {
    const r = pim.get(p.id, 'entraRole', 'eligibility');
    if (!r) return graphError(req, 404, 'NotFound', `The request '${p.id}' was not found.`);
    return json(200, {
      '@odata.context': contextUrl(req, 'roleManagement/directory/roleEligibilityScheduleRequests/$entity'),
      ...applySelect(graphRequest(ctx, r, req.query.get('$expand')), req.query.get('$select')),
    });
  });

  // App-only: the digests read the activation history here (`$filter=action eq 'selfActivate'`). Walked
  // lazily: a generated tenant holds 100k+ requests and each page must not rebuild all of them.
  on('GET', `${RD}/roleAssignmentScheduleRequests`, (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const expand = req.query.get('$expand');
    function* rows(from: number) {
      for (const [pos, r] of fromIterable(ctx.state.requests.values(), from))
        if (r.kind === 'entraRole' && r.collection === 'assignment') yield [pos, pim.refresh(r)] as const;
    }
    return lazyPage(req, rows, {
      fragment: 'roleManagement/directory/roleAssignmentScheduleRequests',
      clauses,
      toItem: (r) => graphRequest(ctx, r, expand),
      quick: {
        action: (r) => r.action,
        status: (r) => r.status,
        principalId: (r) => r.principalId,
        roleDefinitionId: (r) => r.roleDefinitionId,
        id: (r) => r.id,
      },
    });
  });

  on('GET', `${RD}/roleAssignmentScheduleRequests/filterByCurrentUser(on=':on')`, (req, p, caller) => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'filterByCurrentUser');
    if (p.on !== 'approver' && p.on !== 'principal') {
      return graphError(req, 400, 'BadRequest', `The value '${p.on}' of parameter 'on' is not supported; use 'principal' or 'approver'.`);
    }
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const mine = pim
      .all('entraRole', 'assignment')
      .filter((r) =>
        p.on === 'principal'
          ? r.principalId === caller.oid
          : r.principalId !== caller.oid && !!r.approval?.steps.some((s) => s.approverIds.includes(caller.oid)),
      );
    const items = mine.map((r) => graphRequest(ctx, r, req.query.get('$expand'))).filter((r) => matchesFilter(r, clauses));
    return page(req, items, 'Collection(unifiedRoleAssignmentScheduleRequest)');
  });

  on('GET', `${RD}/roleAssignmentScheduleRequests/:id`, (req, p) => {
    const r = pim.get(p.id, 'entraRole', 'assignment');
    if (!r) return graphError(req, 404, 'NotFound', `The request '${p.id}' was not found.`);
    return json(200, {
      '@odata.context': contextUrl(req, 'roleManagement/directory/roleAssignmentScheduleRequests/$entity'),
      ...applySelect(graphRequest(ctx, r, req.query.get('$expand')), req.query.get('$select')),
    });
  });

  // --- active assignments and eligibility --------------------------------------------------------
  /**
   * Activations (`assignmentType: Activated`), then active assignments an administrator made
   * (`Assigned`, endDateTime null when permanent; only a generated tenant's seed has them).
   */
  const instances = (req: SimRequest, onlyPrincipal?: string) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const now = ctx.state.now().getTime();
    const expand = req.query.get('$expand');
    type Row = { principalId: string; roleDefinitionId: string; assignmentType: string; item: () => Record<string, unknown> };
    function* rows(from: number): Generator<readonly [number, Row]> {
      const activations = ctx.state.instances;
      for (const [pos, i] of fromArray(activations, from)) {
        if (i.kind !== 'entraRole' || !(Date.parse(i.endDateTime) > now) || (onlyPrincipal && i.principalId !== onlyPrincipal)) continue;
        yield [
          pos,
          { principalId: i.principalId, roleDefinitionId: i.roleDefinitionId, assignmentType: 'Activated', item: () => graphInstance(ctx, i, expand) },
        ];
      }
      for (const [pos, a] of fromArray(seededAssignments(ctx.state, 'entraRole', now), from, activations.length)) {
        if (onlyPrincipal && a.principalId !== onlyPrincipal) continue;
        yield [
          pos,
          {
            principalId: a.principalId,
            roleDefinitionId: a.roleDefinitionId,
            assignmentType: 'Assigned',
            item: () => {
              const out: Record<string, unknown> = {
                id: a.id,
                principalId: a.principalId,
                roleDefinitionId: a.roleDefinitionId,
                directoryScopeId: '/',
                appScopeId: null,
                startDateTime: a.startDateTime,
                endDateTime: a.endDateTime,
                assignmentType: 'Assigned',
                memberType: 'Direct',
                roleAssignmentOriginId: a.id,
                roleAssignmentScheduleId: a.id,
              };
              if (expand && /\broleDefinition\b/i.test(expand)) {
                const role = ctx.state.role(a.roleDefinitionId);
                out.roleDefinition = role ? graphRoleDefinition(role) : null;
              }
              return out;
            },
          },
        ];
      }
    }
    return lazyPage(req, rows, {
      fragment: 'roleManagement/directory/roleAssignmentScheduleInstances',
      clauses,
      toItem: (r) => r.item(),
      quick: {
        principalId: (r) => r.principalId,
        roleDefinitionId: (r) => r.roleDefinitionId,
        assignmentType: (r) => r.assignmentType,
        directoryScopeId: () => '/',
        memberType: () => 'Direct',
      },
    });
  };
  on('GET', `${RD}/roleAssignmentScheduleInstances`, (req) => instances(req));
  on('GET', `${RD}/roleAssignmentScheduleInstances/filterByCurrentUser(on='principal')`, (req, _p, caller) =>
    caller.kind === 'user' ? instances(req, caller.oid) : delegatedOnly(req, 'filterByCurrentUser'),
  );

  const eligibility = (req: SimRequest, onlyPrincipal?: string) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
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
          // An eligibility that has ended is no longer listed (PIM moves it to expired assignments).
          const end = endOf(k);
          if (end !== null && end <= now) continue;
          yield [base + k, { role, uid, end }];
        }
        base += list.length;
      }
    }
    return lazyPage(req, rows, {
      fragment: 'roleManagement/directory/roleEligibilityScheduleInstances',
      clauses,
      toItem: ({ role, uid, end }) => {
        const item: Record<string, unknown> = {
          id: `${role.id}_${uid}`,
          principalId: uid,
          roleDefinitionId: role.id,
          directoryScopeId: '/',
          appScopeId: null,
          startDateTime: '2025-01-01T00:00:00Z',
          endDateTime: end === null ? null : new Date(end).toISOString(),
          memberType: 'Direct',
          roleEligibilityScheduleId: `${role.id}_${uid}`,
        };
        if (expandRole) item.roleDefinition = graphRoleDefinition(role);
        return item;
      },
      quick: { principalId: (r) => r.uid, roleDefinitionId: (r) => r.role.id, directoryScopeId: () => '/', memberType: () => 'Direct' },
    });
  };
  on('GET', `${RD}/roleEligibilityScheduleInstances`, (req) => eligibility(req));
  on('GET', `${RD}/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`, (req, _p, caller) =>
    caller.kind === 'user' ? eligibility(req, caller.oid) : delegatedOnly(req, 'filterByCurrentUser'),
  );
  // roleEligibilitySchedules (which keep an expired eligibility for 30 days): sim/pim-renewal.ts.

  // --- approvals (beta only, delegated only: PIM refuses service principals) ----------------------
  const approval = (req: SimRequest, id: string, caller: GraphCaller): { request: PimRequest } | SimResponse => {
    if (caller.kind !== 'user') return delegatedOnly(req, 'roleAssignmentApprovals');
    const r = pim.get(id, 'entraRole');
    if (!r?.approval) return graphError(req, 404, 'NotFound', `The approval '${id}' was not found.`);
    return { request: r };
  };
  const beta = ['beta'];
  on(
    'GET',
    `${RD}/roleAssignmentApprovals/:id`,
    (req, p, caller) => {
      const found = approval(req, p.id, caller);
      if (!('request' in found)) return found;
      const r = found.request;
      return json(200, {
        '@odata.context': contextUrl(req, 'roleManagement/directory/roleAssignmentApprovals/$entity'),
        id: r.approval!.id,
        steps: r.approval!.steps.map((s) => graphStep(s, caller.oid, r.principalId)),
      });
    },
    beta,
  );
  on(
    'GET',
    `${RD}/roleAssignmentApprovals/:id/steps`,
    (req, p, caller) => {
      const found = approval(req, p.id, caller);
      if (!('request' in found)) return found;
      const r = found.request;
      return json(200, {
        '@odata.context': contextUrl(req, `roleManagement/directory/roleAssignmentApprovals('${r.id}')/steps`),
        value: r.approval!.steps.map((s) => graphStep(s, caller.oid, r.principalId)),
      });
    },
    beta,
  );
  on(
    'GET',
    `${RD}/roleAssignmentApprovals/:id/steps/:stepId`,
    (req, p, caller) => {
      const found = approval(req, p.id, caller);
      if (!('request' in found)) return found;
      const r = found.request;
      const s = r.approval!.steps.find((x) => x.id.toLowerCase() === p.stepId.toLowerCase());
      if (!s) return graphError(req, 404, 'NotFound', `The approval step '${p.stepId}' was not found.`);
      return json(200, {
        '@odata.context': contextUrl(req, `roleManagement/directory/roleAssignmentApprovals('${r.id}')/steps/$entity`),
        ...graphStep(s, caller.oid, r.principalId),
      });
    },
    beta,
  );
  on(
    'PATCH',
    `${RD}/roleAssignmentApprovals/:id/steps/:stepId`,
    (req, p, caller) => {
      if (caller.kind !== 'user') return graphError(req, 403, 'Forbidden', 'Service principals are not allowed to approve requests.');
      if (!caller.scopes.some((s) => s === 'RoleAssignmentSchedule.ReadWrite.Directory' || s === 'RoleManagement.ReadWrite.Directory')) {
        return graphError(req, 403, 'Forbidden', 'Missing delegated permission RoleAssignmentSchedule.ReadWrite.Directory.');
      }
      const body = jsonBody<Record<string, unknown>>(req);
      if (!body) return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');
      if (!pim.get(p.id, 'entraRole')) return graphError(req, 404, 'NotFound', `The approval '${p.id}' was not found.`);
      const result = pim.decide(p.id, caller.oid, body.reviewResult, body.justification, p.stepId);
      if (!result.ok) return graphError(req, result.status, result.code, result.message);
      return { status: 204 };
    },
    beta,
  );
}
