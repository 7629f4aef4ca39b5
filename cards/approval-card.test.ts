import {
  ApprovalVerb,
  DECISION_JUSTIFICATION_INPUT_ID,
  PIM_MY_ROLES_URL,
  renderApprovalCard,
  type ApprovalCardData,
  type ApprovalCheckLine,
  type ApprovalView,
} from './approval-card';
import type { AdaptiveCardJson } from './adaptive-card';
import type { RequestStatus } from '../services/approvals/request-lifecycle';
import { TEAMS_CARD_MAX_BYTES, validateAdaptiveCard } from './validate-card';

const VIEWS: ApprovalView[] = ['approver', 'requester', 'observer', 'final'];
const STATUSES: RequestStatus[] = ['pending', 'recording', 'approved', 'denied', 'expired', 'cancelled'];
const FINAL: RequestStatus[] = ['approved', 'denied', 'expired', 'cancelled'];

// biome-ignore lint/suspicious/noTemplateCurlyInString: user text that looks like a template binding, which must be shown literally
const HOSTILE = 'see ${requester.userPrincipalName} [click](https://evil.example) <at>Megan</at> **bold** ${1+1}';

/** One check of each result, as the decision summarises them. */
const CHECK_LINES: ApprovalCheckLine[] = [
  { name: 'ticket', result: 'unavailable', onFail: 'deny', summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)' },
  { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now (PagerDuty: no current shift)' },
  { name: 'hr', result: 'fail', onFail: 'deny', summary: 'Account disabled in Workday' },
  { name: 'justification', result: 'pass', onFail: 'review', summary: 'Readable justification citing INC0012345' },
];

function request(overrides: Partial<ApprovalCardData> = {}): ApprovalCardData {
  return {
    requestId: 'req-7f3a',
    version: 4,
    requester: {
      displayName: 'Adele Vance',
      userPrincipalName: 'adelev@contoso.com',
      jobTitle: 'Security engineer',
      department: 'Security Operations',
    },
    role: { displayName: 'Security Operator', scope: 'Directory', kind: 'entraRole' },
    durationText: '4 hours',
    windowText: 'Mon 2 Mar 08:00 – 12:00 UTC',
    justification: 'Investigating incident INC0012345: suspicious sign-ins on finance mailboxes.',
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    riskFlags: ['Off-hours request'],
    decisionReasons: ['Ticket INC0012345 is open and assigned to the requester', 'Requester is on call'],
    expiresText: '23 h 41 min left (expires 3 Mar 08:00 UTC)',
    status: 'pending',
    decision: null,
    message: null,
    checkLines: CHECK_LINES,
    ...overrides,
  };
}

function decided(status: RequestStatus): Partial<ApprovalCardData> {
  return FINAL.includes(status) && (status === 'approved' || status === 'denied')
    ? {
        status,
        decision: {
          byDisplayName: 'Megan Bowen',
          byUserPrincipalName: 'meganb@contoso.com',
          atText: 'Mon 2 Mar 07:58 UTC',
          justification: 'Matches the open incident; on-call rota confirms.',
        },
      }
    : { status };
}

/** Every object in the card with its JSON path, depth first. */
function nodes(value: unknown, path = '$'): Array<{ path: string; node: Record<string, unknown> }> {
  if (Array.isArray(value)) return value.flatMap((child, i) => nodes(child, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  const node = value as Record<string, unknown>;
  return [{ path, node }, ...Object.entries(node).flatMap(([key, child]) => nodes(child, `${path}.${key}`))];
}

const ofType = (card: unknown, type: string) => nodes(card).filter(({ node }) => node.type === type);
const inputs = (card: unknown) => nodes(card).filter(({ node }) => String(node.type).startsWith('Input.'));
const textRuns = (card: unknown) => ofType(card, 'TextRun').map(({ node }) => String(node.text));
const textBlocks = (card: unknown) => ofType(card, 'TextBlock').map(({ node }) => String(node.text));
const allText = (card: unknown) => [...textRuns(card), ...textBlocks(card)].join('\n');

describe('approval card', () => {
  describe.each(VIEWS)('%s view', (view) => {
    test.each(STATUSES)('renders a valid card for a %s request', (status) => {
      const card = renderApprovalCard(request(decided(status)), view);
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(card.type).toBe('AdaptiveCard');
      expect(card.version).toBe('1.5');
      // An undefined template field would leave the binding expression visible to the user.
      expect(JSON.stringify(card)).not.toContain('${');
    });
  });

  describe('approver on a pending request', () => {
    const card = renderApprovalCard(request(), 'approver');

    test('gets exactly Approve and Deny, carrying only the request id and version', () => {
      const executes = ofType(card, 'Action.Execute').filter(({ path }) => !path.startsWith('$.refresh'));
      expect(executes.map(({ node }) => [node.title, node.verb, node.style, node.associatedInputs])).toEqual([
        ['Approve', ApprovalVerb.Approve, 'positive', 'auto'],
        ['Deny', ApprovalVerb.Deny, 'destructive', 'auto'],
      ]);
      for (const { node } of executes) expect(node.data).toStrictEqual({ requestId: 'req-7f3a', version: 4 });
    });

    test('buttons fall back to Action.Submit with the same ids and the verb for older clients', () => {
      const executes = ofType(card, 'Action.Execute').filter(({ path }) => !path.startsWith('$.refresh'));
      for (const { node } of executes) {
        expect(node.fallback).toMatchObject({ type: 'Action.Submit', associatedInputs: 'auto' });
        expect((node.fallback as Record<string, unknown>).data).toStrictEqual({
          requestId: 'req-7f3a',
          version: 4,
          verb: node.verb,
        });
      }
    });

    test('the buttons sit in an ActionSet, not in the card-level actions; the only other button opens the details', () => {
      expect(card.actions).toBeUndefined();
      const sets = ofType(card, 'ActionSet').map(({ node }) => (node.actions as Array<{ type: string }>).map((a) => a.type));
      expect(sets).toEqual([['Action.ToggleVisibility'], ['Action.Execute', 'Action.Execute']]);
    });

    test('decision first: the requester, their justification and ticket, time left and the signals come before the form; details after it', () => {
      const order = nodes(card)
        .filter(({ node }) => node.type === 'TextRun' || node.type === 'TextBlock' || node.type === 'Input.Text' || node.type === 'Action.Execute')
        .map(({ node }) => String(node.text ?? node.title ?? node.type));
      const at = (text: string) => order.findIndex((t) => t === text || (text.endsWith(': ') && t.startsWith(text)));
      const form = at('Input.Text');
      for (const before of [
        'Security Operator',
        'Adele Vance',
        'Their justification',
        'Investigating incident INC0012345: suspicious sign-ins on finance mailboxes.',
        'ServiceNow INC0012345',
        'Time left: ',
        'Flags: ',
      ])
        expect([before, at(before) > -1 && at(before) < form]).toEqual([before, true]);
      expect(at('Approve')).toBe(form + 1);
      for (const after of ['Window: ', 'Checks', 'Decision service']) expect(at(after)).toBeGreaterThan(at('Deny'));
      const details = ofType(card, 'Container').find(({ node }) => node.id === 'requestDetails');
      expect(details?.node.isVisible).toBe(false);
    });

    test('a message for the approver (a refused click) sits just above the form, and the form keeps what they typed', () => {
      const refused = renderApprovalCard(request({ message: 'Write at least 10 characters.', draftJustification: 'too short' }), 'approver');
      const order = nodes(refused)
        .filter(({ node }) => node.type === 'TextRun' || node.type === 'Input.Text')
        .map(({ node }) => String(node.text ?? node.type));
      expect(order.indexOf('Input.Text')).toBe(order.indexOf('Write at least 10 characters.') + 1);
      expect(inputs(refused)[0]!.node.value).toBe('too short');
      expect(inputs(renderApprovalCard(request(), 'approver'))[0]!.node.value).toBe('');
    });

    test('must give a justification of at least 10 characters', () => {
      const [input] = inputs(card);
      expect(inputs(card)).toHaveLength(1);
      expect(input.node).toMatchObject({
        type: 'Input.Text',
        id: DECISION_JUSTIFICATION_INPUT_ID,
        isMultiline: true,
        isRequired: true,
        maxLength: 500,
        placeholder: 'Why do you approve or deny? (at least 10 characters)',
      });
      expect(typeof input.node.label).toBe('string');
      expect(typeof input.node.errorMessage).toBe('string');
      // No client-side regex: the server enforces the configured minimum, and the playground's renderer
      // drops a pasted value that a regex rejects mid-input.
      expect(input.node.regex).toBeUndefined();
    });
  });

  describe.each(STATUSES)('refresh on a %s request', (status) => {
    test.each(VIEWS)('for the %s view', (view) => {
      const card = renderApprovalCard(request(decided(status)), view);
      if (FINAL.includes(status)) {
        expect(card).not.toHaveProperty('refresh');
      } else {
        expect(card.refresh).toStrictEqual({
          action: { type: 'Action.Execute', verb: ApprovalVerb.Refresh, data: { requestId: 'req-7f3a', version: 4 } },
        });
      }
    });
  });

  describe('nobody but an approver on a pending request gets inputs or decision buttons', () => {
    const cases: Array<[ApprovalView, RequestStatus]> = [];
    for (const view of VIEWS) for (const status of STATUSES) if (!(view === 'approver' && status === 'pending')) cases.push([view, status]);

    test.each(cases)('%s view, %s request', (view, status) => {
      const card = renderApprovalCard(request(decided(status)), view);
      expect(inputs(card)).toEqual([]);
      // The details toggle is the only button they get, and the requester's "Remind approvers" while it waits.
      const remind = view === 'requester' && status === 'pending';
      expect(ofType(card, 'ActionSet').flatMap(({ node }) => (node.actions as Array<{ type: string }>).map((a) => a.type))).toEqual(
        remind ? ['Action.ToggleVisibility', 'Action.Execute'] : ['Action.ToggleVisibility'],
      );
      expect(ofType(card, 'Action.Submit')).toEqual([]);
      const executes = ofType(card, 'Action.Execute').map(({ node }) => node.verb);
      expect(executes).toEqual(FINAL.includes(status) ? [] : remind ? [ApprovalVerb.Refresh, ApprovalVerb.Remind] : [ApprovalVerb.Refresh]);
    });

    test('the requester of a waiting request reads where it stands and can remind the approvers, with the request id only', () => {
      const card = renderApprovalCard(request({ approverNames: ['Megan Bowen'] }), 'requester');
      expect(textRuns(card)).toEqual(expect.arrayContaining(['Waiting for an approver', 'Who can approve: ', 'Megan Bowen']));
      const remind = ofType(card, 'Action.Execute').find(({ node }) => node.verb === ApprovalVerb.Remind)!.node;
      expect(remind).toMatchObject({ title: 'Remind approvers', data: { requestId: 'req-7f3a', version: 4 } });
    });
  });

  describe('what each viewer reads', () => {
    test('the requester waits for an approver', () => {
      expect(textRuns(renderApprovalCard(request(), 'requester'))).toContain('Waiting for an approver');
    });

    test('an observer sees the message meant for them', () => {
      const card = renderApprovalCard(request({ message: 'Only approvers of this role can decide.' }), 'observer');
      expect(textRuns(card)).toContain('Only approvers of this role can decide.');
    });

    test('while recording, the approver is told the decision is being written to PIM', () => {
      const card = renderApprovalCard(request({ status: 'recording' }), 'approver');
      expect(textRuns(card)).toContain('Recording your decision in PIM…');
    });

    test('an approved card says who approved, when, and why', () => {
      const card = renderApprovalCard(request(decided('approved')), 'final');
      const runs = textRuns(card);
      expect(runs).toContain('Approved by Megan Bowen (meganb@contoso.com) at Mon 2 Mar 07:58 UTC');
      expect(runs).toContain('Matches the open incident; on-call rota confirms.');
      expect(textBlocks(card)).toContain('✅ Approved');
      expect(allText(card)).not.toContain('Time left');
    });

    test('a closed request renders as final even when a live view is asked for', () => {
      const card = renderApprovalCard(request(decided('denied')), 'approver');
      expect(textRuns(card)).toContain('Denied by Megan Bowen (meganb@contoso.com) at Mon 2 Mar 07:58 UTC');
      expect(inputs(card)).toEqual([]);
    });

    test('the header shows role, kind and status; the rest shows scope, duration, window, ticket and time left', () => {
      const card = renderApprovalCard(request({ role: { displayName: 'SecOps', scope: 'Finance', kind: 'group' } }), 'observer');
      const text = allText(card);
      for (const expected of [
        'SecOps',
        'PIM for Groups activation request',
        '⏳ Pending approval',
        'Finance',
        '4 hours',
        'Mon 2 Mar 08:00 – 12:00 UTC',
        'ServiceNow INC0012345',
        '23 h 41 min left (expires 3 Mar 08:00 UTC)',
        'Adele Vance',
        'adelev@contoso.com',
        'Security engineer · Security Operations',
        'Off-hours request',
        '• Requester is on call',
      ]) {
        expect(text).toContain(expected);
      }
    });

    test.each(STATUSES)('no text on a %s card relies on colour: every run is in the theme text colour', (status) => {
      for (const view of VIEWS) {
        const card = renderApprovalCard(
          request({ ...decided(status), identityRisk: { tone: 'attention', headline: 'Identity risk: High', facts: [], detections: [] } }),
          view,
        );
        const coloured = nodes(card).filter(({ node }) => node.color !== undefined && node.color !== 'default');
        expect(coloured).toEqual([]);
      }
    });

    test('sections without content are left out', () => {
      const card = renderApprovalCard(
        request({ riskFlags: [], decisionReasons: [], ticket: null, requester: { displayName: 'A', userPrincipalName: 'a@b' }, checkLines: [] }),
        'observer',
      );
      expect(validateAdaptiveCard(card)).toEqual([]);
      const text = allText(card);
      expect(text).not.toContain('Flags');
      expect(text).not.toContain('Decision service');
      expect(text).not.toContain('Checks');
      expect(text).not.toContain('Ticket');
      // No job title or department: no separator after the name.
      expect(textRuns(card)).not.toContain(' · ');
    });
  });

  describe('user text is shown literally and never as markdown', () => {
    const hostile = request({
      justification: HOSTILE,
      ticket: { system: '[Jira](https://evil.example)', number: '**INC1** <at>x</at>' },
      requester: { displayName: HOSTILE, userPrincipalName: 'adelev@contoso.com', jobTitle: HOSTILE, department: null },
      message: HOSTILE,
      riskFlags: [HOSTILE],
      decisionReasons: [HOSTILE],
      role: { displayName: HOSTILE, scope: HOSTILE, kind: 'azureResource' },
      // A ticket title or an error answer from a system of record lands in a check's summary.
      checkLines: [{ name: 'ticket', result: 'fail', onFail: 'deny', summary: HOSTILE }],
    });

    test.each(VIEWS)('in the %s view of a pending request', (view) => {
      const card = renderApprovalCard(hostile, view);
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textRuns(card)).toContain(HOSTILE);
      expect(textRuns(card)).toContain(`• ${HOSTILE}`);
      expect(textRuns(card)).toContain('[Jira](https://evil.example) **INC1** <at>x</at>');
      expect(textBlocks(card).filter((text) => text.includes('evil.example') || text.includes('**'))).toEqual([]);
      // Nothing but TextRun.text may carry it: not facts, not fallbackText, not action data.
      const carriers = nodes(card)
        .flatMap(({ path, node }) =>
          Object.entries(node)
            .filter(([, v]) => typeof v === 'string' && v.includes('evil.example'))
            .map(([key]) => [String(node.type), key, path]),
        )
        .filter(([type, key]) => !(type === 'TextRun' && key === 'text'));
      expect(carriers).toEqual([]);
    });

    test("in the approver's justification on a final card", () => {
      const card = renderApprovalCard(
        request({
          status: 'denied',
          decision: { byDisplayName: HOSTILE, byUserPrincipalName: 'meganb@contoso.com', atText: 'now', justification: HOSTILE },
        }),
        'final',
      );
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textRuns(card)).toContain(HOSTILE);
      expect(textRuns(card)).toContain(`Denied by ${HOSTILE} (meganb@contoso.com) at now`);
      expect(textBlocks(card).join('\n')).not.toContain('evil.example');
    });
  });

  describe('size', () => {
    const long = (seed: string) => seed.repeat(Math.ceil(500 / seed.length)).slice(0, 500);
    const huge = request({
      justification: long('"quoted" \\ text 🙂 '),
      ticket: { system: long('S'), number: long('N') },
      requester: {
        displayName: long('Name '),
        userPrincipalName: `${long('u')}@contoso.com`,
        jobTitle: long('Title '),
        department: long('Dept '),
      },
      role: { displayName: long('Role '), scope: long('Scope '), kind: 'azureResource' },
      riskFlags: Array.from({ length: 30 }, (_, i) => `${i} ${long('flag ')}`),
      decisionReasons: Array.from({ length: 30 }, (_, i) => `${i} ${long('reason ')}`),
      message: long('msg '),
      durationText: long('d'),
      windowText: long('w'),
      expiresText: long('e'),
    });

    test.each(VIEWS)('the %s view stays well under the Teams limit with 500-character inputs', (view) => {
      const card = renderApprovalCard(huge, view);
      const bytes = Buffer.byteLength(JSON.stringify(card), 'utf8');
      expect(bytes).toBeLessThan(TEAMS_CARD_MAX_BYTES / 2);
      expect(validateAdaptiveCard(card)).toEqual([]);
    });

    test('long lists are cut with a count of what was left out', () => {
      const runs = textRuns(renderApprovalCard(huge, 'approver'));
      expect(runs).toContain('• … and 23 more');
      const flags = runs[runs.indexOf('Flags: ') + 1]!.split(' · ');
      expect(flags).toHaveLength(8);
      expect(flags[7]).toBe('… and 23 more');
    });

    test('long text is cut with an ellipsis and never splits an emoji', () => {
      const card = renderApprovalCard(request({ justification: '🙂'.repeat(700) }), 'observer');
      const run = textRuns(card).find((text) => text.startsWith('🙂'));
      expect(run).toBeDefined();
      expect(run!.endsWith('🙂…')).toBe(true);
      expect(Array.from(run!).length).toBeLessThanOrEqual(600);
      expect(run).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    });
  });
});

describe('check lines', () => {
  /** The rendered text of each line of the Checks block, in order. */
  const checkLinesOf = (card: unknown): string[] => {
    const block = ofType(card, 'Container').find(({ node }) => textBlocks((node.items as unknown[])[0]).includes('Checks'));
    if (!block) return [];
    return ofType(block.node, 'RichTextBlock').map(({ node }) => (node.inlines as Array<{ text: string }>).map((run) => run.text).join(''));
  };

  test.each(VIEWS)('the %s view shows one line per check, each starting with its result in words', (view) => {
    const card = renderApprovalCard(request(), view);
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(checkLinesOf(card)).toEqual([
      '? Could not be completed · Ticket: INC0012345 open; assignment could not be read (ServiceNow HTTP 403)',
      '⚠ Flagged · On call: Not on call now (PagerDuty: no current shift)',
      '✗ Failed · HR status: Account disabled in Workday',
      '✓ Passed · Justification: Readable justification citing INC0012345',
    ]);
  });

  test('the word and its symbol carry the result, in the text colour, so the line reads in any theme', () => {
    const card = renderApprovalCard(request(), 'approver');
    const words = ofType(card, 'TextRun')
      .map(({ node }) => node)
      .filter((run) => ['✓ Passed', '✗ Failed', '⚠ Flagged', '? Could not be completed'].includes(String(run.text)));
    expect(words.map((run) => [run.text, run.weight, run.color])).toEqual([
      ['? Could not be completed', 'Bolder', undefined],
      ['⚠ Flagged', 'Bolder', undefined],
      ['✗ Failed', 'Bolder', undefined],
      ['✓ Passed', 'Bolder', undefined],
    ]);
  });

  test('every kind of check has a plain name', () => {
    const names = ['justification', 'ticket', 'onCall', 'hr', 'identityRisk', 'maintenanceWindow', 'businessHours'];
    const card = renderApprovalCard(request({ checkLines: names.map((name) => ({ name, result: 'pass', onFail: 'review', summary: 'ok' })) }), 'observer');
    expect(checkLinesOf(card)).toEqual(
      ['Justification', 'Ticket', 'On call', 'HR status', 'Identity risk', 'Maintenance window', 'Business hours'].map((name) => `✓ Passed · ${name}: ok`),
    );
  });

  test('the block sits in the details, just before the decision service reasons', () => {
    const headings = textBlocks(renderApprovalCard(request(), 'approver'));
    expect(headings.indexOf('Checks')).toBeGreaterThan(-1);
    expect(headings.indexOf('Decision service')).toBe(headings.indexOf('Checks') + 1);
  });

  test('a summary is plain text in a TextRun, cut to one short line', () => {
    const card = renderApprovalCard(
      request({ checkLines: [{ name: 'ticket', result: 'fail', onFail: 'deny', summary: `${HOSTILE} ${'x'.repeat(400)}` }] }),
      'approver',
    );
    expect(validateAdaptiveCard(card)).toEqual([]);
    const [line] = checkLinesOf(card);
    expect(line!.startsWith(`✗ Failed · Ticket: ${HOSTILE}`)).toBe(true);
    const summary = textRuns(card).find((run) => run.startsWith('see '))!;
    expect(Array.from(summary).length).toBe(200);
    expect(summary.endsWith('…')).toBe(true);
    expect(textBlocks(card).join('\n')).not.toContain('evil.example');
  });

  test('without lines (a request stored before checks had them, or an escalation) there is no block', () => {
    for (const checkLines of [[], null, undefined]) {
      const card = renderApprovalCard(request({ checkLines }), 'approver');
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textBlocks(card)).not.toContain('Checks');
      expect(checkLinesOf(card)).toEqual([]);
    }
  });

  test('eight long lines fit, and a ninth is not shown', () => {
    const long = 'ServiceNow HTTP 403 "ACL" '.repeat(10);
    const lines = Array.from({ length: 9 }, (_, i): ApprovalCheckLine => ({ name: 'ticket', result: 'unavailable', onFail: 'deny', summary: `${i} ${long}` }));
    const card = renderApprovalCard(request({ checkLines: lines }), 'approver');
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(checkLinesOf(card)).toHaveLength(8);
    expect(checkLinesOf(card).some((line) => line.includes(': 8 '))).toBe(false);
    expect(
      textRuns(card)
        .filter((run) => run.startsWith('7 ServiceNow'))
        .map((run) => Array.from(run).length),
    ).toEqual([200]);
  });

  test('a line is capped in bytes too, so eight lines of emoji take a bounded share of the card', () => {
    const lines = Array.from(
      { length: 8 },
      (): ApprovalCheckLine => ({ name: 'maintenanceWindow', result: 'unavailable', onFail: 'deny', summary: '🙂'.repeat(300) }),
    );
    const card = renderApprovalCard(request({ checkLines: lines }), 'approver');
    expect(validateAdaptiveCard(card)).toEqual([]);
    const summaries = textRuns(card).filter((run) => run.startsWith('🙂'));
    expect(summaries).toHaveLength(8);
    for (const summary of summaries) {
      expect(Buffer.byteLength(summary, 'utf8')).toBeLessThanOrEqual(400);
      expect(summary.endsWith('🙂…')).toBe(true);
    }
    const block = ofType(card, 'Container').find(({ node }) => textBlocks((node.items as unknown[])[0]).includes('Checks'))!;
    expect(Buffer.byteLength(JSON.stringify(block.node), 'utf8')).toBeLessThan(TEAMS_CARD_MAX_BYTES / 5);
  });
});

