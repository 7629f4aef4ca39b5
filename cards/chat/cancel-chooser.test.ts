import { validateAdaptiveCard } from '../validate-card';
import { ChatVerb, renderCancelChooser, type CancelChoice } from './index';
import { HOSTILE, carriersOf, executes, textBlocks, textRuns } from '../../test/support/card-json';

const CHOICES: CancelChoice[] = [
  {
    roleTitle: 'Global Administrator',
    scopeText: null,
    statusText: 'waiting for an approver',
    requestedAt: '2026-12-07T09:40:00Z',
    chatRequestId: '3f2a9c1e-1111-4222-8333-444455556666',
  },
  {
    roleTitle: 'Extension of Security Operator',
    scopeText: 'an administrative unit',
    statusText: 'waiting for your administrators to decide',
    requestedAt: '2026-12-07T09:44:00Z',
    pimRequestId: 'b1c2d3e4-0000-4000-8000-000000000009',
  },
];

describe('cancel chooser', () => {
  test('several open requests: one block per request naming role, scope, status and when, each with its own button', () => {
    const card = renderCancelChooser({ choices: CHOICES, timeZone: 'Europe/London' });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(JSON.stringify(card)).not.toContain('${');
    expect(textBlocks(card)[0]).toBe('Which request should I cancel?');
    const runs = textRuns(card);
    expect(runs).toContain('Global Administrator');
    expect(runs).toContain('Waiting for an approver, requested Mon 7 Dec, 09:40 GMT');
    expect(runs).toContain('In an administrative unit, waiting for your administrators to decide, requested Mon 7 Dec, 09:44 GMT');
    expect(JSON.stringify(card)).not.toMatch(/administrativeUnits|PendingAdminDecision/);
    expect(executes(card).map((a) => [a.verb, a.associatedInputs, a.data])).toEqual([
      [ChatVerb.CancelChoice, 'none', { chatRequestId: CHOICES[0]!.chatRequestId }],
      [ChatVerb.CancelChoice, 'none', { pimRequestId: CHOICES[1]!.pimRequestId }],
    ]);
  });

  test('one open request: asks before cancelling, with a single button', () => {
    const card = renderCancelChooser({ choices: [CHOICES[0]!], timeZone: 'UTC' });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textBlocks(card)[0]).toBe('Cancel this request?');
    expect(executes(card).map((a) => a.title)).toEqual(['Yes, cancel it']);
  });

  test('role titles are plain text (TextRuns), never markdown', () => {
    const card = renderCancelChooser({ choices: [{ ...CHOICES[0]!, roleTitle: HOSTILE }], timeZone: 'UTC' });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card)).toContain(HOSTILE);
    expect(carriersOf(card, 'evil.example')).toEqual([]);
  });

  test('many open requests still make a card, and say the rest exist', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ ...CHOICES[0]!, chatRequestId: `3f2a9c1e-1111-4222-8333-4444555566${String(i).padStart(2, '0')}` }));
    const card = renderCancelChooser({ choices: many, timeZone: 'UTC' });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(executes(card)).toHaveLength(20);
    expect(textBlocks(card).join('\n')).toContain('10 more not listed');
  });
});
