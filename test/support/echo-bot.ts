/**
 * A minimal bot for exercising the playground harness: echoes messages, answers card actions with a
 * message naming the actor, records every activity, and can post and update messages proactively.
 * No app id and no auth, as the playground sends none without a client id.
 */
import {
  ActivityTypes,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type Activity,
  type ConversationReference,
  type ResourceResponse,
} from 'botbuilder';
import restify from 'restify';

export interface EchoBot {
  endpoint: string;
  /** Every activity the bot received, in order. */
  received: Partial<Activity>[];
  /** Posts to a conversation through the playground's connector (proactive, like the approval card). */
  post(conversation: ConversationReference['conversation'], activity: Partial<Activity>): Promise<ResourceResponse | undefined>;
  update(conversation: ConversationReference['conversation'], activity: Partial<Activity> & { id: string }): Promise<void>;
  stop(): Promise<void>;
}

export async function startEchoBot(opts: { serviceUrl: () => string; botId: string }): Promise<EchoBot> {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const received: Partial<Activity>[] = [];
  let lastError: unknown;
  adapter.onTurnError = async (_ctx, err) => {
    lastError = err;
  };

  const server = restify.createServer({ handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser());
  // The playground probes the endpoint with HEAD before it reports the bot as connected.
  server.head('/api/messages', async (_req, res) => {
    res.send(200);
  });
  server.post('/api/messages', async (req, res) => {
    await adapter.process(req, res, async (ctx) => {
      const activity = ctx.activity;
      received.push(activity);
      if (activity.type === ActivityTypes.Message) {
        await ctx.sendActivity(`echo: ${activity.text ?? ''}`);
      } else if (activity.type === ActivityTypes.Invoke && activity.name === 'adaptiveCard/action') {
        await ctx.sendActivity({
          type: ActivityTypes.InvokeResponse,
          value: {
            status: 200,
            body: {
              statusCode: 200,
              type: 'application/vnd.microsoft.activity.message',
              value: `Recorded for ${activity.from.aadObjectId ?? activity.from.id}`,
            },
          },
        });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();

  const reference = (conversation: ConversationReference['conversation']): Partial<ConversationReference> => ({
    channelId: 'msteams',
    serviceUrl: opts.serviceUrl(),
    bot: { id: opts.botId, name: 'bot' },
    conversation,
  });

  return {
    endpoint: `http://127.0.0.1:${address.port}/api/messages`,
    received,
    async post(conversation, activity) {
      lastError = undefined;
      let result: ResourceResponse | undefined;
      await adapter.continueConversationAsync('', reference(conversation), async (ctx) => {
        result = await ctx.sendActivity(activity);
      });
      if (lastError) throw lastError;
      return result;
    },
    async update(conversation, activity) {
      lastError = undefined;
      await adapter.continueConversationAsync('', reference(conversation), async (ctx) => {
        await ctx.updateActivity(activity);
      });
      if (lastError) throw lastError;
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
