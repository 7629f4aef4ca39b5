import { Template } from 'adaptivecards-templating';
import { assertNever, isFinal, type RequestStatus } from '../services/approvals/request-lifecycle';
import type { AdaptiveCardJson } from './adaptive-card';
import approvalTemplate from './approval-request.json';
import { clip, clipBytes, clipList as clipItems } from './card-text';
import { compileTemplate } from './compiled-template';
import { PIM_MY_ROLES_URL } from '../services/config/microsoft-endpoints';
import type { ApprovalCheckLine } from '../services/approvals/check-lines';
import type { ApprovalView } from '../services/approvals/request-display';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const approvalTemplateParsed = new Template(approvalTemplate);
/** Compiled once into a function of the view model (see compiled-template); the engine above renders whatever it cannot. */
const approvalTemplateCompiled = compileTemplate(approvalTemplate);

/** Which view a person gets (declared with the flows that choose it). */
export type { ApprovalView };
export type RoleKind = 'entraRole' | 'group' | 'azureResource';

export interface ApprovalCardData {
  /** Our internal id for the PIM request; goes into action data. */
  requestId: string;
  /** State version for compare-and-swap; goes into action data. */
  version: number;
  requester: { displayName: string; userPrincipalName: string; jobTitle?: string | null; department?: string | null };
  role: { displayName: string; scope: string; kind: RoleKind };
  durationText: string;
  windowText: string;
  /** User text: rendered as plain text only. */
  justification: string;
  /** User text too. */
  ticket?: { system: string; number: string } | null;
  riskFlags: string[];
  decisionReasons: string[];
  expiresText: string;
  /**
   * The same moments as instants (ISO 8601), when known: the card then shows them with Adaptive Cards'
   * DATE()/TIME(), which each viewer's Teams formats in their own time zone and locale. Without them the
   * texts above (UTC) are shown.
   */
  times?: { expiresAt: string; windowStart: string; windowEnd: string | null /** e.g. "23 h 41 min left" */; leftText: string } | null;
  status: RequestStatus;
  /** `at`: the decision's instant (ISO 8601), shown in the viewer's zone; `atText` is the UTC fallback. */
  decision?: { byDisplayName: string; byUserPrincipalName: string; atText: string; at?: string | null; justification: string } | null;
  /** A line for this viewer, e.g. 'Only approvers of this role can decide.' Shown just above the decision form. */
  message?: string | null;
  /** A released claim's click (ISO 8601), said under the message in the viewer's zone. */
  messageClickedAt?: string | null;
  /** What the approver had typed when their click was refused: the form keeps it. */
  draftJustification?: string | null;
  /** Who can approve, as PIM's policy named them when the card was posted; shown to everyone while it waits. */
  approverNames?: string[] | null;
  /** The requester's user risk (Microsoft Entra ID Protection); absent when not configured. */
  identityRisk?: ApprovalRiskBlock | null;
  /** The requester's history with this role; absent for requests stored before it was read. */
  history?: ApprovalHistoryBlock | null;
  /** The pre-approval checks, one line each; empty or absent for requests stored before checks had lines. */
  checkLines?: ApprovalCheckLine[] | null;
}

/** One pre-approval check as the card shows it (declared where the lines are built and stored). */
export type { ApprovalCheckLine };

/** Server-formatted risk text; directory and Graph values in it are still clipped and shown as plain text. */
export interface ApprovalRiskBlock {
  /** attention: refuse-worthy risk; warning: medium or low, or not checked; good: none. */
  tone: 'attention' | 'warning' | 'good';
  headline: string;
  /** `at`: the fact is an instant, shown in the viewer's zone (`value` is its UTC fallback). */
  facts: Array<{ title: string; value: string; at?: string | null }>;
  /** Recent risk detections, one line each (type, level and state, where), with when it was detected. */
  detections: TimedLine[];
}

/**
 * A line of Graph or store text (shown as plain text, never markdown) and the instant it is about, which Teams
 * writes in the viewer's own zone under it; none when `at` is absent or not an instant.
 */
export interface TimedLine {
  text: string;
  at?: string | null;
}

