import type { AccessToken, TokenCredential } from '@azure/identity';
import { GraphFailure, type GraphCall, type OnboardingGraph } from './graph-port';

/** One Graph call may take this long; app registration writes are usually well under a second. */
const CALL_TIMEOUT_MS = 20_000;
/** Graph asks clients to honour Retry-After on 429/503; three tries keep a run from hanging. */
const MAX_RETRIES = 3;
/** A token is reused until this close to expiry, so the admin signs in once per run. */
const TOKEN_REFRESH_MARGIN_MS = 120_000;

export interface GraphHttpOptions {
  baseUrl: string;
  credential: TokenCredential;
  scopes: string[];
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** The Graph adapter: bearer token from the credential, JSON in and out, bounded retries. */
/** Graph's error body: `{ error: { code, message } }` (read as sent; either may be missing or not a string). */
interface GraphErrorBody {
  code?: unknown;
  message?: unknown;
}

export function createGraphHttp(o: GraphHttpOptions): OnboardingGraph & { token(): Promise<string> } {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;

  async function token(): Promise<string> {
    if (cached && cached.expiresOnTimestamp - Date.now() > TOKEN_REFRESH_MARGIN_MS) return cached.token;
    // One sign-in even when calls race: they share the pending device code flow.
    pending ??= o.credential
      .getToken(o.scopes)
      .then((t) => {
        if (!t) throw new Error('The sign-in returned no token.');
        return t;
      })
      .finally(() => {
        pending = undefined;
      });
    cached = await pending;
    return cached.token;
  }

  async function send<T>(call: GraphCall): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await doFetch(`${o.baseUrl}${call.path}`, {
        method: call.method,
        headers: {
          Authorization: `Bearer ${await token()}`,
          Accept: 'application/json',
          ...(call.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await res.text();
      if ((res.status === 429 || res.status === 503 || res.status === 504) && attempt < MAX_RETRIES) {
        const after = Number(res.headers.get('retry-after'));
        const jitter = Math.floor(Math.random() * 250);
        await sleep((Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 500 * 2 ** attempt) + jitter);
        continue;
      }
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      if (res.status >= 200 && res.status < 300) return parsed as T;
      const err: GraphErrorBody = (parsed as { error?: GraphErrorBody } | null | undefined)?.error ?? {};
      throw new GraphFailure(call, res.status, String(err.code ?? 'UnknownError'), String(err.message ?? text.slice(0, 200) ?? ''));
    }
  }

  return { send, token };
}
