/**
 * The three operations of the load run and what is recorded about each: PIM activations that call the
 * decision endpoint, signed escalation events, and approve clicks on posted cards.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signEvent } from '../../services/events/event-signature';
import { calloutBody } from '../../sim/custom-extension';
import type { CustomExtensionConfig } from '../../sim/context';
import { DEMO_BOT_APP, DEMO_TENANT_ID } from '../../sim/seed';
import type { SimHandle } from '../../sim/server';
import { AUTO_APPROVE_ROLES, GOOD_JUSTIFICATIONS, PLACEHOLDER_JUSTIFICATION } from './tenant';

export type ReplicaName = 'A' | 'B';

/** What is recorded per operation type. */
export class OpStats {
  started = 0;
  ok = 0;
  errors = 0;
  /** Started while LOAD_MAX_IN_FLIGHT were still open: not sent, counted here. */
  shed = 0;
  /** Nothing to do at its time (a card action with no pending card yet). */
  skipped = 0;
  /** Answered, but not what this run expects (e.g. an escalation answered "already tracked"). */
  unexpected = 0;
  readonly latencies: number[] = [];
  readonly outcomes = new Map<string, number>();
  readonly perReplica: Record<ReplicaName, number> = { A: 0, B: 0 };
  readonly errorSamples: string[] = [];
  readonly unexpectedSamples: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** How late the open-loop schedule started an operation (event-loop delay of the generator). */
  maxDispatchLagMs = 0;

  constructor(
    readonly name: string,
    readonly rate: number,
  ) {}

  outcome(o: string): void {
    this.outcomes.set(o, (this.outcomes.get(o) ?? 0) + 1);
  }

  error(message: string): void {
    this.errors += 1;
    if (this.errorSamples.length < 10) this.errorSamples.push(message.slice(0, 300));
  }

  surprise(message: string): void {
    this.unexpected += 1;
    if (this.unexpectedSamples.length < 10) this.unexpectedSamples.push(message.slice(0, 300));
  }
}

export interface Pair {
  principalId: string;
  roleId: string;
}

/** Hands out (requester, role) pairs that have never been used in this run. */
export class PairSource {
  private next = 0;
  constructor(private readonly pairs: readonly Pair[]) {}
  take(): Pair | undefined {
    return this.pairs[this.next++];
  }
  get used(): number {
    return Math.min(this.next, this.pairs.length);
  }
  get total(): number {
    return this.pairs.length;
  }
}

/** What the run did to a PIM request, for the end-of-run checks. */
export interface Filed {
  pimRequestId: string;
  via: 'evaluation' | 'escalation';
  replica: ReplicaName;
  /** Evaluations: the endpoint's answer; escalations: 'Escalated'. */
  outcome: string;
}

export interface OpContext {
  sim: SimHandle;
  extension: Record<ReplicaName, CustomExtensionConfig>;
  urls: Record<ReplicaName, string>;
  pairs: PairSource;
  denyShare: number;
  eventsSecret: string;
  filed: Filed[];
}

const STATUS_OF_OUTCOME: Record<string, string> = { Approved: 'PendingApproval', AutoApproved: 'Provisioned', Denied: 'Denied' };

function ticketFor(i: number): string {
  return `INC${String(1_000_000 + (i % 8_999_999)).padStart(7, '0')}`;
}

/**
 * One PIM activation as a requester files it in the portal: PIM calls the custom extension (pointed at
 * `replica`) and applies the verdict. The latency is PIM's callout round trip, token signing included.
 */