export interface ApprovalHistoryBlock {
  /** One compact line, e.g. "5 activations in 90 days · last 3 days ago · 1 denial", or "History unavailable". */
  line: string;
  /** No earlier activation of this role on record: shown prominently. */
  firstActivation: boolean;
  /** Shown when the approver expands the history (last activation, denials with reasons), each with its time. */
  details: TimedLine[];
}

/** Where a requester activates a role again (declared with the Microsoft endpoints; the expired card links it). */
export { PIM_MY_ROLES_URL };

export const ApprovalVerb = { Approve: 'pim.approve', Deny: 'pim.deny', Refresh: 'pim.refresh', Remind: 'pim.remind' } as const;
export type ApprovalVerbName = (typeof ApprovalVerb)[keyof typeof ApprovalVerb];

/** Id of the approver's justification input; Teams sends it in `action.data` next to requestId and version. */
export const DECISION_JUSTIFICATION_INPUT_ID = 'decisionJustification';

/** Everything the card's actions send besides inputs: ids and a version, never state the server would trust. */
export interface ApprovalActionData {
  requestId: string;
  version: number;
}

/**
 * Caps on user and directory text. PIM itself caps justifications at 500 characters; the caps keep the
 * worst-case card far below Teams' 28 KB message limit whatever upstream systems send.
 */
const MAX = {
  name: 120,
  upn: 120,
  detail: 120,
  role: 200,
  ticketSystem: 40,
  ticketNumber: 64,
  serverLine: 160,
  justification: 600,
  listItem: 300,
  listItems: 8,
  message: 300,
  riskFacts: 4,
  /** Risk detections and history details: Graph and store text, one line each. */
  signalLine: 200,
  detections: 3,
  historyDetails: 5,
  /** Check lines: one per configured check (seven kinds), each summary one short line. */
  checkLines: 8,
  checkSummary: 200,
  /**
   * And at most this many UTF-8 bytes (200 ASCII characters fit; 100 emoji do): eight lines of 200
   * emoji would add 6 KB, enough with every other block at its cap to crowd Teams' 28 KB limit.
   */
  checkSummaryBytes: 400,
} as const;

/**
 * The status badge: an icon and a word in the theme's own text colour on its emphasis background. Coloured
 * text failed contrast (Teams' warning yellow is 1.5:1 on white) and said nothing to a reader who cannot
 * tell the colours apart.
 */
function statusText(status: RequestStatus): string {
  switch (status) {
    case 'pending':
      return '⏳ Pending approval';
    case 'recording':
      return '⏳ Recording…';
    case 'approved':
      return '✅ Approved';
    case 'denied':
      return '⛔ Denied';
    case 'expired':
      return '⌛ Expired';
    case 'cancelled':
      return '✖ Cancelled';
    default:
      return assertNever(status);
  }
}

function kindText(kind: RoleKind): string {
  switch (kind) {
    case 'entraRole':
      return 'Entra role activation request';
    case 'group':
      return 'PIM for Groups activation request';
    case 'azureResource':
      return 'Azure resource role activation request';
    default:
      return assertNever(kind);
  }
}

function clipList(items: readonly string[]): string[] {
  return clipItems(items, MAX.listItems, MAX.listItem);
}

interface Fact {
  title: string;
  value: string;
}

/** A risk fact: an instant goes in a TextBlock (DATE/TIME for the viewer's zone), other values in a TextRun. */
interface RiskFactView extends Fact {
  isTime: boolean;
  isText: boolean;
}

/** A timed line for the template: its text as a TextRun, its instant (if any) as DATE/TIME in a TextBlock. */
interface TimedLineView {
  text: string;
  hasTime: boolean;
  time: string;
}

/** At most `max` lines, each clipped; the last says how many more there were. */
function timedLineViews(lines: readonly TimedLine[], max: number, prefix: string): TimedLineView[] {
  const kept = lines.map((l) => ({ text: clip(l.text, MAX.signalLine), time: clientTime(l.at) })).filter((l) => l.text.length > 0);
  const shown = kept.length <= max ? kept : [...kept.slice(0, max - 1), { text: `… and ${kept.length - (max - 1)} more`, time: undefined }];
  return shown.map((l) => ({ text: l.text, hasTime: l.time !== undefined, time: l.time ? `${prefix}${l.time}` : '' }));
}

/** A check line for the template: the result as a word first, in the text colour, so it reads in every theme. */
interface CheckLineView {
  word: string;
  /** ` · Ticket: ` — the check's plain name between the word and the summary. */
  nameText: string;
  summary: string;
}

