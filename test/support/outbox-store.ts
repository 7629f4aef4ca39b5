/** Helpers for the outbox tests: a clock tests move by hand, a recording sender, a store, card readers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../services/store/store';
import { freshDatabase, testPostgresUrl } from './test-database';
import type { OutboxDelivery, OutboxSender } from '../../services/outbox/types';

export const T0 = Date.parse('2026-03-02T08:00:00.000Z');

export interface FakeClock {
  now(): Date;
  /** Milliseconds since T0. */
  elapsed(): number;
  advance(ms: number): void;
  set(msSinceT0: number): void;
}

export function fakeClock(): FakeClock {
  let t = T0;
  return {
    now: () => new Date(t),
    elapsed: () => t - T0,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = T0 + ms;
    },
  };
}

export interface SentRecord {
  at: number;
  delivery: OutboxDelivery;
  activityId: string;
}

export interface FakeSender extends OutboxSender {
  sent: SentRecord[];
  /** Every call, failed ones too, with the clock's time. */
  calls: Array<{ at: number; delivery: OutboxDelivery }>;
  /** The next `times` calls throw what `make` returns. */
  failNext(make: () => Error, times?: number): void;
}

/** A sender that answers as the Bot Connector does, or throws what the test queued. */
export function fakeSender(clock: { now(): Date }, opts: { delayMs?: number } = {}): FakeSender {
  const sent: SentRecord[] = [];
  const calls: FakeSender['calls'] = [];
  let failures: Array<() => Error> = [];
  let seq = 0;
  return {
    sent,
    calls,
    failNext(make, times = 1) {
      failures = failures.concat(Array.from({ length: times }, () => make));
    },
    async send(delivery) {
      const at = clock.now().getTime();
      calls.push({ at, delivery });
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const fail = failures.shift();
      if (fail) throw fail();
      const activityId = delivery.kind === 'update' ? delivery.activityId! : `1${String(++seq).padStart(12, '0')}`;
      sent.push({ at, delivery, activityId });
      return { activityId };
    },
  };
}

/** An error shaped as the Bot Connector client throws it. */
export function httpError(status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`Bot Connector answered ${status}`), { statusCode: status, ...extra });
}

/** An empty store: SQLite in memory, or a fresh schema on the test PostgreSQL server (`npm run test:postgres`). */
export async function memoryStore(): Promise<Store> {
  if (!testPostgresUrl()) return Store.open('sqlite::memory:');
  return Store.open((await tempDatabase()).url);
}

/** A database for tests that open it twice (two bot instances): a SQLite file in a temp dir, or a PostgreSQL schema. */
export async function tempDatabase(): Promise<{ url: string; remove(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
  const database = await freshDatabase(dir);
  return {
    url: database.url,
    remove: async () => {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The request ids a delivered card is about (every Action.Execute's data.requestId), once each. */
export function requestIdsOf(card: unknown): string[] {
  const ids = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if (o.type === 'Action.Execute' && typeof (o.data as { requestId?: unknown })?.requestId === 'string') ids.add((o.data as { requestId: string }).requestId);
    Object.values(o).forEach(visit);
  };
  visit(card);
  return [...ids];
}

/** The most items in any half-open window [t, t + perMs) of the times (sorted here). */
export function busiest(times: readonly number[], perMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[j]! <= sorted[i]! - perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
