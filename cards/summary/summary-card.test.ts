import { ApprovalVerb } from '../approval-card';
import { allText, carriersOf, executes, HOSTILE, inputs, ofType, textBlocks, textRuns } from '../../test/support/card-json';
import { TEAMS_CARD_MAX_BYTES, validateAdaptiveCard } from '../validate-card';
import { ageText, renderSummaryCard, SUMMARY_MAX_ENTRIES, type SummaryCardData, type SummaryEntry } from './summary-card';

const NOW = new Date('2026-03-02T08:10:00Z');

function entry(i: number, overrides: Partial<SummaryEntry> = {}): SummaryEntry {
  return {
    requestId: `0b8f6a3e-1c2d-4e5f-8a9b-${String(i).padStart(12, '0')}`,
    version: 1 + (i % 3),
    requesterName: `Requester ${i}`,
    requesterUpn: `user${i}@contoso.com`,
    roleName: 'Security Operator',
    scope: 'Directory',
    requestedAt: new Date(NOW.getTime() - i * 60_000).toISOString(),
    ...overrides,
  };
}

function data(entries: SummaryEntry[], overrides: Partial<SummaryCardData> = {}): SummaryCardData {
  return { entries, part: 1, parts: 1, batchTotal: entries.length, now: NOW, ...overrides };
}

