import { Template } from 'adaptivecards-templating';
import { assertNever } from '../../services/approvals/request-lifecycle';
import type { ActivationPolicy, TargetKind } from '../../services/elevation/types';
import type { AdaptiveCardJson } from '../adaptive-card';
import formTemplate from './activation-form.json';
import { clip, clipList, nameList, prefill } from '../card-text';
import { ChatVerb, FORM_INPUT } from './chat-verbs';
import { formatDuration, formatDurationWords } from '../../services/text/format-time';

/** Parsed once: parsing the template is most of a render's cost; expanding it leaves it unchanged. */
const formTemplateParsed = new Template(formTemplate);

export interface ActivationFormData {
  draftId: string;
  target: { key: string; title: string; kind: TargetKind };
  policy: ActivationPolicy & { approverNames: string[] };
  values: { durationMinutes: number | null; ticketSystem: string | null; ticketNumber: string | null; justification: string | null };
  /**
   * What is missing or wrong, each a sentence that says what to do ("PIM needs a ticket for Security
   * Operator: enter the incident or change number."). Shown prominently at the top: bold, in the text colour,
   * in an attention-style container (Teams' attention text colour fails contrast on that container).
   */
  problems: string[];
  /**
   * 'form' when the user still has to fill something; 'confirm' when everything parsed and the user only
   * confirms (same inputs, prefilled, heading "Confirm your request").
   */
  mode: 'form' | 'confirm';
}

/** The durations offered besides the policy's maximum, in minutes. */
export const STANDARD_DURATIONS_MINUTES: readonly number[] = [30, 60, 120, 240, 480, 720, 1440];

/** The value the ticket-system dropdown sends for each system it lists. */
export const TICKET_SYSTEMS = ['ServiceNow', 'Jira', 'Other'] as const;

/** PIM caps justifications at 500 characters; ticket numbers get the approval card's cap. */
const INPUT_MAX = { justification: 500, ticketNumber: 64 } as const;
const MAX = { role: 200, name: 120, names: 5, problem: 300, problems: 5, context: 40 } as const;

export interface DurationChoice {
  title: string;
  /** Minutes as a string, which is what the dropdown sends back. */
  value: string;
}

/**
 * The standard durations below the policy maximum, the user's own duration when it is allowed but not
 * standard (so "90 minutes" typed in chat is kept), and always the maximum itself, marked, in ascending
 * order. A maximum that is not a positive number of minutes is a bug upstream: fail loudly here rather
 * than offer durations PIM would reject.
 */
export function durationChoices(maximumMinutes: number, wantedMinutes: number | null = null): DurationChoice[] {
  const max = Math.floor(maximumMinutes);
  if (!Number.isFinite(max) || max < 1) {
    throw new Error(`Activation policy maximum must be a positive number of minutes, got ${String(maximumMinutes)}`);
  }
  const below = new Set(STANDARD_DURATIONS_MINUTES.filter((minutes) => minutes < max));
  if (wantedMinutes !== null && Number.isInteger(wantedMinutes) && wantedMinutes > 0 && wantedMinutes < max) {
    below.add(wantedMinutes);
  }
  return [
    ...[...below].sort((a, b) => a - b).map((minutes) => ({ title: formatDuration(minutes), value: String(minutes) })),
    { title: `${formatDuration(max)} (maximum)`, value: String(max) },
  ];
}

function kindText(kind: TargetKind): string {
  switch (kind) {
    case 'entraRole':
      return 'Entra role';
    case 'group':
      return 'PIM group';
    case 'azureResource':
      return 'Azure role';
    default:
      return assertNever(kind);
  }
}

/** "Entra role · up to 4 hours · needs approval by Megan Bowen, Patti Fernandez · needs MFA". */
function factsLine(d: ActivationFormData): string {
  const policy = d.policy;
  const facts = [kindText(d.target.kind), `up to ${formatDurationWords(Math.floor(policy.maximumMinutes))}`];
  if (policy.approvalRequired) {
    const names = nameList(policy.approverNames, MAX.names, MAX.name);
    facts.push(names ? `needs approval by ${names}` : 'needs approval');
  } else {
    facts.push('activates without approval');
  }
  if (policy.mfaRequired) facts.push('needs MFA');
  // The context's id ("c1") means nothing to the user; what they meet is a second, stronger sign-in.
  if (clip(policy.authenticationContext, MAX.context)) facts.push('needs a stronger sign-in');
  return facts.join(' · ');
}

/** The dropdown's value for what the parser found: a listed system, else 'Other' for any other name. */
function ticketSystemValue(system: string | null): string {
  const cleaned = clip(system, MAX.name);
  if (!cleaned) return '';
  return TICKET_SYSTEMS.find((listed) => listed.toLowerCase() === cleaned.toLowerCase()) ?? 'Other';
}

interface FormViewModel {
  draftId: string;
  inputs: typeof FORM_INPUT;
  verbs: { submit: string; discard: string };
  hasProblems: boolean;
  problems: string[];
  isConfirm: boolean;
  roleTitle: string;
  titleSize: 'Large' | 'Medium';
  titleSpacing: 'Default' | 'None';
  factsLine: string;
  durationChoices: DurationChoice[];
  durationValue: string;
  hasTicket: boolean;
  ticketSystemValue: string;
  ticketNumberValue: string;
  ticketNumberMaxLength: number;
  justificationLabel: string;
  justificationRequired: boolean;
  justificationValue: string;
  justificationMaxLength: number;
}

function toViewModel(d: ActivationFormData): FormViewModel {
  const choices = durationChoices(d.policy.maximumMinutes, d.values.durationMinutes);
  const wanted = d.values.durationMinutes === null ? '' : String(d.values.durationMinutes);
  const problems = clipList(d.problems, MAX.problems, MAX.problem);
  const confirm = d.mode === 'confirm';
  return {
    draftId: d.draftId,
    inputs: FORM_INPUT,
    verbs: { submit: ChatVerb.Submit, discard: ChatVerb.Discard },
    hasProblems: problems.length > 0,
    problems,
    isConfirm: confirm,
    roleTitle: clip(d.target.title, MAX.role) || 'Role',
    titleSize: confirm ? 'Medium' : 'Large',
    titleSpacing: confirm ? 'None' : 'Default',
    factsLine: factsLine(d),
    durationChoices: choices,
    // Only a duration the dropdown offers (one over the maximum is not): renderers treat others inconsistently.
    durationValue: choices.some((choice) => choice.value === wanted) ? wanted : '',
    hasTicket: d.policy.ticketRequired,
    ticketSystemValue: ticketSystemValue(d.values.ticketSystem),
    ticketNumberValue: prefill(d.values.ticketNumber, INPUT_MAX.ticketNumber),
    ticketNumberMaxLength: INPUT_MAX.ticketNumber,
    justificationLabel: d.policy.justificationRequired ? 'Justification' : 'Justification (optional)',
    justificationRequired: d.policy.justificationRequired,
    justificationValue: prefill(d.values.justification, INPUT_MAX.justification),
    justificationMaxLength: INPUT_MAX.justification,
  };
}

/**
 * The activation form for one target, or in 'confirm' mode the same form prefilled under "Confirm your
 * request". Both buttons send {draftId} only: 'Submit request' (`chat.submit`) with every input,
 * 'Cancel' (`chat.discard`) with none. The handler re-checks the inputs against the policy, so the form
 * has no client-side regex (the Teams playground rejects it) and its limits are hints.
 */
export function renderActivationForm(d: ActivationFormData): AdaptiveCardJson {
  return formTemplateParsed.expand({ $root: toViewModel(d) }) as AdaptiveCardJson;
}
