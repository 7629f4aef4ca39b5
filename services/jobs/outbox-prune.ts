import type { Logger } from 'pino';
import type { JobScheduler } from './scheduler';

export const OUTBOX_PRUNE_JOB = 'outbox:prune';
/** Sent and given-up messages are kept a week (summaries are re-rendered from them while requests are open). */
const OUTBOX_KEEP_MS = 7 * 24 * 3600_000;
const EVERY_MS = 3600_000;

/** The hourly durable job that prunes old outbox rows (one replica runs it each time). */
export async function scheduleOutboxPrune(
  scheduler: JobScheduler,
  outbox: { prune(before: Date): Promise<number> },
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<void> {
  scheduler.on(OUTBOX_PRUNE_JOB, async (_job, at) => {
    const pruned = await outbox.prune(new Date(at.getTime() - OUTBOX_KEEP_MS));
    if (pruned) log.info({ pruned }, 'outbox: old messages pruned');
    return { rescheduleAt: new Date(at.getTime() + EVERY_MS) };
  });
  await scheduler.schedule({ id: OUTBOX_PRUNE_JOB, kind: OUTBOX_PRUNE_JOB, dueAt: new Date(now().getTime() + EVERY_MS) });
}
