import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_PIM_CALLER_APP_ID, ROLE, USER } from '../../sim/seed';
import { APP_ID_URI, type Harness, pimHolds, simJson, startHarness } from '../support/harness';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/pim-extension', name), 'utf8')) as Record<string, any>;

/** An Entra-role request body as PIM sends it, for a seeded requester and role. */
function entraRequest(overrides: Record<string, unknown> = {}) {
  return {
    ...fixture('request-entra-role.json'),
    id: randomUUID(),
    principalId: USER.isaiah,
    roleDefinitionId: ROLE.userAdministrator,
    ...overrides,
  };
}

describe('the decision endpoint PIM calls', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness({
      POLICY_JSON: JSON.stringify({
        version: 1,
        roles: {
          default: { justification: 'deny' },
          [ROLE.helpdeskAdministrator]: { ticket: { required: true, verify: false }, autoApprove: { when: ['ticket'] } },
        },
      }),
    });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    token = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
  });

  async function post(body: unknown, opts: { token?: string | null; contentType?: string; raw?: string } = {}) {
    // PIM holds every well-formed Entra role or group request posted here, as it would (the bot binds cards to PIM's copy).
    const b = body as Record<string, unknown> | null;
    if (!opts.raw && b && typeof b === 'object' && typeof b.id === 'string' && /^[0-9a-f-]{36}$/i.test(b.id) && typeof b.principalId === 'string')
      await pimHolds(h, b);
    const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
    const t = opts.token === undefined ? token : opts.token;
    if (t) headers.authorization = `Bearer ${t}`;
    const res = await fetch(`${h.bot.url}/api/pim/evaluate`, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('answers Approved with reasons for a request an approver must see, and posts one card', async () => {
    const posts = h.connector.posts.length;
    const res = await post(entraRequest());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ evaluationId: expect.stringMatching(/^[0-9a-f-]{36}$/), evaluationOutcome: 'Approved', reason: expect.any(Array) });
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts + 1);
  });

  it("answers PIM without waiting for the card: the card's Graph reads run after the answer", async () => {
    const posts = h.connector.posts.length;
    // Every Graph read of the card held for two seconds: PIM's answer must not wait for any of them.
    await simJson(h.sim, 'POST', '/_sim/faults', { pathPattern: '^/(v1\\.0|beta)/', latencyMs: 2000, times: 100 });
    try {
      const started = Date.now();
      const res = await post(entraRequest());
      expect(res.body.evaluationOutcome).toBe('Approved');
      expect(Date.now() - started).toBeLessThan(1500);
      expect(h.connector.posts.length).toBe(posts);
      await h.bot.delivery.drain();
      expect(h.connector.posts.length).toBe(posts + 1);
    } finally {
      await simJson(h.sim, 'DELETE', '/_sim/faults');
    }
  });

  it('answers a PIM retry with the same evaluation and no second card', async () => {
    const body = entraRequest();
    const first = await post(body);
    await h.bot.delivery.drain();
    const posts = h.connector.posts.length;
    const [second, third] = await Promise.all([post(body), post(body)]);
    await h.bot.delivery.drain();
    expect(second.body).toEqual(first.body);
    expect(third.body).toEqual(first.body);
    expect(h.connector.posts.length).toBe(posts);
  });

  it('accepts a v1 token from PIM (appid instead of azp, v1 issuer)', async () => {
    const v1 = await h.sim.issueToken({ iss: `${h.sim.url}/${h.sim.tenantId}/`, ver: '1.0', aud: APP_ID_URI, appid: DEMO_PIM_CALLER_APP_ID });
    const res = await post(entraRequest(), { token: v1 });
    expect(res.status).toBe(200);
    expect(res.body.evaluationOutcome).toBe('Approved');
  });

  it('auto-approves where the role allows it and every check passes', async () => {
    const res = await post(
      entraRequest({ roleDefinitionId: ROLE.helpdeskAdministrator, ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' } }),
    );
    expect(res.body.evaluationOutcome).toBe('AutoApproved');
  });

  it('never auto-approves Global Administrator', async () => {
    const res = await post(entraRequest({ roleDefinitionId: ROLE.globalAdministrator }));
    expect(res.body.evaluationOutcome).toBe('Approved');
    expect(res.body.reason[0]).toMatch(/human-only/);
  });

  it('denies a placeholder justification with advice, and posts no card', async () => {
    await h.bot.delivery.drain();
    const posts = h.connector.posts.length;
    const res = await post(entraRequest({ justification: 'admin' }));
    expect(res.body.evaluationOutcome).toBe('Denied');
    expect(res.body.reason[0]).toMatch(/placeholder/);
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
  });

  it('denies a malformed ticket where the role requires one', async () => {
    const res = await post(entraRequest({ roleDefinitionId: ROLE.helpdeskAdministrator, ticketInfo: { ticketNumber: 'INC12', ticketSystem: 'ServiceNow' } }));
    expect(res.body.evaluationOutcome).toBe('Denied');
    expect(res.body.reason.join(' ')).toMatch(/not a ServiceNow number/);
  });

  it('accepts the group and Azure resource shapes', async () => {
    expect((await post(fixture('request-group.json'))).body.evaluationOutcome).toBe('Approved');
    expect((await post(fixture('request-azure-resource.json'))).body.evaluationOutcome).toBe('Approved');
  });

  describe('refuses callers it cannot authenticate, and stores nothing', () => {
    const cases: Array<[string, () => Promise<string | null>, string]> = [
      ['no token', async () => null, 'token_missing'],
      ['a forged signature', () => h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID }, { signWith: 'foreign' }), 'token_signature'],
      [
        'an expired token',
        () =>
          h.sim.issueToken({
            aud: APP_ID_URI,
            azp: DEMO_PIM_CALLER_APP_ID,
            iat: Math.floor(Date.now() / 1000) - 7200,
            nbf: Math.floor(Date.now() / 1000) - 7200,
            exp: Math.floor(Date.now() / 1000) - 600,
          }),
        'token_expired',
      ],
      ['the wrong audience', () => h.sim.issueToken({ aud: 'api://127.0.0.1/someone-else', azp: DEMO_PIM_CALLER_APP_ID }), 'token_audience'],
      [
        'the wrong issuer',
        () => h.sim.issueToken({ iss: 'https://login.microsoftonline.com/other-tenant/v2.0', aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID }),
        'token_issuer',
      ],
      ['a caller that is not PIM', () => h.sim.issueToken({ aud: APP_ID_URI, azp: '99999999-0000-4000-8000-000000000000' }), 'token_caller'],
      ['garbage', async () => 'not.a.jwt', 'token_malformed'],
    ];
    it.each(cases)('%s', async (_name, makeToken, code) => {
      const before = await h.bot.store.evaluations.count();
      const res = await post(entraRequest(), { token: await makeToken() });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message.length).toBeGreaterThan(10);
      expect(await h.bot.store.evaluations.count()).toBe(before);
    });
  });

  describe('rejects bad bodies with a clear error, and stores nothing', () => {
    const cases: Array<[string, { raw?: string; contentType?: string; body?: unknown }, number, string]> = [
      ['malformed JSON', { raw: '{"id": ' }, 400, 'malformed_json'],
      ['a wrong content type', { contentType: 'text/plain', body: {} }, 415, 'unsupported_media_type'],
      ['an oversized body', { raw: JSON.stringify({ ...entraRequest(), justification: 'x'.repeat(70_000) }) }, 413, 'body_too_large'],
      ['an unknown shape', { body: { hello: 'world' } }, 400, 'unknown_shape'],
      ['a JSON array', { body: [1, 2] }, 400, 'unknown_shape'],
      ['a bad field', { body: { ...fixture('request-entra-role.json'), principalId: 42 } }, 400, 'unknown_shape'],
    ];
    it.each(cases)('%s', async (_name, input, status, code) => {
      const before = await h.bot.store.evaluations.count();
      const res = await post(input.body, { raw: input.raw, contentType: input.contentType });
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(await h.bot.store.evaluations.count()).toBe(before);
    });
  });
});