/** A check's result as the card writes it: a symbol and a word (a fail that sends to review reads Flagged). */
export function checkWord(line: ApprovalCheckLine): string {
  switch (line.result) {
    case 'pass':
      return '✓ Passed';
    case 'fail':
      return line.onFail === 'deny' ? '✗ Failed' : '⚠ Flagged';
    case 'unavailable':
      return '? Could not be completed';
    default:
      return assertNever(line.result);
  }
}

/** The check's name as an approver reads it; ids from older or newer code fall back to their words. */
export function checkNameText(name: string): string {
  switch (name) {
    case 'justification':
      return 'Justification';
    case 'ticket':
      return 'Ticket';
    case 'onCall':
      return 'On call';
    case 'hr':
      return 'HR status';
    case 'identityRisk':
      return 'Identity risk';
    case 'maintenanceWindow':
      return 'Maintenance window';
    case 'businessHours':
    case 'offHours':
      return 'Business hours';
    case 'humanOnlyRole':
      return 'Human-only role';
    default: {
      const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
      return clip(words.charAt(0).toUpperCase() + words.slice(1), 40);
    }
  }
}

function checkLineViews(lines: readonly ApprovalCheckLine[]): CheckLineView[] {
  return lines.slice(0, MAX.checkLines).map((line) => {
    return {
      word: checkWord(line),
      nameText: ` · ${checkNameText(line.name)}: `,
      summary: clipBytes(line.summary, MAX.checkSummary, MAX.checkSummaryBytes) || 'no detail recorded',
    };
  });
}

/**
 * The template's whole data context. Every field the template names is always present: adaptivecards-templating
 * leaves `${field}` in the output when a field is undefined, which would show the template to the user.
 */
interface ApprovalViewModel {
  requestId: string;
  version: number;
  verbs: { approve: string; deny: string; refresh: string; remind: string };
  inputId: string;
  hasRefresh: boolean;
  roleName: string;
  kindText: string;
  statusText: string;
  hasStateLine: boolean;
  stateLine: string;
  /** When the decision was taken, in the viewer's zone (a TextBlock: DATE/TIME). */
  hasStateTime: boolean;
  stateTime: string;
  /** "Time left" (open) or "Duration" (closed), a TextBlock so PIM's deadline shows in the viewer's zone. */
  timeLine: string;
  /** The activation window, in the viewer's zone when the instants are known (a TextBlock). */
  windowLine: string;
  hasDecisionJustification: boolean;
  decisionJustificationLabel: string;
  decisionJustification: string;
  requesterName: string;
  hasRequesterDetail: boolean;
  requesterDetailText: string;
  askLine: string;
  justification: string;
  hasTicket: boolean;
  ticketText: string;
  /** One line each under the justification: time left (or duration), identity risk, history, flags. Never empty. */
  signalLines: SignalLine[];
  hasMessage: boolean;
  message: string;
  hasMessageTime: boolean;
  messageTime: string;
  showDecisionForm: boolean;
  /** The requester's own view of their waiting request: one button, to remind the approvers. */
  showRemind: boolean;
  draftJustification: string;
  /** The details block (facts, risk, history, checks, flags, reasons) starts folded; the Details button opens it. */
  detailsVisible: boolean;
  facts: Fact[];
  hasRisk: boolean;
  riskFacts: RiskFactView[];
  detections: TimedLineView[];
  hasHistoryDetails: boolean;
  historyDetails: TimedLineView[];
  hasCheckLines: boolean;
  checkLines: CheckLineView[];
  hasReasons: boolean;
  reasons: string[];
}

/** A summary line under the justification: a bold label (with its separator) and its text. */
interface SignalLine {
  label: string;
  text: string;
}

/**
 * An instant as Adaptive Cards' client-side date and time functions write it: Teams shows it in the viewer's
 * own time zone and locale. Only in TextBlock text (TextRun does not format), and only server text beside it.
 * Undefined for anything that is not a valid instant (the caller falls back to its UTC text).
 */
export function clientTime(iso: string | null | undefined): string | undefined {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return undefined;
  const rfc3339 = `${d.toISOString().slice(0, 19)}Z`;
  return `{{DATE(${rfc3339}, SHORT)}} {{TIME(${rfc3339})}}`;
}

