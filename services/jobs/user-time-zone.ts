import type { Client } from '@microsoft/microsoft-graph-client';
import pino, { type Logger } from 'pino';
import { toGraphCallError } from '../graph/graph-errors';
import { validTimeZone, windowsToIana } from './local-time';

/** A time zone lookup feeds a schedule, not a user waiting on an answer; still, a pass must not stall on it. */
const READ_TIMEOUT_MS = 8000;
/** People rarely change their mailbox time zone; a day-old answer at worst shifts one digest. */
const DEFAULT_TTL_MS = 6 * 3_600_000;
/** After a failure (403 without MailboxSettings.Read, throttling, an outage) ask again soon, but not on every call. */
const DEFAULT_FAILURE_TTL_MS = 5 * 60_000;

export interface UserTimeZonesOptions {
  ttlMs?: number;
  failureTtlMs?: number;
  /** Clock for cache expiry (tests). */
  nowMs?: () => number;
  log?: Logger;
}

/**
 * Each user's time zone as IANA name, from their mailbox settings (app-only read, needs the
 * MailboxSettings.Read application permission), else the configured default. Cached per user.
 */
export class UserTimeZones {
  private readonly cache = new Map<string, { zone: string; until: number; known: boolean }>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly nowMs: () => number;
  private readonly log: Logger;

  constructor(
    private readonly graph: Client,
    private readonly defaultZone: string,
    opts: UserTimeZonesOptions = {},
  ) {
    if (!validTimeZone(defaultZone))
      throw new Error(`Default time zone "${defaultZone}" is not a time zone this runtime knows; use an IANA name such as Europe/Amsterdam`);
    this.ttlMs = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.failureTtlMs = Math.min(opts.failureTtlMs ?? DEFAULT_FAILURE_TTL_MS, this.ttlMs);
    this.nowMs = opts.nowMs ?? Date.now;
    this.log = opts.log ?? pino({ level: 'silent' });
  }

  /**
   * Several users' zones, `concurrency` lookups at a time: a digest pass asks for every candidate's, and
   * one after another that is a Graph round trip per user (minutes for thousands, on a cold cache).
   */
  async zonesOf(userIds: Iterable<string>, concurrency = 8): Promise<Map<string, string>> {
    const ids = [...new Set(userIds)];
    const out = new Map<string, string>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        out.set(id, await this.zoneOf(id));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
    return out;
  }

  /** The user's IANA time zone; never throws (the default stands in for anything unknown). */
  async zoneOf(userId: string): Promise<string> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > this.nowMs()) return hit.zone;
    const pending = this.inFlight.get(userId);
    if (pending) return pending;
    const p = this.lookUp(userId).finally(() => this.inFlight.delete(userId));
    this.inFlight.set(userId, p);
    return p;
  }

  /** The user's own zone (their mailbox's), or null when only the default stands in for it. */
  async knownZoneOf(userId: string): Promise<string | null> {
    const zone = await this.zoneOf(userId);
    return this.cache.get(userId)?.known === false ? null : zone;
  }

  private async lookUp(userId: string): Promise<string> {
    let raw: unknown;
    try {
      const res = (await this.graph
        .api(`/users/${encodeURIComponent(userId)}/mailboxSettings`)
        .select(['timeZone'])
        .option('signal', AbortSignal.timeout(READ_TIMEOUT_MS))
        .get()) as { timeZone?: unknown } | undefined;
      raw = res?.timeZone;
    } catch (err) {
      const e = toGraphCallError(err, 'Reading the mailbox time zone');
      // 403: no MailboxSettings.Read consent, 404: no such user or no Exchange mailbox. Either way the
      // default is the answer; only the log level differs.
      const expected = e.status === 403 || e.status === 404;
      this.log[expected ? 'info' : 'warn']({ userId, status: e.status, code: e.code }, 'mailbox time zone unavailable; using the default');
      return this.remember(userId, this.defaultZone, this.failureTtlMs, false);
    }
    const zone = toIana(raw);
    if (!zone) {
      // Graph leaves timeZone out (or empty) for a mailbox nobody has opened yet.
      if (raw !== undefined && raw !== null && raw !== '')
        this.log.info({ userId, timeZone: String(raw).slice(0, 80) }, 'unknown mailbox time zone; using the default');
      return this.remember(userId, this.defaultZone, this.ttlMs, false);
    }
    return this.remember(userId, zone, this.ttlMs);
  }

  private remember(userId: string, zone: string, ttl: number, known = true): string {
    this.cache.set(userId, { zone, until: this.nowMs() + ttl, known });
    return zone;
  }
}

/** Mailbox settings hold a Windows id by default, or an IANA name when an admin set it that way. */
function toIana(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  const name = raw.trim();
  const fromWindows = windowsToIana(name);
  if (fromWindows) return fromWindows;
  // Only Area/Location names count as IANA: Intl also accepts abbreviations like "EST", which are not zones.
  if (name.includes('/') && validTimeZone(name)) return name;
  return null;
}
