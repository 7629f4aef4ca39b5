import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Request, Response, Server } from 'restify';
import { CORRELATION_HEADER, correlationIdFrom, withCorrelationId } from '../services/observability/correlation';
import type { PrometheusMetrics } from '../services/observability/metrics';
import type { Readiness } from '../services/observability/readiness';

/**
 * Operations endpoints: /healthz (the process serves), /readyz (its dependencies answer), /metrics
 * (Prometheus). The first two are unauthenticated and say nothing sensitive; /metrics needs the bearer
 * token when one is configured.
 */
export interface OperationsDeps {
  readiness: Readiness;
  metrics: PrometheusMetrics;
  /** From the config: off, open, or behind a bearer token. */
  metricsAccess: { enabled: boolean; token?: string };
  log: Logger;
}

const correlationIds = new WeakMap<object, string>();

/** The correlation id the pre-handler gave this request. */
export function correlationIdOf(req: Request): string {
  return correlationIds.get(req) ?? correlationIdFrom(req.headers);
}

/**
 * Every request gets a correlation id (the caller's, if it sent a sane one), returned in a header and
 * current for the rest of the chain. Handlers that run after a body parser (whose stream callbacks lose
 * the async context) re-enter it with `correlated`.
 */
export function registerCorrelation(server: Server): void {
  server.pre((req, res, next) => {
    const id = correlationIdFrom(req.headers);
    correlationIds.set(req, id);
    res.header(CORRELATION_HEADER, id);
    withCorrelationId(id, () => next());
  });
}

/**
 * Wraps an async route handler so it runs (and logs, and calls Graph) under the request's correlation id.
 * (restify tells async handlers from callback ones by arity and AsyncFunction, hence the exact shape.)
 */
export function correlated(handler: (req: Request, res: Response) => Promise<void>): (req: Request, res: Response) => Promise<void> {
  return async (req: Request, res: Response) => withCorrelationId(correlationIdOf(req), () => handler(req, res));
}

export function registerOperationsRoutes(server: Server, deps: OperationsDeps): void {
  server.get('/healthz', async (_req, res) => {
    res.header('Cache-Control', 'no-store');
    res.send(200, { status: 'ok' });
  });

  server.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.report();
    res.header('Cache-Control', 'no-store');
    res.send(report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', checkedAt: report.checkedAt, checks: report.checks });
  });

  const expected = deps.metricsAccess.token ? digest(deps.metricsAccess.token) : null;
  server.get('/metrics', async (req, res) => {
    res.header('Cache-Control', 'no-store');
    if (!deps.metricsAccess.enabled) {
      res.send(404, { error: { code: 'metrics_disabled', message: 'Metrics are off: set METRICS_TOKEN (and scrape with Authorization: Bearer <token>), or METRICS_ALLOW_ANONYMOUS=true on a private network.' } });
      return;
    }
    if (expected) {
      const presented = /^Bearer ([^\s]+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        res.header('WWW-Authenticate', 'Bearer realm="metrics"');
        res.send(401, { error: { code: 'metrics_unauthorized', message: 'Send Authorization: Bearer <METRICS_TOKEN>.' } });
        return;
      }
    }
    try {
      const { contentType, body } = await deps.metrics.render();
      res.setHeader('Content-Type', contentType);
      res.writeHead(200);
      res.end(body);
    } catch (err) {
      deps.log.error({ err: { message: (err as Error).message } }, 'metrics could not be rendered');
      res.send(500, { error: { code: 'metrics_failed', message: 'The metrics could not be collected; see the log.' } });
    }
  });
}

/** Same-length values for a constant-time comparison. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
