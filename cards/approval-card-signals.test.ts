import { renderApprovalCard, type ApprovalCardData, type ApprovalHistoryBlock, type ApprovalRiskBlock, type ApprovalView } from './approval-card';
import { TEAMS_CARD_MAX_BYTES, validateAdaptiveCard } from './validate-card';

const VIEWS: ApprovalView[] = ['approver', 'requester', 'observer', 'final'];
// biome-ignore lint/suspicious/noTemplateCurlyInString: user text that looks like a template binding, which must be shown literally
const HOSTILE = 'see ${requester.userPrincipalName} [click](https://evil.example) <at>Megan</at> **bold** ${1+1}';

const HIGH: ApprovalRiskBlock = {
  tone: 'attention',
  headline: 'Identity risk: High (at risk)',
  facts: [
    { title: 'State', value: 'at risk' },
    { title: 'Updated', value: '2026-03-02 06:00 UTC', at: '2026-03-02T06:00:00.000Z' },
  ],
  detections: [
    { text: 'Unfamiliar sign-in properties · high risk, at risk · Lagos, NG (203.0.113.24)', at: '2026-03-02T06:00:00.000Z' },
    { text: 'Leaked credentials · high risk, at risk' },
  ],
};

const HISTORY: ApprovalHistoryBlock = {
  line: '5 activations in 90 days · last 3 days ago · 1 denial',
  firstActivation: false,
  details: [
    { text: 'Last activation 3 days ago', at: '2026-02-27T09:00:00.000Z' },
    { text: 'Denied by Megan Bowen: "No ticket cited"', at: '2026-02-20T10:00:00.000Z' },
  ],
};

function request(overrides: Partial<ApprovalCardData> = {}): ApprovalCardData {
  return {
    requestId: 'req-7f3a',
    version: 4,
    requester: { displayName: 'Patti Fernandez', userPrincipalName: 'pattif@contoso.com', jobTitle: null, department: null },
    role: { displayName: 'User Administrator', scope: 'Directory', kind: 'entraRole' },
    durationText: '2 hours',
    windowText: 'Mon 2 Mar 08:00 – 10:00 UTC',
    justification: 'Reset MFA for the locked-out CFO, INC0012345',
    ticket: null,
    riskFlags: ['High user risk'],
    decisionReasons: ["ID Protection rates the requester's user risk high (at risk), so an approver decides."],
    expiresText: '23 h 41 min left',
    status: 'pending',
    identityRisk: HIGH,
    history: HISTORY,
    ...overrides,
  };
}

function nodes(value: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(value)) return value.flatMap(nodes);
  if (typeof value !== 'object' || value === null) return [];
  const node = value as Record<string, unknown>;
  return [node, ...Object.values(node).flatMap(nodes)];
}
const ofType = (card: unknown, type: string) => nodes(card).filter((n) => n.type === type);
const textRuns = (card: unknown) => ofType(card, 'TextRun').map((n) => String(n.text));
const textBlocks = (card: unknown) => ofType(card, 'TextBlock').map((n) => String(n.text));
/** The risk block in the folded details: the container headed "Identity risk". */
const riskContainer = (card: unknown) => ofType(card, 'Container').find((c) => (c.items as Array<{ text?: string }>)[0]?.text === 'Identity risk');
/** The summary lines under the justification, each as its label and text joined. */
const signalLines = (card: unknown) =>
  ofType(card, 'RichTextBlock')
    .map((b) => (b.inlines as Array<{ text: string }>).map((r) => r.text))
    .filter((runs) => runs.length === 2)
    .map((runs) => runs.join(''));

