import { z } from 'zod';
import { validTimeZone } from '../jobs/local-time';
import type { AzureOpenAiSettings } from '../chat/natural-language';
import {
  ARM_HOSTS,
  BOT_TOKEN_SERVICE_HOSTS,
  ENTRA_AUTHORITY_HOSTS,
  GRAPH_HOSTS,
  isLoopbackUrl,
  microsoftEndpointProblem,
  TEAMS_SERVICE_URL_HOSTS,
} from './microsoft-endpoints';

/**
 * The one configuration schema. Read once at start (`loadConfig(process.env)`); nothing else reads
 * process.env. Each key: the environment variable, what it holds, its default.
 */

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const guid = (what: string) => z.string({ required_error: `required: ${what} (a GUID)` }).regex(GUID, `must be a GUID: ${what}`);
const csv = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
/** An empty variable (`KEY=` in an env file) counts as unset. */
const blankAsUnset = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const channelTarget = z.object({
  conversationId: z.string().min(1, 'conversationId is the Teams channel id, e.g. 19:abc@thread.tacv2'),
  serviceUrl: z.string().url('serviceUrl is the Bot Connector URL of the tenant, e.g. https://smba.trafficmanager.net/emea/'),
  /**
   * The team's Microsoft 365 group id (the `groupId` in the channel's link). With it the bot can read its own
   * recent posts in the channel back (Graph, ChannelMessage.Read.Group), so a post whose answer was lost is
   * never shown twice; without it such a post is sent again and may show twice.
   */
  teamId: z.string().uuid("teamId is the team's group id, the groupId=<GUID> part of the channel's link").optional(),
});
export type ChannelTarget = z.infer<typeof channelTarget>;

const json = <T extends z.ZodTypeAny>(schema: T, example: string) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be JSON, for example ${example}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** The database when DATABASE_URL is unset (demo only; production requires it). The audit CLI uses it too. */
export const DEFAULT_DATABASE_URL = 'sqlite:.local/demo.sqlite';

