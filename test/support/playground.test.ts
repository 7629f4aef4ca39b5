import { ActivityTypes, CardFactory, type Activity } from 'botbuilder';
import { PLAYGROUND_CHANNEL_ID, PLAYGROUND_PERSONAL_CHAT_ID, PLAYGROUND_TEAM_ID, renderPlaygroundConfig } from '../../scripts/playground-config';
import { DEMO_BOT_APP, DEMO_TENANT_ID, seedTenant, USER } from '../../sim/seed';
import { startEchoBot, type EchoBot } from './echo-bot';
import { startPlayground, type Playground } from './playground';

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

function approvalCard(status: string) {
  return CardFactory.adaptiveCard({
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [{ type: 'TextBlock', text: `Request r-1: ${status}` }],
    actions: [{ type: 'Action.Execute', title: 'Approve', verb: 'pim.approve', data: { requestId: 'r-1', version: 1 } }],
  });
}

const channelConversation = { id: PLAYGROUND_CHANNEL_ID, isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID, name: '' };

describe('renderPlaygroundConfig', () => {
  it('refuses a bot name the playground would reject', () => {
    expect(() => renderPlaygroundConfig({ seed: seedTenant, botId: 'b', botName: 'x'.repeat(43) })).toThrow(/at most 42/);
  });

  it('refuses a seed without the six playground users', () => {
    const seed = { ...seedTenant, users: seedTenant.users.filter((u) => u.teamsUserId !== 'user-id-4') };
    expect(() => renderPlaygroundConfig({ seed, botId: 'b', botName: 'Bot' })).toThrow(/user-id-4/);
  });
});

