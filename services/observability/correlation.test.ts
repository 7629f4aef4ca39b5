import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { correlationIdFrom, correlationMixin, currentCorrelationId, outboundClientRequestId, withCorrelationId } from './correlation';
import { createGraphClient } from '../graph/graph-client';
import { ArmClient } from '../graph/arm';
import { PrometheusMetrics } from './metrics';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('correlation ids', () => {
  it('takes a sane id from the caller, by header preference', () => {
    expect(correlationIdFrom({ 'x-correlation-id': 'abc-123', 'request-id': 'other' })).toBe('abc-123');
    expect(correlationIdFrom({ 'client-request-id': '8f2a3c1e-0000-4000-8000-000000000001' })).toBe('8f2a3c1e-0000-4000-8000-000000000001');
  });

  it('replaces an id that is too long or could smuggle text into logs or headers', () => {
    for (const bad of ['a'.repeat(65), 'evil\nFAKE log line', '<script>', '', ' ']) {
      const id = correlationIdFrom({ 'x-correlation-id': bad });
      expect(id).not.toBe(bad);
      expect(id).toMatch(GUID);
    }
  });

  it('is current through awaits inside the request and absent outside', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    await withCorrelationId('req-1', async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(currentCorrelationId()).toBe('req-1');
      expect(correlationMixin()).toEqual({ correlationId: 'req-1' });
    });
    expect(correlationMixin()).toEqual({});
  });

  it('only a GUID-shaped id goes to Graph as client-request-id', () => {
    withCorrelationId('not-a-guid', () => expect(outboundClientRequestId()).toBeUndefined());
    withCorrelationId('8f2a3c1e-0000-4000-8000-000000000001', () => expect(outboundClientRequestId()).toBe('8f2a3c1e-0000-4000-8000-000000000001'));
  });
});

describe('outbound calls carry the correlation id and are counted', () => {
  const seen: IncomingHttpHeaders[] = [];
  let status = 200;
  // HTTPS with the simulator's certificate (the test run trusts its CA): the Graph SDK sends the token
  // and its client-request-id only to https hosts.
  const pki = join(__dirname, '../../.local/pki');
  const server = createServer({ cert: readFileSync(join(pki, 'sim.pem')), key: readFileSync(join(pki, 'sim-key.pem')) }, (req, res) => {
    seen.push(req.headers);
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
    res.end(JSON.stringify(status === 200 ? { id: 'x' } : { error: { code: 'TooManyRequests', message: 'slow down' } }));
  });
  let base = '';
  const credential = { getToken: async () => ({ token: 'tok', expiresOnTimestamp: Date.now() + 3600_000 }) };

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
    status = 200;
  });

  it('Graph: client-request-id is the request correlation id, and each response is counted', async () => {
    const metrics = new PrometheusMetrics(null, { defaultMetrics: false });
    const graph = createGraphClient(base, credential, undefined, { metrics });
    const id = '8f2a3c1e-0000-4000-8000-0000000000aa';
    await withCorrelationId(id, () => graph.api('/users/x').get());
    expect(seen[0]!['client-request-id']).toBe(id);
    expect(seen[0]!.authorization).toBe('Bearer tok');
    expect((await metrics.render()).body).toContain('graph_requests_total{api="graph",status_class="2xx"} 1');
  });

  it('Graph: outside a request the SDK generates its own client-request-id', async () => {
    const graph = createGraphClient(base, credential);
    await graph.api('/users/x').get();
    expect(seen[0]!['client-request-id']).toMatch(GUID);
  });

  it('Graph: each 429 is counted, retries included', async () => {
    status = 429;
    const metrics = new PrometheusMetrics(null, { defaultMetrics: false });
    const graph = createGraphClient(base, credential, undefined, { metrics });
    await expect(graph.api('/users/x').get()).rejects.toBeDefined();
    const body = (await metrics.render()).body;
    // The first try and three retries.
    expect(seen).toHaveLength(4);
    expect(body).toContain('graph_throttled_total{api="graph"} 4');
  });

  it('ARM: x-ms-client-request-id is the correlation id, and the response is counted', async () => {
    const metrics = new PrometheusMetrics(null, { defaultMetrics: false });
    const arm = new ArmClient(base, credential, { metrics });
    const id = '8f2a3c1e-0000-4000-8000-0000000000bb';
    await withCorrelationId(id, () => arm.call('GET', '/subscriptions/s?api-version=2020-10-01', 'Reading'));
    expect(seen[0]!['x-ms-client-request-id']).toBe(id);
    expect((await metrics.render()).body).toContain('graph_requests_total{api="arm",status_class="2xx"} 1');
  });
});