/** Exported for the generated configuration reference (scripts/docs/config-reference.ts) and `npm run package`. */
export const envSchema = z.object({
  APP_MODE: z
    .enum(['production', 'demo'])
    .default('production')
    .describe(
      "production, or demo: loopback only, the simulated tenant only, no Bot Framework authentication; demo also needs DEMO_ACKNOWLEDGE=loopback-only and the simulator's bot secret (BOT_APP_SECRET=sim-only-...), and is refused with NODE_ENV=production",
    ),
  DEMO_ACKNOWLEDGE: blankAsUnset(
    z
      .literal('loopback-only', {
        errorMap: () => ({ message: 'must be loopback-only (APP_MODE=demo: no Bot Framework authentication, so loopback and the simulated tenant only)' }),
      })
      .optional(),
  ).describe(
    'Demo only: APP_MODE=demo starts only with DEMO_ACKNOWLEDGE=loopback-only, saying that the bot then authenticates no Bot Framework caller and so answers only on loopback (Host 127.0.0.1, localhost or [::1]; serviceUrls on loopback) against the simulated tenant. npm run demo and the tests set it',
  ),
  NODE_ENV: z.string().optional().describe("Node's environment name; APP_MODE=demo refuses to start when it is production"),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level; logs carry ids and error codes, never tokens, secrets or payloads'),
  HOST: z.string().default('0.0.0.0').describe('Address the bot listens on (demo: loopback only)'),
  PORT: port(3978).describe("Port the bot listens on: Bot Framework messages at /api/messages, PIM's custom extension at /api/pim/evaluate"),
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "The bot's public https address, e.g. https://pim-bot.contoso.com (the Azure Bot's messaging endpoint without /api/messages); npm run package puts its host in the Teams app's validDomains",
    ),
  TENANT_ID: guid('the Entra tenant id').describe('Entra tenant id (Entra admin center > Overview)'),
  ENTRA_AUTHORITY_HOST: z
    .string()
    .url()
    .default('https://login.microsoftonline.com')
    .describe(
      'Entra authority: production accepts only https://login.microsoftonline.com, https://login.microsoftonline.us or https://login.partner.microsoftonline.cn; demo, the simulator on loopback',
    ),
  GRAPH_BASE_URL: z
    .string()
    .url()
    .default('https://graph.microsoft.com')
    .describe(
      "Microsoft Graph endpoint; the app's Graph token and approvers' on-behalf-of tokens go there, so production accepts only https on graph.microsoft.com, graph.microsoft.us (GCC High), dod-graph.microsoft.us (DoD) or microsoftgraph.chinacloudapi.cn (21Vianet), with no override; demo: the simulator on loopback",
    ),
  /**
   * Azure Resource Manager, for PIM for Azure resources (approvals, policies). Default
   * https://management.azure.com; in demo, the simulator's ARM at GRAPH_BASE_URL + /arm.
   */
  ARM_BASE_URL: z
    .string()
    .url()
    .optional()
    .describe(
      'Azure Resource Manager endpoint, for PIM for Azure resources; unset: https://management.azure.com. Production accepts only https on management.azure.com, management.usgovcloudapi.net or management.chinacloudapi.cn (ARM Private Link keeps these names through private DNS); demo: the simulator, GRAPH_BASE_URL + /arm',
    ),
  BOT_APP_ID: guid('the bot app registration client id').describe(
    "The bot's Entra app registration (client) id; also the Teams app's bot id and webApplicationInfo.id",
  ),
  BOT_APP_SECRET: z.string().min(1).optional().describe("Secret: a client secret of the bot's app registration (set this or BOT_CERTIFICATE_PATH)"),
  BOT_CERTIFICATE_PATH: z
    .string()
    .min(1)
    .optional()
    .describe("PEM file with a certificate and private key of the bot's app registration (instead of BOT_APP_SECRET)"),
  BOT_OAUTH_CONNECTION_NAME: z
    .string()
    .min(1)
    .default('pim-sso')
    .describe("The Azure Bot's OAuth connection for Teams SSO (provider Aadv2, token exchange URL api://botid-<BOT_APP_ID>)"),
  BOT_OAUTH_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "Bot Framework token service (users' sign-in tokens); unset: Microsoft's public one. Set it for data residency or national clouds: production accepts only https on token.botframework.com, europe., unitedstates. or india.token.botframework.com, api.botframework.com, token.botframework.azure.us, api.botframework.azure.us, tokengcch.botframework.azure.us, apiDoD.botframework.azure.us or token.botframework.azure.cn; demo: required, the simulator on loopback",
    ),
  PIM_ENDPOINT_APP_ID_URI: z
    .string({ required_error: "required: the decision endpoint's Application ID URI, api://<endpoint host>/<client id>" })
    .regex(/^api:\/\/[^/]+\/[0-9a-fA-F-]{36}$/, "must be the decision endpoint's Application ID URI, api://<endpoint host>/<client id>")
    .describe("Application ID URI PIM's token for the custom extension is issued for (its aud), api://<endpoint host>/<client id>"),
  PIM_ALLOWED_CALLER_APP_IDS: csv
    .pipe(z.array(z.string().regex(GUID, 'must be app ids (GUIDs)')).min(1, 'must list at least one caller app id (PIM)'))
    .describe("App ids whose tokens may call /api/pim/evaluate and /api/pim/post-approval (PIM's; pin the azp/appid you see in its token)"),
  APPROVER_CHANNELS: z
    .string({
      required_error:
        'required: JSON mapping role ids (and "default") to Teams channels, {"default":{"conversationId":"19:...@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
    })
    .pipe(
      json(
        z.record(channelTarget).refine((r) => 'default' in r, 'must have a "default" entry'),
        '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
      ),
    )
    .describe(
      'JSON: role ids, "default" and optionally "admin" (the admin digest) mapped to Teams channels {conversationId, serviceUrl, teamId}; teamId (the team\'s group id, groupId in the channel\'s link) is optional but lets the bot read its recent posts back so a post whose answer was lost is never shown twice; production accepts serviceUrls only on https and Teams\' Bot Connector hosts (smba.trafficmanager.net/<region>/, smba.onyx.prod.teams.trafficmanager.net, smba.infra.gcc.teams.microsoft.com, smba.infra.gov.teams.microsoft.us, smba.infra.dod.teams.microsoft.us, frontend.botapi.msg.infra.teams.microsoftonline.cn); demo: loopback only',
    ),
  POLICY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Path of the decision policy, JSON or YAML (docs/policy.md); with neither this nor POLICY_JSON weak justifications are flagged and nothing else is checked',
    ),
  POLICY_JSON: z.string().min(2).optional().describe('The decision policy inline as JSON, instead of POLICY_FILE'),
  HUMAN_ONLY_ROLE_IDS: csv
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^((group|azure):)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
            'must be role definition ids (GUIDs), azure:<role definition guid> or group:<group id>',
          ),
      ),
    )
    .default('')
    .describe(
      "Comma-separated roles that are never AutoApproved, added to the built-in Global Administrator, Privileged Role Administrator and Privileged Authentication Administrator and to the policy's humanOnlyRoleIds: Entra role definition ids, azure:<role definition guid> or group:<group id>",
    ),
  DECISION_BUDGET_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(8000)
    .default(3000)
    .describe("Milliseconds for all checks of one decision; a check that has not answered counts as unavailable (PIM's example timeout is 10 s)"),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must be sqlite:<path> or postgres://...')
    .optional()
    .describe('sqlite:<path> for one process, postgres://user@host:5432/db for replicas; required in production (demo: sqlite:.local/demo.sqlite)'),
  MIN_APPROVER_JUSTIFICATION: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe("Minimum length of an approver's justification, in visible characters"),
  /** How long an approver's click waits for PIM before the card says "recording…" (Teams allows an invoke ~15 s). */
  OUTBOX_SEND_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(500)
    .max(60_000)
    .default(15_000)
    .describe(
      'Milliseconds a message to Teams (Bot Connector) may take before its answer counts as lost; a post whose answer was lost is looked for in its conversation (Graph) before it is sent again',
    ),
  PIM_DECISION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(10_000)
    .describe(
      "Milliseconds a Graph call recording (or reading) an approver's decision may take before it is abandoned; the bot then reads PIM's approval steps to learn whether the decision landed",
    ),
  APPROVAL_INVOKE_BUDGET_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(12_000)
    .default(8_000)
    .describe(
      'Milliseconds an approver\'s click waits for PIM before the card says "Recording your decision in PIM…" and finishes in the background (Teams waits about 15 s for an invoke)',
    ),
  /** Shared secret for HMAC-signed events on POST /api/pim/events (openssl rand -hex 32). */
  EVENTS_HMAC_SECRET: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') >= 32, 'must be at least 32 bytes, a random secret shared with the sender, e.g. from `openssl rand -hex 32`')
    .optional()
    .describe('Secret: enables POST /api/pim/events with HMAC-SHA256 signatures; at least 32 bytes, e.g. openssl rand -hex 32'),
  /** App ids whose Entra tokens may send events to POST /api/pim/events (a Logic App's managed identity, ...). */
  EVENTS_ALLOWED_APP_IDS: csv
    .pipe(z.array(z.string().regex(GUID, 'must be app ids (GUIDs) of the apps that send events')))
    .describe(
      "App ids whose Entra tokens may send events to POST /api/pim/events (a Logic App's managed identity, ...); with neither this nor EVENTS_HMAC_SECRET the route answers 503",
    ),
  /** How often the reconciler reads PIM for decisions taken outside Teams, expiries and cancellations. */
  RECONCILE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(5000, 'must be at least 5000 (5 s): each run reads every open request from Graph')
    .default(60_000)
    .describe('Milliseconds between reconciler runs, which read PIM for decisions taken outside Teams, expiries and cancellations'),
  /** How long before a chat activation ends its requester is told, with Extend the session and End now. */
  ENDING_SOON_MINUTES: z.coerce
    .number()
    .int()
    .min(0, 'must be 0 (off) or a number of minutes, e.g. 15')
    .max(240, 'must be at most 240 (4 hours)')
    .default(15)
    .describe(
      'Minutes before an activation requested in chat ends that its requester gets an "ending soon" message with Extend the session and End now; 0 turns it off',
    ),
  /** Local time (HH:MM) of the daily digests, in each user's zone and in the admin channel's. */
  DIGEST_LOCAL_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 24-hour, e.g. 09:00')
    .default('09:00')
    .describe("Local time (HH:MM, 24-hour) of the daily digests, in each user's zone and in the admin channel's"),
  /** Users whose mailbox settings give no time zone, and the admin channel, use this IANA zone. */
  DEFAULT_TIME_ZONE: z
    .string()
    .refine(validTimeZone, 'must be an IANA time zone, e.g. Europe/Berlin')
    .default('UTC')
    .describe('IANA time zone for users whose mailbox settings give none, and for the admin digest'),
  /** How often the tenant is read to see whose digest time has come (each read pages every PIM assignment). */
  DIGEST_CHECK_MINUTES: z.coerce
    .number()
    .int()
    .min(5, 'must be at least 5')
    .max(1440)
    .default(60)
    .describe('Minutes between reads of the tenant for due digests (each read pages every PIM assignment)'),
  /** PIM-onboarded groups the digests read (Graph cannot list them); groups seen in requests are added. */
  DIGEST_GROUP_IDS: csv
    .pipe(z.array(z.string().regex(GUID, 'must be group object ids (GUIDs)')))
    .describe('PIM-onboarded group ids the digests read (Graph cannot list them); groups seen in requests are added'),
  /** The PIM tab's admin dashboard and CSV exports: members (transitive) of this group; unset, nobody. */
  TAB_ADMIN_GROUP_ID: z
    .string()
    .regex(GUID, 'must be a group object id (GUID)')
    .optional()
    .describe(
      "Entra group object id whose members (transitive, read app-only from Graph) see the PIM tab's admin dashboard and CSV exports; unset: nobody does",
    ),
  AZURE_PIM_SCOPES: csv
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^\/(subscriptions|providers\/Microsoft\.Management\/managementGroups)\/[^/]+(\/.*)?$/i,
            'must be ARM scopes, e.g. /subscriptions/<subscription id> or /providers/Microsoft.Management/managementGroups/<id>',
          ),
      ),
    )
    .describe(
      "Azure scopes whose waiting extension and renewal requests (PIM for Azure resources) get a card in the admin channel; ARM lists them per scope. The bot's service principal needs Reader there",
    ),
  /** An eligible assignment with no activation in this many days is reported as dormant. */
  DORMANT_AFTER_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .max(365)
    .default(30)
    .describe('An eligible assignment with no activation in this many days is reported as dormant in the admin digest'),
  /** Share of yesterday's approvals sampled for the admin digest's spot audit. */
  SPOT_AUDIT_RATE: z.coerce.number().min(0).max(1).default(0.1).describe("Share of yesterday's approvals sampled for the admin digest's spot audit"),
  /**
   * Approval cards one channel gets one by one within a minute; more are listed on summary cards when the
   * minute ends. 0 turns summaries off (every request gets its own card however many arrive).
   */
  /**
   * The Teams app's manifest id: with it the bot installs its app for a user it has no chat with (Graph,
   * TeamsAppInstallation.ReadWriteSelfForUser.All) to deliver their digest, and falls back to an activity
   * feed notification (TeamsActivity.Send) when the tenant's app policy blocks that. Unset: such users are
   * reached once they open the chat.
   */
  TEAMS_APP_MANIFEST_ID: blankAsUnset(z.string().regex(GUID, 'must be the Teams app manifest id (a GUID)').optional()).describe(
    "The Teams app's manifest id (npm run package prints it): the bot installs its app for users it has no chat with and falls back to activity feed notifications, and notifies approvers in their activity feed when a card waits for them; unset: such users are reached once they open the chat, and approvers only in the channel",
  ),
  /** Bot Framework service URL of the tenant's Teams region, for chats the bot opens itself. */
  TEAMS_SERVICE_URL: z
    .string()
    .url('must be the Bot Framework service URL, e.g. https://smba.trafficmanager.net/teams/')
    .default('https://smba.trafficmanager.net/teams/')
    .describe(
      "Bot Framework service URL of the tenant's Teams region, for chats the bot opens itself; production accepts the same https Bot Connector hosts as APPROVER_CHANNELS; demo: loopback only",
    ),
  /**
   * The PIM tab's sign-in outside Teams (a browser at PUBLIC_BASE_URL/tab/): a single-page app registration
   * the page signs in with (MSAL, authorization code with PKCE) for the bot's SSO scope. Inside Teams the
   * tab needs none: Teams hands it the SSO token.
   */
  TAB_SIGN_IN_CLIENT_ID: blankAsUnset(z.string().regex(GUID, 'must be the client id (a GUID) of a single-page app registration').optional()).describe(
    "Client id of a single-page app registration (platform Single-page application, redirect URI <bot origin>/tab/, delegated permission api://botid-<BOT_APP_ID>/access_as_user) the PIM tab signs in with when opened in a browser outside Teams; unset: the tab works inside Teams only. Its authority is ENTRA_AUTHORITY_HOST/TENANT_ID; the demo sets the simulator's 'PIM tab (demo)' app",
  ),
  /**
   * Kept so existing deployments still start; it no longer changes pacing. Every replica counts all
   * replicas' Teams messages in the database (7 per second per conversation, 30 per second per tenant,
   * …) and waits out a 429 another replica got, so replicas no longer split the limits between them.
   */
  REPLICA_COUNT: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe("Accepted for compatibility; no longer changes pacing: replicas share one pace for Teams' rate limits in the database, whatever their number"),
  CARD_SUMMARY_AFTER: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(5)
    .describe('Approval cards one channel gets one by one per minute before the rest go on summary cards; 0: never summarise'),
  PRESENCE_ROUTING: blankAsUnset(z.enum(['on', 'off'], { message: 'must be on or off' }).default('on')).describe(
    "on: nudges read the approvers' Teams presence (Graph getPresencesByUserId, application permission Presence.Read.All) and mention those available first, naming those away or out of office; off: presence is not read. Without the permission the ladder runs as if off",
  ),
  PRESENCE_EARLY_ESCALATION_AFTER: z.coerce
    .number({ message: 'must be a number of minutes, e.g. 15' })
    .int('must be whole minutes')
    .min(5, 'must be at least 5 minutes: presence is read on the nudge cadence, not continuously')
    .max(1440)
    .default(15)
    .describe(
      'Minutes with no approver available or busy (all away, offline or out of office) after which a pending request escalates early to its escalation channel and contacts, once; needs PRESENCE_ROUTING=on',
    ),
  /**
   * Azure OpenAI for natural-language chat commands. Set ENDPOINT, API_KEY and DEPLOYMENT together, or none of
   * them: then only the deterministic command parser reads chat messages. https://<resource>.openai.azure.com
   */
  AZURE_OPENAI_ENDPOINT: blankAsUnset(z.string().url('must be the resource endpoint, https://<resource>.openai.azure.com').optional()).describe(
    'Azure OpenAI resource endpoint, https://<resource>.openai.azure.com, for natural-language chat commands; set ENDPOINT, API_KEY and DEPLOYMENT together or none',
  ),
  /** Secret: a key of the Azure OpenAI resource. */
  AZURE_OPENAI_API_KEY: blankAsUnset(z.string().optional()).describe('Secret: a key of the Azure OpenAI resource'),
  /** A chat model deployment that supports JSON mode, e.g. gpt-4o-mini. */
  AZURE_OPENAI_DEPLOYMENT: blankAsUnset(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be the deployment name (letters, digits, ".", "_", "-"), e.g. gpt-4o-mini')
      .optional(),
  ).describe('A chat model deployment that supports JSON mode, e.g. gpt-4o-mini'),
  AZURE_OPENAI_API_VERSION: blankAsUnset(
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, 'must be an Azure OpenAI API version, e.g. 2024-10-21')
      .default('2024-10-21'),
  ).describe('Azure OpenAI API version'),
  METRICS_TOKEN: blankAsUnset(
    z
      .string()
      .refine(
        (v) => Buffer.byteLength(v, 'utf8') >= 32,
        'must be at least 32 bytes, a random secret the Prometheus scraper sends, e.g. from `openssl rand -hex 32`',
      )
      .optional(),
  ).describe(
    'Secret: GET /metrics requires Authorization: Bearer <METRICS_TOKEN>; unset: /metrics is off in production unless METRICS_ALLOW_ANONYMOUS=true (demo: open on loopback)',
  ),
  METRICS_ALLOW_ANONYMOUS: blankAsUnset(z.enum(['true', 'false'], { message: 'must be true or false' }).default('false')).describe(
    'true: serve /metrics without a token in production, only when the port is reachable from a private network alone (e.g. a scraper sidecar); default false',
  ),
});
type Env = z.infer<typeof envSchema>;