describe('Teams playground harness', () => {
  let bot: EchoBot;
  let playground: Playground;

  beforeAll(async () => {
    let connectorUrl = '';
    bot = await startEchoBot({ serviceUrl: () => connectorUrl, botId: DEMO_BOT_APP.clientId });
    playground = await startPlayground({ botEndpoint: bot.endpoint, port: 0 });
    connectorUrl = playground.connectorUrl;
  });

  afterAll(async () => {
    await playground?.stop();
    await bot?.stop();
  });

  it('loads the seeded tenant: six users with their directory object ids, the team and the approvals channel', async () => {
    const { config } = await playground.config();
    expect(config.tenantId).toBe(DEMO_TENANT_ID);
    expect(config.bot).toEqual({ id: DEMO_BOT_APP.clientId, name: DEMO_BOT_APP.displayName });
    expect(config.currentUser).toMatchObject({ id: 'user-id-0', aadObjectId: USER.alex });
    expect(config.users.map((u) => [u.id, u.aadObjectId])).toEqual([
      ['user-id-1', USER.megan],
      ['user-id-2', USER.adele],
      ['user-id-3', USER.isaiah],
      ['user-id-4', USER.patti],
      ['user-id-5', USER.lynne],
    ]);
    expect(config.personalChat.id).toBe(PLAYGROUND_PERSONAL_CHAT_ID);
    expect(config.teams[0]!.id).toBe(PLAYGROUND_TEAM_ID);
    expect(config.teams[0]!.channels.map((c) => c.id)).toEqual([PLAYGROUND_TEAM_ID, PLAYGROUND_CHANNEL_ID]);
  });

  it('echoes a message in the personal chat, with the connector as serviceUrl', async () => {
    const mark = playground.mark();
    await playground.sendMessage(PLAYGROUND_PERSONAL_CHAT_ID, 'hello bot');
    const reply = await playground.waitForMessage((e) => e.message.text === 'echo: hello bot', 5000, { after: mark });
    expect(reply).toMatchObject({ action: 'createMessage', actionConversationId: PLAYGROUND_PERSONAL_CHAT_ID });
    const incoming = bot.received.find((a) => a.text === 'hello bot');
    expect(incoming).toMatchObject({
      serviceUrl: playground.connectorUrl,
      conversation: { id: PLAYGROUND_PERSONAL_CHAT_ID, conversationType: 'personal' },
      from: { id: 'user-id-0', aadObjectId: USER.alex },
    });
  });

  it('delivers a channel message to the bot only with an @mention, in a thread of its own, as the current user', async () => {
    await playground.sendMessage(PLAYGROUND_CHANNEL_ID, 'unmentioned chatter', { mentionBot: false });
    const mark = playground.mark();
    const sent = await playground.sendMessage(PLAYGROUND_CHANNEL_ID, 'status please', 'user-id-3');
    expect(sent.postConversationId).toBe(`${PLAYGROUND_CHANNEL_ID};messageid=${sent.messageId}`);
    const reply = await playground.waitForMessage((e) => e.message.text?.startsWith('echo:') ?? false, 5000, { after: mark });
    expect(reply.actionConversationId).toBe(sent.postConversationId);
    const incoming = bot.received.at(-1)!;
    expect(incoming.conversation).toMatchObject({ id: sent.postConversationId, conversationType: 'channel' });
    expect(incoming.channelData).toMatchObject({ teamsChannelId: PLAYGROUND_CHANNEL_ID, teamsTeamId: PLAYGROUND_TEAM_ID });
    // The playground ignores `from` on plain messages: only invokes can act as another user.
    expect(incoming.from).toMatchObject({ id: 'user-id-0', aadObjectId: USER.alex });
    expect(bot.received.some((a) => a.text?.includes('unmentioned chatter'))).toBe(false);
  });

  it('shows a proactive card in the channel, its update, and routes a card action from another user to the bot', async () => {
    const mark = playground.mark();
    const posted = await bot.post(channelConversation, { type: ActivityTypes.Message, attachments: [approvalCard('pending')] });
    expect(posted?.id).toBeTruthy();

    const created = await playground.waitForMessage((e) => e.action === 'createMessage' && e.message.messageId === posted!.id, 5000, { after: mark });
    expect(created.actionConversationId).toBe(PLAYGROUND_CHANNEL_ID);
    expect(created.message.postConversationId).toBe(`${PLAYGROUND_CHANNEL_ID};messageid=${posted!.id}`);
    expect(created.message.attachments?.[0]).toMatchObject({ contentType: ADAPTIVE_CARD, content: { body: [{ text: 'Request r-1: pending' }] } });

    const beforeUpdate = playground.mark();
    await bot.update(channelConversation, { type: ActivityTypes.Message, id: posted!.id, attachments: [approvalCard('approved')] });
    const updated = await playground.waitForMessage((e) => e.action === 'updateMessage' && e.message.messageId === posted!.id, 5000, { after: beforeUpdate });
    expect(updated.actionConversationId).toBe(PLAYGROUND_CHANNEL_ID);
    expect(updated.message.attachments?.[0]).toMatchObject({ content: { body: [{ text: 'Request r-1: approved' }] } });
    expect(playground.message(posted!.id)).toMatchObject({ updates: 1, invokeConversationId: created.message.postConversationId });

    const result = await playground.executeAction({ from: 'user-id-2', replyToId: posted!.id, verb: 'pim.approve', data: { requestId: 'r-1', version: 1 } });
    expect(result).toEqual({ type: 'application/vnd.microsoft.activity.message', value: `Recorded for ${USER.adele}` });
    const invoke = bot.received.find((a): a is Partial<Activity> => a.type === ActivityTypes.Invoke && a.replyToId === posted!.id);
    expect(invoke).toMatchObject({
      name: 'adaptiveCard/action',
      from: { id: 'user-id-2', aadObjectId: USER.adele, name: 'Adele Vance' },
      conversation: { id: created.message.postConversationId },
      value: { action: { type: 'Action.Execute', verb: 'pim.approve', data: { requestId: 'r-1', version: 1 } } },
    });
  });

  it('sends the team installation event the bot uses to learn the channel', async () => {
    const sent = await playground.customActivity('install', PLAYGROUND_TEAM_ID);
    const deadline = Date.now() + 5000;
    while (!bot.received.some((a) => a.id === sent.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(bot.received.find((a) => a.id === sent.id)).toMatchObject({
      type: 'installationUpdate',
      action: 'add',
      conversation: { id: PLAYGROUND_TEAM_ID },
      channelData: { team: { id: PLAYGROUND_TEAM_ID, name: 'Security Operations' } },
    });
  });
});
