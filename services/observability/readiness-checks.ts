import type { TokenCredential } from '@azure/identity';
import { sql, type Kysely } from 'kysely';
import { explainConnectionError, isConnectionError, type ConnectionHealth } from '../store/pg-resilience';
import { CheckFailure, type CheckCondition, type ReadinessCheck } from './readiness';

/** A trivial query; a healthy database answers in milliseconds, a pool waiting for a connection does not. */
const DATABASE_TIMEOUT_MS = 2_000;
/** A cached token returns at once; a fresh one from Entra normally takes well under a second. */
const TOKEN_TIMEOUT_MS = 5_000;
/** The connector only has to answer; 3 s is far beyond its normal latency. */
const CONNECTOR_TIMEOUT_MS = 3_000;

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** The scope botbuilder asks for when it calls the Bot Connector (AuthenticationConstants.ToChannelFromBotOAuthScope). */
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com/.default';

/**
 * `select 1` on the store's pool. On PostgreSQL (`connections` given) also what the store knows of its
 * connections: from a lost connection until a query succeeds afterwards with no unit of work still waiting
 * to run again, the check fails as `reconnecting`, with since when and the last error (see ConnectionHealth).
 * The probe's own query counts: it starts an incident when it cannot connect and ends one when it answers,
 * so a replica out of rotation (no traffic, no other queries) still sees its database come back.
 */
export function databaseCheck<DB>(db: Kysely<DB>, connections?: ConnectionHealth): ReadinessCheck {
  return {
    name: 'database',
    timeoutMs: DATABASE_TIMEOUT_MS,
    run: async () => {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        if (connections && isConnectionError(err)) connections.noteError(err, 'readiness probe');
        throw err;
      }
      connections?.noteSuccess();
    },
    ...(connections ? { condition: () => connectionCondition(connections), generation: () => connections.generation } : {}),
  };
}

/** The store's connections as a failed check's condition; null while they are fine. */
export function connectionCondition(connections: ConnectionHealth): CheckCondition | null {
  const state = connections.state();
  if (state.status === 'ok') return null;
  const since = state.since!;
  const lastError = explainConnectionError(state.lastError ?? 'connection error');
  const waiting = state.awaitingRetry ? `; ${state.awaitingRetry} unit${state.awaitingRetry === 1 ? '' : 's'} of work waiting to run again` : '';
  return {
    detail: `reconnecting: connection lost since ${since} (${lastError})${waiting}`,
    status: state.status,
    since,
    lastError,
    awaitingRetry: state.awaitingRetry ?? 0,
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
