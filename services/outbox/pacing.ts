/**
 * The outbox's pace to Teams: the in-process Pacer (a cheap pre-check, seeded from the database after a
 * restart), the shared pace every replica counts in the database (shared-pace.ts), a 429's pause shared
 * by both, and the backoff before a retry.
 *
 * The pacer's windows live in this process. With several instances draining at once, give each the same
 * `sharedPace`: it counts every instance's sends in the database and shares a 429's pause. Without it each
 * paces alone (a 429 pauses only whoever gets it).
 */
import type { Logger } from 'pino';
import type { Pacer } from './pacer';
import { shortError } from './send-errors';
import type { SharedPace } from './shared-pace';

/** How far back sent rows seed the pacer after a restart: the longest Teams window. */
const SEED_HORIZON_MS = 60 * 60_000;
/** Backoff for 5xx and timeouts: 2 s doubling to 5 min, with jitter so replicas do not retry in step. */
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_CAP_MS = 5 * 60_000;
/** A 429 without Retry-After: 1 s doubling per consecutive 429 to a minute. */
const THROTTLE_BASE_MS = 1_000;
const THROTTLE_CAP_MS = 60_000;

/** A send slot: granted (with the shared pace's slot id when there is one) or refused for now. */
export type Slot = { ok: true; shared?: string } | { ok: false };

export class OutboxPacing {
  private readonly throttleStreak = new Map<string, number>();
  private seeded = false;

  constructor(
    private readonly pacer: Pacer,
    private readonly sharedPace: SharedPace | undefined,
    private readonly log: Logger,
    /** For backoff jitter; injectable for tests. */
    private readonly random: () => number,
  ) {}

  /** Once per process: the pacer counts the sends of the last hour (`sentSince` reads them). */
  async seed(now: Date, sentSince: (since: string) => Promise<Array<{ conversation_id: string; sent_at: string | null }>>): Promise<void> {
    if (this.seeded) return;
    this.seeded = true;
    const rows = await sentSince(new Date(now.getTime() - SEED_HORIZON_MS).toISOString());
    for (const r of rows) this.pacer.record(r.conversation_id, new Date(r.sent_at!));
  }

  /**
   * A slot to send to the conversation now. The local slot is taken first (before any await), so
   * conversations sending in parallel cannot overrun the tenant window between them; then every replica's
   * sends count: the shared pace in the database has the last word. Refused, or not answering ("not now":
   * the next pass asks again), the local slot is given back.
   */
  async reserve(conversationId: string, now: Date): Promise<Slot> {
    if (!this.pacer.reserve(conversationId, now).ok) return { ok: false };
    if (!this.sharedPace) return { ok: true };
    const shared = await this.sharedPace.reserve(conversationId, now).catch((err: unknown) => {
      this.log.warn({ err: shortError(err), conversationId }, 'outbox: the shared pace did not answer; the next pass asks again');
      return null;
    });
    if (!shared?.ok) {
      this.pacer.forget(conversationId, now);
      return { ok: false };
    }
    return { ok: true, shared: shared.slot };
  }

  /** A slot whose row was lost to another instance: the shared one is given back (the local one is wasted). */
  async release(slot: Slot): Promise<void> {
    if (slot.ok && slot.shared) await this.sharedPace!.release(slot.shared);
  }

  /** Teams had the message by its answer: the shared windows count it until then, not until the slot's in-flight bound. */
  async settle(slot: Slot, answeredAt: () => Date): Promise<void> {
    if (slot.ok && slot.shared) await this.sharedPace!.settle(slot.shared, answeredAt());
  }

  /** A send went through: the conversation's run of 429s is over. */
  sent(conversationId: string): void {
    this.throttleStreak.delete(conversationId);
  }

  /**
   * A 429: the conversation waits for its Retry-After (or 1 s doubling per consecutive 429), in this
   * process and, through the shared pace, on every replica. Returns when the wait ends.
   */
  async throttled(conversationId: string, retryAfterMs: number | null, now: Date, log: Logger): Promise<{ until: Date; waitMs: number }> {
    const streak = (this.throttleStreak.get(conversationId) ?? 0) + 1;
    this.throttleStreak.set(conversationId, streak);
    const waitMs = retryAfterMs ?? this.jitter(Math.min(THROTTLE_CAP_MS, THROTTLE_BASE_MS * 2 ** (streak - 1)));
    const until = new Date(now.getTime() + waitMs);
    this.pacer.pause(conversationId, until);
    // Every replica holds the conversation too (the row's not_before holds only that row).
    await this.sharedPace
      ?.pause(conversationId, until)
      .catch((err: unknown) =>
        log.warn({ err: shortError(err) }, 'outbox: could not share the pause; other replicas may send to the conversation before it ends'),
      );
    return { until, waitMs };
  }

  /** Backoff for 5xx, timeouts and a look that could not be made, with jitter. */
  backoffMs(attempts: number): number {
    return this.jitter(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1)));
  }

  private jitter(ms: number): number {
    return Math.round(ms * (0.5 + 0.5 * this.random()));
  }
}
