/** An Action.Execute as a card carries it. */
export interface ExecuteAction {
  type: 'Action.Execute';
  title: string;
  verb: string;
  data: Record<string, any>;
}

/** Every Action.Execute in a card, wherever it sits (card actions, ActionSets in containers); fallbacks skipped. */
export function executeActions(node: unknown, found: ExecuteAction[] = []): ExecuteAction[] {
  if (Array.isArray(node)) {
    for (const item of node) executeActions(item, found);
  } else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.type === 'Action.Execute' && typeof o.verb === 'string') found.push(o as unknown as ExecuteAction);
    for (const [key, value] of Object.entries(o)) if (key !== 'fallback') executeActions(value, found);
  }
  return found;
}

/** The card's Action.Execute with this verb; throws naming the verb when there is none. */
export function executeAction(card: unknown, verb: string): ExecuteAction {
  const found = executeActions(card).find((a) => a.verb === verb);
  if (!found) throw new Error(`No ${verb} button on the card: ${JSON.stringify(card).slice(0, 300)}`);
  return found;
}
