import { createIntegrations, IntegrationsConfigError, parseIntegrationsSettings } from './settings';

const example = {
  serviceNow: { baseUrl: 'https://contoso.service-now.com', auth: { kind: 'basic', username: 'pim.integration', password: { secret: 'SERVICENOW_PASSWORD' } } },
  jira: { baseUrl: 'https://contoso.atlassian.net', email: 'pim-bot@contoso.com', apiToken: { secret: 'JIRA_API_TOKEN' }, checkAssignee: true },
  pagerDuty: { apiKey: { secret: 'PAGERDUTY_API_KEY' }, escalationPolicyIds: ['PPLTEP1'] },
  opsgenie: { apiKey: { secret: 'OPSGENIE_API_KEY' }, scheduleIds: ['0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01'] },
};

describe('integration settings', () => {
  it('accepts the documented example and fills defaults', () => {
    const s = parseIntegrationsSettings(example);
    expect(s.serviceNow!.names).toEqual(['ServiceNow', 'SNOW']);
    expect(s.pagerDuty!.baseUrl).toBe('https://api.pagerduty.com');
    expect(s.opsgenie!.baseUrl).toBe('https://api.opsgenie.com');
    expect(s.hr).toBeUndefined();
  });

  it('names every key at fault', () => {
    const bad = { ...example, jira: { ...example.jira, baseUrl: 'http://contoso.atlassian.net' }, opsgenie: { apiKey: 'k', scheduleIds: [] }, extra: 1 };
    expect(() => parseIntegrationsSettings(bad)).toThrow(IntegrationsConfigError);
    try {
      parseIntegrationsSettings(bad);
    } catch (e) {
      expect((e as Error).message).toMatch(/integrations\.jira\.baseUrl: must use https:\/\//);
      expect((e as Error).message).toMatch(/integrations\.opsgenie\.scheduleIds: list at least one schedule id/);
      expect((e as Error).message).toMatch(/Unrecognized key\(s\) in object: 'extra'/);
    }
  });

  it('builds one adapter per configured system, resolving secret references', () => {
    const secrets: Record<string, string> = { SERVICENOW_PASSWORD: 'p', JIRA_API_TOKEN: 't', PAGERDUTY_API_KEY: 'k', OPSGENIE_API_KEY: 'g' };
    const i = createIntegrations(parseIntegrationsSettings(example), { secret: (n) => secrets[n] });
    expect(i.ticketSystems.map((t) => t.names[0])).toEqual(['ServiceNow', 'Jira']);
    expect(i.onCall.map((o) => o.name)).toEqual(['PagerDuty', 'Opsgenie']);
    expect(i.hr).toBeUndefined();
    expect(createIntegrations(parseIntegrationsSettings({}))).toEqual({ ticketSystems: [], onCall: [] });
  });

  it('refuses a missing secret or HR without a Graph client, saying what to do', () => {
    expect(() => createIntegrations(parseIntegrationsSettings(example), { secret: () => undefined })).toThrow(
      /integrations\.serviceNow\.auth\.password: the secret "SERVICENOW_PASSWORD" is not set/,
    );
    expect(() => createIntegrations(parseIntegrationsSettings({ hr: { source: 'graph' } }))).toThrow(/pass the app-only Graph client/);
  });
});
