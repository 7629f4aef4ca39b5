import { type Evidence, IntegrationUnavailable } from './ports';

/**
 * The one JSON-over-HTTP client every integration adapter uses: base URL, auth header, a named timeout
 * per call, retries on 429/5xx/network errors with exponential backoff and jitter that honour
 * Retry-After, a cap on attempts and on total wait, and the caller's AbortSignal (the decision budget)
 * cancelling everything. Failures become IntegrationUnavailable with a short message that never holds
 * the credentials or the whole response body.
 */

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Total tries including the first. */
  maxAttempts: number;
  /** First backoff step; doubles per retry. */
  baseDelayMs: number;
  /** Ceiling of one backoff step (before Retry-After, which may ask for more, up to the total cap). */
  maxDelayMs: number;
  /** Ceiling of all waits between tries together; a Retry-After beyond it ends the call at once. */
  maxTotalWaitMs: number;
}

/**
 * Three tries inside about 1.5 s of waiting: the decision budget (3 s by default) is the real bound and
 * cancels earlier; these keep a stand-alone call (a card refresh) from retrying for long.
 */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxTotalWaitMs: 1500 };

export interface HttpJsonOptions {
  /** Product name used in error messages, e.g. `ServiceNow`. */
  system: string;
  baseUrl: string;
  /** Sent on every call (Authorization, Accept). Never logged or echoed in errors. */
  headers: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  fetch?: FetchFn;
  /** In [0, 1); injectable so jitter is testable. */
  random?: () => number;
  /** Wall clock for Retry-After HTTP dates. */
  now?: () => number;
}

export type Query = Record<string, string | number | boolean | Array<string | number> | undefined>;

export interface JsonCall {
  path: string;
  query?: Query;
  /** Per-try timeout; each adapter names its own with the reason for the value. */
  timeoutMs: number;
  /** The caller's deadline (the decision budget): aborting it ends the call, waits included. */
  signal: AbortSignal;
  /** Non-2xx statuses that are answers, not failures (for example 404 for "no such issue"). */
  accept?: number[];
  /** What the call is for, in error messages: `looking up INC0012345`. */
  what: string;
}

export type Asked<T> = { ok: true; status: number; body: T; evidence: Evidence } | { ok: false; detail: string; evidence: Evidence };

export interface JsonResult<T> {
  status: number;
  body: T;
}

