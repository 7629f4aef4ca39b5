/**
 * What Teams holds: the messages bots posted through the Bot Connector stand-in (sim/bot-connector.ts),
 * as Microsoft Graph reads them back (sim/graph-messages.ts). One store, so a post Teams accepted is
 * visible through Graph whether or not the poster ever got the answer, as in Teams.
 *
 * Conversations are named as the Bot Connector names them: a channel (`19:…@thread.tacv2`, a post there
 * starts a thread), a thread in it (`19:…@thread.tacv2;messageid=<root id>`, a post there is a reply) or
 * a personal chat (`a:…` from a user's first message, or Graph's `19:<app>_<user>@unq.gbl.spaces`).
 *
 * A user's personal chat with the bot has both names at once, as in Teams: the Bot Connector accepts
 * either for a post, an update or a delete (Microsoft's proactive-messaging guidance has bots post to the
 * chat id Graph returns for the app's installation), and a message posted under one is in the chat read
 * under the other.
 */

/** Graph's id of a user's 1:1 chat with a bot: `19:<bot app id>_<user id>@unq.gbl.spaces`. */
const BOT_CHAT = /^19:([0-9a-f-]{36})_([0-9a-f-]{36})@unq\.gbl\.spaces$/i;

export interface TeamsMessage {
  /** The activity id the connector answered with; Graph's chatMessage id is the same number. */
  id: string;
  /** The conversation as posted to, without `;messageid=`. */
  conversationId: string;
  /** For a reply: the thread's root message id. */
  replyToId: string | null;
  /** The bot's app id (Graph: `from.application.id`). */
  fromAppId: string;
  createdAt: number;
  modifiedAt: number;
  deletedAt: number | null;
  /** The latest activity (after updates). */
  activity: Record<string, unknown>;
}

export class TeamsMessages {
  private readonly byId = new Map<string, TeamsMessage>();
  private readonly order: TeamsMessage[] = [];
  private readonly teamOfChannel = new Map<string, string>();
  private readonly chatsOfUser = new Map<string, Set<string>>();
  private readonly userOfChat = new Map<string, string>();
  private seq = 0;
  private readonly personalChatListeners: Array<(userId: string) => void> = [];

  constructor(private readonly clock: () => number = Date.now) {}

  /** The team (its Microsoft 365 group id) a channel belongs to: Graph reads a channel's messages by both. */
  registerChannel(channelId: string, teamId: string): void {
    this.teamOfChannel.set(channelId, teamId.toLowerCase());
  }

  teamOf(channelId: string): string | undefined {
    return this.teamOfChannel.get(channelId);
  }

  /** A personal conversation the Bot Connector names `a:…`: Graph knows it as the user's chat with the app. */
  registerPersonalChat(conversationId: string, userId: string): void {
    const set = this.chatsOfUser.get(userId.toLowerCase()) ?? this.chatsOfUser.set(userId.toLowerCase(), new Set()).get(userId.toLowerCase())!;
    set.add(conversationId);
    this.userOfChat.set(conversationId, userId.toLowerCase());
    for (const listener of this.personalChatListeners) listener(userId);
  }

  /** Told of every user who gets a personal chat (the simulator's Graph lists the app as installed for them). */
  onPersonalChat(listener: (userId: string) => void): void {
    this.personalChatListeners.push(listener);
  }

  /** Bot Connector conversation ids that are the user's chat with the app. */
  personalConversations(userId: string): string[] {
    return [...(this.chatsOfUser.get(userId.toLowerCase()) ?? [])];
  }

  /** One name per conversation: a user's personal chat is named by the user, whichever id addressed it. */
  private chatKey(conversationId: string): string {
    const bot = BOT_CHAT.exec(conversationId);
    const user = bot ? bot[2]!.toLowerCase() : this.userOfChat.get(conversationId);
    return user ? `personal:${user}` : conversationId;
  }

  /** Whether two conversation ids (thread suffixes removed) name the same conversation. */
  sameConversation(a: string, b: string): boolean {
    return this.chatKey(a) === this.chatKey(b);
  }

  /** Teams accepted a post: it is visible from now on, whatever happens to the answer. */
  post(conversation: string, activity: Record<string, unknown>, fromAppId: string): TeamsMessage {
    const [conversationId, root] = splitThread(conversation);
    const now = this.clock();
    const message: TeamsMessage = {
      // Teams' message ids are epoch milliseconds; a counter keeps them unique within one millisecond.
      id: String(now * 1000 + (this.seq++ % 1000)),
      conversationId,
      replyToId: root,
      fromAppId,
      createdAt: now,
      modifiedAt: now,
      deletedAt: null,
      activity,
    };
    this.byId.set(message.id, message);
    this.order.push(message);
    return message;
  }

  /** An update in place; false when there is no such message in the conversation. */
  update(conversation: string, id: string, activity: Record<string, unknown>): boolean {
    const m = this.byId.get(id);
    if (!m || m.deletedAt !== null || !this.sameConversation(m.conversationId, splitThread(conversation)[0])) return false;
    m.activity = activity;
    m.modifiedAt = this.clock();
    return true;
  }

  /** A delete: the message stays in the list as deleted, as Graph shows it (deletedDateTime). */
  delete(conversation: string, id: string): boolean {
    const m = this.byId.get(id);
    if (!m || m.deletedAt !== null || !this.sameConversation(m.conversationId, splitThread(conversation)[0])) return false;
    m.deletedAt = this.clock();
    m.modifiedAt = m.deletedAt;
    return true;
  }

  get(id: string): TeamsMessage | undefined {
    return this.byId.get(id);
  }

  /** Every message, in the order Teams accepted them. */
  all(): readonly TeamsMessage[] {
    return this.order;
  }

  /** Every message in these conversations, deleted ones included (Graph lists them with deletedDateTime). */
  visibleOrDeleted(conversationIds: readonly string[]): TeamsMessage[] {
    const set = new Set(conversationIds.map((c) => this.chatKey(c)));
    return this.order.filter((m) => set.has(this.chatKey(m.conversationId)));
  }

  /** Messages still shown (not deleted) in these conversations, oldest first. */
  visible(conversationIds: readonly string[], opts: { replies?: boolean } = {}): TeamsMessage[] {
    const set = new Set(conversationIds.map((c) => this.chatKey(c)));
    return this.order.filter(
      (m) => set.has(this.chatKey(m.conversationId)) && m.deletedAt === null && (opts.replies === undefined || (m.replyToId !== null) === opts.replies),
    );
  }
}

/** `19:x@thread.tacv2;messageid=123` → [`19:x@thread.tacv2`, `123`]. */
export function splitThread(conversation: string): [string, string | null] {
  const m = /^(.*);messageid=(\d+)$/.exec(conversation);
  return m ? [m[1]!, m[2]!] : [conversation, null];
}
