import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import { adminEndOf, adminInputOf } from './pim-admin-actions';
import { parseExtensionExpiration, type PimEngine, type ScheduleRequestBody } from './pim-engine';
import type { SeedAzureRole } from './seed';
import type { ApprovalStep, PimRequest, RequestExpiration } from './state';
import { stableGuid } from './graph-directory';

/** The audience of ARM tokens (`https://management.azure.com/.default`). */
export const ARM_RESOURCE = 'https://management.azure.com';
/** Where the simulator serves Azure Resource Manager; the bot's ARM_BASE_URL is `${simUrl}${ARM_PREFIX}`. */
export const ARM_PREFIX = '/arm';

const AUTH = '/providers/Microsoft.Authorization';
const API = {
  scheduleRequests: ['2020-10-01', '2020-10-01-preview', '2022-04-01-preview'],
  approvals: ['2021-01-01-preview'],
  roleDefinitions: ['2022-04-01', '2018-01-01-preview', '2015-07-01'],
  policyAssignments: ['2020-10-01', '2020-10-01-preview'],
};

/** An approval stage's decision as clients send it (checked by the engine's decide). */
type ApprovalStageBody = { reviewResult?: unknown; justification?: unknown };
type ArmCaller = { kind: 'app' | 'user'; oid: string; scopes: string[]; amr: string[]; acrs: string[] };

/** ARM's casing of a request's expiration. */
function armExpiration(e: RequestExpiration): Record<string, unknown> {
  switch (e.type) {
    case 'afterDuration':
      return { type: 'AfterDuration', endDateTime: null, duration: e.duration };
    case 'afterDateTime':
      return { type: 'AfterDateTime', endDateTime: e.endDateTime, duration: null };
    default:
      return { type: null, endDateTime: null, duration: null };
  }
}

/** ARM's error envelope. */
export function armError(status: number, code: string, message: string): SimResponse {
  return json(status, { error: { code, message } });
}

function apiVersion(req: SimRequest, allowed: string[]): SimResponse | undefined {
  const v = req.query.get('api-version');
  if (!v) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  if (!allowed.includes(v)) {
    return armError(400, 'InvalidApiVersionParameter', `The api-version '${v}' is invalid. The supported versions are '${allowed.join(',')}'.`);
  }
  return undefined;
}

/**
 * Azure Resource Manager's PIM for Azure resources: self-activation requests at a scope, approvals
 * with stages (delegated only, PIM's rules), role definitions and policy assignments. Paths are ARM's,
 * under the `/arm` prefix.
 */
