import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type RestifyModule from 'restify';
import { CORRELATION_HEADER, correlationIdFrom, withCorrelationId } from '../../services/observability/correlation';
import { errorResult, HttpError, type HttpResult, parseJson, readBody, requireJsonContentType } from './http-body';

/**
 * The bot's HTTP server: restify, as the Bot Framework's own samples serve a bot, with the few routes the
 * bot has (Bot Framework activities, PIM's callouts, events, health and metrics).
 *
 * Every request gets a correlation id (the caller's, if it sent a sane one), returned in a header and
 * current (AsyncLocalStorage) for everything its handler does. Unknown paths answer 404, known paths
 * with another method 405 with Allow, a refused body 413/415/400, a handler that throws 500; all as JSON
 * errors that say what is wrong and reveal nothing of the bot's insides.
 *
 * Teams activities and PIM's callouts are a few KB sent in one go, so the server gives a client seconds,
 * not node's minutes: the limits below are set on purpose, each with its reason.
 */

/**
 * The request line and headers must arrive within this time of the connection opening (or of the previous
 * request on it). Teams and PIM send them in one packet; a connection that opens and sends nothing, or
 * trickles a header a second (slowloris), is answered 408 and closed. Node's default is 60 s.
 */
export const HEADERS_TIMEOUT_MS = 5_000;
/**
 * The whole request (headers and body) must arrive within this time. The largest body the bot takes is an
 * activity of 256 KiB, a fraction of a second on any link Teams uses; node's default is 300 s. Time the
 * handler spends after the body arrived (Graph calls, the decision's budget) does not count.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * A body that stops arriving for this long (headers and one byte, then nothing) is answered 408 and its
 * connection closed, well before REQUEST_TIMEOUT_MS: nobody legitimate pauses seconds inside a few KB.
 */
export const BODY_IDLE_TIMEOUT_MS = 3_000;
/**
 * How often node looks for requests over HEADERS_TIMEOUT_MS or REQUEST_TIMEOUT_MS (default 30 s, which
 * would let a slow client hold its socket up to 30 s past the limit). A pass walks the open connections:
 * microseconds for thousands.
 */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
/**
 * An idle keep-alive connection is closed after this long. Long enough to carry a burst of activities or
 * PIM's callout and its retry on one connection, short enough that idle sockets do not pile up (node's
 * default, set here so it is a decision rather than an accident).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * Open connections beyond this are refused at accept. Teams and PIM need tens; the cap bounds what a flood
 * of idle sockets can take (each costs about 10 KB and a file descriptor, ~20 MB at the cap) while leaving
 * room for a thousand idle sockets, which HEADERS_TIMEOUT_MS closes within seconds anyway, next to real
 * traffic.
 */
export const MAX_CONNECTIONS = 2_048;
/** Headers beyond this count are ignored. Teams' and PIM's requests carry 10-30, proxies included. */
export const MAX_HEADERS_COUNT = 100;
/**
 * The request line and headers may take at most this many bytes (431 above). A Bot Framework or Entra
 * token is 1-4 KB; node's default is the same 16 KiB, fixed here so a `--max-http-header-size` flag
 * cannot raise it.
 */
export const MAX_HEADER_BYTES = 16 * 1024;
/** At most one log line per this interval for slow or malformed clients and refused connections (the rest are counted). */
const CLIENT_LOG_INTERVAL_MS = 10_000;

/**
 * restify 11 loads spdy, whose http-deceiver reads `process.binding('http_parser')` as it loads: a
 * deprecation warning (DEP0111) on stderr at every start, about code the bot never runs (spdy serves only
 * when asked to). Silenced for that one synchronous load, nothing else.
 */
function loadRestify(): typeof RestifyModule {
  // Already silent (and read-only) under --no-deprecation.
  if (process.noDeprecation) return require('restify') as typeof RestifyModule;
  process.noDeprecation = true;
  try {
    return require('restify') as typeof RestifyModule;
  } finally {
    process.noDeprecation = false;
  }
}
const restify = loadRestify();

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  connectionsCheckIntervalMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxHeadersCount: number;
  maxHeaderBytes: number;
}

export const SERVER_LIMITS: Readonly<ServerLimits> = {
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  bodyIdleTimeoutMs: BODY_IDLE_TIMEOUT_MS,
  connectionsCheckIntervalMs: CONNECTIONS_CHECK_INTERVAL_MS,
  keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  maxConnections: MAX_CONNECTIONS,
  maxHeadersCount: MAX_HEADERS_COUNT,
  maxHeaderBytes: MAX_HEADER_BYTES,
};

