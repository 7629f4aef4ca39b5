/**
 * Sorting a failed send (throttled, transient, permanent), reading a 429's Retry-After, and the short
 * error text the outbox stores and logs (never the payload).
 */
import type { SendFailure } from './types';

export const LAST_ERROR_MAX = 200;
/** An absurd Retry-After (hours) is capped: the card would be useless by then anyway. */
const RETRY_AFTER_CAP_MS = 60 * 60_000;

export function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function shortError(err: unknown): string {
  const e = err as { message?: unknown };
  return clipText(typeof e?.message === 'string' ? e.message : String(err), LAST_ERROR_MAX);
}

class SendTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeoutError(`no answer from the Bot Connector within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sorts a send error: 429 → throttled (with the Retry-After it carries, if any); 408, 412, 5xx and
 * errors without a status (network, timeout) → transient; other 4xx → permanent. 412 is on Teams'
 * list of codes to retry.
 */
export function classifySendError(err: unknown, now: Date): SendFailure {
  const status = statusOf(err);
  const summary = clipText(`${status ?? codeOf(err) ?? 'error'}: ${shortError(err)}`, LAST_ERROR_MAX);
  if (status === 429) return { kind: 'throttled', retryAfterMs: retryAfterOf(err, now), summary };
  if (status === undefined || status === 408 || status === 412 || status >= 500) return { kind: 'transient', summary };
  if (status >= 400) return { kind: 'permanent', summary };
  return { kind: 'transient', summary };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const v of [e?.statusCode, e?.status, e?.response?.status]) if (typeof v === 'number' && v >= 100 && v < 600) return v;
  return undefined;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Retry-After from `retryAfterMs`, or the error's (or its response's) headers: seconds or an HTTP date. */
export function retryAfterOf(err: unknown, now: Date): number | null {
  const e = err as { retryAfterMs?: unknown; headers?: unknown; response?: { headers?: unknown } } | null;
  if (typeof e?.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs)) return clampRetryAfter(e.retryAfterMs);
  for (const headers of [e?.headers, e?.response?.headers]) {
    const ms = header(headers, 'retry-after-ms') ?? header(headers, 'x-ms-retry-after-ms');
    if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return clampRetryAfter(Number(ms));
    const value = header(headers, 'retry-after')?.trim();
    if (!value) continue;
    if (/^\d+(\.\d+)?$/.test(value)) return clampRetryAfter(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return clampRetryAfter(date - now.getTime());
  }
  return null;
}

function clampRetryAfter(ms: number): number {
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, Math.round(ms)));
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  if (typeof h.get === 'function') {
    const v = h.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  for (const [key, v] of Object.entries(h))
    if (key.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  return undefined;
}
