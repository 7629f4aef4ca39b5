import { editDistance } from './edit-distance';
import { FILLER, matchRole, type RoleCandidate, type RoleLookup, type RoleMatch } from './match-role';
export type { RoleCandidate, RoleMatch } from './match-role';
import { takeDuration } from './parse-duration';
import { findTicket, takeTicket } from './parse-ticket';
import { type Token, WorkingText } from './working-text';

export type ParsedCommand =
  | {
      kind: 'activate';
      role: RoleMatch;
      durationMinutes: number | null;
      ticket: { system: string | null; number: string } | null;
      justification: string | null;
    }
  | { kind: 'roles' }
  | { kind: 'status' }
  | { kind: 'help' }
  /** `requestRef` is what the user typed when it looks like an id, else the id of the role they named. */
  | { kind: 'cancel'; requestRef: string | null }
  | { kind: 'extend'; role: RoleMatch }
  /** The intent is clear but something is missing or ambiguous; `question` says what to type. */
  | { kind: 'clarify'; question: string }
  /** Not a command; `hint` lists what the user can type. */
  | { kind: 'unknown'; hint: string };

type Verb = 'activate' | 'cancel' | 'extend';

// Strong verbs name the command; weak ones ("I need …") only mean activate when no strong verb is present.
const STRONG_VERBS: Record<string, Verb> = {
  activate: 'activate',
  activation: 'activate',
  elevate: 'activate',
  cancel: 'cancel',
  revoke: 'cancel',
  withdraw: 'cancel',
  extend: 'extend',
  extension: 'extend',
  // Not "renew": PIM renews only an expired eligibility, its own command (services/chat/parse-renew.ts).
  prolong: 'extend',
};
const WEAK_ACTIVATE = new Set(['need', 'needs', 'want', 'get', 'give', 'grant', 'request', 'enable', 'pim', 'elevation']);

const HELP_WORDS = new Set(['help', '?', 'commands', 'command', 'usage', 'hi', 'hello', 'hey']);
const HELP_FILLER = new Set(['what', 'can', 'you', 'do', 'please', 'me', 'show', 'i', 'how', 'does', 'this', 'work', 'the', 'bot', 'pim']);
const ROLES_WORDS = new Set(['roles', 'role', 'eligible', 'eligibility', 'groups']);
const ROLES_FILLER = new Set([
  'my',
  'show',
  'list',
  'me',
  'what',
  'which',
  'are',
  'can',
  'i',
  'activate',
  'do',
  'have',
  'all',
  'available',
  'the',
  'please',
  'and',
  'active',
  'get',
]);
const STATUS_WORDS = new Set(['status', 'pending', 'requests', 'waiting', 'approvals']);
const STATUS_FILLER = new Set([
  'my',
  'whats',
  'what',
  'is',
  'show',
  'me',
  'the',
  'of',
  'for',
  'please',
  'are',
  'there',
  'any',
  'anything',
  'to',
  'i',
  'list',
  'all',
  'approve',
  'on',
  'request',
]);
const CANCEL_FILLER = new Set(['my', 'the', 'request', 'pending', 'activation', 'please', 'for', 'of', 'it', 'that', 'this', 'last', 'a', 'an', 'role']);

/** The message as the user typed it: Teams' @mention markup, HTML and a leading @bot removed. */
export function stripMentions(text: string): string {
  return text
    .replace(/<at\b[^>]*>.*?<\/at>/gis, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/^\s*@\S+(?:\s+(?:pim|approvals|bot))*/i, ' ');
}

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function eligibleText(eligible: RoleCandidate[]): string {
  if (eligible.length === 0) {
    return 'You are not eligible for any role or group in PIM yet; ask your PIM administrator to make you eligible.';
  }
  return `You are eligible for: ${eligible.map((c) => c.displayName).join(', ')}.`;
}

function hint(eligible: RoleCandidate[]): string {
  return (
    'I did not understand that. Try "activate <role> for 2h ticket INC0012345 because <reason>", ' +
    `"roles", "status", "cancel", "extend <role>", "renew <role>" or "help". ${eligibleText(eligible)}`
  );
}

function verbOf(token: string): Verb | null {
  const direct = STRONG_VERBS[token];
  if (direct) return direct;
  for (const [verb, kind] of Object.entries(STRONG_VERBS)) {
    // Typos are forgiven only on long verbs: "cancle", "actvate"; short words are too easily other words.
    const budget = verb.length >= 8 ? 2 : verb.length >= 6 ? 1 : 0;
    if (token.length >= 5 && editDistance(token, verb) <= budget) return kind;
  }
  return null;
}

function onlyWords(tokens: Token[], keywords: Set<string>, filler: Set<string>): boolean {
  return tokens.some((t) => keywords.has(t.norm)) && tokens.every((t) => keywords.has(t.norm) || filler.has(t.norm));
}

function roleProblem(lookup: RoleLookup, verb: Verb, said: string, eligible: RoleCandidate[]): ParsedCommand {
  if (lookup.kind === 'ambiguous') {
    const names = lookup.candidates.map((c) => c.displayName);
    return { kind: 'clarify', question: `Which one do you mean: ${list(names)}? For example "${verb} ${names[0]}".` };
  }
  if (eligible.length === 0) return { kind: 'clarify', question: eligibleText(eligible) };
  const example = `For example "${verb} ${eligible[0]!.displayName}".`;
  if (said === '') {
    return { kind: 'clarify', question: `Which role do you want to ${verb}? ${eligibleText(eligible)} ${example}` };
  }
  return {
    kind: 'clarify',
    question: `I could not find "${said}" among your roles. ${eligibleText(eligible)} ${example}`,
  };
}

