/**
 * Test harness for the Microsoft 365 Agents Playground (`@microsoft/m365agentsplayground` 0.2.28), the
 * local Teams emulator our end-to-end tests and the demo use. It starts the playground headless against a
 * bot endpoint, feeds it the seeded tenant (`scripts/playground-config.ts`), records every event of its
 * conversation stream and drives it through its HTTP API.
 * Starting and stopping the process (shared with `npm run demo`) is in `scripts/playground-launcher.ts`;
 * `attachPlayground` wraps a playground someone else started, such as the demo's.
 *
 * What the playground does, found by experiment against 0.2.28 (tests match on these shapes):
 *
 * Activities it sends the bot (`POST <botEndpoint>`, no Authorization header because we give no client id;
 * it first probes the endpoint with `HEAD`, and `GET /_internal/v1/config` waits up to 15 s for any HTTP
 * answer from the bot):
 * - `serviceUrl` is always `http://localhost:<port>/_connector`; it is the Bot Framework connector for
 *   replies, proactive posts (`POST /v3/conversations/{id}/activities`), new threads (`POST /v3/conversations`)
 *   and updates (`PUT /v3/conversations/{id}/activities/{activityId}`), with no auth.
 * - personal chat: `conversation: {conversationType: 'personal', tenantId, id: <personalChat.id>}`,
 *   `channelData: {tenant: {id}}`.
 * - channel: a user's channel message starts a new post, so the bot sees
 *   `conversation: {isGroup: true, conversationType: 'channel', tenantId, id: '<channelId>;messageid=<postId>'}`
 *   and `channelData: {teamsChannelId, teamsTeamId, tenant, team: {id}, channel: {id}}`. A channel message
 *   reaches the bot only when it @mentions the bot (`mentions: [{mentioned: {id: botId}, text: '<at>Bot</at>'}]`);
 *   without one the playground accepts it (200) and never calls the bot. `sendMessage` adds the mention in
 *   channels by default.
 * - `from` on plain messages is always the current user (`user-id-0`), whatever `from.id` the API call
 *   names; only invokes carry the chosen user, with that user's `name` and `aadObjectId`.
 * - invokes (`adaptiveCard/action`) carry `replyToId: <card messageId>`, `value` as given, and in channels
 *   `channelData: {source: {name: 'message'}, tenant, team, channel}`.
 *
 * The conversation stream (`ws://HOST:PORT/_ws_conversation/v1/conversations/stream`) carries only what the
 * bot sends (never the user's own messages) and does not replay history to late subscribers, so the harness
 * connects before it returns. Every frame is one JSON `StreamEvent`:
 * - bot reply in the personal chat:
 *   `{action: 'createMessage', actionConversationId: 'a:1pQ7…', message: {messageId: '1795385528617',
 *     timestamp, from: {id: <botId>}, text: 'echo: hello', textFormat: 'markdown', attachments: [],
 *     attachmentLayout: 'list', mentions: [], directLineConversationId: 'a:1pQ7…'}}`
 * - proactive post to a channel (`POST /v3/conversations/<channelId>/activities`) is a new top-level post:
 *   `{action: 'createMessage', actionConversationId: '<channelId>', message: {messageId: '1795385541133',
 *     attachments: [{contentType: 'application/vnd.microsoft.card.adaptive', content: {...card}}], …,
 *     directLineConversationId: '<channelId>', postConversationId: '<channelId>;messageid=1795385541133'}}`
 * - new thread (`POST /v3/conversations` with `channelData.channel.id` and an initial activity): the first
 *   post has `actionConversationId: '<channelId>'` and `postConversationId` but no `directLineConversationId`;
 *   what the bot then sends to the returned conversation id (`<channelId>;messageid=<postId>`) is a reply in
 *   that thread: `actionConversationId: '<channelId>;messageid=<postId>'`, no `postConversationId`.
 * - update (`PUT …/activities/<messageId>`, with either the channel id or the thread id):
 *   `{action: 'updateMessage', actionConversationId: '<channelId>', message: {messageId: <same id>,
 *     timestamp: <new>, attachments: [<new card>], …}}` (no `postConversationId`).
 * - typing: `{action: 'typing', actionConversationId}` (no message).
 *
 * Invokes: `POST /_conversation/v1/invoke` must name the conversation the message lives in. For a top-level
 * channel post that is its `postConversationId` (the thread), not `actionConversationId` (which fails with
 * 400 `ActivityNotFoundInConversation`); for chats and thread replies it is `actionConversationId`.
 * `invoke()` works this out from the recorded stream. The playground answers with only `{type, value}` of the
 * bot's invoke response body (it drops `statusCode`), and when the card message has one attachment it
 * silently replaces that card with `value` in its own store (no stream event).
 *
 * Installation and membership events are sent with `customActivity()`: the playground serves templates
 * (`GET /_internal/v1/customActivities/template?conversationId=&type=install|botAdded|…`) and posts any
 * activity to the bot (`POST /_internal/v1/customActivities`, answered 200 before the bot is called).
 * `install` on the team id gives `{type: 'installationUpdate', action: 'add', conversation: {id: <teamId>,
 * conversationType: 'channel', isGroup: true}, channelData: {team: {id, name, aadGroupId}, channel: {id:
 * <teamId>}, settings: {selectedChannel}}}`; `botAdded` gives a `conversationUpdate` with `membersAdded:
 * [{id: botId}]` and `channelData.eventType: 'teamMemberAdded'`.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { launchPlayground, type LaunchPlaygroundOptions, type PlaygroundProcess } from '../../scripts/playground-launcher';
import type { PlaygroundUser } from '../../scripts/playground-config';

export interface PlaygroundAttachment {
  contentType: string;
  content?: unknown;
  contentUrl?: string;
  name?: string;
}

/** A message as the playground's stream carries it. */
export interface PlaygroundMessage {
  messageId: string;
  timestamp: number;
  from: { id: string };
  text?: string;
  textFormat?: string;
  attachments?: PlaygroundAttachment[];
  attachmentLayout?: string;
  mentions?: unknown[];
  /** The conversation the message was sent to (absent on the first post of a thread made by `POST /v3/conversations`). */
  directLineConversationId?: string;
  /** Only on a new top-level channel post: the thread id `<channelId>;messageid=<messageId>` (use it to invoke). */
  postConversationId?: string;
}

