import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What the product counts. services/ and bot/ code takes this interface (or a part of it), never
 * prom-client: tests pass `noMetrics` or a recording fake, the composition root the Prometheus one.
 * Labels are small fixed sets; no user, request or conversation id is ever a label.
 */
export interface Metrics {
  /** One fresh decision of the pre-approval endpoint (PIM retries answered from the store are not counted). */
  evaluation(e: { outcome: string; rule: string; seconds: number }): void;
  /** A reminder in a card's thread: the ladder's nudge, its escalation, or one the requester asked for. */
  nudge(kind: NudgeKind): void;
  /** A response from Microsoft Graph or ARM (every attempt, retries included); null: no response (network, timeout). */
  apiResponse(api: ApiName, status: number | null): void;
  /** The outcome of one outbox send to the Bot Connector. */
  teamsSend(result: TeamsSendResult): void;
  /** A 429 from the Bot Connector, whoever sent (outbox, direct messages). */
  teamsThrottled(): void;
  /**
   * A post that may already have been in Teams (its answer lost): found there (not sent again), absent (sent
   * again), unchecked (could not look; sent again), removed (a second copy deleted), waiting (looking again).
   */
  uncertainSend(result: UncertainSendResult): void;
  /** A card action (Action.Execute) answered, by which handler and the status it answered with. */
  cardAction(handler: CardActionHandler, status: number): void;
  /**
   * A callout that could not be bound to PIM's own request: `conflict` (another body for a request id we
   * already evaluated), `unbound` (no callout for the request matches PIM's copy: no card), `not_in_pim`.
   */
  calloutBinding(result: CalloutBindingResult): void;
}

export type CalloutBindingResult = 'conflict' | 'unbound' | 'not_in_pim';

export type NudgeKind = 'nudge' | 'escalation' | 'requester_reminder';
export type ApiName = 'graph' | 'arm';
export type TeamsSendResult = 'sent' | 'throttled' | 'retry' | 'failed';
export type UncertainSendResult = 'found' | 'absent' | 'unchecked' | 'removed' | 'waiting';
/** Which handler answered a card action; `unknown`: no card of the bot sends its verb (refused with 400). */
export type CardActionHandler = 'approval' | 'chat' | 'digest' | 'extension' | 'emergency' | 'unknown';

/** Counts nothing. */
export const noMetrics: Metrics = {
  evaluation: () => undefined,
  nudge: () => undefined,
  apiResponse: () => undefined,
  teamsSend: () => undefined,
  teamsThrottled: () => undefined,
  uncertainSend: () => undefined,
  cardAction: () => undefined,
  calloutBinding: () => undefined,
};

/** Values read from the database at scrape time (tenant-wide: every replica reports the same). */
export interface ScrapeSources {
  /** Open approval requests by age bucket (every bucket of PENDING_AGE_BUCKETS present). */
  pendingByAge(): Promise<Record<PendingAgeBucket, number>>;
  /** Outbox rows still to send (pending, sending, held) and the age of the oldest, in seconds (0 if none). */
  outbox(): Promise<{ depth: number; oldestAgeSeconds: number; failed: number }>;
}

/** Upper bounds of the pending-age buckets: PIM's 24 hours cut in the places the reminder ladder cares about. */
export const PENDING_AGE_BUCKETS = [
  { label: 'lt_15m', maxMs: 15 * 60_000 },
  { label: '15m_1h', maxMs: 3600_000 },
  { label: '1h_4h', maxMs: 4 * 3600_000 },
  { label: '4h_12h', maxMs: 12 * 3600_000 },
  { label: '12h_24h', maxMs: 24 * 3600_000 },
  { label: 'gt_24h', maxMs: Number.POSITIVE_INFINITY },
] as const;
export type PendingAgeBucket = (typeof PENDING_AGE_BUCKETS)[number]['label'];

/** The decision endpoint's budget is 3 s by default and PIM's timeout is longer: buckets around both. */
const DECISION_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8];

