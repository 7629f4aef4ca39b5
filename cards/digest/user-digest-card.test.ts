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
