import type { SimHandle } from '../../sim/server';
import { DEMO_BOT_APP, GROUP, ROLE, USER } from '../../sim/seed';
import { control, startTestSim } from '../../sim/test-support';
import { Store } from '../store/store';
import { buildAdminDigest, spotAuditWindow } from './admin-digest';
import { AuditReviews } from './audit-reviews';
import { readDigestInputs, resolveNames } from './tenant-reader';
import { buildUserDigest, digestCandidates } from './user-digest';
import { graphCallsSince, insertApproval, tenantReader } from '../../test/support/digest-tenant';

/**
 * The digests against the demo tenant (sim/seed.ts): Alex's Security Operator eligibility ends in 9 days,
 * Lynne's Helpdesk Administrator in 10, Patti's User Administrator in 40; Patti's Exchange Administrator
 * eligibility expired 3 days ago and her SQL Admins membership 5 days ago; everything else is permanent.
 * The simulator's clock is fixed so the calendar assertions hold on any day.
 */
const T0 = new Date('2026-11-23T20:00:00Z');
const DAY = 24 * 3600 * 1000;

describe('daily digests on the demo tenant', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim({ clock: () => T0 });
  });
  afterAll(() => sim.close());

  const read = (now = T0) => readDigestInputs(tenantReader(sim), { now, groupIds: [GROUP.sqlAdmins] });

  it('gives a digest only to users with something ending within 14 days or expired in the last 30', async () => {
    const inputs = await read();
    expect(digestCandidates(inputs).sort()).toEqual([USER.alex, USER.lynne, USER.patti].sort());

    const alex = buildUserDigest(inputs, USER.alex, { now: T0, timeZone: 'Europe/Berlin' });
    expect(alex).toMatchObject({ principalId: USER.alex, date: '2026-11-23', endingToday: [] });
    expect(alex!.ending).toEqual([
      expect.objectContaining({
        kind: 'entraRole',
        roleDefinitionId: ROLE.securityOperator,
        scope: '/',
        assignment: 'eligible',
        daysLeft: 9,
        extend: 'selfExtend',
      }),
      // PIM for Groups has no self-extension: the owners and admins are asked.
      expect.objectContaining({ kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins, assignment: 'eligible', daysLeft: 12, extend: 'askAdmins' }),
    ]);
    const lynne = buildUserDigest(inputs, USER.lynne, { now: T0, timeZone: 'Europe/Berlin' });
    expect(lynne!.ending.map((e) => [e.roleDefinitionId, e.daysLeft])).toEqual([[ROLE.helpdeskAdministrator, 10]]);
    expect(alex!.expired).toEqual([]);
    // Patti's User Administrator ends in 40 days, outside PIM's extension window; what expired is renewable.
    expect(buildUserDigest(inputs, USER.patti, { now: T0, timeZone: 'Europe/Berlin' })).toMatchObject({
      ending: [],
      endingToday: [],
      expired: [
        {
          kind: 'entraRole',
          roleDefinitionId: ROLE.exchangeAdministrator,
          scope: '/',
          endedAt: new Date(T0.getTime() - 3 * DAY).toISOString(),
          renew: 'selfRenew',
        },
        // PIM for Groups has no self-renewal: the admins are asked.
        { kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins, endedAt: new Date(T0.getTime() - 5 * DAY).toISOString(), renew: 'askAdmins' },
      ],
    });
    // The rest are permanent.
    for (const u of [USER.megan, USER.isaiah, USER.adele]) {
      expect(buildUserDigest(inputs, u, { now: T0, timeZone: 'Europe/Berlin' })).toBeNull();
    }
  });

  it('reads with app-only Graph calls, paged at 999, groups by groupId filter, and counts each call', async () => {
    const from = sim.state.calls.length;
    const reader = tenantReader(sim);
    await readDigestInputs(reader, { now: T0, groupIds: [GROUP.sqlAdmins] });
    const calls = sim.state.calls.slice(from).filter((c) => c.path.startsWith('/v1.0/'));
    expect(reader.calls).toBe(graphCallsSince(sim, from));
    expect(calls.map((c) => c.status)).toEqual(calls.map(() => 200));
    // The bot's own identity: no call carries a user of the tenant.
    const userIds = new Set<string>(Object.values(USER));
    expect(calls.filter((c) => c.appid !== DEMO_BOT_APP.clientId || userIds.has(c.oid ?? ''))).toEqual([]);
    const seen = calls.map((c) => {
      const q = new URLSearchParams(c.query);
      return { path: c.path, top: q.get('$top'), filter: q.get('$filter') };
    });
    const RD = '/v1.0/roleManagement/directory';
    const PG = '/v1.0/identityGovernance/privilegedAccess/group';
    const group = `groupId eq '${GROUP.sqlAdmins}'`;
    expect(seen).toEqual(
      expect.arrayContaining([
        { path: `${RD}/roleAssignmentScheduleRequests`, top: '999', filter: "action eq 'selfActivate'" },
        { path: `${RD}/roleEligibilityScheduleInstances`, top: '999', filter: null },
        // The schedules keep what expired (the instances do not): the user digest's expired section.
        { path: `${RD}/roleEligibilitySchedules`, top: '999', filter: null },
        { path: `${PG}/eligibilitySchedules`, top: '999', filter: group },
        { path: `${RD}/roleAssignmentScheduleInstances`, top: '999', filter: null },
        { path: `${PG}/assignmentScheduleRequests`, top: '999', filter: `${group} and action eq 'selfActivate'` },
        { path: `${PG}/eligibilityScheduleInstances`, top: '999', filter: group },
        { path: `${PG}/assignmentScheduleInstances`, top: '999', filter: group },
      ]),
    );
    expect(seen).toHaveLength(8);
  });

  it("shows activations ending today on each user's own calendar", async () => {
    // 20:00 UTC: a 6-hour activation ends at 02:00 UTC tomorrow, which is still today in New York.
    for (const principal of ['alexw@contoso.example', 'pattif@contoso.example']) {
      const res = await control(sim, 'POST', '/_sim/requests', {
        principal,
        role: 'Reports Reader',
        durationMinutes: 360,
        justification: 'Quarterly access report',
      });
      expect(res.body).toMatchObject({ status: 'Granted' });
    }
    const inputs = await read();
    const ny = buildUserDigest(inputs, USER.alex, { now: T0, timeZone: 'America/New_York' });
    expect(ny!.endingToday).toEqual([
      { kind: 'entraRole', roleDefinitionId: ROLE.reportsReader, scope: '/', endDateTime: new Date(T0.getTime() + 6 * 3600 * 1000).toISOString() },
    ]);
    // In Berlin it is 21:00 and the activation ends at 03:00 tomorrow: not today.
    expect(buildUserDigest(inputs, USER.alex, { now: T0, timeZone: 'Europe/Berlin' })!.endingToday).toEqual([]);
    // Patti has nothing else ending: in New York her activation ends today, in Berlin it does not (her digest
    // there has only what expired).
    expect(buildUserDigest(inputs, USER.patti, { now: T0, timeZone: 'America/New_York' })).toMatchObject({
      ending: [],
      endingToday: [expect.objectContaining({ roleDefinitionId: ROLE.reportsReader })],
    });
    expect(buildUserDigest(inputs, USER.patti, { now: T0, timeZone: 'Europe/Berlin' })!.endingToday).toEqual([]);
    // An unknown zone counts as UTC (where 02:00 tomorrow is not today).
    expect(buildUserDigest(inputs, USER.patti, { now: T0, timeZone: 'Mars/Olympus_Mons' })!.endingToday).toEqual([]);
  });

  it('builds the admin digest: expiring by role, dormant, pending with age, spot audit and flags', async () => {
    const store = await Store.open('sqlite::memory:');
    try {
      const reviews = new AuditReviews(store.db, () => T0);
      const waiting = await insertApproval(store, {
        principalId: USER.isaiah,
        roleDefinitionId: ROLE.globalAdministrator,
        status: 'pending',
        createdAt: new Date(T0.getTime() - 200 * 60_000).toISOString(),
      });
      const window = spotAuditWindow(T0, 'Europe/Berlin');
      expect(window).toEqual({ date: '2026-11-22', from: '2026-11-21T23:00:00.000Z', to: '2026-11-22T23:00:00.000Z' });
      const approved = await insertApproval(store, {
        principalId: USER.alex,
        status: 'approved',
        decidedById: USER.megan,
        decidedByName: 'Megan Bowen',
        decidedAt: '2026-11-22T10:00:00.000Z',
      });
      // Decided the day before yesterday (Berlin): not in the sample's population.
      await insertApproval(store, { principalId: USER.alex, status: 'approved', decidedById: USER.megan, decidedAt: '2026-11-21T22:30:00.000Z' });

      const inputs = await read();
      const digest = buildAdminDigest(
        {
          inputs,
          pending: await store.requests.waiting(),
          approvals: await reviews.approvalsDecidedBetween(window.from, window.to),
          flags: await reviews.flagsSince(new Date(T0.getTime() - DAY).toISOString()),
        },
        { now: T0, timeZone: 'Europe/Berlin', weekDays: 10, spotAudit: { salt: 'test-salt' } },
      );

      // Alex's ends on 2 Dec at 21:00 Berlin, inside ten calendar days; Lynne's on 3 Dec, the eleventh day.
      expect(digest.expiringThisWeek.total).toBe(1);
      expect(digest.expiringThisWeek.targets).toEqual([
        {
          target: { kind: 'entraRole', roleDefinitionId: ROLE.securityOperator, scope: '/' },
          count: 1,
          soonest: [{ principalId: USER.alex, endDateTime: expect.any(String) }],
        },
      ]);
      // 22 eligible assignments (17 roles, among them Lynne's Authentication Administrator, 5 group); Alex's and
      // Patti's Reports Reader were just activated.
      expect(digest.dormant.total).toBe(20);
      expect(digest.dormant.targets.find((t) => t.target.roleDefinitionId === ROLE.reportsReader)?.count).toBe(1);
      expect(digest.dormant.targets.find((t) => t.target.kind === 'group')).toEqual({
        target: { kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins.toLowerCase() },
        count: 4,
      });
      expect(digest.permanentPrivileged.total).toBe(0);
      expect(digest.pending).toEqual({ total: 1, items: [expect.objectContaining({ requestId: waiting, principalId: USER.isaiah, ageMinutes: 200 })] });
      // One approval yesterday: at least one is always sampled.
      expect(digest.spotAudit).toMatchObject({
        date: '2026-11-22',
        approvals: 1,
        rate: 0.1,
        sample: [expect.objectContaining({ requestId: approved, approvedById: USER.megan })],
      });
      expect(digest.flags).toEqual([]);

      const names = await resolveNames(
        tenantReader(sim),
        [USER.alex, USER.isaiah],
        [
          { kind: 'entraRole', roleDefinitionId: ROLE.securityOperator, scope: '/' },
          { kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins },
        ],
      );
      expect(names.users.get(USER.alex)).toBe('Alex Wilber');
      expect(names.targets.get(`entraRole|${ROLE.securityOperator}|/`)).toBe('Security Operator');
      expect(names.targets.get(`group|member|${GROUP.sqlAdmins}`)).toBe('SQL Admins (member)');
    } finally {
      await store.close();
    }
  });
});

