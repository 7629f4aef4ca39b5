/**
 * Onboarding's plan: from what the tenant holds now and what the bot needs, the Graph writes that close
 * the gap, in the order Entra accepts them. Pure: no I/O, ids and time come in.
 */
import { OnboardingError, type GraphCall } from './graph-port';
import { requiredResourceAccess } from './permissions';

/** Teams clients that may get SSO tokens for the bot without a consent prompt. */
export const TEAMS_CLIENTS = [
  { appId: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', name: 'Teams desktop and mobile' },
  { appId: '5e3ce6c0-2b1f-4285-8d4b-75ee78787346', name: 'Teams web' },
] as const;
/** The Azure Bot's OAuth connection (Teams SSO sign-in fallback) redirects here. */
export const BOT_FRAMEWORK_REDIRECT_URI = 'https://token.botframework.com/.auth/web/redirect';
export const SSO_SCOPE_VALUE = 'access_as_user';
export const DECISION_ENDPOINT_PATH = '/api/pim/evaluate';
/** The pre-approval custom extension rule every PIM role policy carries (disabled until linked). */
export const CUSTOM_EXTENSION_RULE_ID = 'CustomExtension_PreApproval_EndUser_Assignment';
/** Placeholders for ids Entra assigns when the registration is created; filled in during apply. */
export const APP_ID = '{appId}';
export const APP_OBJECT_ID = '{appObjectId}';
const SECRET_LIFETIME_DAYS = 180;

export interface AppRegistration {
  id: string;
  appId: string;
  displayName: string;
  identifierUris?: string[];
  api?: AppApi | null;
  requiredResourceAccess?: Array<{ resourceAppId: string; resourceAccess: Array<{ id: string; type: string }> }>;
  web?: { redirectUris?: string[] } | null;
  passwordCredentials?: Array<{ keyId: string; displayName: string | null; endDateTime: string }>;
  keyCredentials?: Array<{ keyId: string; displayName: string | null; customKeyIdentifier: string | null; endDateTime: string }>;
}

/** The application's `api` as Graph returns it: the parts onboarding reads and writes; the rest is kept as it is. */
export interface AppApi {
  requestedAccessTokenVersion?: number | null;
  oauth2PermissionScopes?: PermissionScope[];
  preAuthorizedApplications?: PreAuthorizedApplication[];
  [key: string]: unknown;
}

export interface PermissionScope {
  id: string;
  value?: string;
  isEnabled?: boolean;
  [key: string]: unknown;
}

export interface PreAuthorizedApplication {
  appId: string;
  delegatedPermissionIds?: string[];
  [key: string]: unknown;
}

export interface CustomExtension {
  id: string;
  displayName: string;
  description?: string | null;
  endpointConfiguration?: { targetUrl?: string } | null;
  authenticationConfiguration?: { '@odata.type'?: string; resourceId?: string } | null;
  clientConfiguration?: { timeoutInMilliseconds?: number | null; maximumRetries?: number | null } | null;
  resourceType?: string | null;
}

export interface RolePolicy {
  roleId: string;
  roleName: string;
  policyId: string;
  rule: { customExtensionId: string | null; isEnabled: boolean } | null;
}

export interface CurrentState {
  app: AppRegistration | null;
  servicePrincipalExists: boolean;
  extension: CustomExtension | null;
  policies: RolePolicy[];
}

export type DesiredCredential =
  | { kind: 'secret'; displayName: string; rotate: boolean }
  | { kind: 'certificate'; displayName: string; base64Der: string; thumbprint: string; notAfter: string };

export interface Desired {
  appName: string;
  /** https://host, no trailing slash. */
  host: string;
  extensionName: string;
  timeoutMs: number;
  maxRetries: number;
  credential: DesiredCredential;
  replaceLinkedExtension: boolean;
}

export type Action = 'create' | 'update' | 'unchanged';

export interface Change {
  resource: string;
  action: Action;
  detail: string;
  call?: GraphCall;
  /** What apply keeps from the answer: the new registration's ids, or the new secret (for the file only). */
  captures?: 'app' | 'secret';
}

export interface Plan {
  changes: Change[];
  extensionId: string;
  ssoIdentifierUri: string;
  endpointIdentifierUri: string;
}

export function ssoIdentifierUri(appId: string): string {
  return `api://botid-${appId}`;
}

/** The decision endpoint's Application ID URI: its host, ending in the client id (PIM requires both). */
export function endpointIdentifierUri(host: string, appId: string): string {
  return `api://${new URL(host).hostname}/${appId}`;
}

/** Key-order-insensitive JSON, for "would this write change anything". */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function desiredApi(current: AppApi | null | undefined, newGuid: () => string): { api: AppApi; scopeId: string } {
  const api: AppApi = structuredClone(current ?? {});
  api.requestedAccessTokenVersion = 2;
  const scopes: PermissionScope[] = Array.isArray(api.oauth2PermissionScopes) ? api.oauth2PermissionScopes : [];
  let scope = scopes.find((s) => s.value === SSO_SCOPE_VALUE);
  if (scope) {
    scope.isEnabled = true;
  } else {
    scope = {
      id: newGuid(),
      value: SSO_SCOPE_VALUE,
      type: 'User',
      isEnabled: true,
      adminConsentDisplayName: 'Use the PIM approvals bot as the signed-in user',
      adminConsentDescription: 'Lets Teams sign the user in to the PIM approvals bot (SSO), so the bot can act in PIM on their behalf.',
      userConsentDisplayName: 'Use the PIM approvals bot as you',
      userConsentDescription: 'Lets Teams sign you in to the PIM approvals bot, so it can record your PIM decisions as you.',
    };
    scopes.push(scope);
  }
  api.oauth2PermissionScopes = scopes;
  const pre: PreAuthorizedApplication[] = Array.isArray(api.preAuthorizedApplications) ? api.preAuthorizedApplications : [];
  for (const client of TEAMS_CLIENTS) {
    const entry = pre.find((p) => String(p.appId).toLowerCase() === client.appId);
    if (!entry) pre.push({ appId: client.appId, delegatedPermissionIds: [scope.id] });
    else if (!(entry.delegatedPermissionIds ?? []).includes(scope.id)) entry.delegatedPermissionIds = [...(entry.delegatedPermissionIds ?? []), scope.id];
  }
  api.preAuthorizedApplications = pre;
  return { api, scopeId: scope.id };
}

function desiredIdentifierUris(current: string[], sso: string, endpoint: string, appId: string): string[] {
  // A decision endpoint URI of an earlier --host (api://<old host>/<appId>) is replaced, not kept.
  const stale = new RegExp(`^api://[^/]+/${appId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'i');
  const kept = current.filter((u) => u.toLowerCase() === endpoint.toLowerCase() || !stale.test(u));
  for (const u of [sso, endpoint]) if (!kept.some((k) => k.toLowerCase() === u.toLowerCase())) kept.push(u);
  return kept;
}

function desiredRequiredResourceAccess(current: AppRegistration['requiredResourceAccess']): NonNullable<AppRegistration['requiredResourceAccess']> {
  const out = structuredClone(current ?? []);
  for (const want of requiredResourceAccess()) {
    const have = out.find((r) => r.resourceAppId.toLowerCase() === want.resourceAppId);
    if (!have) {
      out.push(structuredClone(want));
      continue;
    }
    for (const a of want.resourceAccess) {
      if (!have.resourceAccess.some((x) => x.id.toLowerCase() === a.id && x.type === a.type)) have.resourceAccess.push({ ...a });
    }
  }
  return out;
}

const sameSet = (a: string[], b: string[]) => canonical([...a].map((x) => x.toLowerCase()).sort()) === canonical([...b].map((x) => x.toLowerCase()).sort());

/** The PIM custom extension onboarding writes (the body of its POST or PATCH). */
export type DesiredExtension = {
  '@odata.type': string;
  displayName: string;
  description: string;
  endpointConfiguration: { '@odata.type': string; targetUrl: string };
  authenticationConfiguration: { '@odata.type': string; resourceId: string };
  clientConfiguration: { '@odata.type': string; timeoutInMilliseconds: number; maximumRetries: number };
  resourceType: string;
  customAttributes: unknown[];
};

export function desiredExtension(d: Desired, resourceId: string): DesiredExtension {
  return {
    '@odata.type': '#microsoft.graph.roleManagementCustomCalloutExtension',
    displayName: d.extensionName,
    description: `Pre-approval checks by ${d.appName} (tickets, on-call, risk); requests it cannot clear go to human approval in Teams.`,
    endpointConfiguration: { '@odata.type': '#microsoft.graph.httpRequestEndpoint', targetUrl: `${d.host}${DECISION_ENDPOINT_PATH}` },
    authenticationConfiguration: { '@odata.type': '#microsoft.graph.azureAdTokenAuthentication', resourceId },
    clientConfiguration: {
      '@odata.type': '#microsoft.graph.customExtensionClientConfiguration',
      timeoutInMilliseconds: d.timeoutMs,
      maximumRetries: d.maxRetries,
    },
    // Learn documents `entraGroups` for PIM for Groups; `entraRoles` is the Entra roles value tooling uses.
    resourceType: 'entraRoles',
    customAttributes: [],
  };
}

function extensionMatches(cur: CustomExtension, want: DesiredExtension): boolean {
  return (
    cur.displayName === want.displayName &&
    (cur.description ?? null) === want.description &&
    cur.endpointConfiguration?.targetUrl === want.endpointConfiguration.targetUrl &&
    cur.authenticationConfiguration?.['@odata.type'] === want.authenticationConfiguration['@odata.type'] &&
    cur.authenticationConfiguration?.resourceId === want.authenticationConfiguration.resourceId &&
    cur.clientConfiguration?.timeoutInMilliseconds === want.clientConfiguration.timeoutInMilliseconds &&
    cur.clientConfiguration?.maximumRetries === want.clientConfiguration.maximumRetries &&
    (cur.resourceType ?? null) === want.resourceType
  );
}

export function planOnboarding(d: Desired, cur: CurrentState, ids: { newGuid: () => string; now: Date }): Plan {
  const changes: Change[] = [];
  const app = cur.app;
  const appId = app?.appId ?? APP_ID;
  const objectId = app?.id ?? APP_OBJECT_ID;
  const appPath = `/v1.0/applications/${objectId}`;
  const sso = ssoIdentifierUri(appId);
  const endpoint = endpointIdentifierUri(d.host, appId);

  // 1. The registration. Entra takes `api://host/<appId>` only once requestedAccessTokenVersion is 2, and
  // the app id exists only after creation: create with the API settings, then set the identifier URIs.
  const { api } = desiredApi(app?.api, ids.newGuid);
  const rra = desiredRequiredResourceAccess(app?.requiredResourceAccess);
  const redirects = [...new Set([...(app?.web?.redirectUris ?? []), BOT_FRAMEWORK_REDIRECT_URI])];
  if (!app) {
    changes.push({
      resource: 'app registration',
      action: 'create',
      detail: `${d.appName}: single tenant, v2 access tokens, scope ${SSO_SCOPE_VALUE}, Teams clients pre-authorised, ${rra.reduce((n, r) => n + r.resourceAccess.length, 0)} API permissions`,
      call: {
        method: 'POST',
        path: '/v1.0/applications',
        body: { displayName: d.appName, signInAudience: 'AzureADMyOrg', api, requiredResourceAccess: rra, web: { redirectUris: redirects } },
      },
      captures: 'app',
    });
    changes.push({
      resource: 'Application ID URIs',
      action: 'create',
      detail: `${sso} (Teams SSO), ${endpoint} (decision endpoint)`,
      call: { method: 'PATCH', path: appPath, body: { identifierUris: [sso, endpoint] } },
    });
  } else {
    const apiChanged = canonical(app.api ?? {}) !== canonical(api);
    const uris = desiredIdentifierUris(app.identifierUris ?? [], sso, endpoint, app.appId);
    const urisChanged = !sameSet(uris, app.identifierUris ?? []);
    const rraChanged = canonical(rra) !== canonical(app.requiredResourceAccess ?? []);
    const webChanged = !sameSet(redirects, app.web?.redirectUris ?? []);
    if (apiChanged) {
      changes.push({
        resource: 'app registration',
        action: 'update',
        detail: `API settings: v2 access tokens, scope ${SSO_SCOPE_VALUE}, Teams clients pre-authorised`,
        call: { method: 'PATCH', path: appPath, body: { api } },
      });
    }
    if (rraChanged || webChanged) {
      changes.push({
        resource: 'app registration',
        action: 'update',
        detail: [rraChanged ? 'required API permissions' : '', webChanged ? 'Bot Framework redirect URI' : ''].filter(Boolean).join(', '),
        call: {
          method: 'PATCH',
          path: appPath,
          body: { ...(rraChanged ? { requiredResourceAccess: rra } : {}), ...(webChanged ? { web: { redirectUris: redirects } } : {}) },
        },
      });
    }
    if (!apiChanged && !rraChanged && !webChanged)
      changes.push({ resource: 'app registration', action: 'unchanged', detail: `${app.displayName} (${app.appId})` });
    changes.push(
      urisChanged
        ? {
            resource: 'Application ID URIs',
            action: 'update',
            detail: uris.join(', '),
            call: { method: 'PATCH', path: appPath, body: { identifierUris: uris } },
          }
        : { resource: 'Application ID URIs', action: 'unchanged', detail: `${sso}, ${endpoint}` },
    );
  }

  // 2. The service principal: PIM and admin consent need the app to exist in the tenant.
  changes.push(
    app && cur.servicePrincipalExists
      ? { resource: 'service principal', action: 'unchanged', detail: `for ${app.appId}` }
      : {
          resource: 'service principal',
          action: 'create',
          detail: 'the app in this tenant (for consent and tokens)',
          call: { method: 'POST', path: '/v1.0/servicePrincipals', body: { appId } },
        },
  );

  // 3. The bot's credential: a secret only when none of ours is valid (or on --rotate-secret).
  const c = d.credential;
  if (c.kind === 'secret') {
    const mine = (app?.passwordCredentials ?? []).find((p) => p.displayName === c.displayName && Date.parse(p.endDateTime) > ids.now.getTime());
    if (mine && !c.rotate) {
      changes.push({
        resource: 'client secret',
        action: 'unchanged',
        detail: `'${c.displayName}' valid until ${mine.endDateTime.slice(0, 10)} (use --rotate-secret for a new one)`,
      });
    } else {
      const end = new Date(ids.now.getTime() + SECRET_LIFETIME_DAYS * 24 * 3600_000).toISOString();
      changes.push({
        resource: 'client secret',
        action: 'create',
        detail: `'${c.displayName}', valid ${SECRET_LIFETIME_DAYS} days${mine ? ' (rotation: the previous one stays valid until you remove it)' : ''}`,
        call: { method: 'POST', path: `${appPath}/addPassword`, body: { passwordCredential: { displayName: c.displayName, endDateTime: end } } },
        captures: 'secret',
      });
    }
  } else {
    const keys = app?.keyCredentials ?? [];
    if (keys.some((k) => k.customKeyIdentifier === c.thumbprint)) {
      changes.push({ resource: 'certificate', action: 'unchanged', detail: `thumbprint ${c.thumbprint}` });
    } else if (keys.length > 0) {
      throw new OnboardingError(
        'conflict',
        `The app registration already has ${keys.length} other certificate(s). Graph replaces the whole keyCredentials list and does not return existing keys, so the command will not overwrite them: upload the certificate in the Entra admin center (Certificates & secrets), or remove the old ones first.`,
      );
    } else {
      changes.push({
        resource: 'certificate',
        action: 'create',
        detail: `thumbprint ${c.thumbprint}, valid until ${c.notAfter.slice(0, 10)}`,
        call: {
          method: 'PATCH',
          path: appPath,
          body: { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: c.base64Der, displayName: c.displayName }] },
        },
      });
    }
  }

  // 4. The PIM custom extension. Its id is chosen here, so the policy rules can name it before it exists.
  const wantExt = desiredExtension(d, endpoint);
  let extensionId: string;
  if (!cur.extension) {
    extensionId = ids.newGuid();
    changes.push({
      resource: 'PIM custom extension',
      action: 'create',
      detail: `${d.extensionName} → ${wantExt.endpointConfiguration.targetUrl}, timeout ${d.timeoutMs} ms, ${d.maxRetries} retries`,
      call: { method: 'POST', path: '/beta/identityGovernance/privilegedAccess/customExtensions', body: { id: extensionId, ...wantExt } },
    });
  } else {
    extensionId = cur.extension.id;
    changes.push(
      extensionMatches(cur.extension, wantExt)
        ? { resource: 'PIM custom extension', action: 'unchanged', detail: `${d.extensionName} (${extensionId})` }
        : {
            resource: 'PIM custom extension',
            action: 'update',
            detail: `${d.extensionName} → ${wantExt.endpointConfiguration.targetUrl}, timeout ${d.timeoutMs} ms, ${d.maxRetries} retries`,
            call: { method: 'PATCH', path: `/beta/identityGovernance/privilegedAccess/customExtensions/${extensionId}`, body: wantExt },
          },
    );
  }

  // 5. Each chosen role's policy calls it before activation.
  for (const p of cur.policies) {
    const r = p.rule;
    if (r?.isEnabled && r.customExtensionId?.toLowerCase() === extensionId.toLowerCase()) {
      changes.push({ resource: `role policy: ${p.roleName}`, action: 'unchanged', detail: 'pre-approval custom extension linked' });
      continue;
    }
    if (r?.isEnabled && r.customExtensionId && !d.replaceLinkedExtension) {
      throw new OnboardingError(
        'conflict',
        `The PIM policy of '${p.roleName}' already calls another custom extension (${r.customExtensionId}). Unlink it in PIM role settings, or pass --replace-linked-extension to point it at the bot.`,
      );
    }
    changes.push({
      resource: `role policy: ${p.roleName}`,
      action: 'update',
      detail: 'require the pre-approval custom extension to activate',
      call: {
        method: 'PATCH',
        path: `/beta/policies/roleManagementPolicies/${p.policyId}/rules/${CUSTOM_EXTENSION_RULE_ID}`,
        body: {
          '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyCustomExtensionRule',
          id: CUSTOM_EXTENSION_RULE_ID,
          customExtensionId: extensionId,
          isEnabled: true,
          target: { caller: 'EndUser', operations: ['All'], level: 'Assignment', inheritableSettings: [], enforcedSettings: [] },
        },
      },
    });
  }

  return { changes, extensionId, ssoIdentifierUri: sso, endpointIdentifierUri: endpoint };
}

/** Replaces the creation-time placeholders in a call once the registration exists. */
export function resolveCall(call: GraphCall, ids: { appId: string; appObjectId: string }): GraphCall {
  const sub = (s: string) => s.split(APP_ID).join(ids.appId).split(APP_OBJECT_ID).join(ids.appObjectId);
  return { ...call, path: sub(call.path), body: call.body === undefined ? undefined : JSON.parse(sub(JSON.stringify(call.body))) };
}
