import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Activity } from 'botbuilder';
import type { AddressInfo } from 'node:net';
import { DEMO_BOT_APP } from './seed';
import { TeamsMessages, type TeamsMessage } from './teams-messages';

/**
 * The Bot Connector as Teams serves it to a bot, on loopback: `POST /v3/conversations/{id}/activities`
 * (a post; {id} back), `PUT …/activities/{activityId}` (an update in place) and `DELETE …/activities/{activityId}`.
 * What it accepts goes into a TeamsMessages store, where the simulator's Graph reads it back
 * (GET /teams/{team}/channels/{channel}/messages, GET /chats/{chat}/messages): give it the simulator's
 * `sim.teams` so a message Teams accepted is visible whether or not its answer reached the bot.
 *
 * Faults are queued per call: a status (429 with Retry-After, 5xx), no answer at all (`hangNext`), or an
 * answer that comes late although the post was accepted on arrival (`slowNext`: Teams was slow, not failing).
 * It serves one bot and does not check its token (the component tests' bot sends none in demo mode).
 */
export interface RecordedActivity {
  method: 'POST' | 'PUT';
  conversationId: string;
  activityId: string;
  /** The activity as the bot sent it: JSON, typed as botbuilder's, no field checked. */
  activity: Partial<Activity>;
}

/** A delete the connector accepted (no activity). */
export interface RecordedDelete {
  method: 'DELETE';
  conversationId: string;
  activityId: string;
  activity: null;
}

/** One request the connector answered, faults included, in arrival order. */
export interface ConnectorCall {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  conversationId: string | null;
  /** The status the connector answered with (0: no answer yet, or never). */
  status: number;
}

export interface FailureOptions {
  /** Sent as the Retry-After header (seconds), as Teams does with a 429. */
  retryAfterSeconds?: number;
}

export interface ConnectorOptions {
  /** Where accepted messages go; the simulator's `sim.teams`, so Graph can read them back. */
  messages?: TeamsMessages;
  /** The bot's app id, Graph's `from.application.id` of what it posts. */
  botAppId?: string;
}

