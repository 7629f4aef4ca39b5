/**
 * Benchmark child: the floors the bot is compared with, each in a process of its own like the bot.
 *   http:  a bare restify route answering POST /api/pim/evaluate with the JSON the decision endpoint
 *          answers (a fresh evaluationId each time), nothing else: the cost of restify and HTTP alone.
 *   teams: restify + teams-ai's TeamsAdapter and Application configured as the bot configures them
 *          (demo mode: no Bot Framework app id, so no channel auth; loaded from teams-ai's lib/ as the bot
 *          loads them, without the AI stack of the package root), restify's JSON body parser on
 *          /api/messages, and one invoke route answering every adaptiveCard/action with a static card:
 *          the cost of the framework alone.
 *   teams-node: the same bot on node's own http server instead of restify (restify is never loaded):
 *          next to `teams`, what restify itself costs a bot (the memory part measures both idle).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActivityTypes } from 'botbuilder';
import { Application } from '@microsoft/teams-ai/lib/Application';
import { TeamsAdapter } from '@microsoft/teams-ai/lib/TeamsAdapter';
import type { TurnState } from '@microsoft/teams-ai/lib/TurnState';
import type restifyModule from 'restify';
import { childArgs, serveParent } from '../lib/children';

export type FloorArgs = { kind: 'http'; answer: { evaluationOutcome: string; reason: string[] } } | { kind: 'teams' | 'teams-node'; card: object };

function teamsBot(card: object): { adapter: TeamsAdapter; app: Application<TurnState> } {
  const adapter = new TeamsAdapter({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant' });
  const app = new Application<TurnState>({ adapter, botAppId: '', removeRecipientMention: true, startTypingTimer: false, longRunningMessages: false });
  const body = { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card };
  app.addRoute(
    async (ctx) => ctx.activity.type === ActivityTypes.Invoke && ctx.activity.name === 'adaptiveCard/action',
    async (ctx) => {
      await ctx.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body } });
    },
    true,
  );
  return { adapter, app };
}

/** teams-ai on node:http: the body read and parsed by hand, the response given botbuilder's small API. */
async function serveWithoutRestify(card: object): Promise<string> {
  const { adapter, app } = teamsBot(card);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      const response = {
        status: (code: number) => ((status = code), response),
        header: (name: string, value: string) => (res.setHeader(name, value), response),
        send: (body?: unknown) => {
          if (body !== undefined) res.setHeader('Content-Type', 'application/json');
          res.writeHead(status).end(body === undefined ? undefined : JSON.stringify(body));
        },
        end: () => {
          if (!res.headersSent) res.writeHead(status).end();
        },
      };
      const request = { method: req.method, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown };
      void adapter.process(request as never, response as never, async (ctx) => {
        await app.run(ctx);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const args = childArgs<FloorArgs>();
  if (args.kind === 'teams-node') {
    serveParent({ url: await serveWithoutRestify(args.card) }, {});
    return;
  }
  // Loaded only here, so the node:http floor never has restify in memory.
  const restify = require('restify') as typeof restifyModule;
  const server = restify.createServer({ name: `floor-${args.kind}`, handleUncaughtExceptions: false });
  if (args.kind === 'http') {
    const { evaluationOutcome, reason } = args.answer;
    server.post('/api/pim/evaluate', async (_req, res) => {
      res.header('Cache-Control', 'no-store');
      res.send(200, { evaluationId: randomUUID(), evaluationOutcome, reason });
    });
  } else {
    const { adapter, app } = teamsBot(args.card);
    server.post('/api/messages', restify.plugins.bodyParser({ maxBodySize: 256 * 1024, mapParams: false, rejectUnknown: true }), async (req, res) => {
      await adapter.process(req, res, async (ctx) => {
        await app.run(ctx);
      });
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveParent({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, {});
}

main().catch((err: unknown) => {
  process.stderr.write(`floor child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
