/**
 * Generated tenants for the digests: from a handful of users (tests) to 50,000 users with 200,000
 * eligibility instances (the digest benchmark). `startSimulator({ seed: scaleSeed({...}) })` serves them
 * through the same Graph routes as the demo tenant.
 *
 * Besides eligibility, a digest needs what happened and what is assigned outright, which the demo seed
 * does not model: activations in the past (PIM's request history, for dormancy), activations running
 * now (for "ends today") and active `Assigned` assignments, time-bound or permanent. Those travel on the
 * seed as `activity` (times relative to the simulator clock at start) and are applied to the simulator
 * state when the PIM routes are registered (`applySeedActivity`).
 */
import { createHash } from 'node:crypto';
import type { SeedApprover, SeedPimGroup, SeedRole, SeedTenant, SeedUser } from './seed';
import type { AssignmentInstance, PimKind, PimRequest, SimState } from './state';

/** An active assignment made by an administrator (`assignmentType: Assigned`), not by activation. */
export interface SeedActiveAssignment {
  kind: Extract<PimKind, 'entraRole' | 'group'>;
  principalId: string;
  /** Entra role definition id, or `member`/`owner` for a group. */
  roleDefinitionId: string;
  /** '/' for Entra roles, the group id for groups. */
  target: string;
  /** When it started, hours from the simulator clock at start (negative: in the past). */
  startHoursFromNow: number;
  /** When it ends, hours from the simulator clock at start; null: permanent. */
  endHoursFromNow: number | null;
}

/** One self-activation PIM provisioned: it shows in the request history and, while it runs, as an instance. */
export interface SeedActivation {
  kind: Extract<PimKind, 'entraRole' | 'group'>;
  principalId: string;
  roleDefinitionId: string;
  target: string;
  /** When it started, hours from the simulator clock at start (negative: in the past). */
  startHoursFromNow: number;
  durationHours: number;
}

export interface SeedActivity {
  activeAssignments?: SeedActiveAssignment[];
  activations?: SeedActivation[];
}

/** A tenant seed with activity; the demo seed is one with none. */
export type ActivitySeedTenant = SeedTenant & { activity?: SeedActivity };

export function activityOf(seed: SeedTenant): SeedActivity {
  return (seed as ActivitySeedTenant).activity ?? {};
}

const HOUR_MS = 3600 * 1000;
const applied = new WeakSet<SimState>();