export async function evaluation(ctx: OpContext, stats: OpStats, i: number, replica: ReplicaName): Promise<void> {
  const pair = ctx.pairs.take();
  if (!pair) {
    stats.error('ran out of fresh (requester, role) pairs: raise LOAD_ELIGIBILITIES');
    return;
  }
  const placeholder = (i * 7919) % 1000 < ctx.denyShare * 1000;
  const justification = placeholder ? PLACEHOLDER_JUSTIFICATION : GOOD_JUSTIFICATIONS[i % GOOD_JUSTIFICATIONS.length]!;
  const withTicket = AUTO_APPROVE_ROLES.includes(pair.roleId);
  stats.perReplica[replica] += 1;
  // PIM reads its extension configuration when it files the request, synchronously: this request
  // goes to `replica` whatever the next one does.
  ctx.sim.setCustomExtension(ctx.extension[replica]);
  const started = performance.now();
  try {
    const result = await ctx.sim.pim.activate(
      {
        principalId: pair.principalId,
        roleDefinitionId: pair.roleId,
        justification,
        duration: 'PT1H',
        ticketNumber: withTicket ? ticketFor(i) : null,
        ticketSystem: withTicket ? 'ServiceNow' : null,
      },
      { mfaSatisfied: true },
    );
    const took = performance.now() - started;
    if (!result.ok) {
      stats.error(`PIM refused the activation before calling the endpoint: ${result.code} ${result.message}`);
      return;
    }
    const r = result.request;
    if (r.status === 'Failed' || !r.evaluation) {
      stats.error(`replica ${replica}: ${r.failureReason ?? `no evaluation (status ${r.status})`}`);
      return;
    }
    stats.ok += 1;
    stats.latencies.push(took);
    const outcome = r.evaluation.evaluationOutcome;
    stats.outcome(outcome);
    ctx.filed.push({ pimRequestId: r.id, via: 'evaluation', replica, outcome });
    const expected = placeholder ? 'Denied' : withTicket ? 'AutoApproved' : 'Approved';
    if (outcome !== expected) stats.surprise(`${r.id}: ${outcome}, expected ${expected} (${r.evaluation.reason.join(' ')})`);
    if (STATUS_OF_OUTCOME[outcome] !== r.status) stats.surprise(`${r.id}: PIM status ${r.status} after ${outcome}`);
  } catch (err) {
    stats.error(`replica ${replica}: ${(err as Error).message}`);
  }
}

/**
 * One escalation from the customer's decision service: a PIM request waiting for approval (filed with
 * no custom extension), sent signed to `replica`'s /api/pim/events. The latency is that POST.
 */
export async function escalation(ctx: OpContext, stats: OpStats, i: number, replica: ReplicaName): Promise<void> {
  const pair = ctx.pairs.take();
  if (!pair) {
    stats.error('ran out of fresh (requester, role) pairs: raise LOAD_ELIGIBILITIES');
    return;
  }
  stats.perReplica[replica] += 1;
  ctx.sim.setCustomExtension(undefined);
  const filed = await ctx.sim.pim.activate(
    {
      principalId: pair.principalId,
      roleDefinitionId: pair.roleId,
      justification: GOOD_JUSTIFICATIONS[(i + 2) % GOOD_JUSTIFICATIONS.length]!,
      duration: 'PT2H',
      ticketNumber: null,
      ticketSystem: null,
    },
    { mfaSatisfied: true },
  );
  if (!filed.ok || filed.request.status !== 'PendingApproval') {
    stats.error(`PIM did not file the request to escalate: ${filed.ok ? filed.request.status : `${filed.code} ${filed.message}`}`);
    return;
  }
  const event = {
    eventId: randomUUID(),
    type: 'escalation',
    occurredAt: new Date().toISOString(),
    request: calloutBody(filed.request),
    reasons: ['Requested outside the change window of CHG0042001.'],
  };
  const raw = JSON.stringify(event);
  const ts = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const res = await fetch(`${ctx.urls[replica]}/api/pim/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pim-bot-timestamp': String(ts), 'x-pim-bot-signature': signEvent(ctx.eventsSecret, ts, raw) },
      body: raw,
    });
    const text = await res.text();
    const took = performance.now() - started;
    if (res.status < 200 || res.status >= 300) {
      stats.error(`replica ${replica}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return;
    }
    stats.ok += 1;
    stats.latencies.push(took);
    const body = JSON.parse(text) as { status?: string };
    stats.outcome(body.status ?? 'no status');
    ctx.filed.push({ pimRequestId: filed.request.id, via: 'escalation', replica, outcome: 'Escalated' });
    if (body.status !== 'escalated') stats.surprise(`${filed.request.id}: ${text.slice(0, 200)}`);
  } catch (err) {
    stats.error(`replica ${replica}: ${(err as Error).message}`);
  }
}

