import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import askTemplate from './admin-ask.json';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const askTemplateParsed = new Template(askTemplate);

export interface AdminAskCardData {
  /** Who asks, e.g. "Alex Wilber (alexw@contoso.com)" (directory text, shown as plain text). */
  requester: string;
  /** What they ask the PIM administrators to do, as plain text following the name. */
  ask: string;
}

/**
 * A digest user's ask in the admin channel (extend an assignment PIM cannot self-extend, remove one no
 * longer needed): one line of plain text, no buttons; the administrators act in PIM.
 */
export function renderAdminAskCard(d: AdminAskCardData): AdaptiveCardJson {
  return askTemplateParsed.expand({ $root: { text: `${d.requester} ${d.ask}` } }) as AdaptiveCardJson;
}