describe('summary card', () => {
  test.each([2, 7, SUMMARY_MAX_ENTRIES])('with %i requests is a valid Adaptive Card 1.5 with nothing left of the template', (n) => {
    const card = renderSummaryCard(data(Array.from({ length: n }, (_, i) => entry(i))));
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    expect(JSON.stringify(card)).not.toContain('${');
  });

  test('every listed request has its own Open action carrying only its id and version, with the approval verb', () => {
    const entries = Array.from({ length: 4 }, (_, i) => entry(i));
    const card = renderSummaryCard(data(entries));
    const actions = executes(card);
    expect(actions.map((a) => a.data)).toStrictEqual(entries.map((e) => ({ requestId: e.requestId, version: e.version })));
    for (const a of actions) {
      expect(a.verb).toBe(ApprovalVerb.Refresh);
      expect(a.fallback).toMatchObject({ type: 'Action.Submit', data: { requestId: (a.data as SummaryEntry).requestId, verb: ApprovalVerb.Refresh } });
    }
    // Decisions happen on the full card Open brings up, where the justification input lives.
    expect(inputs(card)).toHaveLength(0);
    expect(card).not.toHaveProperty('refresh');
  });

  test('shows requester, role and age for each request', () => {
    const card = renderSummaryCard(
      data([entry(0), entry(3, { requesterName: 'Adele Vance', requesterUpn: 'adelev@contoso.com', roleName: 'Global Reader', scope: null })]),
    );
    const runs = textRuns(card);
    expect(runs).toEqual(expect.arrayContaining(['Adele Vance', ' adelev@contoso.com', 'Global Reader', 'Security Operator · Directory']));
    expect(textBlocks(card)).toEqual(expect.arrayContaining(['Requested just now', 'Requested 3 min ago']));
    expect(textBlocks(card)[0]).toBe('2 approval requests waiting');
  });

  test('a request without a UPN shows no empty text run', () => {
    const card = renderSummaryCard(data([entry(0, { requesterUpn: null }), entry(1)]));
    expect(textRuns(card).filter((t) => t.trim() === '')).toEqual([]);
  });

  test('a part of a larger batch says which part it is and how many requests are on the other cards', () => {
    const card = renderSummaryCard(
      data(
        Array.from({ length: 15 }, (_, i) => entry(i)),
        { part: 2, parts: 4, batchTotal: 52 },
      ),
    );
    const blocks = textBlocks(card);
    expect(blocks[0]).toBe('Approval requests waiting (2 of 4)');
    expect(blocks).toContain('… and 37 more requests on the other summary cards of this batch.');
    expect(blocks[1]).toMatch(/^52 requests for this channel arrived within a minute/);
  });

  test(`lists at most ${SUMMARY_MAX_ENTRIES} requests and counts the rest`, () => {
    const card = renderSummaryCard(data(Array.from({ length: SUMMARY_MAX_ENTRIES + 6 }, (_, i) => entry(i))));
    expect(executes(card)).toHaveLength(SUMMARY_MAX_ENTRIES);
    expect(textBlocks(card)).toContain('… and 6 more requests not listed on this card.');
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('a single-card batch that fits says nothing about more', () => {
    const card = renderSummaryCard(data([entry(0), entry(1)]));
    expect(allText(card)).not.toContain('more request');
  });

  test('hostile directory text is shown literally and only inside TextRun.text', () => {
    const marker = 'zq-hostile';
    const hostile = `${marker} ${HOSTILE}`;
    const card = renderSummaryCard(data([entry(0, { requesterName: hostile, requesterUpn: hostile, roleName: hostile, scope: hostile }), entry(1)]));
    expect(carriersOf(card, marker)).toEqual([]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the user's text as shown, template binding and all
    expect(textRuns(card).some((t) => t.includes('${draftId}') && t.includes('[click](https://evil.example)'))).toBe(true);
    // The binding in the user's text was not evaluated, and nothing but ids reached the action data.
    for (const a of executes(card)) expect(Object.keys(a.data as object).sort()).toEqual(['requestId', 'version']);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('control characters, bidi overrides and lone surrogates are dropped or replaced', () => {
    const card = renderSummaryCard(data([entry(0, { requesterName: 'Ad\u0007ele \u202eVance\ud800' }), entry(1)]));
    expect(textRuns(card)[0]).toBe('Adele Vance\ufffd');
  });

  test(`the worst case of ${SUMMARY_MAX_ENTRIES} entries with every field at its cap in four-byte characters stays under Teams' limit with room for the activity`, () => {
    const wide = '🦄'.repeat(400);
    const entries = Array.from({ length: SUMMARY_MAX_ENTRIES }, (_, i) =>
      entry(i, {
        requesterName: wide,
        requesterUpn: wide,
        roleName: wide,
        scope: wide,
        outcome: { text: 'Approved by a very long name at 10:04 UTC', colour: 'good' },
      }),
    );
    const card = renderSummaryCard(data(entries, { part: 99, parts: 99, batchTotal: 99_999 }));
    const bytes = Buffer.byteLength(JSON.stringify(card), 'utf8');
    expect(bytes).toBeLessThanOrEqual(TEAMS_CARD_MAX_BYTES - 2_048);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('decided requests show their outcome as text, and a card whose requests are all decided says so', () => {
    const partly = renderSummaryCard(data([entry(0, { outcome: { text: 'Approved by <b>Megan</b> at 10:04 UTC', colour: 'good' } }), entry(1)]));
    const runs = ofType(partly, 'TextRun').map(({ node }) => node);
    const outcome = runs.find((r) => String(r.text).startsWith('Approved by'));
    expect(outcome).toEqual(expect.objectContaining({ text: 'Approved by <b>Megan</b> at 10:04 UTC', weight: 'Bolder' }));
    // The tone is an icon before the words, not the text colour (Teams' green is 2:1 on white, its red 3.2:1 on dark).
    expect(outcome).not.toHaveProperty('color');
    expect(runs[runs.indexOf(outcome!) - 1]).toEqual({ type: 'TextRun', text: '✅ ' });
    expect((partly.body as Array<{ text?: string }>)[0]!.text).toBe('2 approval requests waiting');
    expect(ofType(partly, 'Action.Execute')).toHaveLength(2);
    // The outcome takes the age line's place.
    expect(textBlocks(partly).filter((t) => t.startsWith('Requested'))).toHaveLength(1);
    const done = renderSummaryCard(
      data([entry(0, { outcome: { text: 'Denied by Megan', colour: 'attention' } }), entry(1, { outcome: { text: 'Expired', colour: 'default' } })]),
    );
    expect((done.body as Array<{ text?: string }>)[0]!.text).toBe('2 approval requests, all decided');
    expect(validateAdaptiveCard(done)).toEqual([]);
  });

  test("a request whose claim was given back without a decision recorded in PIM says so on its line, in the approval card's words", () => {
    const card = renderSummaryCard(data([entry(0, { release: { name: 'Adele Vance', atText: '2026-03-02 08:04 UTC' } }), entry(1)]));
    const line = "Adele Vance's decision at 2026-03-02 08:04 UTC was not recorded in PIM; please decide again.";
    const runs = ofType(card, 'TextRun').map(({ node }) => node);
    // Bold after a warning sign, in the text colour: Teams' warning yellow is 1.5:1 on white.
    expect(runs.filter((r) => String(r.text).includes('not recorded'))).toEqual([{ type: 'TextRun', text: line, weight: 'Bolder' }]);
    // Its own line, under the age (the request still waits), in the first entry only.
    const firstEntry = JSON.stringify(ofType(card, 'ColumnSet')[0]!.node);
    expect(firstEntry).toContain(line);
    expect(JSON.stringify(ofType(card, 'ColumnSet')[1]!.node)).not.toContain('not recorded');
    expect(textBlocks(card)).toEqual(expect.arrayContaining(['Requested just now', 'Requested 1 min ago']));
    expect(textBlocks(card)[0]).toBe('2 approval requests waiting');
    expect(executes(card)).toHaveLength(2);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('a released claim on a request decided since is not shown: the outcome is the news', () => {
    const card = renderSummaryCard(
      data([
        entry(0, {
          release: { name: 'Adele Vance', atText: '2026-03-02 08:04 UTC' },
          outcome: { text: 'Approved by Megan Bowen at 2026-03-02 08:09 UTC', colour: 'good' },
        }),
        entry(1),
      ]),
    );
    expect(allText(card)).not.toContain('not recorded');
    expect(textRuns(card)).toContain('Approved by Megan Bowen at 2026-03-02 08:09 UTC');
  });

  test("a released claim's name is directory text: cut to the name's cap and only inside TextRun.text", () => {
    const marker = 'zq-hostile';
    const card = renderSummaryCard(data([entry(0, { release: { name: `${marker} ${HOSTILE} ${'x'.repeat(80)}`, atText: '2026-03-02 08:04 UTC' } }), entry(1)]));
    expect(carriersOf(card, marker)).toEqual([]);
    const run = textRuns(card).find((t) => t.includes('not recorded'))!;
    expect(run.startsWith(`${marker} [click](https://evil.example)`)).toBe(true);
    // 48 characters of name at most (the last one the ellipsis), then the approval card's words.
    expect(run).toMatch(/^.{47}…'s decision at 2026-03-02 08:04 UTC was not recorded in PIM; please decide again\.$/u);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('without its name (a summary cut down to fit), the release is said on the age line in the same words', () => {
    const card = renderSummaryCard(data([entry(0, { release: { name: '', atText: '2026-03-02 08:04 UTC' } }), entry(1)]));
    expect(textBlocks(card)).toContain('Requested just now · A decision was not recorded in PIM; please decide again.');
    expect(textRuns(card).filter((t) => t.includes('not recorded'))).toEqual([]);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test(`the worst case of ${SUMMARY_MAX_ENTRIES} waiting entries, each with a released claim said without its name, stays under Teams' limit with room for the activity`, () => {
    const wide = '🦄'.repeat(400);
    const entries = Array.from({ length: SUMMARY_MAX_ENTRIES }, (_, i) =>
      entry(i, { requesterName: wide, requesterUpn: wide, roleName: wide, scope: wide, release: { name: '', atText: wide } }),
    );
    const card = renderSummaryCard(data(entries, { part: 99, parts: 99, batchTotal: 99_999 }));
    expect(textBlocks(card).filter((t) => t.endsWith('· A decision was not recorded in PIM; please decide again.'))).toHaveLength(SUMMARY_MAX_ENTRIES);
    expect(Buffer.byteLength(JSON.stringify(card), 'utf8')).toBeLessThanOrEqual(TEAMS_CARD_MAX_BYTES - 2_048);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('the card is plain data: rendering twice gives equal cards and leaves the input alone', () => {
    const input = data([entry(0), entry(1)]);
    const frozen = JSON.stringify(input);
    expect(renderSummaryCard(input)).toStrictEqual(renderSummaryCard(input));
    expect(JSON.stringify(input)).toBe(frozen);
    expect(ofType(renderSummaryCard(input), 'Action.Execute')).toHaveLength(2);
  });
});

describe('age text', () => {
  test.each([
    ['2026-03-02T08:09:30Z', 'Requested just now'],
    ['2026-03-02T08:05:00Z', 'Requested 5 min ago'],
    ['2026-03-02T07:10:00Z', 'Requested 1 h ago'],
    ['2026-03-02T05:58:00Z', 'Requested 2 h 12 min ago'],
    ['2026-03-02T08:11:00Z', 'Requested just now'],
    ['not a date', 'Requested at an unknown time'],
  ])('%s → %s', (requestedAt, expected) => {
    expect(ageText(requestedAt, NOW)).toBe(expected);
  });
});
