/**
 * Every authenticated route answers a failed authentication the same way: 401, a JSON error naming what
 * failed, a WWW-Authenticate challenge, and exactly one structured warn line (no stack, nothing on stderr).
 * /api/messages with the production configuration is covered in bot-framework-tokens.test.ts.
 */
import pino from 'pino';
import { correlationMixin } from '../../services/observability/correlation';
import { DEMO_PIM_CALLER_APP_ID } from '../../sim/seed';
import { APP_ID_URI, startHarness, type Harness } from '../support/harness';

const METRICS_TOKEN = 'test-only-metrics-token-0123456789abcdef0123456789';
const EVENTS_SECRET = 'test-only-auth-failures-events-secret-0123456789';

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

describe('authentication failures on every route', () => {
  let h: Harness;
  const lines: LogLine[] = [];
  let foreignPimToken: string;
  beforeAll(async () => {
    const logger = pino({ level: 'info', mixin: correlationMixin }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
    h = await startHarness({ METRICS_TOKEN, EVENTS_HMAC_SECRET: EVENTS_SECRET }, { logger });
    foreignPimToken = await h.sim.issueToken(
      { aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' },
      { signWith: 'foreign' },
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  const body = JSON.stringify({ id: '00000000-0000-4000-8000-000000000001' });
  const cases: Array<[string, string, string, () => Record<string, string>, RegExp]> = [
    ['POST', '/api/pim/evaluate', 'no token', () => ({}), /^token_/],
    ['POST', '/api/pim/evaluate', 'a token signed by a foreign key', () => ({ authorization: `Bearer ${foreignPimToken}` }), /^token_/],
    ['POST', '/api/pim/post-approval', 'no token', () => ({}), /^token_/],
    ['POST', '/api/pim/post-approval', 'a token signed by a foreign key', () => ({ authorization: `Bearer ${foreignPimToken}` }), /^token_/],
    ['POST', '/api/pim/events', 'no signature', () => ({}), /^hmac_/],
    [
      'POST',
      '/api/pim/events',
      'a wrong signature',
      () => ({ 'x-pim-bot-timestamp': String(Math.floor(Date.now() / 1000)), 'x-pim-bot-signature': `sha256=${'0'.repeat(64)}` }),
      /^hmac_/,
    ],
    ['GET', '/api/tab/approvals', 'no token', () => ({}), /^token_missing$/],
    ['GET', '/api/tab/requests', 'a token signed by a foreign key', () => ({ authorization: `Bearer ${foreignPimToken}` }), /^token_/],
    [
      'POST',
      '/api/tab/approvals/00000000-0000-4000-8000-000000000001/decision',
      'a token signed by a foreign key',
      () => ({ authorization: `Bearer ${foreignPimToken}` }),
      /^token_/,
    ],
    ['GET', '/metrics', 'no token', () => ({}), /^metrics_unauthorized$/],
    ['GET', '/metrics', 'a wrong token', () => ({ authorization: 'Bearer not-the-metrics-token' }), /^metrics_unauthorized$/],
  ];

  it.each(cases)('%s %s with %s: 401, JSON, one log line', async (method, path, _what, headers, code) => {
    const before = lines.length;
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const stderr = jest.spyOn(process.stderr, 'write');
    try {
      const res = await fetch(`${h.bot.url}${path}`, {
        method,
        headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...headers() },
        body: method === 'POST' ? body : undefined,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('www-authenticate')).toBeTruthy();
      expect(res.headers.get('x-correlation-id')).toBeTruthy();
      const answer = (await res.json()) as { error: { code: string; message: string } };
      expect(answer.error.code).toMatch(code);
      expect(answer.error.message.length).toBeGreaterThan(10);
      await new Promise((r) => setTimeout(r, 50));
      const logged = lines.slice(before).filter((l) => l.level >= 40);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ status: 401, code: answer.error.code, correlationId: res.headers.get('x-correlation-id') });
      expect(JSON.stringify(logged[0])).not.toMatch(/"stack"/);
      expect(consoleError).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
      stderr.mockRestore();
    }
  });
});