describe('validateAdaptiveCard', () => {
  const valid = (): AdaptiveCardJson => renderApprovalCard(request(), 'approver');
  const executeAt = (card: AdaptiveCardJson) => ofType(card, 'Action.Execute').find(({ path }) => !path.startsWith('$.refresh'))!.node;

  test('accepts the rendered card', () => {
    expect(validateAdaptiveCard(valid())).toEqual([]);
  });

  test('reports an Action.Execute whose verb is not a string', () => {
    const card = valid();
    executeAt(card).verb = 42;
    expect(validateAdaptiveCard(card)).toEqual([expect.stringMatching(/verb must be string/)]);
  });

  test('reports an unknown element type from both the schema and the parser', () => {
    const card = valid();
    card.body.push({ type: 'Marquee', text: 'x' });
    const problems = validateAdaptiveCard(card);
    expect(problems).toContainEqual(expect.stringMatching(/unknown type "Marquee"/));
    expect(problems).toContainEqual(expect.stringMatching(/UnknownElementType/));
  });

  test('reports a bad colour and an unknown property', () => {
    const card = valid();
    card.body.push({ type: 'TextBlock', text: 'x', color: 'purple', colour: 'good' });
    const problems = validateAdaptiveCard(card);
    expect(problems).toContainEqual(expect.stringMatching(/must NOT have additional properties \(colour\)/));
    expect(problems).toContainEqual(expect.stringMatching(/Invalid value "purple" for property "color"/));
  });

  test('reports duplicate input ids', () => {
    const card = valid();
    card.body.push({ type: 'Input.Text', id: DECISION_JUSTIFICATION_INPUT_ID });
    expect(validateAdaptiveCard(card)).toContainEqual(expect.stringMatching(/DuplicateId/));
  });

  test('reports an element in the wrong place', () => {
    const card = valid();
    card.body.push({ type: 'Action.Submit', title: 'Sneaky' });
    expect(validateAdaptiveCard(card)).toContainEqual(expect.stringMatching(/"Action.Submit" is not allowed here/));
  });

  test('reports a card too big for Teams', () => {
    const card = valid();
    card.body.push({ type: 'TextBlock', text: 'x'.repeat(TEAMS_CARD_MAX_BYTES) });
    expect(validateAdaptiveCard(card)).toEqual([expect.stringMatching(/^size: /)]);
  });

  test('reports something that is not a card at all', () => {
    expect(validateAdaptiveCard(null).length).toBeGreaterThan(0);
    expect(validateAdaptiveCard({ type: 'AdaptiveCard', version: '1.5', refresh: null, body: [] })).toEqual(['schema: /refresh must be object']);
  });
});

