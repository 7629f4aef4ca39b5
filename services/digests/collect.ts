import { BUILT_IN_HUMAN_ONLY_ROLES } from '../decision/role-rules';
import { DAY_MS, targetKey, type ActivationRecord, type AssignmentRecord, type DigestTarget, type EligibilityRecord } from './types';

/**
 * Folds the tenant reads into what the two digests need, keeping only that: assignments ending within
 * the extension window, activations ending within two days, dormancy counts and a bounded sample, and
 * permanent assignments on privileged roles. Memory grows with what ends soon, not with the tenant
 * (200,000 eligibilities with ends spread over 60 days keep about a quarter of them). Pure: no I/O.
 */

/** PIM lets users ask to extend assignments that end within 14 days: the user digest's window. */
export const EXTEND_WINDOW_DAYS = 14;
export const DEFAULT_DORMANT_AFTER_DAYS = 30;
/**
 * PIM keeps an expired eligible assignment visible, and lets its holder ask to renew it, for 30 days
 * (entra-docs, pim-how-to-renew-extend.md): the digest's expired section and chat's "renew <role>".
 */
export const RENEW_WINDOW_DAYS = 30;

export interface CollectOptions {
  /** When the tenant was read; every window counts from here. */
  now: Date;
  /** Default 14 (PIM's extension window). */
  horizonDays?: number;
  /** An eligible assignment with no activation in this many days is dormant (default 30). */
  dormantAfterDays?: number;
  /**
   * Role definition ids (and group ids) on which a permanent active assignment is reported. Default: the
   * human-only built-in roles of services/decision/role-rules.ts; `extraPrivileged` adds to them.
   */
  privileged?: Iterable<string>;
  extraPrivileged?: Iterable<string>;
  /** How many dormant assignments the digest names (longest dormant first); the rest are counted. */
  dormantListed?: number;
  /** How many permanent privileged assignments are kept by name; the rest are counted. */
  permanentListed?: number;
}

export interface ExpiringItem extends DigestTarget {
  principalId: string;
  /** `eligible`, or `active`: an assignment made by an administrator that ends (not an activation). */
  assignment: 'eligible' | 'active';
  endDateTime: string;
}

/** An eligible assignment that ended within the last 30 days (PIM's expired assignments), and is not eligible again. */
export interface ExpiredItem extends DigestTarget {
  principalId: string;
  endDateTime: string;
}

export interface RunningActivation extends DigestTarget {
  principalId: string;
  endDateTime: string;
}

export interface DormantItem extends DigestTarget {
  principalId: string;
  /** The last activation PIM's request history shows; null: none in the history Graph keeps. */
  lastActivatedAt: string | null;
  eligibleSince: string | null;
}

export interface PermanentItem extends DigestTarget {
  principalId: string;
  startDateTime: string | null;
}

export interface PrincipalItems {
  expiring: ExpiringItem[];
  activations: RunningActivation[];
  /** Absent in inputs kept before the expired section existed. */
  expired?: ExpiredItem[];
}

export interface DigestInputs {
  readAt: string;
  horizonDays: number;
  dormantAfterDays: number;
  /** Eligible and active assignments ending within the horizon (plus a day of slack), soonest first. */
  expiring: ExpiringItem[];
  /** Activations ending within the next 48 hours: "ends today" in any zone. */
  activations: RunningActivation[];
  /** Eligible assignments that ended within the last 30 days and are not eligible again, latest end first. */
  expired: ExpiredItem[];
  /** The same two lists by principal (lower-case object id). */
  byPrincipal: Map<string, PrincipalItems>;
  dormant: { total: number; byTarget: Map<string, number>; oldest: DormantItem[] };
  permanentPrivileged: { total: number; items: PermanentItem[] };
  /** What was read, for logs and the benchmark. */
  counts: { eligibilities: number; assignments: number; activationHistory: number };
}

/** The newest activation per (target, principal), from PIM's request history. */
export class ActivationHistory {
  private readonly last = new Map<string, number>();
  private seen = 0;

  add(a: ActivationRecord): void {
    const t = Date.parse(a.activatedAt);
    if (Number.isNaN(t)) return;
    this.seen++;
    const k = `${targetKey(a)}|${a.principalId.toLowerCase()}`;
    const prev = this.last.get(k);
    if (prev === undefined || t > prev) this.last.set(k, t);
  }