/** A posted approval card waiting for a click. */
export interface PendingCard {
  requestId: string;
  version: number;
  conversationId: string;
}

export interface Approver {
  id: string;
  teamsUserId: string;
  displayName: string;
}

/** Finds the approve action's data in a posted card (any depth). */
export function approveDataOf(activity: unknown): { requestId: string; version: number } | undefined {
  const stack: unknown[] = [(activity as { attachments?: Array<{ content?: unknown }> } | null | undefined)?.attachments?.[0]?.content];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node && typeof node === 'object') {
      const o = node as { type?: unknown; verb?: unknown; data?: { requestId?: unknown; version?: unknown } };
      if (o.type === 'Action.Execute' && o.verb === 'pim.approve' && typeof o.data?.requestId === 'string')
        return { requestId: o.data.requestId, version: Number(o.data.version) };
      stack.push(...Object.values(o));
    }
  }
  return undefined;
}

/** The status badge of a card an invoke answered with ('Approved', 'Recording…', ...), and its message line. */
function cardState(card: unknown): string {
  const text = JSON.stringify(card ?? {});
  for (const s of ['Recording…', 'Approved', 'Denied', 'Expired', 'Cancelled', 'Pending approval']) if (new RegExp(`"[^"a-z]*${s}"`).test(text)) return s;
  return 'unknown';
}

/**
 * One approver's click on Approve, as Teams sends it (an Action.Execute invoke in the card's channel),
 * to `replica`. The latency is the invoke's HTTP round trip: claim, SSO token, on-behalf-of, PIM's
 * approval steps and PATCH, the database write.
 */
export async function cardAction(
  ctx: OpContext & { serviceUrl: string },
  stats: OpStats,
  card: PendingCard,
  approver: Approver,
  replica: ReplicaName,
  approvedIds: Set<string>,
): Promise<void> {
  stats.perReplica[replica] += 1;
  const activity = {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `invoke-${randomUUID()}`,
    channelId: 'msteams',
    serviceUrl: ctx.serviceUrl,
    from: { id: approver.teamsUserId, name: approver.displayName, aadObjectId: approver.id },
    recipient: { id: `28:${DEMO_BOT_APP.clientId}`, name: 'PIM Approvals' },
    conversation: { id: card.conversationId, isGroup: true, conversationType: 'channel', tenantId: DEMO_TENANT_ID },
    channelData: { tenant: { id: DEMO_TENANT_ID } },
    value: {
      action: {
        type: 'Action.Execute',
        verb: 'pim.approve',
        data: { requestId: card.requestId, version: card.version, decisionJustification: 'Checked with the requester and the change record' },
      },
      trigger: 'manual',
    },
  };
  const started = performance.now();
  try {
    const res = await fetch(`${ctx.urls[replica]}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    const took = performance.now() - started;
    if (res.status < 200 || res.status >= 300) {
      stats.error(`replica ${replica}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return;
    }
    const body = (text ? JSON.parse(text) : null) as { statusCode?: number; value?: unknown } | null;
    const code = body?.statusCode ?? 0;
    if (code >= 400 || code === 0) {
      stats.error(`replica ${replica}: invoke statusCode ${code} ${JSON.stringify(body?.value ?? null).slice(0, 200)}`);
      return;
    }
    stats.ok += 1;
    stats.latencies.push(took);
    const state = cardState(body?.value);
    stats.outcome(state);
    if (state === 'Approved') approvedIds.add(card.requestId);
    else stats.surprise(`${card.requestId} on ${replica}: card says ${state}: ${JSON.stringify(body?.value ?? null).slice(0, 200)}`);
  } catch (err) {
    stats.error(`replica ${replica}: ${(err as Error).message}`);
  }
}
