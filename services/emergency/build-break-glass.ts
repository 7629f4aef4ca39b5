import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import type { DecisionPolicy } from '../decision/policy';
import type { Directory } from '../graph/directory';
import { adminChannelOf } from '../jobs/build-jobs';
import type { JobScheduler } from '../jobs/scheduler';
import type { Outbox } from '../outbox/outbox';
import type { Store } from '../store/store';
import { BreakGlass, type BreakGlassRenderers } from './break-glass';

/**
 * Break-glass from the config and the policy: the role's approver channels are APPROVER_CHANNELS'; the security
 * channel is the policy's `emergency.securityChannel` key of APPROVER_CHANNELS, else the admin channel.
 */
export function buildBreakGlass(
  config: Pick<AppConfig, 'approverChannels'>,
  policy: DecisionPolicy,
  deps: {
    store: Store;
    scheduler: JobScheduler;
    outbox: Outbox;
    directory: Pick<Directory, 'user' | 'roleDisplayName' | 'pimRequestCopy'>;
    renderers: BreakGlassRenderers;
    log: Logger;
    now?: () => Date;
  },
): BreakGlass {
  const channels = config.approverChannels;
  return new BreakGlass({
    ...deps,
    log: deps.log.child({ component: 'break-glass' }),
    settings: {
      reviewWithinHours: policy.emergency.reviewWithinHours,
      channels,
      securityChannel: channels[policy.emergency.securityChannel] ?? adminChannelOf(config),
    },
  });
}
