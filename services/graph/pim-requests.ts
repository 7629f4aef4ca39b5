import { type Client, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from './graph-errors';

/** PIM's status of one activation request, or why it could not be read (the HTTP status and Graph's code). */
export type PimRequestRead = { status: string } | { error: { status: number; code: string } };

/** The PIMs whose requests Graph reads by id: Entra roles and PIM for Groups. */
export type GraphRequestKind = 'entraRole' | 'group';

/** Port: PIM statuses of many activation requests of one kind, read with the bot's own (application) identity. */
export type ReadRequestStatuses = (pimRequestIds: string[], signal: AbortSignal, kind: GraphRequestKind) => Promise<Map<string, PimRequestRead>>;

const REQUEST_PATHS: Record<GraphRequestKind, string> = {
  entraRole: '/roleManagement/directory/roleAssignmentScheduleRequests',
  group: '/identityGovernance/privilegedAccess/group/assignmentScheduleRequests',
};

/** Graph's cap on one JSON batch (json-batching: "currently limited to 20 individual requests"). */
export const BATCH_SIZE = 20;
/** Twenty small reads in one call; past this Graph is treated as not answering and the items as unread. */
const BATCH_TIMEOUT_MS = 15_000;
/** Retries of a throttled or unavailable batch, or of its throttled items, before the next run takes over. */
const MAX_RETRIES = 3;
/** A Retry-After longer than this is not waited out inside a run: the next run reads those requests. */
const MAX_WAIT_MS = 30_000;
/** Statuses Graph asks clients to retry (throttling, and a busy or timed-out backend). */
const RETRYABLE = new Set([429, 503, 504]);

export interface ReadOptions {
  /** Waits between retries; injectable so unit tests need not sleep. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Which PIM the ids belong to; Entra roles unless told. */
  kind?: GraphRequestKind;
  /** `$batch` calls in flight at once (default 3). */
  concurrency?: number;
}

/**
 * Graph's round trip for a `$batch` (150–300 ms against the real service) would make a sequential read of
 * 10,000 requests take minutes; a few batches at once divide that while each item still counts against
 * Graph's limits, and every throttled item is still waited out by its own Retry-After.
 */
const DEFAULT_CONCURRENCY = 3;

interface BatchItemResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: { status?: unknown; error?: { code?: unknown } };
}

type BatchResult = { ok: true; responses: Map<string, BatchItemResponse> } | { ok: false; status: number; code: string; retryAfterMs: number | null };

/**
 * Reads PIM's status of each request through JSON `$batch`, 20 per call. Following Graph's throttling
 * guidance for batches, only the items that came back 429/503/504 are sent again, in a new batch, after
 * the longest Retry-After among them (exponential backoff with jitter when there is none); a throttled
 * batch as a whole is waited out the same way. Retries are capped: what is still unread is returned as an
 * error for the caller to leave for its next run. A batch that fails for good (401, 403, 5xx after the
 * retries) stops the read: the remaining ids get the same error instead of hammering a failing Graph.
 * Aborting `signal` rejects.
 */
export async function readRequestStatuses(
  client: Client,
  pimRequestIds: string[],
  signal: AbortSignal,
  opts: ReadOptions = {},
): Promise<Map<string, PimRequestRead>> {
  const sleep = opts.sleep ?? abortableSleep;
  const path = REQUEST_PATHS[opts.kind ?? 'entraRole'];
  const out = new Map<string, PimRequestRead>();
  const ids = [...new Set(pimRequestIds)];
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += BATCH_SIZE) chunks.push(ids.slice(i, i + BATCH_SIZE));
  let broken: { status: number; code: string } | null = null;
  let next = 0;
  // Workers take the chunks in order; once one batch fails for good, no further batch is sent.
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      if (broken) {
        for (const id of chunk) out.set(id, { error: broken });
        continue;
      }
      const failed = await readChunk(client, path, chunk, out, signal, sleep);
      broken ??= failed;
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, chunks.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}

async function readChunk(
  client: Client,
  path: string,
  chunk: string[],
  out: Map<string, PimRequestRead>,
  signal: AbortSignal,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<{ status: number; code: string } | null> {
  let todo = chunk;
  for (let attempt = 0; ; attempt++) {
    const result = await postBatch(client, path, todo, signal);
    if (!result.ok) {
      const wait = result.retryAfterMs ?? backoffMs(attempt);
      if (RETRYABLE.has(result.status) && attempt < MAX_RETRIES && wait <= MAX_WAIT_MS) {
        await sleep(wait, signal);
        continue;
      }
      const error = { status: result.status, code: result.code };
      for (const id of todo) out.set(id, { error });
      return error;
    }
    const again: string[] = [];
    let longest: number | null = null;
    todo.forEach((id, index) => {
      const r = result.responses.get(String(index));
      if (!r) {
        out.set(id, { error: { status: 502, code: 'MissingFromBatch' } });
        again.push(id);
      } else if (r.status >= 200 && r.status < 300 && typeof r.body?.status === 'string') {
        out.set(id, { status: r.body.status });
      } else if (r.status >= 200 && r.status < 300) {
        out.set(id, { error: { status: 502, code: 'UnexpectedBody' } });
      } else {
        // Kept if the retries run out, so the caller sees why the request is still unread.
        out.set(id, { error: { status: r.status, code: typeof r.body?.error?.code === 'string' ? r.body.error.code : 'Unknown' } });
        if (RETRYABLE.has(r.status)) {
          again.push(id);
          const ms = retryAfterMs(header(r.headers, 'retry-after'));
          if (ms !== null) longest = Math.max(longest ?? 0, ms);
        }
      }
    });
    if (again.length === 0) return null;
    const wait = longest ?? backoffMs(attempt);
    if (attempt >= MAX_RETRIES || wait > MAX_WAIT_MS) return null;
    await sleep(wait, signal);
    todo = again;
  }
}

async function postBatch(client: Client, path: string, ids: string[], signal: AbortSignal): Promise<BatchResult> {
  const requests = ids.map((id, index) => ({
    id: String(index),
    method: 'GET',
    url: `${path}/${encodeURIComponent(id)}?$select=id,status`,
  }));
  try {
    const res = (await client
      .api('/$batch')
      // This function does its own retries: the whole batch here, single items above.
      .middlewareOptions([new RetryHandlerOptions(0, 0)])
      .option('signal', AbortSignal.any([signal, AbortSignal.timeout(BATCH_TIMEOUT_MS)]))
      .post({ requests })) as { responses?: BatchItemResponse[] };
    const responses = new Map<string, BatchItemResponse>();
    for (const r of res?.responses ?? []) if (r && typeof r.id === 'string') responses.set(r.id, r);
    return { ok: true, responses };
  } catch (err) {
    if (signal.aborted) throw err;
    const e = toGraphCallError(err, 'Reading PIM requests');
    const headers = (err as { headers?: { get?(name: string): string | null } })?.headers;
    return { ok: false, status: e.status, code: e.code, retryAfterMs: retryAfterMs(headers?.get?.('retry-after') ?? undefined) };
  }
}

function header(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : String(headers[key]);
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 10.2.3). */
export function retryAfterMs(value: string | undefined | null, now = Date.now()): number | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** 1 s, 2 s, 4 s ... with up to 20 % jitter so replicas do not retry in step. */
function backoffMs(attempt: number): number {
  const base = 1000 * 2 ** attempt;
  return Math.round(base * (1 + Math.random() * 0.2));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
