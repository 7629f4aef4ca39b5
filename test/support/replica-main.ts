/**
 * A bot replica as its own process, for crash tests: configured from the environment like bot/main.ts,
 * it prints `{"url": ...}` on its first stdout line once it listens. Tests kill it with SIGKILL.
 * REPLICA_JOBS_MS sets how often it runs due jobs (0: never on its own); REPLICA_SWEEP_MS how often its
 * card delivery sweeps (default a minute; the production bot's is 15 s).
 */
import pino from 'pino';
import { startBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';

void (async () => {
  const bot = await startBot(loadConfig(process.env), {
    logger: pino({ level: process.env.REPLICA_LOG_LEVEL ?? 'silent' }),
    sweepIntervalMs: Number(process.env.REPLICA_SWEEP_MS ?? 60_000),
    jobsIntervalMs: Number(process.env.REPLICA_JOBS_MS ?? 0),
  });
  process.stdout.write(`${JSON.stringify({ url: bot.url })}\n`);
})().catch((err: unknown) => {
  process.stderr.write(`replica failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
