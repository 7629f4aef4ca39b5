import type { Client } from '@microsoft/microsoft-graph-client';

/** Graph's cap on one JSON batch. */
const MAX_BATCH = 20;
/** The batch waits at most this long for Graph; then each read is made on its own, with its own timeout. */
const BATCH_TIMEOUT_MS = 8000;

/**
 * Reads that may travel together. `url` is the read relative to the Graph version (`/users/{id}?$select=…`,
 * values percent-encoded); `direct` is the same read made on its own, as the caller makes it without a
 * batch. Either way the read resolves to the JSON body, or rejects as the Graph client rejects (the
 * caller's error mapping applies unchanged).
 */
export interface ReadBatch {
  read<T>(url: string, direct: () => Promise<T>): Promise<T>;
}

interface Pending {
  url: string;
  direct: () => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface ItemAnswer {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * Graph JSON batching for reads made in the same turn of the event loop: one HTTP request (`POST
 * /$batch`, at most 20 reads each) instead of one per read, which is most of a read's CPU. A read on its
 * own is made directly. Each read keeps its own answer: a 2xx item resolves to its body and a 4xx item
 * rejects as the Graph client would (status, code, message, request id). A throttled or failed item
 * (429, 5xx), an item Graph left out, or a batch that failed as a whole, is made again on its own with the
 * client's retries, so batching never turns one read's trouble into another's.
 */
export class GraphReadBatch implements ReadBatch {
  private queue: Pending[] = [];

  constructor(
    private readonly client: Client,
    private readonly version: 'v1.0' | 'beta' = 'v1.0',
  ) {}

  read<T>(url: string, direct: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ url, direct, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private flush(): void {
    const items = this.queue;
    this.queue = [];
    for (let i = 0; i < items.length; i += MAX_BATCH) void this.send(items.slice(i, i + MAX_BATCH));
  }

  private async send(items: Pending[]): Promise<void> {
    if (items.length === 1) return alone(items[0]!);
    let answers: ItemAnswer[];
    try {
      const res = (await this.client
        .api('/$batch')
        .version(this.version)
        .option('signal', AbortSignal.timeout(BATCH_TIMEOUT_MS))
        .post({ requests: items.map((item, i) => ({ id: String(i), method: 'GET', url: item.url })) })) as { responses?: ItemAnswer[] };
      answers = Array.isArray(res?.responses) ? res.responses : [];
    } catch {
      for (const item of items) void alone(item);
      return;
    }
    const byId = new Map(answers.map((a) => [String(a.id), a]));
    items.forEach((item, i) => {
      const a = byId.get(String(i));
      if (!a || typeof a.status !== 'number' || a.status === 429 || a.status >= 500 || (a.status >= 300 && a.status < 400)) void alone(item);
      else if (a.status < 300) item.resolve(a.body);
      else item.reject(itemError(a));
    });
  }
}

async function alone(item: Pending): Promise<void> {
  try {
    item.resolve(await item.direct());
  } catch (err) {
    item.reject(err);
  }
}

/** A refused item as the Graph client's own error (statusCode, code, body): toGraphCallError reads it the same way. */
function itemError(a: ItemAnswer): Error {
  const body = (a.body ?? {}) as { error?: { code?: string; message?: string } };
  const err = new Error(body.error?.message ?? `HTTP ${a.status}`) as Error & { statusCode: number; code: string; body: string };
  err.statusCode = a.status;
  err.code = body.error?.code ?? 'Unknown';
  err.body = JSON.stringify(a.body ?? {});
  return err;
}
