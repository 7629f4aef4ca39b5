/**
 * The outbox's SentCopyFinder on Microsoft Graph: reads the bot's recent messages in a conversation to tell
 * whether a post whose answer was lost is there.
 *
 * - A channel post (a thread root): GET /teams/{team-id}/channels/{channel-id}/messages, which needs the
 *   channel's team id (APPROVER_CHANNELS' `teamId`) and ChannelMessage.Read.Group (resource-specific consent
 *   in the app manifest) or ChannelMessage.Read.All.
 * - A reply in a thread: GET …/messages/{root-id}/replies, the same permissions.
 * - A personal chat: GET /chats/{chat-id}/messages?$orderby=createdDateTime desc, with ChatMessage.Read.Chat
 *   (resource-specific consent) or Chat.Read.All. A conversation id that is not Graph's chat id (`a:…`) is
 *   resolved through the user's installation of the app (GET …/installedApps/{id}/chat).
 *
 * A card is recognised by the marker it carries, a text by its text; only messages from this bot's app,
 * not deleted, created since the search's `since`, count. Anything that stops it from looking is `unknown`.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { carriesMarker, plainText, type CopyFinding, type CopySearch, type SentCopyFinder } from '../outbox/sent-copies';
import { GraphCallError, toGraphCallError } from '../graph/graph-errors';

export interface GraphSentCopyFinderOptions {
  botAppId: string;
  /** The team (Microsoft 365 group id) of a channel, from configuration; undefined when not configured. */
  teamOf(channelId: string): string | undefined;
  /** Graph's id of the user's 1:1 chat with the bot, or undefined when it cannot be known. */
  chatOf(userId: string): Promise<string | undefined>;
}

interface ChatMessage {
  id?: string;
  createdDateTime?: string;
  deletedDateTime?: string | null;
  from?: { application?: { id?: string } | null } | null;
  body?: { content?: string } | null;
  attachments?: Array<{ contentType?: string; content?: string | null }> | null;
}

/** Pages of 50 looked at, newest first, before giving up (a busy channel: 250 thread roots since the attempt). */
const MAX_PAGES = 5;
const PAGE_SIZE = 50;

export class GraphSentCopyFinder implements SentCopyFinder {
  constructor(
    private readonly graph: Client,
    private readonly opts: GraphSentCopyFinderOptions,
  ) {}

  async find(q: CopySearch): Promise<CopyFinding> {
    const where = await this.listing(q);
    if ('unknown' in where) return { status: 'unknown', detail: where.unknown, lasting: true };
    const since = q.since.getTime();
    const matches: ChatMessage[] = [];
    let url: string | undefined = where.url;
    for (let pageNo = 0; url; pageNo++) {
      if (pageNo === MAX_PAGES)
        return { status: 'unknown', detail: `more than ${MAX_PAGES * PAGE_SIZE} messages since the attempt; not all were read`, lasting: false };
      let page: { value?: ChatMessage[]; '@odata.nextLink'?: string };
      try {
        page = await this.graph.api(url).get();
      } catch (err) {
        const e = toGraphCallError(err, 'Reading back the conversation');
        // 403: the permission (or its resource-specific consent) is missing; 404: Graph does not know the conversation.
        return {
          status: 'unknown',
          detail: `Graph answered ${e.status || 'no status'}: ${e.message}`,
          lasting: e.status === 403 || e.status === 404 || e.status === 400,
        };
      }
      const items = Array.isArray(page.value) ? page.value : [];
      for (const m of items) if (this.isCopy(m, q, since)) matches.push(m);
      // Newest first: a page whose every message is older than the attempt ends the search.
      if (items.length === 0 || items.every((m) => Date.parse(m.createdDateTime ?? '') < since)) break;
      url = page['@odata.nextLink'];
    }
    if (matches.length === 0) return { status: 'absent' };
    matches.sort((a, b) => Date.parse(a.createdDateTime!) - Date.parse(b.createdDateTime!) || Number(a.id) - Number(b.id));
    return { status: 'found', activityIds: matches.map((m) => m.id!) };
  }

  private async listing(q: CopySearch): Promise<{ url: string } | { unknown: string }> {
    const [conversation, threadRoot] = splitThread(q.conversationId);
    if (q.kind === 'reply' || threadRoot) {
      const team = this.opts.teamOf(conversation);
      if (!team) return { unknown: `no teamId is configured for channel ${conversation} (APPROVER_CHANNELS)` };
      const root = q.replyToId ?? threadRoot!;
      return { url: `/teams/${enc(team)}/channels/${enc(conversation)}/messages/${enc(root)}/replies?$top=${PAGE_SIZE}` };
    }
    if (/@thread\./.test(conversation)) {
      const team = this.opts.teamOf(conversation);
      if (!team) return { unknown: `no teamId is configured for channel ${conversation} (APPROVER_CHANNELS)` };
      return { url: `/teams/${enc(team)}/channels/${enc(conversation)}/messages?$top=${PAGE_SIZE}` };
    }
    let chatId: string | undefined = conversation.startsWith('19:') ? conversation : undefined;
    if (!chatId) {
      const userId = typeof q.meta?.userId === 'string' ? q.meta.userId : undefined;
      if (!userId) return { unknown: 'the personal chat is not named by Graph and the message names no user' };
      try {
        chatId = await this.opts.chatOf(userId);
      } catch (err) {
        const e = err instanceof GraphCallError ? err : toGraphCallError(err, "Reading the user's chat with the bot");
        return { unknown: `the user's chat with the bot could not be read: ${e.message}` };
      }
      if (!chatId) return { unknown: "the user's chat with the bot is not known to Graph (is TEAMS_APP_MANIFEST_ID set?)" };
    }
    return { url: `/chats/${enc(chatId)}/messages?$top=${PAGE_SIZE}&$orderby=createdDateTime desc` };
  }

  private isCopy(m: ChatMessage, q: CopySearch, since: number): boolean {
    if (!m.id || m.deletedDateTime) return false;
    if (m.from?.application?.id?.toLowerCase() !== this.opts.botAppId.toLowerCase()) return false;
    if (!(Date.parse(m.createdDateTime ?? '') >= since)) return false;
    if (q.payload.type === 'card') return (m.attachments ?? []).some((a) => typeof a?.content === 'string' && carriesMarker(a.content, q.marker));
    return plainText(m.body?.content ?? '') === plainText(q.payload.text);
  }
}

function splitThread(conversation: string): [string, string | null] {
  const m = /^(.*);messageid=(\d+)$/.exec(conversation);
  return m ? [m[1]!, m[2]!] : [conversation, null];
}

const enc = encodeURIComponent;
