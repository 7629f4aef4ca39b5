import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { refOf } from '../approvals/request-display';
import { logAuditAnchors } from '../audit/anchor-log';
import type { AppConfig, ChannelTarget } from '../config/config';
import type { DecisionPolicy } from '../decision/policy';
import { GraphTenantReader } from '../digests';
import { GraphActivationHistory } from '../graph/activation-history';
import type { AppGraph } from '../graph/app-clients';
import { readRequestStatuses } from '../graph/pim-requests';
import { GraphPresenceReader } from '../graph/presence';
import type { IdentityRiskSignals } from '../integrations/ports';
import type { PrometheusMetrics } from '../observability/metrics';
import type { Outbox } from '../outbox/outbox';
import type { Store } from '../store/store';
import type { ChatNotifier } from '../teams/chat-notifier';
import type { GraphPersonalChats } from '../teams/personal-chats';
import { CardDelivery, isPersonalChat, type RequestFollower } from './card-delivery';
import { DailyDigests, type DigestSettings } from './digests';
import { scheduleOutboxPrune } from './outbox-prune';
import type { ApprovalCardRenderers, DigestCardRenderers } from './ports';
import { ApproverFeed } from './approver-feed';
import { PresenceBoard } from './presence-board';
import { Reconciler, type ReconcilerDeps } from './reconciler';
import { ReminderLadder } from './reminders';
import { RequesterSignalsReader } from './requester-signals';
import type { JobScheduler } from './scheduler';
import { UserTimeZones } from './user-time-zone';

/** How often owed card posts and updates are retried (after Teams or Graph failures, or a restart). */
const SWEEP_INTERVAL_MS = 15_000;
/** How often due jobs (reminders, digests) are looked for. */
const JOBS_INTERVAL_MS = 5_000;
/** How often the outbox looks for due messages besides being woken by each new one (paced or retried sends). */
const OUTBOX_INTERVAL_MS = 500;
/** How often each replica logs the audit trail's head (the anchor that shows rows deleted from the end). */
const AUDIT_ANCHOR_INTERVAL_MS = 3600_000;

/**
 * Card delivery: posts and refreshes every copy of a request's approval card (through the outbox), with the
 * requester's identity risk (when ID Protection is configured) and history with the role on the card.
 */
export function buildCardDelivery(
  config: Pick<AppConfig, 'approverChannels'>,
  deps: {
    store: Store;
    graph: AppGraph;
    identityRisk?: IdentityRiskSignals;
    /** cards/approval-view's renderers. */
    renderers: ApprovalCardRenderers;
    outbox: Outbox;
    metrics: PrometheusMetrics;
    log: Logger;
    now?: () => Date;
  },
): CardDelivery {
  const { store, log, now } = deps;
  const requesterSignals = new RequesterSignalsReader({
    store,
    pimHistory: new GraphActivationHistory(deps.graph.graph),
    identityRisk: deps.identityRisk,
    log,
    now,
  });
  const delivery = new CardDelivery(store, deps.graph.directory, deps.renderers, deps.outbox, config.approverChannels, log, now, requesterSignals);
  delivery.bindingMetrics = deps.metrics;
  return delivery;
}

/** The durable jobs and the reconciler, built and wired to card delivery; nothing runs until `startJobs`. */
export interface Jobs {
  /** Durable jobs (reminders, digests, outbox pruning): leased, so with several replicas each runs once. */
  scheduler: JobScheduler;
  reminders: ReminderLadder;
  digests: DailyDigests;
  reconciler: Reconciler;
}

/** The admin digest's (and the digest actions') channel: APPROVER_CHANNELS' `admin`, else its `default`. */
export function adminChannelOf(config: Pick<AppConfig, 'approverChannels'>): ChannelTarget | null {
  return config.approverChannels.admin ?? config.approverChannels.default ?? null;
}

/** The daily digests' settings from DIGEST_* and the tenant. */
export function digestSettings(config: Pick<AppConfig, 'digests' | 'tenantId' | 'bot'>): DigestSettings {
  return {
    localTime: config.digests.localTime,
    adminTimeZone: config.digests.defaultTimeZone,
    checkEveryMinutes: config.digests.checkEveryMinutes,
    groupIds: config.digests.groupIds,
    dormantAfterDays: config.digests.dormantAfterDays,
    spotAuditRate: config.digests.spotAuditRate,
    // Reproducible per tenant, and not computable from request ids alone by someone outside it.
    spotAuditSalt: createHash('sha256').update(`spot-audit:${config.tenantId}:${config.bot.appId}`).digest('hex'),
  };
}

/**
 * The scheduler and the flows it runs (digests; reminders and escalation, with presence when configured), and
 * the reconciler. Each request's reminder ladder starts when its cards are posted; requests made by chat are
 * followed by their status messages (`chatStatus`).
 */
