import type { SimHandle } from '../../sim/server';
import { GROUP, ROLE, USER, seedTenant } from '../../sim/seed';
import { SCALE_ROLES, scaleSeed, type ActivitySeedTenant } from '../../sim/scale-seed';
import { startTestSim } from '../../sim/test-support';
import { buildAdminDigest } from './admin-digest';
import { readDigestInputs } from './tenant-reader';
import { buildUserDigest, digestCandidates } from './user-digest';
import { graphCallsSince, tenantReader } from '../../test/support/digest-tenant';

const T0 = new Date('2026-11-23T20:00:00Z');
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/**
 * The demo tenant plus what only a generated tenant has: an activation history, activations running
 * now, and active assignments made by an administrator (time-bound and permanent).
 */
const tenant: ActivitySeedTenant = {
  ...seedTenant,
  pimGroups: [
    {
      ...seedTenant.pimGroups![0]!,
      // Patti's membership expired 5 days ago, as in the demo tenant.
      eligibilityEnds: [
        { userId: USER.isaiah, accessId: 'member', daysFromNow: 5 },
        { userId: USER.patti, accessId: 'member', daysFromNow: -5 },
      ],
    },
  ],
  activity: {
    activeAssignments: [
      // Permanent on a human-only role: the admin digest says "make it eligible".
      {
        kind: 'entraRole',
        principalId: USER.diego,
        roleDefinitionId: ROLE.globalAdministrator,
        target: '/',
        startHoursFromNow: -200 * 24,
        endHoursFromNow: null,
      },
      // Permanent on a role that is not privileged: not reported.
      { kind: 'entraRole', principalId: USER.adele, roleDefinitionId: ROLE.helpdeskAdministrator, target: '/', startHoursFromNow: -24, endHoursFromNow: null },
      // Time-bound, ending in 12 days: in Megan's digest as an active assignment.
      {
        kind: 'entraRole',
        principalId: USER.megan,
        roleDefinitionId: ROLE.userAdministrator,
        target: '/',
        startHoursFromNow: -30 * 24,
        endHoursFromNow: 12 * 24,
      },
    ],
    activations: [
      { kind: 'entraRole', principalId: USER.isaiah, roleDefinitionId: ROLE.userAdministrator, target: '/', startHoursFromNow: -3 * 24, durationHours: 2 },
      { kind: 'entraRole', principalId: USER.isaiah, roleDefinitionId: ROLE.globalAdministrator, target: '/', startHoursFromNow: -45 * 24, durationHours: 1 },
      // Running now, ends at 02:00 UTC tomorrow.
      { kind: 'group', principalId: USER.lynne, roleDefinitionId: 'member', target: GROUP.sqlAdmins, startHoursFromNow: -2, durationHours: 8 },
    ],
  },
};

describe('daily digests on a tenant with activity', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim({ seed: tenant, clock: () => T0 });
  });
  afterAll(() => sim.close());

  const read = (pageSize?: number | null) => readDigestInputs(tenantReader(sim, { pageSize }), { now: T0, groupIds: [GROUP.sqlAdmins] });

  it("offers Extend on a group membership as a request to the group's admins (PIM for Groups has no self-extend)", async () => {
    const inputs = await read();
    const isaiah = buildUserDigest(inputs, USER.isaiah, { now: T0, timeZone: 'UTC' });
    expect(isaiah!.ending).toEqual([
      {
        kind: 'group',
        roleDefinitionId: 'member',
        scope: GROUP.sqlAdmins,
        assignment: 'eligible',
        endDateTime: new Date(T0.getTime() + 5 * DAY).toISOString(),
        daysLeft: 5,
        extend: 'askAdmins',
      },
    ]);
  });

  it('lists an active assignment an administrator made when it ends within 14 days', async () => {
    const inputs = await read();
    expect(buildUserDigest(inputs, USER.megan, { now: T0, timeZone: 'UTC' })!.ending).toEqual([
      expect.objectContaining({ roleDefinitionId: ROLE.userAdministrator, assignment: 'active', daysLeft: 12, extend: 'selfExtend' }),
    ]);
    // Permanent ones never "end soon".
    expect(buildUserDigest(inputs, USER.diego, { now: T0, timeZone: 'UTC' })).toBeNull();
    // Patti: nothing ends, but what expired in the last 30 days is hers to renew.
    expect(digestCandidates(inputs).sort()).toEqual([USER.alex, USER.isaiah, USER.lynne, USER.megan, USER.patti].sort());
  });

  it("tells a running activation's end day by the user's zone", async () => {
    const inputs = await read();
    const ends = new Date(T0.getTime() + 6 * HOUR).toISOString();
    const today = (timeZone: string) => buildUserDigest(inputs, USER.lynne, { now: T0, timeZone })!.endingToday;
    // 15:00 → 21:00 in New York and 05:00 → 11:00 on the 24th in Tokyo: both today. 21:00 → 03:00 in Berlin: tomorrow.
    expect(today('America/New_York')).toEqual([{ kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins, endDateTime: ends }]);
    expect(today('Asia/Tokyo')).toHaveLength(1);
    expect(today('Europe/Berlin')).toEqual([]);
  });

  it('reports permanent privileged assignments and dormancy from the activation history', async () => {
    const inputs = await read();
    const digest = buildAdminDigest({ inputs, pending: [], approvals: [], flags: [] }, { now: T0, timeZone: 'UTC', spotAudit: { salt: 's' } });
    expect(digest.permanentPrivileged).toEqual({
      total: 1,
      items: [
        {
          kind: 'entraRole',
          roleDefinitionId: ROLE.globalAdministrator,
          scope: '/',
          principalId: USER.diego,
          startDateTime: new Date(T0.getTime() - 200 * DAY).toISOString(),
        },
      ],
    });
    // 22 eligible (Lynne's Authentication Administrator among them); Isaiah used User Administrator 3 days ago,
    // Lynne's SQL Admins membership is active now.
    expect(digest.dormant.total).toBe(20);
    // Isaiah's Global Administrator was last used 45 days ago: dormant, with the date.
    const isaiahGa = digest.dormant.oldest.find((o) => o.principalId === USER.isaiah && o.roleDefinitionId === ROLE.globalAdministrator);
    expect(isaiahGa?.lastActivatedAt).toBe(new Date(T0.getTime() - 45 * DAY).toISOString());
    // Never-activated ones come first in the "longest unused" list.
    expect(digest.dormant.oldest[0]!.lastActivatedAt).toBeNull();
    expect(digest.dormant.oldest.at(-1)).toBe(isaiahGa);
    // A configured privileged role adds to the human-only ones.
    const wider = await readDigestInputs(tenantReader(sim), { now: T0, groupIds: [GROUP.sqlAdmins], extraPrivileged: [ROLE.helpdeskAdministrator] });
    expect(wider.permanentPrivileged.total).toBe(2);
  });

  it('follows @odata.nextLink: small pages give the same digest inputs with more calls', async () => {
    const from = sim.state.calls.length;
    const reader = tenantReader(sim, { pageSize: 2 });
    const paged = await readDigestInputs(reader, { now: T0, groupIds: [GROUP.sqlAdmins] });
    expect(reader.calls).toBe(graphCallsSince(sim, from));
    const whole = await read();
    // 16 role eligibilities in pages of 2 alone take 8 calls.
    expect(reader.calls).toBeGreaterThanOrEqual(16);
    expect(paged.counts).toEqual(whole.counts);
    expect(paged.expiring).toEqual(whole.expiring);
    expect(paged.dormant.total).toBe(whole.dormant.total);
  });
});

