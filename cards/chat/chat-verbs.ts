/**
 * Verbs and input ids of the elevation-by-chat cards. Handlers route on the verb; the ids are the keys of
 * `action.data` that Teams fills from the card's inputs.
 */
export const ChatVerb = {
  /** Role picked on the chooser card: the server answers with the form for that role. */
  Choose: 'chat.choose',
  /** Submit the activation form or confirmation. */
  Submit: 'chat.submit',
  /** Close a chooser or form without submitting. */
  Discard: 'chat.discard',
  /** Cancel a pending PIM request from its status card. */
  CancelRequest: 'chat.cancelRequest',
  /** Request the same role again from a final status card. */
  Again: 'chat.again',
  /** Ask the bot to remind the approvers of a pending request (rate-limited). */
  Remind: 'chat.remind',
  /** Request again a role whose request expired or was denied, from a notice about an approval request (data: requestId). */
  RequestAgain: 'chat.requestAgain',
  /** Cancel the request picked on the "which request?" card that a bare "cancel" answers with (data: chatRequestId or pimRequestId). */
  CancelChoice: 'chat.cancelChoice',
  /** End a running activation now, from its status card (data: chatRequestId). */
  EndNow: 'chat.endNow',
} as const;
export type ChatVerbName = (typeof ChatVerb)[keyof typeof ChatVerb];

export const FORM_INPUT = {
  target: 'target',
  durationMinutes: 'durationMinutes',
  ticketSystem: 'ticketSystem',
  ticketNumber: 'ticketNumber',
  justification: 'justification',
} as const;

/**
 * What the chooser's and the form's buttons send besides inputs: the draft's id only. The handler reloads
 * the draft and checks the submitted target and values against it; nothing in card data is trusted.
 */
export interface DraftActionData {
  draftId: string;
}

/** What a status card's buttons send: our id of the chat request, nothing else. */
export interface RequestActionData {
  chatRequestId: string;
}
