/**
 * Judges whether a free-text justification tells an approver anything. PIM only checks that the
 * field is non-empty; "test" or "admin" pass PIM and teach approvers to rubber-stamp.
 */
export interface JustificationAssessment {
  ok: boolean;
  /** Why it falls short, phrased for the requester. Empty when ok. */
  problem: string | null;
  /** The same in a few words, for one line on the card ("placeholder", "too short"). Empty when ok. */
  short: string | null;
}

export const MIN_JUSTIFICATION_LENGTH = 20;

const GOOD_EXAMPLE = "for example: 'Reset MFA for the locked-out CFO, INC0012345' or 'Rotate the payroll app certificate under CHG0042001'";

/** Lower-case placeholders people type to get past a required field. */
const PLACEHOLDERS = new Set([
  'work',
  'test',
  'testing',
  'admin',
  'fix',
  'fixing',
  'n/a',
  'na',
  'none',
  'nothing',
  'no',
  'yes',
  'x',
  'xx',
  'xxx',
  'asdf',
  'qwerty',
  'tbd',
  'todo',
  'please',
  'pls',
  'access',
  'need access',
  'needed',
  'need it',
  'required',
  'maintenance',
  'support',
  'task',
  'job',
  'stuff',
  'things',
  'change',
  'update',
  'pim',
  'role',
  'elevation',
  'activate',
  'activation',
  'debug',
  'check',
  'investigate',
  'issue',
  'ticket',
  'bau',
  'as discussed',
  'see ticket',
  'because',
  'reason',
  'justification',
  'admin work',
  'admin task',
  'daily work',
  'work stuff',
  'routine',
]);

export function assessJustification(raw: string | null | undefined): JustificationAssessment {
  const text = (raw ?? '').trim();
  if (text.length === 0) {
    return { ok: false, short: 'none given', problem: `No justification was given. Say what you will do, on which system, and why now, ${GOOD_EXAMPLE}.` };
  }
  const normalised = text
    .toLowerCase()
    .replace(/[.!?,;:\s]+$/g, '')
    .replace(/\s+/g, ' ');
  // Placeholder words repeated or strung together ("test test test test", "admin work fix") say no more than one.
  const tokens = normalised.split(/[\s.!?,;:]+/).filter(Boolean);
  const distinct = [...new Set(tokens)];
  if (PLACEHOLDERS.has(normalised) || (distinct.length > 0 && distinct.every((w) => PLACEHOLDERS.has(w)))) {
    return {
      ok: false,
      short: 'a placeholder',
      problem: `The justification '${truncate(text, 40)}' is a placeholder. Say what you will do, on which system, and why now, ${GOOD_EXAMPLE}.`,
    };
  }
  const letters = (text.match(/\p{L}/gu) ?? []).length;
  const words = text.split(/\s+/).filter((w) => /\p{L}{2,}/u.test(w));
  const distinctWords = new Set(words.map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '')));
  if (letters < 8 || /^(.)\1+$/u.test(text.replace(/\s/g, ''))) {
    return {
      ok: false,
      short: 'no readable words',
      problem: `The justification has no readable words. Say what you will do, on which system, and why now, ${GOOD_EXAMPLE}.`,
    };
  }
  if (text.length < MIN_JUSTIFICATION_LENGTH || distinctWords.size < 3) {
    return {
      ok: false,
      short: 'too short',
      problem: `The justification is too short to judge (${text.length} characters, ${distinctWords.size} different words; at least ${MIN_JUSTIFICATION_LENGTH} characters and 3 different words). Say what you will do, on which system, and why now, ${GOOD_EXAMPLE}.`,
    };
  }
  return { ok: true, problem: null, short: null };
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
