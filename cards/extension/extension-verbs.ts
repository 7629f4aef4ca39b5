/**
 * Verbs of the extension card in the admin channel. The data carries the ask's id only: the handler re-reads
 * the ask, checks the clicker against PIM's administrators of its target (never the card), and acts in PIM as them.
 */
export const ExtensionVerb = {
  /** Extend (or, for an assignment that has ended, renew) to the date in the card's date input. */
  Apply: 'extension.apply',
  /** Decline, with the note from the card's note input. */
  Decline: 'extension.decline',
} as const;
export type ExtensionVerbName = (typeof ExtensionVerb)[keyof typeof ExtensionVerb];

/** The inputs' ids (one ask per card, so they are fixed). */
export const EXTENSION_END_INPUT = 'newEnd';
export const EXTENSION_NOTE_INPUT = 'note';
/** PIM's justification limit is 500 characters; the note is recorded there. */
export const EXTENSION_NOTE_MAX_LENGTH = 500;
