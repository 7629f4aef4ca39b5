/**
 * Operations endpoints of a running bot (simulator + real HTTP): readiness failures named per check,
 * /metrics behind its bearer token, correlation ids on every answer.
 */
import { simJson, startHarness, type Harness } from '../support/harness';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789abcdef';

async function readyz(h: Harness): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; detail: string }> } }> {
  const res = await fetch(`${h.bot.url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('readiness names what is wrong', () => {
  it('a Graph token Entra refuses: 503 naming graphToken, with no message text from Entra', async () => {
    const h = await startHarness();
    try {
      // Before the bot's first token: Entra's token endpoint answers 500 (as in an outage).
      expect((await simJson(h.sim, 'POST', '/_sim/faults', { method: 'POST', pathPattern: '/oauth2/v2.0/token', status: 500 })).status).toBeLessThan(300);
      const r = await readyz(h);
      expect(r.status).toBe(503);
      expect(r.body.checks.graphToken!.ok).toBe(false);
      expect(r.body.checks.graphToken!.detail).toMatch(/^(failed|timed out)/);
      expect(r.body.checks.database!.ok).toBe(true);
      expect(r.body.checks.connector!.ok).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('a database that no longer answers: 503 naming database', async () => {
    const h = await startHarness();
    try {
      expect((await readyz(h)).status).toBe(200);
      await h.bot.store.close();
      // The first report is cached; ask until the fresh one shows (a few seconds).
      let r = await readyz(h);
      for (let i = 0; i < 40 && r.status !== 503; i++) {
        await new Promise((res) => setTimeout(res, 250));
        r = await readyz(h);
      }
      expect(r.status).toBe(503);
      expect(r.body.checks.database!.ok).toBe(false);
      expect(r.body.checks.graphToken!.ok).toBe(true);
    } finally {
      // The bot's own close ends by closing the store again, which fails: close the rest here.
      await h.close().catch(async () => {
        await h.sim.close();
        await h.connector.close();
      });
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ METRICS_TOKEN });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a scrape without the token, or with another one', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN}x`]) {
      const res = await fetch(`${h.bot.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('pim_');
    }
  });

  it('serves the Prometheus text with the token', async () => {
    const res = await fetch(`${h.bot.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('# TYPE pim_evaluations_total counter');
    expect(text).toContain('# TYPE pim_decision_duration_seconds histogram');
    expect(text).toMatch(/^outbox_depth 0$/m);
  });

  it('gives every answer a correlation id, and replaces one that could forge log lines', async () => {
    const own = await fetch(`${h.bot.url}/healthz`, { headers: { 'client-request-id': 'caller-id.1' } });
    expect(own.headers.get('x-correlation-id')).toBe('caller-id.1');
    const forged = await fetch(`${h.bot.url}/api/pim/evaluate`, {
      method: 'POST',
      headers: { 'x-correlation-id': 'x'.repeat(200), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
