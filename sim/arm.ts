import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { PimEngine } from './pim-engine';
import type { SeedAzureRole } from './seed';
import type { ApprovalStep, PimRequest } from './state';

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

type ArmCaller = { kind: 'app' | 'user'; oid: string; scopes: string[] };

/** ARM's error envelope. */
export function armError(status: number, code: string, message: string): SimResponse {
  return json(status, { error: { code, message } });
}

function apiVersion(req: SimRequest, allowed: string[]): SimResponse | undefined {
  const v = req.query.get('api-version');
  if (!v) return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
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
    const v = await ctx.tokens.verify(m[1]!, { issuers: ctx.acceptedIssuers(req.origin), audiences: [ARM_RESOURCE, `${ARM_RESOURCE}/`, 'https://management.core.windows.net/'] });
    if (!v.ok) {
      return v.reason === 'expired'
        ? armError(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.')
        : armError(401, 'InvalidAuthenticationToken', `The access token is invalid (${v.reason}).`);
    }
    const c = v.claims;
    const oid = String(c.oid ?? '');
    req.caller = { oid, appid: String(c.azp ?? c.appid ?? '') };
    if (c.idtyp === 'app' || !c.scp) return { kind: 'app', oid, scopes: [] };
    return { kind: 'user', oid, scopes: String(c.scp).split(' ').filter(Boolean) };
  }

  const armScope = (scope: string) => scope.replace(/\/$/, '');
  const requestResource = (r: PimRequest) => ({
    id: `${r.scope}${AUTH}/roleAssignmentScheduleRequests/${r.armName}`,
    name: r.armName,
    type: 'Microsoft.Authorization/RoleAssignmentScheduleRequests',
    properties: {
      roleDefinitionId: r.roleDefinitionId,
      principalId: r.principalId,
      principalType: 'User',
      requestType: 'SelfActivate',
      status: r.status,
      approvalId: r.approvalId,
      scope: r.scope,
      scheduleInfo: { startDateTime: r.scheduleInfo.startDateTime, expiration: { type: 'AfterDuration', endDateTime: null, duration: r.scheduleInfo.expiration.duration } },
      justification: r.justification,
      ticketInfo: r.ticketInfo,
      requestorId: r.principalId,
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
      reviewedBy: s.reviewedBy ? { principalId: s.reviewedBy.id, principalName: s.reviewedBy.displayName, principalType: 'user', userPrincipalName: s.reviewedBy.userPrincipalName } : null,
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

  return async function handle(req: SimRequest): Promise<SimResponse> {
    const path = req.path.slice(ARM_PREFIX.length).replace(/\/$/, '');
    const who = await caller(req);
    if (!('kind' in who)) return who;

    let m = new RegExp(`^(.*)${AUTH}/roleAssignmentScheduleRequests/([^/]+)$`, 'i').exec(path);
    if (m) {
      const bad = apiVersion(req, API.scheduleRequests);
      if (bad) return bad;
      const [, scope, name] = m as unknown as [string, string, string];
      if (req.method === 'GET') {
        const r = pim.all('azureResource').find((x) => x.armName?.toLowerCase() === name.toLowerCase() && x.scope!.toLowerCase() === armScope(scope).toLowerCase());
        return r ? json(200, requestResource(r)) : armError(404, 'RoleAssignmentScheduleRequestNotFound', `The role assignment schedule request '${name}' was not found.`);
      }
      if (req.method !== 'PUT') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (who.kind !== 'user') return armError(400, 'InvalidRequest', 'SelfActivate requests need a user token.');
      const body = jsonBody<{ properties?: Record<string, any> }>(req);
      const p = body?.properties;
      if (!p) return armError(400, 'InvalidRequestContent', 'The request content must be an object with properties.');
      if (String(p.requestType).toLowerCase() !== 'selfactivate') return armError(400, 'InvalidRequest', `The simulator supports requestType 'SelfActivate' only, not '${String(p.requestType)}'.`);
      if (typeof p.principalId !== 'string' || p.principalId.toLowerCase() !== who.oid.toLowerCase()) return armError(400, 'InvalidRequest', 'For SelfActivate the principalId must be the signed-in user.');
      const duration = p.scheduleInfo?.expiration?.duration;
      if (typeof duration !== 'string' || typeof p.roleDefinitionId !== 'string') return armError(400, 'InvalidRequest', 'roleDefinitionId and scheduleInfo.expiration.duration are required.');
      if (!roleAt(armScope(scope), p.roleDefinitionId)) return armError(400, 'RoleDefinitionDoesNotExist', `The role definition '${p.roleDefinitionId}' is not eligible at scope '${scope}'.`);
      const result = await pim.activateAzure({
        principalId: who.oid,
        roleDefinitionId: p.roleDefinitionId,
        scope: armScope(scope),
        name,
        justification: p.justification,
        duration,
        ticketNumber: p.ticketInfo?.ticketNumber,
        ticketSystem: p.ticketInfo?.ticketSystem,
        startDateTime: p.scheduleInfo?.startDateTime,
      }, { mfaSatisfied: true });
      if (!result.ok) return armError(result.status, result.code, result.message);
      return json(201, requestResource(result.request));
    }

    m = new RegExp(`^(.*)${AUTH}/roleAssignmentScheduleRequests$`, 'i').exec(path);
    if (m && req.method === 'GET') {
      const bad = apiVersion(req, API.scheduleRequests);
      if (bad) return bad;
      const scope = armScope(m[1]!).toLowerCase();
      const filter = (req.query.get('$filter') ?? '').trim();
      let items = pim.all('azureResource').filter((r) => r.scope!.toLowerCase().startsWith(scope));
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
      return json(200, { value: items.map(requestResource) });
    }

    if (new RegExp(`^${AUTH}/roleAssignmentApprovals$`, 'i').test(path) && req.method === 'GET') {
      const bad = apiVersion(req, API.approvals);
      if (bad) return bad;
      if (who.kind !== 'user') return armError(403, 'AuthorizationFailed', 'Role assignment approvals are available to users only.');
      const filter = (req.query.get('$filter') ?? '').trim();
      if (filter && !/^asApprover\(\)$/i.test(filter)) return armError(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
      return json(200, { value: pim.all('azureResource').filter((r) => r.approval && isApproverOf(r, who.oid)).map((r) => approvalResource(r, who.oid)) });
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
      if (!isStages) return req.method === 'GET' ? json(200, approvalResource(r, who.oid)) : armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (!stageId) return json(200, { value: r.approval.steps.map((s) => stageResource(r.approval!.id, s, who.oid, r.principalId)) });
      const stage = r.approval.steps.find((s) => s.id.toLowerCase() === stageId.toLowerCase());
      if (!stage) return armError(404, 'RoleAssignmentApprovalStageNotFound', `The approval stage '${stageId}' was not found.`);
      if (req.method === 'GET') return json(200, stageResource(r.approval.id, stage, who.oid, r.principalId));
      if (req.method !== 'PATCH' && req.method !== 'PUT') return armError(405, 'MethodNotAllowed', `The method '${req.method}' is not allowed.`);
      if (!who.scopes.includes('user_impersonation')) return armError(403, 'AuthorizationFailed', 'The token lacks the user_impersonation scope.');
      const body = jsonBody<Record<string, any>>(req) ?? {};
      // The documented body is {reviewResult, justification}; some clients wrap it in properties.
      const b = body.properties && typeof body.properties === 'object' ? body.properties : body;
      const result = pim.decide(r.id, who.oid, b.reviewResult, b.justification, stage.id);
      if (!result.ok) {
        const code = result.status === 403 ? 'AuthorizationFailed' : result.status === 409 ? 'RoleAssignmentApprovalAlreadyReviewed' : result.status === 400 ? 'InvalidRequest' : 'NotFound';
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
      const roles = (ctx.state.seed.azureRoles ?? []).filter((r) => r.scope.toLowerCase() === scope.toLowerCase() && (!f || f[1]!.toLowerCase().endsWith(r.id.toLowerCase())));
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
        { id: 'Expiration_EndUser_Assignment', ruleType: 'RoleManagementPolicyExpirationRule', isExpirationRequired: true, maximumDuration: r.policy.maximumDuration, target },
        { id: 'Enablement_EndUser_Assignment', ruleType: 'RoleManagementPolicyEnablementRule', enabledRules: [...r.policy.enabledRules], target },
        {
          id: 'Approval_EndUser_Assignment',
          ruleType: 'RoleManagementPolicyApprovalRule',
          target,
          setting: {
            isApprovalRequired: r.policy.isApprovalRequired,
            isApprovalRequiredForExtension: false,
            isRequestorJustificationRequired: true,
            approvalMode: 'SingleStage',
            approvalStages: [{ approvalStageTimeOutInDays: 1, isApproverJustificationRequired: r.policy.isApproverJustificationRequired, escalationTimeInMinutes: 0, isEscalationEnabled: false, primaryApprovers: approvers, escalationApprovers: [] }],
          },
        },
      ],
    },
  };
}
