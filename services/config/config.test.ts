import { loadConfig, ConfigError } from './config';
import { configProblems as problems, DEMO_ENV as demoEnv, PRODUCTION_ENV as production } from '../../test/support/config-env';

// The production matrix for Microsoft endpoints and demo containment are in test/security/.

describe('configuration', () => {
  it('accepts a complete production configuration and derives the token checks', () => {
    const c = loadConfig(production);
    expect(c.bot.authenticateChannel).toBe(true);
    expect(c.pimEndpoint.issuers).toEqual([
      'https://login.microsoftonline.com/c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17/v2.0',
      'https://sts.windows.net/c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17/',
    ]);
    expect(c.pimEndpoint.jwksUri).toBe('https://login.microsoftonline.com/c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17/discovery/v2.0/keys');
    expect(c.pimEndpoint.budgetMs).toBe(3000);
  });

  it.each([
    ['TENANT_ID', undefined, /TENANT_ID: required: the Entra tenant id/],
    ['APPROVER_CHANNELS', undefined, /APPROVER_CHANNELS: required: JSON mapping role ids/],
    ['TENANT_ID', 'contoso', /TENANT_ID: must be a GUID/],
    ['BOT_APP_ID', undefined, /BOT_APP_ID/],
    ['PIM_ENDPOINT_APP_ID_URI', 'https://x', /Application ID URI, api:\/\/<endpoint host>\/<client id>/],
    ['PIM_ALLOWED_CALLER_APP_IDS', '', /at least one caller app id/],
    ['APPROVER_CHANNELS', 'not json', /must be JSON, for example/],
    ['APPROVER_CHANNELS', '{"sec":{"conversationId":"19:x","serviceUrl":"https://x/"}}', /"default" entry/],
    ['DATABASE_URL', undefined, /DATABASE_URL: required in production/],
    ['DATABASE_URL', 'mysql://x', /sqlite:<path> or postgres/],
    ['BOT_APP_SECRET', undefined, /BOT_APP_SECRET or BOT_CERTIFICATE_PATH/],
    ['DECISION_BUDGET_MS', '20000', /DECISION_BUDGET_MS/],
  ])('names %s when it is %j', (key, value, message) => {
    const found = problems({ ...production, [key]: value });
    expect(found.join('\n')).toMatch(message);
  });

  it('takes the decision policy from one place only', () => {
    expect(problems({ ...production, POLICY_FILE: '/etc/pim-bot/policy.yaml', POLICY_JSON: '{"version":1}' }).join()).toMatch(
      /POLICY_FILE, POLICY_JSON: set one, not both/,
    );
    expect(loadConfig({ ...production, POLICY_FILE: '/etc/pim-bot/policy.yaml' }).policySource).toEqual({
      file: '/etc/pim-bot/policy.yaml',
      inline: undefined,
    });
  });

  describe('demo shortcuts cannot be switched on in production', () => {
    it('refuses a non-Microsoft authority (the simulator) in production', () => {
      expect(problems({ ...production, ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:3979' }).join()).toMatch(
        /ENTRA_AUTHORITY_HOST: 127\.0\.0\.1 is not a Microsoft Entra authority; production accepts only Microsoft's/,
      );
    });
    it('refuses the simulator secret in production', () => {
      expect(problems({ ...production, BOT_APP_SECRET: 'sim-only-secret-not-valid-anywhere-else' }).join()).toMatch(/simulator secret/);
    });
    it('refuses demo mode off loopback', () => {
      expect(problems({ ...production, APP_MODE: 'demo', HOST: '0.0.0.0' }).join()).toMatch(/loopback only/);
    });
    it('refuses demo mode when NODE_ENV is production', () => {
      expect(problems({ ...production, APP_MODE: 'demo', HOST: '127.0.0.1', NODE_ENV: 'production' }).join()).toMatch(/NODE_ENV=production/);
    });
    it('refuses demo mode against a real tenant', () => {
      const found = problems({ ...production, APP_MODE: 'demo', HOST: '127.0.0.1' }).join('\n');
      expect(found).toMatch(/ENTRA_AUTHORITY_HOST: demo mode uses the local simulator only/);
      expect(found).toMatch(/GRAPH_BASE_URL: demo mode uses the local simulator only/);
    });
    it('turns channel authentication off only in demo mode', () => {
      expect(loadConfig(demoEnv).bot.authenticateChannel).toBe(false);
      expect(loadConfig(production).bot.authenticateChannel).toBe(true);
    });
    it('defaults to production when APP_MODE is not set', () => {
      expect(loadConfig({ ...production, APP_MODE: undefined }).mode).toBe('production');
    });
  });
});

describe('inbound events configuration', () => {
  it('leaves the events endpoint unconfigured by default', () => {
    expect(loadConfig(production).events).toEqual({ hmacSecret: undefined, allowedAppIds: [] });
  });

  it('accepts an HMAC secret of 32 bytes and a list of sender app ids', () => {
    const c = loadConfig({
      ...production,
      EVENTS_HMAC_SECRET: 's'.repeat(32),
      EVENTS_ALLOWED_APP_IDS: 'AAAAAAAA-0000-4000-8000-000000000001, aaaaaaaa-0000-4000-8000-000000000002',
    });
    expect(c.events.hmacSecret).toBe('s'.repeat(32));
    expect(c.events.allowedAppIds).toEqual(['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002']);
  });

  it('counts the secret in bytes, not characters', () => {
    // 16 characters of two bytes each in UTF-8.
    expect(loadConfig({ ...production, EVENTS_HMAC_SECRET: 'é'.repeat(16) }).events.hmacSecret).toBe('é'.repeat(16));
  });

  it.each([
    ['EVENTS_HMAC_SECRET', 's'.repeat(31), /EVENTS_HMAC_SECRET: must be at least 32 bytes/],
    ['EVENTS_HMAC_SECRET', '', /EVENTS_HMAC_SECRET: must be at least 32 bytes/],
    ['EVENTS_ALLOWED_APP_IDS', 'logic-app', /EVENTS_ALLOWED_APP_IDS.*must be app ids \(GUIDs\)/],
  ])('names %s when it is %j', (key, value, message) => {
    expect(problems({ ...production, [key]: value }).join('\n')).toMatch(message);
  });
});

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

describe('natural-language commands (AZURE_OPENAI_*)', () => {
  const azure = {
    AZURE_OPENAI_ENDPOINT: 'https://contoso-pim.openai.azure.com/',
    AZURE_OPENAI_API_KEY: 'an-azure-openai-key',
    AZURE_OPENAI_DEPLOYMENT: 'gpt-4o-mini',
  };
  const demo = demoEnv;

  it('is off without settings, and empty variables count as unset', () => {
    expect(loadConfig(production).naturalLanguage).toBeNull();
    expect(loadConfig({ ...production, AZURE_OPENAI_ENDPOINT: '', AZURE_OPENAI_API_KEY: ' ', AZURE_OPENAI_DEPLOYMENT: '' }).naturalLanguage).toBeNull();
  });

  it('takes the three settings with a GA api-version by default', () => {
    expect(loadConfig({ ...production, ...azure }).naturalLanguage).toEqual({
      endpoint: 'https://contoso-pim.openai.azure.com',
      apiKey: 'an-azure-openai-key',
      deployment: 'gpt-4o-mini',
      apiVersion: '2024-10-21',
    });
    expect(loadConfig({ ...production, ...azure, AZURE_OPENAI_API_VERSION: '2025-01-01-preview' }).naturalLanguage?.apiVersion).toBe('2025-01-01-preview');
  });

  it.each([['AZURE_OPENAI_ENDPOINT'], ['AZURE_OPENAI_API_KEY'], ['AZURE_OPENAI_DEPLOYMENT']])('names %s when only the other two are set', (key) => {
    const found = problems({ ...production, ...azure, [key]: undefined }).join('\n');
    expect(found).toMatch(
      new RegExp(`^${key}: natural-language commands need AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT together`),
    );
  });

  it('names both missing settings when only one is set', () => {
    expect(problems({ ...production, AZURE_OPENAI_DEPLOYMENT: 'gpt-4o-mini' }).join('\n')).toMatch(
      /^AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY: natural-language commands need/,
    );
  });

  it.each([
    ['AZURE_OPENAI_ENDPOINT', 'http://contoso-pim.openai.azure.com', /AZURE_OPENAI_ENDPOINT: must be https:\/\//],
    ['AZURE_OPENAI_ENDPOINT', 'contoso-pim', /AZURE_OPENAI_ENDPOINT: must be the resource endpoint/],
    [
      'AZURE_OPENAI_ENDPOINT',
      'https://contoso-pim.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21',
      /AZURE_OPENAI_ENDPOINT: the resource endpoint only/,
    ],
    ['AZURE_OPENAI_DEPLOYMENT', 'gpt 4o/mini', /AZURE_OPENAI_DEPLOYMENT: must be the deployment name/],
    ['AZURE_OPENAI_API_VERSION', 'latest', /AZURE_OPENAI_API_VERSION: must be an Azure OpenAI API version/],
    ['AZURE_OPENAI_API_KEY', 'sim-only-openai-key', /AZURE_OPENAI_API_KEY: this is the simulator key/],
  ])('names %s when it is %j', (key, value, message) => {
    expect(problems({ ...production, ...azure, [key]: value }).join('\n')).toMatch(message);
  });

  it('never puts the key in an error message', () => {
    const found = problems({
      ...production,
      ...azure,
      AZURE_OPENAI_ENDPOINT: 'http://contoso-pim.openai.azure.com',
      AZURE_OPENAI_API_KEY: 'sim-only-do-not-print',
    }).join('\n');
    expect(found).toMatch(/AZURE_OPENAI_API_KEY/);
    expect(found).not.toMatch(/do-not-print/);
  });

  it('reaches only the simulator in demo mode', () => {
    expect(problems({ ...demo, ...azure }).join('\n')).toMatch(
      /AZURE_OPENAI_ENDPOINT: demo mode uses the local simulator only \(https:\/\/127\.0\.0\.1:<port>\), not https:\/\/contoso-pim\.openai\.azure\.com/,
    );
    const sim = loadConfig({
      ...demo,
      AZURE_OPENAI_ENDPOINT: 'https://127.0.0.1:3979',
      AZURE_OPENAI_API_KEY: 'sim-only-openai-key',
      AZURE_OPENAI_DEPLOYMENT: 'gpt-4o-mini',
    });
    expect(sim.naturalLanguage).toEqual({
      endpoint: 'https://127.0.0.1:3979',
      apiKey: 'sim-only-openai-key',
      deployment: 'gpt-4o-mini',
      apiVersion: '2024-10-21',
    });
    expect(problems({ ...demo, ...azure, AZURE_OPENAI_ENDPOINT: 'https://[::1]:3979' })).toEqual([]);
  });
});
