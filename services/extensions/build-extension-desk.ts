import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { GraphActivationHistory } from '../graph/activation-history';
import type { AppGraph } from '../graph/app-clients';
import { GraphExtensionReads } from '../graph/extension-requests';
import { GraphPimAdministrators } from '../graph/pim-admins';
import type { HrSignals, IdentityRiskSignals } from '../integrations/ports';
import { adminChannelOf } from '../jobs/build-jobs';
import { UserTimeZones } from '../jobs/user-time-zone';
import type { Outbox } from '../outbox/outbox';
import type { Store } from '../store/store';
import { type ExtensionCardRenderer, ExtensionDesk } from './extension-desk';

/**
 * Extension and renewal asks over the bot's own Graph and ARM reads: PIM's waiting selfExtend/selfRenew
 * requests, who administers a target (PIM's own rules), the requester's history, HR and risk today; cards
 * through the outbox into the admin channel (APPROVER_CHANNELS' `admin`, else `default`).
 */
export function buildExtensionDesk(
  config: Pick<AppConfig, 'approverChannels' | 'digests' | 'minApproverJustification' | 'azurePimScopes'>,
  deps: {
    store: Store;
    graph: AppGraph;
    outbox: Outbox;
    hr?: HrSignals;
    identityRisk?: IdentityRiskSignals;
    render: ExtensionCardRenderer;
    log: Logger;
    now?: () => Date;
  },
): ExtensionDesk {
  const { store, graph, log } = deps;
  // Names this replica in the sweep's lease.
  const replica = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const timeZones = new UserTimeZones(graph.graph, config.digests.defaultTimeZone, { log });
  return new ExtensionDesk({
    asks: store.extensionAsks,
    conversations: store.conversations,
    audit: store.audit,
    reads: new GraphExtensionReads(graph.graph, config.azurePimScopes.length ? { arm: graph.arm, scopes: config.azurePimScopes } : null),
    directory: graph.directory,
    admins: new GraphPimAdministrators(graph.graph, graph.arm),
    history: new GraphActivationHistory(graph.graph),
    hr: deps.hr ?? null,
    identityRisk: deps.identityRisk,
    outbox: deps.outbox,
    render: deps.render,
    adminChannel: adminChannelOf(config),
    zoneOf: (userId) => timeZones.zoneOf(userId),
    minNote: config.minApproverJustification,
    // With several replicas, one reads PIM's waiting extension requests for all.
    lease: (ms) => store.tryLease('extension-desk', replica, ms, deps.now?.() ?? new Date()),
    log,
    now: deps.now,
  });
}
