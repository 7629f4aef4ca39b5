/**
 * Microsoft Graph's reads of Teams messages, over what the Bot Connector stand-in accepted
 * (sim/teams-messages.ts), as far as the bot needs them to tell whether a post whose answer it lost is
 * in the conversation:
 *
 * - `GET /teams/{team-id}/channels/{channel-id}/messages`: a channel's thread roots, newest first
 *   (application: `ChannelMessage.Read.Group`, resource-specific consent, or `ChannelMessage.Read.All`);
 * - `GET /teams/{team-id}/channels/{channel-id}/messages/{message-id}/replies`: a thread's replies;
 * - `GET /chats/{chat-id}/messages`: a chat's messages (application: `ChatMessage.Read.Chat`, resource-
 *   specific consent, or `Chat.Read.All`); `$orderby=createdDateTime desc` or the default
 *   `lastModifiedDateTime desc`, `$top` at most 50.
 *
 * Each item is a chatMessage: `from.application` for a bot's message, `body` (html), an Adaptive Card as an
 * attachment whose `content` is the card's JSON as a string, and `deletedDateTime` once deleted (the message
 * stays in the list, its body emptied).
 */
import type { SimContext } from './context';
import { graphCaller, graphError, isResponse, page, type GraphCaller } from './graph-common';
import type { SimRequest, SimResponse } from './http';
import type { Router } from './router';
import { DEMO_BOT_APP } from './seed';
import type { TeamsMessage, TeamsMessages } from './teams-messages';

const CHANNEL_READ = ['ChannelMessage.Read.Group', 'ChannelMessage.Read.All'];
const CHAT_READ = ['ChatMessage.Read.Chat', 'Chat.Read.All', 'Chat.ReadWrite.All'];
const CARD = 'application/vnd.microsoft.card.adaptive';
const BOT_CHAT = /^19:([0-9a-f-]{36})_([0-9a-f-]{36})@unq\.gbl\.spaces$/i;

export function registerGraphMessages(router: Router, ctx: SimContext, teams: TeamsMessages): void {
  const caller = async (req: SimRequest, needed: string[]): Promise<GraphCaller | SimResponse> => {
    const c = await graphCaller(ctx, req);
    if (isResponse(c)) return c;
    if (c.kind === 'app' && !c.roles.some((r) => needed.includes(r))) {
      return graphError(
        req,
        403,
        'Forbidden',
        `Missing role permissions on the request. API requires one of '${needed.join(', ')}'. Roles on the request '${c.roles.join(', ')}'.`,
      );
    }
    return c;
  };

  for (const v of ['v1.0', 'beta']) {
    router.add('GET', `/${v}/teams/:teamId/channels/:channelId/messages`, async (req, p) => {
      const c = await caller(req, CHANNEL_READ);
      if (isResponse(c)) return c;
      const channel = channelOf(req, teams, p.teamId!, p.channelId!);
      if (typeof channel !== 'string') return channel;
      const roots = teams.visibleOrDeleted([channel]).filter((m) => m.replyToId === null);
      return page(
        req,
        newestFirst(roots, 'createdAt').map((m) => chatMessage(m, { teamId: p.teamId!, channelId: channel })),
        `teams('${p.teamId}')/channels('${channel}')/messages`,
        20,
        50,
      );
    });
    router.add('GET', `/${v}/teams/:teamId/channels/:channelId/messages/:messageId/replies`, async (req, p) => {
      const c = await caller(req, CHANNEL_READ);
      if (isResponse(c)) return c;
      const channel = channelOf(req, teams, p.teamId!, p.channelId!);
      if (typeof channel !== 'string') return channel;
      const root = teams.get(p.messageId!);
      if (!root || root.conversationId !== channel || root.replyToId !== null)
        return graphError(req, 404, 'NotFound', `Message ${p.messageId} was not found in the channel.`);
      const replies = teams.visibleOrDeleted([channel]).filter((m) => m.replyToId === root.id);
      return page(
        req,
        newestFirst(replies, 'createdAt').map((m) => chatMessage(m, { teamId: p.teamId!, channelId: channel })),
        `teams('${p.teamId}')/channels('${channel}')/messages('${root.id}')/replies`,
        20,
        50,
      );
    });
    router.add('GET', `/${v}/chats/:chatId/messages`, async (req, p) => {
      const c = await caller(req, CHAT_READ);
      if (isResponse(c)) return c;
      const chatId = p.chatId!;
      const conversations = [chatId];
      const bot = BOT_CHAT.exec(chatId);
      if (bot) conversations.push(...teams.personalConversations(bot[2]!));
      const messages = teams.visibleOrDeleted(conversations);
      if (!bot && messages.length === 0) return graphError(req, 404, 'NotFound', `Chat ${chatId} was not found.`);
      const orderBy = req.query.get('$orderby')?.trim();
      if (orderBy && !/^(createdDateTime|lastModifiedDateTime) desc$/i.test(orderBy)) {
        return graphError(
          req,
          400,
          'BadRequest',
          `Query option '$orderby' supports only createdDateTime desc and lastModifiedDateTime desc; got '${orderBy}'.`,
        );
      }
      const key = orderBy && /^createdDateTime/i.test(orderBy) ? 'createdAt' : 'modifiedAt';
      return page(
        req,
        newestFirst(messages, key).map((m) => chatMessage(m, { chatId })),
        `chats('${chatId}')/messages`,
        20,
        50,
      );
    });
  }
}

