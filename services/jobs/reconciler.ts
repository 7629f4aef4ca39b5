import type { Logger } from 'pino';
import { requestClosedEntry } from '../audit/entries';
import { pimReadOutcome, type ClosedStatus } from '../approvals/pim-outcome';
import { closingEvent, transition } from '../approvals/request-lifecycle';
import type { ApprovalStep } from '../graph/pim-approvals';
import type { GraphRequestKind, PimRequestRead, ReadRequestStatuses } from '../graph/pim-requests';
import type { ApprovalRequestRow, Store } from '../store/store';
import type { CardDelivery } from './card-delivery';
import { errInfo } from '../observability/err-info';

/** Rows read from the database per page; five `$batch` calls of 20 each. */
const PAGE_SIZE = 100;
const RECONCILED_KINDS: Array<GraphRequestKind | 'azureResource'> = ['entraRole', 'group', 'azureResource'];

/** Shown on the card as the decider: app-only Graph reads of a request do not say who reviewed it. */
export const DECIDED_OUTSIDE_TEAMS = 'PIM (decided outside Teams)';

export interface ReconcileCounts {
  /** Pending requests whose PIM status was asked for. */
  checked: number;
  /** Still open in PIM. */
  open: number;
  approved: number;
  denied: number;
  expired: number;
  cancelled: number;
  /** PIM could not be read for these (throttled past the cap, 5xx, 403, timeout) or said something unknown. */
  unread: number;
  /** Changed by someone else (an approver's click) between our read and our write: theirs stands. */
  conflicts: number;
}

export interface ReconcilerDeps {
  store: Store;
  delivery: CardDelivery;
  readStatuses: ReadRequestStatuses;
  /** Azure resource requests have no Graph id: ARM is asked one request at a time (by principal, role, scope). */
  readAzureStatus?: (row: ApprovalRequestRow, signal: AbortSignal) => Promise<string>;
  /**
   * PIM's approval steps of a decided request (who reviewed it, when, and why). Graph lets only users read
   * approvals (delegated; app identities are refused): the bot wires a reader that acts as a signed-in
   * approver (bot/teams/signed-in-approver-steps). Absent, or when the read fails, the decision is recorded
   * as taken outside Teams.
   */
  readDecisionSteps?: (row: ApprovalRequestRow, signal: AbortSignal) => Promise<ApprovalStep[]>;
  log: Logger;
  now?: () => Date;
  /**
   * Replicas: a timer tick runs a pass only while this replica holds the reconciler's lease (taken for
   * `ms`, renewed each tick), so one replica reads PIM for all. Absent: every tick runs.
   */
  lease?: (ms: number) => Promise<boolean>;
}

/**
 * Brings our open requests in line with PIM: decisions taken in the portal or by email, PIM's 24-hour
 * expiry and cancellations close the request here too, every card copy loses its buttons, and the
 * requester of an expired request is told how to ask again. Only `pending` rows: a `recording` claim is
 * the claim recovery's job (CardDelivery.recoverStaleClaims). Never two runs at once in this process;
 * a second replica running the same job is harmless, as every write is a compare-and-swap.
 */
