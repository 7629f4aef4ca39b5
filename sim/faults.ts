import { randomUUID } from 'node:crypto';
import type { SimRequest, SimResponse } from './http';
import { graphError } from './graph-common';
import { entraError } from './entra';
import { json } from './http';
import { integrationErrorResponse } from './integrations';

export interface FaultSpec {
  method?: string;
  /** Regular expression tested against the path, then against path + query. */
  pathPattern: string;
  latencyMs?: number;
  /**
   * The call is carried out, then its answer is held this long: the service did the work but the caller
   * hears late or never (a crash or timeout in between). Not combined with `status`.
   */
  answerAfterMs?: number;
  status?: number;
  retryAfterSeconds?: number;
  /** How many matching calls the fault applies to; unlimited when absent. */
  times?: number;
}

interface Fault extends FaultSpec {
  id: string;
  regex: RegExp;
  remaining: number;
  hits: number;
}

export class Faults {
  private readonly list: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const f: Fault = { ...spec, id: randomUUID(), regex: new RegExp(spec.pathPattern), remaining: spec.times ?? Infinity, hits: 0 };
    this.list.push(f);
    return f;
  }

  clear(): void {
    this.list.length = 0;
  }

  describe() {
    return this.list.map(({ regex: _r, remaining, ...f }) => ({ ...f, remaining: Number.isFinite(remaining) ? remaining : null }));
  }

  /** The first live fault matching this call, consuming one of its `times`. */
  take(req: SimRequest): Fault | undefined {
    const full = req.query.toString() ? `${req.path}?${req.query.toString()}` : req.path;
    const f = this.list.find((x) => x.remaining > 0
      && (!x.method || x.method.toUpperCase() === req.method)
      && (x.regex.test(req.path) || x.regex.test(full)));
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    return f;
  }
}

/** The error a faulted call gets, in the body format of the service the path belongs to. */
export function faultResponse(req: SimRequest, status: number, retryAfterSeconds?: number): SimResponse {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  if (/^\/(v1\.0|beta)\//i.test(req.path)) {
    const code = status === 429 ? 'TooManyRequests' : status === 403 ? 'Forbidden' : status === 503 ? 'ServiceUnavailable' : status === 504 ? 'GatewayTimeout' : status >= 500 ? 'InternalServerError' : 'BadRequest';
    const message = status === 429 ? 'Too many requests. Please retry after the time in the Retry-After header.' : `Injected fault (HTTP ${status}).`;
    const r = graphError(req, status, code, message, headers);
    return r;
  }
  if (/\/oauth2\/v2\.0\/token$/i.test(req.path) || /\/v2\.0\/\.well-known\//i.test(req.path) || /\/discovery\//i.test(req.path)) {
    const r = status === 429
      ? entraError(429, 'temporarily_unavailable', 50196, 'The server terminated an operation because it encountered a client request loop or too many requests.', req)
      : entraError(status, status >= 500 ? 'temporarily_unavailable' : 'invalid_request', 90033, `Injected fault (HTTP ${status}).`, req);
    return { ...r, headers: { ...(r.headers ?? {}), ...headers } };
  }
  const integration = integrationErrorResponse(req, status, headers);
  if (integration) return integration;
  return json(status, { error: { code: status === 429 ? 'TooManyRequests' : 'ServiceError', message: `Injected fault (HTTP ${status}).` } }, headers);
}