export function buildJobs(
  config: Pick<AppConfig, 'approverChannels' | 'digests' | 'tenantId' | 'bot' | 'presence'>,
  deps: {
    store: Store;
    graph: AppGraph;
    delivery: CardDelivery;
    notifier: ChatNotifier;
    chatStatus: RequestFollower;
    personalChats: GraphPersonalChats | null;
    /** cards/digest's renderers. */
    digestRenderers: DigestCardRenderers;
    policy: DecisionPolicy;
    /** PIM's approval steps of a request decided outside Teams, read as one of its approvers (bot/teams). */
    readDecisionSteps?: ReconcilerDeps['readDecisionSteps'];
    metrics: PrometheusMetrics;
    log: Logger;
    now?: () => Date;
  },
): Jobs {
  const { store, graph, delivery, log, now } = deps;
  // Names this replica in job and reconciler leases.
  const replica = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const scheduler = store.scheduler({ owner: replica, now, log });
  // Each person's own zone (their mailbox's): digests are sent at their morning, and the messages the bot
  // writes them name times in it.
  const timeZones = new UserTimeZones(graph.graph, config.digests.defaultTimeZone, { log });
  delivery.useTimeZones((userId) => timeZones.zoneOf(userId));
  const digests = new DailyDigests({
    store,
    scheduler,
    reads: new GraphTenantReader(graph.graph),
    timeZones,
    notifier: deps.notifier,
    renderers: deps.digestRenderers,
    personalChats: deps.personalChats,
    adminChannel: adminChannelOf(config),
    settings: digestSettings(config),
    log,
    now,
  });
  const presence = config.presence
    ? {
        board: new PresenceBoard(new GraphPresenceReader(graph.graph), { log, now: now ?? (() => new Date()) }),
        earlyEscalationAfterMs: config.presence.earlyEscalationAfterMinutes * 60_000,
      }
    : null;
  const reminders = new ReminderLadder({
    store,
    directory: graph.directory,
    delivery,
    scheduler,
    channels: config.approverChannels,
    policy: deps.policy,
    log,
    now,
    presence,
    metrics: deps.metrics,
  });
  // Each request's ladder starts when its cards are posted.
  delivery.onCardsPosted((row, tx) => reminders.startFor(row, tx));
  // Approvers get an activity-feed notification that opens the card, once its message is in the channel.
  if (deps.personalChats) {
    const feed = new ApproverFeed({ store, scheduler, notifier: deps.personalChats, tenantId: config.tenantId, presence, log, now });
    delivery.onCardCopy((row, conversationId, activityId) =>
      isPersonalChat(conversationId) ? Promise.resolve(0) : feed.onCardCopy(row, conversationId, activityId),
    );
  }
  delivery.followRequests(deps.chatStatus);
  const reconciler = new Reconciler({
    store,
    delivery,
    readStatuses: (ids, signal, kind) => readRequestStatuses(graph.graph, ids, signal, { kind }),
    readAzureStatus: (row) => graph.directory.requestStatus(refOf(row)),
    readDecisionSteps: deps.readDecisionSteps,
    log,
    now,
    // With several replicas, one reads PIM for all.
    lease: (ms) => store.tryLease('reconciler', replica, ms, now?.() ?? new Date()),
  });
  return { scheduler, reminders, digests, reconciler };
}

/** The timers `startJobs` started; `stop` ends them in order (the outbox last, after what enqueues). */
export interface RunningJobs {
  stop(): Promise<void>;
}

/**
 * Starts the background work: the reconciler; a ladder for any open request that has none yet (cards posted
 * before a restart); the digest tick and outbox pruning; then the scheduler's, outbox's, audit anchor's and
 * card sweeps' timers, and one sweep at once. `jobsIntervalMs` 0: no scheduler timer (tests run jobs themselves).
 */
export async function startJobs(
  jobs: Jobs,
  config: Pick<AppConfig, 'reconcileIntervalMs'>,
  deps: {
    store: Pick<Store, 'audit'>;
    outbox: Outbox;
    delivery: CardDelivery;
    /** The chat requests' status messages, swept like card copies. */
    chatStatus: { start(intervalMs: number): void; stop(): void };
    log: Logger;
    now?: () => Date;
    jobsIntervalMs?: number;
    sweepIntervalMs?: number;
  },
): Promise<RunningJobs> {
  const { scheduler, reminders, digests, reconciler } = jobs;
  const { outbox, delivery, chatStatus, log } = deps;
  reconciler.start(config.reconcileIntervalMs);
  await reminders.startPending();
  await digests.start();
  await scheduleOutboxPrune(scheduler, outbox, log, deps.now);
  if (deps.jobsIntervalMs !== 0) scheduler.start(deps.jobsIntervalMs ?? JOBS_INTERVAL_MS);
  outbox.start(OUTBOX_INTERVAL_MS);
  const stopAuditAnchors = logAuditAnchors(deps.store.audit, log, AUDIT_ANCHOR_INTERVAL_MS);
  delivery.startSweeps(deps.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  chatStatus.start(deps.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  void delivery.sweep().catch(() => undefined);
  return {
    async stop() {
      delivery.stopSweeps();
      chatStatus.stop();
      stopAuditAnchors();
      await scheduler.stop();
      await reconciler.stop();
      await outbox.stop();
    },
  };
}
