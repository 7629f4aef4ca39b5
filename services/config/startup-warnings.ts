import type { Logger } from 'pino';
import type { AppConfig } from './config';

/**
 * Production settings the bot runs without, but with a gap in "exactly once in Teams": a message whose answer
 * Teams lost cannot be looked for, and may show twice (docs/operations.md, 'Exactly once in Teams').
 */
export function warnAboutExactlyOnceGaps(config: AppConfig, log: Logger): void {
  if (config.mode === 'production' && !config.teamsApp) {
    log.warn(
      "TEAMS_APP_MANIFEST_ID is not set: a message to a personal chat whose answer Teams lost cannot be looked for, and may show twice (docs/operations.md, 'Exactly once in Teams')",
    );
  }
  if (config.mode === 'production') {
    const noTeam = Object.entries(config.approverChannels)
      .filter(([, c]) => !c.teamId)
      .map(([k]) => k);
    if (noTeam.length > 0)
      log.warn(
        { channels: noTeam },
        "APPROVER_CHANNELS entries without teamId: a card whose post answer Teams lost cannot be looked for, and may show twice (docs/operations.md, 'Exactly once in Teams')",
      );
  }
}
