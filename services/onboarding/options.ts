import { z } from 'zod';

/**
 * The inputs of `npm run onboard`, from flags (and a few environment variables with the names the bot's
 * own configuration uses). Parsed once; every problem is reported with the flag to fix.
 */

/** Microsoft Graph Command Line Tools: a public client any tenant can consent to for delegated Graph scopes. */
export const GRAPH_CLI_CLIENT_ID = '14d82eec-204b-4c2f-b7e8-296a70dab67e';
const MICROSOFT_AUTHORITIES = ['https://login.microsoftonline.com', 'https://login.microsoftonline.us', 'https://login.partner.microsoftonline.cn'];
const MICROSOFT_GRAPH_HOSTS = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const isLoopback = (u: string) => LOOPBACK.has(new URL(u).hostname);
const trimSlash = (s: string) => s.replace(/\/+$/, '');

const schema = z
  .object({
    tenant: z
      .string({ required_error: 'required: --tenant <tenant id or domain> (or TENANT_ID)' })
      .regex(/^([0-9a-fA-F-]{36}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$/, '--tenant: the tenant id (a GUID) or its domain, e.g. contoso.onmicrosoft.com'),
    host: z
      .string({ required_error: 'required: --host <public https base URL of the bot>, e.g. https://pim-bot.contoso.com (or PUBLIC_BASE_URL)' })
      .url('--host: must be a URL, e.g. https://pim-bot.contoso.com')
      .refine((u) => new URL(u).protocol === 'https:', '--host: PIM calls the decision endpoint over HTTPS only; give the https:// base URL')
      .refine((u) => {
        const x = new URL(u);
        return !x.search && !x.hash && (x.pathname === '/' || x.pathname === '');
      }, '--host: the base URL only (https://host), without a path; the command adds /api/pim/evaluate')
      .transform(trimSlash),
    appName: z.string().trim().min(1).max(120, '--app-name: at most 120 characters').default('PIM Approvals Bot'),
    appId: z.string().regex(GUID, '--app-id: the client id (a GUID) of an existing app registration to update').optional(),
    roles: z
      .array(z.string().trim().min(1), { required_error: "required: --roles 'Security Operator,User Administrator' (role names or role definition ids)" })
      .min(1, "--roles: name at least one Entra role whose PIM policy should call the decision endpoint, e.g. --roles 'Security Operator,User Administrator'"),
    authorityHost: z.string().url('--authority-host: must be a URL').default('https://login.microsoftonline.com').transform(trimSlash),
    graphBaseUrl: z.string().url('--graph-base-url: must be a URL').default('https://graph.microsoft.com').transform(trimSlash),
    clientId: z.string().regex(GUID, '--client-id: the public client (GUID) to sign in with').default(GRAPH_CLI_CLIENT_ID),
    extensionName: z.string().trim().min(1).max(120).optional(),
    timeoutMs: z.coerce.number().int().min(1000, '--timeout-ms: at least 1000').max(60_000, '--timeout-ms: at most 60000').default(10_000),
    maxRetries: z.coerce.number().int().min(0, '--max-retries: 0 to 5').max(5, '--max-retries: 0 to 5').default(3),
    certificate: z.string().min(1).optional(),
    rotateSecret: z.boolean().default(false),
    secretOut: z.string().min(1).default('.local/onboard/bot-app-secret.env'),
    replaceLinkedExtension: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    /** Simulator only: complete the device code sign-in as this seeded user. */
    simApproveAs: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    const authorityLocal = isLoopback(o.authorityHost);
    const graphLocal = isLoopback(o.graphBaseUrl);
    if (!authorityLocal && !MICROSOFT_AUTHORITIES.includes(o.authorityHost)) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorityHost'],
        message: `--authority-host: a Microsoft Entra authority (${MICROSOFT_AUTHORITIES.join(', ')}) or the local simulator`,
      });
    }
    if (!graphLocal && !MICROSOFT_GRAPH_HOSTS.includes(o.graphBaseUrl)) {
      ctx.addIssue({
        code: 'custom',
        path: ['graphBaseUrl'],
        message: `--graph-base-url: Microsoft Graph (${MICROSOFT_GRAPH_HOSTS.join(', ')}) or the local simulator`,
      });
    }
    if (authorityLocal !== graphLocal) {
      ctx.addIssue({
        code: 'custom',
        path: ['graphBaseUrl'],
        message: '--authority-host and --graph-base-url: both Microsoft, or both the local simulator, not a mix',
      });
    }
    // The simulator's sign-in shortcut must never be reachable against a real tenant.
    if (o.simApproveAs && !authorityLocal) {
      ctx.addIssue({ code: 'custom', path: ['simApproveAs'], message: '--sim-approve-as: only for the local simulator (a loopback --authority-host)' });
    }
    if (o.certificate && o.rotateSecret) {
      ctx.addIssue({ code: 'custom', path: ['rotateSecret'], message: '--rotate-secret and --certificate: choose a client secret or a certificate, not both' });
    }
    const timeoutFloor = 3000;
    if (o.timeoutMs <= timeoutFloor) {
      ctx.addIssue({
        code: 'custom',
        path: ['timeoutMs'],
        message: `--timeout-ms: must exceed the decision endpoint's default budget (DECISION_BUDGET_MS ${timeoutFloor} ms), or PIM gives up before the bot answers`,
      });
    }
  });

export type OnboardOptions = z.infer<typeof schema>;

export class OnboardInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`Cannot onboard:\n${problems.map((p) => `  - ${p}`).join('\n')}\nRun with --help for every option.`);
    this.name = 'OnboardInputError';
  }
}

export function parseOnboardOptions(raw: Record<string, unknown>): OnboardOptions {
  const r = schema.safeParse(raw);
  if (!r.success) throw new OnboardInputError(r.error.issues.map((i) => i.message));
  return r.data;
}

/** Whether the options point at the local simulator (a loopback authority). */
export function targetsSimulator(o: Pick<OnboardOptions, 'authorityHost'>): boolean {
  return isLoopback(o.authorityHost);
}
