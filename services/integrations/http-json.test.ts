import { backoffDelayMs, DEFAULT_RETRY, errorDetail, HttpJsonClient, parseRetryAfter, type FetchFn } from './http-json';
import { IntegrationUnavailable } from './ports';

type Step = { status: number; body?: string; headers?: Record<string, string> } | 'network' | 'hang';

/** A fetch that plays a script of answers and records each call and when it came. */
function scripted(steps: Step[]) {
  const calls: Array<{ url: string; headers: Record<string, string>; at: number }> = [];
  const fetchFn: FetchFn = async (url, init) => {
    calls.push({ url, headers: init.headers as Record<string, string>, at: Date.now() });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    if (step === 'network') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    if (step === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      });
    }
    return new Response(step.body ?? '{}', { status: step.status, headers: step.headers });
  };
  return { fetchFn, calls };
}

const client = (fetchFn: FetchFn, extra: Partial<ConstructorParameters<typeof HttpJsonClient>[0]> = {}) =>
  new HttpJsonClient({
    system: 'Acme',
    baseUrl: 'https://acme.example/api/',
    headers: { Authorization: 'Basic c2VjcmV0LXVzZXI6aHVudGVyMg==' },
    fetch: fetchFn,
    random: () => 0.5,
    ...extra,
  });

const call = (signal = new AbortController().signal) => ({
  path: '/things',
  query: { q: 'a b', 'ids[]': ['1', '2'], skip: undefined },
  timeoutMs: 500,
  signal,
  what: 'reading things',
});

