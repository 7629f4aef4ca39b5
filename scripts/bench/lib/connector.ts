/**
 * A Bot Connector stand-in for the benchmarks: answers posts and updates as the connector does and
 * notes when each approval request's card first arrived (by the `requestId` its actions carry), on
 * this process's performance.now() clock. It keeps counts, not the activities.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchConnector {
  serviceUrl: string;
  posts: number;
  updates: number;
  /** requestId → performance.now() when a post carrying it first arrived. */
  firstSeen: Map<string, number>;
  close(): Promise<void>;
}

const REQUEST_ID = /"requestId":"([0-9a-f-]{36})"/g;

export async function startBenchConnector(): Promise<BenchConnector> {
  const firstSeen = new Map<string, number>();
  const state = { posts: 0, updates: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      if (req.method === 'POST') {
        state.posts++;
        for (const m of Buffer.concat(chunks).toString('utf8').matchAll(REQUEST_ID)) if (!firstSeen.has(m[1]!)) firstSeen.set(m[1]!, at);
      } else if (req.method === 'PUT') state.updates++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: randomUUID() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    serviceUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    get posts() {
      return state.posts;
    },
    get updates() {
      return state.updates;
    },
    firstSeen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
