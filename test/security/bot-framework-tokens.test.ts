/**
 * /api/messages with the production configuration: every request without a genuine Bot Framework channel
 * token is a 401 with a JSON body and one log line; nothing reaches the Bot Connector, nothing is stored,
 * nothing is written to stderr (botbuilder answered forged tokens with 500 and a stack). A missing or
 * non-Bearer Authorization is refused before a byte of the body is read.
 *
 * The bot reads the channel's signing keys from the simulator's OpenID metadata here (production: the Bot
 * Framework's), so "genuine" means signed by the simulator's published key.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { USER } from '../../sim/seed';
import { CHANNEL_TOKEN_ISSUER, startProductionHarness, teamsUser, type ProductionHarness } from '../support/harness';

interface LogLine {
  level: number;
  msg: string;
  code?: string;
  status?: number;
  [k: string]: unknown;
}

const WARN = 40;
const REFUSED = 'activity refused: channel authentication failed';

describe('Bot Framework tokens on /api/messages (production configuration)', () => {
  let h: ProductionHarness;
  const lines: LogLine[] = [];
  /** A server an attacker's token points at (jku, x5u): the bot must never call it. */
  let attacker: Server;
  let attackerUrl: string;
  const attackerHits: string[] = [];
  let attackerKey: Awaited<ReturnType<typeof generateKeyPair>>;
  let attackerJwks: { keys: unknown[] };

  beforeAll(async () => {
    attackerKey = await generateKeyPair('RS256');
    attackerJwks = { keys: [{ ...(await exportJWK(attackerKey.publicKey)), kid: 'attacker', use: 'sig', alg: 'RS256' }] };
    attacker = createServer((req, res) => {
      attackerHits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(attackerJwks));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    h = await startProductionHarness({}, { logger });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => attacker.close(() => resolve()));
  });

  /** An invoke from a seeded user whose replies would go to the recording connector. */
  const invoke = (name = 'adaptiveCard/action') => {
    const u = teamsUser(USER.megan);
    return {
      type: 'invoke',
      name,
      id: `invoke-${Math.random().toString(16).slice(2)}`,
      channelId: 'msteams',
      serviceUrl: h.connector.serviceUrl,
      from: { id: u.teamsUserId, name: u.displayName, aadObjectId: u.id },
      recipient: { id: `28:${h.appId}`, name: 'PIM Approvals' },
      conversation: { id: `a:${u.teamsUserId}-personal`, conversationType: 'personal', tenantId: h.env.TENANT_ID },
      value: { action: { type: 'Action.Execute', verb: 'chat.roles', data: {} } },
    };
  };
  const message = () => ({ ...invoke(), type: 'message', name: undefined, value: undefined, text: 'roles' });

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: CHANNEL_TOKEN_ISSUER, aud: h.appId, serviceurl: h.connector.serviceUrl, iat: now, nbf: now - 5, exp: now + 600 };
  };
  /** The kid the simulator publishes (what a forger copies from the public metadata). */
  const publishedKid = async () => {
    const token = await h.channelToken(h.connector.serviceUrl);
    return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
  };

  /**
   * Sends the activity with `authorization`, expecting a refusal; checks the JSON body, that nothing went
   * to the connector or the store, exactly one warn line, and nothing written to the console.
   */
  async function expectRefused(
    authorization: string | undefined,
    status = 401,
    activity: Record<string, unknown> = invoke(),
  ): Promise<{ code: string; message: string }> {
    const before = lines.length;
    const consoleSpies = (['error', 'warn', 'log'] as const).map((m) => jest.spyOn(console, m).mockImplementation(() => undefined));
    const stderr = jest.spyOn(process.stderr, 'write');
    let res: Response;
    try {
      res = await fetch(`${h.bot.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
        body: JSON.stringify(activity),
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toMatch(/^token_/);
      expect(JSON.stringify(body)).not.toMatch(/stack|at .*\.js|BEGIN .*KEY/);
      // One structured line for the refusal, and no other warning or error about it.
      await new Promise((r) => setTimeout(r, 50));
      const logged = lines.slice(before).filter((l) => l.level >= WARN);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ msg: REFUSED, status, code: body.error.code, route: '/api/messages' });
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
      expect(h.connector.calls).toEqual([]);
      expect(await h.bot.store.conversations.get(USER.megan)).toBeUndefined();
      return body.error;
    } finally {
      for (const spy of consoleSpies) spy.mockRestore();
      stderr.mockRestore();
    }
  }

  it('answers a genuine channel token (the checks below refuse tokens, not everything)', async () => {
    const res = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await h.channelToken(h.connector.serviceUrl)}` },
      body: JSON.stringify(invoke('composeExtension/query')),
    });
    // Authenticated, so the turn ran: this bot offers no message extension and says so in the invoke response.
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_invoke');
    expect(h.connector.calls).toEqual([]);
  });

  describe('refuses without reading the body', () => {
    it.each<[string, string | undefined, string]>([
      ['no Authorization header', undefined, 'token_missing'],
      ['an empty Authorization header', '', 'token_missing'],
      ['Basic credentials', `Basic ${Buffer.from('bot:secret').toString('base64')}`, 'token_scheme'],
      ['a lower-case scheme', 'bearer abc.def.ghi', 'token_scheme'],
      ['a bearer value that is no JWT', 'Bearer not-a-jwt', 'token_malformed'],
    ])('%s: 401 with JSON', async (_what, authorization, code) => {
      expect((await expectRefused(authorization)).code).toBe(code);
    });

    it('answers while the announced body never comes, and closes the connection', async () => {
      const socket = connect(Number(new URL(h.bot.url).port), '127.0.0.1');
      const started = Date.now();
      let answer = '';
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', () => undefined);
      // Headers announcing 200 KB, then not one byte of it.
      socket.write(
        `POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200000\r\nAuthorization: Basic Ym90OnNlY3JldA==\r\n\r\n`,
      );
      const closedAfterMs = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'token_scheme' } });
      // Closed right after the answer, not when a body timeout would have closed it.
      expect(closedAfterMs).toBeLessThan(2_000);
    });
  });

  describe('refuses a forged token with 401, sends nothing and writes nothing to stderr', () => {
    it('garbage in the shape of a JWT', async () => {
      expect((await expectRefused(`Bearer ${b64({ alg: 'RS256', kid: 'x' })}.${b64({ hello: 'world' })}.${'A'.repeat(342)}`)).code).toMatch(
        /^token_(issuer|audience|expired)$/,
      );
    });

    it('alg: none', async () => {
      const kid = await publishedKid();
      expect((await expectRefused(`Bearer ${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims())}.`)).code).toBe('token_algorithm');
    });

    it("HS256 signed with the bot's own app secret (algorithm confusion)", async () => {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: await publishedKid() })
        .sign(new TextEncoder().encode(h.env.BOT_APP_SECRET));
      expect((await expectRefused(`Bearer ${token}`)).code).toBe('token_algorithm');
    });

    it('signed by a foreign key under the published kid', async () => {
      expect((await expectRefused(`Bearer ${await h.channelToken(h.connector.serviceUrl, {}, { signWith: 'foreign' })}`)).code).toBe('token_signature');
    });

    it('signed by a foreign key under a kid nobody publishes', async () => {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'attacker' }).sign(attackerKey.privateKey);
      expect((await expectRefused(`Bearer ${token}`)).code).toBe('token_unknown_key');
    });

    it.each(['jku', 'x5u'])('naming its own key set (%s), which is never fetched', async (param) => {
      for (const kid of ['attacker', await publishedKid()]) {
        const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid, [param]: `${attackerUrl}/keys` }).sign(attackerKey.privateKey);
        expect((await expectRefused(`Bearer ${token}`)).code).toBe('token_key_location');
      }
      expect(attackerHits).toEqual([]);
    });

    it('embedding its own key (jwk)', async () => {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'RS256', kid: 'attacker', jwk: attackerJwks.keys[0] as never })
        .sign(attackerKey.privateKey);
      expect((await expectRefused(`Bearer ${token}`)).code).toBe('token_key_location');
    });

    it('genuine but expired', async () => {
      const past = Math.floor(Date.now() / 1000) - 7200;
      expect((await expectRefused(`Bearer ${await h.channelToken(h.connector.serviceUrl, { iat: past, nbf: past, exp: past + 600 })}`)).code).toBe(
        'token_expired',
      );
    });

    it('genuine but for another bot', async () => {
      expect((await expectRefused(`Bearer ${await h.channelToken(h.connector.serviceUrl, { aud: '11111111-2222-3333-4444-555555555555' })}`)).code).toBe(
        'token_audience',
      );
    });

    it('genuine but from another issuer (an Emulator or skill token)', async () => {
      expect((await expectRefused(`Bearer ${await h.channelToken(h.connector.serviceUrl, { iss: h.sim.issuer })}`)).code).toBe('token_issuer');
    });

    it("genuine but issued for another serviceUrl than the activity names (botbuilder's own check)", async () => {
      expect((await expectRefused(`Bearer ${await h.channelToken('https://smba.trafficmanager.net/emea/')}`, 401, message())).code).toBe('token_activity');
    });
  });
});
