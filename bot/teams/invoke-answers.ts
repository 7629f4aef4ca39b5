import { type Activity, ActivityTypes } from 'botbuilder';
import type { AdaptiveCardJson } from '../../cards/adaptive-card';

/**
 * The answers to an invoke (`adaptiveCard/action`): Teams reads the body of the HTTP 200 answer and shows
 * a card in place of the clicked one, a message under it, an error, or asks the user to sign in. Every
 * handler builds its answers here. The HTTP status is always 200; the body says what happened
 * (research/pim-graph-facts.md, Universal Actions; MicrosoftDocs/AdaptiveCards universal-action-model.md).
 */
export interface InvokeBody {
  statusCode: number;
  type: string;
  value: unknown;
}

/** The content types of an invoke answer body. */
export const InvokeAnswerType = {
  card: 'application/vnd.microsoft.card.adaptive',
  message: 'application/vnd.microsoft.activity.message',
  error: 'application/vnd.microsoft.error',
  loginRequest: 'application/vnd.microsoft.activity.loginRequest',
  preconditionFailed: 'application/vnd.microsoft.error.preconditionFailed',
} as const;

/** The card that replaces the clicked one (for this user). */
export function cardAnswer(card: AdaptiveCardJson): InvokeBody {
  return { statusCode: 200, type: InvokeAnswerType.card, value: card };
}

/** A message Teams shows under the card without replacing it. */
export function messageAnswer(text: string): InvokeBody {
  return { statusCode: 200, type: InvokeAnswerType.message, value: text };
}

/** A refusal (400) or a failure (500) Teams shows as an error on the card; nothing on the card changes. */
export function errorAnswer(statusCode: 400 | 500, message: string): InvokeBody {
  return { statusCode, type: InvokeAnswerType.error, value: { code: String(statusCode), message } };
}

/** The sign-in Teams starts for the user (Teams SSO token exchange, else the sign-in link); Teams then sends the action again. */
export function loginRequestAnswer(value: {
  text: string;
  connectionName: string;
  tokenExchangeResource: unknown;
  buttons: Array<{ type: 'signin'; title: string; value: string | undefined }>;
}): InvokeBody {
  return { statusCode: 401, type: InvokeAnswerType.loginRequest, value };
}

/** The SSO token Teams sent could not be exchanged: Teams shows the sign-in card instead. */
export function preconditionFailedAnswer(message: string): InvokeBody {
  return { statusCode: 412, type: InvokeAnswerType.preconditionFailed, value: { code: '412', message } };
}

/** The status an answer carries (200 when it says none), for metrics. */
export function answerStatusOf(body: unknown): number {
  const statusCode = (body as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : 200;
}

/** The activity that becomes the HTTP answer to the invoke (botbuilder keeps it in the turn; nothing goes to the serviceUrl). */
export function invokeResponse(body: unknown, status = 200): Partial<Activity> {
  return { type: ActivityTypes.InvokeResponse, value: { status, body } };
}
