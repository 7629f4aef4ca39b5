/**
 * What `npm run onboard` writes, as Microsoft Graph serves it: app registrations (`/applications`,
 * `addPassword`), service principals, PIM custom extensions
 * (`/identityGovernance/privilegedAccess/customExtensions`) and the custom extension rule of a role's PIM
 * policy (`PATCH /policies/roleManagementPolicies/{id}/rules/{ruleId}`).
 *
 * Delegated callers need the scopes Graph documents for each call (403 `Authorization_RequestDenied`
 * otherwise). Entra's identifier URI rules that trip people up are enforced: an `api://host/<appId>`
 * URI is refused until `api.requestedAccessTokenVersion` is 2, and every `api://` URI must carry the
 * app id or the tenant id.
 */
import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { CustomExtensionConfig, SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SimState } from './state';
import { applySelect, contextUrl, graphCaller, graphError, isResponse, page, parseFilter, type GraphCaller } from './graph-common';
import { policyIdOf, policyTargets } from './graph-directory';

export const CUSTOM_EXTENSION_RULE_ID = 'CustomExtension_PreApproval_EndUser_Assignment';

type Json = Record<string, unknown>;

/** An application's `api`: the parts Entra's checks read, typed as Graph documents them (bodies are merged in unchecked). */
interface AppApiJson {
  requestedAccessTokenVersion?: unknown;
  oauth2PermissionScopes?: Array<{ id?: unknown; value?: unknown }>;
  preAuthorizedApplications?: Array<{ delegatedPermissionIds?: unknown[] }>;
  [key: string]: unknown;
}

/** A PIM custom extension as posted and stored; `extensionProblem` checks the fields PIM needs before one is stored. */
interface CustomExtensionJson {
  '@odata.type'?: unknown;
  id?: string;
  displayName?: unknown;
  description?: unknown;
  endpointConfiguration?: { '@odata.type'?: unknown; targetUrl?: unknown } | null;
  authenticationConfiguration?: { '@odata.type'?: unknown; resourceId?: unknown } | null;
  clientConfiguration?: { '@odata.type'?: unknown; timeoutInMilliseconds?: number | null; maximumRetries?: number | null } | null;
  resourceType?: unknown;
  customAttributes?: unknown;
  [key: string]: unknown;
}

const TOKEN_AUTHENTICATIONS: readonly unknown[] = ['#microsoft.graph.azureAdTokenAuthentication', '#microsoft.graph.azureAdPopTokenAuthentication'];

interface StoredPassword {
  keyId: string;
  displayName: string | null;
  startDateTime: string;
  endDateTime: string;
  hint: string;
  /** Kept so the simulator's Entra could accept it; never returned after addPassword. */
  secretHash: string;
}

interface StoredApp {
  id: string;
  appId: string;
  displayName: string;
  createdDateTime: string;
  signInAudience: string;
  identifierUris: string[];
  api: AppApiJson;
  requiredResourceAccess: Json[];
  web: Json;
  keyCredentials: Json[];
  passwordCredentials: StoredPassword[];
}

interface DirectoryApps {
  apps: Map<string, StoredApp>;
  servicePrincipals: Map<string, { id: string; appId: string; displayName: string }>;
  extensions: Map<string, CustomExtensionJson & { id: string }>;
  /** Custom extension rule per policy id. */
  rules: Map<string, { customExtensionId: string | null; isEnabled: boolean }>;
}

const byState = new WeakMap<SimState, DirectoryApps>();
export function directoryApps(state: SimState): DirectoryApps {
  let d = byState.get(state);
  if (!d) {
    d = { apps: new Map(), servicePrincipals: new Map(), extensions: new Map(), rules: new Map() };
    byState.set(state, d);
  }
  return d;
}

const endUserTarget = () => ({ caller: 'EndUser', operations: ['All'], level: 'Assignment', inheritableSettings: [], enforcedSettings: [] });

