import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BotHttpServer } from './http-server';
import type { PrometheusMetrics } from '../../services/observability/metrics';
import type { Readiness } from '../../services/observability/readiness';

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

export function registerOperationsRoutes(server: BotHttpServer, deps: OperationsDeps): void {
  server.route('GET', '/healthz', async (_req, res) => {
    res.header('Cache-Control', 'no-store');
    res.send(200, { status: 'ok' });
  });

  server.route('GET', '/readyz', async (_req, res) => {
    const report = await deps.readiness.report();
    res.header('Cache-Control', 'no-store');
    res.send(report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', checkedAt: report.checkedAt, checks: report.checks });
  });

  const expected = deps.metricsAccess.token ? digest(deps.metricsAccess.token) : null;
  server.route('GET', '/metrics', async (req, res) => {
    res.header('Cache-Control', 'no-store');
    if (!deps.metricsAccess.enabled) {
      res.send(404, {
        error: {
          code: 'metrics_disabled',
          message: 'Metrics are off: set METRICS_TOKEN (and scrape with Authorization: Bearer <token>), or METRICS_ALLOW_ANONYMOUS=true on a private network.',
        },
      });
      return;
    }
    if (expected) {
      const presented = /^Bearer ([^\s]+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        deps.log.warn(
          { route: '/metrics', status: 401, code: 'metrics_unauthorized', remoteAddress: req.socket.remoteAddress },
          'metrics request refused: no or wrong bearer token',
        );
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
