import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import { ApprovalVerb, clientTime } from '../approval-card';
import { clip, releasedClaimText } from '../card-text';
import { SUMMARY_MAX_ENTRIES, type SummaryCardData, type SummaryEntry } from '../../services/outbox/summary';
import summaryTemplate from './summary-card.json';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const summaryTemplateParsed = new Template(summaryTemplate);

/**
 * What a summary card lists and is given, and the most entries it lists, are declared where the outbox
 * (which renders summaries through an injected renderer) needs them. With the caps below the worst case
 * (every character four bytes in UTF-8) stays under Teams' 28 KB message limit.
 */
export { SUMMARY_MAX_ENTRIES, type SummaryCardData, type SummaryEntry };

const MAX = { name: 48, upn: 64, roleLine: 100, outcome: 120, time: 40 } as const;

/** Lone UTF-16 surrogates would be written as six-byte \u escapes; they carry no text anyway. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function text(value: string | null | undefined, max: number): string {
  return clip((value ?? '').replace(LONE_SURROGATE, '\ufffd'), max);
}

interface EntryViewModel {
  requestId: string;
  version: number;
  verb: string;
  openTitle: string;
  requesterName: string;
  hasUpn: boolean;
  requesterUpn: string;
  roleLine: string;
  ageText: string;
  hasOutcome: boolean;
  outcome: string;
  /** Said with an icon before the words, not in coloured text: Teams' green and red fail contrast in one theme or the other. */
  outcomeIcon: string;
  hasOutcomeTime: boolean;
  /** DATE()/TIME() of the decision: Teams writes it in the viewer's zone. */
  outcomeTime: string;
  hasRelease: boolean;
  release: string;
  hasReleaseTime: boolean;
  releaseTime: string;
}

interface SummaryViewModel {
  title: string;
  intro: string;
  entries: EntryViewModel[];
  hasMore: boolean;
  moreText: string;
}

/** "just now", "4 min ago", "2 h 5 min ago": how long the request has waited. */
export function ageText(requestedAt: string, now: Date): string {
  const at = new Date(requestedAt).getTime();
  if (Number.isNaN(at)) return 'Requested at an unknown time';
  const minutes = Math.floor(Math.max(0, now.getTime() - at) / 60_000);
  if (minutes < 1) return 'Requested just now';
  if (minutes < 60) return `Requested ${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `Requested ${hours} h${rest ? ` ${rest} min` : ''} ago`;
}

/** The approval card's badge icons for an outcome's tone; none for a neutral one (expired, cancelled, recording). */
function outcomeIcon(colour: 'good' | 'attention' | 'default' | undefined): string {
  if (colour === 'good') return '✅ ';
  if (colour === 'attention') return '⛔ ';
  return '';
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function toViewModel(data: SummaryCardData): SummaryViewModel {
  const shown = data.entries.slice(0, SUMMARY_MAX_ENTRIES);
  const total = Math.max(data.batchTotal, data.entries.length);
  const notHere = total - shown.length;
  const open = shown.filter((e) => !e.outcome?.text).length;
  const title =
    open === 0
      ? `${plural(shown.length, 'approval request', 'approval requests')}, all decided${data.parts > 1 ? ` (${data.part} of ${data.parts})` : ''}`
      : data.parts > 1
        ? `Approval requests waiting (${data.part} of ${data.parts})`
        : `${plural(shown.length, 'approval request', 'approval requests')} waiting`;
  let moreText = '';
  if (notHere > 0) {
    moreText =
      data.parts > 1
        ? `… and ${plural(notHere, 'more request', 'more requests')} on the other summary cards of this batch.`
        : `… and ${plural(notHere, 'more request', 'more requests')} not listed on this card.`;
  }
  return {
    title,
    intro: `${plural(total, 'request', 'requests')} for this channel arrived within a minute, so they are listed together instead of one card each. Open a request to see it in full and approve or deny it.`,
    entries: shown.map((e) => {
      const role = text(e.roleName, MAX.roleLine);
      const scope = text(e.scope, MAX.roleLine);
      const upn = text(e.requesterUpn, MAX.upn);
      // A released claim is news only while the request waits (a decided one's outcome says what happened).
      // null: none; '': one, said without the name (the short form on the age line, which is our own text).
      const releaser = e.release && !e.outcome?.text ? text(e.release.name, MAX.name) : null;
      const outcomeAt = clientTime(e.outcome?.at);
      const releaseAt = clientTime(e.release?.at);
      return {
        requestId: e.requestId,
        version: e.version,
        // The approval card's refresh verb: the existing invoke handler answers it with the full card for
        // this viewer (Approve and Deny with a justification for approvers), so the entry stays actionable.
        verb: ApprovalVerb.Refresh,
        openTitle: 'Open',
        requesterName: text(e.requesterName, MAX.name) || '(unknown requester)',
        hasUpn: upn.length > 0,
        requesterUpn: ` ${upn}`,
        roleLine: text(scope ? `${role} · ${scope}` : role, MAX.roleLine) || '(unknown role)',
        ageText: releaser === '' ? `${ageText(e.requestedAt, data.now)} · ${releasedClaimText(null, null)}` : ageText(e.requestedAt, data.now),
        hasOutcome: !!e.outcome?.text,
        outcome: text(e.outcome?.text, MAX.outcome),
        outcomeIcon: outcomeIcon(e.outcome?.colour),
        // Times as instants Teams writes in each viewer's zone; entries stored before they had one keep their UTC text.
        hasOutcomeTime: !!e.outcome?.text && outcomeAt !== undefined,
        outcomeTime: outcomeAt ?? '',
        hasRelease: !!releaser,
        release: releaser ? releasedClaimText(releaser, releaseAt ? null : text(e.release!.atText, MAX.time) || null) : '',
        hasReleaseTime: !!releaser && releaseAt !== undefined,
        releaseTime: releaseAt ? `Clicked ${releaseAt}` : '',
      };
    }),
    hasMore: notHere > 0,
    moreText,
  };
}

/**
 * One card that lists several approval requests of a channel, each with an Open action (Action.Execute,
 * verb pim.refresh, data {requestId, version}) that the approval invoke handler answers with the
 * request's own card. Requester, UPN and role are directory text and land only in TextRun.text.
 * No card-level refresh: it would need one request id, and Open always shows the current state.
 */
export function renderSummaryCard(data: SummaryCardData): AdaptiveCardJson {
  const model = toViewModel(data);
  const card = summaryTemplateParsed.expand({ $root: model }) as AdaptiveCardJson;
  return card;
}
