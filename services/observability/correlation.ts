import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * Correlation ids: one per inbound HTTP request, carried through everything that request causes
 * (log lines, Graph and ARM calls) by AsyncLocalStorage, so no function has to pass it along.
 */

/** Headers a caller may name its own id in, most specific first (Graph and ARM callers use the last two). */
export const INBOUND_CORRELATION_HEADERS = ['x-correlation-id', 'request-id', 'client-request-id', 'x-ms-client-request-id'] as const;
/** The header the id is returned in. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** A short token: it ends up in log lines and headers, so nothing that could smuggle text or markup. */
const SANE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

interface CorrelationContext {
  correlationId: string;
}

const storage = new AsyncLocalStorage<CorrelationContext>();

/** The caller's id if one of the headers holds a sane short token, else a new UUID. */
export function correlationIdFrom(headers: Record<string, string | string[] | undefined>): string {
  for (const name of INBOUND_CORRELATION_HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string' && SANE_ID.test(value.trim())) return value.trim();
  }
  return randomUUID();
}

/** Runs `fn` with `correlationId` as the current id (for everything it awaits or schedules). */
export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

/** The id of the request being served, if any (timers and jobs outside a request have none). */
export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/**
 * What to send as Graph's `client-request-id` (or ARM's `x-ms-client-request-id`): Microsoft documents it
 * as a client-generated GUID, so only a GUID-shaped id goes; otherwise the client generates its own.
 */
export function outboundClientRequestId(): string | undefined {
  const id = currentCorrelationId();
  return id && GUID.test(id) ? id : undefined;
}

/** A pino mixin: every log line written while serving a request carries its correlation id. */
export function correlationMixin(): { correlationId?: string } {
  const id = currentCorrelationId();
  return id ? { correlationId: id } : {};
}
