import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SimContext } from './context';
import type { CallRecord } from './state';
import { graphCaller, graphError, isResponse } from './graph-common';
import { headerValue, json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';

/** Graph's documented cap on one JSON batch (json-batching: "currently limited to 20 individual requests"). */
export const MAX_BATCH_REQUESTS = 20;

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  dependsOn: string[];
}

interface ItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Runs one inner request the way the server runs an outer one: faults first, then the router. */
export type Dispatch = (req: SimRequest) => Promise<SimResponse>;

/**
 * `POST /{version}/$batch`, Graph's JSON batching. Each inner request is run through the simulator's own
 * dispatch with the batch's Authorization, so per-item 401/403/404/429 (and injected faults with
 * Retry-After in the item's headers) happen exactly as they would outside a batch. A malformed batch is
 * a 400 for the whole call; once it parses, the batch answers 200 and each item carries its own status.
 */
export function registerGraphBatch(router: Router, ctx: SimContext, dispatch: Dispatch): void {
  for (const version of ['v1.0', 'beta']) {
    // Some HTTP clients percent-encode the `$`.
    for (const segment of ['$batch', '%24batch']) {
      router.add('POST', `/${version}/${segment}`, async (req) => {
        const caller = await graphCaller(ctx, req);
        if (isResponse(caller)) return caller;
        const parsed = parseBatch(req);
        if ('status' in parsed) return parsed;
        const responses = await runBatch(ctx, req, version, parsed, dispatch);
        return json(200, { responses });
      });
    }
  }
}

function parseBatch(req: SimRequest): BatchItem[] | SimResponse {
  const body = jsonBody<{ requests?: unknown }>(req);
  if (!body || typeof body !== 'object' || !Array.isArray(body.requests)) {
    return graphError(req, 400, 'BadRequest', 'Invalid batch payload format: the body must be a JSON object with a "requests" array.');
  }
  if (body.requests.length === 0) return graphError(req, 400, 'BadRequest', 'Invalid batch payload format: "requests" is empty.');
  if (body.requests.length > MAX_BATCH_REQUESTS) {
    return graphError(req, 400, 'BadRequest', `The batch holds ${body.requests.length} requests; a JSON batch is limited to ${MAX_BATCH_REQUESTS} requests.`);
  }
  const items: BatchItem[] = [];
  const ids = new Set<string>();
  for (const [i, raw] of (body.requests as unknown[]).entries()) {
    const r = raw as Record<string, unknown> | null;
    if (!r || typeof r !== 'object') return graphError(req, 400, 'BadRequest', `Invalid batch payload format: request ${i} is not an object.`);
    const id = typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : '';
    if (!id) return graphError(req, 400, 'BadRequest', `Invalid batch payload format: request ${i} has no id.`);
    if (ids.has(id)) return graphError(req, 400, 'BadRequest', `Invalid batch payload format: the request id '${id}' is used twice.`);
    ids.add(id);
    const method = typeof r.method === 'string' ? r.method.toUpperCase() : '';
    if (!METHODS.has(method))
      return graphError(req, 400, 'BadRequest', `Invalid batch payload format: request '${id}' has an unsupported method '${String(r.method)}'.`);
    if (typeof r.url !== 'string' || !r.url) return graphError(req, 400, 'BadRequest', `Invalid batch payload format: request '${id}' has no url.`);
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (!r.headers || typeof r.headers !== 'object' || Array.isArray(r.headers)) {
        return graphError(req, 400, 'BadRequest', `Invalid batch payload format: the headers of request '${id}' must be an object.`);
      }
      for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) headers[k.toLowerCase()] = String(v);
    }
    const dependsOn = r.dependsOn === undefined ? [] : r.dependsOn;
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string')) {
      return graphError(req, 400, 'BadRequest', `Invalid batch payload format: dependsOn of request '${id}' must be an array of request ids.`);
    }
    items.push({ id, method, url: r.url, headers, body: r.body, dependsOn: dependsOn as string[] });
  }
  for (const item of items) {
    for (const dep of item.dependsOn) {
      if (!ids.has(dep))
        return graphError(req, 400, 'BadRequest', `Invalid batch payload format: request '${item.id}' depends on '${dep}', which is not in the batch.`);
    }
  }
  if (hasCycle(items)) return graphError(req, 400, 'BadRequest', 'Invalid batch payload format: the dependsOn references form a cycle.');
  return items;
}

