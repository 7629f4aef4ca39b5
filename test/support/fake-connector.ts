import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Bot Connector stand-in for component tests: records the activities the bot posts and updates,
 * answering as the connector does ({id} for a post). Faults can be queued per call.
 */
export interface RecordedActivity {
  method: 'POST' | 'PUT';
  conversationId: string;
  activityId: string;
  activity: any;
}

/** One request the connector answered, faults included, in arrival order. */
export interface ConnectorCall {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  conversationId: string | null;
  /** The status the connector answered with. */
  status: number;
}

export interface FailureOptions {
  /** Sent as the Retry-After header (seconds), as Teams does with a 429. */
  retryAfterSeconds?: number;
}

export interface FakeConnector {
  serviceUrl: string;
  posts: RecordedActivity[];
  updates: RecordedActivity[];
  /** Every request, with when it arrived and how it was answered. */
  calls: ConnectorCall[];
  failNext(status: number, times?: number, options?: FailureOptions): void;
  /**
   * The next `times` calls of this method get no answer (nothing is recorded): the caller waits until it
   * gives up or dies. `hung` counts the calls held so far.
   */
  hangNext(method: 'POST' | 'PUT', times?: number): void;
  hung: number;
  clearFailures(): void;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeConnector(): Promise<FakeConnector> {
  const posts: RecordedActivity[] = [];
  const updates: RecordedActivity[] = [];
  const calls: ConnectorCall[] = [];
  let failures: Array<{ status: number } & FailureOptions> = [];
  const hangs: Array<{ method: string }> = [];
  const held = new Set<import('node:http').ServerResponse>();
  let seq = 0;
  const api = { hung: 0 };
  const server: Server = createServer(async (req, res) => {
    const at = Date.now();
    const body = await read(req);
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    const call: ConnectorCall = { at, method: req.method ?? '', conversationId: m ? decodeURIComponent(m[1]!) : null, status: 200 };
    calls.push(call);
    const hang = hangs.findIndex((x) => x.method === req.method);
    if (hang >= 0) {
      hangs.splice(hang, 1);
      call.status = 0;
      api.hung += 1;
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const fail = failures.shift();
    if (fail) {
      call.status = fail.status;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fail.retryAfterSeconds !== undefined) headers['retry-after'] = String(fail.retryAfterSeconds);
      reply(res, fail.status, headers, JSON.stringify({ error: { code: 'ServiceError', message: 'injected' } }));
      return;
    }
    if (!m) {
      call.status = 404;
      reply(res, 404);
      return;
    }
    const conversationId = decodeURIComponent(m[1]!);
    const activity = body ? JSON.parse(body) : {};
    if (req.method === 'POST') {
      const activityId = `1${String(++seq).padStart(12, '0')}`;
      posts.push({ method: 'POST', conversationId, activityId, activity });
      reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ id: activityId }));
    } else if (req.method === 'PUT') {
      const activityId = decodeURIComponent(m[2]!);
      updates.push({ method: 'PUT', conversationId, activityId, activity });
      reply(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ id: activityId }));
    } else {
      call.status = 405;
      reply(res, 405);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const connector: FakeConnector = Object.assign(api, {
    serviceUrl: `http://127.0.0.1:${port}/`,
    posts,
    updates,
    calls,
    failNext(status: number, times = 1, options: FailureOptions = {}) {
      failures = failures.concat(Array.from({ length: times }, () => ({ status, ...options })));
    },
    clearFailures() {
      failures = [];
    },
    hangNext(method: 'POST' | 'PUT', times = 1) {
      for (let i = 0; i < times; i++) hangs.push({ method });
    },
    async waitFor(pred: () => boolean, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error('timed out waiting for the connector');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.close(() => resolve());
      }),
  });
  return connector;
}

function reply(res: import('node:http').ServerResponse, status: number, headers?: Record<string, string>, body?: string): void {
  res.writeHead(status, headers ?? {});
  res.end(body);
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
