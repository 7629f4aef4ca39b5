import { randomUUID } from 'node:crypto';
import type { SimRequest, SimResponse } from './http';
import { graphError } from './graph-common';
import { entraError } from './entra';
import { json } from './http';
import { integrationErrorResponse } from './integrations';

/** How an answer-spoiling fault damages the body of a successful answer. */
export type BodyFault = 'truncated' | 'malformed' | 'empty';
export const BODY_FAULTS: readonly BodyFault[] = ['truncated', 'malformed', 'empty'];

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
  /**
   * The call is carried out, then its successful (2xx) answer's body is spoiled, status kept: `truncated`
   * sends the first half of the JSON, `malformed` an HTML page instead of JSON (what a proxy, a login
   * wall or a hibernating ServiceNow instance answers with 200), `empty` no body at all. Error answers
   * pass unchanged. Not combined with `status` or `dropFields`.
   */
  body?: BodyFault;
  /**
   * The call is carried out, then these keys are removed at any depth of its successful (2xx) JSON
   * answer: a field an API withholds (privacy settings, ACLs, a missing licence) or a schema drift.
   * Not combined with `status` or `body`.
   */
  dropFields?: string[];
  /** How many matching calls the fault applies to; unlimited when absent. */
  times?: number;
}

/** A call a fault changed, as `GET /_sim/faults` lists it: `clientRequestId` ties a Graph call to its caller's request. */
export interface FaultedCall {
  method: string;
  path: string;
  /** The caller's `client-request-id` header (Graph clients send one), or null. */
  clientRequestId: string | null;
}

interface Fault extends FaultSpec {
  id: string;
  regex: RegExp;
  remaining: number;
  hits: number;
  /** The most recent calls this fault changed (at most CALLS_KEPT). */
  calls: Array<FaultedCall & { requestId: string }>;
}

const CALLS_KEPT = 20;

export class Faults {
  private readonly list: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const f: Fault = { ...spec, id: randomUUID(), regex: new RegExp(spec.pathPattern), remaining: spec.times ?? Infinity, hits: 0, calls: [] };
    this.list.push(f);
    return f;
  }

  clear(): void {
    this.list.length = 0;
  }

  describe() {
    return this.list.map(({ regex: _r, remaining, calls, ...f }) => ({
      ...f,
      remaining: Number.isFinite(remaining) ? remaining : null,
      calls: calls.map(({ requestId: _id, ...c }) => c),
    }));
  }

  /** The first live fault matching this call, consuming one of its `times`. */
  take(req: SimRequest): Fault | undefined {
    const full = req.query.toString() ? `${req.path}?${req.query.toString()}` : req.path;
    const f = this.list.find((x) => x.remaining > 0 && (!x.method || x.method.toUpperCase() === req.method) && (x.regex.test(req.path) || x.regex.test(full)));
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    const header = req.headers['client-request-id'];
    f.calls.push({ method: req.method, path: req.path, clientRequestId: (Array.isArray(header) ? header[0] : header) ?? null, requestId: req.requestId });
    if (f.calls.length > CALLS_KEPT) f.calls.shift();
    return f;
  }

  /**
   * The answer as a `body` or `dropFields` fault leaves it. When the fault changes nothing (an error
   * answer, no JSON body, none of the fields present) and had no latency to add either, the call is
   * given back: `hits` and `calls` count what the fault actually changed, so a test can tell whether
   * the caller saw it.
   */
  spoil(f: Fault, req: SimRequest, answer: SimResponse): SimResponse {
    const spoiled = spoilAnswer(answer, f);
    if (spoiled) return spoiled;
    if (!f.latencyMs && f.answerAfterMs === undefined) {
      f.hits -= 1;
      f.remaining += 1;
      const i = f.calls.findIndex((c) => c.requestId === req.requestId);
      if (i >= 0) f.calls.splice(i, 1);
    }
    return answer;
  }
}

/** Whether the fault runs the real handler and then alters its answer. */
export function spoilsAnswer(f: Pick<FaultSpec, 'body' | 'dropFields'>): boolean {
  return f.body !== undefined || f.dropFields !== undefined;
}

/**
 * A successful answer with its body spoiled as `body` or `dropFields` says; undefined when the fault does
 * not apply: an error status, no JSON body, or (dropFields) none of the keys present.
 */