export interface BotRequest extends RestifyModule.Request {
  /** The parsed JSON body on routes with `jsonBody` (botbuilder's adapter reads it from here). */
  body?: unknown;
  correlationId: string;
}

/** restify's response: `header`, `send(status, body)` (objects as JSON), and node's own API. */
export type BotResponse = RestifyModule.Response;

export type Handler = (req: BotRequest, res: BotResponse) => Promise<void>;

/** Runs before the body is read; throws HttpError to refuse the request (answered as JSON, the body left unread). */
export type Guard = (req: BotRequest) => void | Promise<void>;

export interface RouteOptions {
  /** Checks that need no body (credentials, content type), in order. */
  guards?: Guard[];
  /**
   * Read and parse a JSON body of at most `maxBytes` into `req.body` with restify's body parser before the
   * handler runs (415 for another content type or any Content-Encoding, 413 above the limit, 400 for
   * malformed JSON). Routes that check a signature over the raw bytes, or a token before reading
   * anything, read the body themselves (`readBody` in http-body.ts).
   */
  jsonBody?: { maxBytes: number };
}

type Method = 'GET' | 'HEAD' | 'POST';

interface Mounted {
  handler: Handler;
  opts: RouteOptions;
}

export class BotHttpServer {
  readonly restify: RestifyModule.Server;
  /** node's server under restify (address(), the limits). */
  readonly server: Server;
  readonly limits: Readonly<ServerLimits>;
  private readonly routes = new Map<string, Map<Method, Mounted>>();
  private readonly checks: Array<(req: BotRequest) => HttpResult | null> = [];
  private readonly clientLog: ThrottledLog;
  private mounted = false;

