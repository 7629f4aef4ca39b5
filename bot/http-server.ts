import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CORRELATION_HEADER, correlationIdFrom, withCorrelationId } from '../services/observability/correlation';
import { errorResult, HttpError, parseJson, readBody } from './http-body';

/**
 * The bot's HTTP server: node's own, with a fixed route table. The bot serves a handful of routes (Bot
 * Framework activities, PIM's callouts, events, health and metrics) whose bodies each handler reads
 * itself; restify, which served them before, cost 30 MB of resident memory (a fifth of the idle bot)
 * for routing that is a map lookup here.
 *
 * Every request gets a correlation id (the caller's, if it sent a sane one), returned in a header and
 * current (AsyncLocalStorage) for everything its handler does. Unknown paths answer 404, known paths
 * with another method 405 with Allow, a handler that throws 500; all as JSON errors that say what is
 * wrong.
 */

export interface BotRequest extends IncomingMessage {
  /** The parsed JSON body, once `readJsonBody` ran (botbuilder's adapter reads it from here). */
  body?: Record<string, unknown>;
  correlationId: string;
}

/** The response, with the small API botbuilder's adapter and our handlers use. */
export interface BotResponse extends ServerResponse {
  /** Sets a header; chainable. */
  header(name: string, value: string): BotResponse;
  /** Sets the status for a later send/end; chainable. */
  status(code: number): BotResponse;
  /** Sends a JSON body (or a string as is) with `status` (default: the status set before, else 200). */
  send(statusOrBody?: number | unknown, body?: unknown): void;
}

export type Handler = (req: BotRequest, res: BotResponse) => Promise<void>;

export class BotHttpServer {
  private readonly routes = new Map<string, Map<string, Handler>>();
  readonly server: Server;

  constructor(private readonly log: Logger) {
    this.server = createServer((req, res) => void this.dispatch(req as BotRequest, decorate(res)));
  }

  route(method: 'GET' | 'HEAD' | 'POST', path: string, handler: Handler): void {
    const methods = this.routes.get(path) ?? new Map<string, Handler>();
    methods.set(method, handler);
    this.routes.set(path, methods);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async dispatch(req: BotRequest, res: BotResponse): Promise<void> {
    req.correlationId = correlationIdFrom(req.headers);
    res.setHeader(CORRELATION_HEADER, req.correlationId);
    await withCorrelationId(req.correlationId, async () => {
      try {
        const path = (req.url ?? '/').split('?')[0]!;
        const methods = this.routes.get(path);
        const handler = methods?.get(req.method ?? '') ?? (req.method === 'HEAD' ? methods?.get('GET') : undefined);
        if (!methods) throw new HttpError(404, 'not_found', `There is no ${path.slice(0, 100)} here; the bot serves /api/messages, /api/pim/evaluate, /api/pim/events, /api/pim/post-approval, /healthz, /readyz and /metrics.`);
        if (!handler) {
          const allow = [...methods.keys()].join(', ');
          throw new HttpError(405, 'method_not_allowed', `${path} takes ${allow}, not ${String(req.method).slice(0, 10)}.`, undefined, { Allow: allow });
        }
        await handler(req, res);
      } catch (err) {
        req.resume();
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof HttpError) {
          const r = errorResult(err);
          for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
          res.send(r.status, r.body);
          return;
        }
        this.log.error({ err: { message: (err as Error).message }, path: req.url?.split('?')[0] }, 'request failed');
        res.send(500, { error: { code: 'internal', message: 'The request failed; see the bot log for this correlation id.' } });
      }
    });
  }
}

/** Reads and parses a JSON body of at most `limit` bytes into `req.body` (413 / 400 as HttpError otherwise). */
export async function readJsonBody(req: BotRequest, limit: number): Promise<unknown> {
  const body = parseJson(await readBody(req, limit));
  // Only an object is a body botbuilder can take; anything else stays for the caller to refuse.
  req.body = body as Record<string, unknown>;
  return body;
}

function decorate(raw: ServerResponse): BotResponse {
  const res = raw as BotResponse;
  let pending: number | undefined;
  res.header = (name, value) => {
    res.setHeader(name, value);
    return res;
  };
  res.status = (code) => {
    pending = code;
    res.statusCode = code;
    return res;
  };
  res.send = (statusOrBody?: number | unknown, body?: unknown) => {
    let status = pending ?? res.statusCode ?? 200;
    let payload = body;
    if (typeof statusOrBody === 'number') status = statusOrBody;
    else payload = statusOrBody;
    if (res.headersSent) return;
    if (payload === undefined || payload === null) {
      res.writeHead(status);
      res.end();
      return;
    }
    const text = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.writeHead(status);
    res.end(text);
  };
  return res;
}
