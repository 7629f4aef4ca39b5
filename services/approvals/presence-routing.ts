/**
 * Presence-aware routing of the stale-request ladder, without I/O: who a nudge @mentions first, who it
 * only names, and when "nobody can act" has lasted long enough to escalate early.
 *
 * Classes (from Teams presence as Graph reports it):
 * - available: Available, AvailableIdle: can act now;
 * - busy: Busy, BusyIdle, DoNotDisturb: at work and signed in, will see the mention after the meeting or
 *   focus time;
 * - away: Away, BeRightBack, Offline, PresenceUnknown (and any value Graph adds later): nobody is there to
 *   see the mention;
 * - outOfOffice: Teams or Outlook says the person is out (automatic replies, or an "out of office"
 *   calendar event), whatever the availability says: they should not be relied on, even if they peek.
 * - unknown: Graph returned nothing for the person: treated as reachable, so a gap in presence data never
 *   drops anyone from a nudge or triggers an escalation on its own.
 *
 * Busy counts as reachable for early escalation. Everyone in a meeting for half an hour is ordinary
 * office life; escalating then would make escalations routine, pull backup approvers out of their work
 * for requests the approvers will handle within the hour, and teach everyone to ignore them. Away,
 * offline and out of office mean the mention lands on nobody: that is what early escalation is for.
 */

export type Reach = 'available' | 'busy' | 'away' | 'outOfOffice' | 'unknown';

/** The part of Graph's `presence` resource routing reads. */
export interface PresenceView {
  availability: string;
  activity: string;
  outOfOffice: boolean;
}

export interface Person {
  id: string;
  name: string;
}

const AVAILABLE = new Set(['available', 'availableidle']);
const BUSY = new Set(['busy', 'busyidle', 'donotdisturb']);

export function classify(p: PresenceView | undefined): Reach {
  if (!p) return 'unknown';
  if (p.outOfOffice || p.activity.toLowerCase() === 'outofoffice') return 'outOfOffice';
  const a = p.availability.toLowerCase();
  if (AVAILABLE.has(a)) return 'available';
  if (BUSY.has(a)) return 'busy';
  return 'away';
}

/** True when the person would see a mention soon enough to act: available, busy, or not known. */
export function isReachable(reach: Reach): boolean {
  return reach === 'available' || reach === 'busy' || reach === 'unknown';
}

const ORDER: Record<Reach, number> = { available: 0, busy: 1, unknown: 2, away: 3, outOfOffice: 4 };

export interface MentionPlan {
  /** @mentioned, in this order: available first, then busy, then those Graph said nothing about. */
  mention: Person[];
  /** Named without a mention, so the channel knows why they were left out. */
  named: Array<Person & { reach: 'away' | 'outOfOffice'; availability: string }>;
  /** At least one approver is reachable now. */
  anyReachable: boolean;
}

/**
 * Who a nudge mentions. Reachable approvers are mentioned (available before busy); those away or out of
 * office are named instead, so nobody on holiday is pinged about a request others can take. When no one
 * is reachable, the away approvers are mentioned anyway (the mention waits for them when they come
 * back), never those out of office.
 */
export function planMentions(people: readonly Person[], presence: ReadonlyMap<string, PresenceView>): MentionPlan {
  const ranked = people
    .map((p, i) => ({ p, i, reach: classify(presence.get(p.id.toLowerCase())), availability: presence.get(p.id.toLowerCase())?.availability ?? '' }))
    .sort((a, b) => ORDER[a.reach] - ORDER[b.reach] || a.i - b.i);
  const reachable = ranked.filter((r) => isReachable(r.reach));
  const away = ranked.filter((r) => r.reach === 'away');
  const out = ranked.filter((r) => r.reach === 'outOfOffice');
  const mentioned = reachable.length > 0 ? reachable : away;
  const mentionedIds = new Set(mentioned.map((r) => r.p.id));
  return {
    mention: mentioned.map((r) => r.p),
    named: [...away, ...out]
      .filter((r) => !mentionedIds.has(r.p.id))
      .map((r) => ({ ...r.p, reach: r.reach as 'away' | 'outOfOffice', availability: r.availability })),
    anyReachable: reachable.length > 0,
  };
}

/** How a nudge describes someone it does not mention. */
export function reachText(p: { reach: Reach; availability: string }): string {
  if (p.reach === 'outOfOffice') return 'out of office';
  const a = p.availability.toLowerCase();
  if (a === 'offline') return 'offline';
  if (a === 'berightback') return 'away for a moment';
  return 'away';
}

/**
 * When the ladder must next look at presence for a request that has not escalated: `afterMs` after the
 * last time an approver was seen reachable (or after the request was filed, if never).
 */
export function nextPresenceCheck(createdAt: Date, lastReachableAt: Date | null, afterMs: number): Date {
  const since = Math.max(createdAt.getTime(), lastReachableAt?.getTime() ?? 0);
  return new Date(since + afterMs);
}

/**
 * Early escalation is due when no approver is reachable now and none has been seen reachable for
 * `afterMs` (since the request was filed, or since the last check that found one). Measured at check
 * granularity: an approver counts as reachable from a check that saw them so until the next check.
 */
export function earlyEscalationDue(input: { createdAt: Date; lastReachableAt: Date | null; anyReachableNow: boolean; afterMs: number; now: Date }): boolean {
  if (input.anyReachableNow) return false;
  return nextPresenceCheck(input.createdAt, input.lastReachableAt, input.afterMs).getTime() <= input.now.getTime();
}
