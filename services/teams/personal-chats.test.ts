import type { Client } from '@microsoft/microsoft-graph-client';
import type { SimHandle } from '../../sim/server';
import { DEMO_BOT_APP, USER } from '../../sim/seed';
import { botAppCredential, control, graphClientWithToken, startTestSim } from '../../sim/test-support';
import { botChatIdFor, SIM_TEAMS_APP_CATALOG_ID, SIM_TEAMS_APP_MANIFEST_ID } from '../../sim/graph-teamwork';
import { createGraphClient } from '../graph/graph-client';
import { GraphCallError } from '../graph/graph-errors';
import { GraphPersonalChats, isTransientGraphError, webUrlForBotChat, type ActivityNotice } from './personal-chats';

const SERVICE_URL = 'https://smba.trafficmanager.net/teams/';

describe('personal chats through Graph app installation, with the activity feed as fallback (simulator over HTTPS)', () => {
  let sim: SimHandle;
  let graph: Client;
  const options = () => ({ manifestId: SIM_TEAMS_APP_MANIFEST_ID, botAppId: DEMO_BOT_APP.clientId, tenantId: sim.tenantId, serviceUrl: SERVICE_URL });
  const chats = (client: Client = graph) => new GraphPersonalChats(client, options());
  const calls = (method: string, pattern: RegExp) => sim.state.calls.filter((c) => c.method === method && pattern.test(c.path));
  const appToken = (roles: string[]) => () =>
    sim.issueToken({ aud: 'https://graph.microsoft.com', idtyp: 'app', roles, appid: DEMO_BOT_APP.clientId, azp: DEMO_BOT_APP.clientId, oid: 'sp-bot' });
  const notice = (over: Partial<ActivityNotice> = {}): ActivityNotice => ({
    activityType: 'dailyDigest',
    previewText: 'Two approvals wait for you; your Security Administrator eligibility ends Friday.',
    topicText: 'PIM daily digest',
    webUrl: webUrlForBotChat(DEMO_BOT_APP.clientId),
    templateParameters: { summary: '2 approvals waiting' },
    ...over,
  });
  const expectedReference = (userId: string) => ({
    channelId: 'msteams',
    serviceUrl: SERVICE_URL,
    conversation: { id: botChatIdFor(userId, DEMO_BOT_APP.clientId), conversationType: 'personal', tenantId: sim.tenantId, isGroup: false, name: '' },
    bot: { id: `28:${DEMO_BOT_APP.clientId}`, name: '' },
    user: { id: '', aadObjectId: userId, name: '' },
  });

  beforeAll(async () => {
    sim = await startTestSim();
    // The production client: the bot's own credentials and the consented application permissions.
    graph = createGraphClient(sim.url, botAppCredential(sim));
  });
  afterAll(() => sim.close());
  afterEach(async () => {
    await control(sim, 'DELETE', '/_sim/faults');
  });

  it('resolves the catalog id from the manifest id once, and says to publish the app when it is not in the catalog', async () => {
    const service = chats();
    const before = calls('GET', /appCatalogs\/teamsApps$/).length;
    expect(await service.catalogId()).toBe(SIM_TEAMS_APP_CATALOG_ID);
    expect(await service.catalogId()).toBe(SIM_TEAMS_APP_CATALOG_ID);
    expect(calls('GET', /appCatalogs\/teamsApps$/).length - before).toBe(1);

    const unpublished = new GraphPersonalChats(graph, { ...options(), manifestId: '00000000-0000-0000-0000-00000000abcd' });
    await expect(unpublished.catalogId()).rejects.toThrow(/publish the app to the org catalog/);
    await expect(unpublished.openChat(USER.alex)).rejects.toThrow(/publish the app to the org catalog/);
  });

  it('installs the app for a user without it, then returns a reference to their 1:1 chat with the bot', async () => {
    const result = await chats().openChat(USER.alex);
    expect(result).toEqual({
      kind: 'chat',
      chatId: `19:${DEMO_BOT_APP.clientId}_${USER.alex}@unq.gbl.spaces`,
      installedNow: true,
      reference: expectedReference(USER.alex),
    });
    const installed = await control(sim, 'GET', '/_sim/teams/installations');
    expect(installed.body.value.map((i: any) => i.user)).toEqual([USER.alex]);
    expect(calls('POST', /teamwork\/installedApps$/).map((c) => c.status)).toEqual([201]);
  });

  it('reuses the installation on the next call: same chat, no second install', async () => {
    const service = chats();
    const result = await service.openChat(USER.alex);
    expect(result).toEqual({
      kind: 'chat',
      chatId: botChatIdFor(USER.alex, DEMO_BOT_APP.clientId),
      installedNow: false,
      reference: expectedReference(USER.alex),
    });
    expect(calls('POST', /teamwork\/installedApps$/)).toHaveLength(1);
  });

  it('reads a 409 (installed meanwhile, e.g. by another worker) as installed and looks the installation up', async () => {
    // Isaiah gets the app elsewhere; our first listing is stale and misses it.
    const direct = graphClientWithToken(sim, appToken(['TeamsAppInstallation.ReadWriteSelfForUser.All']));
    await direct
      .api(`/users/${USER.isaiah}/teamwork/installedApps`)
      .post({ 'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${SIM_TEAMS_APP_CATALOG_ID}` });
    const result = await chats(staleFirstListing(graph)).openChat(USER.isaiah);
    expect(result).toEqual({
      kind: 'chat',
      chatId: botChatIdFor(USER.isaiah, DEMO_BOT_APP.clientId),
      installedNow: false,
      reference: expectedReference(USER.isaiah),
    });
    expect(calls('POST', new RegExp(`users/${USER.isaiah}/teamwork/installedApps$`)).map((c) => c.status)).toEqual([201, 409]);
  });

  it("answers blocked when the tenant's app permission policy refuses the installation (403)", async () => {
    await control(sim, 'POST', '/_sim/teams/block-install', { user: USER.megan, blocked: true });
    const result = await chats().openChat(USER.megan);
    expect(result).toEqual({ kind: 'blocked', reason: expect.stringContaining('App is blocked by app permission policy') });
    const installed = await control(sim, 'GET', '/_sim/teams/installations');
    expect(installed.body.value.map((i: any) => i.user)).not.toContain(USER.megan);
  });

  it('notifies a user through the activity feed: sent where the app reaches them, not-reachable where it does not', async () => {
    await control(sim, 'DELETE', '/_sim/teams/activity');
    const service = chats();
    // Alex has the app personally.
    expect(await service.notify(USER.alex, notice())).toBe('sent');
    // Megan is blocked and has no installation; once she is in a team with the app, the feed reaches her.
    expect(await service.notify(USER.megan, notice())).toBe('not-reachable');
    await control(sim, 'POST', '/_sim/teams/team-member', { user: USER.megan, member: true });
    const long = `Digest: ${'a'.repeat(200)}`;
    expect(await service.notify(USER.megan, notice({ previewText: long }))).toBe('sent');
    // Unknown users are not reachable either (404).
    expect(await service.notify('00000000-0000-0000-0000-00000000dead', notice())).toBe('not-reachable');

    const feed = (await control(sim, 'GET', '/_sim/teams/activity')).body.value;
    expect(feed.map((n: any) => [n.userId, n.deliveredVia])).toEqual([
      [USER.alex, 'personal'],
      [USER.megan, 'team'],
    ]);
    expect(feed[0]).toMatchObject({
      teamsAppId: SIM_TEAMS_APP_CATALOG_ID,
      activityType: 'dailyDigest',
      topic: { source: 'text', value: 'PIM daily digest', webUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${DEMO_BOT_APP.clientId}` },
      previewText: 'Two approvals wait for you; your Security Administrator eligibility ends Friday.',
      templateParameters: [{ name: 'summary', value: '2 approvals waiting' }],
    });
    // Teams shows 150 characters: the service cuts the preview there with an ellipsis.
    expect(feed[1].previewText).toBe(`${long.slice(0, 149)}…`);
    expect(feed[1].previewText).toHaveLength(150);
  });

  it("throws (transient) on a Graph 503 so the caller's job retries, for installs and notifications", async () => {
    const fault = await control(sim, 'POST', '/_sim/faults', { pathPattern: 'teamwork/installedApps', status: 503, retryAfterSeconds: 0 });
    expect(fault.status).toBe(201);
    const service = chats();
    const err = await service.openChat(USER.lynne).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GraphCallError);
    expect((err as GraphCallError).status).toBe(503);
    expect(isTransientGraphError(err)).toBe(true);

    await control(sim, 'DELETE', '/_sim/faults');
    await control(sim, 'POST', '/_sim/faults', { pathPattern: 'sendActivityNotification', status: 503, retryAfterSeconds: 0 });
    const notifyErr = await service.notify(USER.alex, notice()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((notifyErr as GraphCallError).status).toBe(503);
    expect(isTransientGraphError(notifyErr)).toBe(true);

    await control(sim, 'DELETE', '/_sim/faults');
    expect(await service.openChat(USER.lynne)).toMatchObject({ kind: 'chat', installedNow: true });
  });

  it('throws (not transient) when the app lacks a Graph permission, instead of calling the user blocked or unreachable', async () => {
    // May list installations (TeamsAppInstallation.ReadForUser.All) but not install: the POST is refused.
    const noInstall = graphClientWithToken(sim, appToken(['AppCatalog.Read.All', 'TeamsAppInstallation.ReadForUser.All']));
    const err = await chats(noInstall)
      .openChat(USER.diego)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(GraphCallError);
    expect((err as GraphCallError).status).toBe(403);
    expect((err as GraphCallError).message).toContain('Missing role permissions');
    expect(isTransientGraphError(err)).toBe(false);
    expect(calls('POST', new RegExp(`users/${USER.diego}/teamwork/installedApps$`)).map((c) => c.status)).toEqual([403]);

    const noSend = graphClientWithToken(sim, appToken(['AppCatalog.Read.All', 'TeamsAppInstallation.ReadWriteSelfForUser.All']));
    await expect(chats(noSend).notify(USER.alex, notice())).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("requires one of 'TeamsActivity.Send'"),
    });

    const noCatalog = graphClientWithToken(sim, appToken(['TeamsAppInstallation.ReadWriteSelfForUser.All']));
    await expect(chats(noCatalog).catalogId()).rejects.toThrow(/AppCatalog\.Read\.All/);
  });

  it('throws a 404 for a user the directory does not know', async () => {
    await expect(chats().openChat('nobody@contoso.example')).rejects.toMatchObject({ status: 404 });
  });

  it("gives the Teams deep link to the bot's personal chat and checks its options", () => {
    expect(chats().webUrlForBotChat()).toBe(`https://teams.microsoft.com/l/chat/0/0?users=28:${DEMO_BOT_APP.clientId}`);
    expect(() => new GraphPersonalChats(graph, { ...options(), botAppId: ' ' })).toThrow('botAppId is required');
  });
});

/** The client, except that its first listing of a user's installed apps is stale (empty), as a replica lagging behind may be. */
function staleFirstListing(client: Client): Client {
  let stale = true;
  return {
    api(path: string) {
      const request = client.api(path);
      if (/\/teamwork\/installedApps$/.test(path)) {
        const get = request.get.bind(request);
        request.get = async () => {
          if (!stale) return get();
          stale = false;
          return { value: [] };
        };
      }
      return request;
    },
  } as unknown as Client;
}
