import type { SimHandle } from './server';
import { GROUP, ROLE, USER } from './seed';
import { SCALE_ROLES, scaleSeed } from './scale-seed';
import { GRAPH_SCOPE, botAppCredential, startTestSim } from './test-support';

const T0 = new Date('2026-11-23T20:00:00Z');
const DAY = 24 * 3600 * 1000;
const RD = '/v1.0/roleManagement/directory';
const PG = '/v1.0/identityGovernance/privilegedAccess/group';

async function appGet(sim: SimHandle, pathAndQuery: string): Promise<{ status: number; body: any }> {
  const token = (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token;
  const res = await fetch(pathAndQuery.startsWith('https://') ? pathAndQuery : `${sim.url}${pathAndQuery}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Every item of a list, following @odata.nextLink; also how many pages it took. */
async function all(sim: SimHandle, pathAndQuery: string): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let next: string | undefined = pathAndQuery;
  let pages = 0;
  while (next) {
    const r = await appGet(sim, next);
    expect(r.status).toBe(200);
    items.push(...r.body.value);
    next = r.body['@odata.nextLink'];
    pages++;
  }
  return { items, pages };
}

describe('generated tenants (scale seed)', () => {
  it('is reproducible and spreads eligibility ends over the next 60 days', () => {
    const a = scaleSeed({ users: 500, eligibilities: 2000, seed: 1 });
    expect(scaleSeed({ users: 500, eligibilities: 2000, seed: 1 })).toEqual(a);
    const roleCount = a.roles.reduce((n, r) => n + r.eligible.length, 0);
    const groupCount = a.pimGroups!.reduce((n, g) => n + g.eligible.member.length + g.eligible.owner.length, 0);
    expect(roleCount + groupCount).toBe(2000);
    expect(groupCount).toBe(200);
    for (const r of a.roles) expect(new Set(r.eligible).size).toBe(r.eligible.length);
    const ends = [...a.roles.flatMap((r) => r.eligibilityEnds ?? []), ...a.pimGroups!.flatMap((g) => g.eligibilityEnds ?? [])].map((e) => e.daysFromNow);
    expect(Math.min(...ends)).toBeGreaterThan(0);
    expect(Math.max(...ends)).toBeLessThanOrEqual(60);
    // About 10% permanent.
    expect(ends.length).toBeGreaterThan(1700);
    expect(ends.length).toBeLessThan(1900);
    expect(() => scaleSeed({ users: 10, eligibilities: 1000, pimGroups: 0 })).toThrow(/need at least that many users/);
  });

  describe('served by the simulator', () => {
    let sim: SimHandle;
    const seed = scaleSeed({ users: 300, eligibilities: 2500, pimGroups: 2, permanentAssignments: 6, timeBoundAssignments: 10, seed: 9 });
    beforeAll(async () => {
      sim = await startTestSim({ seed, clock: () => T0 });
    });
    afterAll(() => sim.close());

    it('pages role eligibility instances with $top and @odata.nextLink, each exactly once', async () => {
      const { items, pages } = await all(sim, `${RD}/roleEligibilityScheduleInstances?$top=999&$select=id,principalId,roleDefinitionId,endDateTime`);
      expect(pages).toBe(3);
      expect(items).toHaveLength(seed.roles.reduce((n, r) => n + r.eligible.length, 0));
      expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
      expect(Object.keys(items[0]).sort()).toEqual(['endDateTime', 'id', 'principalId', 'roleDefinitionId']);
      const role = seed.roles[4]!;
      const end = role.eligibilityEnds![0]!;
      expect(items.find((i) => i.id === `${role.id}_${end.userId}`)!.endDateTime).toBe(new Date(T0.getTime() + end.daysFromNow * DAY).toISOString());
    });

    it('lists active assignments: activations running now, and Assigned ones, permanent with a null end', async () => {
      const { items } = await all(sim, `${RD}/roleAssignmentScheduleInstances`);
      const assigned = items.filter((i) => i.assignmentType === 'Assigned');
      const permanent = assigned.filter((i) => i.endDateTime === null);
      expect(permanent).toHaveLength(6);
      expect(new Set(permanent.map((p) => p.roleDefinitionId))).toEqual(new Set(SCALE_ROLES.slice(0, 6).map((r) => r.id)));
      expect(items.filter((i) => i.assignmentType === 'Activated').length).toBeGreaterThan(0);
      const filtered = await all(sim, `${RD}/roleAssignmentScheduleInstances?$filter=assignmentType eq 'Assigned'`);
      expect(filtered.items).toHaveLength(assigned.length);
    });

    it('keeps the activation history as provisioned selfActivate requests', async () => {
      const { items } = await all(sim, `${RD}/roleAssignmentScheduleRequests?$top=999&$filter=action eq 'selfActivate'`);
      const seeded = seed.activity!.activations!.filter((a) => a.kind === 'entraRole');
      expect(items).toHaveLength(seeded.length);
      expect(new Set(items.map((i) => i.status))).toEqual(new Set(['Provisioned']));
      expect(items.every((i) => Date.parse(i.scheduleInfo.startDateTime) < T0.getTime())).toBe(true);
    });

    it('serves PIM for Groups lists by groupId, as Graph requires', async () => {
      const g = seed.pimGroups![1]!;
      const { items } = await all(sim, `${PG}/eligibilityScheduleInstances?$top=50&$filter=groupId eq '${g.groupId}'`);
      expect(items).toHaveLength(g.eligible.member.length + g.eligible.owner.length);
      expect((await appGet(sim, `${PG}/eligibilityScheduleInstances`)).status).toBe(400);
      const history = await all(sim, `${PG}/assignmentScheduleRequests?$filter=groupId eq '${g.groupId}' and action eq 'selfActivate'`);
      expect(history.items).toHaveLength(seed.activity!.activations!.filter((a) => a.target === g.groupId).length);
    });
  });

  it('leaves the demo tenant as it was: same eligibility order and paging, no Assigned instances', async () => {
    const sim = await startTestSim({ clock: () => T0 });
    try {
      const first = await appGet(sim, `${RD}/roleEligibilityScheduleInstances?$top=3`);
      expect(first.body.value.map((i: any) => [i.roleDefinitionId, i.principalId])).toEqual([
        [ROLE.globalAdministrator, USER.isaiah],
        [ROLE.globalAdministrator, USER.alex],
        [ROLE.securityOperator, USER.alex],
      ]);
      expect(first.body.value[2].endDateTime).toBe(new Date(T0.getTime() + 9 * DAY).toISOString());
      const { items, pages } = await all(sim, `${RD}/roleEligibilityScheduleInstances?$top=3`);
      expect(pages).toBe(6);
      expect(items).toHaveLength(17);
      expect((await all(sim, `${RD}/roleAssignmentScheduleInstances`)).items).toEqual([]);
      expect((await all(sim, `${RD}/roleAssignmentScheduleRequests`)).items).toEqual([]);
      const groups = await all(sim, `${PG}/eligibilityScheduleInstances?$filter=groupId eq '${GROUP.sqlAdmins}' and accessId eq 'owner'`);
      expect(groups.items.map((i) => i.principalId)).toEqual([USER.adele]);
    } finally {
      await sim.close();
    }
  });
});
