/** Helpers for the chat card tests: walk a card's JSON and pick out what a reader or Teams would see. */

export interface Located {
  path: string;
  node: Record<string, unknown>;
}

/** Every object in the card with its JSON path, depth first. */
export function nodes(value: unknown, path = '$'): Located[] {
  if (Array.isArray(value)) return value.flatMap((child, i) => nodes(child, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  const node = value as Record<string, unknown>;
  return [{ path, node }, ...Object.entries(node).flatMap(([key, child]) => nodes(child, `${path}.${key}`))];
}

export const ofType = (card: unknown, type: string): Located[] => nodes(card).filter(({ node }) => node.type === type);
export const inputs = (card: unknown): Located[] => nodes(card).filter(({ node }) => String(node.type).startsWith('Input.'));
export const inputById = (card: unknown, id: string): Record<string, unknown> | undefined => inputs(card).find(({ node }) => node.id === id)?.node;
export const textRuns = (card: unknown): string[] => ofType(card, 'TextRun').map(({ node }) => String(node.text));
export const textBlocks = (card: unknown): string[] => ofType(card, 'TextBlock').map(({ node }) => String(node.text));
export const allText = (card: unknown): string => [...textRuns(card), ...textBlocks(card)].join('\n');
export const executes = (card: unknown): Record<string, unknown>[] => ofType(card, 'Action.Execute').map(({ node }) => node);

/** Hostile user text: a markdown link, emphasis, a mention and a template binding. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: user text that looks like a template binding, which must be shown literally
export const HOSTILE = '[click](https://evil.example) **bold** <at>x</at> ${draftId} _it_';

/**
 * Where a marker string occurs outside TextRun.text and input values, as [type, key, path]: those are the
 * only places user text may land, since neither is read as markdown.
 */
export function carriersOf(card: unknown, marker: string): string[][] {
  return nodes(card)
    .flatMap(({ path, node }) =>
      Object.entries(node)
        .filter(([, v]) => typeof v === 'string' && v.includes(marker))
        .map(([key]) => [String(node.type), key, path]),
    )
    .filter(([type, key]) => !(type === 'TextRun' && key === 'text') && !(type.startsWith('Input.') && key === 'value'));
}
