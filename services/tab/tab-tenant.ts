import type { ArmClient } from '../graph/arm';
import { type DirectoryNames, readDigestInputs, resolveNames, type TenantReads } from '../digests/tenant-reader';

/**
 * The admin dashboard's reads of the tenant, app-only, through the digests' own reader
 * (services/digests/tenant-reader.ts): dormant eligibilities and permanent privileged assignments as the admin
 * digest folds them, and every eligible and active assignment for the "assignments" export (Entra roles, PIM
 * for Groups for the groups the digests read, Azure resources at the configured ARM scopes).
 */

/** An eligible assignment with no activation in the dormancy window. */
export interface DormantRow {
  principal: string;
  principalId: string;
  role: string;
  kind: string;
  lastActivation: string | null;
}

/** A permanent (no end) active or eligible assignment on a privileged role. */
export interface PermanentRow {
  principal: string;
  principalId: string;
  role: string;
  kind: string;
}

/** One assignment of the tenant, as the "assignments" export lists it. */
export interface AssignmentRow {
  kind: 'entraRole' | 'group' | 'azureResource';
  assignment: 'eligible' | 'active';
  principalId: string;
  /** The user's name and user name; empty for a principal that is not a user (a group, an app) or unknown. */
  principalName: string;
  principalUpn: string;
  role: string;
  roleDefinitionId: string;
  scope: string;
  memberType: string | null;
  start: string | null;
  end: string | null;
}

/** Port: what the dashboard reads of the tenant. */
export interface TenantOverview {
  /** Dormant (no activation in `dormantAfterDays`) and permanent privileged assignments, named. Cached briefly. */
  dormantAndPermanent(now: Date): Promise<{ dormant: DormantRow[]; permanent: PermanentRow[] }>;
  /** Every eligible and active assignment, one at a time. */
  assignments(): AsyncIterable<AssignmentRow>;
}

/** How long a tenant read serves the dashboard: a full read pages every PIM assignment. */
const CACHE_MS = 5 * 60_000;
/** Dashboard lists stop here (the count is what matters beyond it; the digests name fewer). */
const LISTED = 500;
const AUTH = '/providers/Microsoft.Authorization';

interface ArmInstance {
  properties: {
    principalId?: string;
    scope: string;
    roleDefinitionId: string;
    memberType?: string;
    assignmentType?: string;
    startDateTime?: string | null;
    endDateTime?: string | null;
    expandedProperties?: { roleDefinition?: { displayName?: string } };
  };
}

export class AppTenantOverview implements TenantOverview {
  private cached: { at: number; value: { dormant: DormantRow[]; permanent: PermanentRow[] } } | null = null;

  constructor(
    private readonly deps: {
      reads: TenantReads & DirectoryNames;
      /** ARM as the app, for the Azure scopes; absent: no Azure rows. */
      arm?: Pick<ArmClient, 'call'>;
      azureScopes: readonly string[];
      /** PIM-onboarded groups (Graph cannot list them): the digests' configured groups plus groups seen in requests. */
      groupIds: () => Promise<string[]>;
      dormantAfterDays: number;
      nowMs?: () => number;
    },
  ) {}

  async dormantAndPermanent(now: Date) {
    const t = (this.deps.nowMs ?? Date.now)();
    if (this.cached && t - this.cached.at < CACHE_MS) return this.cached.value;
    const inputs = await readDigestInputs(this.deps.reads, {
      now,
      groupIds: await this.deps.groupIds(),
      dormantAfterDays: this.deps.dormantAfterDays,
      dormantListed: LISTED,
      permanentListed: LISTED,
    });
    const items = [...inputs.dormant.oldest, ...inputs.permanentPrivileged.items];
    const names = await resolveNames(this.deps.reads, [...new Set(items.map((i) => i.principalId.toLowerCase()))], items);
    const user = (id: string) => names.users.get(id.toLowerCase()) ?? id;
    const target = (i: { kind: string; roleDefinitionId: string; scope: string }) =>
      names.targets.get(`${i.kind}|${i.roleDefinitionId.toLowerCase()}|${i.scope.toLowerCase()}`) ?? i.roleDefinitionId;
    const value = {
      dormant: inputs.dormant.oldest.map((d) => ({
        principal: user(d.principalId),
        principalId: d.principalId,
        role: target(d),
        kind: d.kind,
        lastActivation: d.lastActivatedAt,
      })),
      permanent: inputs.permanentPrivileged.items.map((p) => ({ principal: user(p.principalId), principalId: p.principalId, role: target(p), kind: p.kind })),
    };
    this.cached = { at: t, value };
    return value;
  }

