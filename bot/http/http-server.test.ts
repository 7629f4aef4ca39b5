import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { BotHttpServer, readJsonBody, SERVER_LIMITS } from './http-server';
import { currentCorrelationId } from '../../services/observability/correlation';
import { errorResult, HttpError } from './http-body';

/** A raw connection: what came back, and when (ms after opening) it closed. */
function raw(url: string, request: string): { socket: Socket; received: () => string; closed: Promise<number> } {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  const start = Date.now();
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - start)));
  socket.write(request);
  return { socket, received: () => text, closed };
}

describe('the bot HTTP server (restify)', () => {
  let server: BotHttpServer;
  let url: string;
  let guarded = 0;
  beforeAll(async () => {
    server = new BotHttpServer(pino({ level: 'silent' }));
    server.route('GET', '/ok', async (_req, res) => res.send(200, { correlationId: currentCorrelationId() }));
    server.route('POST', '/echo', async (req, res) => res.send(201, { got: await readJsonBody(req, 64) }));
    server.route('POST', '/parsed', async (req, res) => res.send(200, { got: req.body, correlationId: currentCorrelationId() }), {
      jsonBody: { maxBytes: 64 },
    });
    server.route(
      'POST',
      '/guarded',
      async (req, res) => {
        res.send(200, { got: req.body });
      },
      {
        guards: [
          (req) => {
            guarded++;
            if (req.headers.authorization !== 'Bearer ok')
              throw new HttpError(401, 'token_missing', 'Send a token.', undefined, { 'WWW-Authenticate': 'Bearer' });
          },
        ],
        jsonBody: { maxBytes: 1024 },
      },
    );
    server.route('GET', '/refuse', async () => {
      throw new HttpError(409, 'conflict', 'Already decided.', undefined, { 'Retry-After': '5' });
    });
    server.route('GET', '/boom', async () => {
      throw new Error('secret detail');
    });
    server.refuseAll((req) => (req.headers['x-refuse-me'] ? errorResult(new HttpError(403, 'refused_everywhere', 'Not from here.')) : null));
    await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  it("routes by method and path, and keeps the caller's sane correlation id for the handler and in the answer", async () => {
    const res = await fetch(`${url}/ok?x=1`, { headers: { 'x-correlation-id': 'abc-123' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('abc-123');
    expect(await res.json()).toEqual({ correlationId: 'abc-123' });
    const forged = await fetch(`${url}/ok`, { headers: { 'x-correlation-id': '<script>' } });
    expect(forged.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Nothing says what serves the bot.
    expect(res.headers.get('server')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers HEAD for a GET route, 404 for an unknown path and 405 with Allow for another method, as JSON with a correlation id', async () => {
    expect((await fetch(`${url}/ok`, { method: 'HEAD' })).status).toBe(200);
    const missing = await fetch(`${url}/nope`, { headers: { 'x-correlation-id': 'lost-1' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-correlation-id')).toBe('lost-1');
    const notFound = (await missing.json()) as { error: { code: string; message: string } };
    expect(notFound.error.code).toBe('not_found');
    expect(notFound.error.message).toMatch(/^There is no \/nope here; the bot serves \/ok, \/echo, /);
    const wrong = await fetch(`${url}/echo`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual({ error: { code: 'method_not_allowed', message: '/echo takes POST, not GET.' } });
    const wrongGet = await fetch(`${url}/ok`, { method: 'POST' });
    expect(wrongGet.status).toBe(405);
    expect(wrongGet.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reads a bounded JSON body itself: 413 above the limit, 400 for malformed JSON', async () => {
    const ok = await fetch(`${url}/echo`, { method: 'POST', body: '{"a":1}' });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    expect((await fetch(`${url}/echo`, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(100) }) })).status).toBe(413);
    const bad = await fetch(`${url}/echo`, { method: 'POST', body: '{"a":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
  });

  describe("a route with restify's JSON body parser", () => {
    const post = (body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${url}/parsed`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);

    it("parses the body into req.body, under the request's correlation id", async () => {
      const res = await fetch(`${url}/parsed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'x-correlation-id': 'parsed-1' },
        body: '{"a":[1,2]}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ got: { a: [1, 2] }, correlationId: 'parsed-1' });
    });

    it('refuses another content type (415) and any Content-Encoding (415: an inflated body has no bound)', async () => {
      const form = await post('a=1', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(form.status).toBe(415);
      expect(((await form.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
      const gzip = await post('{}', { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(gzip.status).toBe(415);
      expect(((await gzip.json()) as { error: { code: string } }).error.code).toBe('unsupported_encoding');
    });

    it('refuses a body over the limit with 413, declared or streamed (chunked, no length)', async () => {
      const declared = await post(JSON.stringify({ a: 'x'.repeat(100) }));
      expect(declared.status).toBe(413);
      expect(await declared.json()).toEqual({ error: { code: 'body_too_large', message: 'The body is 108 bytes; the limit is 64 bytes (0.0625 KiB).' } });
      const chunked = raw(
        url,
        `POST /parsed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n50\r\n{"a":"${'x'.repeat(72)}"}\r\n0\r\n\r\n`,
      );
      await chunked.closed;
      expect(chunked.received()).toMatch(/^HTTP\/1\.1 413 /);
      expect(chunked.received()).toContain('"code":"body_too_large"');
    });

    it("refuses malformed JSON with 400 in the bot's words", async () => {
      const bad = await post('{"a":');
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'malformed_json',
        message: expect.stringMatching(/^The body is not valid JSON: /),
      });
    });
  });

  it("runs a route's guards before reading the body, and closes a connection whose body is still to come", async () => {
    const before = guarded;
    const ok = await fetch(`${url}/guarded`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ok' }, body: '{"a":1}' });
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    // Headers announce a body that never comes: the answer still comes at once, and the connection closes.
    const c = raw(url, 'POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n');
    const ms = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(c.received()).toMatch(/\r\nconnection: close\r\n/i);
    expect(c.received()).toMatch(/\r\nwww-authenticate: Bearer\r\n/i);
    expect(c.received()).toContain('{"error":{"code":"token_missing","message":"Send a token."}}');
    expect(ms).toBeLessThan(1_000);
    expect(guarded).toBe(before + 2);
  });

  it('refuses a request every route refuses (refuseAll), unknown paths included', async () => {
    for (const path of ['/ok', '/nope']) {
      const res = await fetch(`${url}${path}`, { headers: { 'x-refuse-me': '1' } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: { code: 'refused_everywhere', message: 'Not from here.' } });
    }
  });

  it('answers a refusal with its status, code and headers, and a failure with 500 that reveals nothing', async () => {
    const refused = await fetch(`${url}/refuse`);
    expect(refused.status).toBe(409);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({ error: { code: 'conflict', message: 'Already decided.' } });
    const failed = await fetch(`${url}/boom`);
    expect(failed.status).toBe(500);
    expect(await failed.text()).not.toContain('secret detail');
  });

  it("sets node's limits on purpose (not its defaults of minutes and no cap)", () => {
    const s = server.server as typeof server.server & { maxHeaderSize?: number; connectionsCheckingInterval?: number };
    expect(s.headersTimeout).toBe(SERVER_LIMITS.headersTimeoutMs);
    expect(s.requestTimeout).toBe(SERVER_LIMITS.requestTimeoutMs);
    expect(s.keepAliveTimeout).toBe(SERVER_LIMITS.keepAliveTimeoutMs);
    expect(s.maxConnections).toBe(SERVER_LIMITS.maxConnections);
    expect(s.maxHeadersCount).toBe(SERVER_LIMITS.maxHeadersCount);
    expect(s.maxHeaderSize).toBe(SERVER_LIMITS.maxHeaderBytes);
    expect(s.connectionsCheckingInterval).toBe(SERVER_LIMITS.connectionsCheckIntervalMs);
    expect(SERVER_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(SERVER_LIMITS.requestTimeoutMs);
    expect(SERVER_LIMITS.bodyIdleTimeoutMs).toBeLessThan(SERVER_LIMITS.requestTimeoutMs);
  });
});

describe("the server's limits, scaled down", () => {
  let server: BotHttpServer;
  let url: string;
  beforeAll(async () => {
    server = new BotHttpServer(pino({ level: 'silent' }), {
      headersTimeoutMs: 400,
      requestTimeoutMs: 1_500,
      bodyIdleTimeoutMs: 300,
      connectionsCheckIntervalMs: 100,
      maxConnections: 3,
    });
    server.route('GET', '/ok', async (_req, res) => res.send(200, { ok: true }));
    server.route('POST', '/slow', async (req, res) => {
      await readJsonBody(req, 1024);
      // Time spent after the body arrived is the handler's own: no limit applies to it.
      await new Promise((r) => setTimeout(r, 2_000));
      res.send(200, { ok: true });
    });
    await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  it('closes a body that stalls after the idle limit with 408', async () => {
    const c = raw(url, 'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{');
    const ms = await c.closed;
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(1_500);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(c.received()).toContain('"code":"body_timeout"');
  });

  it('closes headers that do not finish in time with a JSON 408', async () => {
    const c = raw(url, 'GET /ok HTTP/1.1\r\nHost: x\r\n');
    const ms = await c.closed;
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(1_500);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(c.received()).toContain('"code":"request_timeout"');
  });

  it('lets a handler take longer than the request limit once the body is in', async () => {
    const res = await fetch(`${url}/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
  });

  it('refuses connections over the cap, and serves again once they are gone', async () => {
    const held = [raw(url, ''), raw(url, ''), raw(url, '')];
    await new Promise((r) => setTimeout(r, 100));
    const over = raw(url, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await over.closed).toBeLessThan(350);
    expect(over.received()).toBe('');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${url}/ok`)).status).toBe(200);
  });
});