/** A GUID-shaped id that is the same on every run for the same input. */
function guidOf(input: string): string {
  const h = createHash('sha1').update(input).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Puts the seed's activations into the simulator state, once per state: each is a provisioned
 * `selfActivate` request in PIM's history, and an activation instance while it runs.
 */
export function applySeedActivity(state: SimState): void {
  if (applied.has(state)) return;
  applied.add(state);
  const base = state.startedAt.getTime();
  const iso = (hours: number) => new Date(base + hours * HOUR_MS).toISOString();
  (activityOf(state.seed).activations ?? []).forEach((a, i) => {
    const id = guidOf(`activation:${i}:${a.kind}:${a.target}:${a.roleDefinitionId}:${a.principalId}:${a.startHoursFromNow}`);
    const start = iso(a.startHoursFromNow);
    const request: PimRequest = {
      id,
      kind: a.kind,
      status: 'Provisioned',
      action: 'selfActivate',
      collection: 'assignment',
      principalId: a.principalId,
      roleDefinitionId: a.roleDefinitionId,
      directoryScopeId: '/',
      justification: 'Seeded activation',
      scheduleInfo: { startDateTime: start, expiration: { type: 'afterDuration', duration: `PT${a.durationHours}H` } },
      ticketInfo: { ticketNumber: null, ticketSystem: null },
      createdDateTime: start,
      completedDateTime: start,
      approvalId: null,
      targetScheduleId: id,
      ...(a.kind === 'group' ? { groupId: a.target, accessId: a.roleDefinitionId as 'member' | 'owner' } : {}),
    };
    state.requests.set(id, request);
    if (a.startHoursFromNow + a.durationHours > 0) {
      const instance: AssignmentInstance = {
        id: guidOf(`instance:${id}`),
        kind: a.kind,
        target: a.target,
        principalId: a.principalId,
        roleDefinitionId: a.roleDefinitionId,
        directoryScopeId: '/',
        startDateTime: start,
        endDateTime: iso(a.startHoursFromNow + a.durationHours),
        requestId: id,
      };
      state.instances.push(instance);
    }
  });
}

/** The seeded `Assigned` assignments of a kind, as Graph instance fields (null end: permanent), current at `now`. */
export function seededAssignments(
  state: SimState,
  kind: 'entraRole' | 'group',
  now: number,
): Array<SeedActiveAssignment & { id: string; startDateTime: string; endDateTime: string | null }> {
  const base = state.startedAt.getTime();
  const out: Array<SeedActiveAssignment & { id: string; startDateTime: string; endDateTime: string | null }> = [];
  (activityOf(state.seed).activeAssignments ?? []).forEach((a, i) => {
    if (a.kind !== kind) return;
    const end = a.endHoursFromNow === null ? null : base + a.endHoursFromNow * HOUR_MS;
    if (end !== null && end <= now) return;
    out.push({
      ...a,
      id: guidOf(`assigned:${i}:${a.kind}:${a.target}:${a.roleDefinitionId}:${a.principalId}`),
      startDateTime: new Date(base + a.startHoursFromNow * HOUR_MS).toISOString(),
      endDateTime: end === null ? null : new Date(end).toISOString(),
    });
  });
  return out;
}

// --- generated tenants --------------------------------------------------------------------------

/**
 * Built-in Entra role template ids (public, the same in every tenant). The first three are the roles
 * `services/decision/role-rules.ts` treats as human-only; the digests call them privileged.
 */
export const SCALE_ROLES: ReadonlyArray<{ id: string; displayName: string }> = [
  { id: '62e90394-69f5-4237-9190-012177145e10', displayName: 'Global Administrator' },
  { id: 'e8611ab8-c189-46e8-94e1-60213ab1f814', displayName: 'Privileged Role Administrator' },
  { id: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', displayName: 'Privileged Authentication Administrator' },
  { id: '194ae4cb-b126-40b2-bd5b-6091b380977d', displayName: 'Security Administrator' },
  { id: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f', displayName: 'Security Operator' },
  { id: '5d6b6bb7-de71-4623-b4af-96380a352509', displayName: 'Security Reader' },
  { id: 'fe930be7-5e62-47db-91af-98c3a49a38b1', displayName: 'User Administrator' },
  { id: '729827e3-9c14-49f7-bb1b-9608f156bbb8', displayName: 'Helpdesk Administrator' },
  { id: '29232cdf-9323-42fd-ade2-1d097af3e4de', displayName: 'Exchange Administrator' },
  { id: 'f28a1f50-f6e7-4571-818b-6a12f2af6b6c', displayName: 'SharePoint Administrator' },
  { id: '69091246-20e8-4a56-aa4d-066075b2a7a8', displayName: 'Teams Administrator' },
  { id: '3a2c62db-5318-420d-8d74-23affee5d9d5', displayName: 'Intune Administrator' },
  { id: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', displayName: 'Application Administrator' },
  { id: '158c047a-c907-4556-b7ef-446551a6b5f7', displayName: 'Cloud Application Administrator' },
  { id: 'fdd7a751-b60b-444a-984c-02652fe8fa1c', displayName: 'Groups Administrator' },
  { id: '4a5d8f65-41da-4de4-8968-e035b65339cf', displayName: 'Reports Reader' },
  { id: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451', displayName: 'Global Reader' },
  { id: 'b0f54661-2d74-4c50-afa3-1ec803f12efe', displayName: 'Billing Administrator' },
  { id: 'c4e39bd9-1100-46d3-8c65-fb160da0071f', displayName: 'Authentication Administrator' },
  { id: 'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9', displayName: 'Conditional Access Administrator' },
];

export interface ScaleSeedOptions {
  users: number;
  /** Eligibility instances in all: Entra roles plus PIM for Groups. */
  eligibilities: number;
  /** How many of SCALE_ROLES to use (default all 20). */
  roles?: number;
  /** PIM-onboarded groups (default 20; 0 for none). */
  pimGroups?: number;
  /** Share of the eligibilities that are group memberships/ownerships (default 0.1). */
  groupShare?: number;
  /** Share of eligibilities without an end (default 0.1); the others end within `endWithinDays`. */
  permanentShare?: number;
  /** Ends are spread evenly over this many days from the simulator's start (default 60). */
  endWithinDays?: number;
  /** Share of eligibilities with an activation running at the simulator's start (default 0.01). */
  activeNowShare?: number;
  /** Share of eligibilities activated in the last `historyDays` (default 0.5); the rest look dormant. */
  activatedShare?: number;
  historyDays?: number;
  /** Permanent `Assigned` assignments, on the privileged roles first (default 25). */
  permanentAssignments?: number;
  /** Time-bound `Assigned` assignments, ends spread like eligibility ends (default users / 100). */
  timeBoundAssignments?: number;
  /** PRNG seed: the same options give the same tenant. */
  seed?: number;
  tenantId?: string;
}

/** A small, fast PRNG (mulberry32): the tenant must be reproducible, not secret. Also the fuzz test's. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A step coprime with n, so `(k * step + offset) % n` visits n distinct users before repeating. */
function coprimeStep(n: number): number {
  for (const p of [7919, 7907, 7901, 104729, 1]) if (p < n * 1000 && gcd(p, n) === 1) return p;
  return 1;
}

export const scaleUserId = (i: number) => `5ca1e000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
export const scaleGroupId = (i: number) => `5ca1e0a0-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/**
 * A tenant of `users` users and `eligibilities` eligibility instances spread over built-in roles and
 * PIM groups, with ends spread over the next `endWithinDays` days, an activation history and active
 * assignments. Deterministic for the same options.
 */
export function scaleSeed(o: ScaleSeedOptions): ActivitySeedTenant {
  const rand = mulberry32(o.seed ?? 20261123);
  const n = o.users;
  if (!Number.isInteger(n) || n < 2) throw new Error('scaleSeed: users must be an integer of at least 2');
  const roles = SCALE_ROLES.slice(0, Math.max(1, Math.min(SCALE_ROLES.length, o.roles ?? SCALE_ROLES.length)));
  const groupCount = o.pimGroups ?? 20;
  const groupShare = groupCount > 0 ? (o.groupShare ?? 0.1) : 0;
  const permanentShare = o.permanentShare ?? 0.1;
  const endDays = o.endWithinDays ?? 60;
  const activeNow = o.activeNowShare ?? 0.01;
  const activated = o.activatedShare ?? 0.5;
  const historyHours = (o.historyDays ?? 60) * 24;
  const step = coprimeStep(n);

  const users: SeedUser[] = Array.from({ length: n }, (_, i) => ({
    id: scaleUserId(i),
    userPrincipalName: `user${i}@scale.example`,
    displayName: `Scale User ${i}`,
    givenName: 'Scale',
    surname: `User ${i}`,
    jobTitle: 'Engineer',
    department: `Department ${i % 50}`,
    teamsUserId: `scale-user-${i}`,
    accountEnabled: true,
  }));
  // Two approvers for every policy: users 0 and 1 (they are eligible for things too, like real admins).
  const approvers: SeedApprover[] = [
    { kind: 'singleUser', userId: users[0]!.id },
    { kind: 'singleUser', userId: users[1]!.id },
  ];
  const policy = (): SeedRole['policy'] => ({
    isApprovalRequired: true,
    primaryApprovers: approvers.map((a) => ({ ...a })),
    maximumDuration: 'PT8H',
    enabledRules: ['Justification'],
    isApproverJustificationRequired: true,
  });

  const activity: Required<SeedActivity> = { activeAssignments: [], activations: [] };
  /** End of one eligibility (days), or undefined for a permanent one; and its activation, if any. */
  const schedule = (kind: 'entraRole' | 'group', principalId: string, roleDefinitionId: string, target: string): number | undefined => {
    const days = rand() < permanentShare ? undefined : Math.max(0.05, rand() * endDays);
    const r = rand();
    if (r < activeNow) {
      activity.activations.push({ kind, principalId, roleDefinitionId, target, startHoursFromNow: -(1 + Math.floor(rand() * 40)) / 10, durationHours: 8 });
    } else if (r < activated) {
      activity.activations.push({
        kind,
        principalId,
        roleDefinitionId,
        target,
        startHoursFromNow: -(8 + Math.floor(rand() * (historyHours - 8))),
        durationHours: 1 + Math.floor(rand() * 8),
      });
    }
    return days;
  };

  const groupTotal = Math.round(o.eligibilities * groupShare);
  const roleTotal = o.eligibilities - groupTotal;
  const seedRoles: SeedRole[] = roles.map((r, ri) => {
    const count = Math.floor(roleTotal / roles.length) + (ri < roleTotal % roles.length ? 1 : 0);
    if (count > n) throw new Error(`scaleSeed: ${count} eligibilities for one role need at least that many users (have ${n})`);
    const offset = (ri * 104729) % n;
    const eligible: string[] = [];
    const eligibilityEnds: SeedRole['eligibilityEnds'] = [];
    for (let k = 0; k < count; k++) {
      const uid = users[(k * step + offset) % n]!.id;
      eligible.push(uid);
      const days = schedule('entraRole', uid, r.id, '/');
      if (days !== undefined) eligibilityEnds.push({ userId: uid, daysFromNow: days });
    }
    return {
      id: r.id,
      templateId: r.id,
      displayName: r.displayName,
      description: `${r.displayName} (generated tenant)`,
      policy: policy(),
      eligible,
      eligibilityEnds,
    };
  });

  const groups = Array.from({ length: groupCount }, (_, gi) => ({ id: scaleGroupId(gi), displayName: `PIM Group ${gi}`, members: [] as string[] }));
  const pimGroups: SeedPimGroup[] = groups.map((g, gi) => {
    const count = Math.floor(groupTotal / groupCount) + (gi < groupTotal % groupCount ? 1 : 0);
    const owners = Math.floor(count / 10);
    const pg: SeedPimGroup = { groupId: g.id, policy: policy(), eligible: { member: [], owner: [] }, eligibilityEnds: [] };
    for (const [accessId, m, salt] of [
      ['member', count - owners, 31],
      ['owner', owners, 57],
    ] as const) {
      if (m > n) throw new Error(`scaleSeed: ${m} ${accessId} eligibilities for one group need at least that many users (have ${n})`);
      const offset = (gi * 15485863 + salt) % n;
      for (let k = 0; k < m; k++) {
        const uid = users[(k * step + offset) % n]!.id;
        pg.eligible[accessId].push(uid);
        const days = schedule('group', uid, accessId, g.id);
        if (days !== undefined) pg.eligibilityEnds!.push({ userId: uid, accessId, daysFromNow: days });
      }
    }
    return pg;
  });

  // Permanent active assignments, on the privileged roles first: the admin digest should say "make these eligible".
  const permanent = o.permanentAssignments ?? 25;
  for (let i = 0; i < permanent; i++) {
    const role = roles[i % Math.min(roles.length, 6)]!;
    activity.activeAssignments.push({
      kind: 'entraRole',
      principalId: users[Math.floor(rand() * n)]!.id,
      roleDefinitionId: role.id,
      target: '/',
      startHoursFromNow: -24 * (30 + Math.floor(rand() * 300)),
      endHoursFromNow: null,
    });
  }
  const timeBound = o.timeBoundAssignments ?? Math.floor(n / 100);
  for (let i = 0; i < timeBound; i++) {
    const g = groups.length > 0 && i % 5 === 4 ? groups[i % groups.length] : undefined;
    activity.activeAssignments.push({
      kind: g ? 'group' : 'entraRole',
      principalId: users[Math.floor(rand() * n)]!.id,
      roleDefinitionId: g ? 'member' : roles[i % roles.length]!.id,
      target: g ? g.id : '/',
      startHoursFromNow: -24 * Math.floor(rand() * 90),
      endHoursFromNow: Math.max(1, Math.round(rand() * endDays * 24)),
    });
  }

  return {
    tenantId: o.tenantId ?? 'c0ffee00-5ca1-4e00-9a1d-2f6e8c4b0a17',
    tenantDisplayName: `Scale tenant (${n} users, ${o.eligibilities} eligibilities)`,
    users,
    groups,
    roles: seedRoles,
    pimGroups,
    activity,
  };
}
