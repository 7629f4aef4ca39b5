/**
 * Microsoft Graph's Teams app catalog, personal-scope app installations and activity feed notifications,
 * as far as the bot needs them to reach a user it has no chat with yet:
 *
 * - `GET /appCatalogs/teamsApps` (the org catalog holds the bot's Teams app),
 * - `GET|POST /users/{id}/teamwork/installedApps`, `GET|DELETE .../installedApps/{installationId}`,
 *   `GET .../installedApps/{installationId}/chat` (the 1:1 chat between the user and the bot),
 * - `POST /users/{id}/teamwork/sendActivityNotification`,
 *
 * on v1.0 and beta, with the statuses Microsoft documents: an install answers 201 with no body, a second
 * install of the same app 409, an install the tenant's app permission policy blocks 403, a notification 204,
 * and a notification for a recipient without the app (personally or in a team they are in) 403.
 *
 * Loopback-only control routes under `/_sim/teams/` block installation for a user, put a user in a team
 * that has the app, list installations and received notifications, and uninstall the app for a user.
 */
import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SeedUser } from './seed';
import { DEMO_BOT_APP } from './seed';
import { contextUrl, graphCaller, graphError, isResponse, page, parseFilter, type GraphCaller } from './graph-common';
import { stableGuid } from './graph-directory';
import type { TeamsMessages } from './teams-messages';

/** The manifest `id` of the bot's Teams app (Graph's `externalId`); configure the bot with it against the simulator. */
export const SIM_TEAMS_APP_MANIFEST_ID = '6f1d2c9a-3b7e-4e58-9a41-2c8d7e5f0b13';
/** The id the org catalog generated for the app (differs from the manifest id for org-published apps). */
export const SIM_TEAMS_APP_CATALOG_ID = stableGuid(`teams-catalog-app:${SIM_TEAMS_APP_MANIFEST_ID}`);

/**
 * `activities.activityTypes` of the seeded app's manifest. Graph accepts only declared types (and the
 * reserved `systemDefault`); every `{parameter}` of the template except `{actor}` must be supplied.
 */
export const SIM_TEAMS_APP_ACTIVITY_TYPES: ReadonlyArray<{ type: string; description: string; templateText: string }> = [
  { type: 'accessExpiring', description: 'Privileged access about to expire', templateText: '{actor}: your {roleName} access expires {when}' },
  { type: 'dailyDigest', description: 'Daily PIM digest', templateText: '{actor} has your daily digest: {summary}' },
  { type: 'approvalRequested', description: 'A PIM role activation waits for your approval', templateText: '{requester} asks to activate {role}' },
];

/** Teams shows only this much of `previewText`; Graph accepts longer text. */
export const ACTIVITY_PREVIEW_SHOWN_CHARS = 150;

interface CatalogApp {
  id: string;
  externalId: string;
  displayName: string;
  distributionMethod: 'organization';
  /** `webApplicationInfo.id`: the Entra app whose tokens act as this Teams app. */
  azureADAppId: string;
  version: string;
}

interface Installation {
  id: string;
  userId: string;
  app: CatalogApp;
  installedDateTime: string;
}

export interface SimActivityNotification {
  id: string;
  receivedDateTime: string;
  userId: string;
  userPrincipalName: string;
  /** The caller's Entra app id and the Teams app the notification is attributed to. */
  appId: string;
  teamsAppId: string;
  /** How the app reaches the recipient: installed for them personally, or in a team they are in. */
  deliveredVia: 'personal' | 'team';
  activityType: string;
  topic: { source: string; value: string; webUrl?: string };
  previewText: string;
  /** What Teams shows: the first 150 characters. */
  previewShown: string;
  templateParameters: Array<{ name: string; value: string }>;
  chainId?: number;
}

