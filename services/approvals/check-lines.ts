import { clip } from '../text/plain-text';

/**
 * One pre-approval check as the card shows it. `summary` is built from systems of record (ticket titles,
 * error answers) and is shown as plain text only; `name` is the check's id (e.g. `ticket`, `onCall`).
 */
export interface ApprovalCheckLine {
  name: string;
  /** Skipped checks are not stored, so they never reach the card. */
  result: 'pass' | 'fail' | 'unavailable';
  /** What a fail does: deny (Failed) or review (Flagged: a person decides). */
  onFail: 'deny' | 'review';
  summary: string;
}

/** A card shows at most this many check lines (there are seven kinds of check). */
export const MAX_CHECK_LINES = 8;
/** One short line: the summary names the ticket and the answer, never a body. */
export const MAX_CHECK_SUMMARY = 200;

/**
 * A check as the decision reports it, structurally: `summary` and `onFail` are optional so verdicts
 * from before checks carried them still store a line (the sentence, and `review`: a person decides).
 */
export interface CheckForLine {
  name: string;
  result: string;
  onFail?: 'deny' | 'review';
  detail: string;
  summary?: string;
}

/**
 * The lines stored with an approval request (`approval_requests.check_lines`): every check that ran
 * (skipped ones are left out), capped in number and length so the card and the row stay small.
 * Past the cap the lines that did not pass are kept first: an approver must never miss a failure.
 */
export function checkLinesOf(checks: readonly CheckForLine[]): ApprovalCheckLine[] {
  const lines = checks.flatMap((c) => {
    const line = lineOf(c);
    return line ? [line] : [];
  });
  if (lines.length <= MAX_CHECK_LINES) return lines;
  const keep = new Set([...lines.filter((l) => l.result !== 'pass'), ...lines.filter((l) => l.result === 'pass')].slice(0, MAX_CHECK_LINES));
  return lines.filter((l) => keep.has(l));
}

function lineOf(c: CheckForLine): ApprovalCheckLine | null {
  const summary = clip(c.summary?.trim() ? c.summary : c.detail, MAX_CHECK_SUMMARY);
  const onFail = c.onFail === 'deny' ? 'deny' : 'review';
  switch (c.result) {
    case 'skipped':
      return null;
    case 'pass':
    case 'fail':
    case 'unavailable':
      return { name: c.name, result: c.result, onFail, summary };
    // Results of the checks before they had three outcomes: a flag (and an informing off-hours note)
    // sent the request to a person, which is a fail whose rule says review.
    case 'flag':
    case 'info':
      return { name: c.name, result: 'fail', onFail: 'review', summary };
    // Fail closed: a result this code does not know is never shown as a pass.
    default:
      return { name: c.name, result: 'unavailable', onFail, summary };
  }
}

/** The stored lines of a request; a row from before the column, or anything malformed, reads as none. */
export function parseCheckLines(json: string | null | undefined): ApprovalCheckLine[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return checkLinesOf(
    parsed
      .filter(
        (l): l is CheckForLine =>
          typeof l === 'object' && l !== null && typeof l.name === 'string' && typeof l.result === 'string' && typeof l.summary === 'string',
      )
      .map((l) => ({ ...l, detail: l.summary ?? '' })),
  );
}
