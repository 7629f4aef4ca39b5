import type { ApprovalRequestRow } from '../services/store/store';
import { parseDisplay, utcText, type ClaimRelease } from './approval-view';
import type { CardDelivery } from './card-delivery';

export { parseClaimRelease, releaseLine, type ClaimRelease } from './approval-view';

export function claimReleaseOf(row: ApprovalRequestRow, name: string | null): ClaimRelease | null {
  if (!row.claimed_by) return null;
  return { by: row.claimed_by, name: name ?? row.claimed_by, at: row.claimed_at ?? new Date().toISOString(), result: row.claimed_result };
}

/**
 * Tells the approver in their personal chat (if the bot has one with them) that their decision was not
 * recorded: through the outbox, once per release (keyed by the claim's time).
 */
export async function tellApproverNotRecorded(delivery: Pick<CardDelivery, 'tellRequester'>, row: ApprovalRequestRow, release: ClaimRelease): Promise<boolean> {
  const display = parseDisplay(row);
  const verb = release.result === 'Deny' ? 'deny' : release.result === 'Approve' ? 'approve' : 'decide on';
  const text = `Your decision to ${verb} ${display.requester.displayName}'s request for ${display.roleDisplayName} at ${utcText(new Date(release.at))} was not recorded in PIM. The request is still waiting: please open the card and decide again.`;
  // tellRequester posts to the personal chat of the row's principal: here, the approver's.
  return delivery.tellRequester({ ...row, principal_id: release.by }, `release:${release.by}:${release.at}`, { type: 'text', text });
}
