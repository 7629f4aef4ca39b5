import { validateAdaptiveCard } from '../validate-card';
import { EmergencyVerb, renderBreakGlassCard, renderEmergencyNoteCard, renderEmergencyReviewCard } from './emergency-cards';

const GRANT = {
  grantId: '5b3f1c2e-0000-4000-8000-000000000001',
  requester: 'Alex **Wilber** [x](https://evil.example) <at>Megan</at>',
  role: 'Security Operator',
  incident: 'INC0013001 (priority 1 - Critical)',
  onCall: 'PagerDuty on call',
  justification: 'EMERGENCY: P1 sign-in outage',
  grantedAt: '2026-12-07T03:00:00Z',
  endsAt: '2026-12-07T04:00:00Z',
  durationMinutes: 60,
};

/** Every TextRun's text, in order. */
function textRuns(card: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'TextRun' && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return out;
}

describe('the break-glass cards', () => {
  it('broadcast: a BREAK-GLASS heading on the attention (red) band, then who, role, incident, on-call evidence, duration and when, as plain text', () => {
    const card = renderBreakGlassCard(GRANT);
    expect(validateAdaptiveCard(card)).toEqual([]);
    const heading = JSON.stringify(card).match(/\{[^{}]*"text":"BREAK-GLASS"[^{}]*\}/)![0];
    // Bold, in the theme's text colour on the attention band: a red run would fail the themes' contrast.
    expect(JSON.parse(heading)).toMatchObject({ type: 'TextRun', weight: 'Bolder', size: 'Large' });
    expect((card as { body: Array<{ style?: string }> }).body[0]!.style).toBe('attention');
    const runs = textRuns(card);
    for (const text of [GRANT.requester, 'Security Operator', GRANT.incident, 'PagerDuty on call', GRANT.justification]) expect(runs).toContain(text);
    expect(runs.join(' ')).toMatch(/1 h, until/);
    expect(JSON.stringify(card)).not.toContain('Action.');
  });

  it('note: an input and one button carrying the grant id; answered, neither', () => {
    const card = renderEmergencyNoteCard({ grantId: GRANT.grantId, role: 'Security Operator', incident: 'INC0013001', endedAt: GRANT.endsAt });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const json = JSON.stringify(card);
    expect(json).toContain(`"verb":"${EmergencyVerb.Note}"`);
    expect(json).toContain(`"id":"emergencyNote.${GRANT.grantId}"`);
    const answered = renderEmergencyNoteCard({
      grantId: GRANT.grantId,
      role: 'Security Operator',
      incident: 'INC0013001',
      endedAt: null,
      answer: 'Recorded: done',
    });
    expect(validateAdaptiveCard(answered)).toEqual([]);
    expect(JSON.stringify(answered)).not.toContain('Input.Text');
    expect(JSON.stringify(answered)).not.toContain(EmergencyVerb.Note);
    expect(textRuns(answered)).toContain('Recorded: done');
  });

  it('review: each grant with Looks right and Flag, overdue said; a recorded one shows its answer instead', () => {
    const entry = { ...GRANT, note: null, overdue: true, reviewBy: '2026-12-08T03:00:00Z' };
    const card = renderEmergencyReviewCard({ entries: [entry], reviewWithinHours: 24 });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const json = JSON.stringify(card);
    expect(json).toContain(EmergencyVerb.Review);
    expect(json).toContain(EmergencyVerb.Flag);
    expect(textRuns(card).join('\n')).toMatch(/OVERDUE: review was due/);
    expect(textRuns(card).join('\n')).toMatch(/Post-incident note: not written yet/);
    const answered = renderEmergencyReviewCard({ entries: [entry], reviewWithinHours: 24, answers: new Map([[GRANT.grantId, 'Megan: looks right']]) });
    expect(JSON.stringify(answered)).not.toContain(EmergencyVerb.Review);
    expect(textRuns(answered)).toContain('Megan: looks right');
  });
});
