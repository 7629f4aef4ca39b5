import type { Activity, TurnContext } from 'botbuilder';
import type { AuthenticateRequestResult } from 'botframework-connector';
// The validator botbuilder's own process() runs on a parsed body (dates from strings); not re-exported by the package root.
import { validateAndFixActivity } from 'botbuilder/lib/activityValidator';
import { TeamsAdapter } from '@microsoft/teams-ai/lib/TeamsAdapter';
import type { Application } from '@microsoft/teams-ai/lib/Application';
import type { TurnState } from '@microsoft/teams-ai/lib/TurnState';
import type { Logger } from 'pino';
import type { HttpResult } from './http-body';
import type { BotHttpServer, BotRequest } from './http-server';
import { activityAuthRefusal, channelTokenRefusal, ChannelTokenError, type ChannelTokens, type ScreenedToken } from './channel-token';
import { refuseMalformedActivity } from '../teams/teams-app';

/** An activity is never more than this (Bot Framework's own limit for an inbound activity is lower still). */
export const MESSAGES_MAX_BODY_BYTES = 256 * 1024;

/**
 * teams-ai's adapter with its two steps apart: authenticate the request (the channel's token against the
 * activity), then run the turn with that result. botbuilder's process() does both and answers any
 * failure itself (500 with the error's message, a stack on stderr); the bot answers them as JSON.
 */
export class ChannelAdapter extends TeamsAdapter {
  /** botbuilder's channel authentication: with '' it succeeds only where authentication is off (demo, no app id). */
  authenticate(activity: Partial<Activity>, authorization: string): Promise<AuthenticateRequestResult> {
    return this.botFrameworkAuthentication.authenticateRequest(activity as Activity, authorization);
  }

  /** Runs the turn for an authenticated activity; the invoke response, if the turn set one. */
  run(auth: AuthenticateRequestResult, activity: Activity, logic: (context: TurnContext) => Promise<void>) {
    return this.processActivity(auth, activity, logic);
  }
}

export interface MessagesRouteDeps {
  adapter: ChannelAdapter;
  app: Application<TurnState>;
  /** The channel's token checks; null in demo mode (the playground sends no token). */
  channelTokens: ChannelTokens | null;
  /** More checks of the parsed activity after its envelope (demo: a serviceUrl on loopback); an HttpResult refuses it. */
  refuseActivity?: (activity: unknown) => HttpResult | null;
  log: Logger;
}

/**
 * POST /api/messages: Bot Framework activities. In production the Authorization header is screened before
 * a byte of the body is read (no Bearer JWT of the channel's shape: 401, and the connection is not kept
 * for the rest of the body), the body is read by restify's JSON parser (256 KiB at most), the token's
 * signature is verified, the activity's envelope checked, and only then does botbuilder see it. Every
 * authentication failure is a 401 with a JSON body and one log line; nothing is sent anywhere.
 */
export function registerMessagesRoute(server: BotHttpServer, deps: MessagesRouteDeps): void {
  const { adapter, app, channelTokens, log } = deps;
  const screened = new WeakMap<BotRequest, ScreenedToken>();

  /** One log line per refusal, then the 401 (or 503) to throw. */
  const refuse = (req: BotRequest, err: ChannelTokenError, detail?: string) => {
    const refusal = channelTokenRefusal(err);
    log.warn(
      { route: '/api/messages', status: refusal.status, code: refusal.code, remoteAddress: req.socket.remoteAddress, ...(detail ? { detail } : {}) },
      'activity refused: channel authentication failed',
    );
    return refusal;
  };

  // The playground probes the endpoint with HEAD before it starts talking to the bot.
  server.route('HEAD', '/api/messages', async (_req, res) => {
    res.send(200);
  });

  server.route(
    'POST',
    '/api/messages',
    async (req, res) => {
      const token = channelTokens ? screened.get(req) : undefined;
      if (channelTokens) {
        // The guard screened it or refused the request; never run a turn without it.
        if (!token) throw refuse(req, new ChannelTokenError('missing', 'Bot Framework activities carry Authorization: Bearer <token>; there is none.'));
        try {
          await channelTokens.verify(token);
        } catch (err) {
          if (err instanceof ChannelTokenError) throw refuse(req, err);
          throw err;
        }
      }
      // An activity without the envelope every Teams activity carries is refused before botbuilder sees it.
      const malformed = refuseMalformedActivity(req.body) ?? deps.refuseActivity?.(req.body) ?? null;
      if (malformed) {
        res.send(malformed.status, malformed.body);
        return;
      }
      const activity = validateAndFixActivity(req.body as Activity);
      let auth: AuthenticateRequestResult;
      try {
        auth = await adapter.authenticate(activity, token ? `Bearer ${token.token}` : '');
      } catch (err) {
        // botbuilder's reason goes to the log only: it can quote the token's claims back.
        throw refuse(req, activityAuthRefusal(err), `${(err as Error)?.name}: ${String((err as Error)?.message).slice(0, 200)}`);
      }
      const invoke = await adapter.run(auth, activity, async (ctx) => {
        await app.run(ctx);
      });
      res.send(invoke?.status ?? 200, invoke?.body);
    },
    {
      guards: channelTokens
        ? [
            (req) => {
              try {
                screened.set(req, channelTokens.screen(req.headers.authorization));
              } catch (err) {
                if (err instanceof ChannelTokenError) throw refuse(req, err);
                throw err;
              }
            },
          ]
        : [],
      // Bot Framework posts JSON only: nothing else reaches a body parser (no forms, no uploads).
      jsonBody: { maxBytes: MESSAGES_MAX_BODY_BYTES },
    },
  );
}