export function spoilAnswer(answer: SimResponse, f: Pick<FaultSpec, 'body' | 'dropFields'>): SimResponse | undefined {
  if (answer.status < 200 || answer.status > 299) return undefined;
  const doc = jsonDocument(answer);
  if (doc === undefined) return undefined;
  const headers = (contentType: string | undefined) => {
    const kept = Object.fromEntries(Object.entries(answer.headers ?? {}).filter(([k]) => !/^content-(type|length)$/i.test(k)));
    return contentType ? { ...kept, 'Content-Type': contentType } : kept;
  };
  switch (f.body) {
    case 'truncated': {
      const text = JSON.stringify(doc);
      return { status: answer.status, headers: headers('application/json; charset=utf-8'), body: text.slice(0, Math.max(1, Math.floor(text.length / 2))) };
    }
    case 'malformed':
      return { status: answer.status, headers: headers('text/html; charset=utf-8'), body: MALFORMED_PAGE };
    case 'empty':
      // Still labelled JSON: the caller must notice there is nothing to parse.
      return { status: answer.status, headers: headers('application/json; charset=utf-8') };
    case undefined:
      break;
    default:
      return assertNever(f.body);
  }
  if (!f.dropFields?.length) return undefined;
  const drop = new Set(f.dropFields);
  let removed = 0;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (drop.has(k)) removed += 1;
      else out[k] = strip(x);
    }
    return out;
  };
  const stripped = strip(doc);
  return removed > 0 ? { status: answer.status, headers: headers(undefined), body: stripped } : undefined;
}

/** What a proxy or a sleeping instance answers instead of the API: HTML, with 200. */
const MALFORMED_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Instance Hibernating</title></head>' +
  '<body><h1>Your instance is hibernating</h1><p>Sign in to wake it up.</p></body></html>\n';

