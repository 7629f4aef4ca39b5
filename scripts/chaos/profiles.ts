/**
 * The chaos run's two profiles: `long` (npm run chaos, a few minutes, ~150 requests) and `short` (inside
 * npm test as test/chaos/chaos-short.test.ts: a handful of requests, every fault kind at least once).
 */

/** Every fault the run can inject; each profile says how many of each. */
export const FAULT_KINDS = [
  /** kill -9 of a replica at a random moment (restarted after a short delay). */
  'kill',
  /** kill -9 of the replica whose approval PATCH PIM has applied but not yet answered (sim answerAfterMs). */
  'kill-patch-held',
  /** kill -9 of the replica whose post Teams never answers (connector hangNext: not accepted either). */
  'kill-post-hung',
  /** kill -9 of the replica whose post Teams accepted but answers late (connector slowNext). */
  'kill-post-slow',
  /** Graph answers 429 with Retry-After (one to three calls, on one of several routes). */
  'graph-429',
  /** Graph answers 503 (one to three calls, on one of several routes). */
  'graph-503',
  /** PIM applies an approval PATCH but answers it after the bot's Graph timeout. */
  'graph-slow-patch',
  /** Teams answers 429 with Retry-After (the next one or two calls). */
  'teams-429',
  /** Teams answers 503 (the next one or two calls). */
  'teams-503',
  /** Teams accepts a post but answers after the outbox's send timeout. */
  'teams-slow-post',
  /** PostgreSQL ends the replicas' connections (pg_terminate_backend), some mid-transaction. */
  'pg-terminate',
  /** The outbox table is locked (ACCESS EXCLUSIVE) for a few seconds. */
  'outbox-lock',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const KILL_KINDS: readonly FaultKind[] = ['kill', 'kill-patch-held', 'kill-post-hung', 'kill-post-slow'];

export interface ChaosProfile {
  name: 'short' | 'long';
  /** Requests filed on the plan's schedule (faults that need a post file spare ones on top). */
  requests: number;
  /** Seeded requesters used (at most 5), each with a personal chat. */
  requesters: number;
  /** Seconds over which the requests are filed; faults happen in this window. */
  loadSeconds: number;
  /** Share of requests the approvers click (the rest stay pending: no decision may appear for them). */
  clickShare: number;
  denyShare: number;
  /** Share of clicked requests clicked on both replicas at once. */
  doubleClickShare: number;
  /** Of those: share where two different approvers click (else one approver double-clicks). */
  twoApproverShare: number;
  /** An approver clicks this long after the card shows (ms, uniform). */
  clickDelayMs: [number, number];
  /** An approver clicks again when the card still (or again) shows buttons this long after their last click ended. */
  reclickAfterMs: number;
  /** At most this many clicks per request (the first included). */
  maxClicksPerRequest: number;
  faults: Record<FaultKind, number>;
  /** Faults start in this part of the load window (fractions); kills end earlier so claim recovery fits the quiet period. */
  faultWindow: [number, number];
  killWindowEnd: number;
  /** A killed replica is started again after this long (ms, uniform). */
  restartDelayMs: [number, number];
  /** How long a kill-patch-held fault has PIM hold its answer (ms): longer than the replica lives after the kill. */
  patchHeldMs: number;
  /** OUTBOX_SEND_TIMEOUT_MS of the replicas: how long a send may take before its answer counts as lost. */
  outboxSendTimeoutMs: number;
  /** Teams' late answer to a post, for teams-slow-post and kill-post-slow (ms): beyond the outbox's send timeout. */
  slowPostMs: number;
  /** Applied-but-slow PATCH answer (ms): beyond PIM_DECISION_TIMEOUT_MS (10 s by default). */
  slowPatchMs: [number, number];
  /** The quiet period at the end waits at most this long for the database to settle. */
  quietTimeoutSeconds: number;
  /**
   * Kinds whose first fault is planned at the start of the window, in this order: the recoveries the bot
   * owes them take longest (a stale claim after 2 minutes, a held post's lease after 1, its re-send's
   * verification a minute later), so the short profile starts them first and their waits overlap.
   */
  earlyKinds: FaultKind[];
  /** PIM's custom extension settings (through the balancer). */
  extension: { timeoutMs: number; maximumRetries: number };
}

const none = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

export const PROFILES: Record<ChaosProfile['name'], ChaosProfile> = {
  long: {
    name: 'long',
    requests: 150,
    requesters: 5,
    loadSeconds: 160,
    clickShare: 0.95,
    denyShare: 0.25,
    doubleClickShare: 0.25,
    twoApproverShare: 0.3,
    clickDelayMs: [500, 6_000],
    reclickAfterMs: 6_000,
    maxClicksPerRequest: 40,
    faults: {
      ...none,
      kill: 4,
      'kill-patch-held': 2,
      'kill-post-hung': 2,
      'kill-post-slow': 2,
      'graph-429': 6,
      'graph-503': 6,
      'graph-slow-patch': 3,
      'teams-429': 6,
      'teams-503': 6,
      'teams-slow-post': 3,
      'pg-terminate': 4,
      'outbox-lock': 3,
    },
    faultWindow: [0.05, 0.9],
    killWindowEnd: 0.7,
    restartDelayMs: [1_000, 3_000],
    patchHeldMs: 45_000,
    outboxSendTimeoutMs: 4_000,
    slowPostMs: 8_000,
    slowPatchMs: [12_000, 14_000],
    quietTimeoutSeconds: 300,
    earlyKinds: [],
    extension: { timeoutMs: 10_000, maximumRetries: 3 },
  },
  short: {
    name: 'short',
    requests: 8,
    requesters: 4,
    loadSeconds: 24,
    clickShare: 0.9,
    denyShare: 0.25,
    doubleClickShare: 0.35,
    twoApproverShare: 0.4,
    clickDelayMs: [300, 2_000],
    reclickAfterMs: 4_000,
    maxClicksPerRequest: 40,
    faults: Object.fromEntries(Object.keys(none).map((k) => [k, 1])) as Record<FaultKind, number>,
    faultWindow: [0.05, 0.85],
    killWindowEnd: 0.6,
    restartDelayMs: [500, 1_500],
    patchHeldMs: 45_000,
    outboxSendTimeoutMs: 4_000,
    slowPostMs: 8_000,
    slowPatchMs: [12_000, 13_000],
    quietTimeoutSeconds: 200,
    earlyKinds: ['kill-patch-held', 'kill-post-hung', 'kill-post-slow'],
    extension: { timeoutMs: 10_000, maximumRetries: 3 },
  },
};
