/**
 * Benchmark child: the floors the bot is compared with, each in a process of its own like the bot.
 *   http:  a bare restify route answering POST /api/pim/evaluate with the JSON the decision endpoint
 *          answers (a fresh evaluationId each time), nothing else: the cost of restify and HTTP alone.
 *   teams: restify + teams-ai's TeamsAdapter and Application configured as the bot configures them
 *          (demo mode: no Bot Framework app id, so no channel auth; loaded from teams-ai's lib/ as the bot
 *          loads them, without the AI stack of the package root), restify's JSON body parser on
 *          /api/messages, and one invoke route answering every adaptiveCard/action with a static card:
 *          the cost of the framework alone.
 *   http-store: the same route plus one row inserted and committed per request as the bot's store commits
 *          it (Store.open on SQLite, as the bot opens it: WAL, the same driver and statement cache, one
 *          transaction per request): the cost of a durable answer, the floor a decision is held against.
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
import type { Insertable } from 'kysely';
import { newEvaluationRow } from '../../../services/approvals/approval-request-row';
import type { ActivationRequest } from '../../../services/decision/activation-request';
import type { EvaluationTable } from '../../../services/store/schema';
import { Store } from '../../../services/store/store';
import { childArgs, serveParent } from '../lib/children';

export type FloorArgs =
  | { kind: 'http'; answer: { evaluationOutcome: string; reason: string[] } }
  | { kind: 'http-store'; answer: { evaluationOutcome: string; reason: string[] }; dbPath: string }
  | { kind: 'teams' | 'teams-node'; card: object };

/** The row the store floor commits per request: an evaluation as the decision endpoint stores one (a fresh key each time). */
function floorEvaluation(evaluationId: string, answer: { evaluationOutcome: string; reason: string[] }): Insertable<EvaluationTable> {
  const request: ActivationRequest = {
    kind: 'entraRole',
    pimRequestId: evaluationId,
    requestKey: `entraRole:${evaluationId}`,
    principalId: 'be0c0000-0000-4000-8000-000000000000',
    roleDefinitionId: 'be0c0001-0000-4000-8000-000000000000',
    scope: '/',
    justification: 'test',
    ticket: null,
    startDateTime: new Date().toISOString(),
    duration: 'PT1H',
    durationMinutes: 60,
    endDateTime: null,
    action: 'selfActivate',
  };
  return newEvaluationRow(request, {
    evaluationId,
    outcome: answer.evaluationOutcome,
    wouldBe: answer.evaluationOutcome,
    mode: 'enforce',
    reasons: answer.reason,
    checks: [],
    latencyMs: 0,
    at: new Date(),
  });
}

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
        status: (code: number) => {
          status = code;
          return response;
        },
        header: (name: string, value: string) => {
          res.setHeader(name, value);
          return response;
        },
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
  } else if (args.kind === 'http-store') {
    const { evaluationOutcome, reason } = args.answer;
    const store = await Store.open(`sqlite:${args.dbPath}`);
    server.post('/api/pim/evaluate', async (_req, res) => {
      const evaluationId = randomUUID();
      await store.transaction((trx) => trx.insertInto('evaluations').values(floorEvaluation(evaluationId, args.answer)).execute());
      res.header('Cache-Control', 'no-store');
      res.send(200, { evaluationId, evaluationOutcome, reason });
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
