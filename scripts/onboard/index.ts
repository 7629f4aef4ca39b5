/**
 * `npm run onboard -- --tenant <id> --host https://pim-bot.contoso.com --roles 'Security Operator'`
 *
 * Signs an administrator in with the device code flow and, idempotently, creates or updates the bot's app
 * registration, its service principal and credential, the PIM custom extension for the decision endpoint,
 * and links it to the chosen roles' PIM policies. `--dry-run` lists every Graph call and changes nothing.
 * Against the simulator: `--authority-host https://127.0.0.1:3979 --graph-base-url https://127.0.0.1:3979
 * --sim-approve-as adelev@contoso.example` (start Node with NODE_EXTRA_CA_CERTS=.local/pki/ca.pem).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DeviceCodeCredential, type DeviceCodeInfo } from '@azure/identity';
import { decodeJwt } from 'jose';
import { createGraphHttp } from '../../services/onboarding/graph-http';
import { OnboardingError, type OnboardingGraph } from '../../services/onboarding/graph-port';
import { onboard, type OnboardResult } from '../../services/onboarding/onboard';
import { OnboardInputError, parseOnboardOptions, targetsSimulator, type OnboardOptions } from '../../services/onboarding/options';
import { ONBOARDING_ADMIN_SCOPES } from '../../services/onboarding/permissions';

export const USAGE = `Usage: npm run onboard -- --tenant <tenant id> --host <https://bot host> --roles '<role>[,<role>...]' [options]

  --tenant <id|domain>        Entra tenant (env TENANT_ID)
  --host <https://...>        public base URL of the bot; the decision endpoint is <host>/api/pim/evaluate (env PUBLIC_BASE_URL)
  --roles <list>              Entra roles (names or ids) whose PIM policy calls the decision endpoint before activation
  --app-name <name>           app registration name (default 'PIM Approvals Bot')
  --app-id <client id>        update this existing registration instead of finding it by name
  --certificate <pem file>    use this certificate as the bot's credential instead of a client secret
  --rotate-secret             add a new client secret even if a valid one exists
  --secret-out <file>         where a new secret is written, readable by you only (default .local/onboard/bot-app-secret.env)
  --extension-name <name>     PIM custom extension name (default '<app name> decision endpoint')
  --timeout-ms <n>            how long PIM waits for the decision endpoint (default 10000)
  --max-retries <n>           how often PIM retries it (default 3)
  --replace-linked-extension  point roles that already call another custom extension at the bot
  --dry-run                   list every Graph call (reads and writes) and change nothing
  --authority-host <url>      Entra authority (env ENTRA_AUTHORITY_HOST; default https://login.microsoftonline.com)
  --graph-base-url <url>      Microsoft Graph (env GRAPH_BASE_URL; default https://graph.microsoft.com)
  --client-id <guid>          public client for the sign-in (default: Microsoft Graph Command Line Tools)
  --sim-approve-as <user>     simulator only: complete the sign-in as this seeded user
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  /** Called with the device code prompt after it is printed (tests approve the sign-in here). */
  onDeviceCode?: (info: DeviceCodeInfo) => Promise<void> | void;
  /** Resolves relative paths (--secret-out, --certificate). */
  cwd?: string;
  /** Replaces the Graph adapter (tests). */
  graph?: OnboardingGraph;
}

/** The command line's options (node's parseArgs throws on an unknown or malformed one). */
function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      tenant: { type: 'string' },
      host: { type: 'string' },
      roles: { type: 'string' },
      'app-name': { type: 'string' },
      'app-id': { type: 'string' },
      certificate: { type: 'string' },
      'rotate-secret': { type: 'boolean' },
      'secret-out': { type: 'string' },
      'extension-name': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'max-retries': { type: 'string' },
      'replace-linked-extension': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'authority-host': { type: 'string' },
      'graph-base-url': { type: 'string' },
      'client-id': { type: 'string' },
      'sim-approve-as': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

