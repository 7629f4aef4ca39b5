import type { Client } from '@microsoft/microsoft-graph-client';
import { z } from 'zod';
import { GraphHrSignals } from './graph-hr';
import { GraphIdentityRisk } from './graph-identity-risk';
import type { FetchFn } from './http-json';
import { JiraTickets } from './jira';
import { OpsgenieOnCall } from './opsgenie';
import { PagerDutyOnCall } from './pagerduty';
import type { HrSignals, IdentityRiskSignals, OnCallService, TicketSystem } from './ports';
import { ServiceNowTickets } from './servicenow';

/**
 * Settings of the systems of record, as one JSON object (the `integrations` block of the policy file).
 * Every block is optional: an absent system is not checked. Secrets are either the value itself or
 * `{"secret": "NAME"}`, which the composition root resolves (from its validated config) so the
 * policy file itself need hold no secret.
 */

const secret = (what: string) =>
  z.union([z.string().min(1, 'must not be empty'), z.object({ secret: z.string().min(1, 'secret: the name of the secret that holds the value') }).strict()], {
    errorMap: () => ({ message: `the ${what}, or {"secret": "<name>"}` }),
  });
export type SecretValue = z.infer<ReturnType<typeof secret>>;

const httpsUrl = (example: string) =>
  z
    .string()
    .url(`must be a URL such as ${example}`)
    .refine((u) => u.startsWith('https://'), 'must use https://');

const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(5).optional().describe('Total tries including the first (default 3).'),
    baseDelayMs: z.number().int().min(0).max(5000).optional().describe('First backoff step, doubled per retry (default 100).'),
    maxDelayMs: z.number().int().min(0).max(10000).optional().describe('Ceiling of one backoff step (default 1000).'),
    maxTotalWaitMs: z.number().int().min(0).max(10000).optional().describe('Ceiling of all waits of one call (default 1500).'),
  })
  .strict();