export type StreamEvent =
  | { action: 'createMessage' | 'updateMessage'; actionConversationId: string; message: PlaygroundMessage }
  | { action: 'typing'; actionConversationId: string; message?: undefined };

export type MessageEvent = Extract<StreamEvent, { message: PlaygroundMessage }>;

/** The folded history: the latest version of each message the bot sent. */
export interface PlaygroundMessageState {
  messageId: string;
  /** `actionConversationId` of the create event: the chat, channel or thread it shows in. */
  conversationId: string;
  postConversationId?: string;
  /** The conversation id `invoke` must name for this message. */
  invokeConversationId: string;
  /** The latest content (after any updates). */
  message: PlaygroundMessage;
  /** 0 until the bot updates the message. */
  updates: number;
}

export interface PlaygroundConfigResponse {
  config: {
    tenantId: string;
    bot: { id: string; name: string };
    currentUser: PlaygroundUser;
    users: PlaygroundUser[];
    personalChat: { id: string; name: string };
    groupChats: Array<{ id: string; name: string; members: string[] }>;
    teams: Array<{
      id: string;
      name: string;
      aadGroupId: string;
      channels: Array<{ id: string; name: string; channelType: string }>;
      members: string[];
    }>;
  };
  internalConfig: Record<string, unknown>;
}

export interface SendMessageOptions {
  /** Ignored by the playground for plain messages (they always come from the current user); kept for the API. */
  from?: string;
  /** Prefix an @mention of the bot. Default: true in team channels (the bot sees nothing otherwise), false in chats. */
  mentionBot?: boolean;
}

export interface SendMessageResult {
  messageId: string;
  timestamp: number;
  /** In channels: the thread the message started, where the bot's replies appear. */
  postConversationId?: string;
}

export interface InvokeOptions {
  /** Teams user id (`user-id-0`..`user-id-5`) who clicks. */
  from: string;
  /** The card's `messageId` from the stream. */
  replyToId: string;
  /** Defaults to the conversation the stream recorded for `replyToId` (`invokeConversationId`). */
  conversationId?: string;
  value: unknown;
  /** Defaults to `adaptiveCard/action`. */
  name?: string;
}

/** What the playground returns from an `adaptiveCard/action` invoke: the bot's body without `statusCode`. */
export interface InvokeResult {
  type?: string;
  value?: unknown;
  [key: string]: unknown;
}

