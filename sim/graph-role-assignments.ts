import type { SimContext } from './context';
import { json, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import { ARM_PREFIX, ARM_RESOURCE, armError } from './arm';
import { graphCaller, graphError, isResponse, matchesFilter, page, parseFilter } from './graph-common';
import { stableGuid } from './graph-directory';

/**
 * Who holds a role now, outside PIM's requests: Microsoft Graph's `roleManagement/directory/roleAssignments`
 * (unifiedRoleAssignment: the seeded permanent assignments and PIM activations still running) and Azure
 * Resource Manager's `roleAssignments` at a scope (the seeded Owners and User Access Administrators, and
 * running Azure activations). PIM's default approvers and the administrators of a target are read from these.
 */
export function registerGraphRoleAssignments(router: Router, ctx: SimContext): void {
  const RA = '/roleManagement/directory/roleAssignments';
  for (const v of ['v1.0', 'beta']) {
    router.add('GET', `/${v}${RA}`, async (req) => {
      const caller = await graphCaller(ctx, req);
      if (isResponse(caller)) return caller;
      const clauses = parseFilter(req.query.get('$filter'));
      if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
      const expandPrincipal = /\bprincipal\b/i.test(req.query.get('$expand') ?? '');
      const items = ctx.state.seed.roles
        .flatMap((r) => ctx.state.roleAssignments(r.id))
        .filter((a) => matchesFilter(a, clauses))
        .map((a) => (expandPrincipal ? { ...a, principal: principalOf(ctx, a.principalId) } : a));
      return page(req, items, 'roleManagement/directory/roleAssignments');
    });
  }
}

/** A role assignment's principal as `$expand=principal` shows it: a user or a group (directoryObject). */
function principalOf(ctx: SimContext, id: string): Record<string, unknown> | null {
  const u = ctx.state.user(id);
  if (u) return { '@odata.type': '#microsoft.graph.user', id: u.id, displayName: u.displayName, userPrincipalName: u.userPrincipalName };
  const g = ctx.state.group(id);
  if (g) return { '@odata.type': '#microsoft.graph.group', id: g.id, displayName: g.displayName };
  return null;
}

const AUTH = '/providers/Microsoft.Authorization';
const ROLE_ASSIGNMENTS_API = ['2022-04-01', '2020-04-01-preview', '2015-07-01'];
const PATH = new RegExp(`^(.*)${AUTH.replace(/\//g, '\\/')}/roleAssignments$`, 'i');

/**
 * ARM `GET {scope}/providers/Microsoft.Authorization/roleAssignments`: undefined when the path is not that
 * list (the rest of ARM answers it). `$filter=atScope()` lists the assignments at the scope and above it
 * (inherited); `principalId eq '{id}'` those of one principal; no filter, those at, above and below.
 */
export async function armRoleAssignments(ctx: SimContext, req: SimRequest): Promise<SimResponse | undefined> {
  if (!(req.path === ARM_PREFIX || req.path.startsWith(`${ARM_PREFIX}/`))) return undefined;
  const m = PATH.exec(req.path.slice(ARM_PREFIX.length).replace(/\/$/, ''));
  if (!m || req.method !== 'GET') return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!bearer) return armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
  const v = await ctx.tokens.verify(bearer[1]!, {
    issuers: ctx.acceptedIssuers(req.origin),
    audiences: [ARM_RESOURCE, `${ARM_RESOURCE}/`, 'https://management.core.windows.net/'],
  });
  if (!v.ok) return armError(401, 'InvalidAuthenticationToken', `The access token is invalid (${v.reason}).`);
  req.caller = { oid: String(v.claims.oid ?? ''), appid: String(v.claims.azp ?? v.claims.appid ?? '') };
  const version = req.query.get('api-version');
  if (!version) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  if (!ROLE_ASSIGNMENTS_API.includes(version)) {
    return armError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${version}' is invalid. The supported versions are '${ROLE_ASSIGNMENTS_API.join(',')}'.`,
    );
  }
  const scope = (m[1] ?? '').replace(/\/$/, '');
  const filter = (req.query.get('$filter') ?? '').trim();
  const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(filter);
  if (filter && !/^atScope\(\)$/i.test(filter) && !principal) return armError(400, 'InvalidFilter', `The filter '${filter}' is not supported.`);
  const atOrAbove = (s: string) => {
    const a = s.toLowerCase();
    const b = scope.toLowerCase();
    return a === b || a === '/' || b.startsWith(`${a}/`);
  };
  const applies = (s: string) => (filter && !principal ? atOrAbove(s) : atOrAbove(s) || s.toLowerCase().startsWith(`${scope.toLowerCase()}/`));
  const now = ctx.state.now().getTime();
  const seeded = (ctx.state.seed.azureRoleAssignments ?? []).map((a) => ({
    scope: a.scope,
    roleDefinitionPath: `${subscriptionOf(a.scope)}${AUTH}/roleDefinitions/${a.roleDefinitionId}`,
    principalId: a.principalId,
    principalType: a.principalType,
    name: stableGuid(`ra:${a.scope}:${a.roleDefinitionId}:${a.principalId}`),
    createdOn: ctx.state.startedAt.toISOString(),
  }));
  // PIM activations of Azure roles still running are active role assignments too.
  const activated = ctx.state.instances
    .filter((i) => i.kind === 'azureResource' && Date.parse(i.startDateTime) <= now && Date.parse(i.endDateTime) > now)
    .map((i) => ({
      scope: i.target,
      roleDefinitionPath: i.roleDefinitionId,
      principalId: i.principalId,
      principalType: ctx.state.group(i.principalId) ? ('Group' as const) : ('User' as const),
      name: i.id,
      createdOn: i.startDateTime,
    }));
  const value = [...seeded, ...activated]
    .filter((a) => applies(a.scope) && (!principal || a.principalId.toLowerCase() === principal[1]!.toLowerCase()))
    .map((a) => ({
      id: `${a.scope}${AUTH}/roleAssignments/${a.name}`,
      name: a.name,
      type: 'Microsoft.Authorization/roleAssignments',
      properties: {
        roleDefinitionId: a.roleDefinitionPath,
        principalId: a.principalId,
        principalType: a.principalType,
        scope: a.scope,
        condition: null,
        conditionVersion: null,
        createdOn: a.createdOn,
        updatedOn: a.createdOn,
        createdBy: null,
        updatedBy: null,
        delegatedManagedIdentityResourceId: null,
        description: null,
      },
    }));
  return json(200, { value });
}

/** ARM names a built-in role definition under the subscription of the scope it is read at. */
function subscriptionOf(scope: string): string {
  const m = /^(\/subscriptions\/[^/]+)/i.exec(scope);
  return m ? m[1]! : '';
}
