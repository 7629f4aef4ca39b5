/**
 * A rendered Adaptive Card: plain JSON for an attachment of type `application/vnd.microsoft.card.adaptive`
 * or the value of an `adaptiveCard/action` card answer. Every render function in cards/ returns this type.
 */
export interface AdaptiveCardJson {
  type: 'AdaptiveCard';
  version: string;
  body: unknown[];
  actions?: unknown[];
  /** Teams asks the bot for a user-specific view with this action (the approval card's `pim.refresh`). */
  refresh?: { action: ExecuteActionJson; userIds?: string[] };
  [key: string]: unknown;
}

/** An `Action.Execute`: Teams sends its verb and data to the bot as an `adaptiveCard/action` invoke. */
export interface ExecuteActionJson<Data = Record<string, unknown>> {
  type: 'Action.Execute';
  verb: string;
  data: Data;
  [key: string]: unknown;
}
