import { type ConfigError, loadConfig } from '../config/config';

const production = {
  APP_MODE: 'production',
  TENANT_ID: 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17',
  BOT_APP_ID: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  BOT_APP_SECRET: 'a-real-secret',
  PIM_ENDPOINT_APP_ID_URI: 'api://pim-bot.contoso.com/b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  PIM_ALLOWED_CALLER_APP_IDS: '1c67c054-65c8-4f7f-92a1-eb7ba6e48627',
  APPROVER_CHANNELS: '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
  DATABASE_URL: 'postgres://bot@db.internal:5432/pim',
};
const TOKEN = '0123456789abcdef0123456789abcdef';

describe('metrics access in the configuration', () => {
  it('production without METRICS_TOKEN: /metrics is off, not open', () => {
    expect(loadConfig(production).metrics).toEqual({ enabled: false, token: undefined });
    expect(loadConfig({ ...production, METRICS_TOKEN: '' }).metrics.enabled).toBe(false);
  });

  it('production with METRICS_TOKEN: on, behind the token', () => {
    expect(loadConfig({ ...production, METRICS_TOKEN: TOKEN }).metrics).toEqual({ enabled: true, token: TOKEN });
  });

  it('production opened without a token only when asked for explicitly', () => {
    expect(loadConfig({ ...production, METRICS_ALLOW_ANONYMOUS: 'true' }).metrics).toEqual({ enabled: true, token: undefined });
    expect(loadConfig({ ...production, METRICS_ALLOW_ANONYMOUS: 'false' }).metrics.enabled).toBe(false);
  });

  it('refuses a short token or a malformed switch, saying what to set', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ ...production, METRICS_TOKEN: 'short' })).toEqual([
      expect.stringMatching(/^METRICS_TOKEN: must be at least 32 bytes.*openssl rand -hex 32/),
    ]);
    expect(problems({ ...production, METRICS_ALLOW_ANONYMOUS: 'yes' })).toEqual([expect.stringMatching(/^METRICS_ALLOW_ANONYMOUS: must be true or false/)]);
  });
});
