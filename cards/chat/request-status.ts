import { Template } from 'adaptivecards-templating';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { AdaptiveCardJson } from '../adaptive-card';
import statusTemplate from './request-status.json';
import noteTemplate from './status-note.json';
import { clip, clipList, nameList, type ContainerStyle } from '../card-text';
import { ChatVerb } from './chat-verbs';
import { formatDuration, formatTime } from '../../services/text/format-time';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const statusTemplateParsed = new Template(statusTemplate);
const noteTemplateParsed = new Template(noteTemplate);

export type RequestState = 'submitting' | 'pending' | 'approved' | 'active' | 'ended' | 'denied' | 'expired' | 'cancelled' | 'failed';

export interface RequestStatusData {
  chatRequestId: string;
  roleTitle: string;
  durationMinutes: number;
  ticket: { system: string | null; number: string } | null;
  justification: string | null;
  state: RequestState;
  /**
   * pending: who can approve (display names). On an active request without a known decision, a non-empty
   * list means approval was needed and given outside this chat; an empty one that the policy needs none.
   */
  approverNames: string[];
  decision?: { byName: string; at: string /* ISO */; justification: string | null } | null;
  /**
   * Set when the organisation's decision service decided at submission: AutoApproved -> why access was
   * granted without a human; Denied -> why.
   */
  decisionService?: { outcome: 'AutoApproved' | 'Denied'; reasons: string[] } | null;
  activeFrom?: string | null;
  activeUntil?: string | null;
  endedAt?: string | null;
  /** failed: what went wrong and what to do, including Graph's message and request id when known. Other states: an extra note. */
  message?: string | null;
  pimRequestId?: string | null;
  /** IANA time zone of the user (Teams gives activity.localTimezone); times are shown in it with the zone abbreviation, and default to UTC. */
  timeZone?: string | null;
  /** When the card was last updated (ISO), shown small at the bottom. */
  updatedAt: string;
}

const MAX = {
  role: 200,
  name: 120,
  names: 5,
  justification: 600,
  reason: 200,
  reasons: 5,
  ticketSystem: 40,
  ticketNumber: 64,
  message: 600,
  id: 80,
} as const;

interface Fact {
  title: string;
  value: string;
}

interface StatusViewModel {
  chatRequestId: string;
  verbs: { cancelRequest: string; again: string; remind: string; endNow: string };
  headline: string;
  headerStyle: ContainerStyle;
  details: string[];
  hasMessage: boolean;
  message: string;
  facts: Fact[];
  footer: string;
  canCancel: boolean;
  /** A running activation can be ended early by its user. */
  canEnd: boolean;
  canRequestAgain: boolean;
}

/**
 * The headline says the state in words, bold, in the theme's text colour on the state's container style: Teams'
 * warning, good and attention text colours fail contrast on their own container styles (1.2:1 to 3.6:1).
 */
interface Header {
  headline: string;
  style: ContainerStyle;
  details: string[];
}

/** User text inside a sentence: quoted so it reads as theirs. */
function quoted(text: string): string {
  return `“${text}”`;
}

function reasonsText(reasons: readonly string[]): string {
  const kept = clipList(reasons, MAX.reasons, MAX.reason);
  return kept.length > 0 ? kept.join('; ') : 'no reasons given';
}

function humanDecision(d: RequestStatusData, verb: 'Approved' | 'Denied'): string | null {
  if (!d.decision) return null;
  const by = clip(d.decision.byName, MAX.name) || 'an approver';
  const justification = clip(d.decision.justification, MAX.justification);
  const base = `${verb} by ${by} at ${formatTime(d.decision.at, d.timeZone)}`;
  return justification ? `${base}: ${quoted(justification)}` : base;
}

function serviceDecision(d: RequestStatusData, outcome: 'AutoApproved' | 'Denied'): string | null {
  if (d.decisionService?.outcome !== outcome) return null;
  const reasons = reasonsText(d.decisionService.reasons);
  return outcome === 'AutoApproved'
    ? `Approved automatically by your organisation's decision service: ${reasons}`
    : `Denied by your organisation's decision service: ${reasons}`;
}

/** How an activation was granted, for the approved and active states. */
function approvalSentence(d: RequestStatusData): string {
  const service = serviceDecision(d, 'AutoApproved');
  if (service) return service;
  const human = humanDecision(d, 'Approved');
  if (human) return human;
  // The bot reads PIM with its own identity and cannot always see who approved in the portal or by email.
  return d.approverNames.length > 0 ? 'Approved in PIM, outside this chat' : "Activated without approval (the role's policy needs none)";
}

function sentence(text: string): string {
  return /[.!?…”]$/.test(text) ? text : `${text}.`;
}