/** The pre-approval custom extension rule of a policy, as Graph lists it among the policy's rules. */
export function customExtensionRule(ctx: SimContext, policyId: string): Json {
  const r = directoryApps(ctx.state).rules.get(policyId);
  return {
    '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyCustomExtensionRule',
    id: CUSTOM_EXTENSION_RULE_ID,
    displayName: null,
    customAttributes: [],
    customExtensionId: r?.customExtensionId ?? null,
    isEnabled: r?.isEnabled ?? false,
    target: endUserTarget(),
  };
}

/**
 * The custom extension PIM calls for a role's activations: the one its policy links with an enabled
 * rule. The simulator's PIM uses it when no extension was configured by hand.
 */
export function linkedCustomExtension(ctx: SimContext, roleDefinitionId: string): CustomExtensionConfig | undefined {
  // Most runs link nothing: skip hashing every policy id on each activation.
  if (directoryApps(ctx.state).rules.size === 0) return undefined;
  const t = policyTargets(ctx).find((x) => x.scopeType === 'DirectoryRole' && x.roleDefinitionId.toLowerCase() === roleDefinitionId.toLowerCase());
  if (!t) return undefined;
  const d = directoryApps(ctx.state);
  const rule = d.rules.get(policyIdOf(ctx, t));
  const ext = rule?.isEnabled && rule.customExtensionId ? d.extensions.get(rule.customExtensionId) : undefined;
  if (!ext) return undefined;
  // A stored extension passed extensionProblem: both are non-empty strings.
  return {
    targetUrl: ext.endpointConfiguration!.targetUrl as string,
    resourceId: ext.authenticationConfiguration!.resourceId as string,
    timeoutMs: ext.clientConfiguration?.timeoutInMilliseconds ?? undefined,
    maximumRetries: ext.clientConfiguration?.maximumRetries ?? undefined,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerGraphApplications(router: Router, ctx: SimContext): void {
  const d = directoryApps(ctx.state);
  type H = (req: SimRequest, p: Record<string, string>, caller: GraphCaller) => Promise<SimResponse> | SimResponse;
  const on = (method: string, path: string, h: H, versions = ['v1.0', 'beta']) => {
    for (const v of versions) {
      router.add(method, `/${v}${path}`, async (req, p) => {
        const caller = await graphCaller(ctx, req);
        if (isResponse(caller)) return caller;
        return h(req, p, caller);
      });
    }
  };
  /** Graph's answer when the token lacks the permission (or the user the directory role). */
  const denied = (req: SimRequest, needs: string) =>
    graphError(req, 403, 'Authorization_RequestDenied', `Insufficient privileges to complete the operation. This call needs ${needs}.`);
  const has = (caller: GraphCaller, ...any: string[]) => (caller.kind === 'user' ? caller.scopes : caller.roles).some((s) => any.includes(s));
  const canReadApps = (c: GraphCaller) => has(c, 'Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All');
  const canWriteApps = (c: GraphCaller) => has(c, 'Application.ReadWrite.All');
  const badBody = (req: SimRequest) => graphError(req, 400, 'BadRequest', 'The request body must be a JSON object.');

  // --- applications -------------------------------------------------------------------------------
  const view = (a: StoredApp): Json => ({
    id: a.id,
    appId: a.appId,
    displayName: a.displayName,
    createdDateTime: a.createdDateTime,
    signInAudience: a.signInAudience,
    identifierUris: [...a.identifierUris],
    api: structuredClone(a.api),
    requiredResourceAccess: structuredClone(a.requiredResourceAccess),
    web: structuredClone(a.web),
    keyCredentials: a.keyCredentials.map((k) => ({ ...k, key: null })),
    passwordCredentials: a.passwordCredentials.map((p) => ({
      customKeyIdentifier: null,
      displayName: p.displayName,
      endDateTime: p.endDateTime,
      hint: p.hint,
      keyId: p.keyId,
      secretText: null,
      startDateTime: p.startDateTime,
    })),
  });

  /** Entra's checks on the resulting registration; a message for the first problem, or undefined. */
  const problem = (a: StoredApp): { code: string; message: string } | undefined => {
    const v = a.api.requestedAccessTokenVersion;
    if (v !== null && v !== undefined && v !== 1 && v !== 2)
      return { code: 'Request_BadRequest', message: 'api.requestedAccessTokenVersion must be 1, 2 or null.' };
    for (const uri of a.identifierUris) {
      if (typeof uri !== 'string') return { code: 'Request_BadRequest', message: 'identifierUris must be strings.' };
      if (uri.startsWith('https://')) {
        return {
          code: 'HostNameNotOnVerifiedDomain',
          message: `Values of identifierUris property must use a verified domain of the organization or its subdomain: '${uri}'`,
        };
      }
      const m = /^api:\/\/([^/]+)(?:\/(.+))?$/.exec(uri);
      if (!m) return { code: 'Request_BadRequest', message: `Invalid value specified for property 'identifierUris' of resource 'Application': '${uri}'.` };
      const [, host, rest] = m;
      const carriesId = [host, rest].some(
        (x) =>
          x &&
          (x.toLowerCase() === a.appId.toLowerCase() || x.toLowerCase() === ctx.tenantId.toLowerCase() || x.toLowerCase() === `botid-${a.appId.toLowerCase()}`),
      );
      if (!carriesId) {
        return {
          code: 'Request_BadRequest',
          message: `The identifier URI '${uri}' must contain the application id or the tenant id (api://<string>/<appId>, api://<tenantId>/<string>).`,
        };
      }
      // Only api://<appId> (and the Teams SSO form api://botid-<appId>) work with v1 tokens.
      const simple = !rest && (host!.toLowerCase() === a.appId.toLowerCase() || host!.toLowerCase() === `botid-${a.appId.toLowerCase()}`);
      if (!simple && v !== 2) {
        return {
          code: 'Request_BadRequest',
          message: `The identifier URI '${uri}' is only allowed when api.requestedAccessTokenVersion is 2 (currently ${v ?? 'null'}). Set requestedAccessTokenVersion to 2 first.`,
        };
      }
      const other = [...d.apps.values()].find((x) => x.id !== a.id && x.identifierUris.some((u) => u.toLowerCase() === uri.toLowerCase()));
      if (other) return { code: 'Request_BadRequest', message: `Another object with the same value for property identifierUris already exists: '${uri}'.` };
    }
    const scopeIds = new Set((a.api.oauth2PermissionScopes ?? []).map((s) => String(s.id)));
    for (const s of a.api.oauth2PermissionScopes ?? []) {
      if (!GUID.test(String(s.id)) || typeof s.value !== 'string' || !s.value)
        return { code: 'Request_BadRequest', message: 'Every api.oauth2PermissionScopes entry needs a GUID id and a value.' };
    }
    for (const pre of a.api.preAuthorizedApplications ?? []) {
      for (const pid of pre.delegatedPermissionIds ?? []) {
        if (!scopeIds.has(String(pid))) {
          return {
            code: 'Request_BadRequest',
            message: `Property api.preAuthorizedApplications references a permission id '${pid}' that the application does not expose in api.oauth2PermissionScopes.`,
          };
        }
      }
    }
    return undefined;
  };

  const findApp = (id: string) => d.apps.get(id.toLowerCase());

  on('GET', '/applications', (req, _p, caller) => {
    if (!canReadApps(caller)) return denied(req, 'Application.Read.All');
    const raw = req.query.get('$filter');
    // identifierUris/any(x:x eq 'api://...') besides the simple `eq` clauses.
    const anyUri = raw ? /^identifierUris\/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)$/i.exec(raw.trim()) : null;
    let items = [...d.apps.values()].map(view);
    if (anyUri) {
      const want = anyUri[2]!.replace(/''/g, "'").toLowerCase();
      items = items.filter((a) => (a.identifierUris as string[]).some((u) => u.toLowerCase() === want));
    } else {
      const clauses = parseFilter(raw);
      if (clauses === 'invalid') return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${raw}' is not supported.`);
      for (const c of clauses) {
        if (!['appId', 'displayName', 'id'].includes(c.field))
          return graphError(
            req,
            400,
            'BadRequest',
            `Unsupported or invalid query filter clause specified for property '${c.field}' of resource 'Application'.`,
          );
        items = items.filter((a) => String(a[c.field]).toLowerCase() === c.value.toLowerCase());
      }
    }
    return page(req, items, 'applications');
  });

  on('GET', '/applications/:id', (req, p, caller) => {
    if (!canReadApps(caller)) return denied(req, 'Application.Read.All');
    const a = findApp(p.id);
    if (!a)
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return json(200, { '@odata.context': contextUrl(req, 'applications/$entity'), ...applySelect(view(a), req.query.get('$select')) });
  });

  on('POST', '/applications', (req, _p, caller) => {
    if (!canWriteApps(caller)) return denied(req, 'Application.ReadWrite.All');
    const b = jsonBody<Json>(req);
    if (!b || typeof b !== 'object' || Array.isArray(b)) return badBody(req);
    if (typeof b.displayName !== 'string' || !b.displayName.trim()) return graphError(req, 400, 'Request_BadRequest', "Property 'displayName' is required.");
    const appId = randomUUID();
    const a: StoredApp = {
      id: randomUUID(),
      appId,
      displayName: b.displayName,
      createdDateTime: new Date().toISOString(),
      signInAudience: typeof b.signInAudience === 'string' ? b.signInAudience : 'AzureADandPersonalMicrosoftAccount',
      identifierUris: [],
      api: {
        acceptMappedClaims: null,
        knownClientApplications: [],
        requestedAccessTokenVersion: null,
        oauth2PermissionScopes: [],
        preAuthorizedApplications: [],
      },
      requiredResourceAccess: [],
      web: { homePageUrl: null, logoutUrl: null, redirectUris: [], implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } },
      keyCredentials: [],
      passwordCredentials: [],
    };
    const err = applyPatch(a, b);
    if (err) return graphError(req, 400, err.code, err.message);
    d.apps.set(a.id, a);
    return json(201, { '@odata.context': contextUrl(req, 'applications/$entity'), ...view(a) });
  });

  /** Merges a PATCH (or POST) body into a copy, validates it, and commits on success. */
  function applyPatch(target: StoredApp, b: Json): { code: string; message: string } | undefined {
    const next: StoredApp = structuredClone(target);
    const settable = ['displayName', 'signInAudience', 'identifierUris', 'api', 'requiredResourceAccess', 'web', 'keyCredentials'];
    for (const k of Object.keys(b)) {
      if (k.startsWith('@odata')) continue;
      if (k === 'passwordCredentials') return { code: 'Request_BadRequest', message: 'passwordCredentials cannot be set directly; use addPassword.' };
      if (!settable.includes(k))
        return { code: 'Request_BadRequest', message: `The simulator does not support updating property '${k}' of resource 'Application'.` };
    }
    if (b.displayName !== undefined) next.displayName = String(b.displayName);
    if (b.signInAudience !== undefined) next.signInAudience = String(b.signInAudience);
    if (b.identifierUris !== undefined) {
      if (!Array.isArray(b.identifierUris)) return { code: 'Request_BadRequest', message: 'identifierUris must be a collection of strings.' };
      next.identifierUris = [...b.identifierUris];
    }
    // Complex properties merge; their collections are replaced.
    if (b.api !== undefined) next.api = { ...next.api, ...b.api };
    if (b.web !== undefined) next.web = { ...next.web, ...b.web };
    if (b.requiredResourceAccess !== undefined) {
      if (!Array.isArray(b.requiredResourceAccess)) return { code: 'Request_BadRequest', message: 'requiredResourceAccess must be a collection.' };
      next.requiredResourceAccess = structuredClone(b.requiredResourceAccess);
    }
    if (b.keyCredentials !== undefined) {
      if (!Array.isArray(b.keyCredentials)) return { code: 'Request_BadRequest', message: 'keyCredentials must be a collection.' };
      const keys: Json[] = [];
      for (const k of b.keyCredentials) {
        if (typeof k.key !== 'string')
          return {
            code: 'KeyCredentialsInvalid',
            message: 'Each key credential needs its key (the base64 certificate); existing keys must be sent again with their key.',
          };
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(Buffer.from(k.key, 'base64'));
        } catch {
          return { code: 'KeyCredentialsInvalid', message: 'keyCredentials.key is not a base64 X.509 certificate.' };
        }
        keys.push({
          customKeyIdentifier: createHash('sha1').update(cert.raw).digest('base64'),
          displayName: k.displayName ?? null,
          endDateTime: new Date(cert.validTo).toISOString(),
          keyId: k.keyId ?? randomUUID(),
          startDateTime: new Date(cert.validFrom).toISOString(),
          type: k.type ?? 'AsymmetricX509Cert',
          usage: k.usage ?? 'Verify',
        });
      }
      next.keyCredentials = keys;
    }
    const err = problem(next);
    if (err) return err;
    Object.assign(target, next);
    return undefined;
  }

  on('PATCH', '/applications/:id', (req, p, caller) => {
    if (!canWriteApps(caller)) return denied(req, 'Application.ReadWrite.All');
    const a = findApp(p.id);
    if (!a)
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const b = jsonBody<Json>(req);
    if (!b || typeof b !== 'object' || Array.isArray(b)) return badBody(req);
    const err = applyPatch(a, b);
    return err ? graphError(req, 400, err.code, err.message) : { status: 204 };
  });

  on('POST', '/applications/:id/addPassword', (req, p, caller) => {
    if (!canWriteApps(caller)) return denied(req, 'Application.ReadWrite.All');
    const a = findApp(p.id);
    if (!a)
      return graphError(
        req,
        404,
        'Request_ResourceNotFound',
        `Resource '${p.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const pc = jsonBody<{ passwordCredential?: { endDateTime?: string; displayName?: unknown } }>(req)?.passwordCredential ?? {};
    const now = new Date();
    const end = pc.endDateTime ? new Date(pc.endDateTime) : new Date(now.getTime() + 2 * 365 * 24 * 3600_000);
    if (Number.isNaN(end.getTime()) || end <= now) return graphError(req, 400, 'Request_BadRequest', 'passwordCredential.endDateTime must be a future date.');
    const secretText = `${randomBytes(3).toString('hex').slice(0, 3)}~${randomBytes(30).toString('base64url')}`;
    const stored: StoredPassword = {
      keyId: randomUUID(),
      displayName: typeof pc.displayName === 'string' ? pc.displayName : null,
      startDateTime: now.toISOString(),
      endDateTime: end.toISOString(),
      hint: secretText.slice(0, 3),
      secretHash: createHash('sha256').update(secretText).digest('hex'),
    };
    a.passwordCredentials.push(stored);
    return json(200, {
      '@odata.context': contextUrl(req, 'microsoft.graph.passwordCredential'),
      customKeyIdentifier: null,
      displayName: stored.displayName,
      endDateTime: stored.endDateTime,
      hint: stored.hint,
      keyId: stored.keyId,
      secretText,
      startDateTime: stored.startDateTime,
    });
  });

  // --- service principals -------------------------------------------------------------------------
  on('GET', '/servicePrincipals', (req, _p, caller) => {
    if (!canReadApps(caller)) return denied(req, 'Application.Read.All');
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid' || clauses.some((c) => !['appId', 'displayName', 'id'].includes(c.field))) {
      return graphError(req, 400, 'BadRequest', `Invalid filter clause: '${req.query.get('$filter')}' is not supported.`);
    }
    const items = [...d.servicePrincipals.values()].filter((sp) => clauses.every((c) => String((sp as Json)[c.field]).toLowerCase() === c.value.toLowerCase()));
    return page(
      req,
      items.map((sp) => ({ ...sp, servicePrincipalType: 'Application', accountEnabled: true })),
      'servicePrincipals',
    );
  });

  on('POST', '/servicePrincipals', (req, _p, caller) => {
    if (!canWriteApps(caller)) return denied(req, 'Application.ReadWrite.All');
    const appId = String(jsonBody<Json>(req)?.appId ?? '').toLowerCase();
    const a = [...d.apps.values()].find((x) => x.appId === appId);
    if (!a) return graphError(req, 400, 'Request_BadRequest', `The appId '${appId}' of the service principal does not reference a valid application object.`);
    if ([...d.servicePrincipals.values()].some((sp) => sp.appId === appId)) {
      return graphError(
        req,
        409,
        'Request_MultipleObjectsWithSameKeyValue',
        'The service principal cannot be created, updated, or restored because the service principal name is already in use.',
      );
    }
    const sp = { id: randomUUID(), appId, displayName: a.displayName };
    d.servicePrincipals.set(sp.id, sp);
    return json(201, { '@odata.context': contextUrl(req, 'servicePrincipals/$entity'), ...sp, servicePrincipalType: 'Application', accountEnabled: true });
  });

  // --- PIM custom extensions ----------------------------------------------------------------------
  const EXT = '/identityGovernance/privilegedAccess/customExtensions';
  const canReadExt = (c: GraphCaller) => has(c, 'PrivilegedAccess-CustomExt.Read.All', 'PrivilegedAccess-CustomExt.ReadWrite.All');
  const canWriteExt = (c: GraphCaller) => has(c, 'PrivilegedAccess-CustomExt.ReadWrite.All');

  /** The fields PIM needs, checked as the create and update pages describe them. */
  const extensionProblem = (e: CustomExtensionJson): string | undefined => {
    if (e['@odata.type'] !== '#microsoft.graph.roleManagementCustomCalloutExtension')
      return "@odata.type must be '#microsoft.graph.roleManagementCustomCalloutExtension'.";
    if (typeof e.displayName !== 'string' || !e.displayName.trim()) return 'displayName is required.';
    const url = e.endpointConfiguration?.targetUrl;
    if (e.endpointConfiguration?.['@odata.type'] !== '#microsoft.graph.httpRequestEndpoint' || typeof url !== 'string' || !/^https:\/\//i.test(url)) {
      return "endpointConfiguration must be {'@odata.type': '#microsoft.graph.httpRequestEndpoint', targetUrl: 'https://...'}.";
    }
    const auth = e.authenticationConfiguration;
    if (!auth || !TOKEN_AUTHENTICATIONS.includes(auth['@odata.type']) || typeof auth.resourceId !== 'string' || !auth.resourceId) {
      return 'authenticationConfiguration must be an azureAdTokenAuthentication with the resourceId (Application ID URI) PIM requests a token for.';
    }
    const cc = e.clientConfiguration;
    if (cc && (!Number.isInteger(cc.timeoutInMilliseconds ?? 0) || !Number.isInteger(cc.maximumRetries ?? 0)))
      return 'clientConfiguration.timeoutInMilliseconds and maximumRetries must be integers.';
    return undefined;
  };

  on('GET', EXT, (req, _p, caller) => {
    if (!canReadExt(caller)) return denied(req, 'PrivilegedAccess-CustomExt.Read.All');
    return page(
      req,
      [...d.extensions.values()].map((e) => structuredClone(e)),
      'identityGovernance/privilegedAccess/customExtensions',
    );
  });
  on('GET', `${EXT}/:id`, (req, p, caller) => {
    if (!canReadExt(caller)) return denied(req, 'PrivilegedAccess-CustomExt.Read.All');
    const e = d.extensions.get(p.id.toLowerCase());
    if (!e) return graphError(req, 404, 'NotFound', `The custom extension '${p.id}' was not found.`);
    return json(200, { '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/customExtensions/$entity'), ...structuredClone(e) });
  });
  on('POST', EXT, (req, _p, caller) => {
    if (!canWriteExt(caller)) return denied(req, 'PrivilegedAccess-CustomExt.ReadWrite.All');
    const b = jsonBody<CustomExtensionJson>(req);
    if (!b || typeof b !== 'object' || Array.isArray(b)) return badBody(req);
    const why = extensionProblem(b);
    if (why) return graphError(req, 400, 'BadRequest', why);
    const id = (typeof b.id === 'string' && GUID.test(b.id) ? b.id : randomUUID()).toLowerCase();
    if (d.extensions.has(id)) return graphError(req, 409, 'Conflict', `A custom extension with id '${id}' already exists.`);
    const now = new Date().toISOString();
    const e: CustomExtensionJson & { id: string } = {
      '@odata.type': b['@odata.type'],
      id,
      displayName: b.displayName,
      description: b.description ?? null,
      createdDateTime: now,
      lastModifiedDateTime: now,
      endpointConfiguration: structuredClone(b.endpointConfiguration),
      authenticationConfiguration: structuredClone(b.authenticationConfiguration),
      clientConfiguration: {
        '@odata.type': '#microsoft.graph.customExtensionClientConfiguration',
        timeoutInMilliseconds: b.clientConfiguration?.timeoutInMilliseconds ?? null,
        maximumRetries: b.clientConfiguration?.maximumRetries ?? null,
      },
      resourceType: b.resourceType ?? null,
      customAttributes: Array.isArray(b.customAttributes) ? b.customAttributes : [],
    };
    d.extensions.set(id, e);
    return json(201, { '@odata.context': contextUrl(req, 'identityGovernance/privilegedAccess/customExtensions/$entity'), ...structuredClone(e) });
  });
  on('PATCH', `${EXT}/:id`, (req, p, caller) => {
    if (!canWriteExt(caller)) return denied(req, 'PrivilegedAccess-CustomExt.ReadWrite.All');
    const e = d.extensions.get(p.id.toLowerCase());
    if (!e) return graphError(req, 404, 'NotFound', `The custom extension '${p.id}' was not found.`);
    const b = jsonBody<CustomExtensionJson>(req);
    if (!b || typeof b !== 'object' || Array.isArray(b)) return badBody(req);
    const next: CustomExtensionJson & { id: string } = {
      ...structuredClone(e),
      ...structuredClone(b),
      id: e.id,
      '@odata.type': b['@odata.type'] ?? e['@odata.type'],
    };
    const why = extensionProblem(next);
    if (why) return graphError(req, 400, 'BadRequest', why);
    next.lastModifiedDateTime = new Date().toISOString();
    d.extensions.set(e.id, next);
    return { status: 204 };
  });

  // --- the custom extension rule of a PIM policy --------------------------------------------------
  on(
    'PATCH',
    '/policies/roleManagementPolicies/:policyId/rules/:ruleId',
    (req, p, caller) => {
      if (!has(caller, 'RoleManagementPolicy.ReadWrite.Directory')) return denied(req, 'RoleManagementPolicy.ReadWrite.Directory');
      const t = policyTargets(ctx).find((x) => policyIdOf(ctx, x).toLowerCase() === p.policyId.toLowerCase());
      if (!t) return graphError(req, 404, 'NotFound', `The role management policy '${p.policyId}' was not found.`);
      if (p.ruleId !== CUSTOM_EXTENSION_RULE_ID) {
        return graphError(req, 400, 'BadRequest', `The simulator updates only the rule '${CUSTOM_EXTENSION_RULE_ID}' this way, not '${p.ruleId}'.`);
      }
      const b = jsonBody<Json>(req);
      if (!b || typeof b !== 'object' || Array.isArray(b)) return badBody(req);
      if (b['@odata.type'] !== '#microsoft.graph.unifiedRoleManagementPolicyCustomExtensionRule') {
        return graphError(req, 400, 'BadRequest', "@odata.type must be '#microsoft.graph.unifiedRoleManagementPolicyCustomExtensionRule' for this rule.");
      }
      if (typeof b.isEnabled !== 'boolean') return graphError(req, 400, 'BadRequest', 'isEnabled must be true or false.');
      const extId = b.customExtensionId === null || b.customExtensionId === undefined ? null : String(b.customExtensionId).toLowerCase();
      if (extId && !d.extensions.has(extId))
        return graphError(req, 400, 'BadRequest', `customExtensionId '${extId}' is not a custom extension of this tenant.`);
      if (b.isEnabled && !extId) return graphError(req, 400, 'BadRequest', 'An enabled custom extension rule needs customExtensionId.');
      const policyId = policyIdOf(ctx, t);
      d.rules.set(policyId, { customExtensionId: extId, isEnabled: b.isEnabled });
      return json(200, {
        '@odata.context': contextUrl(req, `policies/roleManagementPolicies('${policyId}')/rules/$entity`),
        ...customExtensionRule(ctx, policyId),
      });
    },
    ['v1.0', 'beta'],
  );
}
