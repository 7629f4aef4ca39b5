import type { TokenCredential } from '@azure/identity';
import { sql, type Kysely } from 'kysely';
import { CheckFailure, type ReadinessCheck } from './readiness';

/** A trivial query; a healthy database answers in milliseconds, a pool waiting for a connection does not. */
const DATABASE_TIMEOUT_MS = 2_000;
/** A cached token returns at once; a fresh one from Entra normally takes well under a second. */
const TOKEN_TIMEOUT_MS = 5_000;
/** The connector only has to answer; 3 s is far beyond its normal latency. */
const CONNECTOR_TIMEOUT_MS = 3_000;

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** The scope botbuilder asks for when it calls the Bot Connector (AuthenticationConstants.ToChannelFromBotOAuthScope). */
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com/.default';

export function databaseCheck(db: Kysely<any>): ReadinessCheck {
  return {
    name: 'database',
    timeoutMs: DATABASE_TIMEOUT_MS,
    run: async () => {
      await sql`select 1`.execute(db);
    },
  };
}

/**
 * App-only token acquisition with the bot's own credential. The identity library caches tokens, so
 * a probe normally costs nothing; once the cached token nears expiry a failing Entra (or a revoked
 * secret or certificate) shows here.
 */
export function tokenCheck(name: string, credential: TokenCredential, scope: string): ReadinessCheck {
  return {
    name,
    timeoutMs: TOKEN_TIMEOUT_MS,
    run: async (signal) => {
      const token = await credential.getToken(scope, { abortSignal: signal });
      if (!token?.token) throw new CheckFailure('failed: the credential returned no token');
    },
  };
}

/**
 * The Bot Connector answers HTTP at each service URL the bot sends to. Any answer below 500 counts (a
 * GET on the root is not an API call: 401 or 404 is the expected reply); no token is sent.
 */
export function connectorCheck(serviceUrls: string[], fetchFn: typeof fetch = fetch): ReadinessCheck {
  const urls = [...new Set(serviceUrls.map((u) => u.replace(/\/?$/, '/')))];
  return {
    name: 'connector',
    timeoutMs: CONNECTOR_TIMEOUT_MS,
    run: async (signal) => {
      await Promise.all(
        urls.map(async (url, i) => {
          const which = urls.length > 1 ? ` (service URL ${i + 1} of ${urls.length})` : '';
          let res: Response;
          try {
            res = await fetchFn(url, { method: 'GET', signal, redirect: 'manual' });
          } catch (err) {
            const code = (err as { cause?: { code?: unknown } }).cause?.code;
            throw new CheckFailure(`unreachable${typeof code === 'string' && /^[A-Z_]{1,30}$/.test(code) ? `: ${code}` : ''}${which}`);
          }
          await res.body?.cancel().catch(() => undefined);
          if (res.status >= 500) throw new CheckFailure(`the Bot Connector answered HTTP ${res.status}${which}`);
        }),
      );
      return `${urls.length} service URL${urls.length === 1 ? '' : 's'} answered`;
    },
  };
}
