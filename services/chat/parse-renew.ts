import { FILLER, matchWholeName, type RoleCandidate, type RoleMatch } from './match-role';
import { stripMentions } from './parse-command';
import { WorkingText } from './working-text';

/** "renew security operator", "please renew my sql admins", "renewal of exchange admin": renewing an expired eligibility. */
const RENEW_COMMAND = /^\s*(?:please\s+)?(?:renew|renewal)\b\s*(?:of\s+)?(.*)$/is;

/** True when the message asks to renew an expired eligibility (then the expired ones are read and the role matched). */
export function looksLikeRenewCommand(text: string): boolean {
  return RENEW_COMMAND.test(stripMentions(text));
}

export type RenewCommand =
  /** The expired eligibility the user named. */
  | { kind: 'renew'; role: RoleMatch }
  /** The intent is clear but the role is not (or it has not expired): `question` says what to type. */
  | { kind: 'clarify'; question: string };

/**
 * Reads a "renew my expired access" message against the user's eligibilities that *expired* in the last 30 days
 * (PIM renews only those; a current one is extended instead). `eligible`, the current ones, lets a role that has
 * not expired be named as such. Null when the message is not such a command. No I/O: the chat handler renews it.
 */
export function parseRenewCommand(text: string, expired: readonly RoleCandidate[], eligible: readonly RoleCandidate[] = []): RenewCommand | null {
  const m = RENEW_COMMAND.exec(stripMentions(text));
  if (!m) return null;
  const rest = m[1]!.trim().replace(/[.!?]+$/, '');
  const example = expired[0] ? ` For example "renew ${expired[0].displayName}".` : '';
  const expiredList = expired.length ? ` Expired in the last 30 days: ${expired.map((c) => c.displayName).join(', ')}.` : '';
  const tokens = new WorkingText(rest)
    .tokens()
    .filter((t) => !FILLER.has(t.norm) && !['role', 'access', 'eligibility', 'assignment', 'expired'].includes(t.norm));
  // The whole name (typos and abbreviations allowed), never a part of one, as for "done <role>".
  const lookup = tokens.length ? matchWholeName(tokens, [...expired]) : null;
  if (lookup?.kind === 'match') return { kind: 'renew', role: lookup.match };
  if (lookup?.kind === 'ambiguous') {
    return { kind: 'clarify', question: `Which one do you mean: ${lookup.candidates.map((c) => c.displayName).join(' or ')}?${example}` };
  }
  const current = tokens.length ? matchWholeName(tokens, [...eligible]) : null;
  if (current?.kind === 'match') {
    const name = current.match.candidate.displayName;
    return {
      kind: 'clarify',
      question: `Your eligibility for ${name} has not expired, so there is nothing to renew: PIM renews an assignment only after it ends. To keep it longer, type "extend ${name}".`,
    };
  }
  if (expired.length === 0) {
    return {
      kind: 'clarify',
      question:
        'You have no expired assignment to renew: PIM keeps one for 30 days after it ends, and none of yours ended in that time. For one that is about to end, type "extend <role>".',
    };
  }
  // A bare "renew" may answer something else: the role is always named.
  if (tokens.length === 0) return { kind: 'clarify', question: `Which expired assignment do you want to renew?${expiredList}${example}` };
  return { kind: 'clarify', question: `"${rest}" is not one of your expired assignments, so there is nothing to renew.${expiredList}${example}` };
}
