import { FILLER, matchWholeName, type RoleCandidate, type RoleMatch } from './match-role';
import { stripMentions } from './parse-command';
import { WorkingText } from './working-text';

/** "done security operator", "end sec op", "deactivate helpdesk admin": ending one of the user's active roles early. */
const END_COMMAND = /^\s*(?:i(?:'m| am)\s+)?(done|finished|end|deactivate)\b\s*(?:with\s+)?(.*)$/is;

/** True when the message asks to end an active role early (then the active roles are read and the role matched). */
export function looksLikeEndCommand(text: string): boolean {
  return END_COMMAND.test(stripMentions(text));
}

export type EndCommand =
  /** The active role the user named. */
  | { kind: 'end'; role: RoleMatch }
  /** The intent is clear but the role is not: `question` says what to type. */
  | { kind: 'clarify'; question: string };

/**
 * Reads an "end my access early" message against the user's *active* roles (not the eligible ones: only an
 * activation can be ended). Null when the message is not such a command. No I/O: the chat handler ends it.
 */
export function parseEndCommand(text: string, active: readonly RoleCandidate[]): EndCommand | null {
  const m = END_COMMAND.exec(stripMentions(text));
  if (!m) return null;
  const rest = m[2]!.trim().replace(/[.!?]+$/, '');
  const example = active[0] ? ` For example "done ${active[0].displayName}".` : '';
  const activeList = active.length ? ` Active now: ${active.map((c) => c.displayName).join(', ')}.` : '';
  if (active.length === 0) return { kind: 'clarify', question: 'You have no active role to end: nothing is activated for you in PIM right now.' };
  const work = new WorkingText(rest);
  const tokens = work.tokens().filter((t) => !FILLER.has(t.norm) && t.norm !== 'role' && t.norm !== 'access');
  // A bare "done" may answer something else: the role is always named, so access never ends by surprise.
  if (tokens.length === 0) return { kind: 'clarify', question: `Which role do you want to end now?${activeList}${example}` };
  // The whole name (typos and abbreviations allowed), never a part of one: "done global admin" must not end
  // Exchange Administrator because it is the only active role with "admin" in it.
  const lookup = matchWholeName(tokens, [...active]);
  if (lookup.kind === 'match') return { kind: 'end', role: lookup.match };
  if (lookup.kind === 'ambiguous') {
    return { kind: 'clarify', question: `Which one do you mean: ${lookup.candidates.map((c) => c.displayName).join(' or ')}?${example}` };
  }
  return { kind: 'clarify', question: `"${rest}" is not one of your active roles, so there is nothing to end.${activeList}${example}` };
}
