import { ConfigError, loadConfig } from './config';

const production = {
  APP_MODE: 'production',
  TENANT_ID: 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17',
  BOT_APP_ID: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  BOT_APP_SECRET: 'a-real-secret',
  PIM_ENDPOINT_APP_ID_URI: 'api://pim-bot.contoso.com/b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  PIM_ALLOWED_CALLER_APP_IDS: '1c67c054-65c8-4f7f-92a1-eb7ba6e48627',
  APPROVER_CHANNELS: '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
  DATABASE_URL: 'sqlite:/var/lib/pim-bot/bot.sqlite',
};

describe('RECONCILE_INTERVAL_MS', () => {
  it('defaults to a minute', () => {
    expect(loadConfig(production).reconcileIntervalMs).toBe(60_000);
  });

  it('takes a value of at least five seconds', () => {
    expect(loadConfig({ ...production, RECONCILE_INTERVAL_MS: '5000' }).reconcileIntervalMs).toBe(5000);
    expect(() => loadConfig({ ...production, RECONCILE_INTERVAL_MS: '1000' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, RECONCILE_INTERVAL_MS: '1000' })).toThrow(/RECONCILE_INTERVAL_MS: must be at least 5000/);
    expect(() => loadConfig({ ...production, RECONCILE_INTERVAL_MS: 'often' })).toThrow(/RECONCILE_INTERVAL_MS/);
  });
});
