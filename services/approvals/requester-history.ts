/**
 * The requester's history with one role, for the approval card: how often they activated it in the
 * last 90 days, when last, earlier denials and why, and whether this is their first activation. Pure:
 * the entries come from PIM (Graph) and from our own store, and the same request seen in both counts once.
 */

export const HISTORY_WINDOW_DAYS = 90;
const DAY_MS = 24 * 3600_000;
/** The card lists at most this many denials; the count says how many there were. */
const MAX_DENIALS = 3;

/** One earlier request, as one source saw it. */
export interface HistoryEntry {
  /** PIM's request id (our request key where PIM gives none): the same request from both sources shares it. */
  key: string;
  /** When it was requested (ISO). */
  at: string;
  outcome: 'activated' | 'denied';
  source: 'pim' | 'store';
  /** For denials we recorded: who denied it and their justification (PIM's list shows neither). */
  deniedBy?: string | null;
  reason?: string | null;
}

export interface Denial {
  at: string;
  by: string | null;
  reason: string | null;
}

export interface RequesterHistory {
  windowDays: number;
  /** Activations of the role inside the window. */
  activations: number;
  /** The newest activation found at all (inside the window or not). */
  lastActivationAt: string | null;
  /** Denials inside the window, newest first, at most three. */
  denials: Denial[];
  denialCount: number;
  /** No activation of this role by this person on record (PIM keeps request history for a limited time). */
  firstActivation: boolean;
}

/** Merges both sources (PIM's outcome wins, our store adds who denied and why) and summarises them. */
export function summarizeHistory(entries: readonly HistoryEntry[], o: { now: Date; currentKey?: string | null; windowDays?: number }): RequesterHistory {
  const windowDays = o.windowDays ?? HISTORY_WINDOW_DAYS;
  const since = o.now.getTime() - windowDays * DAY_MS;
  const current = o.currentKey?.toLowerCase();
  const byKey = new Map<string, HistoryEntry>();
  for (const e of entries) {
    const key = e.key.toLowerCase();
    if (key === current || Number.isNaN(Date.parse(e.at)) || Date.parse(e.at) > o.now.getTime()) continue;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...e, key });
      continue;
    }
    const pim = seen.source === 'pim' ? seen : e.source === 'pim' ? e : seen;
    const store = seen.source === 'store' ? seen : e.source === 'store' ? e : null;
    byKey.set(key, { ...pim, key, deniedBy: store?.deniedBy ?? pim.deniedBy ?? null, reason: store?.reason ?? pim.reason ?? null });
  }
  const merged = [...byKey.values()].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const activations = merged.filter((e) => e.outcome === 'activated');
  const denials = merged.filter((e) => e.outcome === 'denied' && Date.parse(e.at) >= since);
  return {
    windowDays,
    activations: activations.filter((e) => Date.parse(e.at) >= since).length,
    lastActivationAt: activations[0]?.at ?? null,
    denials: denials.slice(0, MAX_DENIALS).map((e) => ({ at: e.at, by: e.deniedBy ?? null, reason: e.reason ?? null })),
    denialCount: denials.length,
    firstActivation: activations.length === 0,
  };
}

/** The compact line: "5 activations in 90 days · last 3 days ago · 1 denial". */
export function historyLine(h: RequesterHistory, now: Date): string {
  const parts = [`${h.activations} activation${h.activations === 1 ? '' : 's'} in ${h.windowDays} days`];
  if (h.lastActivationAt) parts.push(`last ${agoText(h.lastActivationAt, now)}`);
  parts.push(h.denialCount === 0 ? 'no denials' : `${h.denialCount} denial${h.denialCount === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** "today", "yesterday", "3 days ago", "5 weeks ago", "4 months ago". */
export function agoText(at: string, now: Date): string {
  const days = Math.floor((now.getTime() - Date.parse(at)) / DAY_MS);
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  if (days < 14) return `${days} days ago`;
  if (days < 60) return `${Math.floor(days / 7)} weeks ago`;
  return `${Math.floor(days / 30)} months ago`;
}

/** Our own records of earlier requests (approval rows and evaluations), in the columns they are stored with. */
export interface StoredApproval {
  pim_request_id: string;
  status: string;
  created_at: string;
  decided_by_name: string | null;
  decided_by_upn: string | null;
  decision_justification: string | null;
}

export interface StoredEvaluation {
  pim_request_id: string | null;
  request_key: string;
  outcome: string;
  reasons: string;
  created_at: string;
}

/**
 * Approved requests count as activations and denied ones carry who denied and why; the decision
 * service's own answers (AutoApproved, Denied) count too, a denial by the policy with its first reason.
 * Expired, cancelled and pending requests are no history of either kind.
 */
export function storeHistoryEntries(approvals: readonly StoredApproval[], evaluations: readonly StoredEvaluation[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const a of approvals) {
    if (a.status === 'approved') out.push({ key: a.pim_request_id, at: a.created_at, outcome: 'activated', source: 'store' });
    else if (a.status === 'denied')
      out.push({
        key: a.pim_request_id,
        at: a.created_at,
        outcome: 'denied',
        source: 'store',
        deniedBy: a.decided_by_name ?? a.decided_by_upn,
        reason: a.decision_justification,
      });
  }
  for (const e of evaluations) {
    const key = e.pim_request_id ?? e.request_key;
    if (e.outcome === 'AutoApproved') out.push({ key, at: e.created_at, outcome: 'activated', source: 'store' });
    else if (e.outcome === 'Denied')
      out.push({ key, at: e.created_at, outcome: 'denied', source: 'store', deniedBy: 'the decision service', reason: firstReason(e.reasons) });
  }
  return out;
}

function firstReason(json: string): string | null {
  try {
    const reasons = JSON.parse(json) as unknown;
    return Array.isArray(reasons) && typeof reasons[0] === 'string' ? reasons[0] : null;
  } catch {
    return null;
  }
}
