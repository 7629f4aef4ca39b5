import { carriersOf, executes, HOSTILE, inputById, textBlocks, textRuns } from '../../test/support/card-json';
import { validateAdaptiveCard } from '../validate-card';
import { EXTENSION_END_INPUT, EXTENSION_NOTE_INPUT, type ExtensionCardData, ExtensionVerb, renderExtensionCard } from './index';

const OPEN: ExtensionCardData = {
  askId: '0b6c7d8e-1f2a-4b3c-9d4e-5f6a7b8c9d0e',
  action: 'extend',
  assignment: 'eligible',
  requester: 'Alex Wilber (alexw@contoso.com)',
  target: 'Security Operator',
  scope: null,
  currentEnd: '2026-03-11T08:00:00Z',
  requestedEnd: '2026-06-09T08:00:00Z',
  reason: 'Still on the incident rota',
  activations90d: { count: 7, lastAt: '2026-02-26T14:30:00Z' },
  hr: { status: 'pass', detail: 'Account enabled, no leave date inside the activation' },
  risk: { status: 'fail', detail: 'User risk high (atRisk)' },
  whoCan: 'Privileged Role Administrators and Global Administrators (Diego Siciliani, Adele Vance)',
  defaultEnd: '2026-06-09',
  minEnd: '2026-03-12',
  state: { kind: 'open' },
};

describe('extension card', () => {
  test('open: who, what, ends, history and checks today, a date and a note, Extend and Decline carrying the ask id only', () => {
    const card = renderExtensionCard(OPEN);
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(JSON.stringify(card)).not.toContain('${');
    expect(textBlocks(card)[0]).toBe('Extension request');
    const runs = textRuns(card);
    for (const text of [
      'Alex Wilber (alexw@contoso.com)',
      'Security Operator',
      'Still on the incident rota',
      '7',
      'Fails: User risk high (atRisk)',
      'Passes: Account enabled, no leave date inside the activation',
    ])
      expect(runs).toContain(text);
    // Times are written by Teams in the reader's zone.
    expect(textBlocks(card)).toContain('{{DATE(2026-03-11T08:00:00Z, SHORT)}} {{TIME(2026-03-11T08:00:00Z)}}');
    expect(inputById(card, EXTENSION_END_INPUT)).toMatchObject({ type: 'Input.Date', value: '2026-06-09', min: '2026-03-12', isRequired: true });
    expect(inputById(card, EXTENSION_NOTE_INPUT)).toMatchObject({ type: 'Input.Text', isRequired: true, maxLength: 500 });
    expect(executes(card).map((a) => [a.verb, a.title, a.data])).toEqual([
      [ExtensionVerb.Apply, 'Extend', { askId: OPEN.askId }],
      [ExtensionVerb.Decline, 'Decline', { askId: OPEN.askId }],
    ]);
  });

  test('a renewal says Renew; a decided card has no controls and says who, until when and why', () => {
    const renewal = renderExtensionCard({ ...OPEN, action: 'renew' });
    expect(textBlocks(renewal)[0]).toBe('Renewal request');
    expect(executes(renewal).map((a) => a.title)).toEqual(['Renew', 'Decline']);
    const decided = renderExtensionCard({
      ...OPEN,
      state: { kind: 'extended', byName: 'Adele Vance', at: '2026-03-02T08:05:00Z', newEnd: '2026-06-01T08:00:00Z', note: 'Quarter rota' },
    });
    expect(validateAdaptiveCard(decided)).toEqual([]);
    expect(executes(decided)).toEqual([]);
    expect(textRuns(decided)).toEqual(expect.arrayContaining(['Extended by Adele Vance, until:', 'Quarter rota']));
    expect(textBlocks(decided).join('\n')).toContain('{{DATE(2026-06-01T08:00:00Z, SHORT)}}');
    const declined = renderExtensionCard({ ...OPEN, state: { kind: 'declined', byName: 'Diego Siciliani', at: '2026-03-02T08:05:00Z', note: null } });
    expect(executes(declined)).toEqual([]);
    expect(textRuns(declined)).toContain('Declined by Diego Siciliani');
  });

  test('user and directory text lands only in TextRuns, never read as markdown', () => {
    const card = renderExtensionCard({
      ...OPEN,
      requester: HOSTILE,
      target: HOSTILE,
      reason: HOSTILE,
      whoCan: HOSTILE,
      hr: { status: 'unknown', detail: HOSTILE },
      message: HOSTILE,
      state: { kind: 'declined', byName: HOSTILE, at: '2026-03-02T08:05:00Z', note: HOSTILE },
    });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(carriersOf(card, '[click]')).toEqual([]);
  });
});
