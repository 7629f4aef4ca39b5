import { validateAdaptiveCard } from '../validate-card';
import { ChatVerb, FORM_INPUT, STANDARD_DURATIONS_MINUTES, durationChoices, renderActivationForm, type ActivationFormData } from './index';
import { HOSTILE, allText, carriersOf, executes, inputById, inputs, textBlocks, textRuns } from '../../test/support/card-json';

function form(overrides: Partial<ActivationFormData> = {}, policy: Partial<ActivationFormData['policy']> = {}): ActivationFormData {
  return {
    draftId: 'draft-9',
    target: { key: 'entraRole|5f2222b1-57c3-48ba-8ad5-d4759f1fde6f|/', title: 'Security Operator', kind: 'entraRole' },
    policy: {
      maximumMinutes: 240,
      justificationRequired: true,
      ticketRequired: true,
      mfaRequired: true,
      authenticationContext: null,
      approvalRequired: true,
      approverIds: ['a1', 'a2'],
      approverNames: ['Megan Bowen', 'Patti Fernandez'],
      ...policy,
    },
    values: { durationMinutes: 120, ticketSystem: 'ServiceNow', ticketNumber: 'INC0012345', justification: 'Investigating INC0012345.' },
    problems: [],
    mode: 'confirm',
    ...overrides,
  };
}

type Choice = { title: string; value: string };
const choicesOf = (card: unknown, id: string): Choice[] => (inputById(card, id)?.choices ?? []) as Choice[];

const POLICY_CASES: Array<[string, Partial<ActivationFormData['policy']>]> = [
  ['ticket and justification required', { ticketRequired: true, justificationRequired: true }],
  ['only a ticket required', { ticketRequired: true, justificationRequired: false }],
  ['only a justification required', { ticketRequired: false, justificationRequired: true }],
  ['nothing required, no approval', { ticketRequired: false, justificationRequired: false, approvalRequired: false, approverNames: [] }],
];