export function createArmHandler(ctx: SimContext, pim: PimEngine): (req: SimRequest) => Promise<SimResponse> {
  async function caller(req: SimRequest): Promise<ArmCaller | SimResponse> {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    const v = await ctx.tokens.verify(m[1]!, {
      issuers: ctx.acceptedIssuers(req.origin),
      audiences: [ARM_RESOURCE, `${ARM_RESOURCE}/`, 'https://management.core.windows.net/'],
    });
    if (!v.ok) {
      return v.reason === 'expired'
        ? armError(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.')
        : armError(401, 'InvalidAuthenticationToken', `The access token is invalid (${v.reason}).`);
    }
    const c = v.claims;
    const oid = String(c.oid ?? '');
    req.caller = { oid, appid: String(c.azp ?? c.appid ?? '') };
    if (c.idtyp === 'app' || !c.scp) return { kind: 'app', oid, scopes: [], amr: [], acrs: [] };
    const list = (x: unknown) => (Array.isArray(x) ? x.map(String) : []);
    return { kind: 'user', oid, scopes: String(c.scp).split(' ').filter(Boolean), amr: list(c.amr), acrs: list(c.acrs) };
  }

  const armScope = (scope: string) => scope.replace(/\/$/, '');
  const requestResource = (r: PimRequest) => ({
    id: `${r.scope}${AUTH}/${r.collection === 'eligibility' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests'}/${r.armName}`,
    name: r.armName,
    type: r.collection === 'eligibility' ? 'Microsoft.Authorization/RoleEligibilityScheduleRequests' : 'Microsoft.Authorization/RoleAssignmentScheduleRequests',
    properties: {
      roleDefinitionId: r.roleDefinitionId,
      principalId: r.principalId,
      principalType: 'User',
      // ARM spells Graph's actions with a capital: SelfActivate, SelfExtend, SelfRenew, AdminExtend, …
      requestType: r.action.charAt(0).toUpperCase() + r.action.slice(1),
      status: r.status,
      approvalId: r.approvalId,
      scope: r.scope,
      scheduleInfo: { startDateTime: r.scheduleInfo.startDateTime, expiration: armExpiration(r.scheduleInfo.expiration) },
      justification: r.justification,
      ticketInfo: r.ticketInfo,
      requestorId: r.requestedBy ?? r.principalId,
      createdOn: r.createdDateTime,
    },
  });
  const stageResource = (approvalId: string, s: ApprovalStep, callerId: string, requesterId: string) => ({
    id: `${AUTH}/roleAssignmentApprovals/${approvalId}/stages/${s.id}`,
    name: s.id,
    type: 'Microsoft.Authorization/roleAssignmentApprovals/stages',
    properties: {
      displayName: s.displayName,
      status: s.status,
      assignedToMe: callerId !== requesterId && s.approverIds.includes(callerId),
      reviewResult: s.reviewResult,
      justification: s.justification,
      reviewedDateTime: s.reviewedDateTime,
      reviewedBy: s.reviewedBy
        ? { principalId: s.reviewedBy.id, principalName: s.reviewedBy.displayName, principalType: 'user', userPrincipalName: s.reviewedBy.userPrincipalName }
        : null,
    },
  });
  const approvalResource = (r: PimRequest, callerId: string) => ({
    id: `${AUTH}/roleAssignmentApprovals/${r.approval!.id}`,
    name: r.approval!.id,
    type: 'Microsoft.Authorization/roleAssignmentApprovals',
    properties: { stages: r.approval!.steps.map((s) => stageResource(r.approval!.id, s, callerId, r.principalId)) },
  });
  const isApproverOf = (r: PimRequest, oid: string) => r.principalId !== oid && !!r.approval?.steps.some((s) => s.approverIds.includes(oid));
  const roleAt = (scope: string, path: string): SeedAzureRole | undefined => ctx.state.azureRole(path, scope);

  const expanded = (principalId: string, role: SeedAzureRole, scope: string) => {
    const u = ctx.state.user(principalId);
    return {
      principal: { id: principalId, displayName: u?.displayName ?? null, email: u ? (u.mail ?? u.userPrincipalName) : null, type: 'User' },
      roleDefinition: { id: `${role.scope}${AUTH}/roleDefinitions/${role.id}`, displayName: role.displayName, type: 'BuiltInRole' },
      scope: ctx.state.azureScopeInfo(scope),
    };
  };
  /** RoleEligibilityScheduleInstance resources of the seeded eligibilities (ended ones drop out). */
  const eligibilityInstances = (principalId: string | undefined, applies: (scope: string) => boolean) => {
    const out: Record<string, unknown>[] = [];
    for (const role of ctx.state.seed.azureRoles ?? []) {
      if (!applies(role.scope)) continue;
      for (const uid of role.eligible) {
        if (principalId && uid.toLowerCase() !== principalId.toLowerCase()) continue;
        if (!ctx.state.isEligible(role, role.eligible, uid)) continue;
        const name = stableGuid(`arm-eligibility:${role.scope}:${role.id}:${uid}`);
        out.push({
          id: `${role.scope}${AUTH}/roleEligibilityScheduleInstances/${name}`,
          name,
          type: 'Microsoft.Authorization/roleEligibilityScheduleInstances',
          properties: {
            roleEligibilityScheduleId: `${role.scope}${AUTH}/roleEligibilitySchedules/${name}`,
            scope: role.scope,
            roleDefinitionId: `${role.scope}${AUTH}/roleDefinitions/${role.id}`,
            principalId: uid,
            principalType: 'User',
            status: 'Provisioned',
            startDateTime: '2025-01-01T00:00:00Z',
            endDateTime: ctx.state.eligibilityEnd(role, uid),
            memberType: 'Direct',
            createdOn: '2025-01-01T00:00:00Z',
            expandedProperties: expanded(uid, role, role.scope),
          },
        });
      }
    }
    return out;
  };
  /** RoleAssignmentScheduleInstance resources of active (activated) Azure role assignments. */
  const assignmentInstances = (principalId: string | undefined, applies: (scope: string) => boolean) => {
    const now = ctx.state.now().getTime();
    return ctx.state.instances
      .filter(
        (i) =>
          i.kind === 'azureResource' &&
          Date.parse(i.endDateTime) > now &&
          applies(i.target) &&
          (!principalId || i.principalId.toLowerCase() === principalId.toLowerCase()),
      )
      .map((i) => {
        const role = ctx.state.azureRole(i.roleDefinitionId, i.target);
        const eligibilityName = stableGuid(`arm-eligibility:${i.target}:${role?.id ?? ''}:${i.principalId}`);
        return {
          id: `${i.target}${AUTH}/roleAssignmentScheduleInstances/${i.id}`,
          name: i.id,
          type: 'Microsoft.Authorization/roleAssignmentScheduleInstances',
          properties: {
            scope: i.target,
            roleDefinitionId: i.roleDefinitionId,
            principalId: i.principalId,
            principalType: 'User',
            roleAssignmentScheduleId: `${i.target}${AUTH}/roleAssignmentSchedules/${i.requestId}`,
            originRoleAssignmentId: `${i.target}${AUTH}/roleAssignments/${i.id}`,
            linkedRoleEligibilityScheduleId: `${i.target}${AUTH}/roleEligibilitySchedules/${eligibilityName}`,
            linkedRoleEligibilityScheduleInstanceId: `${i.target}${AUTH}/roleEligibilityScheduleInstances/${eligibilityName}`,
            status: 'Provisioned',
            startDateTime: i.startDateTime,
            endDateTime: i.endDateTime,
            assignmentType: 'Activated',
            memberType: 'Direct',
            createdOn: i.startDateTime,
            ...(role ? { expandedProperties: expanded(i.principalId, role, i.target) } : {}),
          },
        };
      });
  };

  return async function handle(req: SimRequest): Promise<SimResponse> {
    const path = req.path.slice(ARM_PREFIX.length).replace(/\/$/, '');
    const who = await caller(req);
    if (!('kind' in who)) return who;

    let m = new RegExp(`^(.*)${AUTH}/(roleEligibilityScheduleInstances|roleAssignmentScheduleInstances)$`, 'i').exec(path);
    if (m && req.method === 'GET') {
      const bad = apiVersion(req, API.scheduleRequests);
      if (bad) return bad;
      const scope = armScope(m[1]!);
      const filter = (req.query.get('$filter') ?? '').trim();
      const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(filter);
      let target: string | undefined;
      if (/^asTarget\(\)$/i.test(filter)) {
        if (who.kind !== 'user') return armError(400, 'InvalidFilter', 'asTarget() needs a user token.');
        target = who.oid;
      } else if (principal) target = principal[1]!;
      else if (filter) return armError(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
      // Instances at the scope, below it, and above it (inherited): what applies to the scope.
      const applies = (s: string) => {
        const a = s.toLowerCase();
        const b = scope.toLowerCase();
        return !b || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
      };
      const eligibilityOnly = m[2]!.toLowerCase() === 'roleeligibilityscheduleinstances';
      const value = eligibilityOnly ? eligibilityInstances(target, applies) : assignmentInstances(target, applies);
      return json(200, { value });
    }

    // Schedule requests: roleAssignmentScheduleRequests (SelfActivate; SelfExtend too) and
    // roleEligibilityScheduleRequests (SelfExtend, where ARM documents extending an eligibility).
    m = new RegExp(`^(.*)${AUTH}/(roleAssignmentScheduleRequests|roleEligibilityScheduleRequests)(?:/([^/]+)(/cancel)?)?$`, 'i').exec(path);
    if (m) {
      const bad = apiVersion(req, API.scheduleRequests);
      if (bad) return bad;
      const scope = armScope(m[1]!);
      const collection: PimRequest['collection'] = m[2]!.toLowerCase() === 'roleassignmentschedulerequests' ? 'assignment' : 'eligibility';
      const name = m[3];
      const isCancel = !!m[4];
      const label = collection === 'assignment' ? 'role assignment schedule request' : 'role eligibility schedule request';
      const notFoundCode = collection === 'assignment' ? 'RoleAssignmentScheduleRequestNotFound' : 'RoleEligibilityScheduleRequestNotFound';
      const mine = pim.all('azureResource', collection);
      const byName = (n: string) => mine.find((x) => x.armName?.toLowerCase() === n.toLowerCase() && x.scope!.toLowerCase() === scope.toLowerCase());
      const resource = (r: PimRequest) => requestResource(r);

      if (!name) {
        if (req.method !== 'GET') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
        const filter = (req.query.get('$filter') ?? '').trim();
        let items = mine.filter((r) => r.scope!.toLowerCase().startsWith(scope.toLowerCase()));
        const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(filter);
        if (/^asApprover\(\)$/i.test(filter)) {
          if (who.kind !== 'user') return armError(400, 'InvalidFilter', 'asApprover() needs a user token.');
          items = items.filter((r) => isApproverOf(r, who.oid));
        } else if (/^asRequestor\(\)$/i.test(filter) || /^asTarget\(\)$/i.test(filter)) {
          items = items.filter((r) => r.principalId === who.oid);
        } else if (principal) {
          items = items.filter((r) => r.principalId.toLowerCase() === principal[1]!.toLowerCase());
        } else if (filter) {
          return armError(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
        }
        return json(200, { value: items.map(resource) });
      }

      if (isCancel) {
        if (req.method !== 'POST') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
        if (who.kind !== 'user') return armError(403, 'AuthorizationFailed', 'Only the principal of a request can cancel it; service principals cannot.');
        const r = byName(name);
        if (!r) return armError(404, notFoundCode, `The ${label} '${name}' was not found.`);
        const result = pim.cancel(r.id, who.oid, 'azureResource', collection);
        if (!result.ok) return armError(result.status, result.status === 403 ? 'AuthorizationFailed' : result.code, result.message);
        // ARM answers the cancel action with 200 and no body.
        return { status: 200 };
      }

      if (req.method === 'GET') {
        const r = byName(name);
        return r ? json(200, resource(r)) : armError(404, notFoundCode, `The ${label} '${name}' was not found.`);
      }
      if (req.method !== 'PUT') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (who.kind !== 'user') return armError(400, 'InvalidRequest', 'Self requests (SelfActivate, SelfExtend, SelfDeactivate) need a user token.');
      const body = jsonBody<{ properties?: ScheduleRequestBody }>(req);
      const p = body?.properties;
      if (!p) return armError(400, 'InvalidRequestContent', 'The request content must be an object with properties.');
      const requestType = String(p.requestType).toLowerCase();
      if (collection === 'eligibility' && (requestType === 'adminextend' || requestType === 'adminrenew')) {
        // An Owner or User Access Administrator extends or renews someone's eligibility at the scope.
        if (typeof p.roleDefinitionId !== 'string' || typeof p.principalId !== 'string')
          return armError(400, 'InvalidRequest', 'roleDefinitionId and principalId are required.');
        if (!roleAt(scope, p.roleDefinitionId))
          return armError(400, 'RoleDefinitionDoesNotExist', `The role definition '${p.roleDefinitionId}' is not eligible at scope '${scope}'.`);
        const end = adminEndOf(p.scheduleInfo);
        if (typeof end !== 'string') return armError(400, 'InvalidRequest', end.error);
        const done = pim.adminSchedule(
          { kind: 'azureResource', roleDefinitionId: p.roleDefinitionId, scope, name },
          adminInputOf(who.oid, requestType === 'adminextend' ? 'adminExtend' : 'adminRenew', p, end),
        );
        if (!done.ok) return armError(done.status, done.status === 403 ? 'AuthorizationFailed' : done.code, done.message);
        return json(201, resource(done.request));
      }
      const allowed = collection === 'assignment' ? ['selfactivate', 'selfextend', 'selfdeactivate'] : ['selfextend'];
      if (!allowed.includes(requestType)) {
        const names = collection === 'assignment' ? "'SelfActivate', 'SelfExtend' and 'SelfDeactivate'" : "'SelfExtend'";
        return armError(400, 'InvalidRequest', `The simulator supports requestType ${names} only here, not '${String(p.requestType)}'.`);
      }
      if (typeof p.principalId !== 'string' || p.principalId.toLowerCase() !== who.oid.toLowerCase())
        return armError(400, 'InvalidRequest', `For ${String(p.requestType)} the principalId must be the signed-in user.`);
      if (requestType === 'selfdeactivate') {
        if (typeof p.roleDefinitionId !== 'string') return armError(400, 'InvalidRequest', 'roleDefinitionId is required.');
        if (!roleAt(scope, p.roleDefinitionId))
          return armError(400, 'RoleDefinitionDoesNotExist', `The role definition '${p.roleDefinitionId}' is not eligible at scope '${scope}'.`);
        const ended = pim.deactivateAzure(who.oid, p.roleDefinitionId, scope, name);
        return ended.ok ? json(201, resource(ended.request)) : armError(ended.status, ended.code, ended.message);
      }
      if (requestType === 'selfextend') {
        if (typeof p.roleDefinitionId !== 'string') return armError(400, 'InvalidRequest', 'roleDefinitionId is required.');
        if (!roleAt(scope, p.roleDefinitionId))
          return armError(400, 'RoleDefinitionDoesNotExist', `The role definition '${p.roleDefinitionId}' is not eligible at scope '${scope}'.`);
        const expiration = parseExtensionExpiration(p.scheduleInfo?.expiration);
        if (typeof expiration === 'string') return armError(400, 'InvalidRequest', expiration);
        const ext = pim.extendAzure(
          {
            principalId: who.oid,
            roleDefinitionId: p.roleDefinitionId,
            scope,
            name,
            justification: p.justification,
            expiration,
            startDateTime: p.scheduleInfo?.startDateTime,
            ticketNumber: p.ticketInfo?.ticketNumber,
            ticketSystem: p.ticketInfo?.ticketSystem,
          },
          collection,
        );
        return ext.ok ? json(201, resource(ext.request)) : armError(ext.status, ext.code, ext.message);
      }
      const duration = p.scheduleInfo?.expiration?.duration;
      if (typeof duration !== 'string' || typeof p.roleDefinitionId !== 'string')
        return armError(400, 'InvalidRequest', 'roleDefinitionId and scheduleInfo.expiration.duration are required.');
      if (!roleAt(scope, p.roleDefinitionId))
        return armError(400, 'RoleDefinitionDoesNotExist', `The role definition '${p.roleDefinitionId}' is not eligible at scope '${scope}'.`);
      const result = await pim.activateAzure(
        {
          principalId: who.oid,
          roleDefinitionId: p.roleDefinitionId,
          scope,
          name,
          justification: p.justification,
          duration,
          ticketNumber: p.ticketInfo?.ticketNumber,
          ticketSystem: p.ticketInfo?.ticketSystem,
          startDateTime: p.scheduleInfo?.startDateTime,
        },
        { mfaSatisfied: who.amr.includes('mfa'), acrs: who.acrs },
      );
      if (!result.ok) return armError(result.status, result.code, result.message);
      return json(201, resource(result.request));
    }

    if (new RegExp(`^${AUTH}/roleAssignmentApprovals$`, 'i').test(path) && req.method === 'GET') {
      const bad = apiVersion(req, API.approvals);
      if (bad) return bad;
      if (who.kind !== 'user') return armError(403, 'AuthorizationFailed', 'Role assignment approvals are available to users only.');
      const filter = (req.query.get('$filter') ?? '').trim();
      if (filter && !/^asApprover\(\)$/i.test(filter)) return armError(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
      return json(200, {
        value: pim
          .all('azureResource')
          .filter((r) => r.approval && isApproverOf(r, who.oid))
          .map((r) => approvalResource(r, who.oid)),
      });
    }

    m = new RegExp(`^${AUTH}/roleAssignmentApprovals/([^/]+)(?:/stages(?:/([^/]+))?)?$`, 'i').exec(path);
    if (m) {
      const bad = apiVersion(req, API.approvals);
      if (bad) return bad;
      if (who.kind !== 'user') return armError(403, 'AuthorizationFailed', 'Service principals are not allowed to approve requests.');
      const r = pim.byArmApproval(m[1]!);
      if (!r?.approval) return armError(404, 'RoleAssignmentApprovalNotFound', `The role assignment approval '${m[1]}' was not found.`);
      const stageId = m[2];
      const isStages = path.toLowerCase().includes('/stages');
      if (!isStages)
        return req.method === 'GET' ? json(200, approvalResource(r, who.oid)) : armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (!stageId) return json(200, { value: r.approval.steps.map((s) => stageResource(r.approval!.id, s, who.oid, r.principalId)) });
      const stage = r.approval.steps.find((s) => s.id.toLowerCase() === stageId.toLowerCase());
      if (!stage) return armError(404, 'RoleAssignmentApprovalStageNotFound', `The approval stage '${stageId}' was not found.`);
      if (req.method === 'GET') return json(200, stageResource(r.approval.id, stage, who.oid, r.principalId));
      if (req.method !== 'PATCH' && req.method !== 'PUT') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (!who.scopes.includes('user_impersonation')) return armError(403, 'AuthorizationFailed', 'The token lacks the user_impersonation scope.');
      const body = jsonBody<ApprovalStageBody & { properties?: unknown }>(req) ?? {};
      // The documented body is {reviewResult, justification}; some clients wrap it in properties.
      const b: ApprovalStageBody = body.properties && typeof body.properties === 'object' ? body.properties : body;
      const result = pim.decide(r.id, who.oid, b.reviewResult, b.justification, stage.id);
      if (!result.ok) {
        const code =
          result.status === 403
            ? 'AuthorizationFailed'
            : result.status === 409
              ? 'RoleAssignmentApprovalAlreadyReviewed'
              : result.status === 400
                ? 'InvalidRequest'
                : 'NotFound';
        return armError(result.status, code, result.message);
      }
      return json(200, stageResource(r.approval.id, stage, who.oid, r.principalId));
    }

    m = new RegExp(`^(.*)${AUTH}/roleDefinitions/([^/]+)$`, 'i').exec(path);
    if (m && req.method === 'GET') {
      const bad = apiVersion(req, API.roleDefinitions);
      if (bad) return bad;
      const role = ctx.state.azureRole(m[2]!);
      if (!role) return armError(404, 'RoleDefinitionDoesNotExist', 'The specified role definition does not exist.');
      return json(200, {
        id: `${armScope(m[1]!)}${AUTH}/roleDefinitions/${role.id}`,
        name: role.id,
        type: 'Microsoft.Authorization/roleDefinitions',
        properties: { roleName: role.displayName, type: 'BuiltInRole', description: role.description, assignableScopes: ['/'], permissions: [] },
      });
    }

    m = new RegExp(`^(.*)${AUTH}/roleManagementPolicyAssignments$`, 'i').exec(path);
    if (m && req.method === 'GET') {
      const bad = apiVersion(req, API.policyAssignments);
      if (bad) return bad;
      const scope = armScope(m[1]!);
      const f = /^roleDefinitionId\s+eq\s+'([^']+)'$/i.exec((req.query.get('$filter') ?? '').trim());
      const roles = (ctx.state.seed.azureRoles ?? []).filter(
        (r) => r.scope.toLowerCase() === scope.toLowerCase() && (!f || f[1]!.toLowerCase().endsWith(r.id.toLowerCase())),
      );
      return json(200, { value: roles.map((r) => policyAssignment(ctx, r)) });
    }

    return armError(404, 'InvalidResourceType', `The resource type could not be found for ${req.method} ${path}.`);
  };
}

function policyAssignment(ctx: SimContext, r: SeedAzureRole): Record<string, unknown> {
  const policyId = `${r.scope}${AUTH}/roleManagementPolicies/${r.id}-policy`;
  const approvers = r.policy.primaryApprovers.map((a) =>
    a.kind === 'singleUser'
      ? { id: a.userId, userType: 'User', isBackup: false, description: ctx.state.user(a.userId)?.displayName ?? null }
      : { id: a.groupId, userType: 'Group', isBackup: false, description: ctx.state.group(a.groupId)?.displayName ?? null },
  );
  const target = { caller: 'EndUser', operations: ['All'], level: 'Assignment' };
  return {
    id: `${r.scope}${AUTH}/roleManagementPolicyAssignments/${r.id}-assignment`,
    name: `${r.id}-assignment`,
    type: 'Microsoft.Authorization/RoleManagementPolicyAssignment',
    properties: {
      scope: r.scope,
      roleDefinitionId: `${r.scope}${AUTH}/roleDefinitions/${r.id}`,
      policyId,
      effectiveRules: [
        {
          id: 'Expiration_EndUser_Assignment',
          ruleType: 'RoleManagementPolicyExpirationRule',
          isExpirationRequired: true,
          maximumDuration: r.policy.maximumDuration,
          target,
        },
        { id: 'Enablement_EndUser_Assignment', ruleType: 'RoleManagementPolicyEnablementRule', enabledRules: [...r.policy.enabledRules], target },
        {
          id: 'AuthenticationContext_EndUser_Assignment',
          ruleType: 'RoleManagementPolicyAuthenticationContextRule',
          isEnabled: !!r.policy.authenticationContext,
          claimValue: r.policy.authenticationContext ?? null,
          target,
        },
        {
          id: 'Approval_EndUser_Assignment',
          ruleType: 'RoleManagementPolicyApprovalRule',
          target,
          setting: {
            isApprovalRequired: r.policy.isApprovalRequired,
            isApprovalRequiredForExtension: false,
            isRequestorJustificationRequired: true,
            approvalMode: 'SingleStage',
            approvalStages: [
              {
                approvalStageTimeOutInDays: 1,
                isApproverJustificationRequired: r.policy.isApproverJustificationRequired,
                escalationTimeInMinutes: 0,
                isEscalationEnabled: false,
                primaryApprovers: approvers,
                escalationApprovers: [],
              },
            ],
          },
        },
      ],
    },
  };
}