describe('http-json: Retry-After parsing', () => {
  const now = Date.parse('2026-03-02T10:00:00Z');
  it.each([
    ['2', 2000],
    ['0', 0],
    ['1.5', 1500],
    ['Mon, 02 Mar 2026 10:00:03 GMT', 3000],
    ['Mon, 02 Mar 2026 09:59:00 GMT', 0],
  ])('reads %p as %p ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
  it('ignores an absent or unreadable header', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('http-json: backoff with jitter', () => {
  const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  it('stays between half and all of the exponential step', () => {
    for (const retry of [1, 2, 3, 4, 5, 6]) {
      const step = Math.min(1000, 100 * 2 ** (retry - 1));
      expect(backoffDelayMs(retry, policy, () => 0)).toBe(step / 2);
      expect(backoffDelayMs(retry, policy, () => 0.999999)).toBeCloseTo(step, -1);
      expect(backoffDelayMs(retry, policy, () => 0.999999)).toBeLessThanOrEqual(step);
    }
  });
  it('never exceeds the per-step ceiling', () => {
    expect(backoffDelayMs(20, policy, () => 0.999999)).toBeLessThanOrEqual(1000);
  });
});

describe('http-json: calls', () => {
  it('builds the URL from base, path and query, sends the auth header and returns parsed JSON', async () => {
    const { fetchFn, calls } = scripted([{ status: 200, body: '{"ok":true}' }]);
    const res = await client(fetchFn).get<{ ok: boolean }>(call());
    expect(res).toEqual({ status: 200, body: { ok: true } });
    expect(calls[0]!.url).toBe('https://acme.example/api/things?q=a%20b&ids%5B%5D=1&ids%5B%5D=2');
    expect(calls[0]!.headers.Authorization).toMatch(/^Basic /);
  });

  it('retries a 429 after the Retry-After seconds, then succeeds', async () => {
    const { fetchFn, calls } = scripted([
      { status: 429, headers: { 'Retry-After': '1' } },
      { status: 200, body: '{"n":1}' },
    ]);
    const res = await client(fetchFn).get<{ n: number }>(call());
    expect(res.body.n).toBe(1);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('retries a 503 after a Retry-After HTTP date', async () => {
    // HTTP dates have whole seconds: pin the injected clock one second before the date.
    const base = Math.floor(Date.now() / 1000) * 1000;
    const { fetchFn, calls } = scripted([{ status: 503, headers: { 'Retry-After': new Date(base + 2000).toUTCString() } }, { status: 200 }]);
    await client(fetchFn, { now: () => base + 1000 }).get(call());
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(calls[1]!.at - calls[0]!.at).toBeLessThan(1500);
  });

  it('retries network errors and 5xx with backoff, and stops at the attempt cap', async () => {
    const { fetchFn, calls } = scripted(['network', { status: 502 }, { status: 500, body: '{"error":{"message":"db down"}}' }, { status: 200 }]);
    const err = await client(fetchFn, { retry: { maxAttempts: 3, baseDelayMs: 10 } })
      .get(call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationUnavailable);
    expect((err as IntegrationUnavailable).system).toBe('Acme');
    expect((err as Error).message).toMatch(/HTTP 500 \(db down\)/);
    expect(calls).toHaveLength(3);
  });

  it('gives up at once when Retry-After asks for more than the total wait cap', async () => {
    const { fetchFn, calls } = scripted([{ status: 429, headers: { 'Retry-After': '30' } }, { status: 200 }]);
    const started = Date.now();
    const err = await client(fetchFn, { retry: { maxTotalWaitMs: 2000 } })
      .get(call())
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/retry after 30 s, beyond the retry cap/);
    expect(calls).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('does not retry a 400 or credentials refused, and names the credentials problem without echoing them', async () => {
    const bad = scripted([{ status: 400, body: '{"message":"bad query"}' }]);
    await expect(client(bad.fetchFn).get(call())).rejects.toThrow(/answered HTTP 400 \(bad query\)/);
    expect(bad.calls).toHaveLength(1);
    const refused = scripted([{ status: 401, body: 'Client must be authenticated to access this resource.' }]);
    const err = (await client(refused.fetchFn)
      .get(call())
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/refused the credentials \(HTTP 401/);
    expect(err.message).not.toMatch(/c2VjcmV0|hunter2|secret-user/);
    expect(refused.calls).toHaveLength(1);
  });

  it('returns accepted non-2xx statuses as answers', async () => {
    const { fetchFn } = scripted([{ status: 404, body: '{"errorMessages":["nope"]}' }]);
    const res = await client(fetchFn).get({ ...call(), accept: [404] });
    expect(res.status).toBe(404);
  });

  it('times out a hanging try, retries, and lets the caller signal end everything', async () => {
    const { fetchFn, calls } = scripted(['hang']);
    const budget = AbortSignal.timeout(700);
    const started = Date.now();
    const err = (await client(fetchFn, { retry: { maxAttempts: 5, baseDelayMs: 10 } })
      .get({ ...call(budget), timeoutMs: 300 })
      .catch((e: unknown) => e)) as Error;
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(IntegrationUnavailable);
    expect(err.message).toMatch(/decision budget ran out/);
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(1000);
    expect(calls.length).toBeGreaterThanOrEqual(2);
  });

  it('fails with a short message when a 200 is not JSON', async () => {
    const { fetchFn } = scripted([{ status: 200, body: '<html>login</html>' }]);
    await expect(client(fetchFn).get(call())).rejects.toThrow(/not JSON .*check the base URL/);
  });
});

describe('http-json: error details', () => {
  it('picks the message out of each system format and clips it', () => {
    expect(errorDetail('{"error":{"message":"User Not Authenticated","detail":"x"},"status":"failure"}')).toBe('User Not Authenticated');
    expect(errorDetail('{"errorMessages":["Issue does not exist"],"errors":{}}')).toBe('Issue does not exist');
    expect(errorDetail('{"message":"Could not authenticate","took":0.1}')).toBe('Could not authenticate');
    expect(errorDetail(`{"message":"${'x'.repeat(300)}"}`)).toHaveLength(120);
    expect(errorDetail('<html><body>big page</body></html>')).toBe('');
  });
});