/** The answer's JSON document, or undefined when it has none (no body, text, HTML). */
function jsonDocument(answer: SimResponse): unknown {
  const b = answer.body;
  if (b === undefined || b === null) return undefined;
  if (Buffer.isBuffer(b)) return undefined;
  if (typeof b !== 'string') return b;
  const type = Object.entries(answer.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (!/json/i.test(type)) return undefined;
  try {
    return JSON.parse(b) as unknown;
  } catch {
    return undefined;
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled value: ${String(value)}`);
}

type SpecCheck = { ok: true; spec: FaultSpec } | { ok: false; code: string; message: string };

const SPEC_KEYS = ['method', 'pathPattern', 'latencyMs', 'answerAfterMs', 'status', 'retryAfterSeconds', 'body', 'dropFields', 'times'] as const;
/** A day: longer than any client waits, short enough that a typo is caught. */
const MAX_DELAY_MS = 86_400_000;

/** A `POST /_sim/faults` body checked field by field; the message names the field and what it takes. */
export function parseFaultSpec(input: unknown): SpecCheck {
  const bad = (code: string, message: string): SpecCheck => ({ ok: false, code, message });
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return bad('InvalidFault', 'the body must be a JSON object, e.g. {"pathPattern": "^/servicenow/", "status": 503}.');
  const b = input as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !(SPEC_KEYS as readonly string[]).includes(k));
  if (unknown.length) return bad('InvalidFault', `unknown field ${unknown.map((k) => `'${k}'`).join(', ')}; a fault takes ${SPEC_KEYS.join(', ')}.`);
  const wholeMs = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_DELAY_MS;

  if (typeof b.pathPattern !== 'string' || !b.pathPattern) return bad('InvalidPathPattern', 'pathPattern: required (a regular expression).');
  try {
    new RegExp(b.pathPattern);
  } catch {
    return bad('InvalidPathPattern', 'pathPattern: not a valid regular expression.');
  }
  if (b.method !== undefined && (typeof b.method !== 'string' || !/^[A-Za-z]+$/.test(b.method)))
    return bad('InvalidMethod', "method: an HTTP method such as 'GET'.");
  if (b.status !== undefined && (!Number.isInteger(b.status) || (b.status as number) < 400 || (b.status as number) > 599)) {
    return bad('InvalidStatus', 'status: must be an HTTP error status (400-599).');
  }
  if (b.latencyMs !== undefined && !wholeMs(b.latencyMs)) return bad('InvalidLatency', `latencyMs: a whole number of milliseconds, 0 to ${MAX_DELAY_MS}.`);
  if (b.retryAfterSeconds !== undefined && (!Number.isInteger(b.retryAfterSeconds) || (b.retryAfterSeconds as number) < 0)) {
    return bad('InvalidRetryAfter', 'retryAfterSeconds: a whole number of seconds ≥ 0.');
  }
  if (b.retryAfterSeconds !== undefined && b.status === undefined) return bad('InvalidRetryAfter', 'retryAfterSeconds: goes with status (e.g. 429 or 503).');
  if (b.times !== undefined && (!Number.isInteger(b.times) || (b.times as number) < 1))
    return bad('InvalidTimes', 'times: a whole number ≥ 1 (leave it out for every matching call).');
  if (b.body !== undefined && !(BODY_FAULTS as readonly unknown[]).includes(b.body)) {
    return bad('InvalidBody', `body: one of ${BODY_FAULTS.map((k) => `'${k}'`).join(', ')}.`);
  }
  if (
    b.dropFields !== undefined &&
    (!Array.isArray(b.dropFields) || b.dropFields.length === 0 || b.dropFields.length > 50 || !b.dropFields.every((k) => typeof k === 'string' && k.length > 0))
  ) {
    return bad('InvalidDropFields', 'dropFields: a list of 1 to 50 field names, e.g. ["emailAddress"].');
  }
  if (b.body !== undefined && b.dropFields !== undefined)
    return bad('InvalidFault', 'body and dropFields: one or the other (a spoiled body has no fields to drop).');
  if (b.status !== undefined && (b.body !== undefined || b.dropFields !== undefined)) {
    return bad('InvalidFault', 'body and dropFields spoil the real answer, so they do not go with status (which replaces it).');
  }
  if (b.answerAfterMs !== undefined && (b.status !== undefined || !wholeMs(b.answerAfterMs))) {
    return bad('InvalidFault', 'answerAfterMs: a whole number of milliseconds ≥ 0, without status (the call succeeds, its answer comes late).');
  }
  if (b.status === undefined && b.latencyMs === undefined && b.answerAfterMs === undefined && b.body === undefined && b.dropFields === undefined) {
    return bad('InvalidFault', 'a fault needs status, latencyMs, answerAfterMs, body or dropFields.');
  }
  return {
    ok: true,
    spec: {
      method: b.method as string | undefined,
      pathPattern: b.pathPattern,
      latencyMs: b.latencyMs as number | undefined,
      answerAfterMs: b.answerAfterMs as number | undefined,
      status: b.status as number | undefined,
      retryAfterSeconds: (b.retryAfterSeconds as number | undefined) ?? (b.status === 429 ? 1 : undefined),
      body: b.body as BodyFault | undefined,
      dropFields: b.dropFields ? [...(b.dropFields as string[])] : undefined,
      times: b.times as number | undefined,
    },
  };
}

/** The error a faulted call gets, in the body format of the service the path belongs to. */
export function faultResponse(req: SimRequest, status: number, retryAfterSeconds?: number): SimResponse {
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  if (/^\/(v1\.0|beta)\//i.test(req.path)) {
    const code =
      status === 429
        ? 'TooManyRequests'
        : status === 403
          ? 'Forbidden'
          : status === 503
            ? 'ServiceUnavailable'
            : status === 504
              ? 'GatewayTimeout'
              : status >= 500
                ? 'InternalServerError'
                : 'BadRequest';
    const message = status === 429 ? 'Too many requests. Please retry after the time in the Retry-After header.' : `Injected fault (HTTP ${status}).`;
    const r = graphError(req, status, code, message, headers);
    return r;
  }
  if (/\/oauth2\/v2\.0\/token$/i.test(req.path) || /\/v2\.0\/\.well-known\//i.test(req.path) || /\/discovery\//i.test(req.path)) {
    const r =
      status === 429
        ? entraError(
            429,
            'temporarily_unavailable',
            50196,
            'The server terminated an operation because it encountered a client request loop or too many requests.',
            req,
          )
        : entraError(status, status >= 500 ? 'temporarily_unavailable' : 'invalid_request', 90033, `Injected fault (HTTP ${status}).`, req);
    return { ...r, headers: { ...(r.headers ?? {}), ...headers } };
  }
  const integration = integrationErrorResponse(req, status, headers);
  if (integration) return integration;
  return json(status, { error: { code: status === 429 ? 'TooManyRequests' : 'ServiceError', message: `Injected fault (HTTP ${status}).` } }, headers);
}
