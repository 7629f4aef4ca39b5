import { CheckFailure, Readiness, type ReadinessCheck } from './readiness';
import { connectorCheck, tokenCheck } from './readiness-checks';

const ok = (name: string, calls: { n: number }): ReadinessCheck => ({ name, timeoutMs: 1000, run: async () => void calls.n++ });

describe('readiness', () => {
  it('is ready when every check passes, and names each check', async () => {
    const r = new Readiness([ok('database', { n: 0 }), ok('graphToken', { n: 0 })]);
    const report = await r.report();
    expect(report.ready).toBe(true);
    expect(Object.keys(report.checks).sort()).toEqual(['database', 'graphToken']);
    expect(report.checks.database!.ok).toBe(true);
  });

  it('names the failed check with a terse reason and keeps the error message out of the report', async () => {
    const failures: string[] = [];
    const r = new Readiness(
      [
        ok('database', { n: 0 }),
        {
          name: 'graphToken',
          timeoutMs: 1000,
          run: async () => {
            throw Object.assign(new Error('AADSTS7000215: Invalid client secret provided for app secret=abc123'), {
              name: 'AuthenticationError',
              statusCode: 401,
            });
          },
        },
      ],
      { onFailure: (check) => failures.push(check) },
    );
    const report = await r.report();
    expect(report.ready).toBe(false);
    expect(report.checks.database!.ok).toBe(true);
    expect(report.checks.graphToken).toMatchObject({ ok: false, detail: 'failed: AuthenticationError: HTTP 401' });
    expect(JSON.stringify(report)).not.toContain('abc123');
    expect(failures).toEqual(['graphToken']);
  });

  it('fails a check that does not answer within its timeout, and aborts it', async () => {
    let aborted = false;
    const hang: ReadinessCheck = {
      name: 'connector',
      timeoutMs: 50,
      run: (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
    };
    const report = await new Readiness([hang]).report();
    expect(report.checks.connector).toMatchObject({ ok: false, detail: 'timed out after 50 ms' });
    expect(aborted).toBe(true);
  });

  it('reuses a report within the cache period, so a probe storm runs the checks once', async () => {
    let clock = 1_000_000;
    const calls = { n: 0 };
    const r = new Readiness([ok('database', calls)], { cacheMs: 5000, now: () => clock });
    await Promise.all([r.report(), r.report(), r.report()]);
    await r.report();
    expect(calls.n).toBe(1);
    clock += 5000;
    await r.report();
    expect(calls.n).toBe(2);
  });

  it('a condition fails a check whose probe passed, with its facts, and a probe that failed keeps its reason beside it', async () => {
    let condition: ReturnType<NonNullable<ReadinessCheck['condition']>> = null;
    let probeFails = false;
    const check: ReadinessCheck = {
      name: 'database',
      timeoutMs: 1000,
      run: async () => {
        if (probeFails) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:5432'), { code: 'ECONNREFUSED' });
      },
      condition: () => condition,
    };
    const r = new Readiness([check], { cacheMs: 0 });
    expect((await r.report()).checks.database).toEqual({ ok: true, detail: 'ok', durationMs: expect.any(Number) });
    condition = { detail: 'reconnecting: connection lost', status: 'reconnecting', since: '2026-12-07T10:00:00.000Z', lastError: '57P01', awaitingRetry: 2 };
    const lost = await r.report();
    expect(lost.ready).toBe(false);
    expect(lost.checks.database).toEqual({
      ok: false,
      detail: 'reconnecting: connection lost',
      durationMs: expect.any(Number),
      status: 'reconnecting',
      since: '2026-12-07T10:00:00.000Z',
      lastError: '57P01',
      awaitingRetry: 2,
    });
    probeFails = true;
    expect((await r.report()).checks.database!.detail).toBe('reconnecting: connection lost; probe failed: Error: ECONNREFUSED');
  });

  it("does not reuse a cached report once a check's generation changed", async () => {
    const calls = { n: 0 };
    let generation = 7;
    const r = new Readiness([{ ...ok('database', calls), generation: () => generation }], { cacheMs: 60_000, now: () => 1_000_000 });
    await r.report();
    await r.report();
    expect(calls.n).toBe(1);
    generation = 8;
    await Promise.all([r.report(), r.report()]);
    expect(calls.n).toBe(2);
    await r.report();
    expect(calls.n).toBe(2);
  });

  it('reports not ready once the process is stopping', async () => {
    const r = new Readiness([ok('database', { n: 0 })]);
    r.markStopping();
    const report = await r.report();
    expect(report.ready).toBe(false);
    expect(report.checks.process!.detail).toBe('shutting down');
  });
});

describe('readiness checks', () => {
  it('token check: a credential that returns no token fails', async () => {
    const check = tokenCheck('graphToken', { getToken: async () => null }, 'https://graph.microsoft.com/.default');
    await expect(check.run(new AbortController().signal)).rejects.toBeInstanceOf(CheckFailure);
  });

  it('token check: asks for the given scope', async () => {
    const scopes: unknown[] = [];
    const check = tokenCheck(
      'botFrameworkToken',
      {
        getToken: async (s) => {
          scopes.push(s);
          return { token: 't', expiresOnTimestamp: Date.now() + 3600_000 };
        },
      },
      'https://api.botframework.com/.default',
    );
    await check.run(new AbortController().signal);
    expect(scopes).toEqual(['https://api.botframework.com/.default']);
  });

  it('connector check: a 404 or 401 from the service URL is an answer; a 5xx is not', async () => {
    const statuses: Record<string, number> = { 'https://a.example/emea/': 404, 'https://b.example/teams/': 503 };
    const fakeFetch = (async (url: string) => new Response(null, { status: statuses[url] ?? 200 })) as unknown as typeof fetch;
    await expect(connectorCheck(['https://a.example/emea'], fakeFetch).run(new AbortController().signal)).resolves.toBe('1 service URL answered');
    await expect(connectorCheck(['https://a.example/emea/', 'https://b.example/teams/'], fakeFetch).run(new AbortController().signal)).rejects.toThrow(
      'the Bot Connector answered HTTP 503 (service URL 2 of 2)',
    );
  });

  it('connector check: a refused connection says so with its code', async () => {
    const fakeFetch = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:443'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    await expect(connectorCheck(['https://a.example/'], fakeFetch).run(new AbortController().signal)).rejects.toThrow(/^unreachable: ECONNREFUSED$/);
  });
});
