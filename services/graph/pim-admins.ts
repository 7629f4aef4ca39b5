import type { Client } from '@microsoft/microsoft-graph-client';
import { GraphCallError, toGraphCallError } from './graph-errors';

/**
 * Who administers a PIM target, read with the bot's own (application) identity, and PIM's default approvers.
 *
 * - Entra roles: the Privileged Role Administrators and Global Administrators who hold the role now at
 *   directory scope (Graph `roleManagement/directory/roleAssignments`: permanent assignments and running PIM
 *   activations), role-assignable groups expanded to their users. PIM documents them as the default approvers
 *   of a role whose policy requires approval and names nobody, and as who renews assignments
 *   (pim-how-to-change-default-settings.md).
 * - PIM for Groups: the group's owners, the Global Administrators, and the Privileged Role Administrators when
 *   the group is role-assignable (groups-role-settings.md names "at least Privileged Role Administrator" for
 *   role-assignable groups; the directory roles it names for other groups are not read: fewer people, never more).
 * - Azure resources: Owners and User Access Administrators at the scope or above it (ARM `roleAssignments`,
 *   `atScope()`), groups expanded to their users.
 *
 * Fail closed: a read that fails rejects (the caller refuses the action); nothing here ever means "everyone".
 */

/** Azure Resource Manager as the app (arm.ts's ArmClient; named by shape: arm.ts imports directory.ts, which imports this). */
export interface ArmReader {
  call<T>(method: 'GET', path: string, what: string): Promise<T>;
}

/**
 * What a PIM request is for (as directory.ts's PimTarget, named here on its own: directory.ts reads the default
 * approvers from this module).
 */
export interface PimTarget {
  kind: string;
  roleDefinitionId: string;
  scope: string;
}

/** Who PIM lets manage a target's assignments (extend, renew): user object ids, lower case, and their display names. */
export interface PimAdministrators {
  of(target: PimTarget): Promise<{ ids: string[]; names: string[] }>;
}

/** People as the readers return them: `names[i]` is the display name of `ids[i]` (lower-case object ids, each once). */
export interface People {
  ids: string[];
  names: string[];
}

export const PRIVILEGED_ROLE_ADMINISTRATOR = 'e8611ab8-c189-46e8-94e1-60213ab1f814';
export const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10';
/** Azure built-in roles that manage role assignments at a scope. */
export const AZURE_OWNER = '8e3af657-a8ff-4c85-8aa3-bc7c1e4b54b8';
export const AZURE_USER_ACCESS_ADMINISTRATOR = '18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d';

/** The roles whose holders are PIM's default approvers of an Entra role whose policy names no approvers. */
export const DEFAULT_APPROVER_ROLES = [PRIVILEGED_ROLE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR] as const;
/** PIM's default approvers in words, as the card says who can approve. */
export const DEFAULT_APPROVER_NAMES = ['Privileged Role Administrators', 'Global Administrators'];

const READ_TIMEOUT_MS = 8000;
/** A group or role with more users than this is read no further (the reads are for names on cards and who may act). */
const MAX_PEOPLE = 10_000;
const ROLE_ASSIGNMENTS_API = '2022-04-01';

type Person = { id: string; name: string };

/** Merges lists of people in order, each person once (first name seen wins). */
export function mergePeople(lists: readonly Person[][]): People {
  const seen = new Map<string, string>();
  for (const list of lists) for (const p of list) if (!seen.has(p.id)) seen.set(p.id, p.name);
  return { ids: [...seen.keys()], names: [...seen.values()] };
}

/** Every page of a Graph collection (`@odata.nextLink`), up to MAX_PEOPLE items. */
async function allPages<T>(client: Client, first: () => Promise<{ value?: T[]; '@odata.nextLink'?: string }>): Promise<T[]> {
  const out: T[] = [];
  let page = await first();
  for (;;) {
    out.push(...(page.value ?? []));
    const next = page['@odata.nextLink'];
    if (!next || out.length > MAX_PEOPLE) return out;
    page = await client.api(next).option('signal', AbortSignal.timeout(READ_TIMEOUT_MS)).get();
  }
}

/** A group's transitive user members with their names. */
export async function groupUsers(client: Client, groupId: string): Promise<Person[]> {
  try {
    const users = await allPages<{ id: string; displayName?: string | null }>(client, () =>
      client
        .api(`/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user`)
        .select(['id', 'displayName'])
        .top(999)
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get(),
    );
    return users.map((u) => ({ id: String(u.id).toLowerCase(), name: u.displayName ?? String(u.id) }));
  } catch (err) {
    throw toGraphCallError(err, 'Reading the members of an administrator group');
  }
}

interface GraphRoleAssignment {
  principalId?: string;
  directoryScopeId?: string | null;
  principal?: { '@odata.type'?: string; id?: string; displayName?: string | null } | null;
}

/**
 * The users who hold any of these Entra roles now, tenant-wide (directory scope `/`; an assignment scoped to
 * an administrative unit does not count), groups expanded. Principals that are neither users nor groups
 * (service principals) do not count.
 */
