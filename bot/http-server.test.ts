import pino from 'pino';
import { BotHttpServer, readJsonBody } from './http-server';
import { currentCorrelationId } from '../services/observability/correlation';
import { HttpError } from './http-body';

describe('the bot HTTP server', () => {
  let server: BotHttpServer;
  let url: string;
  beforeAll(async () => {
    server = new BotHttpServer(pino({ level: 'silent' }));
    server.route('GET', '/ok', async (_req, res) => res.send(200, { correlationId: currentCorrelationId() }));
    server.route('POST', '/echo', async (req, res) => res.send(201, { got: await readJsonBody(req, 64) }));
    server.route('GET', '/refuse', async () => {
      throw new HttpError(409, 'conflict', 'Already decided.', undefined, { 'Retry-After': '5' });
    });
    server.route('GET', '/boom', async () => {
      throw new Error('secret detail');
    });
    await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  it('routes by method and path, and keeps the caller\'s sane correlation id for the handler and in the answer', async () => {
    const res = await fetch(`${url}/ok?x=1`, { headers: { 'x-correlation-id': 'abc-123' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('abc-123');
    expect(await res.json()).toEqual({ correlationId: 'abc-123' });
    const forged = await fetch(`${url}/ok`, { headers: { 'x-correlation-id': '<script>' } });
    expect(forged.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers HEAD for a GET route, 404 for an unknown path and 405 with Allow for another method', async () => {
    expect((await fetch(`${url}/ok`, { method: 'HEAD' })).status).toBe(200);
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const wrong = await fetch(`${url}/echo`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('reads a bounded JSON body: 413 above the limit, 400 for malformed JSON', async () => {
    const ok = await fetch(`${url}/echo`, { method: 'POST', body: '{"a":1}' });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    expect((await fetch(`${url}/echo`, { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(100) }) })).status).toBe(413);
    const bad = await fetch(`${url}/echo`, { method: 'POST', body: '{"a":' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
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
});
