import type { PostApprovalOutcome } from '../events/inbound-event';
import type { ChatRequestRow } from '../store/chat-store';
import type { ApprovalRequestRow } from '../store/requests';

/** What an approval row's state means for a chat request that follows it; undefined when nothing changes. */
export function patchFromApproval(
  row: ChatRequestRow,
  approval: ApprovalRequestRow,
  news: { outcome: PostApprovalOutcome; activeUntil?: Date | null } | undefined,
  now: Date,
): Partial<ChatRequestRow> | undefined {
  const decided = {
    decided_by_name: approval.decided_by_name ?? approval.decided_by_upn ?? row.decided_by_name,
    decided_at: approval.decided_at ?? row.decided_at,
    decision_justification: approval.decision_justification ?? row.decision_justification,
  };
  const outcome = news?.outcome;
  if (outcome === 'denied' || (!outcome && approval.status === 'denied')) return row.state === 'denied' ? undefined : { ...decided, state: 'denied' };
  if (outcome === 'expired' || (!outcome && approval.status === 'expired')) return row.state === 'expired' ? undefined : { ...decided, state: 'expired' };
  if (outcome === 'cancelled' || (!outcome && approval.status === 'cancelled'))
    return row.state === 'cancelled' ? undefined : { ...decided, state: 'cancelled' };
  if (outcome === 'granted' || outcome === 'activated' || (!outcome && approval.status === 'approved')) {
    if (row.state === 'active' && !news?.activeUntil) return undefined;
    // PIM starts the activation when the last approver approves (or at the requested start, if later).
    const decidedAt = approval.decided_at ? new Date(approval.decided_at) : now;
    const requestedStart = approval.start_at ? new Date(approval.start_at) : decidedAt;
    const from = new Date(Math.max(decidedAt.getTime(), Number.isNaN(requestedStart.getTime()) ? 0 : requestedStart.getTime()));
    const until = news?.activeUntil ?? new Date(from.getTime() + row.duration_minutes * 60_000);
    if (until.getTime() <= now.getTime())
      return { ...decided, state: 'ended', active_from: from.toISOString(), active_until: until.toISOString(), ended_at: until.toISOString() };
    return { ...decided, state: 'active', active_from: from.toISOString(), active_until: until.toISOString() };
  }
  return undefined;
}
