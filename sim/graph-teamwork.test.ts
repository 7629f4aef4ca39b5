import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { botAppCredential, control, GRAPH_SCOPE, startTestSim } from './test-support';
import { botChatIdFor, installationIdFor, SIM_TEAMS_APP_CATALOG_ID, SIM_TEAMS_APP_MANIFEST_ID } from './graph-teamwork';

describe('simulated Microsoft Graph: Teams app installation and activity feed', () => {
  let sim: SimHandle;
  let token: string;
  const appClaims = (roles: string[], appid: string = DEMO_BOT_APP.clientId) => ({
    aud: 'https://graph.microsoft.com',
    idtyp: 'app',
    roles,
    appid,
    azp: appid,
    oid: 'sp-bot',
  });
  const call = async (method: string, path: string, body?: unknown, bearer: string = token) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const bind = (id = SIM_TEAMS_APP_CATALOG_ID) => ({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${id}` });
  const notice = (over: Record<string, unknown> = {}) => ({
    topic: { source: 'text', value: 'PIM Approvals', webUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${DEMO_BOT_APP.clientId}` },
    activityType: 'accessExpiring',
    previewText: { content: 'Your Security Administrator access expires in 30 minutes' },
    templateParameters: [
      { name: 'roleName', value: 'Security Administrator' },
      { name: 'when', value: 'in 30 minutes' },
    ],
    ...over,
  });
  const installedFor = async (user: string) =>
    call('GET', `/v1.0/users/${user}/teamwork/installedApps?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/id eq '${SIM_TEAMS_APP_CATALOG_ID}'`)}`);

  beforeAll(async () => {
    sim = await startTestSim();
    // The production path: the bot's client credentials, with the roles its registration was consented.
    token = (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token;
  });
  afterAll(() => sim.close());

  it("finds the bot's Teams app in the org catalog by its manifest id, and nothing for another", async () => {
    const hit = await call('GET', `/v1.0/appCatalogs/teamsApps?$filter=${encodeURIComponent(`externalId eq '${SIM_TEAMS_APP_MANIFEST_ID}'`)}`);
    expect(hit.status).toBe(200);
    expect(hit.body.value).toEqual([
      { id: SIM_TEAMS_APP_CATALOG_ID, externalId: SIM_TEAMS_APP_MANIFEST_ID, displayName: DEMO_BOT_APP.displayName, distributionMethod: 'organization' },
    ]);
    expect(SIM_TEAMS_APP_CATALOG_ID).not.toBe(SIM_TEAMS_APP_MANIFEST_ID);
    const miss = await call('GET', `/beta/appCatalogs/teamsApps?$filter=${encodeURIComponent("externalId eq '00000000-0000-0000-0000-000000000001'")}`);
    expect(miss).toMatchObject({ status: 200, body: { value: [] } });
    const bad = await call('GET', `/v1.0/appCatalogs/teamsApps?$filter=${encodeURIComponent("startswith(displayName,'PIM')")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('Invalid filter clause') });
  });

  it('installs the app for a user (201, no body), lists it and refuses a second install with 409', async () => {
    expect((await installedFor(USER.alex)).body.value).toEqual([]);
    const first = await call('POST', `/v1.0/users/${USER.alex}/teamwork/installedApps`, bind());
    expect(first).toEqual({ status: 201, body: undefined });
    const listed = await installedFor(USER.alex);
    expect(listed.status).toBe(200);
    expect(listed.body.value).toEqual([
      {
        '@odata.type': '#microsoft.graph.userScopeTeamsAppInstallation',
        id: installationIdFor(USER.alex, SIM_TEAMS_APP_CATALOG_ID),
        consentedPermissionSet: null,
        teamsApp: {
          id: SIM_TEAMS_APP_CATALOG_ID,
          externalId: SIM_TEAMS_APP_MANIFEST_ID,
          displayName: DEMO_BOT_APP.displayName,
          distributionMethod: 'organization',
        },
      },
    ]);
    // The installation id has Graph's form: base64 of {userId}##{teamsAppId}.
    expect(Buffer.from(listed.body.value[0].id, 'base64').toString()).toBe(`${USER.alex}##${SIM_TEAMS_APP_CATALOG_ID}`);
    const again = await call('POST', `/beta/users/alexw@contoso.example/teamwork/installedApps`, bind());
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('Conflict');
    // Filtering by the manifest id works too; without $expand the app is left out.
    const byExternal = await call(
      'GET',
      `/v1.0/users/${USER.alex}/teamwork/installedApps?$filter=${encodeURIComponent(`teamsApp/externalId eq '${SIM_TEAMS_APP_MANIFEST_ID}'`)}`,
    );
    expect(byExternal.body.value).toEqual([
      {
        '@odata.type': '#microsoft.graph.userScopeTeamsAppInstallation',
        id: installationIdFor(USER.alex, SIM_TEAMS_APP_CATALOG_ID),
        consentedPermissionSet: null,
      },
    ]);
  });

  it('returns the 1:1 chat of the user and the bot, stable for the pair, and 404 where the app is not installed', async () => {
    const installationId = installationIdFor(USER.alex, SIM_TEAMS_APP_CATALOG_ID);
    const path = `/v1.0/users/${USER.alex}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`;
    const chat = await call('GET', path);
    expect(chat.status).toBe(200);
    expect(chat.body).toMatchObject({
      '@odata.context': `${sim.url}/v1.0/$metadata#chats/$entity`,
      id: `19:${DEMO_BOT_APP.clientId}_${USER.alex}@unq.gbl.spaces`,
      chatType: 'oneOnOne',
      tenantId: sim.tenantId,
    });
    expect(chat.body.id).toBe(botChatIdFor(USER.alex, DEMO_BOT_APP.clientId));
    expect((await call('GET', path)).body.id).toBe(chat.body.id);
    const other = await call(
      'GET',
      `/v1.0/users/${USER.megan}/teamwork/installedApps/${encodeURIComponent(installationIdFor(USER.megan, SIM_TEAMS_APP_CATALOG_ID))}/chat`,
    );
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('NotFound');
  });

  it("refuses the install with 403 while the tenant's app permission policy blocks the app for the user", async () => {
    expect(await control(sim, 'POST', '/_sim/teams/block-install', { user: 'meganb@contoso.example', blocked: true })).toEqual({
      status: 200,
      body: { user: USER.megan, userPrincipalName: 'meganb@contoso.example', blocked: true },
    });
    const refused = await call('POST', `/v1.0/users/${USER.megan}/teamwork/installedApps`, bind());
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'Forbidden',
      message: `App is blocked by app permission policy. TenantId: ${sim.tenantId}, UserObjectId: ${USER.megan}, AppId: ${SIM_TEAMS_APP_CATALOG_ID}, AppType: Private`,
      innerError: { code: 'AccessDenied' },
    });
    expect((await installedFor(USER.megan)).body.value).toEqual([]);
    await control(sim, 'POST', '/_sim/teams/block-install', { user: USER.megan, blocked: false });
    expect((await call('POST', `/v1.0/users/${USER.megan}/teamwork/installedApps`, bind())).status).toBe(201);
  });

  it('answers 404 for an unknown user or app and 400 for a malformed body', async () => {
    const noUser = await call('POST', '/v1.0/users/nobody@contoso.example/teamwork/installedApps', bind());
    expect(noUser.status).toBe(404);
    const noApp = await call('POST', `/v1.0/users/${USER.adele}/teamwork/installedApps`, bind('00000000-0000-0000-0000-0000000000aa'));
    expect(noApp.status).toBe(404);
    expect(noApp.body.error.message).toContain("'00000000-0000-0000-0000-0000000000aa' was not found in the Teams app catalog");
    const notJson = await call('POST', `/v1.0/users/${USER.adele}/teamwork/installedApps`, '{not json');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.message).toContain('Unable to read JSON request payload');
    const noBind = await call('POST', `/v1.0/users/${USER.adele}/teamwork/installedApps`, { teamsApp: SIM_TEAMS_APP_CATALOG_ID });
    expect(noBind.status).toBe(400);
    expect(noBind.body.error.message).toContain('teamsApp@odata.bind');
    const badBind = await call('POST', `/v1.0/users/${USER.adele}/teamwork/installedApps`, { 'teamsApp@odata.bind': SIM_TEAMS_APP_CATALOG_ID });
    expect(badBind.status).toBe(400);
    expect(badBind.body.error.message).toContain('expected https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{teamsAppId}');
    const badFilter = await call('GET', `/v1.0/users/${USER.adele}/teamwork/installedApps?$filter=${encodeURIComponent("id eq 'x'")}`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.code).toBe('BadRequest');
    const badExpand = await call('GET', `/v1.0/users/${USER.adele}/teamwork/installedApps?$expand=chat`);
    expect(badExpand.status).toBe(400);
    expect((await installedFor(USER.adele)).body.value).toEqual([]);
  });

  it('needs the permissions Graph documents: 403 Forbidden naming them otherwise', async () => {
    const mailOnly = await sim.issueToken(appClaims(['MailboxSettings.Read']));
    const install = await call('POST', `/v1.0/users/${USER.isaiah}/teamwork/installedApps`, bind(), mailOnly);
    expect(install.status).toBe(403);
    expect(install.body.error).toMatchObject({
      code: 'Forbidden',
      message:
        "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All, TeamsAppInstallation.ReadWriteAndConsentForUser.All'. Roles on the request 'MailboxSettings.Read'.",
    });
    expect((await call('GET', '/v1.0/appCatalogs/teamsApps', undefined, mailOnly)).status).toBe(403);
    expect((await call('POST', `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`, notice(), mailOnly)).status).toBe(403);
    // A Self permission installs only the caller's own app.
    const otherApp = await sim.issueToken(appClaims(['TeamsAppInstallation.ReadWriteSelfForUser.All'], '11111111-2222-3333-4444-555555555555'));
    const foreign = await call('POST', `/v1.0/users/${USER.isaiah}/teamwork/installedApps`, bind(), otherApp);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toContain('may only manage its own Teams app');
    // Delegated callers are not modelled: refused.
    const delegated = await sim.issueToken({
      aud: 'https://graph.microsoft.com',
      scp: 'TeamsAppInstallation.ReadWriteSelfForUser',
      oid: USER.isaiah,
      appid: DEMO_BOT_APP.clientId,
    });
    expect((await call('POST', `/v1.0/users/${USER.isaiah}/teamwork/installedApps`, bind(), delegated)).status).toBe(403);
    expect((await installedFor(USER.isaiah)).body.value).toEqual([]);
  });

  it('accepts an activity notification (204) for a user who has the app, and records it without tokens', async () => {
    await control(sim, 'DELETE', '/_sim/teams/activity');
    const long = 'x'.repeat(200);
    const sent = await call(
      'POST',
      `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`,
      notice({ previewText: { content: long }, teamsAppId: SIM_TEAMS_APP_CATALOG_ID, chainId: 7 }),
    );
    expect(sent).toEqual({ status: 204, body: undefined });
    const feed = await control(sim, 'GET', '/_sim/teams/activity');
    expect(feed.status).toBe(200);
    expect(feed.body.value).toHaveLength(1);
    expect(feed.body.value[0]).toMatchObject({
      userId: USER.alex,
      userPrincipalName: 'alexw@contoso.example',
      appId: DEMO_BOT_APP.clientId,
      teamsAppId: SIM_TEAMS_APP_CATALOG_ID,
      deliveredVia: 'personal',
      activityType: 'accessExpiring',
      topic: { source: 'text', value: 'PIM Approvals', webUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${DEMO_BOT_APP.clientId}` },
      previewText: long,
      previewShown: 'x'.repeat(150),
      templateParameters: [
        { name: 'roleName', value: 'Security Administrator' },
        { name: 'when', value: 'in 30 minutes' },
      ],
      chainId: 7,
    });
    expect(JSON.stringify(feed.body)).not.toContain(token);
  });

  it('refuses a notification with 403 where the app is not installed, and delivers it through a team the user is in', async () => {
    await control(sim, 'DELETE', '/_sim/teams/activity');
    const refused = await call('POST', `/v1.0/users/${USER.patti}/teamwork/sendActivityNotification`, notice());
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'Forbidden',
      message: expect.stringContaining(`Application with AAD App Id '${DEMO_BOT_APP.clientId}' is not authorized to generate custom text notifications`),
    });
    expect((await control(sim, 'POST', '/_sim/teams/team-member', { user: 'pattif@contoso.example', member: true })).status).toBe(200);
    expect((await call('POST', `/beta/users/${USER.patti}/teamwork/sendActivityNotification`, notice())).status).toBe(204);
    const feed = await control(sim, 'GET', '/_sim/teams/activity');
    expect(feed.body.value.map((n: any) => [n.userId, n.deliveredVia])).toEqual([[USER.patti, 'team']]);
    await control(sim, 'POST', '/_sim/teams/team-member', { user: USER.patti, member: false });
    expect((await call('POST', `/v1.0/users/${USER.patti}/teamwork/sendActivityNotification`, notice())).status).toBe(403);
    // An app that is not this Teams app's webApplicationInfo id cannot notify anyone.
    const stranger = await sim.issueToken(appClaims(['TeamsActivity.Send'], '11111111-2222-3333-4444-555555555555'));
    expect((await call('POST', `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`, notice(), stranger)).status).toBe(403);
  });

  it('validates the notification body with 400 and a message saying what is wrong', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ topic: undefined }, "'topic' is required"],
      [{ topic: { source: 'url', value: 'x' } }, "topic.source must be 'entityUrl' or 'text'"],
      [{ topic: { source: 'text', value: 'PIM' } }, "topic.webUrl is required when topic.source is 'text'"],
      [{ topic: { source: 'entityUrl', value: 'not-a-graph-url' } }, 'must be a Microsoft Graph URL'],
      [{ activityType: '' }, "'activityType' is required"],
      [{ activityType: 'somethingElse' }, "Activity type 'somethingElse' is not declared"],
      [{ previewText: 'plain string' }, "'previewText' is required"],
      [{ templateParameters: { roleName: 'x' } }, "'templateParameters' must be an array"],
      [{ templateParameters: [{ name: 'roleName', value: 'x' }] }, "Missing template parameters for activity type 'accessExpiring': when"],
      [{ chainId: 'seven' }, "'chainId' must be an integer"],
    ];
    for (const [over, message] of cases) {
      const r = await call('POST', `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`, notice(over));
      expect([r.status, r.body.error.code]).toEqual([400, 'BadRequest']);
      expect(r.body.error.message).toContain(message);
    }
    expect((await call('POST', `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`, '[]')).status).toBe(400);
    // systemDefault is reserved: always accepted, no manifest template.
    const free = await call(
      'POST',
      `/v1.0/users/${USER.alex}/teamwork/sendActivityNotification`,
      notice({ activityType: 'systemDefault', templateParameters: [{ name: 'systemDefaultText', value: 'Your digest is ready' }] }),
    );
    expect(free.status).toBe(204);
    expect((await call('POST', '/v1.0/users/nobody@contoso.example/teamwork/sendActivityNotification', notice())).status).toBe(404);
  });

  it('control: lists installations, uninstalls for a user (the chat id survives a reinstall) and validates bodies', async () => {
    const list = await control(sim, 'GET', '/_sim/teams/installations');
    expect(list.status).toBe(200);
    expect(list.body.value.map((i: any) => i.userPrincipalName).sort()).toEqual(['alexw@contoso.example', 'meganb@contoso.example']);
    expect(list.body.value.find((i: any) => i.user === USER.alex)).toMatchObject({
      installationId: installationIdFor(USER.alex, SIM_TEAMS_APP_CATALOG_ID),
      teamsAppId: SIM_TEAMS_APP_CATALOG_ID,
      externalId: SIM_TEAMS_APP_MANIFEST_ID,
      chatId: botChatIdFor(USER.alex, DEMO_BOT_APP.clientId),
    });

    expect((await control(sim, 'DELETE', '/_sim/teams/installations/meganb@contoso.example')).status).toBe(204);
    expect((await installedFor(USER.megan)).body.value).toEqual([]);
    const again = await control(sim, 'DELETE', `/_sim/teams/installations/${USER.megan}`);
    expect(again).toMatchObject({ status: 404, body: { error: { code: 'NotInstalled' } } });
    expect((await control(sim, 'DELETE', '/_sim/teams/installations/nobody@contoso.example')).status).toBe(404);
    expect((await call('POST', `/v1.0/users/${USER.megan}/teamwork/installedApps`, bind())).status).toBe(201);
    const chat = await call(
      'GET',
      `/v1.0/users/${USER.megan}/teamwork/installedApps/${encodeURIComponent(installationIdFor(USER.megan, SIM_TEAMS_APP_CATALOG_ID))}/chat`,
    );
    expect(chat.body.id).toBe(botChatIdFor(USER.megan, DEMO_BOT_APP.clientId));

    const bad: Array<[string, unknown, string, string]> = [
      ['/_sim/teams/block-install', { user: 'nobody@contoso.example', blocked: true }, 'InvalidUser', "user: no user with id or UPN 'nobody@contoso.example'."],
      ['/_sim/teams/block-install', { user: USER.alex, blocked: 'yes' }, 'InvalidBlocked', 'blocked: must be true or false.'],
      ['/_sim/teams/block-install', [1], 'InvalidBody', 'Body must be JSON: {"user": "<id or UPN>", "blocked": true|false}.'],
      ['/_sim/teams/team-member', { user: USER.alex }, 'InvalidMember', 'member: must be true or false.'],
      ['/_sim/teams/team-member', { member: true }, 'InvalidUser', "user: no user with id or UPN 'undefined'."],
    ];
    for (const [path, body, code, message] of bad) {
      expect(await control(sim, 'POST', path, body)).toEqual({ status: 400, body: { error: { code, message } } });
    }
  });

  it('uninstalls through Graph too (DELETE installation, 204), after which the chat is 404', async () => {
    const installationId = encodeURIComponent(installationIdFor(USER.megan, SIM_TEAMS_APP_CATALOG_ID));
    expect((await call('DELETE', `/v1.0/users/${USER.megan}/teamwork/installedApps/${installationId}`)).status).toBe(204);
    expect((await call('GET', `/v1.0/users/${USER.megan}/teamwork/installedApps/${installationId}/chat`)).status).toBe(404);
    expect((await call('GET', `/v1.0/users/${USER.megan}/teamwork/installedApps/${installationId}`)).status).toBe(404);
  });
});