export const integrationsSettingsSchema = z
  .object({
    serviceNow: z
      .object({
        baseUrl: httpsUrl('https://contoso.service-now.com').describe('The instance URL.'),
        auth: z
          .discriminatedUnion('kind', [
            z.object({ kind: z.literal('basic'), username: z.string().min(1), password: secret('password') }).strict(),
            z.object({ kind: z.literal('bearer'), token: secret('OAuth access token') }).strict(),
          ])
          .describe('A read-only integration user (basic) or an OAuth access token (bearer).'),
        names: z.array(z.string().min(1)).min(1).default(['ServiceNow', 'SNOW']).describe('PIM ticketSystem values this instance answers for.'),
        retry: retrySchema.optional(),
      })
      .strict()
      .optional(),
    jira: z
      .object({
        baseUrl: httpsUrl('https://contoso.atlassian.net').describe('The Jira Cloud site URL.'),
        email: z.string().email('must be the email of the Atlassian account the API token belongs to'),
        apiToken: secret('API token'),
        checkAssignee: z.boolean().default(false).describe("Require the issue's assignee to be the requester (by email)."),
        names: z.array(z.string().min(1)).min(1).default(['Jira']),
        retry: retrySchema.optional(),
      })
      .strict()
      .optional(),
    pagerDuty: z
      .object({
        baseUrl: httpsUrl('https://api.pagerduty.com').default('https://api.pagerduty.com'),
        apiKey: secret('REST API key'),
        escalationPolicyIds: z.array(z.string().min(1)).default([]).describe('Only on-calls for these escalation policies count; all when empty.'),
        retry: retrySchema.optional(),
      })
      .strict()
      .optional(),
    opsgenie: z
      .object({
        baseUrl: httpsUrl('https://api.opsgenie.com').default('https://api.opsgenie.com'),
        apiKey: secret('API integration key'),
        scheduleIds: z.array(z.string().min(1)).min(1, 'list at least one schedule id'),
        retry: retrySchema.optional(),
      })
      .strict()
      .optional(),
    hr: z
      .object({
        source: z.literal('graph').describe('accountEnabled and employeeLeaveDateTime from Microsoft Graph (app-only).'),
      })
      .strict()
      .optional(),
    identityRisk: z
      .object({
        source: z
          .literal('graph')
          .describe(
            'User risk and risk detections from Microsoft Entra ID Protection through Graph (app-only: IdentityRiskyUser.Read.All, IdentityRiskEvent.Read.All; Entra ID P2).',
          ),
        detections: z.number().int().min(0).max(5).default(3).describe('How many recent risk detections the approval card shows.'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type IntegrationsSettings = z.infer<typeof integrationsSettingsSchema>;
export type IntegrationsSettingsInput = z.input<typeof integrationsSettingsSchema>;

export interface IntegrationsDeps {
  /** Injected in tests; the global fetch otherwise. */
  fetch?: FetchFn;
  /** The app-only Graph client (services/graph), required when `hr.source` is `graph`. */
  graph?: Client;
  /** Resolves `{"secret": "NAME"}`; undefined when unknown. */
  secret?: (name: string) => string | undefined;
}

export interface Integrations {
  ticketSystems: TicketSystem[];
  onCall: OnCallService[];
  hr?: HrSignals;
  identityRisk?: IdentityRiskSignals;
}

export class IntegrationsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrationsConfigError';
  }
}

/** Validates raw settings (the parsed JSON) with messages naming the key at fault. */
export function parseIntegrationsSettings(raw: unknown): IntegrationsSettings {
  const r = integrationsSettingsSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `${['integrations', ...i.path].join('.')}: ${i.message}`);
  throw new IntegrationsConfigError(`Integration settings are invalid:\n${lines.map((l) => `  - ${l}`).join('\n')}`);
}

/** One adapter per configured system. */
export function createIntegrations(settings: IntegrationsSettings, deps: IntegrationsDeps = {}): Integrations {
  const reveal = (v: SecretValue, key: string): string => {
    if (typeof v === 'string') return v;
    const value = deps.secret?.(v.secret);
    if (!value) throw new IntegrationsConfigError(`integrations.${key}: the secret "${v.secret}" is not set; provide it or put the value in the settings.`);
    return value;
  };
  const http = { fetch: deps.fetch };
  const ticketSystems: TicketSystem[] = [];
  const onCall: OnCallService[] = [];
  const { serviceNow, jira, pagerDuty, opsgenie, hr, identityRisk } = settings;
  if (serviceNow) {
    const auth =
      serviceNow.auth.kind === 'basic'
        ? { kind: 'basic' as const, username: serviceNow.auth.username, password: reveal(serviceNow.auth.password, 'serviceNow.auth.password') }
        : { kind: 'bearer' as const, token: reveal(serviceNow.auth.token, 'serviceNow.auth.token') };
    ticketSystems.push(new ServiceNowTickets({ baseUrl: serviceNow.baseUrl, auth, names: serviceNow.names, retry: serviceNow.retry }, http));
  }
  if (jira) {
    ticketSystems.push(
      new JiraTickets(
        {
          baseUrl: jira.baseUrl,
          email: jira.email,
          apiToken: reveal(jira.apiToken, 'jira.apiToken'),
          checkAssignee: jira.checkAssignee,
          names: jira.names,
          retry: jira.retry,
        },
        http,
      ),
    );
  }
  if (pagerDuty) {
    onCall.push(
      new PagerDutyOnCall(
        {
          baseUrl: pagerDuty.baseUrl,
          apiKey: reveal(pagerDuty.apiKey, 'pagerDuty.apiKey'),
          escalationPolicyIds: pagerDuty.escalationPolicyIds,
          retry: pagerDuty.retry,
        },
        http,
      ),
    );
  }
  if (opsgenie) {
    onCall.push(
      new OpsgenieOnCall(
        {
          baseUrl: opsgenie.baseUrl,
          apiKey: reveal(opsgenie.apiKey, 'opsgenie.apiKey'),
          scheduleIds: opsgenie.scheduleIds,
          retry: opsgenie.retry,
        },
        http,
      ),
    );
  }
  let hrSignals: HrSignals | undefined;
  if (hr) {
    if (!deps.graph)
      throw new IntegrationsConfigError('integrations.hr: HR signals read Microsoft Graph; pass the app-only Graph client to createIntegrations.');
    hrSignals = new GraphHrSignals(deps.graph);
  }
  let identityRiskSignals: IdentityRiskSignals | undefined;
  if (identityRisk) {
    if (!deps.graph)
      throw new IntegrationsConfigError(
        'integrations.identityRisk: user risk is read from Microsoft Graph; pass the app-only Graph client to createIntegrations.',
      );
    identityRiskSignals = new GraphIdentityRisk(deps.graph, { detections: identityRisk.detections });
  }
  return { ticketSystems, onCall, ...(hrSignals ? { hr: hrSignals } : {}), ...(identityRiskSignals ? { identityRisk: identityRiskSignals } : {}) };
}
