import type { TokenCredential } from '@azure/identity';
import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/config';
import type { Store } from '../store/store';
import { correlationMixin } from './correlation';
import { errInfo } from './err-info';
import { PrometheusMetrics } from './metrics';
import { Readiness } from './readiness';
import { BOT_FRAMEWORK_SCOPE, connectorCheck, GRAPH_SCOPE, tokenCheck } from './readiness-checks';

/**
 * The process's logger. Every line logged while serving a request carries its correlation id (the mixin reads
 * it from the async context). Asynchronous writes: a line is handed to the kernel off the request's path, and
 * lines that queue up while one is being written go out together (synchronous stdout writes were 8% of a card
 * action's CPU). pino flushes what is queued when the process exits.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, mixin: correlationMixin, redact: ['req.headers.authorization', '*.token', '*.clientSecret', '*.appSecret', '*.apiKey'] },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** The process's Prometheus registry, with the gauges read from the store at each scrape. */
export function createMetrics(store: Pick<Store, 'scrapeSources'>, log: Logger, now?: () => Date): PrometheusMetrics {
  return new PrometheusMetrics(store.scrapeSources(now), {
    onScrapeError: (what, err) => log.warn({ err: errInfo(err), what }, 'metrics: a database gauge could not be read'),
  });
}

/**
 * What /readyz checks: the database, an app-only Graph token, a Bot Framework token (none in demo: the
 * playground's connector takes no token, Bot Framework auth is off) and that the approver channels' connectors
 * answer. Also exposed as a metric.
 */
export function createReadiness(
  config: Pick<AppConfig, 'bot' | 'approverChannels'>,
  deps: { store: Pick<Store, 'readinessCheck'>; appCredential: TokenCredential; metrics: PrometheusMetrics; log: Logger },
): Readiness {
  const { log } = deps;
  const readiness = new Readiness(
    [
      deps.store.readinessCheck(),
      tokenCheck('graphToken', deps.appCredential, GRAPH_SCOPE),
      ...(config.bot.authenticateChannel ? [tokenCheck('botFrameworkToken', deps.appCredential, BOT_FRAMEWORK_SCOPE)] : []),
      connectorCheck(Object.values(config.approverChannels).map((c) => c.serviceUrl)),
    ],
    { onFailure: (check, err) => log.warn({ check, err: errInfo(err) }, 'readiness check failed') },
  );
  deps.metrics.exposeReadiness(() => readiness.report());
  return readiness;
}