  lastActivation(t: DigestTarget, principalId: string): number | undefined {
    return this.last.get(`${targetKey(t)}|${principalId.toLowerCase()}`);
  }

  get records(): number {
    return this.seen;
  }
}

const HOUR_MS = 3600 * 1000;

function dormantOrder(a: DormantItem, b: DormantItem): number {
  // Never activated first, then the longest since the last activation, then the oldest eligibility.
  const la = a.lastActivatedAt === null ? -Infinity : Date.parse(a.lastActivatedAt);
  const lb = b.lastActivatedAt === null ? -Infinity : Date.parse(b.lastActivatedAt);
  if (la !== lb) return la - lb;
  const sa = a.eligibleSince === null ? -Infinity : Date.parse(a.eligibleSince);
  const sb = b.eligibleSince === null ? -Infinity : Date.parse(b.eligibleSince);
  if (sa !== sb) return sa - sb;
  return a.principalId < b.principalId ? -1 : a.principalId > b.principalId ? 1 : 0;
}

export class DigestCollector {
  private readonly now: number;
  private readonly horizonEnd: number;
  private readonly dormantBefore: number;
  private readonly privileged: Set<string>;
  private readonly dormantListed: number;
  private readonly permanentListed: number;
  private readonly horizonDays: number;
  private readonly dormantAfterDays: number;
  private readonly expiring: ExpiringItem[] = [];
  private readonly activations: RunningActivation[] = [];
  /** Expired eligibilities by `target|principal`: dropped when a current eligibility of the same shows up. */
  private readonly expiredByKey = new Map<string, ExpiredItem>();
  private readonly dormantByTarget = new Map<string, number>();
  private dormantSample: DormantItem[] = [];
  private dormantTotal = 0;
  private readonly permanent: PermanentItem[] = [];
  private permanentTotal = 0;
  private readonly counts = { eligibilities: 0, assignments: 0, activationHistory: 0 };

  constructor(
    private readonly history: ActivationHistory,
    opts: CollectOptions,
  ) {
    this.now = opts.now.getTime();
    this.horizonDays = opts.horizonDays ?? EXTEND_WINDOW_DAYS;
    this.dormantAfterDays = opts.dormantAfterDays ?? DEFAULT_DORMANT_AFTER_DAYS;
    // A day of slack: users whose morning comes later than the read still see a full window.
    this.horizonEnd = this.now + (this.horizonDays + 1) * DAY_MS;
    this.dormantBefore = this.now - this.dormantAfterDays * DAY_MS;
    this.privileged = new Set([...(opts.privileged ?? Object.keys(BUILT_IN_HUMAN_ONLY_ROLES)), ...(opts.extraPrivileged ?? [])].map((x) => x.toLowerCase()));
    this.dormantListed = opts.dormantListed ?? 50;
    this.permanentListed = opts.permanentListed ?? 200;
  }

  /**
   * An eligibility schedule, read to find what ended within the last 30 days (the instances list only current
   * eligibility). Feed these before the current eligibilities: one of those for the same target and principal
   * means it is eligible again, and the expired entry is dropped. Kept: only what ended in the window.
   */
  addEndedEligibility(e: EligibilityRecord): void {
    if (e.endDateTime === null) return;
    const end = Date.parse(e.endDateTime);
    if (Number.isNaN(end) || end > this.now || this.now - end > RENEW_WINDOW_DAYS * DAY_MS) return;
    const key = `${targetKey(e)}|${e.principalId.toLowerCase()}`;
    const seen = this.expiredByKey.get(key);
    if (seen && Date.parse(seen.endDateTime) >= end) return;
    this.expiredByKey.set(key, { kind: e.kind, roleDefinitionId: e.roleDefinitionId, scope: e.scope, principalId: e.principalId, endDateTime: e.endDateTime });
  }

