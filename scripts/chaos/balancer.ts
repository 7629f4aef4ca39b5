/**
 * A small round-robin HTTP balancer on loopback, in front of the bot replicas: PIM's custom extension
 * and the Teams invokes reach the bot through it, as they would through a load balancer in Azure. Each
 * request goes to the next live replica; when the connection to it cannot be made (the process is dead
 * and its port closed) the same request goes to the other one. A request whose replica dies after it
 * was sent is not replayed (the replica may have acted on it): the caller gets a 502, as from a real
 * balancer, and retries if it wants to (PIM does, an approver clicks again).
 *
 * Test affordances: a request with `x-chaos-pin: <name>` goes to that replica when it is live (a click
 * on both replicas at once), and one with `x-chaos-op: <id>` is reported to `onRoute`, so the driver
 * knows which process holds it (to kill it while its PATCH is held).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  name: string;
  url: string;
  pid: number;
}

export interface BalancerStats {
  requests: number;
  /** Per replica name. */
  forwarded: Record<string, number>;
  /** Requests sent on to the other replica because the chosen one refused the connection. */
  failovers: number;
  /** Answered 502: the replica died with the request, or no replica was live. */
  badGateway: number;
  noBackend: number;
}

export interface Balancer {
  url: string;
  stats: BalancerStats;
  /** The live replicas, in round-robin order (the driver adds a started one and removes a killed one). */
  setBackend(name: string, backend: Backend | null): void;
  backends(): Backend[];
  /** Called for requests carrying x-chaos-op: which replica (and process) got it. */
  onRoute: ((op: string, backend: Backend) => void) | null;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export async function startBalancer(): Promise<Balancer> {
  const live = new Map<string, Backend>();
  const order: string[] = [];
  let next = 0;
  const stats: BalancerStats = { requests: 0, forwarded: {}, failovers: 0, badGateway: 0, noBackend: 0 };
  const sockets = new Set<import('node:net').Socket>();

  const candidates = (pin: string | undefined): Backend[] => {
    const names = order.filter((n) => live.has(n));
    if (names.length === 0) return [];
    const start = next++ % names.length;
    const rotated = [...names.slice(start), ...names.slice(0, start)];
    if (pin && live.has(pin)) rotated.sort((a, b) => (a === pin ? -1 : b === pin ? 1 : 0));
    return rotated.map((n) => live.get(n)!);
  };

  const server: Server = createServer((req, res) => {
    stats.requests += 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const pin = header(req, 'x-chaos-pin');
      const op = header(req, 'x-chaos-op');
      const targets = candidates(pin);
      if (targets.length === 0) {
        stats.noBackend += 1;
        stats.badGateway += 1;
        reply(res, 502, 'no live replica');
        return;
      }
      forward(req, res, body, targets, 0, op);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const api: Balancer = {
    url: '',
    stats,
    onRoute: null,
    setBackend(name, backend) {
      if (!order.includes(name)) order.push(name);
      if (backend) live.set(name, backend);
      else live.delete(name);
    },
    backends: () => order.filter((n) => live.has(n)).map((n) => live.get(n)!),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, targets: Backend[], i: number, op: string | undefined): void {
    const target = targets[i]!;
    const url = new URL(req.url ?? '/', target.url);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !k.startsWith('x-chaos-')) headers[k] = v;
    headers['content-length'] = String(body.length);
    headers.connection = 'close';
    let connected = false;
    const upstream = httpRequest(
      { host: url.hostname, port: url.port, method: req.method, path: url.pathname + url.search, headers, agent: false },
      (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('socket', (s) => {
      s.once('connect', () => {
        connected = true;
        stats.forwarded[target.name] = (stats.forwarded[target.name] ?? 0) + 1;
        if (op && api.onRoute) api.onRoute(op, target);
      });
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && i + 1 < targets.length && (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET')) {
        stats.failovers += 1;
        forward(req, res, body, targets, i + 1, op);
        return;
      }
      stats.badGateway += 1;
      if (!res.headersSent) reply(res, 502, `replica ${target.name} failed: ${err.code ?? err.message}`);
      else res.destroy();
    });
    // The caller gave up (PIM's timeout, an approver's client): the replica's answer has nowhere to go.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'BadGateway', message } }));
}
