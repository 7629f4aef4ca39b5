import { validateAdaptiveCard, TEAMS_CARD_MAX_BYTES } from '../validate-card';
import { HOSTILE, carriersOf, executes, inputs, textRuns } from '../../test/support/card-json';
import type { UserDigest } from '../../services/digests/user-digest';
import { DigestVerb, digestEntryKey, renderUserDigestCard } from './index';

const SECOP = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';
const SQL = '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c10';

function digest(overrides: Partial<UserDigest> = {}): UserDigest {
  return {
    principalId: 'u1',
    timeZone: 'Europe/Berlin',
    date: '2026-11-23',
    generatedAt: '2026-11-23T08:00:00Z',
    ending: [
      {
        kind: 'entraRole',
        roleDefinitionId: SECOP,
        scope: '/',
        assignment: 'eligible',
        endDateTime: '2026-12-02T08:00:00Z',
        daysLeft: 9,
        extend: 'selfExtend',
      },
      { kind: 'group', roleDefinitionId: 'member', scope: SQL, assignment: 'eligible', endDateTime: '2026-11-25T08:00:00Z', daysLeft: 2, extend: 'askAdmins' },
    ],
    endingToday: [{ kind: 'entraRole', roleDefinitionId: '4a5d8f65-41da-4de4-8968-e035b65339cf', scope: '/', endDateTime: '2026-11-23T16:30:00Z' }],
    ...overrides,
  };
}

const names = new Map([
  [`entraRole|${SECOP}|/`, 'Security Operator'],
  [`group|member|${SQL}`, 'SQL Admins (member)'],
  ['entraRole|4a5d8f65-41da-4de4-8968-e035b65339cf|/', 'Reports Reader'],
]);

