import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { PENDING_AGE_BUCKETS, type PendingAgeBucket, type ScrapeSources } from './metrics';

/** Open in the bot's lifecycle: waiting for an approver, or an approver's decision being recorded. */
const OPEN_STATUSES = ['pending', 'recording'];
/** Outbox rows not yet sent: due or waiting (pending), being sent (sending), waiting for a summary's minute (held). */
const WAITING_OUTBOX = ['pending', 'sending', 'held'];

/**
 * The gauges' database reads, two per scrape: the creation times of open requests (few: PIM drops a
 * request after 24 hours) and one aggregate over the outbox.
 */
export function storeScrapeSources(db: Kysely<Database>, now: () => Date = () => new Date()): ScrapeSources {
  return {
    async pendingByAge() {
      const at = now().getTime();
      const rows = await db.selectFrom('approval_requests').select('created_at').where('status', 'in', OPEN_STATUSES).execute();
      const counts = Object.fromEntries(PENDING_AGE_BUCKETS.map((b) => [b.label, 0])) as Record<PendingAgeBucket, number>;
      for (const r of rows) {
        const age = at - Date.parse(r.created_at);
        const bucket = PENDING_AGE_BUCKETS.find((b) => age < b.maxMs) ?? PENDING_AGE_BUCKETS[PENDING_AGE_BUCKETS.length - 1]!;
        counts[bucket.label]++;
      }
      return counts;
    },
    async outbox() {
      const row = await db
        .selectFrom('outbox')
        .select([
          sql<number | string>`sum(case when status in (${sql.join(WAITING_OUTBOX)}) then 1 else 0 end)`.as('depth'),
          sql<string | null>`min(case when status in (${sql.join(WAITING_OUTBOX)}) then created_at end)`.as('oldest'),
          sql<number | string>`sum(case when status = 'failed' then 1 else 0 end)`.as('failed'),
        ])
        .executeTakeFirst();
      const oldest = row?.oldest ? Date.parse(row.oldest) : null;
      return {
        depth: Number(row?.depth ?? 0),
        oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now().getTime() - oldest) / 1000),
        failed: Number(row?.failed ?? 0),
      };
    },
  };
}
