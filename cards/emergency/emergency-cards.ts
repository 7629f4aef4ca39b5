import { Template } from 'adaptivecards-templating';
import { formatTime } from '../../services/text/format-time';
import type { AdaptiveCardJson } from '../adaptive-card';
import breakGlassTemplate from './break-glass.json';
import noteTemplate from './emergency-note.json';
import reviewTemplate from './emergency-review.json';

/**
 * Break-glass cards: the BREAK-GLASS broadcast (approver and security channels), the post-incident note asked of
 * the requester when the activation ends, and the admin digest's "Break-glass grants to review". Every text from
 * the directory or the requester is a TextRun value (never markdown, a link or a mention). Button data carries
 * the grant's id only; the handler reloads the grant and authorises the clicker against it.
 */
export const EmergencyVerb = {
  /** The requester's post-incident note, typed into `emergencyNoteInputId(grantId)`. */
  Note: 'emergency.note',
  /** A second person: the grant looks right. */
  Review: 'emergency.review',
  /** A second person flags the grant, with the note typed into `emergencyReviewNoteInputId(grantId)`. */
  Flag: 'emergency.flag',
} as const;
export type EmergencyVerbName = (typeof EmergencyVerb)[keyof typeof EmergencyVerb];

export const EMERGENCY_NOTE_MAX_LENGTH = 1000;

export function emergencyNoteInputId(grantId: string): string {
  return `emergencyNote.${grantId}`;
}

export function emergencyReviewNoteInputId(grantId: string): string {
  return `emergencyReviewNote.${grantId}`;
}

const breakGlassParsed = new Template(breakGlassTemplate);
const noteParsed = new Template(noteTemplate);
const reviewParsed = new Template(reviewTemplate);

/** One break-glass grant as the cards show it (names already resolved from the directory). */
export interface BreakGlassGrantView {
  grantId: string;
  /** e.g. "Alex Wilber (alexw@contoso.example)". */
  requester: string;
  role: string;
  /** e.g. `INC0013001 (priority 1 - Critical)`. */
  incident: string;
  onCall: string;
  justification: string | null;
  grantedAt: string;
  endsAt: string | null;
  /** Minutes, when PIM gave a duration. */
  durationMinutes: number | null;
}

function duration(minutes: number | null): string {
  if (minutes === null) return 'no end given';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return [h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ') || '0 min';
}

/**
 * The BREAK-GLASS broadcast: who, which role, which incident, the on-call evidence, how long, when, and whether PIM's
 * own copy of the request confirms what the callout said (`pim`).
 */
export function renderBreakGlassCard(g: BreakGlassGrantView & { pim?: string }): AdaptiveCardJson {
  const lines = [
    { lead: 'Who: ', rest: g.requester },
    { lead: 'Role: ', rest: g.role },
    { lead: 'Incident: ', rest: g.incident },
    { lead: 'On call: ', rest: g.onCall },
    { lead: 'Duration: ', rest: `${duration(g.durationMinutes)}${g.endsAt ? `, until ${formatTime(g.endsAt)}` : ''}` },
    { lead: 'Granted: ', rest: formatTime(g.grantedAt) },
    ...(g.justification ? [{ lead: 'Justification: ', rest: g.justification }] : []),
    ...(g.pim ? [{ lead: 'PIM: ', rest: g.pim }] : []),
  ];
  return breakGlassParsed.expand({ $root: { lines } }) as AdaptiveCardJson;
}

/** The post-incident note asked of the requester when the access ends; with `answer`, what was recorded (no input). */
export function renderEmergencyNoteCard(d: { grantId: string; role: string; incident: string; endedAt: string | null; answer?: string }): AdaptiveCardJson {
  const summary = `Your emergency access to ${d.role} for ${d.incident} ${d.endedAt ? `ended ${formatTime(d.endedAt)}` : 'has ended'}. Write a short post-incident note: what you did with it and why it was needed. It is kept with the grant and shown to its reviewer.`;
  return noteParsed.expand({
    $root: {
      summary,
      grantId: d.grantId,
      verb: EmergencyVerb.Note,
      noteInputId: emergencyNoteInputId(d.grantId),
      noteMaxLength: EMERGENCY_NOTE_MAX_LENGTH,
      hasAnswer: Boolean(d.answer),
      answer: d.answer ?? '',
    },
  }) as AdaptiveCardJson;
}

/** One grant in the review list. */
export interface EmergencyReviewEntry extends BreakGlassGrantView {
  note: string | null;
  overdue: boolean;
  reviewBy: string;
}

/**
 * The admin digest's "Break-glass grants to review": each unreviewed grant with Looks right / Flag; a grant in
 * `answers` shows what was recorded in place of its buttons.
 */
export function renderEmergencyReviewCard(d: { entries: EmergencyReviewEntry[]; reviewWithinHours: number; answers?: Map<string, string> }): AdaptiveCardJson {
  const entries = d.entries.map((e) => {
    const answer = d.answers?.get(e.grantId);
    return {
      grantId: e.grantId,
      lead: `${e.requester}`,
      rest: ` used break-glass for ${e.role}`,
      details: [
        `Incident: ${e.incident}`,
        `Granted: ${formatTime(e.grantedAt)}${e.endsAt ? `, until ${formatTime(e.endsAt)}` : ''}`,
        `On call: ${e.onCall}`,
        e.note ? `Post-incident note: ${e.note}` : 'Post-incident note: not written yet',
        e.overdue ? `OVERDUE: review was due ${formatTime(e.reviewBy)}` : `Review by ${formatTime(e.reviewBy)}`,
      ],
      noteInputId: emergencyReviewNoteInputId(e.grantId),
      hasAnswer: Boolean(answer),
      answer: answer ?? '',
    };
  });
  return reviewParsed.expand({
    $root: {
      note: `A second person (not the requester) reviews each emergency grant within ${d.reviewWithinHours} hours: Looks right, or Flag with what looks wrong.`,
      entries,
      verbs: { review: EmergencyVerb.Review, flag: EmergencyVerb.Flag },
      noteMaxLength: EMERGENCY_NOTE_MAX_LENGTH,
    },
  }) as AdaptiveCardJson;
}
