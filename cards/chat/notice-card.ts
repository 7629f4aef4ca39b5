import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import { ChatVerb } from './chat-verbs';
import noticeTemplate from './notice-card.json';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const noticeTemplateParsed = new Template(noticeTemplate);

export interface NoticeCardData {
  /** Shown bold on top. */
  title: string;
  /** Shown as plain text (a TextRun, never markdown). */
  text: string;
}

export interface ReRequestNoticeData {
  /** What happened to the request, as plain text. */
  text: string;
  /** Our id of the approval request (approval_requests.id): the only data the button sends. */
  requestId: string;
}

interface NoticeViewModel {
  title: string;
  text: string;
  hasReRequest: boolean;
  requestId: string;
  verbs: { requestAgain: string };
}

function expand(vm: NoticeViewModel): AdaptiveCardJson {
  const card = noticeTemplateParsed.expand({ $root: vm }) as AdaptiveCardJson;
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  return card;
}

/** A small card that replaces a form when there is nothing more to do on it. */
export function renderNoticeCard(d: NoticeCardData): AdaptiveCardJson {
  return expand({ title: d.title, text: d.text, hasReRequest: false, requestId: '', verbs: { requestAgain: ChatVerb.RequestAgain } });
}

/**
 * A notice that PIM dropped a request, with a one-tap re-request (`chat.requestAgain`, data {requestId}
 * only; the handler re-reads everything).
 */
export function renderReRequestNotice(d: ReRequestNoticeData): AdaptiveCardJson {
  return expand({ title: 'Request expired', text: d.text, hasReRequest: true, requestId: d.requestId, verbs: { requestAgain: ChatVerb.RequestAgain } });
}