describe('activation form', () => {
  describe.each(['form', 'confirm'] as const)('in %s mode', (mode) => {
    test.each(POLICY_CASES)('is a valid 1.5 card with %s', (_name, policy) => {
      const card = renderActivationForm(form({ mode, problems: mode === 'form' ? ['Enter a ticket number.'] : [] }, policy));
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(card.version).toBe('1.5');
      expect(JSON.stringify(card)).not.toContain('${');
      for (const { node } of inputs(card)) expect(node).not.toHaveProperty('regex');
    });

    test('Submit request sends every input and Cancel none, each with the draft id only', () => {
      const card = renderActivationForm(form({ mode }));
      expect(executes(card).map((a) => [a.title, a.verb, a.style, a.associatedInputs])).toEqual([
        ['Submit request', ChatVerb.Submit, 'positive', 'auto'],
        ['Cancel', ChatVerb.Discard, undefined, 'none'],
      ]);
      for (const action of executes(card)) expect(action.data).toStrictEqual({ draftId: 'draft-9' });
    });
  });

  test('the confirm card says so above the role; the form card leads with the role', () => {
    const confirm = renderActivationForm(form({ mode: 'confirm' }));
    expect(textBlocks(confirm)).toContain('Confirm your request');
    expect(textRuns(confirm)).toContain('Security Operator');
    const fill = renderActivationForm(form({ mode: 'form' }));
    expect(allText(fill)).not.toContain('Confirm your request');
    expect(textRuns(fill)[0]).toBe('Security Operator');
  });

  test('problems come first, bold in an attention container, each as its own line', () => {
    const problems = ['PIM needs a ticket for Security Operator: enter the incident or change number.', 'Pick a duration of at most 4 h.'];
    const card = renderActivationForm(form({ mode: 'form', problems }));
    const first = card.body[0] as { style: string; items: Array<{ inlines: Array<{ text: string; color?: string }> }> };
    expect(first.style).toBe('attention');
    expect(first.items.map((item) => item.inlines[0])).toEqual(problems.map((text) => expect.objectContaining({ text, weight: 'Bolder' })));
    // In the text colour: Teams' attention colour fails contrast on the attention container (2.8:1 dark, 3.6:1 light).
    for (const item of first.items) expect(item.inlines[0]).not.toHaveProperty('color');
    expect(JSON.stringify(renderActivationForm(form({ problems: [] })))).not.toContain('"attention"');
  });

  describe('facts line', () => {
    test('gives the maximum, the approvers and MFA', () => {
      expect(textRuns(renderActivationForm(form()))).toContain('Entra role · up to 4 hours · needs approval by Megan Bowen, Patti Fernandez · needs MFA');
    });

    test('says when no approval is needed and that a stronger sign-in is needed, without the authentication context id', () => {
      const card = renderActivationForm(
        form({}, { approvalRequired: false, approverNames: [], mfaRequired: false, authenticationContext: 'c1', maximumMinutes: 90 }),
      );
      expect(textRuns(card)).toContain('Entra role · up to 1 hour 30 minutes · activates without approval · needs a stronger sign-in');
      expect(JSON.stringify(card)).not.toContain('authentication context c1');
    });

    test('shortens a long approver list', () => {
      const names = ['A One', 'B Two', 'C Three', 'D Four', 'E Five', 'F Six', 'G Seven'];
      const card = renderActivationForm(form({}, { approverNames: names }));
      expect(allText(card)).toContain('needs approval by A One, B Two, C Three, D Four, E Five and 2 more');
    });
  });

  describe('duration', () => {
    test.each([15, 30, 45, 60, 90, 240, 300, 480, 1440, 2880])('choices never exceed a maximum of %i minutes and include it', (max) => {
      const card = renderActivationForm(form({}, { maximumMinutes: max }));
      expect(validateAdaptiveCard(card)).toEqual([]);
      const values = choicesOf(card, FORM_INPUT.durationMinutes).map((c) => Number(c.value));
      expect(Math.max(...values)).toBe(max);
      expect(values.filter((v) => v === max)).toHaveLength(1);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values).toEqual([...STANDARD_DURATIONS_MINUTES.filter((m) => m < max), max]);
    });

    test('the maximum is marked, and values are minute counts as strings', () => {
      expect(durationChoices(240)).toEqual([
        { title: '30 min', value: '30' },
        { title: '1 h', value: '60' },
        { title: '2 h', value: '120' },
        { title: '4 h (maximum)', value: '240' },
      ]);
      expect(durationChoices(90).at(-1)).toEqual({ title: '1 h 30 min (maximum)', value: '90' });
    });

    test('the input is a compact, required dropdown', () => {
      expect(inputById(renderActivationForm(form()), FORM_INPUT.durationMinutes)).toMatchObject({
        type: 'Input.ChoiceSet',
        style: 'compact',
        isRequired: true,
      });
    });

    test('preselects an allowed duration, keeping a non-standard one the user typed', () => {
      expect(inputById(renderActivationForm(form()), FORM_INPUT.durationMinutes)?.value).toBe('120');
      const typed = renderActivationForm(form({ values: { ...form().values, durationMinutes: 90 } }));
      expect(inputById(typed, FORM_INPUT.durationMinutes)?.value).toBe('90');
      expect(choicesOf(typed, FORM_INPUT.durationMinutes)).toContainEqual({ title: '1 h 30 min', value: '90' });
      const atMax = renderActivationForm(form({ values: { ...form().values, durationMinutes: 240 } }));
      expect(inputById(atMax, FORM_INPUT.durationMinutes)?.value).toBe('240');
    });

    test.each([[480], [0], [-30], [null]])('preselects nothing for %p minutes with a 4-hour maximum', (minutes) => {
      const card = renderActivationForm(form({ values: { ...form().values, durationMinutes: minutes } }));
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(inputById(card, FORM_INPUT.durationMinutes)?.value).toBe('');
      expect(choicesOf(card, FORM_INPUT.durationMinutes).every((c) => Number(c.value) > 0 && Number(c.value) <= 240)).toBe(true);
    });

    test('a policy without a usable maximum is refused loudly', () => {
      expect(() => durationChoices(0)).toThrow(/positive number of minutes/);
      expect(() => durationChoices(Number.NaN)).toThrow(/positive number of minutes/);
    });
  });

  describe('ticket', () => {
    test('appears only when the policy requires one', () => {
      const required = renderActivationForm(form({}, { ticketRequired: true }));
      expect(inputById(required, FORM_INPUT.ticketSystem)).toBeDefined();
      expect(inputById(required, FORM_INPUT.ticketNumber)).toBeDefined();
      const notRequired = renderActivationForm(form({}, { ticketRequired: false }));
      expect(inputById(notRequired, FORM_INPUT.ticketSystem)).toBeUndefined();
      expect(inputById(notRequired, FORM_INPUT.ticketNumber)).toBeUndefined();
      expect(inputs(notRequired).map(({ node }) => node.id)).toEqual([FORM_INPUT.durationMinutes, FORM_INPUT.justification]);
    });

    test('offers ServiceNow, Jira and Other, and a required number prefilled from what the user typed', () => {
      const card = renderActivationForm(form());
      expect(choicesOf(card, FORM_INPUT.ticketSystem).map((c) => c.value)).toEqual(['ServiceNow', 'Jira', 'Other']);
      expect(inputById(card, FORM_INPUT.ticketSystem)?.value).toBe('ServiceNow');
      expect(inputById(card, FORM_INPUT.ticketNumber)).toMatchObject({
        type: 'Input.Text',
        isRequired: true,
        placeholder: 'INC0012345',
        value: 'INC0012345',
      });
    });

    test.each([
      ['jira', 'Jira'],
      ['Remedy', 'Other'],
      [null, ''],
    ])('a ticket system typed as %p is preselected as %p', (system, value) => {
      const card = renderActivationForm(form({ values: { ...form().values, ticketSystem: system } }));
      expect(inputById(card, FORM_INPUT.ticketSystem)?.value).toBe(value);
    });
  });

  describe('justification', () => {
    test('is a multiline input of at most 500 characters, required only when the policy says so', () => {
      const required = inputById(renderActivationForm(form({}, { justificationRequired: true })), FORM_INPUT.justification);
      expect(required).toMatchObject({ type: 'Input.Text', isMultiline: true, isRequired: true, maxLength: 500 });
      expect(required?.value).toBe('Investigating INC0012345.');
      const optional = inputById(renderActivationForm(form({}, { justificationRequired: false })), FORM_INPUT.justification);
      expect(optional).toMatchObject({ isMultiline: true, isRequired: false, maxLength: 500 });
    });

    test('a prefilled value longer than PIM allows is cut to 500 characters without an ellipsis', () => {
      const card = renderActivationForm(form({ values: { ...form().values, justification: 'x'.repeat(700) } }));
      expect(inputById(card, FORM_INPUT.justification)?.value).toBe('x'.repeat(500));
    });

    test('an empty form has empty inputs, not missing or null values', () => {
      const card = renderActivationForm(form({ mode: 'form', values: { durationMinutes: null, ticketSystem: null, ticketNumber: null, justification: null } }));
      expect(validateAdaptiveCard(card)).toEqual([]);
      for (const { node } of inputs(card)) expect(node.value).toBe('');
    });
  });

  test('markdown and mentions in user and directory text stay literal', () => {
    const card = renderActivationForm(
      form(
        {
          mode: 'form',
          target: { key: 'k', title: HOSTILE, kind: 'group' },
          values: { durationMinutes: 60, ticketSystem: HOSTILE, ticketNumber: HOSTILE, justification: HOSTILE },
          problems: [HOSTILE],
        },
        { approverNames: [HOSTILE], authenticationContext: HOSTILE },
      ),
    );
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(textRuns(card)).toContain(HOSTILE);
    expect(textBlocks(card).join('\n')).not.toContain('evil.example');
    expect(carriersOf(card, 'evil.example')).toEqual([]);
    expect(carriersOf(card, '**bold**')).toEqual([]);
    expect(inputById(card, FORM_INPUT.justification)?.value).toBe(HOSTILE);
    expect(executes(card).map((a) => a.data)).toEqual([{ draftId: 'draft-9' }, { draftId: 'draft-9' }]);
  });
});
