import { ActivationHistory, DigestCollector } from './collect';
import { buildUserDigest, digestCandidates } from './user-digest';
import { DAY_MS, type EligibilityRecord } from './types';

const NOW = new Date('2026-11-23T08:00:00Z');
const U1 = 'aaaaaaaa-0000-0000-0000-000000000001';
const U2 = 'aaaaaaaa-0000-0000-0000-000000000002';
const EXO = '29232cdf-9323-42fd-ade2-1d097af3e4de';
const SO = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';
const SQL = '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c10';

const at = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString();
const role = (principalId: string, roleDefinitionId: string, endDays: number | null): EligibilityRecord => ({
  kind: 'entraRole',
  principalId,
  roleDefinitionId,
  scope: '/',
  startDateTime: '2025-01-01T00:00:00Z',
  endDateTime: endDays === null ? null : at(endDays),
});

describe('digest: eligibilities expired in the last 30 days', () => {
  it('keeps schedules that ended within 30 days, drops those eligible again, and gives each user a Renew entry', () => {
    const c = new DigestCollector(new ActivationHistory(), { now: NOW });
    // The schedules first: ended 3 days ago, 29 days ago, 31 days ago (gone from PIM's view), permanent, running.
    c.addEndedEligibility(role(U1, EXO, -3));
    c.addEndedEligibility(role(U1, SO, -29));
    c.addEndedEligibility(role(U1, 'too-old', -31));
    c.addEndedEligibility(role(U1, 'permanent', null));
    c.addEndedEligibility(role(U1, 'running', 20));
    c.addEndedEligibility({ kind: 'group', principalId: U2, roleDefinitionId: 'member', scope: SQL, startDateTime: null, endDateTime: at(-5) });
    // U2 also had Exchange Administrator, ended, then made eligible again: the current instance drops it.
    c.addEndedEligibility(role(U2, EXO, -10));
    c.addEligibility(role(U2, EXO, 60));
    // A current eligibility of another user for the same role drops nothing of U1's.
    c.addEligibility(role(U2, SO, null));
    const inputs = c.finish();
    expect(inputs.expired.map((x) => [x.principalId, x.roleDefinitionId, x.endDateTime])).toEqual([
      [U1, EXO, at(-3)],
      [U2, 'member', at(-5)],
      [U1, SO, at(-29)],
    ]);
    // Counting eligibilities counts the current ones only (the schedules are read for the expired section).
    expect(inputs.counts.eligibilities).toBe(2);
    expect(digestCandidates(inputs).sort()).toEqual([U1, U2].sort());

    const d1 = buildUserDigest(inputs, U1, { now: NOW, timeZone: 'Europe/Berlin' })!;
    expect(d1.ending).toEqual([]);
    expect(d1.expired).toEqual([
      { kind: 'entraRole', roleDefinitionId: EXO, scope: '/', endedAt: at(-3), renew: 'selfRenew' },
      { kind: 'entraRole', roleDefinitionId: SO, scope: '/', endedAt: at(-29), renew: 'selfRenew' },
    ]);
    // PIM for Groups has no selfRenew: the group's Renew asks the administrators.
    expect(buildUserDigest(inputs, U2, { now: NOW, timeZone: 'UTC' })!.expired).toEqual([
      { kind: 'group', roleDefinitionId: 'member', scope: SQL, endedAt: at(-5), renew: 'askAdmins' },
    ]);
    // Two days later the Security Operator entry is past PIM's 30 days: no longer offered.
    expect(buildUserDigest(inputs, U1, { now: new Date(NOW.getTime() + 2 * DAY_MS), timeZone: 'UTC' })!.expired!.map((x) => x.roleDefinitionId)).toEqual([EXO]);
  });

  it('a user with nothing ending and nothing expired gets no digest', () => {
    const c = new DigestCollector(new ActivationHistory(), { now: NOW });
    c.addEndedEligibility(role(U1, EXO, -40));
    c.addEligibility(role(U1, SO, 100));
    expect(buildUserDigest(c.finish(), U1, { now: NOW, timeZone: 'UTC' })).toBeNull();
  });
});
