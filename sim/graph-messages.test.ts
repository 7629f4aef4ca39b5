import { startFakeConnector, type FakeConnector } from './bot-connector';
import { botChatIdFor } from './graph-teamwork';
import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { botAppCredential, GRAPH_SCOPE, startTestSim } from './test-support';

const CHANNEL = '19:msgs@thread.tacv2';
const TEAM = '0b5e1c2d-3f4a-4b6c-8d7e-9f0a1b2c3d4e';

describe('simulated Microsoft Graph: reading back what the Bot Connector accepted', () => {
  let sim: SimHandle;
  let connector: FakeConnector;
  let token: string;
  const call = async (path: string, bearer: string = token) => {
    const res = await fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${bearer}` } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
  const post = async (conversation: string, activity: object) => {
    const res = await fetch(`${connector.serviceUrl}v3/conversations/${encodeURIComponent(conversation)}/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    return ((await res.json()) as { id: string }).id;
  };
  const card = (marker: string) => ({
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', id: marker, text: ' ', isVisible: false }] },
      },
    ],
  });

  beforeAll(async () => {
    sim = await startTestSim();
    connector = await startFakeConnector({ messages: sim.teams });
    connector.registerChannel(CHANNEL, TEAM);
    token = (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token;
  });
  afterAll(async () => {
    await connector.close();
    await sim.close();
  });

  it("lists a channel's thread roots newest first, as chatMessages from the bot with the card as a JSON string", async () => {
    const first = await post(CHANNEL, card('m-1'));
    const second = await post(CHANNEL, card('m-2'));
    await post(`${CHANNEL};messageid=${first}`, { type: 'message', text: 'a nudge <b>here</b>' });
    const list = await call(`/v1.0/teams/${TEAM}/channels/${encodeURIComponent(CHANNEL)}/messages?$top=50`);
    expect(list.status).toBe(200);
    expect(list.body.value.map((m: { id: string }) => m.id)).toEqual([second, first]);
    const [m] = list.body.value;
    expect(m).toMatchObject({
      replyToId: null,
      deletedDateTime: null,
      from: { application: { id: DEMO_BOT_APP.clientId, applicationIdentityType: 'bot' }, user: null },
      channelIdentity: { teamId: TEAM, channelId: CHANNEL },
    });
    expect(JSON.parse(m.attachments[0].content).body[0].id).toBe('m-2');
    const replies = await call(`/v1.0/teams/${TEAM}/channels/${encodeURIComponent(CHANNEL)}/messages/${first}/replies`);
    expect(replies.body.value.map((r: { body: { content: string } }) => r.body.content)).toEqual(['<p>a nudge &lt;b&gt;here&lt;/b&gt;</p>']);
  });

  it('shows a deleted message with deletedDateTime and no body, and 404s a channel of another team', async () => {
    const id = await post(CHANNEL, card('m-3'));
    const del = await fetch(`${connector.serviceUrl}v3/conversations/${encodeURIComponent(CHANNEL)}/activities/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const list = await call(`/v1.0/teams/${TEAM}/channels/${encodeURIComponent(CHANNEL)}/messages`);
    const gone = list.body.value.find((m: { id: string }) => m.id === id);
    expect(gone.deletedDateTime).not.toBeNull();
    expect(gone.attachments).toEqual([]);
    expect(connector.visible(CHANNEL).map((m) => m.id)).not.toContain(id);
    const other = await call(`/v1.0/teams/11111111-2222-4333-8444-555555555555/channels/${encodeURIComponent(CHANNEL)}/messages`);
    expect(other.status).toBe(404);
  });

  it("reads a user's chat with the bot under Graph's chat id, including the conversation the Bot Connector named a:…", async () => {
    connector.registerPersonalChat('a:megan-personal', USER.megan);
    await post('a:megan-personal', { type: 'message', text: 'Your request was approved' });
    const list = await call(
      `/v1.0/chats/${encodeURIComponent(botChatIdFor(USER.megan, DEMO_BOT_APP.clientId))}/messages?$top=50&$orderby=createdDateTime desc`,
    );
    expect(list.status).toBe(200);
    expect(list.body.value.map((m: { body: { content: string } }) => m.body.content)).toEqual(['<p>Your request was approved</p>']);
    expect((await call('/v1.0/chats/19:unknown@thread.v2/messages')).status).toBe(404);
    expect(
      (await call(`/v1.0/chats/${encodeURIComponent(botChatIdFor(USER.megan, DEMO_BOT_APP.clientId))}/messages?$orderby=createdDateTime asc`)).status,
    ).toBe(400);
  });

  it("holds one personal chat under both its names: a post to Graph's chat id shows in the a:… conversation, and either name updates or deletes it", async () => {
    connector.registerPersonalChat('a:lynne-personal', USER.lynne);
    connector.registerPersonalChat('a:patti-personal', USER.patti);
    const graphChat = botChatIdFor(USER.lynne, DEMO_BOT_APP.clientId);
    const viaGraphId = await post(graphChat, { type: 'message', text: 'Your request for Chaos Role 000 was denied' });
    const viaA = await post('a:lynne-personal', { type: 'message', text: 'Your request for Chaos Role 001 was approved' });
    expect(connector.visible('a:lynne-personal').map((m) => m.id)).toEqual([viaGraphId, viaA]);
    expect(connector.visible(graphChat).map((m) => m.id)).toEqual([viaGraphId, viaA]);
    // Another user's chat is another conversation: neither its a:… name nor Graph's id shows Lynne's messages.
    expect(connector.visible('a:patti-personal')).toEqual([]);
    expect(connector.visible(botChatIdFor(USER.patti, DEMO_BOT_APP.clientId))).toEqual([]);
    const del = await fetch(`${connector.serviceUrl}v3/conversations/${encodeURIComponent('a:lynne-personal')}/activities/${viaGraphId}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const wrongChat = await fetch(`${connector.serviceUrl}v3/conversations/${encodeURIComponent('a:patti-personal')}/activities/${viaA}`, { method: 'DELETE' });
    expect(wrongChat.status).toBe(404);
    expect(connector.visible(graphChat).map((m) => m.id)).toEqual([viaA]);
  });

  it('refuses a token without a message-read permission', async () => {
    const other = await sim.issueToken({
      aud: 'https://graph.microsoft.com',
      idtyp: 'app',
      roles: ['User.Read.All'],
      appid: DEMO_BOT_APP.clientId,
      azp: DEMO_BOT_APP.clientId,
      oid: 'sp-bot',
    });
    const res = await call(`/v1.0/teams/${TEAM}/channels/${encodeURIComponent(CHANNEL)}/messages`, other);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('ChannelMessage.Read.Group');
  });
});
