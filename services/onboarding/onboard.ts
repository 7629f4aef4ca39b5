/**
 * `npm run onboard`, the use case: read what the tenant has, plan the writes, print them, and (unless
 * --dry-run) apply them; then say what is left for a human. Talks to Graph only through the port.
 */
import { randomUUID } from 'node:crypto';
import { GraphFailure, OnboardingError, odata, type GraphCall, type OnboardingGraph } from './graph-port';
import type { OnboardOptions } from './options';
import { ONBOARDING_ADMIN_SCOPES } from './permissions';
import {
  CUSTOM_EXTENSION_RULE_ID,
  DECISION_ENDPOINT_PATH,
  planOnboarding,
  resolveCall,
  type AppRegistration,
  type Change,
  type CurrentState,
  type CustomExtension,
  type DesiredCredential,
  type RolePolicy,
} from './plan';

export interface OnboardDeps {
  graph: OnboardingGraph;
  /** Where the report goes, one line at a time. */
  out: (line: string) => void;
  /** The delegated scopes the sign-in granted, when they can be read from the token. */
  grantedScopes?: () => Promise<string[] | undefined>;
  /** Stores a new client secret (the file is written 0600); returns where it went. Never logs it. */
  storeSecret: (secretText: string, appId: string) => Promise<string>;
  /** The certificate for --certificate, already parsed. */
  certificate?: { base64Der: string; thumbprint: string; notAfter: string };
  now?: () => Date;
  newGuid?: () => string;
}

