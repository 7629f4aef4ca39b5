/**
 * Text hygiene for user and directory text wherever it is kept short (card lines, stored check lines): control
 * and bidi-override characters out, cut by code point. cards/card-text.ts builds the cards' rules on it.
 */

/** C0 controls (except tab and newline) and DEL carry no meaning on a card and only bloat the JSON. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what the pattern removes
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Explicit bidi embeddings and overrides can make "Denied" read as something else; implicit bidi still works. */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

export function clean(text: string | null | undefined): string {
  return (text ?? '').replace(CONTROL_CHARS, '').replace(BIDI_CONTROLS, '').trim();
}

/** Cuts by code point, so a surrogate pair is never split, and marks the cut with an ellipsis. */
export function clip(text: string | null | undefined, max: number): string {
  const cleaned = clean(text);
  const points = Array.from(cleaned);
  return points.length <= max
    ? cleaned
    : `${points
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/**
 * Characters a reader of a justification in PIM actually sees: zero-width and bidi controls, NULs and other
 * control or format characters, and spaces do not make a justification.
 */
export function visibleLength(text: string): number {
  return Array.from(text.replace(/[\p{Cc}\p{Cf}\p{Z}\s]/gu, '')).length;
}
