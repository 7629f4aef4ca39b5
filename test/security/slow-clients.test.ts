/**
 * Slow and idle clients cannot hold the bot's sockets: headers that never finish, a body that stops after
 * one byte, a body trickled a byte at a time, and a thousand connections that say nothing are all closed
 * within the server's configured limits (bot/http/http-server.ts), and the bot keeps answering meanwhile.
 *
 * Timings are asserted against the limits themselves, with generous upper margins for a loaded 2-core CI
 * machine: a close must not come before its limit, and must come within seconds of it.
 */
import { connect, type Socket } from 'node:net';
import { signEvent } from '../../services/events/event-signature';
import { DEMO_PIM_CALLER_APP_ID } from '../../sim/seed';
import { BODY_IDLE_TIMEOUT_MS, CONNECTIONS_CHECK_INTERVAL_MS, HEADERS_TIMEOUT_MS, MAX_HEADER_BYTES, REQUEST_TIMEOUT_MS } from '../../bot/http/http-server';
import { APP_ID_URI, startHarness, type Harness } from '../support/harness';

/** How much later than its limit a close may come on a loaded CI machine (timers, GC, a busy event loop). */
const LATE_MS = 5_000;
/** How much earlier than its limit a close may come (timer granularity). */
const EARLY_MS = 250;
const EVENTS_SECRET = 'test-only-slow-clients-events-secret-0123456789';

interface RawConnection {
  socket: Socket;
  /** Everything the bot sent back. */
  received(): string;
  /** Resolves with ms from `start` to the close, once the bot (or anyone) closes the socket. */
  closed: Promise<number>;
  start: number;
}

describe('slow and idle clients', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({ EVENTS_HMAC_SECRET: EVENTS_SECRET });
    port = Number(new URL(h.bot.url).port);
  });
  afterAll(async () => {
    await h?.close();
  });

  function open(): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      const start = Date.now();
      const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - start)));
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.once('connect', () => resolve({ socket, received: () => text, closed, start }));
      socket.once('error', reject);
    });
  }

  /** The JSON error of a raw HTTP answer. */
  function answer(raw: string): { status: number; code?: string } {
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    try {
      return { status, code: (JSON.parse(body) as { error?: { code?: string } }).error?.code };
    } catch {
      return { status };
    }
  }

  function expectClosedWithin(ms: number, limit: number, slack = 0): void {
    expect(ms).toBeGreaterThanOrEqual(limit - EARLY_MS);
    expect(ms).toBeLessThanOrEqual(limit + slack + LATE_MS);
  }

  it('closes connections whose headers never finish: one silent, one trickling a header line every 300 ms', async () => {
    const silent = await open();
    const trickle = await open();
    trickle.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    let n = 0;
    const timer = setInterval(() => {
      if (!trickle.socket.destroyed) trickle.socket.write(`X-Slow-${n++}: ${'a'.repeat(10)}\r\n`);
    }, 300);
    try {
      const [silentMs, trickleMs] = await Promise.all([silent.closed, trickle.closed]);
      expectClosedWithin(silentMs, HEADERS_TIMEOUT_MS, CONNECTIONS_CHECK_INTERVAL_MS);
      expectClosedWithin(trickleMs, HEADERS_TIMEOUT_MS, CONNECTIONS_CHECK_INTERVAL_MS);
      // The trickler was still sending when it was cut off, and was told why.
      expect(n).toBeGreaterThan(5);
      expect(answer(trickle.received())).toEqual({ status: 408, code: 'request_timeout' });
    } finally {
      clearInterval(timer);
    }
  });

  describe('closes a connection whose body stops after one byte, whichever reader reads it', () => {
    let pimToken: string;
    beforeAll(async () => {
      pimToken = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
    });

    const routes: Array<[string, string, () => Record<string, string>]> = [
      // restify's body parser (demo mode: no channel token to check first)
      ['/api/messages', 'the activity', () => ({})],
      // the bot's own reader, after PIM's token is validated
      ['/api/pim/evaluate', "PIM's callout", () => ({ Authorization: `Bearer ${pimToken}` })],
      // the bot's own reader, bytes kept for the HMAC
      [
        '/api/pim/events',
        'a signed event',
        () => {
          const ts = Math.floor(Date.now() / 1000);
          return { 'X-PIM-Bot-Timestamp': String(ts), 'X-PIM-Bot-Signature': signEvent(EVENTS_SECRET, ts, '{}') };
        },
      ],
    ];
    it.each(routes)('%s (%s): 408, closed after the idle limit', async (path, _what, headers) => {
      const c = await open();
      const extra = Object.entries(headers())
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      c.socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n${extra}\r\n{`);
      const ms = await c.closed;
      expectClosedWithin(ms, BODY_IDLE_TIMEOUT_MS);
      // Well before the whole-request limit would have closed it.
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS);
      expect(answer(c.received())).toEqual({ status: 408, code: 'body_timeout' });
    });
  });

  it('closes a connection that trickles its body a byte every 500 ms at the request limit', async () => {
    const c = await open();
    c.socket.write(`POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
    let sent = 1;
    const timer = setInterval(() => {
      if (!c.socket.destroyed) {
        c.socket.write(' ');
        sent++;
      }
    }, 500);
    try {
      const ms = await c.closed;
      // The body-idle limit never fired (bytes kept coming); the whole-request limit did.
      expectClosedWithin(ms, REQUEST_TIMEOUT_MS, CONNECTIONS_CHECK_INTERVAL_MS);
      expect(sent).toBeGreaterThan(REQUEST_TIMEOUT_MS / 500 - 4);
      expect(answer(c.received()).status).toBe(408);
    } finally {
      clearInterval(timer);
    }
  });

  it('refuses headers larger than the limit with 431', async () => {
    const c = await open();
    c.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`);
    await c.closed;
    expect(answer(c.received())).toEqual({ status: 431, code: 'headers_too_large' });
  });

  it('keeps answering /healthz while a thousand idle connections are open, and closes them at the headers limit', async () => {
    const idle: RawConnection[] = [];
    try {
      // In batches, so the listen backlog never overflows.
      while (idle.length < 1000) idle.push(...(await Promise.all(Array.from({ length: 100 }, () => open()))));
      const openedMs = Date.now() - idle[0]!.start;
      const closedAt: number[] = [];
      for (const c of idle) void c.closed.then((ms) => closedAt.push(ms));
      for (let i = 0; i < 5; i++) {
        const t = Date.now();
        const res = await fetch(`${h.bot.url}/healthz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ status: 'ok' });
        expect(Date.now() - t).toBeLessThan(2_000);
      }
      // All thousand were still open while the bot answered (unless this machine took most of the headers limit to open them).
      if (openedMs < HEADERS_TIMEOUT_MS - 1_000) expect(closedAt).toEqual([]);
      await Promise.all(idle.map((c) => c.closed));
      // The bot closed them itself, at the headers limit: an idle socket cannot be held.
      expect(Math.max(...closedAt)).toBeLessThanOrEqual(HEADERS_TIMEOUT_MS + CONNECTIONS_CHECK_INTERVAL_MS + openedMs + LATE_MS);
      expect(Math.min(...closedAt)).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - EARLY_MS);
      // And it still answers.
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
    } finally {
      for (const c of idle) c.socket.destroy();
    }
  });
});