describe('closed without a decision from Teams', () => {
  test('an expired card says PIM dropped it and that the requester can ask again, with no button everyone would see', () => {
    for (const view of VIEWS) {
      const card = renderApprovalCard(request({ status: 'expired' }), view);
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textRuns(card)).toContain('PIM dropped this request after 24 hours without a decision. The requester can ask again in PIM.');
      // The requester's own way back is the link in the notice they get in chat (renderReRequestNotice).
      expect(card).not.toHaveProperty('actions');
      expect(ofType(card, 'Action.OpenUrl')).toEqual([]);
      expect(ofType(card, 'Action.Execute')).toEqual([]);
      expect(ofType(card, 'Action.Submit')).toEqual([]);
      expect(card).not.toHaveProperty('refresh');
    }
    expect(PIM_MY_ROLES_URL).toMatch(/^https:\/\/entra\.microsoft\.com\/#view\/Microsoft_Azure_PIMCommon\/ActivationMenuBlade\//);
  });

  test.each(STATUSES.filter((s) => s !== 'expired'))('a %s card has no open-url action', (status) => {
    const card = renderApprovalCard(request(decided(status)), 'final');
    expect(card).not.toHaveProperty('actions');
    expect(ofType(card, 'Action.OpenUrl')).toEqual([]);
  });

  test('a decision PIM recorded outside Teams says so, since the bot cannot see the reviewer', () => {
    expect(textRuns(renderApprovalCard(request({ status: 'approved', decision: null }), 'final'))).toContain('Approved in PIM, outside Teams.');
    expect(textRuns(renderApprovalCard(request({ status: 'denied', decision: null }), 'final'))).toContain('Denied in PIM, outside Teams.');
  });
});

