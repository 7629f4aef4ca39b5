import { validateAdaptiveCard, TEAMS_CARD_MAX_BYTES } from '../validate-card';
import { HOSTILE, carriersOf, executes, inputs, nodes, textRuns } from '../../test/support/card-json';
import type { AdminDigest, SpotAuditEntry } from '../../services/digests/admin-digest';
import { AuditVerb, auditNoteInputId, renderAdminDigestCard, renderAdminDigestCards } from './index';

const GA = '62e90394-69f5-4237-9190-012177145e10';
const SECOP = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';

function sampled(i: number, extra: Partial<SpotAuditEntry> = {}): SpotAuditEntry {
  return {
    requestId: `req-${i}`,
    pimRequestId: `pim-${i}`,
    kind: 'entraRole',
    roleDefinitionId: SECOP,
    scope: '/',
    principalId: 'alex',
    approvedById: 'megan',
    approvedByName: 'Megan Bowen',
    approvedAt: '2026-11-22T15:00:00Z',
    justification: 'Investigating INC0012345',
    decisionJustification: 'Matches the incident',
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    reviews: [],
    ...extra,
  };
}

function digest(overrides: Partial<AdminDigest> = {}): AdminDigest {
  return {
    date: '2026-11-23',
    timeZone: 'Europe/Berlin',
    generatedAt: '2026-11-23T08:00:00Z',
    expiringThisWeek: {
      total: 3,
      until: '2026-11-29T23:00:00.000Z',
      targets: [
        {
          target: { kind: 'entraRole', roleDefinitionId: SECOP, scope: '/' },
          count: 3,
          soonest: [{ principalId: 'alex', endDateTime: '2026-11-25T08:00:00Z' }],
        },
      ],
    },
    dormant: {
      days: 30,
      total: 12,
      targets: [{ target: { kind: 'entraRole', roleDefinitionId: GA, scope: '/' }, count: 12 }],
      oldest: [{ kind: 'entraRole', roleDefinitionId: GA, scope: '/', principalId: 'isaiah', lastActivatedAt: null, eligibleSince: null }],
    },
    permanentPrivileged: {
      total: 1,
      items: [{ kind: 'entraRole', roleDefinitionId: GA, scope: '/', principalId: 'diego', startDateTime: '2026-05-01T00:00:00Z' }],
    },
    pending: {
      total: 1,
      items: [
        {
          requestId: 'p1',
          pimRequestId: 'pim-p1',
          kind: 'entraRole',
          roleDefinitionId: GA,
          scope: '/',
          principalId: 'isaiah',
          status: 'pending',
          createdAt: '2026-11-23T04:40:00Z',
          ageMinutes: 200,
        },
      ],
    },
    spotAudit: {
      date: '2026-11-22',
      approvals: 14,
      rate: 0.1,
      sample: [sampled(1), sampled(2, { reviews: [{ reviewerId: 'patti', reviewerName: 'Patti Fernandez', verdict: 'looksRight' }] })],
    },
    flags: [],
    ...overrides,
  };
}

const names = {
  users: new Map([
    ['alex', 'Alex Wilber'],
    ['isaiah', 'Isaiah Langer'],
    ['diego', 'Diego Siciliani'],
    ['megan', 'Megan Bowen'],
  ]),
  targets: new Map([
    [`entraRole|${SECOP}|/`, 'Security Operator'],
    [`entraRole|${GA}|/`, 'Global Administrator'],
  ]),
};

