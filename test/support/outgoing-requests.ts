import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** An HTTP request this process started through fetch (undici), as its client saw it. */
export interface OutgoingRequest {
  method: string;
  /** scheme://host:port */
  origin: string;
  /** Path and query. */
  path: string;
}

export interface OutgoingRequests {
  readonly requests: readonly OutgoingRequest[];
  /** How many requests with this method went to a path matching `pattern`. */
  count(method: string, pattern: RegExp): number;
  stop(): void;
}

/**
 * Records every request this process sends through fetch from now until stop(), from the client's side:
 * a request counts when it is started, whether or not an answer ever comes. The bot's Graph client sends
 * through fetch, so for a bot running in the test's process this is what the bot sent (the simulator's own
 * log sees only what reached it). Uses undici's `undici:request:create` diagnostics channel: no product hook.
 */
export function recordOutgoing(): OutgoingRequests {
  const requests: OutgoingRequest[] = [];
  const onCreate = (message: unknown) => {
    const r = (message as { request?: { method?: string; origin?: string | URL; path?: string } }).request;
    if (r) requests.push({ method: String(r.method ?? ''), origin: String(r.origin ?? ''), path: String(r.path ?? '') });
  };
  subscribe('undici:request:create', onCreate);
  let stopped = false;
  return {
    requests,
    count: (method, pattern) => requests.filter((r) => r.method === method && pattern.test(r.path)).length,
    stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe('undici:request:create', onCreate);
    },
  };
}
