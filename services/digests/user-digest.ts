import { DAY_MS, type DigestTarget } from './types';
import { type DigestInputs, RENEW_WINDOW_DAYS } from './collect';
import { digestRoute, type DigestRoute } from './digest-actions';
import { localDate, safeZone } from './calendar-days';

/**
 * A user's daily digest: what of theirs ends within PIM's 14-day extension window (eligible, and active
 * assignments an administrator made), activations that end today on their own calendar, and eligible
 * assignments that expired within the last 30 days (which PIM lets them ask to renew). Users with none of
 * these get no digest. Pure: the tenant was read before.
 */

export interface UserDigestEntry extends DigestTarget {
  assignment: 'eligible' | 'active';
  endDateTime: string;
  /** Calendar days from today to the end day in the user's zone (0: ends today). */
  daysLeft: number;
  /** What Extend does: PIM's selfExtend (roles) or a request to the group's admins (groups). */
  extend: DigestRoute;
}

/** An eligibility that expired within the last 30 days: Renew asks PIM (selfRenew, roles) or the admins (groups). */
export interface UserDigestExpired extends DigestTarget {
  endedAt: string;
  renew: DigestRoute;
}

export interface UserDigestActivation extends DigestTarget {
  endDateTime: string;
}

/** An ending entry by the assignment it names (`kind|role|scope|assignment`, lower case): how a click's answer finds it. */
export function digestEntryKey(e: { kind: string; roleDefinitionId: string; scope: string; assignment: string }): string {
  return `${e.kind}|${e.roleDefinitionId.toLowerCase()}|${e.scope.toLowerCase()}|${e.assignment}`;
}

export interface UserDigest {
  principalId: string;
  timeZone: string;
  /** The user's local date the digest is for (YYYY-MM-DD). */
  date: string;
  generatedAt: string;
  ending: UserDigestEntry[];
  endingToday: UserDigestActivation[];
  /** Absent in digests kept from before the section existed. */
  expired?: UserDigestExpired[];
}

export interface UserDigestOptions {
  now: Date;
  /** IANA zone (Teams' activity.localTimezone); unknown or missing counts as UTC. */
  timeZone: string | null | undefined;
  /** Default: the inputs' horizon (14 days). */
  horizonDays?: number;
}

function dayNumber(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

export function buildUserDigest(inputs: DigestInputs, principalId: string, opts: UserDigestOptions): UserDigest | null {
  const items = inputs.byPrincipal.get(principalId.toLowerCase());
  if (!items) return null;
  const zone = safeZone(opts.timeZone);
  const now = opts.now.getTime();
  const until = now + (opts.horizonDays ?? inputs.horizonDays) * DAY_MS;
  const today = localDate(now, zone);
  const ending: UserDigestEntry[] = items.expiring
    .filter((e) => {
      const end = Date.parse(e.endDateTime);
      return end > now && end <= until;
    })
    .map((e) => ({
      kind: e.kind,
      roleDefinitionId: e.roleDefinitionId,
      scope: e.scope,
      assignment: e.assignment,
      endDateTime: e.endDateTime,
      daysLeft: dayNumber(localDate(e.endDateTime, zone)) - dayNumber(today),
      extend: digestRoute('extend', e.kind),
    }));
  const endingToday = items.activations
    .filter((a) => Date.parse(a.endDateTime) > now && localDate(a.endDateTime, zone) === today)
    .map((a) => ({ kind: a.kind, roleDefinitionId: a.roleDefinitionId, scope: a.scope, endDateTime: a.endDateTime }));
  const expired = (items.expired ?? [])
    .filter((x) => {
      const end = Date.parse(x.endDateTime);
      return end <= now && now - end <= RENEW_WINDOW_DAYS * DAY_MS;
    })
    .map((x) => ({ kind: x.kind, roleDefinitionId: x.roleDefinitionId, scope: x.scope, endedAt: x.endDateTime, renew: digestRoute('renew', x.kind) }));
  if (ending.length === 0 && endingToday.length === 0 && expired.length === 0) return null;
  return { principalId: principalId.toLowerCase(), timeZone: zone, date: today, generatedAt: opts.now.toISOString(), ending, endingToday, expired };
}

/** Everyone who may have a digest from these inputs (lower-case object ids); their own clock decides. */
export function digestCandidates(inputs: DigestInputs): string[] {
  return [...inputs.byPrincipal.keys()];
}
