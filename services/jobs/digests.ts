import type { Logger } from 'pino';
import type { ChannelTarget } from '../config/config';
import {
  adminDigestNameRefs,
  type AuditReviews,
  buildAdminDigest,
  buildUserDigest,
  digestEntryKey,
  digestCandidates,
  readDigestInputs,
  resolveNames,
  spotAuditWindow,
  type AdminDigest,
  type DirectoryNames,
  type TenantReads,
  type UserDigest,
} from '../digests';
import { isWithinLocalHours, localDate } from './local-time';
import type { JobRun, JobScheduler } from './scheduler';
import type { Store } from '../store/store';
import type { ChatNotifier } from '../teams/chat-notifier';
import type { ActivityNotice, GraphPersonalChats } from '../teams/personal-chats';
import type { CardJson, DigestCardRenderers } from './ports';

export const DIGEST_TICK = 'digest:tick';
export const DIGEST_USER = 'digest:user';
export const DIGEST_ADMIN = 'digest:admin';
/** Declared in the Teams app manifest's activities.activityTypes (appPackage/README.md). */
export const DIGEST_ACTIVITY_TYPE = 'dailyDigest';
/** A digest for someone the bot has no chat with yet is tried again this often, until their day ends. */
const NO_CONVERSATION_RETRY_MS = 30 * 60_000;

export interface DigestSettings {
  /** Local time users (and the admin channel) get their digest, HH:MM. */
  localTime: string;
  /** The admin channel's zone: its "yesterday" and "this week". */
  adminTimeZone: string;
  /** How often the tenant is read to see whose local digest time has come. */
  checkEveryMinutes: number;
  /** PIM-onboarded groups to read (Graph cannot list them); groups seen in requests are added. */
  groupIds: string[];
  dormantAfterDays: number;
  spotAuditRate: number;
  /** Makes the spot-audit draw reproducible per tenant but not guessable from request ids alone. */
  spotAuditSalt: string;
}

/** What a user's digest job carries: the digest computed when its time came, and the names it shows. */
interface UserDigestPayload {
  digest: UserDigest;
  targetNames: Array<[string, string]>;
}

interface AdminDigestPayload {
  digest: AdminDigest;
  users: Array<[string, string]>;
  targets: Array<[string, string]>;
}

/**
 * Daily digests, on the durable scheduler. A tick (every `checkEveryMinutes`) reads the tenant once and,
 * for every user with something ending whose local digest time has come today, schedules one job keyed
 * by user and local date: the key makes it once a day however many ticks see it, and a tick after
 * downtime sends today's digest once (yesterday's is not sent late). The admin channel's digest works
 * the same way in its zone.
 */
export class DailyDigests {
  private readonly audit: AuditReviews;
  /** More cards the admin digest posts after its own, read when it is sent (break-glass grants to review); null: none. */
  readonly adminDigestExtras: Array<() => Promise<CardJson | null>> = [];

