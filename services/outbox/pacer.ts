/**
 * Sliding-window pacing for Bot Connector sends. Pure: no timers and no clock of its own, the caller
 * passes `now`, so tests drive it with a fake clock and the outbox decides when to look again.
 */

/** At most `count` sends in any `perMs` milliseconds. */
export interface WindowLimit {
  count: number;
  perMs: number;
}

export interface PacerLimits {
  /** Per conversation (a channel thread or a chat). */
  conversation: readonly WindowLimit[];
  /** Per app per tenant, across all conversations. */
  tenant: readonly WindowLimit[];
}

/**
 * Teams' documented limits for a bot sending to one thread (7/1 s, 8/2 s, 60/30 s, 1800/1 h) and the
 * per-tenant budget we design for (30/s; answers quoting 50/s are older and unconfirmed). The 8/2 s
 * window matters: 7/1 s alone would allow 14 sends in two seconds and draw 429s.
 */
export const TEAMS_LIMITS: PacerLimits = {
  conversation: [
    { count: 7, perMs: 1_000 },
    { count: 8, perMs: 2_000 },
    { count: 60, perMs: 30_000 },
    { count: 1_800, perMs: 3_600_000 },
  ],
  tenant: [{ count: 30, perMs: 1_000 }],
};

/**
 * Each of `replicas` processes sending for one bot paces to its share of the limits (rounded down, at
 * least one), so together they stay within Teams' windows: a replica's pacer sees only its own sends.
 */
export function shareOf(limits: PacerLimits, replicas: number): PacerLimits {
  if (!(Number.isInteger(replicas) && replicas >= 1)) throw new Error(`replicas must be a whole number ≥ 1; got ${replicas}`);
  const share = (l: WindowLimit): WindowLimit => ({ count: Math.max(1, Math.floor(l.count / replicas)), perMs: l.perMs });
  return { conversation: limits.conversation.map(share), tenant: limits.tenant.map(share) };
}

/** The scope name `pause` takes for a tenant-wide pause (a Teams conversation id never has this form). */
export const TENANT_SCOPE = 'tenant';

export type Reservation = { ok: true } | { ok: false; retryAt: Date };

/**
 * Remembers when each send happened and says whether one more may go now. A window counts the sends at
 * times t with now - perMs < t <= now, so any half-open interval [t, t + perMs) holds at most `count`.
 */
export class Pacer {
  private readonly sends = new Map<string, number[]>();
  private readonly tenantSends: number[] = [];
  private readonly pauses = new Map<string, number>();
  private readonly keepMs: number;

  constructor(private readonly limits: PacerLimits = TEAMS_LIMITS) {
    for (const limit of [...limits.conversation, ...limits.tenant]) {
      if (!(limit.count >= 1 && Number.isInteger(limit.count)) || !(limit.perMs > 0)) {
        throw new Error(`Pacer limit ${JSON.stringify(limit)} is not usable: count must be a whole number ≥ 1 and perMs > 0`);
      }
    }
    this.keepMs = Math.max(0, ...[...limits.conversation, ...limits.tenant].map((l) => l.perMs));
  }

  /** Whether a send to `conversationId` may go at `now`, without taking the slot. */
  check(conversationId: string, now: Date): Reservation {
    const t = now.getTime();
    this.prune(conversationId, t);
    let retryAt = Math.max(this.pauseUntil(conversationId, t), this.pauseUntil(TENANT_SCOPE, t));
    retryAt = Math.max(retryAt, nextFree(this.sends.get(conversationId) ?? [], this.limits.conversation, t));
    retryAt = Math.max(retryAt, nextFree(this.tenantSends, this.limits.tenant, t));
    return retryAt > t ? { ok: false, retryAt: new Date(retryAt) } : { ok: true };
  }

  /** Takes a slot for a send to `conversationId` at `now` if every window and pause allows it. */
  reserve(conversationId: string, now: Date): Reservation {
    const verdict = this.check(conversationId, now);
    if (verdict.ok) this.record(conversationId, now);
    return verdict;
  }

  /**
   * Counts a send that already happened, without asking (a restarted outbox seeds its windows from
   * the sends it finds in the database).
   */
  record(conversationId: string, at: Date): void {
    const t = at.getTime();
    insertSorted(this.sends.get(conversationId) ?? this.sends.set(conversationId, []).get(conversationId)!, t);
    insertSorted(this.tenantSends, t);
  }

  /**
   * Gives back a slot `reserve` took for a send that did not happen (the shared pace refused it), so this
   * process's windows count only real sends. Forgets one send at exactly `at`, if there is one.
   */
  forget(conversationId: string, at: Date): void {
    const t = at.getTime();
    const list = this.sends.get(conversationId);
    if (!list || !removeOne(list, t)) return;
    if (list.length === 0) this.sends.delete(conversationId);
    removeOne(this.tenantSends, t);
  }

  /** Holds every send to a conversation, or to the whole tenant with `TENANT_SCOPE`, until `until` (a 429's Retry-After). */
  pause(scope: string, until: Date): void {
    const t = until.getTime();
    if (t > (this.pauses.get(scope) ?? 0)) this.pauses.set(scope, t);
  }

  /** When the scope's pause ends, or null when it is not paused at `now`. */
  pausedUntil(scope: string, now: Date): Date | null {
    const until = this.pauseUntil(scope, now.getTime());
    return until > now.getTime() ? new Date(until) : null;
  }

  private pauseUntil(scope: string, t: number): number {
    const until = this.pauses.get(scope);
    if (until === undefined) return 0;
    if (until <= t) {
      this.pauses.delete(scope);
      return 0;
    }
    return until;
  }

  private prune(conversationId: string, t: number): void {
    const horizon = t - this.keepMs;
    dropThrough(this.tenantSends, horizon);
    const list = this.sends.get(conversationId);
    if (!list) return;
    dropThrough(list, horizon);
    if (list.length === 0) this.sends.delete(conversationId);
  }
}

/**
 * The earliest time at or after `t` at which every limit has room for one more send, given the sorted
 * send times `times`. For a full window the slot frees when its `count`-th newest send leaves it.
 */
function nextFree(times: readonly number[], limits: readonly WindowLimit[], t: number): number {
  let at = t;
  for (const { count, perMs } of limits) {
    const inWindow = countAfter(times, t - perMs);
    if (inWindow < count) continue;
    at = Math.max(at, times[times.length - count]! + perMs);
  }
  return at;
}

/** How many of the sorted `times` are strictly after `from`. */
function countAfter(times: readonly number[], from: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! > from) hi = mid;
    else lo = mid + 1;
  }
  return times.length - lo;
}

function insertSorted(times: number[], t: number): void {
  let i = times.length;
  while (i > 0 && times[i - 1]! > t) i--;
  times.splice(i, 0, t);
}

function removeOne(times: number[], t: number): boolean {
  const i = times.lastIndexOf(t);
  if (i >= 0) times.splice(i, 1);
  return i >= 0;
}

function dropThrough(times: number[], horizon: number): void {
  let n = 0;
  while (n < times.length && times[n]! <= horizon) n++;
  if (n > 0) times.splice(0, n);
}
