import { matchWholeName, type RoleCandidate } from './match-role';
import { WorkingText } from './working-text';

/** Where a free-text reason starts: a role named there ("because the Exchange Administrator is away") is not the one asked for. */
const REASON = /\bbecause\b|\breason\s*[:-]|\bjustification\s*[:-]|(?:^|\s)[-–—]+\s/i;

/**
 * The tenant role the user named (in full or shortened: "sharepoint admin", "helpdesk adm") when it is
 * not one of theirs, so the chat says "you are not eligible for SharePoint Administrator" instead of
 * offering the eligible roles that share a word with it. Null when the name is one of theirs, when it
 * names no tenant role as a whole, or when it could be several.
 */
export function ineligibleRoleNamed(text: string, eligibleNames: readonly string[], tenantNames: readonly string[]): string | null {
  const said = text.split(REASON)[0] ?? '';
  const mine = new Set(eligibleNames.map((n) => n.toLowerCase()));
  const byKey = new Map<string, RoleCandidate>();
  for (const name of [...tenantNames, ...eligibleNames]) {
    const key = name.toLowerCase();
    if (!byKey.has(key)) byKey.set(key, { id: key, displayName: name, kind: 'entraRole' });
  }
  const lookup = matchWholeName(new WorkingText(said).tokens(), [...byKey.values()]);
  if (lookup.kind !== 'match') return null;
  return mine.has(lookup.match.candidate.id) ? null : lookup.match.candidate.displayName;
}
