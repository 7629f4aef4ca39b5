/**
 * Demo mode authenticates no Bot Framework caller, so it is contained to the machine it runs on:
 * - it starts only when asked for explicitly (APP_MODE=demo and DEMO_ACKNOWLEDGE=loopback-only) with the
 *   simulated tenant's own bot secret, on loopback, against loopback endpoints only;
 * - it answers only requests addressed to a loopback name (a DNS-rebinding page's requests carry its
 *   own name in Host), on every route;
 * - it refuses an activity whose serviceUrl is not on loopback before storing or sending anything.
 */
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ActivityTypes, TestAdapter, TurnContext } from 'botbuilder';
import pino from 'pino';
import { isAllowedDemoHost, refuseDemoHost, refuseNonLoopbackServiceUrl } from '../../bot/http/demo-containment';
import { createTeamsApp } from '../../bot/teams/teams-app';
import { loadConfig } from '../../services/config/config';
import { DEMO_TENANT_ID, USER } from '../../sim/seed';
import { configProblems, DEMO_ENV as demo, PRODUCTION_ENV as production } from '../support/config-env';
import { startHarness, teamsUser, type Harness } from '../support/harness';

const ROOT = join(__dirname, '../..');

describe('demo mode starts only when asked for, with the simulator, on loopback', () => {
  it('starts with APP_MODE=demo, DEMO_ACKNOWLEDGE=loopback-only and the simulator secret', () => {
    expect(configProblems(demo)).toEqual([]);
    expect(loadConfig(demo).mode).toBe('demo');
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['without DEMO_ACKNOWLEDGE', { DEMO_ACKNOWLEDGE: undefined }, /^DEMO_ACKNOWLEDGE: APP_MODE=demo also needs DEMO_ACKNOWLEDGE=loopback-only/],
    ['with DEMO_ACKNOWLEDGE empty', { DEMO_ACKNOWLEDGE: '' }, /^DEMO_ACKNOWLEDGE: APP_MODE=demo also needs DEMO_ACKNOWLEDGE=loopback-only/],
    ['with another DEMO_ACKNOWLEDGE', { DEMO_ACKNOWLEDGE: 'yes' }, /^DEMO_ACKNOWLEDGE: must be loopback-only/],
    ['with a real bot secret', { BOT_APP_SECRET: 'a-real-secret' }, /^BOT_APP_SECRET: demo mode runs with the simulated tenant's bot secret only/],
    [
      'with a certificate of a real app registration',
      { BOT_APP_SECRET: undefined, BOT_CERTIFICATE_PATH: '/etc/pim-bot/bot.pem' },
      /^BOT_CERTIFICATE_PATH: demo mode uses the simulated tenant's bot secret/,
    ],
    ['with NODE_ENV=production', { NODE_ENV: 'production' }, /^APP_MODE: demo cannot run with NODE_ENV=production/],
    ['listening beyond loopback', { HOST: '0.0.0.0' }, /^HOST: demo mode listens on loopback only/],
    ["with Microsoft's token service", { BOT_OAUTH_URL: undefined }, /^BOT_OAUTH_URL: required in demo mode, the simulator's token service/],
    [
      'with a token service off loopback',
      { BOT_OAUTH_URL: 'https://token.botframework.com' },
      /^BOT_OAUTH_URL: demo mode uses the local simulator only \(https:\/\/127\.0\.0\.1:<port>\), not https:\/\/token\.botframework\.com/,
    ],
    [
      'with real Graph',
      { GRAPH_BASE_URL: 'https://graph.microsoft.com', ARM_BASE_URL: 'https://127.0.0.1:3979/arm' },
      /^GRAPH_BASE_URL: demo mode uses the local simulator only/,
    ],
    [
      'with an approver channel off loopback',
      { APPROVER_CHANNELS: '{"default":{"conversationId":"19:a@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}' },
      /^APPROVER_CHANNELS\.default\.serviceUrl: demo mode sends to a Bot Connector on loopback only .*not https:\/\/smba\.trafficmanager\.net/,
    ],
    [
      'with TEAMS_SERVICE_URL off loopback',
      { TEAMS_SERVICE_URL: 'https://attacker.example/' },
      /^TEAMS_SERVICE_URL: demo mode sends to a Bot Connector on loopback only, not https:\/\/attacker\.example/,
    ],
  ])('refuses to start %s', (_what, change, message) => {
    const found = configProblems({ ...demo, ...change });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('refuses a production configuration switched to demo on every count', () => {
    const found = configProblems({ ...production, APP_MODE: 'demo', HOST: '127.0.0.1' }).map((p) => p.split(':')[0]);
    expect(found).toEqual(
      expect.arrayContaining([
        'DEMO_ACKNOWLEDGE',
        'BOT_APP_SECRET',
        'ENTRA_AUTHORITY_HOST',
        'GRAPH_BASE_URL',
        'ARM_BASE_URL',
        'BOT_OAUTH_URL',
        'APPROVER_CHANNELS.default.serviceUrl',
      ]),
    );
  });

  it('stops the process before it listens (exit 78, the problem on stderr)', async () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...demo, PORT: '0', DATABASE_URL: 'sqlite::memory:' };
    delete env.DEMO_ACKNOWLEDGE;
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'bot/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toMatch(/DEMO_ACKNOWLEDGE: APP_MODE=demo also needs DEMO_ACKNOWLEDGE=loopback-only/);
    expect(stdout).not.toMatch(/bot listening/);
  });
});

describe('the Host check (DNS rebinding)', () => {
  it.each(['127.0.0.1', '127.0.0.1:3978', 'localhost', 'localhost:3978', 'LOCALHOST:3978', '[::1]', '[::1]:3978'])('accepts %s', (host) => {
    expect(isAllowedDemoHost(host)).toBe(true);
    expect(refuseDemoHost(host)).toBeNull();
  });

  it.each([
    'attacker.example:3978',
    'attacker.example',
    'localhost.attacker.example:3978',
    '127.0.0.1.nip.io:3978',
    'localhost.',
    '127.0.0.2:3978',
    '0.0.0.0:3978',
    '2130706433:3978',
    '::1',
    '[::1]x',
    'localhost:',
    'localhost:99999',
    'localhost:3978, attacker.example',
    '',
  ])('refuses %j', (host) => {
    expect(isAllowedDemoHost(host)).toBe(false);
    expect(refuseDemoHost(host)).toMatchObject({ status: 403, body: { error: { code: 'demo_host_not_allowed' } } });
  });

  it('refuses a request without a Host header or with two', () => {
    expect(isAllowedDemoHost(undefined)).toBe(false);
    expect(isAllowedDemoHost(['localhost', 'attacker.example'])).toBe(false);
    expect(JSON.stringify(refuseDemoHost(undefined)?.body)).toMatch(/the Host header was \\"none\\"/);
  });
});

describe('a demo bot', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness();
    port = Number(new URL(h.bot.url).port);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A request on the loopback connection with any Host header (fetch cannot set one). */
  function raw(method: string, path: string, host: string, body?: unknown): Promise<{ status: number; headers: IncomingHttpHeaders; body: any }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { host, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? safeJson(text) : null }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const message = (serviceUrl: string, text = 'roles', userId: string = USER.megan) => {
    const u = teamsUser(userId);
    return {
      type: 'message',
      id: `m-${Math.random().toString(16).slice(2)}`,
      text,
      channelId: 'msteams',
      serviceUrl,
      from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id },
      recipient: { id: '28:bot', name: 'PIM Approvals' },
      conversation: { id: `a:${u.teamsUserId}-personal`, conversationType: 'personal', tenantId: DEMO_TENANT_ID },
    };
  };

  describe('refuses a request whose Host is not loopback, on every route, unknown paths included', () => {
    // Every row has three entries: jest passes a callback (done) to a test with more parameters than its row.
    const ROUTES: Array<[string, string, unknown]> = [
      ['POST', '/api/messages', message('http://127.0.0.1:9/')],
      ['HEAD', '/api/messages', undefined],
      ['POST', '/api/pim/evaluate', {}],
      ['POST', '/api/pim/events', {}],
      ['POST', '/api/pim/post-approval', {}],
      ['GET', '/healthz', undefined],
      ['GET', '/readyz', undefined],
      ['GET', '/metrics', undefined],
      ['GET', '/api/tab/approvals', undefined],
      ['POST', '/api/tab/approvals/00000000-0000-4000-8000-000000000001/decision', {}],
      ['GET', '/no-such-route', undefined],
      ['GET', '/healthz?x=1', undefined],
    ];
    it.each(ROUTES)('%s %s', async (method, path, body) => {
      const res = await raw(method, path, `attacker.example:${port}`, body);
      expect(res.status).toBe(403);
      if (method !== 'HEAD')
        expect(res.body).toMatchObject({ error: { code: 'demo_host_not_allowed', message: expect.stringMatching(/127\.0\.0\.1, localhost or \[::1\]/) } });
    });

    it('stores nothing for a rebinding page that posts an activity', async () => {
      const calls = h.connector.calls.length;
      await raw('POST', '/api/messages', `attacker.example:${port}`, message(h.connector.serviceUrl, 'help', USER.adele));
      expect(await h.bot.store.conversations.get(USER.adele)).toBeUndefined();
      expect(h.connector.calls.length).toBe(calls);
    });
  });

  it.each(['127.0.0.1', 'localhost', '[::1]'])('answers a request addressed to %s', async (name) => {
    const res = await raw('GET', '/healthz', `${name}:${port}`);
    expect(res.status).toBe(200);
  });

  describe('refuses an activity whose serviceUrl is not on loopback, before storing or sending anything', () => {
    let elsewhere: Server;
    let elsewhereUrl: string;
    const received: string[] = [];
    beforeAll(async () => {
      // A Bot Connector the demo must never reach: 127.0.0.2 is not one of the loopback names it accepts.
      elsewhere = createServer((req, res) => {
        received.push(`${req.method} ${req.url}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1"}');
      });
      await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
      elsewhereUrl = `http://127.0.0.2:${(elsewhere.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    });

    it.each<[string, () => string]>([
      ['a foreign name', () => 'https://attacker.example/'],
      ['an address that is not one of the loopback names', () => elsewhereUrl],
      ["Microsoft's Bot Connector", () => 'https://smba.trafficmanager.net/emea/'],
    ])('a message with %s', async (_what, serviceUrl) => {
      const res = await raw('POST', '/api/messages', `127.0.0.1:${port}`, message(serviceUrl()));
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({
        error: { code: 'demo_service_url_not_allowed', field: 'serviceUrl', message: expect.stringMatching(/Nothing was stored or sent/) },
      });
      await h.bot.delivery.drain();
      expect(await h.bot.store.conversations.get(USER.megan)).toBeUndefined();
      expect(received).toEqual([]);
      expect(h.connector.calls.filter((c) => c.conversationId?.includes(teamsUser(USER.megan).teamsUserId))).toEqual([]);
    });

    it('a card action (invoke)', async () => {
      const u = teamsUser(USER.megan);
      const invoke = {
        ...message(elsewhereUrl),
        type: 'invoke',
        name: 'adaptiveCard/action',
        text: undefined,
        value: { action: { type: 'Action.Execute', verb: 'pim.refresh', data: { requestId: 'x' } } },
      };
      const res = await raw('POST', '/api/messages', `127.0.0.1:${port}`, { ...invoke, from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'demo_service_url_not_allowed' } });
      expect(received).toEqual([]);
    });

    it('while the same message with the playground connector is taken (the conversation is stored)', async () => {
      const res = await raw('POST', '/api/messages', `127.0.0.1:${port}`, message(h.connector.serviceUrl, 'help'));
      expect(res.status).toBe(200);
      expect(await h.bot.store.conversations.get(USER.megan)).toMatchObject({ serviceUrl: h.connector.serviceUrl });
    });
  });
});

describe("the Teams app's own guard (whatever the HTTP layer)", () => {
  const activity = (serviceUrl: string, type: string = ActivityTypes.Message) =>
    ({
      type,
      name: type === ActivityTypes.Invoke ? 'adaptiveCard/action' : undefined,
      text: 'hi',
      channelId: 'msteams',
      serviceUrl,
      from: { id: '29:u', aadObjectId: USER.alex },
      conversation: { id: 'a:1', conversationType: 'personal' },
      recipient: { id: '28:bot' },
      value: {},
    }) as never;

  async function run(loopbackServiceUrlsOnly: boolean, serviceUrl: string, type?: string) {
    const calls: string[] = [];
    const app = createTeamsApp({
      adapter: {} as never,
      botAppId: '',
      store: { conversations: { save: async () => void calls.push('stored') } } as never,
      actions: {
        handle: async () => {
          calls.push('action');
          return {};
        },
      } as never,
      chat: { onMessage: async () => void calls.push('message'), onAction: async () => ({}), onSignIn: async () => ({ status: 200 }) } as never,
      digestActions: { handle: async () => ({}) } as never,
      extensionActions: { handle: async () => ({}) } as never,
      log: pino({ level: 'silent' }),
      loopbackServiceUrlsOnly,
    });
    const ctx = new TurnContext(new TestAdapter(), activity(serviceUrl, type));
    const sent: Array<{ type?: string; value?: any }> = [];
    ctx.onSendActivities(async (_c, acts, next) => {
      sent.push(...acts);
      return next();
    });
    await app.run(ctx);
    return { calls, sent };
  }

  it('runs no handler for an activity off loopback: nothing stored, nothing sent', async () => {
    expect(await run(true, 'https://attacker.example/')).toEqual({ calls: [], sent: [] });
  });

  it('answers a refused invoke with 403 (the HTTP answer, nothing goes to the serviceUrl)', async () => {
    const { calls, sent } = await run(true, 'https://attacker.example/', ActivityTypes.Invoke);
    expect(calls).toEqual([]);
    expect(sent).toEqual([
      expect.objectContaining({
        type: ActivityTypes.InvokeResponse,
        value: { status: 403, body: { error: expect.objectContaining({ code: 'demo_service_url_not_allowed' }) } },
      }),
    ]);
  });

  it('lets a loopback activity through, and production (guard off) any', async () => {
    expect((await run(true, 'http://localhost:56150/_connector')).calls).toEqual(['stored', 'message']);
    expect((await run(false, 'https://smba.trafficmanager.net/emea/')).calls).toEqual(['stored', 'message']);
  });

  it('the HTTP refusal and the guard agree on what is loopback', () => {
    for (const url of ['http://127.0.0.1:9/', 'http://localhost:56150/_connector', 'http://[::1]:9/'])
      expect(refuseNonLoopbackServiceUrl({ serviceUrl: url })).toBeNull();
    for (const url of ['https://attacker.example/', 'http://127.0.0.2:9/', 'http://user@127.0.0.1:9/', 'file:///etc/passwd', 42])
      expect(refuseNonLoopbackServiceUrl({ serviceUrl: url })?.status).toBe(403);
  });
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
