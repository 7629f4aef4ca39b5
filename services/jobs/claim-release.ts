import type { ApprovalRequestRow } from '../store/store';
import { type ClaimRelease, parseDisplay } from '../approvals/request-display';
import { formatTime } from '../text/format-time';
import type { RequesterNotices } from './ports';

/**
 * Tells the approver in their personal chat (if the bot has one with them) that their decision was not
 * recorded: through the outbox, once per release (keyed by the claim's time).
 */
export async function tellApproverNotRecorded(delivery: RequesterNotices, row: ApprovalRequestRow, release: ClaimRelease): Promise<boolean> {
  const display = parseDisplay(row);
  const verb = release.result === 'Deny' ? 'deny' : release.result === 'Approve' ? 'approve' : 'decide on';
  // The time of the click, in the approver's own zone.
  const text = (zone: string) =>
    `Your decision to ${verb} ${display.requester.displayName}'s request for ${display.roleDisplayName} at ${formatTime(release.at, zone)} was not recorded in PIM. The request is still waiting: please open the card and decide again.`;
  return delivery.tellRequester({ ...row, principal_id: release.by }, `release:${release.by}:${release.at}`, (zone) => ({ type: 'text', text: text(zone) }));
}