/** Runs the command; returns the exit code (0 done, 1 failed, 2 bad input). */
export async function main(argv: string[], io: CliIo): Promise<{ code: number; result?: OnboardResult }> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return { code: 2 };
  }
  if (parsed.help) {
    io.out(USAGE);
    return { code: 0 };
  }
  const blank = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  let o: OnboardOptions;
  try {
    o = parseOnboardOptions({
      tenant: parsed.tenant ?? blank(io.env.TENANT_ID),
      host: parsed.host ?? blank(io.env.PUBLIC_BASE_URL),
      roles: parsed.roles
        ?.split(',')
        .map((r) => r.trim())
        .filter(Boolean),
      appName: parsed['app-name'],
      appId: parsed['app-id'],
      certificate: parsed.certificate,
      rotateSecret: parsed['rotate-secret'],
      secretOut: parsed['secret-out'],
      extensionName: parsed['extension-name'],
      timeoutMs: parsed['timeout-ms'],
      maxRetries: parsed['max-retries'],
      replaceLinkedExtension: parsed['replace-linked-extension'],
      dryRun: parsed['dry-run'],
      authorityHost: parsed['authority-host'] ?? blank(io.env.ENTRA_AUTHORITY_HOST),
      graphBaseUrl: parsed['graph-base-url'] ?? blank(io.env.GRAPH_BASE_URL),
      clientId: parsed['client-id'],
      simApproveAs: parsed['sim-approve-as'],
    });
  } catch (err) {
    if (err instanceof OnboardInputError) {
      io.err(err.message);
      return { code: 2 };
    }
    throw err;
  }

  const cwd = io.cwd ?? process.cwd();
  let certificate: { base64Der: string; thumbprint: string; notAfter: string } | undefined;
  if (o.certificate) {
    try {
      const cert = new X509Certificate(await readFile(path.resolve(cwd, o.certificate)));
      certificate = {
        base64Der: cert.raw.toString('base64'),
        thumbprint: createHash('sha1').update(cert.raw).digest('base64'),
        notAfter: new Date(cert.validTo).toISOString(),
      };
    } catch (err) {
      io.err(`--certificate: cannot read an X.509 certificate (PEM) from ${o.certificate}: ${(err as Error).message}`);
      return { code: 2 };
    }
  }

  const simulator = targetsSimulator(o);
  // The simulator plays Graph at its own address but issues tokens for the real Graph resource.
  const graphResource = simulator ? 'https://graph.microsoft.com' : o.graphBaseUrl;
  const credential = new DeviceCodeCredential({
    tenantId: o.tenant,
    clientId: o.clientId,
    authorityHost: o.authorityHost,
    // Instance discovery knows only Microsoft's clouds.
    disableInstanceDiscovery: simulator,
    userPromptCallback: async (info) => {
      io.out(info.message);
      if (o.simApproveAs) await approveInSimulator(o.authorityHost, info.userCode, o.simApproveAs);
      await io.onDeviceCode?.(info);
    },
  });
  const http = createGraphHttp({ baseUrl: o.graphBaseUrl, credential, scopes: ONBOARDING_ADMIN_SCOPES.map((s) => `${graphResource}/${s.name}`) });
  const graph = io.graph ?? http;

  try {
    const result = await onboard(o, {
      graph,
      out: io.out,
      grantedScopes: io.graph ? undefined : async () => scopesOf(await http.token()),
      storeSecret: (secret, appId) => storeSecret(path.resolve(cwd, o.secretOut), secret, appId),
      certificate,
    });
    return { code: 0, result };
  } catch (err) {
    if (err instanceof OnboardingError) {
      io.err(`Onboarding stopped: ${err.message}`);
      return { code: 1 };
    }
    const e = err as Error & { errorResponse?: { errorDescription?: string } };
    if (e.name === 'AuthenticationError' || e.name === 'CredentialUnavailableError') {
      io.err(`Sign-in failed: ${e.errorResponse?.errorDescription ?? e.message.split('\n')[0]}`);
      return { code: 1 };
    }
    throw err;
  }
}

/** The token's delegated scopes, for an early "you did not consent to X"; undefined if unreadable. */
function scopesOf(token: string): string[] | undefined {
  try {
    const scp = decodeJwt(token).scp;
    return typeof scp === 'string' ? scp.split(' ') : undefined;
  } catch {
    return undefined;
  }
}

/** A new secret in an env file only the current user can read; nothing else ever sees it. */
async function storeSecret(file: string, secret: string, appId: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `# Client secret of app ${appId}, written by npm run onboard. Move it to Key Vault and delete this file.\nBOT_APP_SECRET=${secret}\n`, {
    mode: 0o600,
  });
  // writeFile keeps an existing file's mode.
  await chmod(file, 0o600);
  return file;
}

async function approveInSimulator(authorityHost: string, userCode: string, user: string): Promise<void> {
  const res = await fetch(`${authorityHost}/_sim/entra/device/approve`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userCode, user }),
  });
  if (!res.ok) throw new Error(`The simulator refused the sign-in as ${user}: ${await res.text()}`);
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
  }).then(
    (r) => process.exit(r.code),
    (err: unknown) => {
      process.stderr.write(`onboard failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
