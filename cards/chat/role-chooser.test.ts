import { validateAdaptiveCard } from '../validate-card';
import { ChatVerb, FORM_INPUT, renderRoleChooser } from './index';
import { HOSTILE, allText, carriersOf, executes, inputs, nodes, textBlocks, textRuns } from '../../test/support/card-json';

const CHOICES = [
  { key: 'entraRole|5d6b6bb7-de71-4623-b4af-96380a352509|/', title: 'Security Reader' },
  { key: 'group|member|3f2a7c9e-0000-4000-8000-000000000001', title: 'SQL Admins (member)' },
  {
    key: 'azureResource|/subscriptions/0000/providers/microsoft.authorization/roledefinitions/b24988ac|/subscriptions/0000',
    title: 'Contributor on Contoso Production',
  },
];

describe('role chooser', () => {
  test('a user with eligible roles picks one from a compact, required dropdown', () => {
    const card = renderRoleChooser({ draftId: 'draft-1', choices: CHOICES });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    const [input, ...others] = inputs(card);
    expect(others).toEqual([]);
    expect(input.node).toMatchObject({
      type: 'Input.ChoiceSet',
      id: FORM_INPUT.target,
      style: 'compact',
      isRequired: true,
      choices: CHOICES.map(({ key, title }) => ({ title, value: key })),
    });
    expect(typeof input.node.errorMessage).toBe('string');
    expect(typeof input.node.label).toBe('string');
    expect(JSON.stringify(card)).not.toContain('${');
  });

  test('Next sends chat.choose with the inputs and Never mind sends chat.discard without, both with the draft id only', () => {
    const card = renderRoleChooser({ draftId: 'draft-1', choices: CHOICES });
    expect(executes(card).map((a) => [a.title, a.verb, a.associatedInputs])).toEqual([
      ['Next', ChatVerb.Choose, 'auto'],
      ['Never mind', ChatVerb.Discard, 'none'],
    ]);
    for (const action of executes(card)) expect(action.data).toStrictEqual({ draftId: 'draft-1' });
  });

  test('a user eligible for nothing is told so and whom to ask, with nothing to press', () => {
    const card = renderRoleChooser({ draftId: 'draft-1', choices: [] });
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(inputs(card)).toEqual([]);
    expect(executes(card)).toEqual([]);
    expect(card).not.toHaveProperty('actions');
    expect(allText(card)).toContain('You are not eligible for any role in PIM');
    expect(allText(card)).toMatch(/Ask your Entra administrator/);
  });

  test('the message above the list is plain text, and the eligible-for-nothing card keeps it', () => {
    for (const choices of [CHOICES, []]) {
      const card = renderRoleChooser({ draftId: 'draft-1', choices, message: HOSTILE });
      expect(validateAdaptiveCard(card)).toEqual([]);
      expect(textRuns(card)).toContain(HOSTILE);
      expect(textBlocks(card).join('\n')).not.toContain('evil.example');
      expect(carriersOf(card, 'evil.example')).toEqual([]);
    }
  });

  test('role titles reach only the dropdown, whose compact options renderers show as plain text', () => {
    const card = renderRoleChooser({ draftId: 'draft-1', choices: [{ key: 'k1', title: HOSTILE }] });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const where = nodes(card)
      .filter(({ node }) => Object.values(node).some((v) => typeof v === 'string' && v.includes('evil.example')))
      .map(({ path }) => path);
    expect(where).toEqual(['$.body[0].choices[0]']);
    expect(executes(card).map((a) => a.data)).toEqual([{ draftId: 'draft-1' }, { draftId: 'draft-1' }]);
  });

  test('a user eligible for hundreds of Azure scopes still gets a card Teams accepts, and is told the rest exist', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({
      key: `azureResource|/subscriptions/${'0'.repeat(36)}/providers/microsoft.authorization/roledefinitions/${i}|/subscriptions/${'0'.repeat(36)}/resourcegroups/rg-${i}`,
      title: `Contributor on resource group rg-${i} in the Contoso Production subscription`,
    }));
    const card = renderRoleChooser({ draftId: 'draft-1', choices: many });
    expect(validateAdaptiveCard(card)).toEqual([]);
    const shown = (inputs(card)[0].node.choices as unknown[]).length;
    expect(shown).toBeGreaterThan(20);
    expect(shown).toBeLessThan(300);
    expect(allText(card)).toContain(`${300 - shown} more not listed`);
  });
});