export interface AppConfig {
  mode: 'production' | 'demo';
  logLevel: string;
  host: string;
  port: number;
  tenantId: string;
  authorityHost: string;
  graphBaseUrl: string;
  /** ARM_BASE_URL. */
  armBaseUrl: string;
  bot: {
    appId: string;
    appSecret?: string;
    certificatePath?: string;
    oauthConnectionName: string;
    oauthUrl?: string;
    /** False only in demo: the playground sends no Bot Framework token. */
    authenticateChannel: boolean;
  };
  pimEndpoint: { appIdUri: string; allowedCallerAppIds: string[]; issuers: string[]; jwksUri: string; budgetMs: number };
  approverChannels: Record<string, ChannelTarget>;
  /** Where the decision policy comes from (read and validated at start by loadPolicy). */
  policySource: { file?: string; inline?: string };
  /** HUMAN_ONLY_ROLE_IDS, lower-cased: merged into the policy's humanOnlyRoleIds at start. */
  humanOnlyRoleIds: string[];
  databaseUrl: string;
  minApproverJustification: number;
  /** APPROVAL_INVOKE_BUDGET_MS */
  approvalInvokeBudgetMs: number;
  /** PIM_DECISION_TIMEOUT_MS: per Graph call recording or reading a decision. */
  pimDecisionTimeoutMs: number;
  /** OUTBOX_SEND_TIMEOUT_MS: per Bot Connector send from the outbox. */
  outboxSendTimeoutMs: number;
  /** Secrets the policy file names (`{"secret": "NAME"}`), looked up in the environment by name. */
  secret(name: string): string | undefined;
  /** POST /api/pim/events: off (503) unless one of the two is set. */
  events: { hmacSecret?: string; allowedAppIds: string[] };
  /** RECONCILE_INTERVAL_MS. */
  reconcileIntervalMs: number;
  /** TAB_ADMIN_GROUP_ID (lower case): who sees the tab's admin dashboard; null: nobody (fail closed). */
  tabAdminGroupId: string | null;
  /** AZURE_PIM_SCOPES: ARM scopes read for waiting extension and renewal requests (none: Azure asks get no card). */
  azurePimScopes: string[];
  /** Minutes before a chat activation ends that its requester is told; 0: never. */
  endingSoonMinutes: number;
  /** AZURE_OPENAI_*: the model behind natural-language chat commands; null uses the command parser only. */
  naturalLanguage: AzureOpenAiSettings | null;
  /** Daily digests: DIGEST_LOCAL_TIME, DEFAULT_TIME_ZONE, DIGEST_CHECK_MINUTES, DIGEST_GROUP_IDS, DORMANT_AFTER_DAYS, SPOT_AUDIT_RATE. */
  digests: { localTime: string; defaultTimeZone: string; checkEveryMinutes: number; groupIds: string[]; dormantAfterDays: number; spotAuditRate: number };
  /** TEAMS_APP_MANIFEST_ID and TEAMS_SERVICE_URL: installing the app for users to reach them; null: not configured. */
  teamsApp: { manifestId: string; serviceUrl: string } | null;
  /** TAB_SIGN_IN_CLIENT_ID: the PIM tab's sign-in outside Teams (MSAL in the page); null: the tab works inside Teams only. */
  tabSignIn: TabSignIn | null;
  /** REPLICA_COUNT: accepted for compatibility; pacing no longer reads it (replicas share one pace in the database). */
  replicaCount: number;
  /** CARD_SUMMARY_AFTER: cards per channel per minute before the rest go on summary cards; null: never. */
  cardSummaryAfter: number | null;
  /** PRESENCE_ROUTING and PRESENCE_EARLY_ESCALATION_AFTER; null when routing is off. */
  presence: { earlyEscalationAfterMinutes: number } | null;
  /**
   * GET /metrics: `token` (METRICS_TOKEN) required as a bearer when set; `enabled` false when production has
   * no token and METRICS_ALLOW_ANONYMOUS is not true (metrics are off rather than open to the internet).
   */
  metrics: { enabled: boolean; token?: string };
}

