import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** Per-request context shared by every route family. */
export interface SimRequest {
  method: string;
  /** Path without query string, percent-decoded per segment by the route matcher only. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** `https://{Host}`: the base URL the caller used, needed for issuer strings MSAL compares. */
  origin: string;
  requestId: string;
  clientRequestId: string;
  /** Filled in by auth checks so the call log can say who called. */
  caller?: { oid?: string; appid?: string };
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function toSimRequest(req: IncomingMessage, body: Buffer): SimRequest {
  const host = req.headers.host ?? 'localhost';
  const url = new URL(req.url ?? '/', `https://${host}`);
  const clientRequestId = headerValue(req.headers['client-request-id']) ?? randomUUID();
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    // Graph function arguments arrive percent-encoded by some clients (`%27` for quotes); match on the plain form.
    path: url.pathname.replace(/%27/gi, "'").replace(/%28/gi, '(').replace(/%29/gi, ')').replace(/%3D/gi, '='),
    query: url.searchParams,
    headers: req.headers,
    body,
    origin: `https://${host}`,
    requestId: randomUUID(),
    clientRequestId,
  };
}

export function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

export function jsonBody<T = unknown>(req: SimRequest): T | undefined {
  if (req.body.length === 0) return undefined;
  try {
    return JSON.parse(req.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export function formBody(req: SimRequest): URLSearchParams {
  return new URLSearchParams(req.body.toString('utf8'));
}

export function send(res: ServerResponse, r: SimResponse): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  let payload: string | undefined;
  if (r.body !== undefined) {
    payload = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = typeof r.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    }
  }
  res.writeHead(r.status, headers);
  res.end(payload);
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): SimResponse => ({ status, body, headers });
