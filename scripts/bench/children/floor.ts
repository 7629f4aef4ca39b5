/**
 * Benchmark child: the floors the bot is compared with, each in a process of its own like the bot.
 *   http:  a bare restify route answering POST /api/pim/evaluate with the JSON the decision endpoint
 *          answers (a fresh evaluationId each time), nothing else: the cost of restify and HTTP alone.
 *   teams: restify + teams-ai's TeamsAdapter and Application configured as the bot configures them
 *          (demo mode: no Bot Framework app id, so no channel auth), the same body parser on
 *          /api/messages, and one invoke route answering every adaptiveCard/action with a static card:
 *          the cost of the framework alone.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ActivityTypes } from 'botbuilder';
import { Application, TeamsAdapter, TurnState } from '@microsoft/teams-ai';
import restify from 'restify';
import { childArgs, serveParent } from '../lib/children';

export type FloorArgs = { kind: 'http'; answer: { evaluationOutcome: string; reason: string[] } } | { kind: 'teams'; card: object };

async function main(): Promise<void> {
  const args = childArgs<FloorArgs>();
  const server = restify.createServer({ name: `floor-${args.kind}`, handleUncaughtExceptions: false });
  if (args.kind === 'http') {
    const { evaluationOutcome, reason } = args.answer;
    server.post('/api/pim/evaluate', async (_req, res) => {
      res.header('Cache-Control', 'no-store');
      res.send(200, { evaluationId: randomUUID(), evaluationOutcome, reason });
    });
  } else {
    const adapter = new TeamsAdapter({ MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppType: 'MultiTenant' });
    const app = new Application<TurnState>({ adapter, botAppId: '', removeRecipientMention: true, startTypingTimer: false, longRunningMessages: false });
    const body = { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: args.card };
    app.addRoute(
      async (ctx) => ctx.activity.type === ActivityTypes.Invoke && ctx.activity.name === 'adaptiveCard/action',
      async (ctx) => {
        await ctx.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body } });
      },
      true,
    );
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
