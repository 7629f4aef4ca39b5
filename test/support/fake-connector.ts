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

export interface FakeConnector {
  serviceUrl: string;
  posts: RecordedActivity[];
  updates: RecordedActivity[];
  failNext(status: number, times?: number): void;
  clearFailures(): void;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeConnector(): Promise<FakeConnector> {
  const posts: RecordedActivity[] = [];
  const updates: RecordedActivity[] = [];
  let failures: number[] = [];
  let seq = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    const fail = failures.shift();
    if (fail) {
      reply(res, fail, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'ServiceError', message: 'injected' } }));
      return;
    }
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    if (!m) {
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
      reply(res, 405);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    serviceUrl: `http://127.0.0.1:${port}/`,
    posts,
    updates,
    failNext(status, times = 1) {
      failures = failures.concat(Array(times).fill(status));
    },
    clearFailures() {
      failures = [];
    },
    async waitFor(pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error('timed out waiting for the connector');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
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