/** What the PIM tab's page needs to sign in with MSAL outside Teams (served at GET /api/tab/config). */
export interface TabSignIn {
  /** The single-page app registration's client id. */
  clientId: string;
  /** `<ENTRA_AUTHORITY_HOST>/<TENANT_ID>`. */
  authority: string;
  /** The authority's host, for MSAL's knownAuthorities (no instance discovery). */
  knownAuthority: string;
  /** The bot's SSO scope: the token's audience is the one the tab API's verifier accepts. */
  scopes: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every variable that is missing or wrong. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const demo = e.APP_MODE === 'demo';
  const armBaseUrl = (e.ARM_BASE_URL ?? (demo ? `${e.GRAPH_BASE_URL.replace(/\/$/, '')}/arm` : 'https://management.azure.com')).replace(/\/$/, '');

  if (!e.BOT_APP_SECRET && !e.BOT_CERTIFICATE_PATH) {
    problems.push('BOT_APP_SECRET or BOT_CERTIFICATE_PATH: one is required, the bot app registration credential');
  }
  if (demo) {
    demoContainment(e, env, problems);
  } else {
    productionEndpoints(e, problems);
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production, sqlite:<path> or postgres://user@host/db');
    if (e.BOT_APP_SECRET?.startsWith(SIM_SECRET_PREFIX)) problems.push('BOT_APP_SECRET: this is the simulator secret; use the real app registration secret');
  }
  if (e.POLICY_FILE && e.POLICY_JSON) problems.push('POLICY_FILE, POLICY_JSON: set one, not both');
  const naturalLanguage = naturalLanguageSettings(e, demo, problems);
  if (problems.length) throw new ConfigError(problems);

