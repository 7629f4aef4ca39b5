import { Template } from 'adaptivecards-templating';
import { assertNever, isFinal, type RequestStatus } from '../services/approvals/request-lifecycle';
import type { AdaptiveCardJson } from './adaptive-card';
import approvalTemplate from './approval-request.json';
import { clip, clipBytes, clipList as clipItems, type Colour, type ContainerStyle } from './card-text';
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
  status: RequestStatus;
  decision?: { byDisplayName: string; byUserPrincipalName: string; atText: string; justification: string } | null;
  /** A line for this viewer, e.g. 'Only approvers of this role can decide.' */
  message?: string | null;
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
  facts: Array<{ title: string; value: string }>;
  /** Recent risk detections, one line each (type, level and state, when, where). */
  detections: string[];
}

export interface ApprovalHistoryBlock {
  /** One compact line, e.g. "5 activations in 90 days · last 3 days ago · 1 denial", or "History unavailable". */
  line: string;
  /** No earlier activation of this role on record: shown prominently. */
  firstActivation: boolean;
  /** Shown when the approver expands the history (last activation, denials with reasons). */
  details: string[];
}

/** Where a requester activates a role again (declared with the Microsoft endpoints; the expired card links it). */
export { PIM_MY_ROLES_URL };

export const ApprovalVerb = { Approve: 'pim.approve', Deny: 'pim.deny', Refresh: 'pim.refresh' } as const;
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

interface StatusLook {
  text: string;
  colour: Colour;
  style: ContainerStyle;
}