  constructor(
    private readonly log: Logger,
    limits: Partial<ServerLimits> = {},
  ) {
    this.limits = { ...SERVER_LIMITS, ...limits };
    this.clientLog = new ThrottledLog(log, CLIENT_LOG_INTERVAL_MS);
    // No name: restify would send it as a Server header on every answer, telling any caller what runs here.
    this.restify = restify.createServer({ name: '', handleUncaughtExceptions: false, log: log.child({ component: 'restify' }) as never });
    this.server = this.restify.server;
    const s = this.server;
    s.headersTimeout = this.limits.headersTimeoutMs;
    s.requestTimeout = this.limits.requestTimeoutMs;
    s.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    s.maxConnections = this.limits.maxConnections;
    s.maxHeadersCount = this.limits.maxHeadersCount;
    // Both read when the server starts listening (node only takes them as createServer options, which
    // restify does not pass on).
    (s as Server & { maxHeaderSize?: number }).maxHeaderSize = this.limits.maxHeaderBytes;
    (s as Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = this.limits.connectionsCheckIntervalMs;
    s.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    s.on('drop', () =>
      this.clientLog.note('connection_refused', { maxConnections: this.limits.maxConnections }, 'connection refused: the server is at its connection cap'),
    );

    this.restify.pre((req, res, next) => {
      const r = req as BotRequest;
      r.correlationId = correlationIdFrom(req.headers);
      res.setHeader(CORRELATION_HEADER, r.correlationId);
      withCorrelationId(r.correlationId, () => {
        this.watchBody(r, res);
        for (const check of this.checks) {
          const refused = check(r);
          if (!refused) continue;
          if (!r.complete) res.setHeader('Connection', 'close');
          for (const [k, v] of Object.entries(refused.headers ?? {})) res.setHeader(k, v);
          res.send(refused.status, refused.body);
          next(false);
          return;
        }
        next();
      });
    });
    // Errors restify itself raises (no route, wrong method, a body its parser refused) get the bot's JSON shape.
    this.restify.on('restifyError', (req: BotRequest, res: BotResponse, err: Error & { statusCode?: number }, done: () => void) => {
      withCorrelationId(req.correlationId, () => this.fail(req, res, this.fromRestify(req, res, err)));
      done();
    });
  }

  /**
   * A check every request passes before routing, unknown paths included (e.g. demo mode's Host check): an
   * HttpResult refuses the request with that answer, null lets it through.
   */
  refuseAll(check: (req: BotRequest) => HttpResult | null): void {
    this.checks.push(check);
  }

  /** Registers a route (a GET route answers HEAD too). Routes are mounted when the server starts listening. */
  route(method: Method, path: string, handler: Handler, opts: RouteOptions = {}): void {
    if (this.mounted) throw new Error(`route ${method} ${path}: register routes before listen()`);
    const methods = this.routes.get(path) ?? new Map<Method, Mounted>();
    methods.set(method, { handler, opts });
    this.routes.set(path, methods);
  }

  listen(port: number, host: string): Promise<void> {
    this.mount();
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

  private mount(): void {
    if (this.mounted) return;
    this.mounted = true;
    for (const [path, methods] of this.routes) {
      const all = new Map(methods);
      if (all.has('GET') && !all.has('HEAD')) all.set('HEAD', all.get('GET')!);
      for (const [method, { handler, opts }] of all) {
        const chain: RestifyModule.RequestHandler[] = [...(opts.guards ?? []).map((g) => this.guard(g))];
        if (opts.jsonBody) chain.push(...this.jsonBody(opts.jsonBody.maxBytes));
        chain.push(this.handle(handler));
        const spec = { path, name: `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+/g, '-')}` };
        if (method === 'GET') this.restify.get(spec, ...chain);
        else if (method === 'HEAD') this.restify.head(spec, ...chain);
        else this.restify.post(spec, ...chain);
      }
    }
  }

  /** The route's handler, under the request's correlation id (body parsers' stream callbacks lose the async context). */
  private handle(handler: Handler): RestifyModule.RequestHandler {
    // restify tells handlers from middleware by arity and AsyncFunction: this must stay an async (req, res).
    return async (req: RestifyModule.Request, res: RestifyModule.Response) => {
      const r = req as BotRequest;
      await withCorrelationId(r.correlationId, async () => {
        try {
          await handler(r, res);
        } catch (err) {
          this.fail(r, res, err);
        }
      });
    };
  }

  private guard(guard: Guard): RestifyModule.RequestHandler {
    return (req: RestifyModule.Request, res: RestifyModule.Response, next: RestifyModule.Next) => {
      const r = req as BotRequest;
      withCorrelationId(r.correlationId, () => Promise.resolve().then(() => guard(r))).then(
        () => next(),
        (err: unknown) => {
          // Refused before a byte of the body was read: a body still on its way is not waited for (the
          // connection closes after the answer instead of reading what nobody will look at).
          if (!r.complete) res.setHeader('Connection', 'close');
          withCorrelationId(r.correlationId, () => this.fail(r, res, err));
          next(false);
        },
      );
    };
  }

  /** Content type, encoding and declared size first (nothing read), then restify's reader and JSON parser. */
  private jsonBody(maxBytes: number): RestifyModule.RequestHandler[] {
    const precheck: Guard = (req) => {
      requireJsonContentType(req);
      const encoding = String(req.headers['content-encoding'] ?? 'identity')
        .trim()
        .toLowerCase();
      // restify's reader would inflate gzip without a bound on the inflated size: a few KB could become gigabytes.
      if (encoding !== 'identity')
        throw new HttpError(
          415,
          'unsupported_encoding',
          `Content-Encoding '${encoding.slice(0, 30)}' is not accepted; send the JSON uncompressed.`,
          undefined,
          { 'Accept-Encoding': 'identity' },
        );
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBytes)
        throw new HttpError(413, 'body_too_large', `The body is ${declared} bytes; the limit is ${maxBytes} bytes (${maxBytes / 1024} KiB).`);
    };
    return [
      (req, res, next) => {
        const r = req as BotRequest;
        try {
          withCorrelationId(r.correlationId, () => precheck(r));
          next();
        } catch (err) {
          withCorrelationId(r.correlationId, () => this.fail(r, res, err));
          next(false);
        }
      },
      restify.plugins.bodyReader({ maxBodySize: maxBytes }),
      ...restify.plugins.jsonBodyParser({ mapParams: false, bodyReader: true }),
    ];
  }

  /** Answers a failure: an HttpError as it says, anything else as a 500 that reveals nothing (and is logged). */
  private fail(req: BotRequest, res: BotResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Whatever is left of the body is read and dropped (or the connection closed: see watchBody).
    req.resume();
    if (err instanceof HttpError) {
      const r = errorResult(err);
      for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
      res.send(r.status, r.body);
      return;
    }
    this.log.error({ err: { message: (err as Error)?.message }, path: pathOf(req) }, 'request failed');
    res.send(500, { error: { code: 'internal', message: 'The request failed; see the bot log for this correlation id.' } });
  }

  /** restify's own errors in the bot's words. */
  private fromRestify(req: BotRequest, res: BotResponse, err: Error & { statusCode?: number }): unknown {
    const path = pathOf(req);
    switch (err.name) {
      case 'ResourceNotFoundError':
        return new HttpError(404, 'not_found', `There is no ${path.slice(0, 100)} here; the bot serves ${[...this.routes.keys()].join(', ')}.`);
      case 'MethodNotAllowedError': {
        const allow = String(res.getHeader('Allow') ?? '');
        return new HttpError(405, 'method_not_allowed', `${path} takes ${allow}, not ${String(req.method).slice(0, 10)}.`, undefined, { Allow: allow });
      }
      case 'PayloadTooLargeError':
      case 'RequestEntityTooLargeError': {
        const limit = /exceeds (\d+)/.exec(err.message)?.[1];
        return new HttpError(413, 'body_too_large', limit ? `The body exceeds ${limit} bytes (${Number(limit) / 1024} KiB).` : 'The body is too large.');
      }
      case 'InvalidContentError':
        try {
          // The parser's own message, in the words the bot uses for every JSON body.
          parseJson(typeof req.body === 'string' ? req.body : String(req.body ?? ''));
        } catch (parsed) {
          if (parsed instanceof HttpError) return parsed;
        }
        return new HttpError(400, 'malformed_json', 'The body is not valid JSON.');
      case 'UnsupportedMediaTypeError':
        return new HttpError(415, 'unsupported_media_type', 'The body is in an encoding or type this route does not take; send uncompressed application/json.');
      case 'BadDigestError':
        return new HttpError(400, 'bad_digest', 'Content-MD5 does not match the body.');
      default:
        return err;
    }
  }

  /**
   * Closes a connection whose body stops arriving for `bodyIdleTimeoutMs` while someone reads it (a 408 if
   * nothing was answered yet). Counted only while the body is being consumed: a handler that is still
   * checking a token before reading holds the bytes back itself, and REQUEST_TIMEOUT_MS bounds that.
   */
  private watchBody(req: BotRequest, res: BotResponse): void {
    if (req.complete) return;
    const socket = req.socket;
    const idleMs = this.limits.bodyIdleTimeoutMs;
    let seen = socket.bytesRead;
    let progressAt = Date.now();
    // One per request with a body still on its way, gone once the request is done (complete and read, or
    // aborted). Nothing is attached to the socket: a keep-alive socket carries many requests.
    const stop = () => clearInterval(timer);
    const timer = setInterval(
      () => {
        if (req.complete || socket.destroyed) {
          stop();
          return;
        }
        const now = Date.now();
        if (socket.bytesRead !== seen || req.readableFlowing !== true) {
          seen = socket.bytesRead;
          progressAt = now;
          return;
        }
        if (now - progressAt < idleMs) return;
        stop();
        this.clientLog.note('body_stalled', { path: pathOf(req), idleMs, method: req.method }, 'request body stalled: connection closed');
        if (res.headersSent) {
          socket.destroy();
          return;
        }
        res.setHeader('Connection', 'close');
        res.once('finish', () => socket.destroy());
        res.send(408, { error: { code: 'body_timeout', message: `No byte of the body arrived for ${idleMs / 1000} s; the connection is closed.` } });
      },
      Math.max(50, Math.floor(idleMs / 6)),
    );
    timer.unref();
    req.once('close', stop);
  }

  /** Malformed requests and node's own timeouts (408 headers/request, 431 headers too large): JSON answers, counted in the log. */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, message] =
      code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [
            408,
            'request_timeout',
            `The request did not arrive within ${this.limits.requestTimeoutMs / 1000} s (headers within ${this.limits.headersTimeoutMs / 1000} s).`,
          ]
        : code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'headers_too_large', `The request line and headers exceed ${this.limits.maxHeaderBytes} bytes.`]
          : [400, 'bad_request', 'The request is not valid HTTP/1.1.'];
    this.clientLog.note(reason, { status, parserError: code.slice(0, 40) }, 'client error: connection closed');
    // A response already under way on this socket (node's own check): nothing more can be said on it.
    if ((socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: reason, message } });
    // Closed once the answer is written, whether or not the client ever closes its side.
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
}

/** Reads and parses a JSON body of at most `limit` bytes into `req.body` (413 / 400 as HttpError otherwise), for handlers that read their own. */
export async function readJsonBody(req: BotRequest, limit: number): Promise<unknown> {
  const body = parseJson(await readBody(req, limit));
  req.body = body as Record<string, unknown>;
  return body;
}

function pathOf(req: { url?: string }): string {
  return (req.url ?? '/').split('?')[0]!.slice(0, 200);
}

/**
 * One warn line per kind of client trouble per interval, with how many happened since the last line: a
 * thousand slow sockets are worth knowing about, not a thousand lines.
 */
class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  note(kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.last.set(kind, { at: now, suppressed: 0 });
    this.log.warn({ kind, ...fields, ...(seen?.suppressed ? { sinceLastLine: seen.suppressed } : {}) }, msg);
  }
}
