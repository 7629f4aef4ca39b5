import { editDistance, typoBudget } from './edit-distance';
import type { Token } from './working-text';

/** A role the user may ask for, as the chat knows it. */
export interface RoleCandidate {
  id: string;
  displayName: string;
  kind: 'entraRole' | 'group' | 'azureResource';
}

export type RoleMatch = { candidate: RoleCandidate; confidence: 'exact' | 'fuzzy' };

export type RoleLookup =
  | { kind: 'match'; match: RoleMatch; start: number; end: number }
  | { kind: 'ambiguous'; candidates: RoleCandidate[] }
  | { kind: 'none' };

/** Shorthand engineers type for Entra role words. Applied to the user's words, never to role names. */
const ABBREVIATIONS: Record<string, string[]> = {
  admin: ['administrator'],
  admins: ['administrator'],
  adm: ['administrator'],
  sec: ['security'],
  op: ['operator'],
  ops: ['operator'],
  oper: ['operator'],
  ga: ['global', 'administrator'],
  pra: ['privileged', 'role', 'administrator'],
  ca: ['conditional', 'access'],
  mgr: ['manager'],
  app: ['application'],
  apps: ['application'],
  vm: ['virtual', 'machine'],
  rg: ['resource', 'group'],
};

/** Words that are never part of a role name the user means ("the security operator role please"). */
export const FILLER = new Set([
  'a',
  'an',
  'the',
  'role',
  'roles',
  'group',
  'please',
  'pls',
  'plz',
  'me',
  'i',
  'my',
  'to',
  'as',
  'for',
  'now',
  'can',
  'you',
  'want',
  'would',
  'like',
  'be',
  'with',
  'of',
  'on',
  'in',
  'again',
  'membership',
]);

function words(s: string): string[] {
  return s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

function expand(tokens: string[]): string[] {
  return tokens.flatMap((t) => ABBREVIATIONS[t] ?? [t]);
}

interface Scored {
  candidate: RoleCandidate;
  distance: number;
  exact: boolean;
  start: number;
  end: number;
  width: number;
}

/** Contiguous runs of non-filler tokens; a role name is looked for inside one run. */
function runs(tokens: Token[], eligible: RoleCandidate[]): Token[][] {
  // "role" is filler, except for someone eligible for Privileged Role Administrator.
  const named = new Set(eligible.flatMap((c) => words(c.displayName)));
  const out: Token[][] = [];
  let run: Token[] = [];
  for (const t of tokens) {
    if (FILLER.has(t.norm) && !named.has(t.norm)) {
      if (run.length) out.push(run);
      run = [];
    } else run.push(t);
  }
  if (run.length) out.push(run);
  return out;
}

/** Whole-name match: the window's words, glued together, are within the typo budget of the name glued together. */
function wholeNameMatches(tokens: Token[], eligible: RoleCandidate[]): Scored[] {
  const scored: Scored[] = [];
  for (const candidate of eligible) {
    for (const name of nameForms(candidate)) scoreName(candidate, name);
  }
  return scored;

  function scoreName(candidate: RoleCandidate, name: string[]): void {
    const glued = name.join('');
    const budget = typoBudget(glued.length);
    for (const run of runs(tokens, eligible)) {
      for (let i = 0; i < run.length; i++) {
        for (let j = i + 1; j <= Math.min(run.length, i + name.length + 1); j++) {
          const window = run.slice(i, j).map((t) => t.norm);
          const literal = editDistance(window.join(''), glued);
          const expanded = editDistance(expand(window).join(''), glued);
          const distance = Math.min(literal, expanded);
          if (distance <= budget) {
            scored.push({ candidate, distance, exact: literal === 0, start: run[i]!.start, end: run[j - 1]!.end, width: j - i });
          }
        }
      }
    }
  }
}

/**
 * The word forms a candidate answers to: its name, and for a group "SQL Admins (member)" also the bare
 * group name (someone eligible as member and owner is then asked which one).
 */
function nameForms(candidate: RoleCandidate): string[][] {
  const forms = [words(candidate.displayName)];
  const bare = /^(.*\S)\s*\((?:member|owner)\)$/i.exec(candidate.displayName);
  if (candidate.kind === 'group' && bare) forms.push(words(bare[1]!));
  return forms;
}

/** Partial match: every word of the window is (a typo of) a word of the name, in order ("security" → Security Operator). */
function partialMatches(tokens: Token[], eligible: RoleCandidate[]): Scored[] {
  const scored: Scored[] = [];
  for (const candidate of eligible) {
    const name = words(candidate.displayName);
    for (const run of runs(tokens, eligible)) {
      for (let i = 0; i < run.length; i++) {
        for (let j = i + 1; j <= Math.min(run.length, i + name.length); j++) {
          const window = expand(run.slice(i, j).map((t) => t.norm));
          if (window.every((w) => w.length < 3)) continue;
          let k = 0;
          const inOrder = window.every((w) => {
            while (k < name.length && editDistance(w, name[k]!) > typoBudget(Math.min(w.length, name[k]!.length))) k++;
            return k++ < name.length;
          });
          if (inOrder) scored.push({ candidate, distance: 0, exact: false, start: run[i]!.start, end: run[j - 1]!.end, width: j - i });
        }
      }
    }
  }
  return scored;
}

function pick(scored: Scored[], partial: boolean): RoleLookup {
  if (scored.length === 0) return { kind: 'none' };
  const best = Math.min(...scored.map((s) => s.distance));
  const widest = Math.max(...scored.filter((s) => s.distance === best).map((s) => s.width));
  // The widest window wins a tie: "sql admins owner" names the owner access, not the bare group.
  const top = scored.filter((s) => s.distance === best && s.width === widest);
  const ids = [...new Set(top.map((s) => s.candidate.id))];
  // "global reader" half-matches Global Administrator and Security Reader through different words: that is
  // a role the user is not eligible for, not a choice between those two.
  if (partial && ids.length > 1 && new Set(top.map((s) => `${s.start}:${s.end}`)).size > 1) return { kind: 'none' };
  if (ids.length > 1) {
    return { kind: 'ambiguous', candidates: ids.map((id) => top.find((s) => s.candidate.id === id)!.candidate) };
  }
  // Same role found by several windows: the widest one, so all of the name leaves the justification.
  const winner = top.sort((a, b) => b.width - a.width || a.start - b.start)[0]!;
  return {
    kind: 'match',
    match: { candidate: winner.candidate, confidence: winner.exact ? 'exact' : 'fuzzy' },
    start: winner.start,
    end: winner.end,
  };
}

/**
 * Finds which eligible role the user named. A whole-name match (typos and abbreviations allowed) wins;
 * otherwise a part of a name ("security") is accepted only when it points at a single role.
 */
export function matchRole(tokens: Token[], eligible: RoleCandidate[]): RoleLookup {
  const whole = pick(wholeNameMatches(tokens, eligible), false);
  if (whole.kind !== 'none') return whole;
  return pick(partialMatches(tokens, eligible), true);
}

/** A whole-name match only (typos and abbreviations allowed): no guessing from a part of a name. */
export function matchWholeName(tokens: Token[], candidates: RoleCandidate[]): RoleLookup {
  return pick(wholeNameMatches(tokens, candidates), false);
}