describe('approval card: identity risk and requester history', () => {
  test.each(VIEWS)('the %s view with both blocks is a valid card', (view) => {
    expect(validateAdaptiveCard(renderApprovalCard(request(), view))).toEqual([]);
  });

  test('a high risk is one line with a stop sign by the justification, its state, update time and detections in the details', () => {
    const card = renderApprovalCard(request(), 'approver');
    expect(signalLines(card)).toContain('⛔ Identity risk: High (at risk)');
    const risk = riskContainer(card)!;
    expect(risk).toBeDefined();
    const runs = textRuns(risk);
    expect(runs).toEqual(expect.arrayContaining(['at risk', `• ${HIGH.detections[0]!.text}`, `• ${HIGH.detections[1]!.text}`]));
    // Times in the viewer's own zone (Teams formats DATE/TIME in TextBlocks), never UTC text.
    expect(textBlocks(risk)).toEqual(
      expect.arrayContaining([
        '{{DATE(2026-03-02T06:00:00Z, SHORT)}} {{TIME(2026-03-02T06:00:00Z)}}',
        'Detected {{DATE(2026-03-02T06:00:00Z, SHORT)}} {{TIME(2026-03-02T06:00:00Z)}}',
      ]),
    );
    expect(JSON.stringify(risk)).not.toContain('UTC');
    // The detection without a time has no time line.
    expect(textBlocks(risk).filter((t) => t.startsWith('Detected'))).toHaveLength(1);
  });

  test('no active risk is one quiet line; a failed lookup says it could not be checked', () => {
    const none = renderApprovalCard(
      request({ identityRisk: { tone: 'good', headline: 'No identity risk in ID Protection', facts: [], detections: [] } }),
      'approver',
    );
    expect(signalLines(none)).toContain('✓ No identity risk in ID Protection');
    expect(textRuns(riskContainer(none))).toEqual([]);
    const failed = renderApprovalCard(
      request({ identityRisk: { tone: 'warning', headline: 'Identity risk could not be checked', facts: [], detections: [] } }),
      'approver',
    );
    expect(signalLines(failed)).toContain('⚠ Identity risk could not be checked');
    expect(validateAdaptiveCard(failed)).toEqual([]);
  });

  test('without ID Protection the card has no risk block', () => {
    const card = renderApprovalCard(request({ identityRisk: null }), 'approver');
    expect(textRuns(card).filter((t) => t.includes('Identity risk'))).toEqual([]);
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('the history is one line; its details are hidden until the approver toggles them', () => {
    const card = renderApprovalCard(request(), 'approver');
    expect(signalLines(card)).toContain(`History: ${HISTORY.line}`);
    const toggle = ofType(card, 'Action.ToggleVisibility');
    expect(toggle).toHaveLength(1);
    const target = (toggle[0]!.targetElements as string[])[0];
    const details = nodes(card).find((n) => n.id === target)!;
    expect(details).toMatchObject({ type: 'Container', isVisible: false });
    expect(textRuns(details)).toEqual(expect.arrayContaining(HISTORY.details.map((d) => d.text)));
    expect(textBlocks(details)).toEqual(
      expect.arrayContaining([
        '{{DATE(2026-02-27T09:00:00Z, SHORT)}} {{TIME(2026-02-27T09:00:00Z)}}',
        '{{DATE(2026-02-20T10:00:00Z, SHORT)}} {{TIME(2026-02-20T10:00:00Z)}}',
      ]),
    );
    expect(JSON.stringify(card)).not.toContain('first activation');
  });

  test('a first activation is said on the history line, with a warning sign, not in a colour', () => {
    const card = renderApprovalCard(request({ history: { line: '0 activations in 90 days · no denials', firstActivation: true, details: [] } }), 'approver');
    expect(signalLines(card)).toContain('History: 0 activations in 90 days · no denials · ⚠ first activation of this role');
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('an unavailable history says so and does not hold the card back', () => {
    const card = renderApprovalCard(request({ history: { line: 'History unavailable', firstActivation: false, details: [] } }), 'observer');
    expect(textRuns(card)).toContain('History unavailable');
    expect(validateAdaptiveCard(card)).toEqual([]);
  });

  test('Graph and store text (locations, denial reasons) is shown literally, only as TextRun', () => {
    const card = renderApprovalCard(
      request({
        identityRisk: { ...HIGH, facts: [{ title: 'Detail', value: HOSTILE }], detections: [{ text: HOSTILE, at: '2026-03-02T06:00:00Z' }] },
        history: { ...HISTORY, line: HOSTILE, details: [{ text: HOSTILE, at: '2026-03-02T06:00:00Z' }] },
      }),
      'approver',
    );
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card)).toEqual(expect.arrayContaining([HOSTILE, `• ${HOSTILE}`]));
    const carriers = nodes(card).flatMap((n) =>
      Object.entries(n).filter(([k, v]) => typeof v === 'string' && v.includes('evil.example') && !(n.type === 'TextRun' && k === 'text')),
    );
    expect(carriers).toEqual([]);
  });

  test('with every block at its worst the card stays well under the Teams limit', () => {
    const long = (seed: string) => seed.repeat(Math.ceil(600 / seed.length)).slice(0, 600);
    const card = renderApprovalCard(
      request({
        justification: long('j '),
        riskFlags: Array.from({ length: 30 }, (_, i) => `${i} ${long('flag ')}`),
        decisionReasons: Array.from({ length: 30 }, (_, i) => `${i} ${long('reason ')}`),
        identityRisk: {
          ...HIGH,
          headline: long('h'),
          facts: Array.from({ length: 10 }, () => ({ title: long('t'), value: long('v') })),
          detections: Array.from({ length: 20 }, () => ({ text: long('d '), at: '2026-03-02T06:00:00Z' })),
        },
        history: { line: long('l'), firstActivation: true, details: Array.from({ length: 20 }, () => ({ text: long('x '), at: '2026-03-02T06:00:00Z' })) },
      }),
      'approver',
    );
    // The other blocks alone are held under half the limit (approval-card.test.ts); these add at most a tenth.
    expect(Buffer.byteLength(JSON.stringify(card), 'utf8')).toBeLessThan(TEAMS_CARD_MAX_BYTES * 0.6);
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card).filter((t) => t.startsWith('• d d'))).toHaveLength(2);
    expect(textRuns(card)).toContain('• … and 18 more');
    expect(textRuns(card).filter((t) => t.startsWith('x x'))).toHaveLength(4);
    expect(textRuns(card)).toContain('… and 16 more');
  });

  test('with every block at its worst and eight check lines of emoji, the card still leaves room for the activity', () => {
    const long = (seed: string) => seed.repeat(Math.ceil(600 / seed.length)).slice(0, 600);
    const card = renderApprovalCard(
      request({
        justification: long('"quoted" \\ text 🙂 '),
        ticket: { system: long('S'), number: long('N') },
        requester: { displayName: long('Name '), userPrincipalName: `${long('u')}@contoso.com`, jobTitle: long('Title '), department: long('Dept ') },
        role: { displayName: long('Role '), scope: long('Scope '), kind: 'azureResource' },
        durationText: long('d'),
        windowText: long('w'),
        expiresText: long('e'),
        message: long('msg '),
        riskFlags: Array.from({ length: 30 }, (_, i) => `${i} ${long('flag ')}`),
        decisionReasons: Array.from({ length: 30 }, (_, i) => `${i} ${long('reason ')}`),
        identityRisk: {
          ...HIGH,
          headline: long('h'),
          facts: Array.from({ length: 10 }, () => ({ title: long('t'), value: long('v') })),
          detections: Array.from({ length: 20 }, () => ({ text: long('d '), at: '2026-03-02T06:00:00Z' })),
        },
        history: { line: long('l'), firstActivation: true, details: Array.from({ length: 20 }, () => ({ text: long('x '), at: '2026-03-02T06:00:00Z' })) },
        checkLines: Array.from({ length: 12 }, () => ({
          name: 'maintenanceWindow',
          result: 'unavailable' as const,
          onFail: 'deny' as const,
          summary: '🙂'.repeat(300),
        })),
      }),
      'approver',
    );
    // Teams' limit is for the whole message; the activity around the card needs a few kilobytes.
    expect(Buffer.byteLength(JSON.stringify(card), 'utf8')).toBeLessThan(TEAMS_CARD_MAX_BYTES - 4 * 1024);
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card).filter((t) => t.startsWith('🙂'))).toHaveLength(8);
  });
});