function hasCycle(items: BatchItem[]): boolean {
  const byId = new Map(items.map((i) => [i.id, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): boolean => {
    const s = state.get(id);
    if (s === 'done') return false;
    if (s === 'visiting') return true;
    state.set(id, 'visiting');
    for (const dep of byId.get(id)!.dependsOn) if (visit(dep)) return true;
    state.set(id, 'done');
    return false;
  };
  return items.some((i) => visit(i.id));
}

async function runBatch(ctx: SimContext, outer: SimRequest, version: string, items: BatchItem[], dispatch: Dispatch): Promise<ItemResponse[]> {
  const byId = new Map(items.map((i) => [i.id, i]));
  const running = new Map<string, Promise<ItemResponse>>();
  const run = (id: string): Promise<ItemResponse> => {
    let p = running.get(id);
    if (!p) {
      const item = byId.get(id)!;
      p = (async () => {
        const deps = await Promise.all(item.dependsOn.map(run));
        // json-batching: "If an individual request fails, any request that depends on that request fails with 424".
        if (deps.some((d) => d.status >= 400)) {
          return itemResponse(item.id, graphError(outer, 424, 'FailedDependency', 'A request this request depends on failed.'));
        }
        return runItem(ctx, outer, version, item, dispatch);
      })();
      running.set(id, p);
    }
    return p;
  };
  const responses = await Promise.all(items.map((i) => run(i.id)));
  // Graph answers in any order; reversing keeps clients honest about correlating by id.
  return responses.reverse();
}

async function runItem(ctx: SimContext, outer: SimRequest, version: string, item: BatchItem, dispatch: Dispatch): Promise<ItemResponse> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(item.url)) {
    return itemResponse(item.id, graphError(outer, 400, 'BadRequest', 'The url of a batched request must be relative to the version, e.g. /users.'));
  }
  const url = new URL(`/${version}/${item.url.replace(/^\//, '')}`, outer.origin);
  if (/\/(\$|%24)batch$/i.test(url.pathname)) return itemResponse(item.id, graphError(outer, 400, 'BadRequest', 'A batch cannot contain another batch.'));
  if (item.body !== undefined && !item.headers['content-type']) {
    return itemResponse(item.id, graphError(outer, 400, 'BadRequest', `Request '${item.id}' has a body but no Content-Type header.`));
  }
  const headers: IncomingHttpHeaders = { ...item.headers, host: outer.headers.host };
  const authorization = headerValue(outer.headers.authorization);
  if (authorization) headers.authorization = authorization;
  const body = item.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof item.body === 'string' ? item.body : JSON.stringify(item.body), 'utf8');
  const inner: SimRequest = {
    method: item.method,
    path: url.pathname.replace(/%27/gi, "'").replace(/%28/gi, '(').replace(/%29/gi, ')').replace(/%3D/gi, '='),
    query: url.searchParams,
    headers,
    body,
    origin: outer.origin,
    requestId: randomUUID(),
    clientRequestId: item.headers['client-request-id'] ?? outer.clientRequestId,
  };
  let out: SimResponse;
  try {
    out = await dispatch(inner);
  } catch (err) {
    ctx.logger.error({ err, path: inner.path }, 'simulator batch item failed');
    out = graphError(inner, 500, 'InternalServerError', 'The simulator failed to handle the request.');
  }
  // Each batched request counts against Graph's limits on its own; the call log shows it, marked.
  const record: CallRecord & { batchItemOf: string } = {
    time: new Date().toISOString(),
    method: inner.method,
    path: inner.path,
    query: inner.query.toString(),
    status: out.status,
    oid: inner.caller?.oid,
    appid: inner.caller?.appid,
    batchItemOf: outer.requestId,
  };
  ctx.state.calls.push(record);
  return itemResponse(item.id, out, inner);
}

function itemResponse(id: string, out: SimResponse, inner?: SimRequest): ItemResponse {
  const headers: Record<string, string> = { ...(out.headers ?? {}) };
  if (out.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = typeof out.body === 'string' ? 'text/plain' : 'application/json';
  }
  if (inner) headers['request-id'] = inner.requestId;
  return out.body === undefined ? { id, status: out.status, headers } : { id, status: out.status, headers, body: out.body };
}