export class Reconciler {
  private current: Promise<ReconcileCounts> | null = null;
  private next: Promise<ReconcileCounts> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly stopping = new AbortController();
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Runs every `intervalMs`; a tick that finds a run in progress is skipped. The timer keeps no process alive. */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.current) return;
      void (async () => {
        // Held for two intervals: a live holder renews it every tick, a dead one's passes to another replica.
        if (this.deps.lease && !(await this.deps.lease(2 * intervalMs))) return;
        await this.reconcileOnce();
      })().catch((err: unknown) => this.deps.log.warn({ err: (err as Error)?.message }, 'reconciler tick failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer, aborts a run's Graph calls and waits for it to wind down. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
    await Promise.allSettled([this.current, this.next]);
  }

  /**
   * One pass over every pending request. Called while a pass is running, it waits for that pass and then
   * runs one more (shared by every caller that asked meanwhile), so a caller always sees a pass that
   * started after its call.
   */
  reconcileOnce(): Promise<ReconcileCounts> {
    if (!this.current) {
      this.current = this.run().finally(() => {
        this.current = null;
      });
      return this.current;
    }
    if (!this.next) {
      this.next = this.current
        .catch(() => undefined)
        .then(() => {
          this.next = null;
          return this.reconcileOnce();
        });
    }
    return this.next;
  }

  private async run(): Promise<ReconcileCounts> {
    const counts: ReconcileCounts = { checked: 0, open: 0, approved: 0, denied: 0, expired: 0, cancelled: 0, unread: 0, conflicts: 0 };
    const started = Date.now();
    const unreadStatuses: Record<string, number> = {};
    try {
      // Entra role and group requests are read by PIM request id through Graph $batch; Azure resource
      // requests through ARM, matched by principal, role definition and scope.
      for (const kind of RECONCILED_KINDS) await this.reconcileKind(kind, counts, unreadStatuses);
    } catch (err) {
      if (!this.stopping.signal.aborted) {
        this.deps.log.warn({ err: errInfo(err), counts }, 'reconcile run failed; the next run retries');
        throw err;
      }
    }
    const durationMs = Date.now() - started;
    if (counts.unread > 0)
      this.deps.log.warn({ counts, unreadStatuses, durationMs }, 'reconcile run: some PIM requests could not be read; the next run retries them');
    else if (counts.checked > counts.open) this.deps.log.info({ counts, durationMs }, 'reconcile run');
    else this.deps.log.debug({ counts, durationMs }, 'reconcile run');
    return counts;
  }

  private async reconcileKind(kind: GraphRequestKind | 'azureResource', counts: ReconcileCounts, unreadStatuses: Record<string, number>): Promise<void> {
    let after: { createdAt: string; id: string } | null = null;
    for (;;) {
      if (this.stopping.signal.aborted) break;
      const page = await this.deps.store.requests.pendingPage(kind, after, PAGE_SIZE);
      if (page.length === 0) break;
      const reads =
        kind === 'azureResource'
          ? await this.readAzure(page)
          : await this.deps.readStatuses(
              page.map((r) => r.pim_request_id),
              this.stopping.signal,
              kind,
            );
      for (const row of page) {
        counts.checked += 1;
        const read = reads.get(row.pim_request_id) ?? { error: { status: 0, code: 'NotRead' } };
        const outcome = pimReadOutcome(read);
        if (outcome.kind === 'open') counts.open += 1;
        else if (outcome.kind === 'unknown') {
          counts.unread += 1;
          const key = 'error' in read ? String(read.error.status) : `status:${read.status}`;
          unreadStatuses[key] = (unreadStatuses[key] ?? 0) + 1;
        } else if (await this.close(row, outcome.status, read)) counts[outcome.status] += 1;
        else counts.conflicts += 1;
      }
      const last = page[page.length - 1]!;
      after = { createdAt: last.created_at, id: last.id };
      if (page.length < PAGE_SIZE) break;
    }
  }

  private async readAzure(page: ApprovalRequestRow[]): Promise<Map<string, PimRequestRead>> {
    const reads = new Map<string, PimRequestRead>();
    if (!this.deps.readAzureStatus) return reads;
    for (const row of page) {
      if (this.stopping.signal.aborted) break;
      try {
        reads.set(row.pim_request_id, { status: await this.deps.readAzureStatus(row, this.stopping.signal) });
      } catch (err) {
        const e = err as { status?: number; code?: string };
        reads.set(row.pim_request_id, { error: { status: typeof e.status === 'number' ? e.status : 0, code: e.code ?? 'Unreadable' } });
      }
    }
    return reads;
  }

  private async decidingStep(row: ApprovalRequestRow, status: ClosedStatus, log: Logger): Promise<ApprovalStep | null> {
    if (!this.deps.readDecisionSteps) return null;
    const want = status === 'approved' ? 'Approve' : 'Deny';
    try {
      const steps = await this.deps.readDecisionSteps(row, this.stopping.signal);
      return steps.find((s) => s.status === 'Completed' && s.reviewResult === want && s.reviewedBy?.id) ?? null;
    } catch (err) {
      log.warn({ err: errInfo(err) }, 'PIM approval steps unreadable; the decision is recorded as taken outside Teams');
      return null;
    }
  }

  /** Moves one row to its final state (compare-and-swap), then refreshes its cards and tells the requester. */
  private async close(row: ApprovalRequestRow, status: ClosedStatus, read: PimRequestRead): Promise<boolean> {
    const event = closingEvent(status);
    const next = transition('pending', event);
    if (!next.ok) return false;
    const pimStatus = 'status' in read ? read.status : `HTTP ${read.error.status}`;
    const decidedOutside = status === 'approved' || status === 'denied';
    const at = this.now();
    const log = this.deps.log.child({ requestId: row.id, pimRequestId: row.pim_request_id, pimStatus, status });
    // A decision keeps its decider: PIM's approval step says who reviewed it, when and why.
    const step = decidedOutside ? await this.decidingStep(row, status, log) : null;
    const byId = step?.reviewedBy?.id?.toLowerCase() ?? null;
    const updated = await this.deps.store.requests.transition(
      row,
      event,
      step
        ? {
            decided_by_id: byId,
            decided_by_upn: step.reviewedBy?.userPrincipalName ?? null,
            decided_by_name: step.reviewedBy?.displayName ?? byId,
            decided_at: step.reviewedDateTime ?? at.toISOString(),
            decision_justification: step.justification ?? '',
          }
        : {
            decided_by_id: null,
            decided_by_upn: null,
            decided_by_name: decidedOutside ? DECIDED_OUTSIDE_TEAMS : 'PIM',
            decided_at: at.toISOString(),
            decision_justification: justificationFor(status, pimStatus),
          },
      [requestClosedEntry(row, { status: next.next, source: 'reconciler', pimStatus, decidedBy: byId, justification: step?.justification ?? null }, at)],
    );
    if (!updated) {
      log.info('request changed while reconciling; the newer state stands');
      return false;
    }
    log.info('request closed from PIM state');
    // No card was ever posted for a callout PIM's copy did not match: nobody is told (the requester a
    // forged callout named must not get messages about a request they never made).
    if (row.unbound_at) return true;
    try {
      await this.deps.delivery.refreshCopies(row.id);
    } catch (err) {
      // The copies are now older than the row: the delivery sweep retries them.
      log.warn({ err: errInfo(err) }, 'updating cards failed; the sweep retries');
    }
    // Decisions taken in the portal, PIM's expiry and cancellations reach the requester too.
    const outcome = status === 'approved' ? 'granted' : status;
    await this.deps.delivery.notifyRequester(row.id, { outcome }).catch((err: unknown) => log.warn({ err: errInfo(err) }, 'telling the requester failed'));
    return true;
  }
}

function justificationFor(status: ClosedStatus, pimStatus: string): string {
  switch (status) {
    case 'approved':
      return 'Approved in PIM outside Teams (portal, email or API). Who reviewed it could not be read from PIM; the PIM audit log names them.';
    case 'denied':
      return 'Denied in PIM outside Teams (portal, email or API). Who reviewed it could not be read from PIM; the PIM audit log names them.';
    case 'expired':
      return 'PIM dropped this request after 24 hours without a decision.';
    case 'cancelled':
      return pimStatus === 'HTTP 404' ? 'PIM no longer has this request.' : `Closed in PIM (${pimStatus}).`;
  }
}