export interface FakeConnector {
  serviceUrl: string;
  /** Every post Teams accepted (deleted ones too), in order. */
  posts: RecordedActivity[];
  updates: RecordedActivity[];
  deletes: RecordedDelete[];
  /** Every request, with when it arrived and how it was answered. */
  calls: ConnectorCall[];
  /** The store behind it (Graph's view of the same messages). */
  messages: TeamsMessages;
  /** Messages still shown in a conversation (posts there, not deleted), oldest first. */
  visible(conversationId: string): TeamsMessage[];
  failNext(status: number, times?: number, options?: FailureOptions): void;
  /**
   * The next `times` calls of this method get no answer (nothing is recorded): the caller waits until it
   * gives up or dies. `hung` counts the calls held so far.
   */
  hangNext(method: 'POST' | 'PUT' | 'DELETE', times?: number): void;
  /**
   * The next `times` calls of this method are carried out on arrival (a post is in the conversation at
   * once) but answered only after `answerAfterMs`: Teams accepted, the answer is late. `slowed` counts them.
   */
  slowNext(method: 'POST' | 'PUT' | 'DELETE', answerAfterMs: number, times?: number): void;
  hung: number;
  slowed: number;
  clearFailures(): void;
  /** Graph reads a channel's messages by team and channel id. */
  registerChannel(channelId: string, teamId: string): void;
  /** A personal conversation (`a:…`) is this user's chat with the app in Graph. */
  registerPersonalChat(conversationId: string, userId: string): void;
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

type Method = 'POST' | 'PUT' | 'DELETE';

export async function startFakeConnector(options: ConnectorOptions = {}): Promise<FakeConnector> {
  const store = options.messages ?? new TeamsMessages();
  const botAppId = options.botAppId ?? DEMO_BOT_APP.clientId;
  const posts: RecordedActivity[] = [];
  const updates: RecordedActivity[] = [];
  const deletes: RecordedDelete[] = [];
  const calls: ConnectorCall[] = [];
  let failures: Array<{ status: number } & FailureOptions> = [];
  const hangs: Method[] = [];
  const slows: Array<{ method: Method; answerAfterMs: number }> = [];
  const held = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const api = { hung: 0, slowed: 0 };

  const server: Server = createServer(async (req, res) => {
    const at = Date.now();
    const body = await read(req);
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    const call: ConnectorCall = { at, method: req.method ?? '', conversationId: m ? decodeURIComponent(m[1]!) : null, status: 200 };
    calls.push(call);
    const hang = hangs.indexOf(req.method as Method);
    if (hang >= 0) {
      hangs.splice(hang, 1);
      call.status = 0;
      api.hung += 1;
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const fail = failures.shift();
    if (fail) {
      call.status = fail.status;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fail.retryAfterSeconds !== undefined) headers['retry-after'] = String(fail.retryAfterSeconds);
      reply(res, fail.status, headers, JSON.stringify({ error: { code: 'ServiceError', message: 'injected' } }));
      return;
    }
    if (!m) {
      call.status = 404;
      reply(res, 404);
      return;
    }
    const conversationId = decodeURIComponent(m[1]!);
    const target = m[2] ? decodeURIComponent(m[2]) : null;
    let status = 200;
    let answer: string | undefined;
    // A POST naming an activity is "reply to activity": botbuilder sends proactive messages that way, naming
    // its continuation event; Teams posts them in the conversation (a reply in the thread of a message it has).
    if (req.method === 'POST') {
      let activity: Record<string, unknown>;
      try {
        activity = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        call.status = 400;
        reply(res, 400, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'BadArgument', message: 'The activity is not JSON.' } }));
        return;
      }
      const root = target ? store.get(target) : undefined;
      const inThread =
        root && root.conversationId === conversationId && root.replyToId === null && /@thread\./.test(conversationId)
          ? `${conversationId};messageid=${root.id}`
          : conversationId;
      const message = store.post(inThread, activity, botAppId);
      posts.push({ method: 'POST', conversationId, activityId: message.id, activity: activity as Partial<Activity> });
      answer = JSON.stringify({ id: message.id });
    } else if (req.method === 'PUT' && target) {
      const activity = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      // Teams answers 404 for an update of a message it does not have (deleted, or another conversation's);
      // a message posted before this store existed (an id it never issued) is taken on trust.
      if (store.get(target) && !store.update(conversationId, target, activity)) status = 404;
      else updates.push({ method: 'PUT', conversationId, activityId: target, activity: activity as Partial<Activity> });
      answer = status === 200 ? JSON.stringify({ id: target }) : JSON.stringify({ error: { code: 'NotFound', message: 'No such activity' } });
    } else if (req.method === 'DELETE' && target) {
      if (!store.delete(conversationId, target)) status = 404;
      else deletes.push({ method: 'DELETE', conversationId, activityId: target, activity: null });
      answer = status === 200 ? '' : JSON.stringify({ error: { code: 'NotFound', message: 'No such activity' } });
    } else {
      status = 405;
    }
    call.status = status;
    const slow = slows.findIndex((s) => s.method === req.method);
    if (slow >= 0 && status === 200) {
      const { answerAfterMs } = slows.splice(slow, 1)[0]!;
      api.slowed += 1;
      held.add(res);
      const t = setTimeout(() => {
        timers.delete(t);
        held.delete(res);
        if (!res.destroyed) reply(res, status, { 'content-type': 'application/json' }, answer);
      }, answerAfterMs);
      timers.add(t);
      return;
    }
    reply(res, status, answer ? { 'content-type': 'application/json' } : {}, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const connector: FakeConnector = Object.assign(api, {
    serviceUrl: `http://127.0.0.1:${port}/`,
    posts,
    updates,
    deletes,
    calls,
    messages: store,
    visible: (conversationId: string) => store.visible([conversationId]),
    failNext(status: number, times = 1, failure: FailureOptions = {}) {
      failures = failures.concat(Array.from({ length: times }, () => ({ status, ...failure })));
    },
    clearFailures() {
      failures = [];
    },
    hangNext(method: Method, times = 1) {
      for (let i = 0; i < times; i++) hangs.push(method);
    },
    slowNext(method: Method, answerAfterMs: number, times = 1) {
      for (let i = 0; i < times; i++) slows.push({ method, answerAfterMs });
    },
    registerChannel: (channelId: string, teamId: string) => store.registerChannel(channelId, teamId),
    registerPersonalChat: (conversationId: string, userId: string) => store.registerPersonalChat(conversationId, userId),
    async waitFor(pred: () => boolean, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error('timed out waiting for the connector');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const res of held) res.destroy();
        server.close(() => resolve());
      }),
  });
  return connector;
}

function reply(res: ServerResponse, status: number, headers?: Record<string, string>, body?: string): void {
  res.writeHead(status, headers ?? {});
  res.end(body);
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