interface TeamsStore {
  catalog: CatalogApp[];
  /** Personal-scope installations by `${userId}|${catalogAppId}`. */
  installations: Map<string, Installation>;
  /** Users the tenant's app permission policy blocks the app for. */
  blocked: Set<string>;
  /** Users who are members of a team the app is installed in. */
  teamMembers: Set<string>;
  activity: SimActivityNotification[];
}

const CATALOG_READ = ['AppCatalog.Read.All', 'AppCatalog.ReadWrite.All'];
/** Installing or removing an app for a user; the `Self` forms only cover the calling app itself. */
const INSTALL_WRITE = [
  'TeamsAppInstallation.ReadWriteSelfForUser.All',
  'TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All',
  'TeamsAppInstallation.ReadWriteForUser.All',
  'TeamsAppInstallation.ReadWriteAndConsentForUser.All',
];
const INSTALL_READ = ['TeamsAppInstallation.ReadForUser.All', ...INSTALL_WRITE];
const ACTIVITY_SEND = ['TeamsActivity.Send'];
const SELF_ONLY = /Self/;

/** teamsApp properties `$filter` may test, on the catalog and (as `teamsApp/...`) on installations. */
const APP_FIELDS: Record<string, (a: CatalogApp) => string> = {
  id: (a) => a.id,
  externalid: (a) => a.externalId,
  displayname: (a) => a.displayName,
  distributionmethod: (a) => a.distributionMethod,
};
const matchesApp = (a: CatalogApp, clauses: Array<{ field: string; value: string }>) =>
  clauses.every((c) => APP_FIELDS[c.field.toLowerCase()]!(a).toLowerCase() === c.value.toLowerCase());

const key = (userId: string, appId: string) => `${userId}|${appId}`.toLowerCase();

/** Graph's installation ids are base64 of `{userId}##{teamsAppId}` (see the List apps installed for user examples). */
export const installationIdFor = (userId: string, catalogAppId: string): string => Buffer.from(`${userId}##${catalogAppId}`).toString('base64');
/** The 1:1 chat between a user and a bot: stable for the pair, kept across uninstall and reinstall. */
export const botChatIdFor = (userId: string, botAppId: string): string => `19:${botAppId}_${userId}@unq.gbl.spaces`;

function seededCatalog(): CatalogApp[] {
  return [
    {
      id: SIM_TEAMS_APP_CATALOG_ID,
      externalId: SIM_TEAMS_APP_MANIFEST_ID,
      displayName: DEMO_BOT_APP.displayName,
      distributionMethod: 'organization',
      azureADAppId: DEMO_BOT_APP.clientId,
      version: '1.0.0',
    },
  ];
}

function catalogView(app: CatalogApp): Record<string, unknown> {
  return { id: app.id, externalId: app.externalId, displayName: app.displayName, distributionMethod: app.distributionMethod };
}

function definitionView(app: CatalogApp): Record<string, unknown> {
  return {
    id: Buffer.from(`${app.id}##${app.version}`).toString('base64'),
    teamsAppId: app.id,
    azureADAppId: app.azureADAppId,
    displayName: app.displayName,
    version: app.version,
    publishingState: 'published',
  };
}

/** Graph's refusal of an app token whose roles do not include one the API needs. */
function missingRoles(req: SimRequest, caller: Extract<GraphCaller, { kind: 'app' }>, needed: string[]): SimResponse {
  return graphError(
    req,
    403,
    'Forbidden',
    `Missing role permissions on the request. API requires one of '${needed.join(', ')}'. Roles on the request '${caller.roles.join(', ')}'.`,
  );
}

/** Only application permissions are modelled here; the bot calls these APIs app-only. */
async function appCaller(ctx: SimContext, req: SimRequest, needed: string[]): Promise<Extract<GraphCaller, { kind: 'app' }> | SimResponse> {
  const caller = await graphCaller(ctx, req);
  if (isResponse(caller)) return caller;
  if (caller.kind !== 'app') {
    return graphError(req, 403, 'Forbidden', 'The simulator models this API for application permissions only; call it with an app-only token.');
  }
  if (!caller.roles.some((r) => needed.includes(r))) return missingRoles(req, caller, needed);
  return caller;
}

