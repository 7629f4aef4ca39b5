import type { Logger } from 'pino';
import { SubmitActivation } from '../chat/submit-activation';
import type { AppConfig } from '../config/config';
import { GraphTenantReader } from '../digests/tenant-reader';
import type { SelfService } from '../elevation/self-service';
import type { AppGraph } from '../graph/app-clients';
import type { GraphDirectory } from '../graph/directory';
import { digestSettings } from '../jobs/build-jobs';
import type { CardDelivery } from '../jobs/card-delivery';
import type { ReminderLadder } from '../jobs/reminders';
import { UserTimeZones } from '../jobs/user-time-zone';
import type { Store } from '../store/store';
import { TabAccess } from './tab-access';
import { TabDashboard } from './tab-dashboard';
import { TabHistory } from './tab-history';
import { AppTenantOverview } from './tab-tenant';

/** Dormant, for the dashboard: no activation in this many days (issue 23). */
const DASHBOARD_DORMANT_DAYS = 90;

/**
 * The tab's views beyond the approvals (issue 23), on the product's own flows and ports: the chat's activation,
 * cancel and end, the ladder's reminder, the digests' app-only tenant reads and spot-audit draw, the mailbox time
 * zones, and the admin group's membership read app-only from Graph.
 */
export function buildTabServices(
  config: Pick<AppConfig, 'tabAdminGroupId' | 'azurePimScopes' | 'digests' | 'tenantId' | 'bot'>,
  deps: {
    store: Store;
    delivery: Pick<CardDelivery, 'refreshCopies'>;
    directory: GraphDirectory;
    appGraph: Pick<AppGraph, 'graph' | 'arm'>;
    reminders: Pick<ReminderLadder, 'remindNow'>;
    /** PIM as the caller, on behalf of the tab's SSO token. */
    selfServiceFor(ssoToken: string): SelfService;
    log: Logger;
    now?: () => Date;
  },
): { access: TabAccess; history: TabHistory; dashboard: TabDashboard } {
  const { store, directory, log, now } = deps;
  const clock = now ?? (() => new Date());
  const admin = {
    groupId: config.tabAdminGroupId,
    memberGroupsOf: (userId: string, groupIds: readonly string[]) => directory.memberGroupsOf(userId, groupIds),
  };
  const timeZones = new UserTimeZones(deps.appGraph.graph, config.digests.defaultTimeZone, { log });
  const access = new TabAccess({
    selfServiceFor: deps.selfServiceFor,
    offer: { chat: store.chat, directory, now: clock },
    submission: new SubmitActivation({
      chat: store.chat,
      evaluations: store.evaluations,
      approvals: store.requests,
      audit: store.audit,
      directory,
      log,
      now: clock,
    }),
    chat: store.chat,
    conversations: store.conversations,
    requests: store.requests,
    cancel: { chat: store.chat, approvals: store.requests, approvalCards: deps.delivery, now: clock },
    reminders: deps.reminders,
    audit: store.audit,
    zoneOf: (userId) => timeZones.knownZoneOf(userId),
    admin,
    log,
    now,
  });
  const settings = digestSettings(config);
  const dashboard = new TabDashboard({
    admin,
    ranges: store.requestRanges,
    requests: store.requests,
    reviews: store.auditReviews(now),
    tenant: new AppTenantOverview({
      reads: new GraphTenantReader(deps.appGraph.graph),
      arm: deps.appGraph.arm,
      azureScopes: config.azurePimScopes,
      // As the digests: the configured groups plus groups seen in waiting requests (Graph cannot list them).
      groupIds: async () => {
        const waiting = await store.requests.waiting();
        return [...new Set([...settings.groupIds, ...waiting.filter((r) => r.kind === 'group').map((r) => r.scope.toLowerCase())])];
      },
      dormantAfterDays: DASHBOARD_DORMANT_DAYS,
    }),
    spotAudit: { rate: settings.spotAuditRate, salt: settings.spotAuditSalt },
    now,
  });
  return { access, history: new TabHistory({ requests: store.requests, ranges: store.requestRanges, now }), dashboard };
}