  const authorityHost = e.ENTRA_AUTHORITY_HOST.replace(/\/$/, '');
  return {
    mode: e.APP_MODE,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    tenantId: e.TENANT_ID.toLowerCase(),
    authorityHost,
    graphBaseUrl: e.GRAPH_BASE_URL.replace(/\/$/, ''),
    armBaseUrl,
    bot: {
      appId: e.BOT_APP_ID.toLowerCase(),
      appSecret: e.BOT_APP_SECRET,
      certificatePath: e.BOT_CERTIFICATE_PATH,
      oauthConnectionName: e.BOT_OAUTH_CONNECTION_NAME,
      oauthUrl: e.BOT_OAUTH_URL,
      authenticateChannel: !demo,
    },
    pimEndpoint: {
      appIdUri: e.PIM_ENDPOINT_APP_ID_URI,
      allowedCallerAppIds: e.PIM_ALLOWED_CALLER_APP_IDS.map((x) => x.toLowerCase()),
      // v2 tokens (requestedAccessTokenVersion 2) name the authority; v1 tokens name sts.windows.net in
      // the public cloud. Both are signed with the tenant's keys.
      issuers: [`${authorityHost}/${e.TENANT_ID.toLowerCase()}/v2.0`, v1Issuer(authorityHost, e.TENANT_ID.toLowerCase())],
      jwksUri: `${authorityHost}/${e.TENANT_ID.toLowerCase()}/discovery/v2.0/keys`,
      budgetMs: e.DECISION_BUDGET_MS,
    },
    approverChannels: e.APPROVER_CHANNELS,
    policySource: { file: e.POLICY_FILE, inline: e.POLICY_JSON },
    humanOnlyRoleIds: e.HUMAN_ONLY_ROLE_IDS.map((x) => x.toLowerCase()),
    databaseUrl: e.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    minApproverJustification: e.MIN_APPROVER_JUSTIFICATION,
    approvalInvokeBudgetMs: e.APPROVAL_INVOKE_BUDGET_MS,
    pimDecisionTimeoutMs: e.PIM_DECISION_TIMEOUT_MS,
    outboxSendTimeoutMs: e.OUTBOX_SEND_TIMEOUT_MS,
    events: { hmacSecret: e.EVENTS_HMAC_SECRET, allowedAppIds: e.EVENTS_ALLOWED_APP_IDS.map((x) => x.toLowerCase()) },
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    tabAdminGroupId: e.TAB_ADMIN_GROUP_ID?.toLowerCase() ?? null,
    azurePimScopes: e.AZURE_PIM_SCOPES.map((x) => x.replace(/\/$/, '')),
    endingSoonMinutes: e.ENDING_SOON_MINUTES,
    naturalLanguage,
    digests: {
      localTime: e.DIGEST_LOCAL_TIME,
      defaultTimeZone: e.DEFAULT_TIME_ZONE,
      checkEveryMinutes: e.DIGEST_CHECK_MINUTES,
      groupIds: e.DIGEST_GROUP_IDS.map((g) => g.toLowerCase()),
      dormantAfterDays: e.DORMANT_AFTER_DAYS,
      spotAuditRate: e.SPOT_AUDIT_RATE,
    },
    cardSummaryAfter: e.CARD_SUMMARY_AFTER === 0 ? null : e.CARD_SUMMARY_AFTER,
    presence: e.PRESENCE_ROUTING === 'on' ? { earlyEscalationAfterMinutes: e.PRESENCE_EARLY_ESCALATION_AFTER } : null,
    replicaCount: e.REPLICA_COUNT,
    metrics: { enabled: Boolean(e.METRICS_TOKEN) || demo || e.METRICS_ALLOW_ANONYMOUS === 'true', token: e.METRICS_TOKEN },
    teamsApp: e.TEAMS_APP_MANIFEST_ID ? { manifestId: e.TEAMS_APP_MANIFEST_ID.toLowerCase(), serviceUrl: e.TEAMS_SERVICE_URL } : null,
    tabSignIn: e.TAB_SIGN_IN_CLIENT_ID
      ? {
          clientId: e.TAB_SIGN_IN_CLIENT_ID.toLowerCase(),
          authority: `${authorityHost}/${e.TENANT_ID.toLowerCase()}`,
          knownAuthority: new URL(authorityHost).host,
          scopes: [`api://botid-${e.BOT_APP_ID.toLowerCase()}/access_as_user`],
        }
      : null,
    secret: (name) => (/^[A-Z][A-Z0-9_]{2,63}$/.test(name) ? env[name] : undefined),
  };
}