describe('admin digest card', () => {
  it('is a valid 1.5 card with every section', () => {
    const card = renderAdminDigestCard({ digest: digest(), names });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const text = textRuns(card).join('\n');
    expect(text).toContain('PIM daily digest for Mon 23 Nov');
    expect(text).toContain('Flagged approvals since the last digest: 0');
    expect(text).toContain('Pending requests: 1');
    expect(text).toMatch(/Isaiah Langer\n — Global Administrator, waiting 3 h 20 min/);
    expect(text).toContain('Eligible assignments expiring by Sun 29 Nov: 3');
    expect(text).toMatch(/Security Operator: 3\n — soonest: Alex Wilber \(Wed 25 Nov\)/);
    expect(text).toContain('Dormant eligible assignments (no activation in 30 days): 12');
    expect(text).toMatch(/Isaiah Langer\n — Global Administrator, no activation on record/);
    expect(text).toContain('Permanent active assignments on privileged roles: 1');
    expect(text).toMatch(/Diego Siciliani\n — Global Administrator, since Fri 1 May/);
    expect(text).toContain('Spot audit: 2 of 14 approvals on 2026-11-22');
    expect(text).toContain('Reviewed so far: Patti Fernandez (looks right)');
  });

  it("gives each sampled approval 'Looks right' and 'Flag' with a note, data {requestId} and the digest's date only", () => {
    const card = renderAdminDigestCard({ digest: digest(), names });
    const actions = executes(card);
    const digestDate = digest().date;
    expect(actions.map((a) => [a.verb, a.data])).toEqual([
      [AuditVerb.LooksRight, { requestId: 'req-1', digestDate }],
      [AuditVerb.Flag, { requestId: 'req-1', digestDate }],
      [AuditVerb.LooksRight, { requestId: 'req-2', digestDate }],
      [AuditVerb.Flag, { requestId: 'req-2', digestDate }],
    ]);
    const notes = inputs(card).map(({ node }) => node);
    expect(notes.map((n) => [n.id, n.isRequired, n.maxLength])).toEqual([
      [auditNoteInputId('req-1'), true, 500],
      [auditNoteInputId('req-2'), true, 500],
    ]);
    // The flag button sends the note with it; 'Looks right' sends nothing else.
    expect(actions.filter((a) => a.verb === AuditVerb.Flag).every((a) => a.associatedInputs === 'auto')).toBe(true);
    expect(
      nodes(card)
        .filter(({ node }) => node.type === 'Action.ShowCard')
        .map(({ node }) => node.title),
    ).toEqual(['Flag', 'Flag']);
  });

  it('a recorded review answers on the card: the verdict under that entry, in place of its buttons', () => {
    const card = renderAdminDigestCard({ digest: digest(), names, answers: new Map([['req-1', 'Recorded: looks right.']]) });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('"text":"→ Recorded: looks right."');
    expect(executes(card).map((a) => a.data)).toEqual([
      { requestId: 'req-2', digestDate: digest().date },
      { requestId: 'req-2', digestDate: digest().date },
    ]);
  });

  it('lists flags raised since the last digest', () => {
    const card = renderAdminDigestCard({
      digest: digest({
        flags: [
          {
            requestId: 'req-9',
            pimRequestId: 'pim-9',
            kind: 'entraRole',
            principalId: 'alex',
            roleDefinitionId: SECOP,
            scope: '/',
            approvedById: 'megan',
            approvedByName: 'Megan Bowen',
            approvedAt: '2026-11-22T15:00:00Z',
            reviewerId: 'adele',
            reviewerName: 'Adele Vance',
            note: 'No open incident',
            flaggedAt: '2026-11-22T16:00:00Z',
          },
        ],
      }),
      names,
    });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card).join('\n')).toMatch(
      /Security Operator for Alex Wilber\n — approved by Megan Bowen on Sun 22 Nov; flagged by Adele Vance: “No open incident”/,
    );
  });

  it('says so when there was nothing to audit', () => {
    const card = renderAdminDigestCard({ digest: digest({ spotAudit: { date: '2026-11-22', approvals: 0, rate: 0.1, sample: [] } }), names });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(executes(card)).toEqual([]);
    expect(textRuns(card)).toContain('Spot audit: no approvals on 2026-11-22');
  });

  it('puts a large sample in continuation cards, each valid and under the size limit', () => {
    const sample = Array.from({ length: 100 }, (_, i) => sampled(i, { justification: 'j'.repeat(2000), decisionJustification: 'd'.repeat(2000) }));
    const cards = renderAdminDigestCards({ digest: digest({ spotAudit: { date: '2026-11-22', approvals: 1000, rate: 0.1, sample } }), names });
    expect(cards).toHaveLength(13);
    const ids = cards.flatMap((c) =>
      executes(c)
        .filter((a) => a.verb === AuditVerb.LooksRight)
        .map((a) => (a.data as { requestId: string }).requestId),
    );
    expect(ids).toEqual(sample.map((s) => s.requestId));
    for (const c of cards) {
      expect(validateAdaptiveCard(c)).toEqual([]);
      expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThan(TEAMS_CARD_MAX_BYTES);
    }
    expect(textRuns(cards[1])[0]).toBe('Spot audit, continued (2 of 13)');
  });

  it('keeps user and directory text out of markdown, in TextRun only', () => {
    const hostileNames = { users: new Map([['alex', HOSTILE]]), targets: new Map([[`entraRole|${SECOP}|/`, HOSTILE]]) };
    const card = renderAdminDigestCard({
      digest: digest({ spotAudit: { date: '2026-11-22', approvals: 1, rate: 0.1, sample: [sampled(1, { justification: HOSTILE, approvedByName: HOSTILE })] } }),
      names: hostileNames,
    });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(carriersOf(card, 'evil.example')).toEqual([]);
    expect(textRuns(card).join('\n')).toContain(HOSTILE);
  });
});
