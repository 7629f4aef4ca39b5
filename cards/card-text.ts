import { clean, clip } from '../services/text/plain-text';

/** Adaptive Card text colours and container styles the cards use. */
export type Colour = 'default' | 'accent' | 'good' | 'warning' | 'attention';
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'warning' | 'attention' | 'accent';

/**
 * Text hygiene for every card (approval and chat): user and directory text is cut to a cap and
 * only ever placed in TextRun.text (never TextBlock.text, FactSet, fallbackText or action data), which
 * renderers do not treat as markdown, links or mentions. `clip` itself is services/text/plain-text.ts.
 */
export { clip };

/**
 * `clip`, then cut further until the UTF-8 form fits `maxBytes`: for lines that may repeat on a card, where
 * a cap in characters alone lets 4-byte characters (emoji) take four times the room.
 */
export function clipBytes(text: string | null | undefined, maxChars: number, maxBytes: number): string {
  const points = Array.from(clip(text, maxChars));
  if (points.reduce((sum, p) => sum + utf8Bytes(p), 0) <= maxBytes) return points.join('');
  let bytes = utf8Bytes('…');
  let end = 0;
  while (end < points.length && bytes + utf8Bytes(points[end]!) <= maxBytes) bytes += utf8Bytes(points[end++]!);
  return `${points.slice(0, end).join('').trimEnd()}…`;
}

/** UTF-8 length of one code point. */
function utf8Bytes(point: string): number {
  const cp = point.codePointAt(0) ?? 0;
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/**
 * For an input's prefilled value: cut to the input's maxLength without an ellipsis, so what the user
 * submits unchanged is still their own text. The server validates the submitted value again.
 */
export function prefill(text: string | null | undefined, maxLength: number): string {
  return Array.from(clean(text)).slice(0, maxLength).join('');
}

/** Clipped, non-empty items; past `maxItems` the rest is counted, not shown. */
export function clipList(items: readonly string[], maxItems: number, maxEach: number): string[] {
  const kept = items.map((item) => clip(item, maxEach)).filter((item) => item.length > 0);
  if (kept.length <= maxItems) return kept;
  return [...kept.slice(0, maxItems - 1), `… and ${kept.length - (maxItems - 1)} more`];
}

/** "Megan Bowen, Patti Fernandez and 3 more"; empty when there is no name. */
export function nameList(names: readonly string[], maxNames: number, maxEach: number): string {
  const kept = names.map((name) => clip(name, maxEach)).filter((name) => name.length > 0);
  if (kept.length <= maxNames) return kept.join(', ');
  return `${kept.slice(0, maxNames).join(', ')} and ${kept.length - maxNames} more`;
}

/**
 * What every card copy of a still-pending request says after a claim was given back without a decision
 * recorded in PIM (a lost Graph answer, PIM failing, a replica that died mid-click): who clicked and when,
 * that it did not count, and that the request waits for a decision again. The approval card's line and a
 * summary card's entry use the same words; a summary cut down to fit Teams' limit leaves out the name and
 * the time ("A decision was not recorded in PIM; please decide again.").
 */
export function releasedClaimText(name: string | null, atText: string | null): string {
  return `${name ? `${name}'s decision` : 'A decision'}${atText ? ` at ${atText}` : ''} was not recorded in PIM; please decide again.`;
}