describe('daily digests on a generated tenant', () => {
  /** What the digests should find, worked out from the seed itself rather than through Graph. */
  function expected(seed: ActivitySeedTenant) {
    const start = T0.getTime();
    const eligibilities: Array<{ principalId: string; key: string; end: number | null }> = [];
    for (const r of seed.roles) {
      const ends = new Map((r.eligibilityEnds ?? []).map((e) => [e.userId, start + e.daysFromNow * DAY]));
      for (const u of r.eligible) eligibilities.push({ principalId: u, key: `entraRole|${r.id}|/`, end: ends.get(u) ?? null });
    }
    for (const g of seed.pimGroups ?? []) {
      for (const access of ['member', 'owner'] as const) {
        const ends = new Map((g.eligibilityEnds ?? []).filter((e) => e.accessId === access).map((e) => [e.userId, start + e.daysFromNow * DAY]));
        for (const u of g.eligible[access]) eligibilities.push({ principalId: u, key: `group|${access}|${g.groupId}`, end: ends.get(u) ?? null });
      }
    }
    const lastActivation = new Map<string, number>();
    for (const a of seed.activity?.activations ?? []) {
      const k = `${a.kind}|${a.roleDefinitionId}|${a.target}|${a.principalId}`;
      lastActivation.set(k, Math.max(lastActivation.get(k) ?? -Infinity, start + a.startHoursFromNow * HOUR));
    }
    const within14 = eligibilities.filter((e) => e.end !== null && e.end <= start + 14 * DAY);
    const dormant = eligibilities.filter((e) => !((lastActivation.get(`${e.key}|${e.principalId}`) ?? -Infinity) >= start - 30 * DAY));
    const privileged = new Set(SCALE_ROLES.slice(0, 3).map((r) => r.id));
    const permanentPrivileged = (seed.activity?.activeAssignments ?? []).filter((a) => a.endHoursFromNow === null && privileged.has(a.roleDefinitionId));
    return { total: eligibilities.length, within14, dormant, permanentPrivileged };
  }

  it('finds exactly what the seed says, at a few hundred instances over several pages', async () => {
    const seed = scaleSeed({ users: 120, eligibilities: 900, pimGroups: 3, permanentAssignments: 9, seed: 42 });
    const sim = await startTestSim({ seed, clock: () => T0 });
    try {
      const reader = tenantReader(sim, { pageSize: 100 });
      const inputs = await readDigestInputs(reader, { now: T0, groupIds: seed.pimGroups!.map((g) => g.groupId) });
      const want = expected(seed);
      expect(inputs.counts.eligibilities).toBe(900);
      expect(want.within14.length).toBeGreaterThan(100);
      // Every user with an eligibility ending within 14 days gets exactly those in their digest.
      const got = new Map<string, number>();
      for (const id of digestCandidates(inputs)) {
        const d = buildUserDigest(inputs, id, { now: T0, timeZone: 'UTC' });
        const n = d?.ending.filter((e) => e.assignment === 'eligible').length ?? 0;
        if (n > 0) got.set(id, n);
      }
      const wantByUser = new Map<string, number>();
      for (const e of want.within14) wantByUser.set(e.principalId, (wantByUser.get(e.principalId) ?? 0) + 1);
      expect(new Map([...got].sort())).toEqual(new Map([...wantByUser].sort()));
      expect(inputs.dormant.total).toBe(want.dormant.length);
      expect(inputs.permanentPrivileged.total).toBe(want.permanentPrivileged.length);
      // 900 eligibilities at 100 a page: at least 9 eligibility pages, plus history and assignments.
      expect(reader.calls).toBeGreaterThan(9 + 3 * 3);
    } finally {
      await sim.close();
    }
  });
});
