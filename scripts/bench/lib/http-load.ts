/**
 * The one HTTP client every benchmark run uses (node:http with a keep-alive agent: undici's fetch costs
 * about five times the CPU per request, which would make the floors measure the client), a closed-loop
 * driver (N callers, each sends its next request when the previous answer arrived) and an open-loop
 * driver (requests leave on a fixed schedule whatever the server does; latency counts from the scheduled
 * time, so a server that falls behind cannot hide it by slowing the client down).
 */
import http from 'node:http';
import { summarize, type LatencySummary } from './stats';

export interface BenchRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface BenchResponse {
  status: number;
  body: string;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(baseUrl: string, maxSockets = 256) {
    this.url = new URL(baseUrl);
    if (this.url.protocol !== 'http:') throw new Error(`HttpClient speaks plain HTTP on loopback only, not ${baseUrl}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  send(r: BenchRequest): Promise<BenchResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
      if (r.body !== undefined) headers['content-length'] = Buffer.byteLength(r.body);
      const req = http.request({ host: this.url.hostname, port: this.url.port, method: r.method, path: r.path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What one answer counts as (an outcome name, or an error); thrown errors count as `error: <message>`. */
export type Classify = (res: BenchResponse, index: number) => string;

export interface Sample {
  index: number;
  /** performance.now() when the request was sent (open loop: when it was scheduled to be sent). */
  sentAt: number;
  /** Date.now() at the same moment, to line up with timestamps other processes log. */
  sentWallMs: number;
  answeredAt: number;
  /** Open loop: performance.now() when the request actually left (the client may lag its schedule). */
  actualSentAt?: number;
  ms: number;
  outcome: string;
  response?: BenchResponse;
}

export interface RunResult {
  n: number;
  seconds: number;
  throughput: number;
  latency: LatencySummary;
  outcomes: Record<string, number>;
  /** CPU this (client) process used, as a share of one core, over the run. */
  clientCpu: number;
  samples: Sample[];
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function countOutcomes(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[s.outcome] = (out[s.outcome] ?? 0) + 1;
  return out;
}

async function one(
  client: HttpClient,
  req: BenchRequest,
  index: number,
  classify: Classify,
  keep: boolean,
): Promise<Omit<Sample, 'sentAt' | 'sentWallMs'> & { answeredAt: number }> {
  try {
    const res = await client.send(req);
    const answeredAt = performance.now();
    let outcome: string;
    try {
      outcome = classify(res, index);
    } catch (err) {
      outcome = `error: ${(err as Error).message}`;
    }
    return { index, answeredAt, ms: 0, outcome, response: keep ? res : undefined };
  } catch (err) {
    return { index, answeredAt: performance.now(), ms: 0, outcome: `error: ${(err as Error).message}` };
  }
}

/** `concurrency` callers share `n` requests; each sends the next as soon as its previous answer is in. */
export async function closedLoop(opts: {
  client: HttpClient;
  concurrency: number;
  n: number;
  make: (i: number) => BenchRequest;
  classify: Classify;
  keepResponses?: boolean;
}): Promise<RunResult> {
  const samples: Sample[] = [];
  let next = 0;
  const c0 = cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, opts.concurrency) }, async () => {
      while (next < opts.n) {
        const i = next++;
        const req = opts.make(i);
        const sentAt = performance.now();
        const sentWallMs = Date.now();
        const r = await one(opts.client, req, i, opts.classify, !!opts.keepResponses);
        samples.push({ ...r, sentAt, sentWallMs, ms: r.answeredAt - sentAt });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  samples.sort((a, b) => a.index - b.index);
  return {
    n: samples.length,
    seconds,
    throughput: samples.length / seconds,
    latency: summarize(samples.map((s) => s.ms)),
    outcomes: countOutcomes(samples),
    clientCpu: (cpuMs() - c0) / 1000 / seconds,
    samples,
  };
}

export interface OpenLoopResult extends RunResult {
  /** Requests per second asked for. */
  targetRate: number;
  /** Answers per second over the scheduled duration (answers that came after it still count, at their time). */
  achievedRate: number;
  /** From the moment the request was actually sent (without the client's own lag). */
  serviceLatency: LatencySummary;
  /** How late the client itself sent requests, behind the schedule. */
  sendLag: LatencySummary;
  maxInFlight: number;
}

/**
 * Sends `rate` requests per second for `seconds`, on schedule whether or not earlier ones were answered.
 * Latency counts from the scheduled send time (no coordinated omission).
 */
export async function openLoop(opts: {
  client: HttpClient;
  rate: number;
  seconds: number;
  make: (i: number) => BenchRequest;
  classify: Classify;
  keepResponses?: boolean;
}): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(opts.rate * opts.seconds));
  const interval = 1000 / opts.rate;
  const samples: Sample[] = [];
  const actualSend: number[] = new Array(total);
  const pending: Array<Promise<void>> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const c0 = cpuMs();
  const start = performance.now() + 5;
  const wallStart = Date.now() + 5;
  let i = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        const index = i++;
        const scheduled = start + index * interval;
        actualSend[index] = performance.now();
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        pending.push(
          one(opts.client, opts.make(index), index, opts.classify, !!opts.keepResponses).then((r) => {
            inFlight--;
            samples.push({ ...r, sentAt: scheduled, sentWallMs: wallStart + index * interval, actualSentAt: actualSend[index], ms: r.answeredAt - scheduled });
          }),
        );
      }
      if (i >= total) return done();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now() - 0.5));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(pending);
  const end = Math.max(...samples.map((s) => s.answeredAt));
  const seconds = (end - start) / 1000;
  samples.sort((a, b) => a.index - b.index);
  return {
    n: samples.length,
    seconds,
    throughput: samples.length / seconds,
    targetRate: opts.rate,
    achievedRate: samples.length / seconds,
    latency: summarize(samples.map((s) => s.ms)),
    serviceLatency: summarize(samples.map((s) => s.answeredAt - actualSend[s.index]!)),
    sendLag: summarize(samples.map((s) => actualSend[s.index]! - s.sentAt)),
    maxInFlight,
    outcomes: countOutcomes(samples),
    clientCpu: (cpuMs() - c0) / 1000 / seconds,
    samples,
  };
}