/** Leading and trailing connecting words that are not part of a reason ("… for INC1, locked-out CFO"). */
const EDGE = String.raw`(?:(?:for|to|with|please|pls|plz|and|thanks|thx|role|now|so)\b|[\s,.;:!?\-–—])+`;

function freeText(work: WorkingText): string | null {
  const rest = work
    .remainder()
    .replace(new RegExp(`^${EDGE}`, 'i'), '')
    .replace(new RegExp(`${EDGE}$`, 'i'), '');
  const meaningful = (rest.toLowerCase().match(/[a-z0-9]+/g) ?? []).some((w) => !FILLER.has(w) && !WEAK_ACTIVATE.has(w));
  return meaningful ? rest.trim() : null;
}

function parseCancel(work: WorkingText, eligible: RoleCandidate[]): ParsedCommand {
  const tokens = work.tokens().filter((t) => !CANCEL_FILLER.has(t.norm) && t.norm !== 'requests');
  if (tokens.length === 0) return { kind: 'cancel', requestRef: null };
  // A request id is whatever chunk of non-space text carries a digit ("req-42", a GUID).
  const chunk = work
    .remainder()
    .split(' ')
    .find((c) => /\d/.test(c));
  if (chunk) return { kind: 'cancel', requestRef: chunk.replace(/^[#([]+|[.,;:!?)\]]+$/g, '') };
  const lookup = matchRole(tokens, eligible);
  if (lookup.kind === 'match') return { kind: 'cancel', requestRef: lookup.match.candidate.id };
  return roleProblem(lookup, 'cancel', work.remainder(), eligible);
}

function parseExtend(work: WorkingText, eligible: RoleCandidate[]): ParsedCommand {
  const lookup = matchRole(work.tokens(), eligible);
  if (lookup.kind === 'match') return { kind: 'extend', role: lookup.match };
  const said = (
    work
      .remainder()
      .toLowerCase()
      .match(/[a-z0-9]+/g) ?? []
  ).every((w) => FILLER.has(w))
    ? ''
    : work.remainder();
  return roleProblem(lookup, 'extend', said, eligible);
}

/**
 * Turns a chat message into a command, without I/O: the handler validates against policy and asks the
 * user to confirm before anything reaches PIM. `now` and `timeZone` resolve "until 5pm".
 */
export function parseCommand(text: string, eligible: RoleCandidate[], now: Date, timeZone = 'UTC'): ParsedCommand {
  const work = new WorkingText(stripMentions(text));

  // An explicit reason runs to the end of the message and is kept verbatim.
  let justification: string | null = null;
  const marker = /(?:\bbecause\b|\breason\s*[:-]|\bjustification\s*[:-]|\bwhy\s*:|(?:^|\s)[-–—]+\s)/.exec(work.view);
  if (marker) {
    const said = work.original.slice(marker.index + marker[0].length).trim();
    work.consume(marker.index, work.original.length);
    justification = said === '' ? null : said;
  }

  const all = work.tokens();
  if (all.length === 0 && justification === null) return { kind: 'unknown', hint: hint(eligible) };
  if (justification === null && (onlyWords(all, HELP_WORDS, HELP_FILLER) || all.map((t) => t.norm).join(' ') === 'what can you do')) {
    return { kind: 'help' };
  }
  if (justification === null && onlyWords(all, ROLES_WORDS, ROLES_FILLER)) return { kind: 'roles' };
  if (justification === null && onlyWords(all, STATUS_WORDS, STATUS_FILLER)) return { kind: 'status' };

  const strong = all.map((t) => ({ t, verb: verbOf(t.norm) })).find((v) => v.verb !== null);
  const weak = strong ? undefined : all.find((t) => WEAK_ACTIVATE.has(t.norm));
  const verbToken = strong?.t ?? weak;
  if (verbToken) work.consume(verbToken.start, verbToken.end);
  const verb: Verb | null = strong?.verb ?? (weak ? 'activate' : null);

  if (verb === 'cancel') return parseCancel(work, eligible);
  if (verb === 'extend') return parseExtend(work, eligible);

  const ticket = takeTicket(work) ?? (justification ? findTicket(justification) : null);
  const duration = takeDuration(work, now, timeZone);
  const lookup = matchRole(work.tokens(), eligible);

  const activationIntent = verb === 'activate' || ticket !== null || duration.kind !== 'none' || justification !== null;
  if (lookup.kind !== 'match' && !activationIntent) return { kind: 'unknown', hint: hint(eligible) };
  if (lookup.kind !== 'match') {
    return roleProblem(lookup, 'activate', freeText(work) ?? '', eligible);
  }
  if (duration.kind === 'invalid') return { kind: 'clarify', question: duration.question };
  work.consume(lookup.start, lookup.end);
  return {
    kind: 'activate',
    role: lookup.match,
    durationMinutes: duration.kind === 'ok' ? duration.minutes : null,
    ticket,
    justification: justification ?? freeText(work),
  };
}