/** The simulated tenant's secrets start with this (sim/seed.ts); production refuses them, demo requires the bot's. */
const SIM_SECRET_PREFIX = 'sim-only-';

/**
 * Production: every Microsoft endpoint the bot sends a token to is https on one of Microsoft's public or
 * national-cloud hosts (services/config/microsoft-endpoints.ts), the Entra authority as before.
 */
function productionEndpoints(e: Env, problems: string[]): void {
  const check = (variable: string, value: string | undefined, what: string, hosts: readonly string[], opts?: { originOnly?: boolean }) => {
    if (value === undefined) return;
    const problem = microsoftEndpointProblem(variable, value, what, hosts, opts);
    if (problem) problems.push(problem);
  };
  check('ENTRA_AUTHORITY_HOST', e.ENTRA_AUTHORITY_HOST, 'a Microsoft Entra authority', ENTRA_AUTHORITY_HOSTS, { originOnly: true });
  check('GRAPH_BASE_URL', e.GRAPH_BASE_URL, 'a Microsoft Graph host', GRAPH_HOSTS);
  check('ARM_BASE_URL', e.ARM_BASE_URL, 'an Azure Resource Manager host', ARM_HOSTS);
  check('BOT_OAUTH_URL', e.BOT_OAUTH_URL, 'a Bot Framework token service host', BOT_TOKEN_SERVICE_HOSTS);
  for (const [key, target] of Object.entries(e.APPROVER_CHANNELS)) {
    check(`APPROVER_CHANNELS.${key}.serviceUrl`, target.serviceUrl, 'a Teams Bot Connector host', TEAMS_SERVICE_URL_HOSTS);
  }
  check('TEAMS_SERVICE_URL', e.TEAMS_SERVICE_URL, 'a Teams Bot Connector host', TEAMS_SERVICE_URL_HOSTS);
}

