import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import { clientTime } from '../approval-card';
import { clip } from '../card-text';
import { ChatVerb } from './chat-verbs';
import endingSoonTemplate from './ending-soon.json';

/** Parsed once: parsing the template is most of a render's cost. */
const endingSoonTemplateParsed = new Template(endingSoonTemplate);

export interface EndingSoonData {
  /** The chat request the activation came from: the only data the buttons send. */
  chatRequestId: string;
  /** Directory text (a TextRun, never markdown). */
  roleTitle: string;
  /** When the activation ends (ISO 8601): Teams writes it in the reader's zone. */
  activeUntil: string;
}

/**
 * "Your <role> activation ends at <time>", some minutes before it does, with Extend the session (the
 * activation form again, filled in as this request was: chat.again) and End now (chat.endNow). Both act on
 * the stored chat request after checking it is the clicker's.
 */
export function renderEndingSoon(d: EndingSoonData): AdaptiveCardJson {
  const role = clip(d.roleTitle, 120) || 'role';
  const endsAt = clientTime(d.activeUntil) ?? 'in a few minutes';
  return endingSoonTemplateParsed.expand({
    $root: {
      chatRequestId: d.chatRequestId,
      roleTitle: role,
      endsAt,
      fallback: `Your ${role} activation ends soon. Open Microsoft Teams to extend or end it.`,
      verbs: { again: ChatVerb.Again, endNow: ChatVerb.EndNow },
    },
  }) as AdaptiveCardJson;
}
