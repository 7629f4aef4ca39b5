import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import { clip } from '../card-text';
import chooserTemplate from './cancel-chooser.json';
import { ChatVerb } from './chat-verbs';
import { formatTime } from '../../services/text/format-time';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const chooserTemplateParsed = new Template(chooserTemplate);

/** One request the user may cancel; exactly one of the two ids, which is all its button sends. */
export interface CancelChoice {
  /** "Security Operator", "Extension of Global Administrator": plain text. */
  roleTitle: string;
  /** Where it applies, in words ("the whole directory", "an administrative unit"); null when the title says it. */
  scopeText: string | null;
  /** What PIM is doing with it, in words ("waiting for an approver"). */
  statusText: string;
  /** When it was asked for (ISO), or null when PIM did not say. */
  requestedAt: string | null;
  /** Our id of a request made in this chat. */
  chatRequestId?: string;
  /** PIM's id of a request made elsewhere (the portal, an extension). */
  pimRequestId?: string;
}

export interface CancelChooserData {
  choices: CancelChoice[];
  timeZone: string | null;
}

/** What a cancel button sends: one id; the handler re-reads the request and checks it is the user's and still open. */
export type CancelChoiceData = { chatRequestId: string } | { pimRequestId: string };

/** Teams' card size limit is far away, but a user with many open requests should still get a card. */
const MAX_CHOICES = 20;
const MAX = { title: 200, detail: 300 } as const;

/**
 * "Which request should I cancel?" (several) or "Cancel this request?" (one): one block per request
 * naming role, scope, status and when it was requested, each with its own `chat.cancelChoice` button.
 */
export function renderCancelChooser(d: CancelChooserData): AdaptiveCardJson {
  const one = d.choices.length === 1;
  const shown = d.choices.slice(0, MAX_CHOICES);
  const hidden = d.choices.length - shown.length;
  const choices = shown.map((c) => {
    const parts = [c.scopeText ? `In ${c.scopeText}` : null, c.statusText, c.requestedAt ? `requested ${formatTime(c.requestedAt, d.timeZone)}` : null].filter(
      (p): p is string => Boolean(p),
    );
    const detail = parts.join(', ');
    const data: CancelChoiceData = c.chatRequestId ? { chatRequestId: c.chatRequestId } : { pimRequestId: c.pimRequestId ?? '' };
    return {
      roleTitle: clip(c.roleTitle, MAX.title),
      detail: clip(detail.charAt(0).toUpperCase() + detail.slice(1), MAX.detail),
      buttonTitle: one ? 'Yes, cancel it' : 'Cancel this one',
      data,
    };
  });
  return chooserTemplateParsed.expand({
    $root: {
      title: one ? 'Cancel this request?' : 'Which request should I cancel?',
      intro: one
        ? 'This is your only request that is still waiting. Nothing is cancelled until you press the button.'
        : `You have ${d.choices.length} requests that are still waiting. Press the button on the one to cancel; the others stay as they are.`,
      verb: ChatVerb.CancelChoice,
      choices,
      hasHidden: hidden > 0,
      hiddenText: `${hidden} more not listed: type "status" to see them, and "cancel <request id>" for one of them.`,
    },
  }) as AdaptiveCardJson;
}