/**
 * Demo mode turns off Bot Framework authentication (the playground sends no token), so it starts only when
 * asked for twice (APP_MODE=demo and DEMO_ACKNOWLEDGE=loopback-only) with the simulated tenant's own bot
 * secret, never with NODE_ENV=production, listens on loopback, and talks to loopback only: the simulator
 * for Entra, Graph, ARM and the token service, and Bot Connectors (the playground's) on loopback. The HTTP
 * layer adds the Host check and refuses activities whose serviceUrl is not on loopback (bot/http/demo-containment.ts).
 */
function demoContainment(e: Env, env: Record<string, string | undefined>, problems: string[]): void {
  const SIM = 'demo mode uses the local simulator only (https://127.0.0.1:<port>)';
  if (e.NODE_ENV === 'production') problems.push('APP_MODE: demo cannot run with NODE_ENV=production');
  if (e.DEMO_ACKNOWLEDGE !== 'loopback-only') {
    problems.push(
      'DEMO_ACKNOWLEDGE: APP_MODE=demo also needs DEMO_ACKNOWLEDGE=loopback-only (demo authenticates no Bot Framework caller, so it answers on loopback only); use npm run demo',
    );
  }
  if (e.BOT_CERTIFICATE_PATH)
    problems.push(
      "BOT_CERTIFICATE_PATH: demo mode uses the simulated tenant's bot secret (BOT_APP_SECRET=sim-only-...), never a certificate of a real app registration",
    );
  if (e.BOT_APP_SECRET !== undefined && !e.BOT_APP_SECRET.startsWith(SIM_SECRET_PREFIX)) {
    problems.push("BOT_APP_SECRET: demo mode runs with the simulated tenant's bot secret only (sim-only-..., sim/seed.ts), not a real app registration secret");
  }
  if (!LOOPBACK_HOSTS.has(e.HOST)) problems.push(`HOST: demo mode listens on loopback only (127.0.0.1), not ${e.HOST}`);
  // It talks only to a simulated tenant: no real Entra, Graph, PIM or token service can be reached from it.
  const armBaseUrl = e.ARM_BASE_URL ?? `${e.GRAPH_BASE_URL.replace(/\/$/, '')}/arm`;
  for (const [key, value] of [
    ['ENTRA_AUTHORITY_HOST', e.ENTRA_AUTHORITY_HOST],
    ['GRAPH_BASE_URL', e.GRAPH_BASE_URL],
    ['ARM_BASE_URL', armBaseUrl],
  ] as const) {
    if (!isLoopbackUrl(value)) problems.push(`${key}: ${SIM}, not ${originOf(value)}`);
  }
  if (!e.BOT_OAUTH_URL)
    problems.push(`BOT_OAUTH_URL: required in demo mode, the simulator's token service (https://127.0.0.1:<port>); unset it would be Microsoft's`);
  else if (!isLoopbackUrl(e.BOT_OAUTH_URL)) problems.push(`BOT_OAUTH_URL: ${SIM}, not ${originOf(e.BOT_OAUTH_URL)}`);
  // And it sends to Bot Connectors on loopback only (the playground's, a test's).
  for (const [key, target] of Object.entries(e.APPROVER_CHANNELS)) {
    if (!isLoopbackUrl(target.serviceUrl))
      problems.push(
        `APPROVER_CHANNELS.${key}.serviceUrl: demo mode sends to a Bot Connector on loopback only (the playground's), not ${originOf(target.serviceUrl)}`,
      );
  }
  if ((e.TEAMS_APP_MANIFEST_ID || env.TEAMS_SERVICE_URL !== undefined) && !isLoopbackUrl(e.TEAMS_SERVICE_URL)) {
    problems.push(`TEAMS_SERVICE_URL: demo mode sends to a Bot Connector on loopback only, not ${originOf(e.TEAMS_SERVICE_URL)}`);
  }
}