function stateLine(data: ApprovalCardData, view: ApprovalView): string {
  const decidedBy = (verb: string): string => {
    // Decided in the portal or by email, and PIM's approval steps could not be read: say where, not who.
    if (!data.decision) return `${verb} in PIM, outside Teams.`;
    const name = clip(data.decision.byDisplayName, MAX.name);
    const upn = clip(data.decision.byUserPrincipalName, MAX.upn);
    const who = `${verb} by ${name}${upn ? ` (${upn})` : ''}`;
    // With the instant, the time follows on its own line in the viewer's zone (stateTime).
    return clientTime(data.decision.at) ? who : `${who} at ${clip(data.decision.atText, MAX.serverLine)}`;
  };
  switch (data.status) {
    case 'pending':
      return view === 'approver' ? 'Approve or deny below. PIM records your decision under your name.' : 'Waiting for an approver';
    case 'recording':
      return view === 'approver' ? 'Recording your decision in PIM…' : 'Recording a decision in PIM…';
    case 'approved':
      return decidedBy('Approved');
    case 'denied':
      return decidedBy('Denied');
    case 'expired':
      // Everyone reads this copy; only the requester can ask again, so it is said, not offered as a button.
      return 'PIM dropped this request after 24 hours without a decision. The requester can ask again in PIM.';
    case 'cancelled':
      return 'This request was cancelled.';
    default:
      return assertNever(data.status);
  }
}

/** The identity-risk summary line's icon: how much the approver should look, in a symbol not a colour. */
function riskIcon(tone: ApprovalRiskBlock['tone']): string {
  switch (tone) {
    case 'attention':
      return '⛔ ';
    case 'warning':
      return '⚠ ';
    case 'good':
      return '✓ ';
    default:
      return assertNever(tone);
  }
}

