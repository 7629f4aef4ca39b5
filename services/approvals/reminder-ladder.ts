import type { ReminderSettings } from '../decision/policy';

/** PIM keeps a pending approval 24 hours, not configurable. */
export const PIM_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface QuietHours {
  timeZone: string;
  start: string;
  end: string;
}

/** What the ladder has done so far for one request (stored on the request row). */
export interface LadderProgress {
  nudges: number;
  escalated: boolean;
  /**
   * The escalation came early (no approver reachable): nudges go on until the late escalation's time,
   * which is not repeated.
   */
  escalatedEarly?: boolean;
}

/**
 * The next thing the stale-request ladder does for a pending request: nudge the approvers (first after
 * `firstAfterMinutes`, each gap doubling, at most `maxNudges`, never in quiet hours unless the role is
 * urgent), escalate once at `escalateAtShare` of PIM's 24 hours, and at 24 hours check that PIM dropped it.
 */
export type LadderStep = { kind: 'nudge'; index: number; at: Date } | { kind: 'escalate'; at: Date } | { kind: 'expire'; at: Date };

/** Minutes after the request at which nudge `i` (0-based) is due: 15, 45, 105, 225 … for a first gap of 15. */
export function nudgeOffsetMinutes(i: number, firstAfterMinutes: number): number {
  return firstAfterMinutes * (2 ** (i + 1) - 1);
}

export function nextStep(createdAt: Date, progress: LadderProgress, s: ReminderSettings, quiet: QuietHours | null, now: Date): LadderStep {
  const created = createdAt.getTime();
  const escalateAt = new Date(created + PIM_WINDOW_MS * s.escalateAtShare);
  const expireAt = new Date(created + PIM_WINDOW_MS);
  let i = progress.nudges;
  // After downtime, several nudges may be overdue: send one, the latest, not a burst.
  while (i + 1 < s.maxNudges && created + nudgeOffsetMinutes(i + 1, s.firstAfterMinutes) * 60_000 <= now.getTime()) i++;
  if (i < s.maxNudges && (!progress.escalated || progress.escalatedEarly)) {
    let at = new Date(created + nudgeOffsetMinutes(i, s.firstAfterMinutes) * 60_000);
    if (quiet && !s.urgent) at = afterQuietHours(at, quiet);
    if (at.getTime() < escalateAt.getTime()) return { kind: 'nudge', index: i, at };
  }
  if (!progress.escalated) return { kind: 'escalate', at: escalateAt };
  return { kind: 'expire', at: expireAt };
}

/** The first instant at or after `at` outside quiet hours (15-minute steps: exact enough, and DST-safe). */
export function afterQuietHours(at: Date, q: QuietHours): Date {
  let t = at;
  for (let steps = 0; steps < 24 * 4 + 1 && inQuietHours(t, q); steps++) t = new Date(roundUpQuarter(t.getTime() + 1));
  return t;
}

function roundUpQuarter(ms: number): number {
  const q = 15 * 60_000;
  return Math.ceil(ms / q) * q;
}

export function inQuietHours(at: Date, q: QuietHours): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: q.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const hh = parts.find((p) => p.type === 'hour')!.value;
  const mm = parts.find((p) => p.type === 'minute')!.value;
  const local = `${hh}:${mm}`;
  return q.start <= q.end ? local >= q.start && local < q.end : local >= q.start || local < q.end;
}
