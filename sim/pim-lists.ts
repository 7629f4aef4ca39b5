import type { SeedEligibilityEnd } from './seed';
import type { SimState } from './state';
import { applySelect, contextUrl, graphError, matchesFilter } from './graph-common';
import { json, type SimRequest, type SimResponse } from './http';

/**
 * Fast paths for the PIM list endpoints of a large simulated tenant (sim/scale-seed.ts: 200,000
 * eligibility instances). `page()` in graph-common takes the whole collection as objects, so every page
 * of a 200k list built 200k objects, and `SimState.eligibilityEnd` scans the target's end list once per
 * user (quadratic). The helpers here answer what those did (same items, same order, the same
 * $top/@odata.nextLink contract with an opaque $skiptoken) at a cost proportional to the page.
 */

type Clause = { field: string; value: string };

/**
 * One Graph page of a lazily walked collection. `rowsFrom(pos)` yields [position, row] from a position
 * in the unfiltered collection, so a page costs its own size: the $skiptoken names the position to
 * resume at (`@<pos>`; a plain number, as page() writes, still counts matching items from the start).
 * `quick` reads a filter field straight from a row, so a row that fails the filter is never turned into
 * an item; fields without a quick reader are checked on the item, as `matchesFilter` does.
 */
export function lazyPage<T>(
  req: SimRequest,
  rowsFrom: (from: number) => Iterable<readonly [number, T]>,
  opts: {
    fragment: string;
    clauses: Clause[];
    toItem: (row: T) => Record<string, unknown>;
    quick?: Record<string, (row: T) => unknown>;
    defaultTop?: number;
    maxTop?: number;
  },
): SimResponse {
  const { defaultTop = 100, maxTop = 999 } = opts;
  const topRaw = req.query.get('$top');
  const top = topRaw ? Number(topRaw) : defaultTop;
  if (!Number.isInteger(top) || top < 1 || top > maxTop) {
    return graphError(req, 400, 'Request_UnsupportedQuery', `Invalid page size specified: '${topRaw}'. Must be between 1 and ${maxTop} inclusive.`);
  }
  const skipToken = req.query.get('$skiptoken');
  const token = skipToken ? Buffer.from(skipToken, 'base64url').toString('utf8') : '';
  const cursor = token.startsWith('@') ? Number(token.slice(1)) || 0 : 0;
  let skip = token && !token.startsWith('@') ? Number(token) || 0 : 0;
  const quick = opts.quick ?? {};
  const allQuick = opts.clauses.every((c) => Object.hasOwn(quick, c.field));
  const quickMatch = (row: T) =>
    opts.clauses.every(({ field, value }) => {
      const v = quick[field]!(row);
      return v !== undefined && v !== null && String(v).toLowerCase() === value.toLowerCase();
    });

  const out: Record<string, unknown>[] = [];
  let nextPos: number | undefined;
  for (const [pos, row] of rowsFrom(cursor)) {
    let item: Record<string, unknown> | undefined;
    if (allQuick) {
      if (!quickMatch(row)) continue;
    } else {
      item = opts.toItem(row);
      if (!matchesFilter(item, opts.clauses)) continue;
    }
    if (skip > 0) {
      skip--;
      continue;
    }
    if (out.length === top) {
      nextPos = pos;
      break;
    }
    out.push(applySelect(item ?? opts.toItem(row), req.query.get('$select')));
  }
  const body: Record<string, unknown> = { '@odata.context': contextUrl(req, opts.fragment) };
  if (nextPos !== undefined) {
    const next = new URLSearchParams(req.query);
    next.set('$skiptoken', Buffer.from(`@${nextPos}`).toString('base64url'));
    // Graph writes OData option names with a literal `$`.
    const qs = [...next.entries()].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    body['@odata.nextLink'] = `${req.origin}${req.path}?${qs}`;
  }
  body.value = out;
  return json(200, body);
}

/** [position, item] of an array from a position: the simplest `rowsFrom`. */
export function* fromArray<T>(items: readonly T[], from: number, base = 0): Generator<readonly [number, T]> {
  for (let i = Math.max(0, from - base); i < items.length; i++) yield [base + i, items[i]!] as const;
}

/** [position, value] of any iterable from a position (walks past the first `from`; for Maps). */
export function* fromIterable<T>(items: Iterable<T>, from: number): Generator<readonly [number, T]> {
  let i = 0;
  for (const x of items) {
    if (i >= from) yield [i, x] as const;
    i++;
  }
}

type EndsTarget = { eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: string }> };

interface EndsIndex {
  list: EndsTarget['eligibilityEnds'];
  length: number;
  /** accessId ('' for Entra roles) -> lower-case user id -> days after the simulator started. */
  byAccess: Map<string, Map<string, number>>;
}

const endsCache = new WeakMap<object, EndsIndex>();
const endArrays = new WeakMap<string[], { length: number; ends: EndsTarget['eligibilityEnds']; endsLength: number; days: Array<number | null> }>();

/** Epoch ms of an end, computed exactly as SimState.eligibilityEnd does (same operation order, same rounding). */
const endAt = (state: SimState, days: number) => state.startedAt.getTime() + days * 24 * 3600 * 1000;

/**
 * Days after the simulator's start when a user's eligible assignment ends, or null when permanent: the
 * same answer as `SimState.eligibilityEnd` (first matching entry wins; an entry without accessId covers
 * both), from an index built once per seeded target and rebuilt if its end list is replaced or grows.
 */
function endDays(target: EndsTarget, userId: string, accessId?: string): number | null {
  let index = endsCache.get(target);
  if (!index || index.list !== target.eligibilityEnds || index.length !== (target.eligibilityEnds?.length ?? 0)) {
    index = { list: target.eligibilityEnds, length: target.eligibilityEnds?.length ?? 0, byAccess: new Map() };
    endsCache.set(target, index);
  }
  const key = accessId ?? '';
  let byUser = index.byAccess.get(key);
  if (!byUser) {
    byUser = new Map();
    for (const e of target.eligibilityEnds ?? []) {
      if (accessId && e.accessId && e.accessId !== accessId) continue;
      const k = e.userId.toLowerCase();
      if (!byUser.has(k)) byUser.set(k, e.daysFromNow);
    }
    index.byAccess.set(key, byUser);
  }
  return byUser.get(userId.toLowerCase()) ?? null;
}

/**
 * The end of each entry of an eligible list (epoch ms, null when permanent), by index: worked out once
 * per list, so a page of a 200k list does no per-user lookups.
 */
export function eligibilityEndsOf(state: SimState, target: EndsTarget, eligible: string[], accessId?: string): (index: number) => number | null {
  let cached = endArrays.get(eligible);
  if (!cached || cached.length !== eligible.length || cached.ends !== target.eligibilityEnds || cached.endsLength !== (target.eligibilityEnds?.length ?? 0)) {
    cached = {
      length: eligible.length,
      ends: target.eligibilityEnds,
      endsLength: target.eligibilityEnds?.length ?? 0,
      days: eligible.map((uid) => endDays(target, uid, accessId)),
    };
    endArrays.set(eligible, cached);
  }
  const days = cached.days;
  const base = (i: number) => {
    const d = days[i];
    return d === null || d === undefined ? null : endAt(state, d);
  };
  // Ends an administrator changed in this simulator (adminExtend, adminRenew) win.
  const changed = state.changedEnds(target);
  if (!changed) return base;
  return (i) => {
    const uid = eligible[i];
    const end = uid === undefined ? undefined : changed.of(uid, accessId);
    return end === undefined ? base(i) : Date.parse(end);
  };
}
