/**
 * Readiness: can this process do its work right now? Each check runs with its own timeout, all in
 * parallel, and the report is cached briefly so a storm of probes cannot hammer Entra or the database.
 */

export interface ReadinessCheck {
  /** Stable name shown in the report, e.g. `database`. */
  name: string;
  /** Past this the check counts as failed ("timed out"). */
  timeoutMs: number;
  /** Resolves (optionally with a short note) when healthy; throws when not. */
  // biome-ignore lint/suspicious/noConfusingVoidType: most checks return nothing (`async () => {}` is Promise<void>, which `undefined` would refuse)
  run(signal: AbortSignal): Promise<string | void>;
  /**
   * What the dependency's client knows beyond the probe (a connection lost and not yet recovered), read
   * once `run` settled (passed, failed or timed out). A condition fails the check whatever the probe said.
   */
  condition?(): CheckCondition | null;
  /**
   * Changes whenever `condition` may have: a cached report is not reused across a change, so a dependency
   * lost or recovered shows on the next probe instead of after the cache period.
   */
  generation?(): number;
}

/** A dependency's state that fails its check: shown with the check's report, so all of it must be safe to show anyone. */
export interface CheckCondition {
  detail: string;
  /** What state it is in, e.g. `reconnecting`. */
  status: string;
  /** Since when, ISO. */
  since?: string;
  /** The last error, as a code and what it means (never an error message). */
  lastError?: string;
  /** Units of work waiting to run again once it answers. */
  awaitingRetry?: number;
}

export interface CheckReport {
  ok: boolean;
  /** Short and safe to show anyone: a category and an error name or code, never a message that could hold secrets. */
  detail: string;
  durationMs: number;
  /** With a condition (see ReadinessCheck.condition): what state the dependency is in, since when, and why. */
  status?: string;
  since?: string;
  lastError?: string;
  awaitingRetry?: number;
}

export interface ReadinessReport {
  ready: boolean;
  checkedAt: string;
  checks: Record<string, CheckReport>;
}

export interface ReadinessOptions {
  /** How long a report is reused. */
  cacheMs?: number;
  now?: () => number;
  /** Told about each failed check with the full error, for the log (the report itself stays terse). */
  onFailure?: (check: string, err: unknown) => void;
}

/** Long enough to absorb a probe storm, short enough that a recovered dependency shows within a probe period. */
export const READINESS_CACHE_MS = 5_000;

export class Readiness {
  private cached: { at: number; generations: string; report: Promise<ReadinessReport> } | null = null;
  private stopping = false;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly checks: ReadinessCheck[],
    private readonly opts: ReadinessOptions = {},
  ) {
    this.cacheMs = opts.cacheMs ?? READINESS_CACHE_MS;
    this.now = opts.now ?? Date.now;
  }

  /** From now on the process reports not ready (shutting down: let the load balancer drain it). */
  markStopping(): void {
    this.stopping = true;
  }

  /**
   * The current report: cached if fresh and no check's dependency changed state since (see
   * ReadinessCheck.generation), the in-flight one if a check is running, else a new run.
   */
  report(): Promise<ReadinessReport> {
    if (this.stopping) {
      return Promise.resolve({
        ready: false,
        checkedAt: new Date(this.now()).toISOString(),
        checks: { process: { ok: false, detail: 'shutting down', durationMs: 0 } },
      });
    }
    const at = this.now();
    // Taken before the checks run: a change while they run makes the next probe run them again.
    const generations = this.checks.map((c) => c.generation?.() ?? 0).join(',');
    if (this.cached && at - this.cached.at < this.cacheMs && this.cached.generations === generations) return this.cached.report;
    const report = this.runAll(at);
    this.cached = { at, generations, report };
    return report;
  }

  private async runAll(at: number): Promise<ReadinessReport> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await this.runOne(c)] as const));
    return { ready: results.every(([, r]) => r.ok), checkedAt: new Date(at).toISOString(), checks: Object.fromEntries(results) };
  }

  private async runOne(check: ReadinessCheck): Promise<CheckReport> {
    const started = this.now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Settle as timed out first: the aborted check's own rejection must not be the reason shown.
        reject(new CheckTimeout(check.timeoutMs));
        controller.abort();
      }, check.timeoutMs);
    });
    let probe: CheckReport;
    try {
      const note = await Promise.race([check.run(controller.signal), timedOut]);
      probe = { ok: true, detail: note || 'ok', durationMs: this.now() - started };
    } catch (err) {
      this.opts.onFailure?.(check.name, err);
      probe = { ok: false, detail: describeFailure(err), durationMs: this.now() - started };
    } finally {
      clearTimeout(timer);
    }
    const condition = check.condition?.();
    if (!condition) return probe;
    const { detail, ...facts } = condition;
    return { ok: false, detail: probe.ok ? detail : `${detail}; probe ${probe.detail}`, durationMs: probe.durationMs, ...facts };
  }
}

class CheckTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'CheckTimeout';
  }
}

/** A failure a check wants shown as is (its message is written to be safe). */
export class CheckFailure extends Error {
  override name = 'CheckFailure';
}

/**
 * The report is unauthenticated: it names what failed with the error's name and code only. Messages
 * stay in the log, since a driver or identity library may put hosts, user names or tenant details there.
 */
function describeFailure(err: unknown): string {
  if (err instanceof CheckTimeout || err instanceof CheckFailure) return err.message;
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown; errorResponse?: { error?: unknown } };
  const parts = ['failed'];
  if (typeof e?.name === 'string' && /^[A-Za-z]{1,40}$/.test(e.name)) parts.push(e.name);
  const code =
    typeof e?.code === 'string' || typeof e?.code === 'number' ? String(e.code) : typeof e?.errorResponse?.error === 'string' ? e.errorResponse.error : null;
  if (code && /^[A-Za-z0-9_.-]{1,40}$/.test(code)) parts.push(code);
  if (typeof e?.statusCode === 'number') parts.push(`HTTP ${e.statusCode}`);
  return parts.join(': ');
}
