import { validateAdaptiveCard } from '../validate-card';
import { HELP_COMMANDS, renderHelpCard } from './index';
import { allText, executes, nodes, ofType } from '../../test/support/card-json';

describe('help card', () => {
  test('help is a valid card, not a paragraph: one block per command, each with an example to copy in a fixed-width font', () => {
    const card = renderHelpCard();
    expect(validateAdaptiveCard(card)).toEqual([]);
    expect(card.version).toBe('1.5');
    expect(JSON.stringify(card)).not.toContain('${');
    const examples = ofType(card, 'TextBlock')
      .filter(({ node }) => node.fontType === 'Monospace')
      .map(({ node }) => node.text);
    expect(examples).toEqual(HELP_COMMANDS.map((c) => c.example));
    for (const word of ['activate', 'roles', 'status', 'cancel', 'extend', 'renew']) expect(examples.some((e) => String(e).startsWith(word))).toBe(true);
    // No angle-bracket placeholders a user would type literally.
    expect(examples.join(' ')).not.toMatch(/[<>[\]]/);
  });

  test('its buttons type a command for the user and send no card verb', () => {
    const card = renderHelpCard();
    expect(executes(card)).toEqual([]);
    const submits = ofType(card, 'Action.Submit').map(({ node }) => node.data);
    expect(submits).toEqual([
      { msteams: { type: 'imBack', value: 'roles' } },
      { msteams: { type: 'imBack', value: 'status' } },
      { msteams: { type: 'imBack', value: 'activate' } },
    ]);
  });

  test('every text block is short enough to read at a glance', () => {
    const card = renderHelpCard();
    for (const { node } of nodes(card).filter(({ node }) => node.type === 'TextBlock')) expect(String(node.text).length).toBeLessThan(160);
    expect(allText(card)).toContain('What I can do');
  });
});
