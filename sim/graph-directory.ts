import { createHash } from 'node:crypto';
import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SeedRole, SeedUser } from './seed';
import { applySelect, contextUrl, graphCaller, graphError, isResponse, matchesFilter, page, parseFilter } from './graph-common';
import { customExtensionRule } from './graph-applications';

export function graphUser(u: SeedUser): Record<string, unknown> {
  return {
    id: u.id,
    displayName: u.displayName,
    userPrincipalName: u.userPrincipalName,
    givenName: u.givenName,
    surname: u.surname,
    jobTitle: u.jobTitle,
    department: u.department,
    mail: u.mail ?? u.userPrincipalName,
    accountEnabled: u.accountEnabled,
  };
}

/** Properties Graph returns only when `$select` names them (the HR check reads these). */
export function graphUserSelectOnly(u: SeedUser, now: Date): Record<string, unknown> {
  const leave = u.employeeLeaveDateTime;
  return {
    employeeLeaveDateTime:
      leave === undefined
        ? null
        : typeof leave === 'string'
          ? leave
          : new Date(now.getTime() + leave.hoursFromNow * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export function graphRoleDefinition(r: SeedRole): Record<string, unknown> {
  return {
    id: r.id,
    displayName: r.displayName,
    description: r.description,
    templateId: r.templateId,
    isBuiltIn: true,
    isEnabled: true,
    resourceScopes: ['/'],
    version: '1',
    rolePermissions: [],
  };
}

/** A stable GUID-shaped id derived from a string, so policy ids stay the same across restarts. */
export function stableGuid(input: string): string {
  const h = createHash('sha1').update(input).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const endUserTarget = {
  caller: 'EndUser',
  operations: ['All'],
  level: 'Assignment',
  inheritableSettings: [],
  enforcedSettings: [],
};

export function policyRules(ctx: SimContext, r: { policy: SeedRole['policy'] }): Record<string, unknown>[] {
  const subjectsOf = (list: SeedRole['policy']['primaryApprovers']) =>
    list.map((a) => {
      if (a.kind === 'singleUser') {
        return { '@odata.type': '#microsoft.graph.singleUser', isBackup: false, userId: a.userId, description: ctx.state.user(a.userId)?.displayName ?? null };
      }
      return {
        '@odata.type': '#microsoft.graph.groupMembers',
        isBackup: false,
        groupId: a.groupId,
        description: ctx.state.group(a.groupId)?.displayName ?? null,
      };
    });
  const approvers = subjectsOf(r.policy.primaryApprovers);
  const escalation = subjectsOf(r.policy.escalationApprovers ?? []);
  return [
    {
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyExpirationRule',
      id: 'Expiration_EndUser_Assignment',
      isExpirationRequired: true,
      maximumDuration: r.policy.maximumDuration,
      target: { ...endUserTarget },
    },
    {
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyEnablementRule',
      id: 'Enablement_EndUser_Assignment',
      enabledRules: [...r.policy.enabledRules],
      target: { ...endUserTarget },
    },
    {
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyApprovalRule',
      id: 'Approval_EndUser_Assignment',
      target: { ...endUserTarget },
      setting: {
        '@odata.type': '#microsoft.graph.approvalSettings',
        isApprovalRequired: r.policy.isApprovalRequired,
        isApprovalRequiredForExtension: false,
        isRequestorJustificationRequired: true,
        approvalMode: 'SingleStage',
        approvalStages: [
          {
            approvalStageTimeOutInDays: 1,
            isApproverJustificationRequired: r.policy.isApproverJustificationRequired,
            escalationTimeInMinutes: escalation.length ? (r.policy.escalationTimeInMinutes ?? 720) : 0,
            isEscalationEnabled: escalation.length > 0,
            primaryApprovers: approvers,
            escalationApprovers: escalation,
          },
        ],
      },
    },
    {
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule',
      id: 'AuthenticationContext_EndUser_Assignment',
      isEnabled: !!r.policy.authenticationContext,
      claimValue: r.policy.authenticationContext ?? null,
      target: { ...endUserTarget },
    },
  ];
}

export interface PolicyTarget {
  scopeId: string;
  scopeType: 'DirectoryRole' | 'Group';
  roleDefinitionId: string;
  policy: SeedRole['policy'];
}

/** Every PIM policy of the tenant: one per Entra role, one per PIM group and access (member, owner). */
export function policyTargets(ctx: SimContext): PolicyTarget[] {
  return [
    ...ctx.state.seed.roles.map((r): PolicyTarget => ({ scopeId: '/', scopeType: 'DirectoryRole', roleDefinitionId: r.id, policy: r.policy })),
    // PIM for Groups: one assignment per group and access (member, owner), scopeType Group.
    ...(ctx.state.seed.pimGroups ?? []).flatMap((g) =>
      (['member', 'owner'] as const).map((a): PolicyTarget => ({ scopeId: g.groupId, scopeType: 'Group', roleDefinitionId: a, policy: g.policy })),
    ),
  ];
}

export function policyIdOf(ctx: SimContext, t: PolicyTarget): string {
  return `${t.scopeType}_${ctx.tenantId}_${stableGuid(t.scopeType === 'DirectoryRole' ? `policy:${t.roleDefinitionId}` : `policy:${t.scopeId}:${t.roleDefinitionId}`)}`;
}

export function registerGraphDirectory(router: Router, ctx: SimContext): void {
  const V = ['v1.0', 'beta'];
  const on = (method: string, path: string, h: (req: SimRequest, p: Record<string, string>) => Promise<SimResponse> | SimResponse) => {
    for (const v of V) {
      router.add(method, `/${v}${path}`, async (req, p) => {
        const caller = await graphCaller(ctx, req);
        if (isResponse(caller)) return caller;
        return h(req, p);
      });
    }
  };

  const badFilter = (req: SimRequest) => graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);

  on('GET', '/users', (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const withSelectOnly = Boolean(req.query.get('$select'));
    const items = ctx.state.seed.users
      .map((u) => (withSelectOnly ? { ...graphUser(u), ...graphUserSelectOnly(u, ctx.state.now()) } : graphUser(u)))
      .filter((u) => matchesFilter(u, clauses));
    return page(req, items, 'users');
  });

  on('GET', '/users/:id', (req, p) => {
    const u = ctx.state.user(p.id);
    if (!u) return userNotFound(req, p.id!);
    const select = req.query.get('$select');
    const full = select ? { ...graphUser(u), ...graphUserSelectOnly(u, ctx.state.now()) } : graphUser(u);
    return json(200, { '@odata.context': contextUrl(req, 'users/$entity'), ...applySelect(full, select) });
  });

  // checkMemberGroups: which of up to 20 group ids the user is a member of, transitively (Graph v1.0's contract:
  // body {groupIds}, answer a collection of strings; more than 20 ids is a 400).
  on('POST', '/users/:id/checkMemberGroups', (req, p) => {
    const u = ctx.state.user(p.id);
    if (!u) return userNotFound(req, p.id!);
    const b = jsonBody<{ groupIds?: unknown }>(req);
    const ids = b && Array.isArray(b.groupIds) && b.groupIds.every((g) => typeof g === 'string') ? (b.groupIds as string[]) : null;
    if (!ids) return graphError(req, 400, 'Request_BadRequest', "Property 'groupIds' is required and must be a collection of strings.");
    if (ids.length > 20) return graphError(req, 400, 'Request_BadRequest', 'Too many group ids: at most 20 are allowed.');
    const value = ids.filter((g) => ctx.state.group(g) && ctx.state.groupUserIds(ctx.state.group(g)!.id).some((m) => m.toLowerCase() === u.id.toLowerCase()));
    return json(200, { '@odata.context': contextUrl(req, 'Collection(Edm.String)'), value });
  });

  on('GET', '/groups/:id', (req, p) => {
    const g = ctx.state.group(p.id);
    if (!g)
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return json(200, {
      '@odata.context': contextUrl(req, 'groups/$entity'),
      ...applySelect(
        { id: g.id, displayName: g.displayName, securityEnabled: true, mailEnabled: false, isAssignableToRole: g.isAssignableToRole ?? false },
        req.query.get('$select'),
      ),
    });
  });

  const members =
    (transitive: boolean) =>
    (req: SimRequest, p: Record<string, string>): SimResponse => {
      const g = ctx.state.group(p.id);
      if (!g)
        return graphError(
          req,
          404,
          'Request_ResourceNotFound',
          `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
        );
      const ids = transitive ? ctx.state.groupUserIds(g.id) : g.members.filter((m) => ctx.state.user(m));
      const items = ids.map((id) => ({ '@odata.type': '#microsoft.graph.user', ...graphUser(ctx.state.user(id)!) }));
      return page(req, items, 'users');
    };
  on('GET', '/groups/:id/members', members(false));
  on('GET', '/groups/:id/members/microsoft.graph.user', members(false));
  on('GET', '/groups/:id/transitiveMembers', members(true));
  on('GET', '/groups/:id/transitiveMembers/microsoft.graph.user', members(true));
  const owners = (req: SimRequest, p: Record<string, string>): SimResponse => {
    const g = ctx.state.group(p.id);
    if (!g)
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const items = (g.owners ?? [])
      .filter((id) => ctx.state.user(id))
      .map((id) => ({ '@odata.type': '#microsoft.graph.user', ...graphUser(ctx.state.user(id)!) }));
    return page(req, items, 'directoryObjects');
  };
  on('GET', '/groups/:id/owners', owners);
  on('GET', '/groups/:id/owners/microsoft.graph.user', owners);

  on('GET', '/roleManagement/directory/roleDefinitions', (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const items = ctx.state.seed.roles.map(graphRoleDefinition).filter((r) => matchesFilter(r, clauses));
    return page(req, items, 'roleManagement/directory/roleDefinitions');
  });

  on('GET', '/roleManagement/directory/roleDefinitions/:id', (req, p) => {
    const r = ctx.state.role(p.id);
    if (!r || r.displayName.toLowerCase() === p.id.toLowerCase()) {
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return json(200, {
      '@odata.context': contextUrl(req, 'roleManagement/directory/roleDefinitions/$entity'),
      ...applySelect(graphRoleDefinition(r), req.query.get('$select')),
    });
  });

  const targets = () => policyTargets(ctx);

  const policyAssignment = (req: SimRequest, t: PolicyTarget): Record<string, unknown> => {
    const policyId = policyIdOf(ctx, t);
    const out: Record<string, unknown> = {
      id: `${policyId}_${t.roleDefinitionId}`,
      policyId,
      scopeId: t.scopeId,
      scopeType: t.scopeType,
      roleDefinitionId: t.roleDefinitionId,
    };
    const expand = req.query.get('$expand') ?? '';
    if (/\bpolicy\b/i.test(expand)) {
      const policy: Record<string, unknown> = {
        id: policyId,
        displayName: t.scopeType,
        description: t.scopeType,
        isOrganizationDefault: false,
        scopeId: t.scopeId,
        scopeType: t.scopeType,
        lastModifiedDateTime: null,
        lastModifiedBy: null,
      };
      if (/\brules\b/i.test(expand)) policy.rules = [...policyRules(ctx, t), customExtensionRule(ctx, policyId)];
      out.policy = policy;
    }
    return out;
  };

  on('GET', '/policies/roleManagementPolicyAssignments', (req) => {
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid') return badFilter(req);
    const fields = new Set(clauses.map((c) => c.field.toLowerCase()));
    // Graph refuses this list without a scope filter.
    if (!fields.has('scopeid') || !fields.has('scopetype')) {
      return graphError(req, 400, 'BadRequest', "The filter must include scopeId and scopeType, for example scopeId eq '/' and scopeType eq 'DirectoryRole'.");
    }
    const items = targets()
      .filter((t) => matchesFilter({ scopeId: t.scopeId, scopeType: t.scopeType, roleDefinitionId: t.roleDefinitionId }, clauses))
      .map((t) => policyAssignment(req, t));
    return page(req, items, 'policies/roleManagementPolicyAssignments(policy(rules()))');
  });

  on('GET', '/policies/roleManagementPolicyAssignments/:id', (req, p) => {
    const t = targets().find((x) => (policyAssignment(req, x).id as string).toLowerCase() === p.id.toLowerCase());
    if (!t) return graphError(req, 404, 'NotFound', `The policy assignment '${p.id}' was not found.`);
    return json(200, { '@odata.context': contextUrl(req, 'policies/roleManagementPolicyAssignments/$entity'), ...policyAssignment(req, t) });
  });
}

/** Graph's 404 for a user id it does not know. */
function userNotFound(req: SimRequest, id: string): SimResponse {
  return graphError(req, 404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}