  addEligibility(e: EligibilityRecord): void {
    this.counts.eligibilities++;
    if (this.expiredByKey.size > 0) {
      const end = e.endDateTime === null ? null : Date.parse(e.endDateTime);
      if (end === null || end > this.now) this.expiredByKey.delete(`${targetKey(e)}|${e.principalId.toLowerCase()}`);
    }
    const end = e.endDateTime === null ? null : Date.parse(e.endDateTime);
    if (end !== null && end <= this.now) return;
    if (end !== null && end <= this.horizonEnd) {
      this.expiring.push({
        kind: e.kind,
        roleDefinitionId: e.roleDefinitionId,
        scope: e.scope,
        principalId: e.principalId,
        assignment: 'eligible',
        endDateTime: e.endDateTime!,
      });
    }
    const since = e.startDateTime === null ? -Infinity : Date.parse(e.startDateTime);
    // Eligible for less than the dormancy window: too new to call unused.
    if (!(since <= this.dormantBefore)) return;
    const last = this.history.lastActivation(e, e.principalId);
    if (last !== undefined && last >= this.dormantBefore) return;
    this.dormantTotal++;
    const key = targetKey(e);
    this.dormantByTarget.set(key, (this.dormantByTarget.get(key) ?? 0) + 1);
    if (this.dormantListed > 0) {
      this.dormantSample.push({
        kind: e.kind,
        roleDefinitionId: e.roleDefinitionId,
        scope: e.scope,
        principalId: e.principalId,
        lastActivatedAt: last === undefined ? null : new Date(last).toISOString(),
        eligibleSince: e.startDateTime,
      });
      // Sorting in batches keeps the sample bounded without a heap.
      if (this.dormantSample.length >= this.dormantListed * 4) this.dormantSample = this.dormantSample.sort(dormantOrder).slice(0, this.dormantListed);
    }
  }

  addAssignment(a: AssignmentRecord): void {
    this.counts.assignments++;
    const end = a.endDateTime === null ? null : Date.parse(a.endDateTime);
    if (end !== null && end <= this.now) return;
    if (a.assignmentType === 'Activated') {
      if (end !== null && end <= this.now + 48 * HOUR_MS) {
        this.activations.push({ kind: a.kind, roleDefinitionId: a.roleDefinitionId, scope: a.scope, principalId: a.principalId, endDateTime: a.endDateTime! });
      }
      return;
    }
    if (end === null) {
      const id = (a.kind === 'group' ? a.scope : a.roleDefinitionId).toLowerCase();
      if (!this.privileged.has(id)) return;
      this.permanentTotal++;
      if (this.permanent.length < this.permanentListed) {
        this.permanent.push({ kind: a.kind, roleDefinitionId: a.roleDefinitionId, scope: a.scope, principalId: a.principalId, startDateTime: a.startDateTime });
      }
      return;
    }
    if (end <= this.horizonEnd) {
      this.expiring.push({
        kind: a.kind,
        roleDefinitionId: a.roleDefinitionId,
        scope: a.scope,
        principalId: a.principalId,
        assignment: 'active',
        endDateTime: a.endDateTime!,
      });
    }
  }

  finish(): DigestInputs {
    const byEnd = (x: { endDateTime: string }, y: { endDateTime: string }) => Date.parse(x.endDateTime) - Date.parse(y.endDateTime);
    this.expiring.sort(byEnd);
    this.activations.sort(byEnd);
    const expired = [...this.expiredByKey.values()].sort((x, y) => byEnd(y, x));
    const byPrincipal = new Map<string, PrincipalItems>();
    const entry = (id: string) => {
      const k = id.toLowerCase();
      let p = byPrincipal.get(k);
      if (!p) {
        p = { expiring: [], activations: [], expired: [] };
        byPrincipal.set(k, p);
      }
      return p;
    };
    for (const e of this.expiring) entry(e.principalId).expiring.push(e);
    for (const a of this.activations) entry(a.principalId).activations.push(a);
    for (const x of expired) entry(x.principalId).expired!.push(x);
    return {
      readAt: new Date(this.now).toISOString(),
      horizonDays: this.horizonDays,
      dormantAfterDays: this.dormantAfterDays,
      expiring: this.expiring,
      activations: this.activations,
      expired,
      byPrincipal,
      dormant: { total: this.dormantTotal, byTarget: this.dormantByTarget, oldest: this.dormantSample.sort(dormantOrder).slice(0, this.dormantListed) },
      permanentPrivileged: { total: this.permanentTotal, items: this.permanent },
      counts: { ...this.counts, activationHistory: this.history.records },
    };
  }
}