function toViewModel(data: ApprovalCardData, view: ApprovalView): ApprovalViewModel {
  const final = isFinal(data.status);
  const state = stateLine(data, view);
  const detail = [data.requester.jobTitle, data.requester.department]
    .map((part) => clip(part, MAX.detail))
    .filter((part) => part.length > 0)
    .join(' · ');
  const role = clip(data.role.displayName, MAX.role);
  const scope = clip(data.role.scope, MAX.role);
  const duration = clip(data.durationText, MAX.serverLine);
  const ticket = data.ticket ? `${clip(data.ticket.system, MAX.ticketSystem)} ${clip(data.ticket.number, MAX.ticketNumber)}`.trim() : '';
  // The details say only what the top does not: role, scope, duration, ticket and time left are up there.
  const facts: Fact[] = [{ title: 'Requester', value: clip(data.requester.userPrincipalName, MAX.upn) }];
  const times = data.times ?? null;
  const start = clientTime(times?.windowStart);
  const end = clientTime(times?.windowEnd);
  // TextBlocks read markdown: only server-written text (durations, counts, instants) goes into these lines,
  // and no markdown of ours either, so no TextBlock on the card ever carries any.
  const windowLine = `Window: ${start ? (end ? `${start} – ${end}` : `from ${start}`) : clip(data.windowText, MAX.serverLine)}`;
  const deadline = clientTime(times?.expiresAt);
  const timeLine = final
    ? `Duration: ${duration}`
    : `Time left: ${deadline && times ? `${times.leftText} (PIM drops it ${deadline})` : clip(data.expiresText, MAX.serverLine)}`;
  const decidedAt = final && data.decision ? clientTime(data.decision.at) : undefined;

  const decisionJustification = final && data.decision ? clip(data.decision.justification, MAX.justification) : '';
  const message = clip(data.message, MAX.message);
  const clickedAt = clientTime(data.messageClickedAt);
  const riskFlags = clipList(data.riskFlags);
  const reasons = clipList(data.decisionReasons);
  const checkLines = checkLineViews(data.checkLines ?? []);
  const risk = data.identityRisk ?? null;
  const history = data.history ?? null;
  const historyDetails = history ? timedLineViews(history.details, MAX.historyDetails, '') : [];
  const detections = risk ? timedLineViews(risk.detections, MAX.detections, 'Detected ') : [];

  // What the approver judges, right under the justification (after the time line); the details fold open
  // below the decision.
  const signalLines: SignalLine[] = [];
  if (risk) signalLines.push({ label: riskIcon(risk.tone), text: clip(risk.headline, MAX.serverLine) });
  if (history) {
    const line = clip(history.line, MAX.serverLine);
    signalLines.push({ label: 'History: ', text: history.firstActivation ? `${line} · ⚠ first activation of this role` : line });
  }
  if (riskFlags.length > 0) signalLines.push({ label: 'Flags: ', text: riskFlags.join(' · ') });
  const approvers = clipList(data.approverNames ?? []);
  if (!final && approvers.length > 0) signalLines.push({ label: 'Who can approve: ', text: approvers.join(', ') });

  return {
    requestId: data.requestId,
    version: data.version,
    verbs: { approve: ApprovalVerb.Approve, deny: ApprovalVerb.Deny, refresh: ApprovalVerb.Refresh, remind: ApprovalVerb.Remind },
    inputId: DECISION_JUSTIFICATION_INPUT_ID,
    // Closed requests never change again, so their cards must not ask Teams to refresh.
    hasRefresh: !final,
    roleName: role,
    kindText: kindText(data.role.kind),
    statusText: statusText(data.status),
    hasStateLine: state.length > 0,
    stateLine: state,
    hasStateTime: decidedAt !== undefined,
    stateTime: decidedAt ? `on ${decidedAt}` : '',
    timeLine,
    windowLine,
    hasDecisionJustification: decisionJustification.length > 0,
    decisionJustificationLabel: "Approver's justification",
    decisionJustification,
    requesterName: clip(data.requester.displayName, MAX.name),
    hasRequesterDetail: detail.length > 0,
    requesterDetailText: ` · ${detail}`,
    askLine: `asks for ${duration} · ${scope}`,
    justification: clip(data.justification, MAX.justification) || '(none given)',
    hasTicket: ticket.length > 0,
    ticketText: ticket,
    signalLines,
    hasMessage: message.length > 0,
    message,
    hasMessageTime: message.length > 0 && clickedAt !== undefined,
    messageTime: clickedAt ? `Clicked ${clickedAt}` : '',
    // Buttons only for an approver on a request that is still open; the 'final' view never gets them.
    showDecisionForm: view === 'approver' && data.status === 'pending',
    showRemind: view === 'requester' && data.status === 'pending',
    draftJustification: clip(data.draftJustification, 500),
    detailsVisible: false,
    facts,
    hasRisk: risk !== null,
    riskFacts: (risk?.facts ?? []).slice(0, MAX.riskFacts).map((f) => {
      const time = clientTime(f.at);
      return { title: clip(f.title, 20), value: time ?? clip(f.value, MAX.serverLine), isTime: time !== undefined, isText: time === undefined };
    }),
    detections,
    hasHistoryDetails: historyDetails.length > 0,
    historyDetails,
    hasCheckLines: checkLines.length > 0,
    checkLines,
    hasReasons: reasons.length > 0,
    reasons,
  };
}

/**
 * Renders the approval card for one viewer.
 *
 * Status wins over view: a closed request renders as the final card whatever view is asked for, so no
 * copy of a closed card keeps live buttons. While the request is open every view carries
 * `refresh` (verb pim.refresh) so Teams asks the bot for a user-specific view. `userIds` is omitted on
 * purpose: Teams auto-refreshes for every member of chats and channels with at most 60 members, and a
 * list would be capped at 60 users anyway; larger channels get the manual "Refresh card" option.
 *
 * User text (justifications, ticket, requester and role names, reasons, check summaries, message) only ever lands in
 * TextRun.text, which renderers do not treat as markdown. adaptivecards-templating does not re-evaluate
 * `${...}` found inside data values, so such text is shown literally (tested).
 */
export function renderApprovalCard(data: ApprovalCardData, view: ApprovalView): AdaptiveCardJson {
  const model = toViewModel(data, view);
  const card = (approvalTemplateCompiled?.(model) ?? approvalTemplateParsed.expand({ $root: model })) as AdaptiveCardJson;
  // A false `$when` on an object-valued property leaves `refresh: null`, which the schema rejects.
  if (card.refresh == null) delete card.refresh;
  // Likewise a card-level `actions` whose only entry was dropped by `$when`.
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  return card;
}
