/**
 * Teams' front door for the replicas: a pass-through proxy on loopback in front of the Bot Connector
 * stand-in (sim/bot-connector.ts). It changes nothing on the way (the stand-in records every call, holds,
 * slows and fails them); it only knows, for each call still waiting for its answer, which replica process
 * sent it (the caller's TCP port, looked up in /proc), so the driver can kill the replica whose post is
 * held between "sent" and "recorded".
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HeldCall {
  method: string;
  path: string;
  /** The caller's (replica's) local port. */
  peerPort: number;
  startedAt: number;
}

export interface TeamsEdge {
  /** The service URL the replicas are given. */
  url: string;
  /** Calls forwarded and not yet answered, oldest first. */
  waiting(): HeldCall[];
  /** Which of these processes owns the socket a waiting call came in on; null when none does (or it closed). */
  senderOf(call: HeldCall, pids: readonly number[]): number | null;
  close(): Promise<void>;
}

export async function startTeamsEdge(connectorUrl: string): Promise<TeamsEdge> {
  const upstreamBase = new URL(connectorUrl);
  const inFlight = new Set<HeldCall>();
  const sockets = new Set<Socket>();
  let port = 0;

  const server: Server = createServer((req, res) => {
    const call: HeldCall = { method: req.method ?? '', path: req.url ?? '', peerPort: req.socket.remotePort ?? 0, startedAt: Date.now() };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight.add(call);
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: upstreamBase.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = httpRequest(
        { host: upstreamBase.hostname, port: upstreamBase.port, method: req.method, path: req.url, headers, agent: false },
        (answer) => {
          inFlight.delete(call);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      upstream.on('error', () => {
        inFlight.delete(call);
        if (!res.headersSent) {
          res.writeHead(502);
          res.end();
        } else res.destroy();
      });
      // The replica died (or gave up): the connector's held answer is abandoned with it.
      res.on('close', () => {
        inFlight.delete(call);
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/`,
    waiting: () => [...inFlight].sort((a, b) => a.startedAt - b.startedAt),
    senderOf: (call, pids) => ownerOfConnection(call.peerPort, port, pids),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The process (among `pids`) owning the client end of the loopback TCP connection localPort → remotePort:
 * the socket's inode from /proc/net/tcp{,6}, then the process whose file descriptors include it.
 */
export function ownerOfConnection(localPort: number, remotePort: number, pids: readonly number[]): number | null {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = parseInt(cols[1]!.split(':')[1]!, 16);
      const remote = parseInt(cols[2]!.split(':')[1]!, 16);
      if (local === localPort && remote === remotePort && cols[9] !== '0') inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return null;
}
