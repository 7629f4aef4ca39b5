import { Template } from 'adaptivecards-templating';
import type { AdaptiveCardJson } from '../adaptive-card';
import { clientTime } from '../approval-card';
import { clip, clipList } from '../card-text';
import { EXTENSION_END_INPUT, EXTENSION_NOTE_INPUT, ExtensionVerb } from './extension-verbs';
import extensionTemplate from './extension-card.json';

/** Parsed once: parsing the template is most of a render's cost. */
const extensionTemplateParsed = new Template(extensionTemplate);

/** A check as it stands today: passes, fails (with why), or could not be made. */
export interface CheckToday {
  status: 'pass' | 'fail' | 'unknown';
  /** Plain text (directory or system words; shown as a TextRun). */
  detail: string;
}

export interface ExtensionCardData {
  askId: string;
  action: 'extend' | 'renew';
  assignment: 'eligible' | 'active';
  /** Directory text: "Alex Wilber (alexw@contoso.com)". */
  requester: string;
  /** The role, group (with member/owner) or Azure role, as PIM names it. */
  target: string;
  /** The scope in words: "Directory", the group's name, the subscription; null for the whole directory. */
  scope: string | null;
  currentEnd: string | null;
  requestedEnd: string | null;
  reason: string | null;
  /** Activations of this target in the last 90 days; null when PIM's history could not be read. */
  activations90d: { count: number; lastAt: string | null } | null;
  hr: CheckToday | null;
  risk: CheckToday | null;
  /** Who may decide, in words ("Privileged Role Administrators and Global Administrators"). */
  whoCan: string;
  /** The date input's first value and lowest allowed day (YYYY-MM-DD). */
  defaultEnd: string;
  minEnd: string;
  state:
    | { kind: 'open' }
    | { kind: 'recording'; byName: string }
    | { kind: 'extended' | 'renewed'; byName: string; at: string; newEnd: string; note: string | null }
    | { kind: 'declined'; byName: string; at: string; note: string | null }
    | { kind: 'withdrawn'; why: string };
  /** A line for the clicker (a refusal, or what PIM said); shown above the controls. */
  message?: string;
}

type Row = { label: string; kind: 'text' | 'time'; value: string };

/** A check's result in words (colour alone would not reach every reader, nor the contrast Teams' themes allow). */
const CHECK_WORDS = { pass: 'Passes', fail: 'Fails', unknown: 'Could not be checked' } as const;

/**
 * The admin channel's card for an ask to extend or renew an assignment: who, what, the current and asked-for
 * end, the reason, their use of it in the last 90 days and whether the HR and risk checks pass today; a date
 * and a note, then Extend (Renew) or Decline while it is open; afterwards who decided, when and why. Every
 * text from the directory or the user is a TextRun (never markdown); times are written in the reader's zone.
 */
export function renderExtensionCard(d: ExtensionCardData): AdaptiveCardJson {
  const renew = d.action === 'renew';
  const rows: Row[] = [];
  const text = (label: string, value: string) => rows.push({ label, kind: 'text', value });
  const time = (label: string, iso: string | null, otherwise: string) => {
    const t = clientTime(iso);
    if (t) rows.push({ label, kind: 'time', value: t });
    else text(label, otherwise);
  };
  if (d.scope) text('Scope', clip(d.scope, 200));
  text('Assignment', d.assignment === 'eligible' ? 'Eligible' : 'Active');
  time(renew ? 'Ended' : 'Ends', d.currentEnd, renew ? 'Ended (date not known)' : 'Not known');
  time('Asks until', d.requestedEnd, 'Not specified: choose the new end below');
  text('Reason', clip(d.reason, 500) || 'None given');
  text(
    'Activations, last 90 days',
    d.activations90d === null ? 'Could not be read from PIM' : d.activations90d.count === 0 ? 'None' : String(d.activations90d.count),
  );
  if (d.activations90d?.lastAt) time('Last activation', d.activations90d.lastAt, '');
  const check = (label: string, c: CheckToday | null) => {
    if (c) text(label, `${CHECK_WORDS[c.status]}: ${clip(c.detail, 300)}`);
  };
  check('HR check today', d.hr);
  check('Identity risk today', d.risk);

  const open = d.state.kind === 'open';
  const requester = clip(d.requester, 200);
  const target = clip(d.target, 200);
  let decided = '';
  let decidedAt = '';
  let decidedNote = '';
  let decidedStyle = 'default';
  switch (d.state.kind) {
    case 'open':
      break;
    case 'recording':
      decided = `Recording ${clip(d.state.byName, 120)}'s decision in PIM…`;
      break;
    case 'extended':
    case 'renewed':
      decided = `${d.state.kind === 'extended' ? 'Extended' : 'Renewed'} by ${clip(d.state.byName, 120)}, until:`;
      decidedAt = [clientTime(d.state.newEnd), clientTime(d.state.at) ? `Decided ${clientTime(d.state.at)}` : ''].filter(Boolean).join('  \n');
      decidedNote = clip(d.state.note, 500);
      decidedStyle = 'good';
      break;
    case 'declined':
      decided = `Declined by ${clip(d.state.byName, 120)}`;
      decidedAt = clientTime(d.state.at) ?? '';
      decidedNote = clip(d.state.note, 500);
      decidedStyle = 'attention';
      break;
    case 'withdrawn':
      decided = clip(d.state.why, 300);
      break;
  }
  return extensionTemplateParsed.expand({
    $root: {
      askId: d.askId,
      title: renew ? 'Renewal request' : 'Extension request',
      requester,
      askText: renew ? ' asks to renew their expired assignment of ' : ' asks to extend their assignment of ',
      target,
      rows,
      decided,
      decidedAt,
      decidedNote,
      decidedStyle,
      message: clip(d.message, 500),
      open,
      whoCan: `Who can decide: ${clipList([d.whoCan], 1, 300)[0] ?? 'PIM administrators of this role'}. You act in PIM as yourself.`,
      endLabel: renew ? 'Renew until (date)' : 'Extend until (date)',
      defaultEnd: d.defaultEnd,
      minEnd: d.minEnd,
      applyTitle: renew ? 'Renew' : 'Extend',
      inputs: { end: EXTENSION_END_INPUT, note: EXTENSION_NOTE_INPUT },
      verbs: { apply: ExtensionVerb.Apply, decline: ExtensionVerb.Decline },
      fallback: `A request to ${renew ? 'renew' : 'extend'} a PIM assignment is waiting for an administrator. Open Microsoft Teams to decide.`,
    },
  }) as AdaptiveCardJson;
}