describe('user digest card', () => {
  it('is a valid 1.5 card with Extend and No longer needed per ending assignment', () => {
    const card = renderUserDigestCard({ digest: digest(), targetNames: names });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    const actions = executes(card);
    expect(actions.map((a) => [a.title, a.verb])).toEqual([
      ['Extend', DigestVerb.Extend],
      ['No longer needed', DigestVerb.Release],
      // PIM for Groups has no self-extend: the button says who will act.
      ['Ask admins to extend', DigestVerb.Extend],
      ['No longer needed', DigestVerb.Release],
    ]);
    // Identifiers only (and the digest's date, so the answer re-renders it): the server re-reads the user's own
    // eligibility before acting.
    const date = digest().date;
    expect(actions[0]!.data).toEqual({ kind: 'entraRole', roleDefinitionId: SECOP, scope: '/', assignment: 'eligible', date });
    expect(actions[2]!.data).toEqual({ kind: 'group', roleDefinitionId: 'member', scope: SQL, assignment: 'eligible', date });
    expect(actions.every((a) => a.associatedInputs === 'none')).toBe(true);
    expect(inputs(card)).toEqual([]);
  });

  it('a click answers on the card: what it did and what happens next under that entry, in place of its buttons', () => {
    const answers = new Map([[digestEntryKey({ kind: 'entraRole', roleDefinitionId: SECOP, scope: '/', assignment: 'eligible' }), 'Asked PIM to extend it.']]);
    const card = renderUserDigestCard({ digest: digest(), targetNames: names, answers });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card)).toContain('→ Asked PIM to extend it.');
    // The group's entry keeps its buttons; the answered one has none.
    expect(executes(card).map((a) => (a.data as { kind: string }).kind)).toEqual(['group', 'group']);
  });

  it("says when things end in the user's zone, and lists activations ending today", () => {
    const text = textRuns(renderUserDigestCard({ digest: digest(), targetNames: names })).join('\n');
    expect(text).toContain('Your PIM access: 2 assignments end within 14 days, 1 activation ends today');
    expect(text).toContain('Eligible assignment ends Wed 2 Dec, 09:00 CET (in 9 days)');
    expect(text).toContain('SQL Admins (member)');
    expect(text).toMatch(/Reports Reader\n — active until Mon 23 Nov, 17:30 CET/);
  });

  it('shows an id, not nothing, for a role whose name could not be read', () => {
    const text = textRuns(renderUserDigestCard({ digest: digest(), targetNames: new Map() })).join('\n');
    expect(text).toContain(`Role ${SECOP}`);
    expect(text).toContain(`Group ${SQL} (member)`);
  });

  it('leaves out the sections that are empty', () => {
    const onlyToday = renderUserDigestCard({ digest: digest({ ending: [] }), targetNames: names });
    expect(validateAdaptiveCard(onlyToday)).toEqual([]);
    expect(executes(onlyToday)).toEqual([]);
    expect(textRuns(onlyToday)[0]).toBe('Your PIM access: 1 activation ends today');
  });

  it('keeps directory text out of markdown and template bindings', () => {
    const hostile = new Map([[`entraRole|${SECOP}|/`, HOSTILE]]);
    const card = renderUserDigestCard({ digest: digest(), targetNames: hostile });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card)).toContain(HOSTILE);
    expect(carriersOf(card, 'evil.example')).toEqual([]);
  });

  it('lists eligibilities expired in the last 30 days with Renew, only when there are some', () => {
    const EXO = '29232cdf-9323-42fd-ade2-1d097af3e4de';
    const expired = [
      { kind: 'entraRole' as const, roleDefinitionId: EXO, scope: '/', endedAt: '2026-11-20T08:00:00Z', renew: 'selfRenew' as const },
      { kind: 'group' as const, roleDefinitionId: 'member', scope: SQL, endedAt: '2026-11-18T08:00:00Z', renew: 'askAdmins' as const },
    ];
    const withNames = new Map([...names, [`entraRole|${EXO}|/`, 'Exchange Administrator']]);
    const card = renderUserDigestCard({ digest: digest({ ending: [], endingToday: [], expired }), targetNames: withNames });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const text = textRuns(card).join('\n');
    expect(textRuns(card)[0]).toBe('Your PIM access: 2 assignments expired in the last 30 days');
    expect(text).toContain('Exchange Administrator\nEligible assignment expired Fri 20 Nov, 09:00 CET');
    expect(text).toContain('SQL Admins (member)\nEligible assignment expired Wed 18 Nov, 09:00 CET');
    const actions = executes(card);
    // PIM for Groups has no self-renew: the button says who will act.
    expect(actions.map((a) => [a.title, a.verb])).toEqual([
      ['Renew', DigestVerb.Renew],
      ['Ask admins to renew', DigestVerb.Renew],
    ]);
    expect(actions[0]!.data).toEqual({ kind: 'entraRole', roleDefinitionId: EXO, scope: '/', date: '2026-11-23' });
    expect(actions[1]!.data).toEqual({ kind: 'group', roleDefinitionId: 'member', scope: SQL, date: '2026-11-23' });

    // The answer goes under the expired entry, in place of its button.
    const answers = new Map([
      [digestEntryKey({ kind: 'entraRole', roleDefinitionId: EXO, scope: '/', assignment: 'expired' }), 'PIM has your renewal request.'],
    ]);
    const answered = renderUserDigestCard({ digest: digest({ ending: [], endingToday: [], expired }), targetNames: withNames, answers });
    expect(textRuns(answered)).toContain('→ PIM has your renewal request.');
    expect(executes(answered).map((a) => a.title)).toEqual(['Ask admins to renew']);

    // No section (and no heading) without expired entries, nor for a digest kept from before the section existed.
    for (const d of [digest({ expired: [] }), digest()]) {
      const plain = renderUserDigestCard({ digest: d, targetNames: names });
      expect(textRuns(plain).join('\n')).not.toContain('expired');
      expect(JSON.stringify(plain)).not.toContain('Expired in the last 30 days');
      expect(executes(plain).some((a) => a.verb === DigestVerb.Renew)).toBe(false);
    }
    expect(JSON.stringify(card)).toContain('Expired in the last 30 days');
  });

  it('stays under the Teams size limit with many long names', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      kind: 'entraRole' as const,
      roleDefinitionId: `r${i}`,
      scope: '/',
      assignment: 'eligible' as const,
      endDateTime: '2026-12-02T08:00:00Z',
      daysLeft: 9,
      extend: 'selfExtend' as const,
    }));
    const long = new Map(many.map((m) => [`entraRole|${m.roleDefinitionId}|/`, 'x'.repeat(5000)]));
    const card = renderUserDigestCard({ digest: digest({ ending: many }), targetNames: long });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(TEAMS_CARD_MAX_BYTES);
    expect(executes(card)).toHaveLength(20);
    expect(textRuns(card).join('\n')).toContain('… and 30 more ending later');
  });
});