describe('one clock: times in the viewer’s own zone', () => {
  const times = {
    expiresAt: '2026-03-03T08:00:00.000Z',
    windowStart: '2026-03-02T08:00:00.000Z',
    windowEnd: '2026-03-02T12:00:00.000Z',
    leftText: '23 h 41 min left',
  };
  const DEADLINE = '{{DATE(2026-03-03T08:00:00Z, SHORT)}} {{TIME(2026-03-03T08:00:00Z)}}';

  test('with the instants known, every time is a DATE()/TIME() Teams formats for the viewer, in a TextBlock, and none is in UTC', () => {
    const pending = renderApprovalCard(request({ times }), 'approver');
    expect(textBlocks(pending)).toContain(`Time left: 23 h 41 min left (PIM drops it ${DEADLINE})`);
    expect(textBlocks(pending)).toContain(
      'Window: {{DATE(2026-03-02T08:00:00Z, SHORT)}} {{TIME(2026-03-02T08:00:00Z)}} – {{DATE(2026-03-02T12:00:00Z, SHORT)}} {{TIME(2026-03-02T12:00:00Z)}}',
    );
    const approved = renderApprovalCard(
      request({
        times,
        status: 'approved',
        decision: {
          byDisplayName: 'Megan Bowen',
          byUserPrincipalName: 'meganb@contoso.com',
          atText: 'Mon 2 Mar 07:58 UTC',
          at: '2026-03-02T07:58:31.120Z',
          justification: 'ok',
        },
      }),
      'final',
    );
    expect(textRuns(approved)).toContain('Approved by Megan Bowen (meganb@contoso.com)');
    expect(textBlocks(approved)).toContain('on {{DATE(2026-03-02T07:58:31Z, SHORT)}} {{TIME(2026-03-02T07:58:31Z)}}');
    for (const card of [pending, approved]) {
      expect(allText(card)).not.toContain('UTC');
      // DATE()/TIME() only work in TextBlock text: never in a TextRun, where Teams would show them raw.
      expect(textRuns(card).filter((t) => t.includes('{{'))).toEqual([]);
      expect(validateAdaptiveCard(card)).toEqual([]);
    }
  });

  test('an instant that is not one falls back to the UTC text rather than a raw function', () => {
    const card = renderApprovalCard(request({ times: { ...times, expiresAt: 'not a date' } }), 'approver');
    expect(textBlocks(card)).toContain('Time left: 23 h 41 min left (expires 3 Mar 08:00 UTC)');
  });
});

describe('who can approve', () => {
  test('every view of a waiting request names who can approve; a closed one does not', () => {
    for (const view of VIEWS) {
      const card = renderApprovalCard(request({ approverNames: ['Megan Bowen', 'members of Helpdesk approvers'] }), view);
      expect(textRuns(card)).toEqual(expect.arrayContaining(['Who can approve: ', 'Megan Bowen, members of Helpdesk approvers']));
    }
    const closed = renderApprovalCard(request({ ...decided('approved'), approverNames: ['Megan Bowen'] }), 'final');
    expect(textRuns(closed)).not.toContain('Who can approve: ');
  });
});