export type CustomActivityType =
  | 'install'
  | 'uninstall'
  | 'userAdded'
  | 'userRemoved'
  | 'botAdded'
  | 'botRemoved'
  | 'channelCreated'
  | 'channelRenamed'
  | 'channelDeleted'
  | 'teamRenamed'
  | 'teamDeleted';

export interface WaitOptions {
  /** Only consider events recorded at or after this index (take it from `mark()` before acting). */
  after?: number;
}

export interface Playground extends Pick<PlaygroundProcess, 'url' | 'port' | 'connectorUrl' | 'workDir' | 'configPath' | 'botId' | 'botName' | 'ids'> {
  config(): Promise<PlaygroundConfigResponse>;
  sendMessage(conversationId: string, text: string, fromOrOptions?: string | SendMessageOptions): Promise<SendMessageResult>;
  invoke(opts: InvokeOptions): Promise<InvokeResult>;
  /** Clicks an `Action.Execute` on a card, as Teams shapes it. */
  executeAction(opts: { from: string; replyToId: string; verb: string; data?: unknown; conversationId?: string }): Promise<InvokeResult>;
  /** Sends one of the playground's canned activities (install, botAdded, …), optionally patched; returns what was sent. */
  customActivity(type: CustomActivityType, conversationId: string, patch?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Sends any activity to the bot through the playground (fire and forget, as the playground does). */
  sendActivity(activity: Record<string, unknown>): Promise<void>;
  /** All raw stream events since start, in order. */
  events(): StreamEvent[];
  /** The current event count, to wait only for what happens next. */
  mark(): number;
  waitForEvent(predicate: (e: StreamEvent) => boolean, timeoutMs?: number, opts?: WaitOptions): Promise<StreamEvent>;
  waitForMessage(predicate: (e: MessageEvent) => boolean, timeoutMs?: number, opts?: WaitOptions): Promise<MessageEvent>;
  messages(): PlaygroundMessageState[];
  message(messageId: string): PlaygroundMessageState | undefined;
  stop(): Promise<void>;
}

/** How to start the playground process (see `scripts/playground-launcher.ts`). */
export type StartPlaygroundOptions = LaunchPlaygroundOptions;

const DEFAULT_WAIT_MS = 5_000;
class PlaygroundApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Playground ${method} ${path} answered ${status}: ${body}`);
    this.name = 'PlaygroundApiError';
  }
}

function isChannelConversation(conversationId: string): boolean {
  return conversationId.includes('@thread.tacv2') || conversationId.includes('@thread.skype');
}

/** Starts the playground headless against `botEndpoint` and connects to its conversation stream. */
export async function startPlayground(opts: StartPlaygroundOptions): Promise<Playground> {
  const proc = await launchPlayground(opts);
  try {
    return await attachPlayground(proc, { logger: opts.logger });
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/**
 * Connects to a running playground's stream and API (for example the demo's, from `startDemo`). The
 * stream does not replay history, so attach before the bot sends what you wait for. `stop()` closes the
 * stream and stops the process.
 */
export async function attachPlayground(proc: PlaygroundProcess, attachOpts: { logger?: Logger } = {}): Promise<Playground> {
  const log = attachOpts.logger;
  const { url, port, connectorUrl, workDir, configPath, botId, botName, ids } = proc;
  const events: StreamEvent[] = [];
  const listeners = new Set<() => void>();
  const ws = await connectStream(`ws://127.0.0.1:${port}/_ws_conversation/v1/conversations/stream`, 10_000);
  ws.on('message', (data) => {
    let parsed: StreamEvent;
    try {
      parsed = JSON.parse(data.toString()) as StreamEvent;
    } catch {
      log?.warn({ frame: data.toString().slice(0, 200) }, 'playground stream frame is not JSON');
      return;
    }
    events.push(parsed);
    for (const notify of [...listeners]) notify();
  });
  ws.on('error', (err) => log?.warn({ err }, 'playground stream error'));