  constructor(
    private readonly deps: {
      store: Store;
      scheduler: JobScheduler;
      reads: TenantReads & DirectoryNames;
      timeZones: { zonesOf(userIds: Iterable<string>): Promise<Map<string, string>> };
      notifier: ChatNotifier;
      /** The digest cards (cards/digest's render functions). */
      renderers: DigestCardRenderers;
      /** Reaching users the bot has no chat with (app installation through Graph); null when not configured. */
      personalChats?: Pick<GraphPersonalChats, 'openChat' | 'notify' | 'webUrlForBotChat'> | null;
      adminChannel: ChannelTarget | null;
      settings: DigestSettings;
      log: Logger;
      now?: () => Date;
    },
  ) {
    this.audit = deps.store.auditReviews(() => this.now());
    deps.scheduler.on(DIGEST_TICK, (_job, now) => this.tick(now));
    deps.scheduler.on(DIGEST_USER, (job, now) => this.sendUserDigest(job, now));
    deps.scheduler.on(DIGEST_ADMIN, (job) => this.sendAdminDigest(job));
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** The tick job exists once (its id); call at start. */
  async start(): Promise<void> {
    await this.deps.scheduler.schedule({ id: DIGEST_TICK, kind: DIGEST_TICK, dueAt: this.now() });
  }

  private due(now: Date, zone: string): boolean {
    // From the digest time to the end of the local day ('00:00' as the end wraps to midnight).
    return isWithinLocalHours(now, zone, this.deps.settings.localTime, '00:00');
  }

  async tick(now: Date): Promise<{ rescheduleAt: Date }> {
    const s = this.deps.settings;
    const next = { rescheduleAt: new Date(now.getTime() + s.checkEveryMinutes * 60_000) };
    const pendingRows = await this.deps.store.requests.waiting();
    const groupIds = [...new Set([...s.groupIds, ...pendingRows.filter((r) => r.kind === 'group').map((r) => r.scope)])];
    const inputs = await readDigestInputs(this.deps.reads, { now, groupIds, dormantAfterDays: s.dormantAfterDays });

    const users: Array<{ id: string; digest: UserDigest }> = [];
    const candidates = [...digestCandidates(inputs)];
    const zones = await this.deps.timeZones.zonesOf(candidates);
    for (const userId of candidates) {
      const zone = zones.get(userId)!;
      if (!this.due(now, zone)) continue;
      const date = localDate(now, zone);
      if (await this.deps.scheduler.get(`${DIGEST_USER}:${userId}:${date}`)) continue;
      const digest = buildUserDigest(inputs, userId, { now, timeZone: zone });
      if (digest) users.push({ id: userId, digest });
    }
    if (users.length) {
      const targets = users.flatMap((u) => [...u.digest.ending, ...u.digest.endingToday, ...(u.digest.expired ?? [])]);
      const names = await resolveNames(this.deps.reads, [], targets);
      for (const u of users) {
        const keys = new Set(
          [...u.digest.ending, ...u.digest.endingToday, ...(u.digest.expired ?? [])].map(
            (t) => `${t.kind}|${t.roleDefinitionId.toLowerCase()}|${t.scope.toLowerCase()}`,
          ),
        );
        const payload: UserDigestPayload = { digest: u.digest, targetNames: [...names.targets].filter(([k]) => keys.has(k)) };
        await this.deps.scheduler.schedule({ id: `${DIGEST_USER}:${u.id}:${u.digest.date}`, kind: DIGEST_USER, dueAt: now, payload });
      }
    }

    if (this.deps.adminChannel && this.due(now, s.adminTimeZone)) {
      const date = localDate(now, s.adminTimeZone);
      const id = `${DIGEST_ADMIN}:${date}`;
      if (!(await this.deps.scheduler.get(id))) {
        const window = spotAuditWindow(now, s.adminTimeZone);
        const previous = new Date(now.getTime() - 24 * 3600_000).toISOString();
        const digest = buildAdminDigest(
          {
            inputs,
            pending: pendingRows,
            approvals: await this.audit.approvalsDecidedBetween(window.from, window.to),
            flags: await this.audit.flagsSince(previous),
          },
          { now, timeZone: s.adminTimeZone, spotAudit: { rate: s.spotAuditRate, salt: s.spotAuditSalt } },
        );
        const refs = adminDigestNameRefs(digest);
        const names = await resolveNames(this.deps.reads, refs.userIds, refs.targets);
        const payload: AdminDigestPayload = { digest, users: [...names.users], targets: [...names.targets] };
        await this.deps.scheduler.schedule({ id, kind: DIGEST_ADMIN, dueAt: now, payload });
      }
    }
    this.deps.log.info({ candidates: inputs.byPrincipal.size, userDigests: users.length }, 'digest tick');
    return next;
  }

  private async sendUserDigest(job: JobRun, now: Date): Promise<{ rescheduleAt: Date } | undefined> {
    const p = job.payload as UserDigestPayload;
    const userId = p.digest.principalId.toLowerCase();
    const log = this.deps.log.child({ userId });
    let reference = await this.deps.store.conversations.get(userId);
    if (!reference && this.deps.personalChats) {
      // No chat yet: install the app for the user (Graph) and open the 1:1 chat; a transient Graph error
      // throws, and the scheduler retries the job.
      const opened = await this.deps.personalChats.openChat(userId);
      if (opened.kind === 'chat') {
        // The user may have messaged the bot while Graph answered: their reference wins.
        reference = await this.deps.store.conversations.saveIfAbsent(userId, opened.reference);
        log.info({ installedNow: opened.installedNow }, 'digest: opened a chat with the user through Graph');
      } else {
        // The tenant's app policy blocks the app for this user: a line in their activity feed instead.
        const sent = await this.deps.personalChats.notify(userId, digestNotice(p.digest, this.deps.personalChats.webUrlForBotChat()));
        log.info({ sent }, 'digest: app installation blocked for the user; activity feed notification');
        if (sent === 'sent') return;
      }
    }
    const laterToday = (): { rescheduleAt: Date } | undefined => {
      // No way to reach the user now: try again through their day, so a user who opens the chat later
      // still gets today's digest.
      const retry = new Date(now.getTime() + NO_CONVERSATION_RETRY_MS);
      if (localDate(retry, p.digest.timeZone) === p.digest.date) return { rescheduleAt: retry };
      log.info('digest not delivered: no conversation with the user today');
    };
    if (!reference) return laterToday();
    try {
      await this.deps.notifier.sendCardTo(reference as object, this.deps.renderers.userDigestCard({ digest: p.digest, targetNames: new Map(p.targetNames) }));
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 403 && status !== 404) throw err;
      // Teams says the chat is gone (app removed, conversation unknown): forget it, so the next try opens a new one.
      await this.deps.store.conversations.forget(userId, reference);
      log.warn({ status }, 'digest: the stored chat with the user is gone; forgotten');
      return laterToday();
    }
  }