/** Seconds (`120`) or an HTTP date; undefined when absent or unparseable. Never negative. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Backoff before retry number `retry` (1 for the first retry): "equal jitter", half the exponential step
 * fixed and half random, so replicas spread out but no retry comes almost immediately.
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;

export class HttpJsonClient {
  private readonly retry: RetryPolicy;
  private readonly fetchFn: FetchFn;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly base: string;

  constructor(private readonly opts: HttpJsonOptions) {
    this.retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  get system(): string {
    return this.opts.system;
  }

  async get<T>(call: JsonCall): Promise<JsonResult<T>> {
    const url = this.url(call);
    let waited = 0;
    let lastProblem = '';
    let lastAnswer = 'unavailable';
    for (let attempt = 1; ; attempt++) {
      this.throwIfCancelled(call);
      let delay: number | undefined;
      const perTry = AbortSignal.timeout(call.timeoutMs);
      try {
        const res = await this.fetchFn(url, {
          method: 'GET',
          headers: { Accept: 'application/json', ...this.opts.headers },
          signal: AbortSignal.any([call.signal, perTry]),
        });
        const text = await res.text();
        if (res.ok || call.accept?.includes(res.status)) return { status: res.status, body: this.parse<T>(text, res.status, call) };
        const detail = errorDetail(text);
        if (res.status === 401 || res.status === 403) {
          throw this.unavailable(
            `${this.system} refused the credentials (HTTP ${res.status}${detail ? `: ${detail}` : ''}) while ${call.what}; check the ${this.system} credentials in the integration settings.`,
            `HTTP ${res.status}`,
          );
        }
        lastProblem = `HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
        lastAnswer = `HTTP ${res.status}`;
        if (!RETRYABLE(res.status)) throw this.unavailable(`${this.system} answered ${lastProblem} while ${call.what}.`, `HTTP ${res.status}`);
        delay = parseRetryAfter(res.headers.get('retry-after'), this.now());
      } catch (err) {
        if (err instanceof IntegrationUnavailable) throw err;
        this.throwIfCancelled(call);
        lastProblem = perTry.aborted ? `no answer within ${call.timeoutMs} ms` : `network error (${shortError(err)})`;
        lastAnswer = perTry.aborted ? `no answer within ${call.timeoutMs} ms` : `network error (${shortError(err)})`;
      }
      if (attempt >= this.retry.maxAttempts) break;
      const wait = delay ?? backoffDelayMs(attempt, this.retry, this.random);
      if (waited + wait > this.retry.maxTotalWaitMs) {
        lastProblem += delay !== undefined ? `; asked to retry after ${Math.ceil(delay / 1000)} s, beyond the retry cap` : '';
        if (delay !== undefined) lastAnswer += `, Retry-After ${Math.ceil(delay / 1000)} s`;
        break;
      }
      waited += wait;
      await sleep(wait, call.signal);
    }
    this.throwIfCancelled(call);
    throw this.unavailable(
      `${this.system} did not answer while ${call.what}: ${lastProblem} after ${this.retry.maxAttempts > 1 ? 'retries' : 'one try'}.`,
      lastAnswer,
    );
  }

  private url(call: JsonCall): string {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(item))}`);
    }
    const path = call.path.startsWith('/') ? call.path : `/${call.path}`;
    return `${this.base}${path}${parts.length ? `?${parts.join('&')}` : ''}`;
  }

  private parse<T>(text: string, status: number, call: JsonCall): T {
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.unavailable(
        `${this.system} answered HTTP ${status} with a body that is not JSON while ${call.what}; check the base URL.`,
        `HTTP ${status}, body not JSON`,
      );
    }
  }

  private throwIfCancelled(call: JsonCall): void {
    if (call.signal.aborted)
      throw this.unavailable(`${this.system} did not answer in time while ${call.what} (the decision budget ran out).`, 'no answer within the decision budget');
  }

  private unavailable(message: string, answer: string): IntegrationUnavailable {
    return new IntegrationUnavailable(this.system, message, answer);
  }

  /**
   * One question, never throwing: the answer with its evidence, or why there is none. Adapters build
   * their tri-state findings on this, so a failed lookup can only ever become `unknown`.
   */
  async ask<T>(call: JsonCall & { asked: string }): Promise<Asked<T>> {
    const started = Date.now();
    try {
      const res = await this.get<T>(call);
      return {
        ok: true,
        status: res.status,
        body: res.body,
        evidence: { asked: call.asked, system: this.system, answer: `HTTP ${res.status}`, ms: Date.now() - started },
      };
    } catch (err) {
      const e =
        err instanceof IntegrationUnavailable ? err : new IntegrationUnavailable(this.system, `${this.system} could not be asked while ${call.what}.`, 'error');
      return { ok: false, detail: e.message, evidence: { asked: call.asked, system: this.system, answer: e.answer, ms: Date.now() - started } };
    }
  }
}

/** A short, safe summary of an error body in the formats our systems use; never the whole body. */
export function errorDetail(text: string): string {
  if (!text) return '';
  let msg: unknown;
  try {
    const b = JSON.parse(text) as { error?: { message?: unknown }; errorMessages?: unknown; message?: unknown; error_description?: unknown } | null;
    msg = b?.error?.message ?? (Array.isArray(b?.errorMessages) ? b.errorMessages[0] : undefined) ?? b?.message ?? b?.error_description;
  } catch {
    msg = text.length <= 120 && !/[<{]/.test(text) ? text : undefined;
  }
  if (typeof msg !== 'string') return '';
  const one = msg.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}

function shortError(err: unknown): string {
  const e = err as { cause?: { code?: string }; message?: string; name?: string };
  return e?.cause?.code ?? e?.name ?? 'unknown';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** `Basic base64(user:secret)`. */
export function basicAuth(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}`;
}