  async function api(method: string, apiPath: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`http://127.0.0.1:${port}${apiPath}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new PlaygroundApiError(method, apiPath, res.status, text);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  function fold(): Map<string, PlaygroundMessageState> {
    const byId = new Map<string, PlaygroundMessageState>();
    for (const e of events) {
      if (!e.message) continue;
      const existing = byId.get(e.message.messageId);
      if (e.action === 'createMessage' || !existing) {
        const postConversationId = e.message.postConversationId;
        byId.set(e.message.messageId, {
          messageId: e.message.messageId,
          conversationId: e.actionConversationId,
          postConversationId,
          invokeConversationId: postConversationId ?? e.actionConversationId,
          message: e.message,
          updates: existing ? existing.updates + 1 : 0,
        });
      } else {
        existing.message = e.message;
        existing.updates += 1;
      }
    }
    return byId;
  }

  function waitForEvent(predicate: (e: StreamEvent) => boolean, timeoutMs = DEFAULT_WAIT_MS, waitOpts: WaitOptions = {}) {
    let next = waitOpts.after ?? 0;
    return new Promise<StreamEvent>((resolve, reject) => {
      const check = () => {
        for (; next < events.length; next++) {
          const e = events[next]!;
          if (predicate(e)) {
            finish();
            resolve(e);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        finish();
        const seen = events.slice(waitOpts.after ?? 0).map((e) => `${e.action} ${e.actionConversationId} ${e.message?.messageId ?? ''}`);
        reject(new Error(`No matching playground stream event within ${timeoutMs} ms. Events seen: ${seen.length ? seen.join('; ') : 'none'}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  }

  let stopped: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopped ??= (async () => {
      ws.removeAllListeners('message');
      ws.terminate();
      await proc.stop();
    })();
    return stopped;
  }

  const playground: Playground = {
    url,
    port,
    connectorUrl,
    workDir,
    configPath,
    botId,
    botName,
    ids,
    config: async () => (await api('GET', '/_internal/v1/config')) as PlaygroundConfigResponse,
    async sendMessage(conversationId, text, fromOrOptions) {
      const options: SendMessageOptions = typeof fromOrOptions === 'string' ? { from: fromOrOptions } : (fromOrOptions ?? {});
      const mention = options.mentionBot ?? isChannelConversation(conversationId);
      const mentionText = `<at>${botName}</at>`;
      const body = mention
        ? {
            from: { id: options.from ?? 'user-id-0' },
            text: `${mentionText} ${text}`,
            textFormat: 'xml',
            mentions: [{ mentioned: { id: botId }, text: mentionText }],
          }
        : { from: { id: options.from ?? 'user-id-0' }, text, textFormat: 'plain' };
      return (await api('POST', `/_conversation/v1/conversations/${encodeURIComponent(conversationId)}/messages`, body)) as SendMessageResult;
    },
    async invoke(invokeOpts) {
      const conversationId = invokeOpts.conversationId ?? fold().get(invokeOpts.replyToId)?.invokeConversationId;
      if (!conversationId) {
        throw new Error(`No stream event for message ${invokeOpts.replyToId}; pass conversationId or wait for the card first.`);
      }
      return (await api('POST', '/_conversation/v1/invoke', {
        name: invokeOpts.name ?? 'adaptiveCard/action',
        from: { id: invokeOpts.from },
        conversation: { id: conversationId },
        replyToId: invokeOpts.replyToId,
        value: invokeOpts.value,
      })) as InvokeResult;
    },
    executeAction({ from, replyToId, verb, data, conversationId }) {
      return playground.invoke({
        from,
        replyToId,
        conversationId,
        value: { action: { type: 'Action.Execute', verb, data: data ?? {} }, trigger: 'manual' },
      });
    },
    async customActivity(type, conversationId, patch) {
      const query = `conversationId=${encodeURIComponent(conversationId)}&type=${encodeURIComponent(type)}`;
      const template = (await api('GET', `/_internal/v1/customActivities/template?${query}`)) as Record<string, unknown>;
      const activity = { ...template, ...patch };
      await api('POST', '/_internal/v1/customActivities', activity);
      return activity;
    },
    async sendActivity(activity) {
      await api('POST', '/_internal/v1/customActivities', activity);
    },
    events: () => [...events],
    mark: () => events.length,
    waitForEvent,
    waitForMessage: (predicate, timeoutMs, waitOpts) =>
      waitForEvent((e) => e.message !== undefined && predicate(e as MessageEvent), timeoutMs, waitOpts) as Promise<MessageEvent>,
    messages: () => [...fold().values()],
    message: (messageId) => fold().get(messageId),
    stop,
  };
  return playground;
}

async function connectStream(wsUrl: string, timeoutMs: number): Promise<WebSocket> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const ws = new WebSocket(wsUrl);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return ws;
    } catch (err) {
      lastError = err;
      ws.terminate();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`Could not connect to the playground stream ${wsUrl}: ${String(lastError)}`);
}
