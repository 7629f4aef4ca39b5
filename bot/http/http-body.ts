import type { IncomingMessage } from 'node:http';
import { type PimCaller, PimTokenError } from '../../services/auth/pim-caller-token';
import { type ActivationRequest, normaliseActivationRequest, ShapeError } from '../../services/decision/activation-request';

/**
 * What the JSON endpoints that other systems call (PIM, a customer's decision service) share: the
 * typed refusal, the content-type check, the bounded body reader and the JSON error answer.
 */

/** PIM's request bodies and inbound events are a few KB; anything larger is not one of them. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface HttpResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A request refused with a status, a stable code and a message that says what to fix. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The body field at fault, when there is one. */
    readonly field?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function errorResult(err: HttpError): HttpResult {
  return {
    status: err.status,
    body: { error: { code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) } },
    headers: err.headers,
  };
}

/** The answer to a refused Entra token: 401 naming the failed check, or 503 when Entra's keys could not be fetched. */
export function tokenRefusal(err: PimTokenError, message: string = err.message): HttpError {
  const status = err.check === 'keys_unavailable' ? 503 : 401;
  return new HttpError(status, `token_${err.check}`, message, undefined, status === 401 ? { 'WWW-Authenticate': 'Bearer error="invalid_token"' } : {});
}

export function requireJsonContentType(req: IncomingMessage): void {
  const contentType = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', `Content-Type must be application/json, not '${contentType.slice(0, 60) || 'none'}'.`);
  }
}

/** Reads the body as bytes (a signature covers the bytes as sent), refusing more than `limit`. */
export function readBody(req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, 'body_too_large', `The body is ${declared} bytes; the limit is ${limit} bytes (${limit / 1024} KiB).`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        reject(new HttpError(413, 'body_too_large', `The body exceeds ${limit} bytes (${limit / 1024} KiB).`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(new HttpError(400, 'body_unreadable', `The body could not be read: ${err.message}`));
    });
  });
}

export function parseJson(raw: Buffer | string): unknown {
  try {
    return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'malformed_json', `The body is not valid JSON: ${(err as Error).message.slice(0, 120)}.`);
  }
}

/**
 * Reads a call PIM makes to us (the pre-approval extension, the post-approval callout): its Entra token,
 * a JSON body, and one of the three request shapes. Throws HttpError saying what is wrong.
 */
export async function readPimCallout(
  req: IncomingMessage,
  validateToken: (authorization: string | undefined) => Promise<PimCaller>,
): Promise<{ caller: PimCaller; body: unknown; request: ActivationRequest }> {
  let caller: PimCaller;
  try {
    caller = await validateToken(req.headers.authorization);
  } catch (err) {
    if (err instanceof PimTokenError) throw tokenRefusal(err);
    throw err;
  }
  requireJsonContentType(req);
  const body = parseJson(await readBody(req));
  try {
    return { caller, body, request: normaliseActivationRequest(body) };
  } catch (err) {
    if (err instanceof ShapeError) throw new HttpError(400, 'unknown_shape', err.message);
    throw err;
  }
}