  private async sendAdminDigest(job: JobRun): Promise<void> {
    if (!this.deps.adminChannel) return;
    const p = job.payload as AdminDigestPayload;
    for (const card of this.deps.renderers.adminDigestCards({ digest: p.digest, names: { users: new Map(p.users), targets: new Map(p.targets) } })) {
      await this.deps.notifier.postCard(this.deps.adminChannel, card);
    }
    for (const extra of this.adminDigestExtras) {
      const card = await extra();
      if (card) await this.deps.notifier.postCard(this.deps.adminChannel, card);
    }
  }
}

/**
 * A user's digest as it was sent (`date`, the user's local date), with what their click on one entry did shown
 * under that entry: the card the click's invoke answers with. Null when that digest is no longer kept.
 */
export async function answeredDigestCard(
  deps: { scheduler: Pick<JobScheduler, 'payloadOf'>; renderers: Pick<DigestCardRenderers, 'userDigestCard'> },
  userId: string,
  date: string,
  entry: { kind: string; roleDefinitionId: string; scope: string; assignment: string },
  answer: string,
): Promise<CardJson | null> {
  const p = (await deps.scheduler.payloadOf(`${DIGEST_USER}:${userId.toLowerCase()}:${date}`)) as UserDigestPayload | undefined;
  if (!p || p.digest.principalId.toLowerCase() !== userId.toLowerCase()) return null;
  return deps.renderers.userDigestCard({ digest: p.digest, targetNames: new Map(p.targetNames), answers: new Map([[digestEntryKey(entry), answer]]) });
}

/**
 * The admin digest of `date` as it was posted, with what a review click on the spot-audit entry of `requestId`
 * did shown under it: the one card (of the digest's cards) that lists that entry. Null when that digest is no
 * longer kept or does not list it.
 */
export async function answeredAdminDigestCard(
  deps: { scheduler: Pick<JobScheduler, 'payloadOf'>; renderers: Pick<DigestCardRenderers, 'adminDigestCards'> },
  date: string,
  requestId: string,
  answer: string,
): Promise<CardJson | null> {
  const p = (await deps.scheduler.payloadOf(`${DIGEST_ADMIN}:${date}`)) as AdminDigestPayload | undefined;
  if (!p) return null;
  const data = { digest: p.digest, names: { users: new Map(p.users), targets: new Map(p.targets) } };
  // The card that lists the entry is found as posted (its buttons name the request); the answered one has none.
  const at = deps.renderers.adminDigestCards(data).findIndex((c) => JSON.stringify(c).includes(`"requestId":"${requestId}"`));
  return at < 0 ? null : (deps.renderers.adminDigestCards({ ...data, answers: new Map([[requestId, answer]]) })[at] ?? null);
}

/** The activity feed line for a user the bot cannot chat with: counts only (no directory text), and a link to the bot's chat. */
export function digestNotice(digest: UserDigest, webUrl: string): ActivityNotice {
  const parts = [
    digest.ending.length ? `${digest.ending.length} privileged assignment${digest.ending.length === 1 ? '' : 's'} ending within 14 days` : '',
    digest.endingToday.length ? `${digest.endingToday.length} activation${digest.endingToday.length === 1 ? '' : 's'} ending today` : '',
    digest.expired?.length ? `${digest.expired.length} expired in the last 30 days` : '',
  ].filter(Boolean);
  const summary = parts.join(', ');
  return {
    activityType: DIGEST_ACTIVITY_TYPE,
    topicText: 'PIM daily digest',
    previewText: `${summary}. Open the PIM Approvals chat to extend, renew or give them up.`,
    webUrl,
    templateParameters: { summary },
  };
}