export interface OnboardResult {
  changes: Change[];
  /** Writes sent to Graph (0 on --dry-run, and on a run that found nothing to change). */
  writes: number;
  appId: string | undefined;
  secretFile?: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Why Graph said 403, by the API that said it, and how to fix it. */
function permissionHint(path: string): string {
  if (/\/(applications|servicePrincipals)/i.test(path)) {
    return 'Sign in as an Application Administrator (or Cloud Application Administrator) and consent to Application.ReadWrite.All.';
  }
  if (/customExtensions/i.test(path)) {
    return 'Sign in as a Privileged Role Administrator and consent to PrivilegedAccess-CustomExt.ReadWrite.All; the tenant needs an Entra ID Governance licence for PIM custom extensions.';
  }
  if (/roleManagementPolic/i.test(path)) return 'Sign in as a Privileged Role Administrator and consent to RoleManagementPolicy.ReadWrite.Directory.';
  if (/roleDefinitions/i.test(path)) return 'Consent to RoleManagement.Read.Directory.';
  return "Check the signed-in account's roles and consented scopes.";
}

const shown = (path: string) => {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

/** A body as printed: no secrets are ever in a request body here; long values (certificates) are cut. */
function bodySummary(body: unknown): string {
  return JSON.stringify(body, (_k, v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 24)}…(${v.length} chars)` : v));
}

export async function onboard(o: OnboardOptions, deps: OnboardDeps): Promise<OnboardResult> {
  const out = deps.out;
  const now = deps.now ?? (() => new Date());
  const newGuid = deps.newGuid ?? (() => randomUUID());

  const send = async <T>(call: GraphCall, echo: boolean): Promise<T> => {
    if (echo) out(`  ${call.method} ${shown(call.path)}${call.body !== undefined ? ` ${bodySummary(call.body)}` : ''}`);
    try {
      return await deps.graph.send<T>(call);
    } catch (err) {
      if (err instanceof GraphFailure) {
        if (err.status === 401)
          throw new OnboardingError('sign-in', `Graph did not accept the sign-in (${err.code}: ${err.graphMessage}). Run the command again to sign in.`);
        if (err.status === 403)
          throw new OnboardingError(
            'permission',
            `Graph refused ${err.call.method} ${shown(err.call.path)} (403 ${err.code}: ${err.graphMessage}). ${permissionHint(err.call.path)}`,
          );
        throw new OnboardingError('graph', `Graph answered ${err.status} ${err.code} to ${err.call.method} ${shown(err.call.path)}: ${err.graphMessage}`);
      }
      throw err;
    }
  };
  const read = <T>(path: string) => send<T>({ method: 'GET', path }, o.dryRun);
  const listAll = async <T>(path: string): Promise<T[]> => {
    const items: T[] = [];
    let next: string | undefined = path;
    while (next) {
      const page: { value?: T[]; '@odata.nextLink'?: string } = await read(next);
      items.push(...(page.value ?? []));
      const link = page['@odata.nextLink'];
      next = link
        ? (() => {
            const u = new URL(link);
            return `${u.pathname}${u.search}`;
          })()
        : undefined;
    }
    return items;
  };

  // Sign in first (the first call triggers it), and say early what the sign-in lacks.
  out(o.dryRun ? `Dry run: reads only; every Graph call is listed, nothing is changed.` : `Onboarding ${o.appName} in tenant ${o.tenant}.`);
  const granted = await deps.grantedScopes?.();
  if (granted) {
    const missing = ONBOARDING_ADMIN_SCOPES.map((s) => s.name).filter((s) => !granted.includes(s));
    if (missing.length) {
      throw new OnboardingError(
        'permission',
        `The sign-in lacks ${missing.join(', ')}. Sign in again and accept the consent prompt for them (an administrator can grant them to the Microsoft Graph Command Line Tools app); the account also needs the Privileged Role Administrator role for the PIM steps.`,
      );
    }
  }

  // --- read the current state -------------------------------------------------------------------
  if (o.dryRun) out('Reading the tenant:');
  const appFilter = o.appId ? `appId eq ${odata(o.appId.toLowerCase())}` : `displayName eq ${odata(o.appName)}`;
  const apps = await listAll<AppRegistration>(`/v1.0/applications?$filter=${encodeURIComponent(appFilter)}`);
  if (o.appId && apps.length === 0)
    throw new OnboardingError(
      'not-found',
      `No app registration has the client id ${o.appId} in this tenant. Check --app-id, or leave it out to create one named '${o.appName}'.`,
    );
  if (apps.length > 1) {
    throw new OnboardingError(
      'conflict',
      `${apps.length} app registrations are named '${o.appName}' (${apps.map((a) => a.appId).join(', ')}). Pass --app-id <client id> to pick one, or --app-name to create a new one.`,
    );
  }
  const app = apps[0] ?? null;
  const sps = app ? await listAll<{ id: string }>(`/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq ${odata(app.appId)}`)}`) : [];

  const roles: Array<{ id: string; displayName: string }> = [];
  for (const r of o.roles) {
    if (GUID.test(r)) {
      try {
        roles.push(await read(`/v1.0/roleManagement/directory/roleDefinitions/${r.toLowerCase()}?$select=id,displayName`));
      } catch (err) {
        if (err instanceof OnboardingError && err.kind === 'graph' && /404/.test(err.message))
          throw new OnboardingError('not-found', `--roles: no Entra role definition has the id ${r}.`);
        throw err;
      }
    } else {
      const found = await listAll<{ id: string; displayName: string }>(
        `/v1.0/roleManagement/directory/roleDefinitions?$filter=${encodeURIComponent(`displayName eq ${odata(r)}`)}&$select=id,displayName`,
      );
      if (found.length !== 1)
        throw new OnboardingError(
          'not-found',
          `--roles: no Entra role is named '${r}'. Use the display name as the Entra admin center shows it (e.g. 'Security Operator') or the role definition id.`,
        );
      roles.push(found[0]!);
    }
  }
  const policies: RolePolicy[] = [];
  for (const role of roles) {
    const filter = `scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq ${odata(role.id)}`;
    const assignments = await listAll<{
      policyId: string;
      policy?: { id: string; rules?: Array<{ id: string; customExtensionId?: string | null; isEnabled?: boolean }> };
    }>(`/beta/policies/roleManagementPolicyAssignments?$filter=${encodeURIComponent(filter)}&$expand=${encodeURIComponent('policy($expand=rules)')}`);
    const a = assignments[0];
    if (!a)
      throw new OnboardingError(
        'not-found',
        `PIM has no policy for '${role.displayName}' at directory scope; open the role in PIM once (Entra admin center → PIM → Microsoft Entra roles → Settings) and run again.`,
      );
    const rule = a.policy?.rules?.find((x) => x.id === CUSTOM_EXTENSION_RULE_ID);
    policies.push({
      roleId: role.id,
      roleName: role.displayName,
      policyId: a.policy?.id ?? a.policyId,
      rule: rule ? { customExtensionId: rule.customExtensionId ?? null, isEnabled: !!rule.isEnabled } : null,
    });
  }
  const extensionName = o.extensionName ?? `${o.appName} decision endpoint`;
  const extensions = await listAll<CustomExtension>('/beta/identityGovernance/privilegedAccess/customExtensions');
  const extension = extensions.find((e) => e.displayName.toLowerCase() === extensionName.toLowerCase()) ?? null;

  const current: CurrentState = { app, servicePrincipalExists: sps.length > 0, extension, policies };
  const credential: DesiredCredential = deps.certificate
    ? { kind: 'certificate', displayName: `${o.appName} (npm run onboard)`, ...deps.certificate }
    : { kind: 'secret', displayName: `${o.appName} (npm run onboard)`, rotate: o.rotateSecret };
  const plan = planOnboarding(
    {
      appName: o.appName,
      host: o.host,
      extensionName,
      timeoutMs: o.timeoutMs,
      maxRetries: o.maxRetries,
      credential,
      replaceLinkedExtension: o.replaceLinkedExtension,
    },
    current,
    { newGuid, now: now() },
  );

  // --- print the plan ---------------------------------------------------------------------------
  const writes = plan.changes.filter((c) => c.call);
  out('');
  out(writes.length ? `Plan (${writes.length} change${writes.length === 1 ? '' : 's'}):` : 'Plan: nothing to change, the tenant is already onboarded.');
  for (const c of writes) out(`  ${c.action.padEnd(7)} ${c.resource}: ${c.detail}`);
  if (o.dryRun) {
    if (writes.length) {
      out('');
      out('Graph calls it would make:');
      for (const c of writes) out(`  ${c.call!.method} ${shown(c.call!.path)} ${bodySummary(c.call!.body)}`);
    }
    out('');
    out('Dry run: nothing was changed.');
    printSummary(out, plan.changes);
    return { changes: plan.changes, writes: 0, appId: app?.appId };
  }

  // --- apply ------------------------------------------------------------------------------------
  let ids = app ? { appId: app.appId, appObjectId: app.id } : undefined;
  let secretFile: string | undefined;
  let sent = 0;
  if (writes.length) {
    out('');
    out('Applying:');
  }
  for (const c of writes) {
    const call = ids ? resolveCall(c.call!, ids) : c.call!;
    const res = await send<{ appId?: unknown; id?: unknown; secretText?: unknown }>(call, false);
    sent++;
    if (c.captures === 'app') ids = { appId: String(res.appId), appObjectId: String(res.id) };
    if (c.captures === 'secret') {
      // The secret goes to the file and nowhere else: not to the output, not to logs.
      secretFile = await deps.storeSecret(String(res.secretText), ids!.appId);
    }
    out(`  done    ${c.resource}${c.captures === 'app' ? ` (client id ${ids!.appId})` : ''}`);
  }
  const appId = ids?.appId;
  printSummary(out, plan.changes);
  if (appId) printNextSteps(out, o, appId, plan.endpointIdentifierUri.replace('{appId}', appId), secretFile, !!deps.certificate);
  return { changes: plan.changes, writes: sent, appId, secretFile };
}

function printSummary(out: (l: string) => void, changes: Change[]): void {
  out('');
  out('Summary:');
  const width = Math.max(...changes.map((c) => c.resource.length));
  for (const c of changes) out(`  ${c.resource.padEnd(width)}  ${c.action.padEnd(9)} ${c.detail}`);
}

function printNextSteps(
  out: (l: string) => void,
  o: OnboardOptions,
  appId: string,
  endpointUri: string,
  secretFile: string | undefined,
  certificate: boolean,
): void {
  // The authority that signed the admin in: Entra (or its sovereign cloud), or the simulator.
  const consentHost = o.authorityHost;
  out('');
  out('What remains for a human:');
  out(`  1. Grant admin consent to the bot's permissions (docs/permissions.md lists each and why):`);
  out(`     ${consentHost}/${o.tenant}/adminconsent?client_id=${appId}`);
  out(`  2. Create the Azure Bot resource (single tenant, Microsoft App ID ${appId}), with the Teams channel,`);
  out(`     messaging endpoint ${o.host}/api/messages and an OAuth connection 'pim-sso' (Azure AD v2, token`);
  out(`     exchange URL api://botid-${appId}); or deploy the Bicep template in deploy/ with these values.`);
  out("  3. Set the bot's environment:");
  out(`     TENANT_ID=${o.tenant}`);
  out(`     BOT_APP_ID=${appId}`);
  if (certificate) out('     BOT_CERTIFICATE_PATH=<the PEM with the private key of the certificate you uploaded>');
  else if (secretFile)
    out(
      `     BOT_APP_SECRET=<in ${secretFile}, readable by you only; store it in Key Vault, e.g. az keyvault secret set --vault-name <vault> --name bot-app-secret --file ${secretFile}, then delete the file>`,
    );
  else out('     BOT_APP_SECRET=<the secret stored by the first run; --rotate-secret issues a new one>');
  out(`     PUBLIC_BASE_URL=${o.host}`);
  out(`     PIM_ENDPOINT_APP_ID_URI=${endpointUri}`);
  out(`     PIM_ALLOWED_CALLER_APP_IDS=<PIM's app id: the decision endpoint logs the azp of a refused call; pin that value>`);
  out(`  4. Activate one of the roles in PIM and check that ${o.host}${DECISION_ENDPOINT_PATH} was called.`);
}
