/**
 * What the outbox needs to know about a summary card (collapsing.ts): what it lists about one request,
 * what a rendering is given, and the renderer port. The card itself is in cards/summary, which imports
 * these; the composition root injects its renderer as the outbox's `renderSummary`.
 */

/** What a summary card says about one approval request. Directory text; shown as plain text only. */
export interface SummaryEntry {
  /** Our internal request id; goes into the Open action's data, as on the approval card. */
  requestId: string;
  /** The request's version when it was listed; goes into action data. */
  version: number;
  requesterName: string;
  requesterUpn?: string | null;
  roleName: string;
  scope?: string | null;
  /** When the request reached us (ISO-8601), for the age shown. */
  requestedAt: string;
  /**
   * Once decided or closed: what happened, e.g. "Approved by Megan Bowen" (directory text), and when (`at`,
   * ISO 8601, which the card writes in the viewer's zone; older entries carry the time in `text`).
   */
  outcome?: { text: string; colour: 'good' | 'attention' | 'default'; at?: string | null } | null;
  /**
   * While it waits: an approver's click that was given back without a decision recorded in PIM
   * (approval_requests.last_release), said in the approval card's words on a line of its own: who, when,
   * not recorded, decide again. `name` is directory text; `at` the click (ISO 8601, written in the viewer's
   * zone), `atText` its UTC text for entries stored before `at` and where the zone cannot be used. An
   * empty name (a summary re-rendered without names to fit Teams' limit) gives the short form, added to
   * the age line: "A decision was not recorded in PIM; please decide again."
   */
  release?: { name: string; atText: string; at?: string | null } | null;
}

export interface SummaryCardData {
  entries: readonly SummaryEntry[];
  /** Which summary card of the batch this is (1-based) and how many the batch needed. */
  part: number;
  parts: number;
  /** Requests in the whole batch, across all of its summary cards. */
  batchTotal: number;
  now: Date;
}

/** Renders one summary card (an Adaptive Card's JSON); cards/summary/summary-card's renderSummaryCard. */
export type RenderSummary = (data: SummaryCardData) => object;

/**
 * Most entries one summary card lists. With the card's caps the worst case (every character four bytes
 * in UTF-8) stays under Teams' 28 KB message limit; the outbox pages batches so nothing is left out.
 */
export const SUMMARY_MAX_ENTRIES = 15;