function header(d: RequestStatusData): Header {
  const at = (iso: string | null | undefined): string | null => (iso ? formatTime(iso, d.timeZone) : null);
  switch (d.state) {
    case 'submitting':
      return { headline: 'Sending your request to PIM…', style: 'default', details: [] };
    case 'pending': {
      const names = nameList(d.approverNames, MAX.names, MAX.name);
      return {
        headline: 'Waiting for approval',
        style: 'warning',
        details: [`Approvers: ${names || 'any approver of the role'}`],
      };
    }
    case 'approved':
      return {
        headline: 'Approved',
        style: 'good',
        details: [`${sentence(approvalSentence(d))} PIM is activating the role.`],
      };
    case 'active': {
      const until = at(d.activeUntil);
      return {
        headline: until ? `Active until ${until}` : 'Active',
        style: 'good',
        details: [sentence(approvalSentence(d))],
      };
    }
    case 'ended': {
      const ended = at(d.endedAt ?? d.activeUntil);
      // Ended before its time: by the user's "End now" or "done <role>".
      const early = !!d.endedAt && !!d.activeUntil && Date.parse(d.endedAt) < Date.parse(d.activeUntil) - 60_000;
      return { headline: ended ? `Ended ${early ? 'early ' : ''}at ${ended}` : 'Ended', style: 'emphasis', details: [] };
    }
    case 'denied':
      return {
        headline: 'Denied',
        style: 'attention',
        details: [sentence(serviceDecision(d, 'Denied') ?? humanDecision(d, 'Denied') ?? 'Denied in PIM, outside this chat')],
      };
    case 'expired':
      return {
        headline: 'Expired',
        style: 'warning',
        details: ["Expired: no approver decided within PIM's 24 hours."],
      };
    case 'cancelled':
      return { headline: 'Cancelled', style: 'emphasis', details: ['This request was cancelled.'] };
    case 'failed':
      return { headline: 'Failed', style: 'attention', details: [] };
    default:
      return assertNever(d.state);
  }
}

function facts(d: RequestStatusData): Fact[] {
  const rows: Fact[] = [
    { title: 'Role', value: clip(d.roleTitle, MAX.role) || 'Unknown role' },
    { title: 'Duration', value: formatDuration(d.durationMinutes) },
  ];
  if (d.ticket) {
    const ticket = `${clip(d.ticket.system, MAX.ticketSystem)} ${clip(d.ticket.number, MAX.ticketNumber)}`.trim();
    if (ticket) rows.push({ title: 'Ticket', value: ticket });
  }
  const justification = clip(d.justification, MAX.justification);
  if (justification) rows.push({ title: 'Justification', value: justification });
  return rows;
}

function footer(d: RequestStatusData): string {
  const pimId = clip(d.pimRequestId, MAX.id);
  const updated = `Updated ${formatTime(d.updatedAt, d.timeZone)}`;
  return pimId ? `${updated} · PIM request ${pimId}` : updated;
}

function toViewModel(d: RequestStatusData): StatusViewModel {
  const head = header(d);
  const message = clip(d.message, MAX.message) || (d.state === 'failed' ? 'Something went wrong. Try again, or ask your PIM administrator.' : '');
  return {
    chatRequestId: d.chatRequestId,
    verbs: { cancelRequest: ChatVerb.CancelRequest, again: ChatVerb.Again, remind: ChatVerb.Remind, endNow: ChatVerb.EndNow },
    headline: head.headline,
    headerStyle: head.style,
    details: head.details,
    hasMessage: message.length > 0,
    message,
    facts: facts(d),
    footer: footer(d),
    canCancel: d.state === 'pending',
    canEnd: d.state === 'active',
    canRequestAgain: isClosed(d.state),
  };
}

/** States after which the request never changes again: the user can only ask anew. */
export function isClosed(state: RequestState): boolean {
  switch (state) {
    case 'denied':
    case 'expired':
    case 'ended':
    case 'cancelled':
    case 'failed':
      return true;
    case 'submitting':
    case 'pending':
    case 'approved':
    case 'active':
      return false;
    default:
      return assertNever(state);
  }
}

/**
 * The one status card of a chat request, rewritten in place as the request moves on. Buttons carry
 * {chatRequestId} only: 'Remind approvers' and 'Cancel request' while pending, 'End now' while active,
 * 'Request again' once closed.
 */
export function renderRequestStatus(d: RequestStatusData): AdaptiveCardJson {
  const card = statusTemplateParsed.expand({ $root: toViewModel(d) }) as AdaptiveCardJson;
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  return card;
}

/**
 * A status card as it stands, with a subtle line of what just happened underneath (the answer to "remind
 * the approvers"). The line is plain text; the card given is not changed.
 */
export function withStatusNote(card: AdaptiveCardJson, note: string): AdaptiveCardJson {
  return { ...card, body: [...card.body, noteTemplateParsed.expand({ $root: { note } })] };
}