describe('daily digests as the demo tenant moves on', () => {
  it('moves the 14-day window with the clock: Patti joins, ended eligibilities move to the expired section', async () => {
    const sim = await startTestSim({ clock: () => T0 });
    try {
      sim.state.advanceClock(27 * DAY);
      const now = sim.state.now();
      const inputs = await readDigestInputs(tenantReader(sim), { now, groupIds: [GROUP.sqlAdmins] });
      expect(digestCandidates(inputs).sort()).toEqual([USER.alex, USER.lynne, USER.patti].sort());
      expect(buildUserDigest(inputs, USER.patti, { now, timeZone: 'UTC' })!.ending).toEqual([
        expect.objectContaining({ roleDefinitionId: ROLE.userAdministrator, daysLeft: 13, extend: 'selfExtend' }),
      ]);
      // Alex's Security Operator (ended 18 days ago) and SQL Admins membership (15): no longer ending, renewable.
      const alex = buildUserDigest(inputs, USER.alex, { now, timeZone: 'UTC' })!;
      expect(alex.ending).toEqual([]);
      expect(alex.expired!.map((x) => [x.roleDefinitionId, x.renew])).toEqual([
        ['member', 'askAdmins'],
        [ROLE.securityOperator, 'selfRenew'],
      ]);
      // Patti's Exchange Administrator expired 30 days ago, the last day PIM keeps it (her SQL Admins membership,
      // 32 days ago, is gone); a day later it is gone too.
      expect(buildUserDigest(inputs, USER.patti, { now, timeZone: 'UTC' })!.expired!.map((x) => x.roleDefinitionId)).toEqual([ROLE.exchangeAdministrator]);
      const later = new Date(now.getTime() + DAY);
      sim.state.advanceClock(DAY);
      const after = await readDigestInputs(tenantReader(sim), { now: later, groupIds: [GROUP.sqlAdmins] });
      expect(buildUserDigest(after, USER.patti, { now: later, timeZone: 'UTC' })!.expired).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});