function channelOf(req: SimRequest, teams: TeamsMessages, teamId: string, channelId: string): string | SimResponse {
  const team = teams.teamOf(channelId);
  if (!team || team !== teamId.toLowerCase()) return graphError(req, 404, 'NotFound', `Channel ${channelId} was not found in team ${teamId}.`);
  return channelId;
}

function newestFirst(messages: readonly TeamsMessage[], key: 'createdAt' | 'modifiedAt'): TeamsMessage[] {
  return [...messages].sort((a, b) => b[key] - a[key] || Number(b.id) - Number(a.id));
}

function chatMessage(m: TeamsMessage, where: { teamId: string; channelId: string } | { chatId: string }): Record<string, unknown> {
  const deleted = m.deletedAt !== null;
  const a = m.activity;
  const cards = Array.isArray(a.attachments)
    ? (a.attachments as Array<{ contentType?: string; content?: unknown }>).filter((x) => x?.contentType === CARD)
    : [];
  const attachments = deleted
    ? []
    : cards.map((card, i) => ({
        id: `${m.id}-${i}`,
        contentType: CARD,
        contentUrl: null,
        content: JSON.stringify(card.content ?? {}),
        name: null,
        thumbnailUrl: null,
        teamsAppId: null,
      }));
  const text = typeof a.text === 'string' ? a.text : '';
  const html = attachments.map((x) => `<attachment id="${x.id}"></attachment>`).join('') + (text ? `<p>${escapeHtml(text).replace(/\n/g, '<br>')}</p>` : '');
  return {
    id: m.id,
    replyToId: m.replyToId,
    etag: String(m.modifiedAt),
    messageType: 'message',
    createdDateTime: new Date(m.createdAt).toISOString(),
    lastModifiedDateTime: new Date(m.modifiedAt).toISOString(),
    lastEditedDateTime: m.modifiedAt !== m.createdAt && !deleted ? new Date(m.modifiedAt).toISOString() : null,
    deletedDateTime: deleted ? new Date(m.deletedAt!).toISOString() : null,
    subject: null,
    summary: null,
    chatId: 'chatId' in where ? where.chatId : null,
    importance: 'normal',
    locale: 'en-us',
    webUrl: null,
    channelIdentity: 'teamId' in where ? { teamId: where.teamId, channelId: where.channelId } : null,
    from: {
      application: {
        '@odata.type': '#microsoft.graph.teamworkApplicationIdentity',
        id: m.fromAppId,
        displayName: m.fromAppId === DEMO_BOT_APP.clientId ? 'PIM Approvals' : 'Bot',
        applicationIdentityType: 'bot',
      },
      device: null,
      user: null,
    },
    body: { contentType: 'html', content: deleted ? '' : html },
    attachments,
    mentions: [],
    reactions: [],
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
