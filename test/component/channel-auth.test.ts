import { startProductionHarness, type ProductionHarness } from '../support/harness';

/** Forged, `alg: none`, foreign-key and `jku` tokens and the rest: test/security/bot-framework-tokens.test.ts. */
describe('production mode authenticates the Bot Framework channel', () => {
  let h: ProductionHarness;
  beforeAll(async () => {
    h = await startProductionHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses an activity without a Bot Framework token', async () => {
    const res = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'invoke',
        name: 'adaptiveCard/action',
        channelId: 'msteams',
        serviceUrl: 'https://evil.example/',
        from: { id: 'x', aadObjectId: '6e1f2a30-4b5c-4d6e-8f70-0a1b2c3d4e03' },
        conversation: { id: 'c' },
        value: {},
      }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_missing');
    expect(h.connector.calls).toEqual([]);
  });
});