/** Scheme and host of a URL, for messages (never a path, query or credentials). */
function originOf(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'a value that is not a URL';
  }
}

function v1Issuer(authorityHost: string, tenantId: string): string {
  return authorityHost === 'https://login.microsoftonline.com' ? `https://sts.windows.net/${tenantId}/` : `${authorityHost}/${tenantId}/`;
}

/** AZURE_OPENAI_*: all three or none; https; the simulator only in demo; never the simulator key in production. */
function naturalLanguageSettings(e: Env, demo: boolean, problems: string[]): AzureOpenAiSettings | null {
  const { AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_API_KEY: apiKey, AZURE_OPENAI_DEPLOYMENT: deployment } = e;
  const missing = Object.entries({ AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_API_KEY: apiKey, AZURE_OPENAI_DEPLOYMENT: deployment })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length === 3) return null;
  if (!endpoint || !apiKey || !deployment) {
    problems.push(
      `${missing.join(', ')}: natural-language commands need AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and AZURE_OPENAI_DEPLOYMENT together; set the missing ones, or unset all three to use the command parser only`,
    );
    return null;
  }
  const url = new URL(endpoint);
  const before = problems.length;
  if (url.protocol !== 'https:')
    problems.push(`AZURE_OPENAI_ENDPOINT: must be https://, e.g. https://<resource>.openai.azure.com, not ${url.protocol}//${url.host}`);
  if (url.search || url.hash || /\/openai(\/|$)/i.test(url.pathname)) {
    problems.push(
      'AZURE_OPENAI_ENDPOINT: the resource endpoint only, https://<resource>.openai.azure.com, without /openai/deployments/... or ?api-version (set AZURE_OPENAI_DEPLOYMENT and AZURE_OPENAI_API_VERSION instead)',
    );
  }
  if (demo && !isLoopbackUrl(endpoint)) {
    problems.push(`AZURE_OPENAI_ENDPOINT: demo mode uses the local simulator only (https://127.0.0.1:<port>), not ${url.origin}`);
  }
  if (!demo && apiKey.startsWith(SIM_SECRET_PREFIX)) problems.push('AZURE_OPENAI_API_KEY: this is the simulator key; use a key of the Azure OpenAI resource');
  if (problems.length > before) return null;
  return { endpoint: endpoint.replace(/\/+$/, ''), apiKey, deployment, apiVersion: e.AZURE_OPENAI_API_VERSION };
}
