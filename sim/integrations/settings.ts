import type { IntegrationsSettingsInput } from '../../services/integrations/settings';
import { DEMO_INTEGRATION_CREDENTIALS, OPSGENIE, PAGERDUTY } from '../seed';

/** Integration settings pointing every adapter at a running simulator, with its seeded credentials. */
export function simIntegrationSettings(
  simUrl: string,
  opts: { hr?: boolean; identityRisk?: boolean; jiraCheckAssignee?: boolean } = {},
): IntegrationsSettingsInput {
  const c = DEMO_INTEGRATION_CREDENTIALS;
  return {
    serviceNow: { baseUrl: `${simUrl}/servicenow`, auth: { kind: 'basic', username: c.serviceNow.username, password: c.serviceNow.password } },
    jira: { baseUrl: `${simUrl}/jira`, email: c.jira.email, apiToken: c.jira.apiToken, checkAssignee: opts.jiraCheckAssignee ?? true },
    pagerDuty: { baseUrl: `${simUrl}/pagerduty`, apiKey: c.pagerDuty.apiKey, escalationPolicyIds: [PAGERDUTY.policyPlatform] },
    opsgenie: { baseUrl: `${simUrl}/opsgenie`, apiKey: c.opsgenie.apiKey, scheduleIds: [OPSGENIE.scheduleSecOps, OPSGENIE.scheduleServiceDesk] },
    ...(opts.hr === false ? {} : { hr: { source: 'graph' as const } }),
    ...(opts.identityRisk === false ? {} : { identityRisk: { source: 'graph' as const, detections: 3 } }),
  };
}