const statusClass = (status: number | null): string => (status === null ? 'error' : `${Math.floor(status / 100)}xx`);

/**
 * The Prometheus registry of one bot process: default process metrics and ours. One per process (not
 * prom-client's global registry), so two bots in one test process do not share counters.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly evaluations: Counter<'outcome' | 'rule'>;
  private readonly decisionSeconds: Histogram<'outcome'>;
  private readonly nudges: Counter<'kind'>;
  private readonly apiRequests: Counter<'api' | 'status_class'>;
  private readonly graphThrottled: Counter<'api'>;
  private readonly teamsSends: Counter<'result'>;
  private readonly uncertainSends: Counter<'result'>;
  private readonly teamsThrottledTotal: Counter;
  private readonly cardActions: Counter<'handler' | 'status_class'>;
  private readonly calloutBindings: Counter<'result'>;

  constructor(sources: ScrapeSources | null, opts: { defaultMetrics?: boolean; onScrapeError?: (what: string, err: unknown) => void } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.calloutBindings = new Counter({
      name: 'pim_callout_binding_problems_total',
      help: "PIM callouts not bound to PIM's own request: conflict (another body for an evaluated request id), unbound or not_in_pim (no card posted). Any increase is worth a look: someone holding a PIM token may be posting invented requests.",
      labelNames: ['result'],
      registers,
    });
    this.evaluations = new Counter({
      name: 'pim_evaluations_total',
      help: 'Pre-approval decisions by the answer PIM got (Approved, AutoApproved, Denied) and the rule that decided it.',
      labelNames: ['outcome', 'rule'],
      registers,
    });
    this.decisionSeconds = new Histogram({
      name: 'pim_decision_duration_seconds',
      help: 'Time from PIM calling the decision endpoint to the answer, for fresh decisions.',
      labelNames: ['outcome'],
      buckets: DECISION_SECONDS_BUCKETS,
      registers,
    });
    this.nudges = new Counter({
      name: 'pim_nudges_total',
      help: 'Reminders posted in approval card threads, by kind (nudge, escalation, requester_reminder).',
      labelNames: ['kind'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'graph_requests_total',
      help: 'Responses from Microsoft Graph and Azure Resource Manager (each attempt), by api and status class; error: no response.',
      labelNames: ['api', 'status_class'],
      registers,
    });
    this.graphThrottled = new Counter({
      name: 'graph_throttled_total',
      help: 'HTTP 429 responses from Microsoft Graph or Azure Resource Manager (each is retried after Retry-After, up to a cap).',
      labelNames: ['api'],
      registers,
    });
    this.teamsSends = new Counter({
      name: 'teams_outbox_sends_total',
      help: 'Outbox sends to the Bot Connector by result (sent, throttled, retry, failed = given up).',
      labelNames: ['result'],
      registers,
    });
    this.teamsThrottledTotal = new Counter({
      name: 'teams_throttled_total',
      help: 'HTTP 429 responses from the Bot Connector (Teams rate limits).',
      registers,
    });
    this.cardActions = new Counter({
      name: 'pim_card_actions_total',
      help: 'Card actions (Action.Execute) answered, by handler and the status class of the answer.',
      labelNames: ['handler', 'status_class'],
      registers,
    });
    for (const result of ['sent', 'throttled', 'retry', 'failed'] as const) this.teamsSends.inc({ result }, 0);
    this.uncertainSends = new Counter({
      name: 'teams_outbox_uncertain_sends_total',
      help: 'Posts whose earlier attempt may be in Teams (answer lost): found (not sent again), absent (sent again), unchecked (could not look; sent again), removed (a second copy deleted), waiting (looking again).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['found', 'absent', 'unchecked', 'removed', 'waiting'] as const) this.uncertainSends.inc({ result }, 0);
    for (const api of ['graph', 'arm'] as const) this.graphThrottled.inc({ api }, 0);

    if (sources) {
      const onError = opts.onScrapeError ?? (() => undefined);
      new Gauge({
        name: 'pim_pending_requests',
        help: 'Approval requests waiting for a decision, by age bucket (tenant-wide, from the database).',
        labelNames: ['age_bucket'],
        registers,
        async collect() {
          this.reset();
          try {
            const counts = await sources.pendingByAge();
            for (const { label } of PENDING_AGE_BUCKETS) this.set({ age_bucket: label }, counts[label] ?? 0);
          } catch (err) {
            onError('pending requests', err);
          }
        },
      });
      // One read serves the outbox gauges of a scrape.
      let outboxRead: Promise<{ depth: number; oldestAgeSeconds: number; failed: number } | null> | null = null;
      const readOutbox = () => {
        outboxRead ??= sources
          .outbox()
          .catch((err: unknown) => {
            onError('outbox', err);
            return null;
          })
          .finally(() => setImmediate(() => (outboxRead = null)));
        return outboxRead;
      };
      const outboxGauge = (name: string, help: string, pick: (o: { depth: number; oldestAgeSeconds: number; failed: number }) => number) =>
        new Gauge({
          name,
          help,
          registers,
          async collect() {
            this.reset();
            const o = await readOutbox();
            if (o) this.set(pick(o));
          },
        });
      outboxGauge('outbox_depth', 'Teams messages waiting in the outbox (pending, sending or held for a summary), tenant-wide.', (o) => o.depth);
      outboxGauge('outbox_oldest_age_seconds', 'Age of the oldest message waiting in the outbox (0 when empty), tenant-wide.', (o) => o.oldestAgeSeconds);
      outboxGauge('outbox_failed_messages', 'Outbox messages given up on (kept a week), tenant-wide.', (o) => o.failed);
    }
  }

  evaluation(e: { outcome: string; rule: string; seconds: number }): void {
    this.evaluations.inc({ outcome: e.outcome, rule: e.rule });
    this.decisionSeconds.observe({ outcome: e.outcome }, e.seconds);
  }

  nudge(kind: NudgeKind): void {
    this.nudges.inc({ kind });
  }

  apiResponse(api: ApiName, status: number | null): void {
    this.apiRequests.inc({ api, status_class: statusClass(status) });
    if (status === 429) this.graphThrottled.inc({ api });
  }

  teamsSend(result: TeamsSendResult): void {
    this.teamsSends.inc({ result });
  }

  teamsThrottled(): void {
    this.teamsThrottledTotal.inc();
  }

  uncertainSend(result: UncertainSendResult): void {
    this.uncertainSends.inc({ result });
  }

  cardAction(handler: CardActionHandler, status: number): void {
    this.cardActions.inc({ handler, status_class: statusClass(status) });
  }

  calloutBinding(result: CalloutBindingResult): void {
    this.calloutBindings.inc({ result });
  }

  /**
   * `pim_ready` and `pim_readiness_check_ok{check}` from the readiness report (cached, so a scrape does
   * not add load): alert on them instead of on the probe, which Prometheus does not see.
   */
  exposeReadiness(report: () => Promise<{ ready: boolean; checks: Record<string, { ok: boolean }> }>): void {
    const registers = [this.registry];
    let read: ReturnType<typeof report> | null = null;
    const once = () => {
      read ??= report().finally(() => setImmediate(() => (read = null)));
      return read;
    };
    new Gauge({
      name: 'pim_ready',
      help: '1 when every readiness check passes (what /readyz answers 200 for), else 0.',
      registers,
      async collect() {
        this.set((await once()).ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pim_readiness_check_ok',
      help: '1 when the readiness check passes, else 0.',
      labelNames: ['check'],
      registers,
      async collect() {
        this.reset();
        for (const [check, r] of Object.entries((await once()).checks)) this.set({ check }, r.ok ? 1 : 0);
      },
    });
  }

  /** The text exposition format, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
