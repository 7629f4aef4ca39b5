import { accessKey, accessLists, parseAccessKey, scopeName } from './tab-access';

const NOW = new Date('2026-03-15T12:00:00Z');
const days = (n: number) => new Date(NOW.getTime() + n * 86_400_000).toISOString();

describe('tab access lists', () => {
  it('gives each item an opaque key that round-trips, and refuses keys it did not make', () => {
    const t = { kind: 'entraRole' as const, roleDefinitionId: 'r1', scope: '/', displayName: 'Role' };
    expect(parseAccessKey(accessKey(t))).toEqual({ kind: 'entraRole', roleDefinitionId: 'r1', scope: '/' });
    expect(parseAccessKey('not-a-key')).toBeNull();
    expect(parseAccessKey(Buffer.from(JSON.stringify(['admin', 'r', '/'])).toString('base64url'))).toBeNull();
    expect(parseAccessKey(Buffer.from(JSON.stringify({ kind: 'entraRole' })).toString('base64url'))).toBeNull();
  });

  it("follows PIM's rules: activate unless active, extend within 14 days of the end, renew within 30 days after, end only an activation", () => {
    const lists = accessLists(
      {
        eligible: [
          { kind: 'entraRole', roleDefinitionId: 'soon', scope: '/', displayName: 'Soon', eligibleUntil: days(10) },
          { kind: 'entraRole', roleDefinitionId: 'later', scope: '/', displayName: 'Later', eligibleUntil: days(20) },
          { kind: 'entraRole', roleDefinitionId: 'perm', scope: '/', displayName: 'Permanent', eligibleUntil: null },
          { kind: 'group', roleDefinitionId: 'member', scope: 'g1', displayName: 'SQL Admins (member)', eligibleUntil: days(3) },
        ],
        active: [
          {
            kind: 'entraRole',
            roleDefinitionId: 'perm',
            scope: '/',
            displayName: 'Permanent',
            startDateTime: days(-0.1),
            endDateTime: days(0.1),
            assignmentType: 'Activated',
          },
          {
            kind: 'entraRole',
            roleDefinitionId: 'given',
            scope: '/',
            displayName: 'Given',
            startDateTime: null,
            endDateTime: null,
            assignmentType: 'Assigned',
          },
          {
            kind: 'entraRole',
            roleDefinitionId: 'over',
            scope: '/',
            displayName: 'Over',
            startDateTime: days(-2),
            endDateTime: days(-1),
            assignmentType: 'Activated',
          },
        ],
        expired: [
          { kind: 'azureResource', roleDefinitionId: 'x', scope: '/subscriptions/s', displayName: 'Reader on Prod', endedAt: days(-5) },
          { kind: 'group', roleDefinitionId: 'owner', scope: 'g2', displayName: 'Ops (owner)', endedAt: days(-5) },
        ],
      },
      NOW,
    );
    const byName = (items: Array<{ name: string; actions: object }>) => Object.fromEntries(items.map((i) => [i.name, i.actions]));
    expect(byName(lists.eligible)).toEqual({
      Soon: { activate: true, extend: true, renew: false, end: false },
      Later: { activate: true, extend: false, renew: false, end: false },
      Permanent: { activate: false, extend: false, renew: false, end: false },
      'SQL Admins (member)': { activate: true, extend: false, renew: false, end: false },
    });
    expect(byName(lists.active)).toEqual({
      Permanent: { activate: false, extend: false, renew: false, end: true },
      Given: { activate: false, extend: false, renew: false, end: false },
    });
    expect(byName(lists.expired)).toEqual({
      'Reader on Prod': { activate: false, extend: false, renew: true, end: false },
      'Ops (owner)': { activate: false, extend: false, renew: false, end: false },
    });
    expect(lists.active.find((a) => a.name === 'Given')).toMatchObject({ end: null, memberType: 'Assigned' });
  });

  it('names the scope', () => {
    expect(scopeName({ kind: 'entraRole', roleDefinitionId: 'r', scope: '/', displayName: 'R' })).toBe('Directory');
    expect(scopeName({ kind: 'group', roleDefinitionId: 'member', scope: 'g', displayName: 'SQL Admins (member)' })).toBe('SQL Admins');
    expect(scopeName({ kind: 'azureResource', roleDefinitionId: 'r', scope: '/subscriptions/s', displayName: 'Contributor on Contoso Prod' })).toBe(
      'Contoso Prod',
    );
  });
});