function statusLook(status: RequestStatus): StatusLook {
  switch (status) {
    case 'pending':
      return { text: 'Pending approval', colour: 'warning', style: 'default' };
    case 'recording':
      return { text: 'Recording…', colour: 'accent', style: 'default' };
    case 'approved':
      return { text: 'Approved', colour: 'good', style: 'good' };
    case 'denied':
      return { text: 'Denied', colour: 'attention', style: 'attention' };
    case 'expired':
      return { text: 'Expired', colour: 'warning', style: 'warning' };
    case 'cancelled':
      return { text: 'Cancelled', colour: 'default', style: 'emphasis' };
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

/** A check line for the template: the result as a word first, so it reads without colour (dark, high contrast). */
interface CheckLineView {
  word: string;
  colour: Colour;
  /** ` · Ticket: ` — the check's plain name between the word and the summary. */
  nameText: string;
  summary: string;
}

function checkWord(line: ApprovalCheckLine): { word: string; colour: Colour } {
  switch (line.result) {
    case 'pass':
      return { word: 'Passed', colour: 'good' };
    case 'fail':
      return line.onFail === 'deny' ? { word: 'Failed', colour: 'attention' } : { word: 'Flagged', colour: 'warning' };
    case 'unavailable':
      return { word: 'Could not be completed', colour: 'warning' };
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
    const look = checkWord(line);
    return {
      word: look.word,
      colour: look.colour,
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
  verbs: { approve: string; deny: string; refresh: string };
  inputId: string;
  hasRefresh: boolean;
  roleName: string;
  kindText: string;
  statusText: string;
  statusColor: Colour;
  statusStyle: ContainerStyle;
  hasStateLine: boolean;
  stateLine: string;
  stateColor: Colour;
  hasDecisionJustification: boolean;
  decisionJustification: string;
  hasMessage: boolean;
  message: string;
  requesterName: string;
  requesterUpn: string;
  hasRequesterDetail: boolean;
  requesterDetail: string;
  facts: Fact[];
  hasRiskFlags: boolean;
  riskFlags: string[];
  hasReasons: boolean;
  reasons: string[];
  hasCheckLines: boolean;
  checkLines: CheckLineView[];
  hasRisk: boolean;
  riskStyle: ContainerStyle;
  riskColor: Colour;
  riskHeadline: string;
  riskFacts: Fact[];
  hasDetections: boolean;
  detections: string[];
  hasHistory: boolean;
  historyLine: string;
  firstActivation: boolean;
  hasHistoryDetails: boolean;
  historyDetails: string[];
  justification: string;
  showDecisionForm: boolean;
  hasReRequest: boolean;
  reRequestUrl: string;
}

function stateLine(data: ApprovalCardData, view: ApprovalView): { text: string; colour: Colour } {
  const decidedBy = (verb: string): string => {
    // Decided in the portal or by email: the bot reads PIM with its own identity, which cannot see the reviewer.
    if (!data.decision) return `${verb} in PIM, outside Teams.`;
    const name = clip(data.decision.byDisplayName, MAX.name);
    const upn = clip(data.decision.byUserPrincipalName, MAX.upn);
    return `${verb} by ${name} (${upn}) at ${clip(data.decision.atText, MAX.serverLine)}`;
  };
  switch (data.status) {
    case 'pending':
      return view === 'approver'
        ? { text: 'Approve or deny below. PIM records your decision under your name.', colour: 'default' }
        : { text: 'Waiting for an approver', colour: 'warning' };
    case 'recording':
      return {
        text: view === 'approver' ? 'Recording your decision in PIM…' : 'Recording a decision in PIM…',
        colour: 'accent',
      };
    case 'approved':
      return { text: decidedBy('Approved'), colour: 'good' };
    case 'denied':
      return { text: decidedBy('Denied'), colour: 'attention' };
    case 'expired':
      return { text: 'PIM dropped this request after 24 hours without a decision.', colour: 'warning' };
    case 'cancelled':
      return { text: 'This request was cancelled.', colour: 'default' };
    default:
      return assertNever(data.status);
  }
}

function toViewModel(data: ApprovalCardData, view: ApprovalView): ApprovalViewModel {
  const final = isFinal(data.status);
  const look = statusLook(data.status);
  const state = stateLine(data, view);
  const detail = [data.requester.jobTitle, data.requester.department]
    .map((part) => clip(part, MAX.detail))
    .filter((part) => part.length > 0)
    .join(' · ');
  const facts: Fact[] = [
    { title: 'Role', value: clip(data.role.displayName, MAX.role) },
    { title: 'Scope', value: clip(data.role.scope, MAX.role) },
    { title: 'Duration', value: clip(data.durationText, MAX.serverLine) },
    { title: 'Window', value: clip(data.windowText, MAX.serverLine) },
  ];
  if (data.ticket) {
    const ticket = `${clip(data.ticket.system, MAX.ticketSystem)} ${clip(data.ticket.number, MAX.ticketNumber)}`.trim();
    if (ticket) facts.push({ title: 'Ticket', value: ticket });
  }
  // A countdown on a closed request would be noise: PIM no longer drops it.
  if (!final) facts.push({ title: 'Time left', value: clip(data.expiresText, MAX.serverLine) });

  const decisionJustification = final && data.decision ? clip(data.decision.justification, MAX.justification) : '';
  const message = clip(data.message, MAX.message);
  const riskFlags = clipList(data.riskFlags);
  const reasons = clipList(data.decisionReasons);
  const checkLines = checkLineViews(data.checkLines ?? []);
  const risk = data.identityRisk ?? null;
  const history = data.history ?? null;
  const historyDetails = history ? clipItems(history.details, MAX.historyDetails, MAX.signalLine) : [];
  const detections = risk ? clipItems(risk.detections, MAX.detections, MAX.signalLine) : [];
  return {
    requestId: data.requestId,
    version: data.version,
    verbs: { approve: ApprovalVerb.Approve, deny: ApprovalVerb.Deny, refresh: ApprovalVerb.Refresh },
    inputId: DECISION_JUSTIFICATION_INPUT_ID,
    // Closed requests never change again, so their cards must not ask Teams to refresh.
    hasRefresh: !final,
    roleName: clip(data.role.displayName, MAX.role),
    kindText: kindText(data.role.kind),
    statusText: look.text,
    statusColor: look.colour,
    statusStyle: look.style,
    hasStateLine: state.text.length > 0,
    stateLine: state.text,
    stateColor: state.colour,
    hasDecisionJustification: decisionJustification.length > 0,
    decisionJustification,
    hasMessage: message.length > 0,
    message,
    requesterName: clip(data.requester.displayName, MAX.name),
    requesterUpn: clip(data.requester.userPrincipalName, MAX.upn),
    hasRequesterDetail: detail.length > 0,
    requesterDetail: detail,
    facts,
    hasRiskFlags: riskFlags.length > 0,
    riskFlags,
    hasReasons: reasons.length > 0,
    reasons,
    hasCheckLines: checkLines.length > 0,
    checkLines,
    hasRisk: risk !== null,
    riskStyle: risk?.tone ?? 'default',
    riskColor: risk ? (risk.tone === 'good' ? 'good' : risk.tone) : 'default',
    riskHeadline: clip(risk?.headline, MAX.serverLine),
    riskFacts: (risk?.facts ?? []).slice(0, MAX.riskFacts).map((f) => ({ title: clip(f.title, 20), value: clip(f.value, MAX.serverLine) })),
    hasDetections: detections.length > 0,
    detections,
    hasHistory: history !== null,
    historyLine: clip(history?.line, MAX.serverLine),
    firstActivation: history?.firstActivation ?? false,
    hasHistoryDetails: historyDetails.length > 0,
    historyDetails,
    justification: clip(data.justification, MAX.justification) || '(none given)',
    // Buttons only for an approver on a request that is still open; the 'final' view never gets them.
    showDecisionForm: view === 'approver' && data.status === 'pending',
    // Whoever sees an expired card, the requester is the one who can ask again; the link carries nothing.
    hasReRequest: data.status === 'expired',
    reRequestUrl: PIM_MY_ROLES_URL,
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