/** A caller holding only a `Self` permission may manage its own Teams app, not another's. */
function selfOnlyDenied(req: SimRequest, caller: Extract<GraphCaller, { kind: 'app' }>, app: CatalogApp, permissions: string[]): SimResponse | undefined {
  const held = caller.roles.filter((r) => permissions.includes(r));
  if (held.length > 0 && held.every((r) => SELF_ONLY.test(r)) && app.azureADAppId.toLowerCase() !== caller.appid.toLowerCase()) {
    return graphError(
      req,
      403,
      'Forbidden',
      `The calling application '${caller.appid}' may only manage its own Teams app with '${held.join(', ')}'; app '${app.id}' belongs to another application.`,
    );
  }
  return undefined;
}

const unreadableJson = (req: SimRequest) =>
  graphError(req, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');

function parseBody(req: SimRequest): Record<string, unknown> | undefined {
  const b = jsonBody<unknown>(req);
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : undefined;
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

function isHttpsUrl(v: string): boolean {
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

export function registerGraphTeamwork(router: Router, ctx: SimContext, teams?: TeamsMessages): void {
  const store: TeamsStore = { catalog: seededCatalog(), installations: new Map(), blocked: new Set(), teamMembers: new Set(), activity: [] };
  // A user who has a personal chat with the bot has its app installed (Teams installs it when they add the bot).
  teams?.onPersonalChat((userId) => {
    const app = store.catalog[0]!;
    const k = key(userId, app.id);
    if (!store.installations.has(k))
      store.installations.set(k, { id: installationIdFor(userId, app.id), userId, app, installedDateTime: new Date().toISOString() });
  });
  const appById = (id: string) => store.catalog.find((a) => a.id.toLowerCase() === id.toLowerCase());
  const userNotFound = (req: SimRequest, id: string) => graphError(req, 404, 'NotFound', `User '${id}' was not found in the tenant.`);
  const installationsOf = (userId: string) => [...store.installations.values()].filter((i) => i.userId === userId);
  const findInstallation = (u: SeedUser, installationId: string) => installationsOf(u.id).find((i) => i.id === installationId);
  const notInstalled = (req: SimRequest, installationId: string) =>
    graphError(req, 404, 'NotFound', `No app installation '${installationId}' in the personal scope of the user.`);

  function installationView(inst: Installation, expand: Set<string>): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.type': '#microsoft.graph.userScopeTeamsAppInstallation', id: inst.id, consentedPermissionSet: null };
    if (expand.has('teamsapp')) out.teamsApp = catalogView(inst.app);
    if (expand.has('teamsappdefinition')) out.teamsAppDefinition = definitionView(inst.app);
    return out;
  }

  /** The `$expand` of an installation request (teamsApp, teamsAppDefinition), or Graph's 400 for anything else. */
  function installationExpand(req: SimRequest): Set<string> | SimResponse {
    const raw = req.query.get('$expand');
    const parts = raw
      ? raw
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean)
      : [];
    const bad = parts.find((p) => p !== 'teamsapp' && p !== 'teamsappdefinition');
    if (bad) return graphError(req, 400, 'BadRequest', `Could not find a property named '${bad}' on type 'microsoft.graph.teamsAppInstallation'.`);
    return new Set(parts);
  }

  const chatOf = (inst: Installation) => {
    const id = botChatIdFor(inst.userId, inst.app.azureADAppId);
    return {
      id,
      topic: null,
      createdDateTime: inst.installedDateTime,
      lastUpdatedDateTime: inst.installedDateTime,
      chatType: 'oneOnOne',
      webUrl: `https://teams.microsoft.com/l/chat/${encodeURIComponent(id)}/0?tenantId=${ctx.tenantId}`,
      tenantId: ctx.tenantId,
      onlineMeetingInfo: null,
      viewpoint: null,
    };
  };

  // --- Graph -------------------------------------------------------------------------------------------

  const listCatalog = async (req: SimRequest): Promise<SimResponse> => {
    const caller = await appCaller(ctx, req, CATALOG_READ);
    if (isResponse(caller)) return caller;
    const clauses = parseFilter(req.query.get('$filter'));
    if (clauses === 'invalid' || clauses.some((c) => !APP_FIELDS[c.field.toLowerCase()])) {
      return graphError(
        req,
        400,
        'BadRequest',
        `Invalid filter clause: the simulator supports "field eq 'value'" on id, externalId, displayName and distributionMethod, joined by "and"; got '${req.query.get('$filter')}'.`,
      );
    }
    const expand = (req.query.get('$expand') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const badExpand = expand.find((e) => e !== 'appdefinitions');
    if (badExpand) return graphError(req, 400, 'BadRequest', `Could not find a property named '${badExpand}' on type 'microsoft.graph.teamsApp'.`);
    const items = store.catalog
      .filter((a) => matchesApp(a, clauses))
      .map((a) => (expand.length ? { ...catalogView(a), appDefinitions: [definitionView(a)] } : catalogView(a)));
    return page(req, items, 'appCatalogs/teamsApps');
  };

  /** The app caller (with one of `permissions`) and the user a /users/{id}/… route names. */
  const userFor = async (
    req: SimRequest,
    p: Record<string, string>,
    permissions: typeof INSTALL_READ,
  ): Promise<{ u: SeedUser; caller: Exclude<Awaited<ReturnType<typeof appCaller>>, SimResponse> } | SimResponse> => {
    const caller = await appCaller(ctx, req, permissions);
    if (isResponse(caller)) return caller;
    const u = ctx.state.user(p.id);
    return u ? { u, caller } : userNotFound(req, p.id!);
  };

  const listInstalled = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const found = await userFor(req, p, INSTALL_READ);
    if (!('u' in found)) return found;
    const { u } = found;
    const expand = installationExpand(req);
    if (!(expand instanceof Set)) return expand;
    const clauses = parseFilter(req.query.get('$filter'));
    const onApp =
      clauses === 'invalid'
        ? 'invalid'
        : clauses.map((c) => ({ field: c.field.replace(/^teamsApp\//i, ''), value: c.value, nested: /^teamsApp\//i.test(c.field) }));
    if (onApp === 'invalid' || onApp.some((c) => !c.nested || !APP_FIELDS[c.field.toLowerCase()])) {
      return graphError(
        req,
        400,
        'BadRequest',
        `Invalid filter clause: the simulator supports "teamsApp/id eq '...'" and "teamsApp/externalId eq '...'" (also displayName, distributionMethod), joined by "and"; got '${req.query.get('$filter')}'.`,
      );
    }
    const items = installationsOf(u.id)
      .filter((i) => matchesApp(i.app, onApp))
      .map((i) => installationView(i, expand));
    return page(req, items, `users('${u.id}')/teamwork/installedApps`);
  };

  const getInstalled = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const found = await userFor(req, p, INSTALL_READ);
    if (!('u' in found)) return found;
    const { u } = found;
    const expand = installationExpand(req);
    if (!(expand instanceof Set)) return expand;
    const inst = findInstallation(u, p.installationId!);
    if (!inst) return notInstalled(req, p.installationId!);
    return json(200, { '@odata.context': contextUrl(req, `users('${u.id}')/teamwork/installedApps/$entity`), ...installationView(inst, expand) });
  };

  const install = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const found = await userFor(req, p, INSTALL_WRITE);
    if (!('u' in found)) return found;
    const { u, caller } = found;
    const body = parseBody(req);
    if (!body) return unreadableJson(req);
    const bind = body['teamsApp@odata.bind'];
    if (!isNonEmptyString(bind)) {
      return graphError(
        req,
        400,
        'BadRequest',
        'The request body must bind the app to install: {"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{teamsAppId}"}.',
      );
    }
    const m = /^https:\/\/[^/]+\/(?:v1\.0|beta)\/appCatalogs\/teamsApps\/([^/?#]+)$/i.exec(bind.trim());
    if (!m) {
      return graphError(
        req,
        400,
        'BadRequest',
        `Invalid teamsApp@odata.bind '${bind}': expected https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{teamsAppId}.`,
      );
    }
    const appId = decodeURIComponent(m[1]!);
    const app = appById(appId);
    if (!app) return graphError(req, 404, 'NotFound', `The app '${appId}' was not found in the Teams app catalog (org catalog or Teams Store).`);
    const denied = selfOnlyDenied(req, caller, app, INSTALL_WRITE);
    if (denied) return denied;
    if (store.blocked.has(u.id)) {
      // What Graph answers when the tenant's Teams app permission policy blocks the app for this user.
      const message = `App is blocked by app permission policy. TenantId: ${ctx.tenantId}, UserObjectId: ${u.id}, AppId: ${app.id}, AppType: Private`;
      const r = graphError(req, 403, 'Forbidden', message);
      const err = (r.body as { error: Record<string, unknown> }).error;
      err.innerError = { code: 'AccessDenied', message, ...(err.innerError as Record<string, unknown>) };
      return r;
    }
    const k = key(u.id, app.id);
    if (store.installations.has(k)) {
      return graphError(req, 409, 'Conflict', `The app '${app.id}' is already installed in the personal scope of user '${u.id}'.`);
    }
    store.installations.set(k, { id: installationIdFor(u.id, app.id), userId: u.id, app, installedDateTime: new Date().toISOString() });
    // Documented: "201 Created ... It does not return anything in the response body."
    return { status: 201 };
  };

  /** The installation a /users/{id}/teamwork/installedApps/{installationId} route names, once the caller may touch it. */
  const installationOf = async (
    req: SimRequest,
    p: Record<string, string>,
    permissions: typeof INSTALL_READ,
  ): Promise<{ u: SeedUser; inst: NonNullable<ReturnType<typeof findInstallation>> } | SimResponse> => {
    const found = await userFor(req, p, permissions);
    if (!('u' in found)) return found;
    const { u, caller } = found;
    const inst = findInstallation(u, p.installationId!);
    if (!inst) return notInstalled(req, p.installationId!);
    return selfOnlyDenied(req, caller, inst.app, permissions) ?? { u, inst };
  };

  const uninstall = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const found = await installationOf(req, p, INSTALL_WRITE);
    if (!('inst' in found)) return found;
    store.installations.delete(key(found.u.id, found.inst.app.id));
    return { status: 204 };
  };

  const chat = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const found = await installationOf(req, p, INSTALL_READ);
    if (!('inst' in found)) return found;
    const { inst } = found;
    const select = req.query.get('$select');
    const body: Record<string, unknown> = chatOf(inst);
    const keep = select ? new Set(select.split(',').map((s) => s.trim())) : undefined;
    const out: Record<string, unknown> = { '@odata.context': contextUrl(req, 'chats/$entity') };
    for (const [k, v] of Object.entries(body)) if (!keep || keep.has(k)) out[k] = v;
    return json(200, out);
  };

  const sendActivity = async (req: SimRequest, p: Record<string, string>): Promise<SimResponse> => {
    const caller = await appCaller(ctx, req, ACTIVITY_SEND);
    if (isResponse(caller)) return caller;
    const u = ctx.state.user(p.id);
    if (!u) return userNotFound(req, p.id!);
    const body = parseBody(req);
    if (!body) return unreadableJson(req);
    const bad = (message: string) => graphError(req, 400, 'BadRequest', message);

    const topic = body.topic as Record<string, unknown> | undefined;
    if (!topic || typeof topic !== 'object' || Array.isArray(topic)) return bad("'topic' is required: {source: 'entityUrl' | 'text', value, webUrl}.");
    if (topic.source !== 'entityUrl' && topic.source !== 'text') return bad(`topic.source must be 'entityUrl' or 'text'; got '${String(topic.source)}'.`);
    if (!isNonEmptyString(topic.value)) return bad('topic.value is required.');
    if (topic.webUrl !== undefined && (typeof topic.webUrl !== 'string' || !isHttpsUrl(topic.webUrl)))
      return bad('topic.webUrl must be an absolute https URL.');
    if (topic.source === 'text' && topic.webUrl === undefined) return bad("topic.webUrl is required when topic.source is 'text'.");
    if (topic.source === 'entityUrl' && !/^https:\/\/[^/]+\/(v1\.0|beta)\//i.test(topic.value)) {
      return bad("topic.value must be a Microsoft Graph URL when topic.source is 'entityUrl'.");
    }
    if (!isNonEmptyString(body.activityType)) return bad("'activityType' is required.");
    const preview = body.previewText as Record<string, unknown> | undefined;
    if (!preview || typeof preview !== 'object' || typeof preview.content !== 'string') return bad("'previewText' is required: {content: '...'}.");
    const params = body.templateParameters ?? [];
    if (
      !Array.isArray(params) ||
      !params.every(
        (t) => t && typeof t === 'object' && isNonEmptyString((t as Record<string, unknown>).name) && typeof (t as Record<string, unknown>).value === 'string',
      )
    ) {
      return bad("'templateParameters' must be an array of {name, value} with string values.");
    }
    const templateParameters = (params as Array<{ name: string; value: string }>).map((t) => ({ name: t.name, value: t.value }));
    if (body.chainId !== undefined && !Number.isInteger(body.chainId)) return bad("'chainId' must be an integer (Int64).");

    // The notification is attributed to the Teams app whose webApplicationInfo.id is the caller's Entra app.
    const notAuthorized = () =>
      graphError(
        req,
        403,
        'Forbidden',
        `Application with AAD App Id '${caller.appid}' is not authorized to generate custom text notifications about '${req.path}' to the recipient. Ensure that the expected Teams app is installed in the target scope (user, team, or chat).`,
      );
    let app: CatalogApp | undefined;
    if (body.teamsAppId !== undefined) {
      if (!isNonEmptyString(body.teamsAppId)) return bad("'teamsAppId' must be the Teams app's catalog id.");
      app = appById(body.teamsAppId);
      if (!app || app.azureADAppId.toLowerCase() !== caller.appid.toLowerCase()) return notAuthorized();
    } else {
      app = store.catalog.find((a) => a.azureADAppId.toLowerCase() === caller.appid.toLowerCase());
      if (!app) return notAuthorized();
    }
    const activityType = body.activityType;
    if (activityType !== 'systemDefault') {
      const declared = SIM_TEAMS_APP_ACTIVITY_TYPES.find((t) => t.type === activityType);
      if (!declared) {
        return bad(
          `Activity type '${activityType}' is not declared in the manifest of Teams app '${app.id}' (declared: ${SIM_TEAMS_APP_ACTIVITY_TYPES.map((t) => t.type).join(', ')}; 'systemDefault' is reserved).`,
        );
      }
      const needed = [...declared.templateText.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!).filter((n) => n !== 'actor');
      const missing = needed.filter((n) => !templateParameters.some((t) => t.name === n));
      if (missing.length) return bad(`Missing template parameters for activity type '${activityType}': ${missing.join(', ')}.`);
    }
    const personal = store.installations.has(key(u.id, app.id));
    if (!personal && !store.teamMembers.has(u.id)) return notAuthorized();

    store.activity.push({
      id: stableGuid(`activity:${store.activity.length}:${u.id}:${Date.now()}`),
      receivedDateTime: new Date().toISOString(),
      userId: u.id,
      userPrincipalName: u.userPrincipalName,
      appId: caller.appid,
      teamsAppId: app.id,
      deliveredVia: personal ? 'personal' : 'team',
      activityType,
      topic: { source: topic.source, value: topic.value, ...(typeof topic.webUrl === 'string' ? { webUrl: topic.webUrl } : {}) },
      previewText: preview.content,
      previewShown: preview.content.slice(0, ACTIVITY_PREVIEW_SHOWN_CHARS),
      templateParameters,
      ...(body.chainId !== undefined ? { chainId: body.chainId as number } : {}),
    });
    return { status: 204 };
  };

  for (const v of ['v1.0', 'beta']) {
    router.add('GET', `/${v}/appCatalogs/teamsApps`, listCatalog);
    router.add('GET', `/${v}/users/:id/teamwork/installedApps`, listInstalled);
    router.add('POST', `/${v}/users/:id/teamwork/installedApps`, install);
    router.add('GET', `/${v}/users/:id/teamwork/installedApps/:installationId`, getInstalled);
    router.add('DELETE', `/${v}/users/:id/teamwork/installedApps/:installationId`, uninstall);
    router.add('GET', `/${v}/users/:id/teamwork/installedApps/:installationId/chat`, chat);
    router.add('POST', `/${v}/users/:id/teamwork/sendActivityNotification`, sendActivity);
  }

  // --- Control API (loopback only; the server refuses other callers) -------------------------------------

  const ctlError = (status: number, code: string, message: string): SimResponse => json(status, { error: { code, message } });
  const controlBody = (req: SimRequest) => jsonBody<unknown>(req);
  const userOf = (v: unknown) => (typeof v === 'string' && v.trim() ? ctx.state.userByChannelId(v.trim()) : undefined);

  const flagRoute = (path: string, flag: 'blocked' | 'member', set: Set<string>) =>
    router.add('POST', path, (req) => {
      const b = controlBody(req);
      if (!b || typeof b !== 'object' || Array.isArray(b))
        return ctlError(400, 'InvalidBody', `Body must be JSON: {"user": "<id or UPN>", "${flag}": true|false}.`);
      const r = b as Record<string, unknown>;
      const u = userOf(r.user);
      if (!u) return ctlError(400, 'InvalidUser', `user: no user with id or UPN '${String(r.user)}'.`);
      if (typeof r[flag] !== 'boolean') return ctlError(400, flag === 'blocked' ? 'InvalidBlocked' : 'InvalidMember', `${flag}: must be true or false.`);
      if (r[flag]) set.add(u.id);
      else set.delete(u.id);
      return json(200, { user: u.id, userPrincipalName: u.userPrincipalName, [flag]: r[flag] });
    });
  flagRoute('/_sim/teams/block-install', 'blocked', store.blocked);
  flagRoute('/_sim/teams/team-member', 'member', store.teamMembers);

  router.add('GET', '/_sim/teams/installations', () =>
    json(200, {
      value: [...store.installations.values()].map((i) => ({
        user: i.userId,
        userPrincipalName: ctx.state.user(i.userId)?.userPrincipalName,
        installationId: i.id,
        teamsAppId: i.app.id,
        externalId: i.app.externalId,
        chatId: botChatIdFor(i.userId, i.app.azureADAppId),
        installedDateTime: i.installedDateTime,
      })),
      blockedUsers: [...store.blocked],
      teamMembers: [...store.teamMembers],
    }),
  );
  router.add('DELETE', '/_sim/teams/installations/:user', (_req, p) => {
    const u = userOf(p.user);
    if (!u) return ctlError(404, 'InvalidUser', `No user with id or UPN '${p.user}'.`);
    const mine = installationsOf(u.id);
    if (mine.length === 0) return ctlError(404, 'NotInstalled', `The app is not installed for '${u.userPrincipalName}'.`);
    for (const i of mine) store.installations.delete(key(i.userId, i.app.id));
    return { status: 204 };
  });

  router.add('GET', '/_sim/teams/activity', () => json(200, { value: store.activity }));
  router.add('DELETE', '/_sim/teams/activity', () => {
    store.activity.length = 0;
    return { status: 204 };
  });
}