export async function directoryRoleHolders(client: Client, roleIds: readonly string[]): Promise<People> {
  const perRole = await Promise.all(
    roleIds.map(async (roleId) => {
      let assignments: GraphRoleAssignment[];
      try {
        assignments = await allPages<GraphRoleAssignment>(client, () =>
          client
            .api('/roleManagement/directory/roleAssignments')
            .filter(`roleDefinitionId eq '${roleId.replace(/'/g, "''")}'`)
            .expand('principal')
            .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
            .get(),
        );
      } catch (err) {
        throw toGraphCallError(err, 'Reading who holds an administrator role');
      }
      const lists = await Promise.all(
        assignments
          .filter((a) => (a.directoryScopeId ?? '/') === '/')
          .map(async (a): Promise<Person[]> => {
            const type = (a.principal?.['@odata.type'] ?? '').toLowerCase();
            const id = String(a.principal?.id ?? a.principalId ?? '').toLowerCase();
            if (!id) return [];
            if (type.endsWith('.user')) return [{ id, name: a.principal?.displayName ?? id }];
            if (type.endsWith('.group')) return groupUsers(client, id);
            return [];
          }),
      );
      return lists.flat();
    }),
  );
  return mergePeople(perRole);
}

interface ArmRoleAssignment {
  properties?: { roleDefinitionId?: string; principalId?: string; principalType?: string };
}

/** Reads `/users/{id}` names for ids an ARM list gave without them. */
async function userNames(client: Client, ids: readonly string[]): Promise<Person[]> {
  return Promise.all(
    ids.map(async (id) => {
      try {
        const u = await client
          .api(`/users/${encodeURIComponent(id)}`)
          .select(['id', 'displayName'])
          .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
          .get();
        return { id, name: String(u.displayName ?? id) };
      } catch (err) {
        throw toGraphCallError(err, 'Reading an administrator');
      }
    }),
  );
}

export class GraphPimAdministrators implements PimAdministrators {
  constructor(
    private readonly graph: Client,
    /** Azure resources' administrators are read from ARM; absent, an Azure target is refused (rejects). */
    private readonly arm?: ArmReader,
  ) {}

  async of(target: PimTarget): Promise<People> {
    switch (target.kind) {
      case 'entraRole':
        return directoryRoleHolders(this.graph, DEFAULT_APPROVER_ROLES);
      case 'group':
        return this.groupAdministrators(target.scope);
      case 'azureResource':
        return this.azureAdministrators(target.scope);
      default:
        throw new GraphCallError(400, 'UnknownTarget', `Reading who administers the target: '${target.kind}' is not a PIM target kind.`);
    }
  }

  private async groupAdministrators(groupId: string): Promise<People> {
    const [owners, roleAssignable] = await Promise.all([this.groupOwners(groupId), this.isRoleAssignable(groupId)]);
    const admins = await directoryRoleHolders(this.graph, roleAssignable ? [PRIVILEGED_ROLE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR] : [GLOBAL_ADMINISTRATOR]);
    return mergePeople([owners, admins.ids.map((id, i) => ({ id, name: admins.names[i]! }))]);
  }

  private async groupOwners(groupId: string): Promise<Person[]> {
    try {
      const owners = await allPages<{ id: string; displayName?: string | null }>(this.graph, () =>
        this.graph
          .api(`/groups/${encodeURIComponent(groupId)}/owners/microsoft.graph.user`)
          .select(['id', 'displayName'])
          .top(100)
          .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
          .get(),
      );
      return owners.map((o) => ({ id: String(o.id).toLowerCase(), name: o.displayName ?? String(o.id) }));
    } catch (err) {
      throw toGraphCallError(err, 'Reading the group owners');
    }
  }

  /** Whether Entra roles can be assigned to the group (`isAssignableToRole`); absent counts as not. */
  private async isRoleAssignable(groupId: string): Promise<boolean> {
    try {
      const g = await this.graph
        .api(`/groups/${encodeURIComponent(groupId)}`)
        .select(['id', 'isAssignableToRole'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get();
      return g?.isAssignableToRole === true;
    } catch (err) {
      throw toGraphCallError(err, 'Reading the group');
    }
  }

  private async azureAdministrators(scope: string): Promise<People> {
    if (!this.arm) throw new GraphCallError(501, 'NoArmReader', 'Reading who administers an Azure resource needs ARM_BASE_URL and an ARM reader.');
    const list = await this.arm.call<{ value?: ArmRoleAssignment[] }>(
      'GET',
      `${scope.replace(/\/$/, '')}/providers/Microsoft.Authorization/roleAssignments?api-version=${ROLE_ASSIGNMENTS_API}&$filter=${encodeURIComponent('atScope()')}`,
      'Reading the Azure role assignments',
    );
    const admins = (list.value ?? []).filter((a) => {
      const role = (a.properties?.roleDefinitionId ?? '').split('/').pop()?.toLowerCase();
      return role === AZURE_OWNER || role === AZURE_USER_ACCESS_ADMINISTRATOR;
    });
    const userIds = [
      ...new Set(admins.filter((a) => a.properties?.principalType === 'User').map((a) => String(a.properties?.principalId ?? '').toLowerCase())),
    ].filter(Boolean);
    const groupIds = [
      ...new Set(admins.filter((a) => a.properties?.principalType === 'Group').map((a) => String(a.properties?.principalId ?? '').toLowerCase())),
    ].filter(Boolean);
    const [users, groups] = await Promise.all([userNames(this.graph, userIds), Promise.all(groupIds.map((id) => groupUsers(this.graph, id)))]);
    return mergePeople([users, ...groups]);
  }
}