  async *assignments(): AsyncGenerator<AssignmentRow> {
    const { reads } = this.deps;
    // Users by id, read once in pages of 999 (50 calls at 50,000 users), rather than a name lookup per principal.
    const people = new Map<string, { name: string; upn: string }>();
    if (reads.userDirectory) for await (const u of reads.userDirectory()) people.set(u.id.toLowerCase(), { name: u.displayName, upn: u.userPrincipalName });
    for await (const row of this.unnamedAssignments()) {
      const who = people.get(row.principalId.toLowerCase());
      yield { ...row, principalName: who?.name ?? '', principalUpn: who?.upn ?? '' };
    }
  }

  private async *unnamedAssignments(): AsyncGenerator<Omit<AssignmentRow, 'principalName' | 'principalUpn'>> {
    const { reads } = this.deps;
    const roles = await reads.roleNames();
    const role = (id: string) => roles.get(id.toLowerCase()) ?? id;
    for await (const e of reads.roleEligibilities())
      yield { ...base(e), kind: 'entraRole', assignment: 'eligible', role: role(e.roleDefinitionId), memberType: null };
    for await (const a of reads.roleAssignments())
      yield { ...base(a), kind: 'entraRole', assignment: 'active', role: role(a.roleDefinitionId), memberType: a.assignmentType };
    const groupIds = await this.deps.groupIds();
    const groups = groupIds.length ? await reads.groupNames(groupIds) : new Map<string, string>();
    const group = (id: string, access: string) => `${groups.get(id.toLowerCase()) ?? id} (${access === 'owner' ? 'owner' : 'member'})`;
    for (const g of groupIds) {
      for await (const e of reads.groupEligibilities(g))
        yield { ...base(e), kind: 'group', assignment: 'eligible', role: group(e.scope, e.roleDefinitionId), memberType: null };
      for await (const a of reads.groupAssignments(g))
        yield { ...base(a), kind: 'group', assignment: 'active', role: group(a.scope, a.roleDefinitionId), memberType: a.assignmentType };
    }
    if (!this.deps.arm) return;
    for (const scope of this.deps.azureScopes) {
      for (const [collection, assignment] of [
        ['roleEligibilityScheduleInstances', 'eligible'],
        ['roleAssignmentScheduleInstances', 'active'],
      ] as const) {
        const res = await this.deps.arm.call<{ value?: ArmInstance[] }>(
          'GET',
          `${scope}${AUTH}/${collection}?api-version=2020-10-01`,
          'Reading Azure resource assignments',
        );
        for (const i of res.value ?? []) {
          const p = i.properties;
          yield {
            kind: 'azureResource',
            assignment,
            principalId: p.principalId ?? '',
            role: p.expandedProperties?.roleDefinition?.displayName ?? p.roleDefinitionId.split('/').pop() ?? p.roleDefinitionId,
            roleDefinitionId: p.roleDefinitionId,
            scope: p.scope,
            memberType: p.memberType ?? p.assignmentType ?? null,
            start: p.startDateTime ?? null,
            end: p.endDateTime ?? null,
          };
        }
      }
    }
  }
}

function base(r: { principalId: string; roleDefinitionId: string; scope: string; startDateTime: string | null; endDateTime: string | null }) {
  return { principalId: r.principalId, roleDefinitionId: r.roleDefinitionId, scope: r.scope, start: r.startDateTime, end: r.endDateTime };
}
