import { type ApprovalCardData, type ApprovalView, renderApprovalCard } from './approval-card';
import { renderReRequestNotice } from './chat';
import { renderSummaryCard, type SummaryEntry } from './summary/summary-card';
import type { ApprovalCardRenderers } from '../services/jobs/ports';
import { releasedClaimText } from './card-text';
import { isFinal, type RequestStatus } from '../services/approvals/request-lifecycle';
import type { ApprovalRequestRow } from '../services/store/store';
import { parseCheckLines } from '../services/approvals/check-lines';
import { parseDisplay, pendingRelease, utcText } from '../services/approvals/request-display';
import { historyBlockOf, riskBlockOf } from './requester-signal-blocks';

/**
 * An approval request row as the approval card's data (`cardDataOf`), who sees which view of it, and its
 * line on a summary card. The row's stored display details are read by services/approvals/request-display.ts.
 */

export function cardDataOf(row: ApprovalRequestRow, now: Date, message?: string | null): ApprovalCardData {
  const display = parseDisplay(row);
  const status = row.status as RequestStatus;
  return {
    requestId: row.id,
    version: row.version,
    requester: display.requester,
    role: { displayName: display.roleDisplayName, scope: scopeText(row), kind: row.kind as ApprovalCardData['role']['kind'] },
    durationText: durationText(row.duration_minutes),
    windowText: windowText(row.start_at, row.duration_minutes, row.created_at),
    justification: row.justification,
    ticket: row.ticket_number ? { system: row.ticket_system ?? '', number: row.ticket_number } : null,
    riskFlags: JSON.parse(row.risk_flags) as string[],
    decisionReasons: JSON.parse(row.reasons) as string[],
    checkLines: parseCheckLines(row.check_lines),
    expiresText: expiresText(row.expires_at, now, status),
    times: timesOf(row, now),
    status,
    decision:
      row.decided_by_id && row.decided_at
        ? {
            byDisplayName: row.decided_by_name ?? row.decided_by_upn ?? row.decided_by_id,
            byUserPrincipalName: row.decided_by_upn ?? '',
            atText: utcText(new Date(row.decided_at)),
            at: row.decided_at,
            justification: row.decision_justification ?? '',
          }
        : null,
    // A released claim is said on every copy of the still-pending request, after this viewer's own line.
    message: [message, releaseLine(row)].filter((m): m is string => !!m).join(' ') || null,
    messageClickedAt: pendingRelease(row)?.at ?? null,
    identityRisk: display.signals ? riskBlockOf(display.signals) : null,
    approverNames: display.approverNames ?? null,
    history: display.signals ? historyBlockOf(display.signals, now) : null,
  };
}

/** Which view a person gets: only approvers (not the requester) see buttons, and only while pending. */
export function viewFor(row: ApprovalRequestRow, actorId: string | undefined, approverIds: string[]): ApprovalView {
  if (isFinal(row.status as RequestStatus)) return 'final';
  const actor = actorId?.toLowerCase();
  if (actor && actor === row.principal_id) return 'requester';
  if (actor && approverIds.includes(actor) && row.status === 'pending') return 'approver';
  return 'observer';
}

function scopeText(row: ApprovalRequestRow): string {
  if (row.kind === 'entraRole') return row.scope === '/' ? 'Directory' : row.scope;
  if (row.kind === 'group') return `Group ${row.scope}`;
  return row.scope;
}

export function durationText(minutes: number | null): string {
  if (!minutes) return 'Policy default';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return [h ? `${h} hour${h === 1 ? '' : 's'}` : '', m ? `${m} min` : ''].filter(Boolean).join(' ');
}

function windowText(startAt: string | null, minutes: number | null, createdAt: string): string {
  const start = new Date(startAt ?? createdAt);
  if (!minutes) return `From ${utcText(start)}`;
  const end = new Date(start.getTime() + minutes * 60_000);
  return `${utcText(start)} – ${utcText(end)}`;
}

/** The card's moments as instants, for the viewer's own zone; the time left as words. */
function timesOf(row: ApprovalRequestRow, now: Date): ApprovalCardData['times'] {
  const start = new Date(row.start_at ?? row.created_at);
  const end = row.duration_minutes ? new Date(start.getTime() + row.duration_minutes * 60_000).toISOString() : null;
  const left = new Date(row.expires_at).getTime() - now.getTime();
  const leftText = left <= 0 ? 'none' : `${Math.floor(left / 3_600_000)} h ${Math.floor((left % 3_600_000) / 60_000)} min left`;
  return { expiresAt: row.expires_at, windowStart: start.toISOString(), windowEnd: end, leftText };
}

function expiresText(expiresAt: string, now: Date, status: RequestStatus): string {
  const expires = new Date(expiresAt);
  if (isFinal(status)) return `PIM window closed (it would have expired ${utcText(expires)})`;
  const left = expires.getTime() - now.getTime();
  if (left <= 0) return `Expired ${utcText(expires)}`;
  const h = Math.floor(left / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  return `${h} h ${m} min left (PIM drops it ${utcText(expires)})`;
}

/** The line every copy of a pending request shows after a released claim (its time is shown beside it: `releaseAt`). */
export function releaseLine(row: ApprovalRequestRow): string | null {
  const r = pendingRelease(row);
  return r ? releasedClaimText(r.name, null) : null;
}

/**
 * A request as a line of a summary card. A claim released without a decision recorded in PIM comes along
 * while the request waits, so the line says what its approval card says (releaseLine).
 */
export function summaryEntryOf(row: ApprovalRequestRow): SummaryEntry {
  return summaryEntryFrom(row, cardDataOf(row, new Date(row.created_at)));
}

/** The summary line from the card data already built for the row (the line shows no time-dependent text). */
function summaryEntryFrom(row: ApprovalRequestRow, data: ApprovalCardData): SummaryEntry {
  return {
    requestId: row.id,
    version: row.version,
    requesterName: data.requester.displayName,
    requesterUpn: data.requester.userPrincipalName,
    roleName: data.role.displayName,
    scope: data.role.scope,
    requestedAt: row.created_at,
    release: pendingRelease(row),
  };
}

/** A listed request as a summary re-rendered in place shows it: its outcome once closed; without names when they would not fit. */
export function summaryLineOf(row: ApprovalRequestRow, withNames: boolean): SummaryEntry {
  const entry = summaryEntryOf(row);
  return { ...entry, outcome: outcomeOf(row, withNames), release: entry.release && !withNames ? { ...entry.release, name: '' } : entry.release };
}

/** How a closed request ended, for its summary line; null while it is open. */
function outcomeOf(row: ApprovalRequestRow, withName: boolean): SummaryEntry['outcome'] {
  if (row.status === 'pending') return null;
  if (row.status === 'recording') return { text: 'Being recorded in PIM…', colour: 'default' };
  const by = withName ? (row.decided_by_name ?? row.decided_by_upn) : null;
  // The time goes beside the text, as an instant the card writes in each viewer's zone.
  const at = row.decided_at && !Number.isNaN(Date.parse(row.decided_at)) ? row.decided_at : null;
  const word =
    row.status === 'approved'
      ? 'Approved'
      : row.status === 'denied'
        ? 'Denied'
        : row.status === 'expired'
          ? 'Expired'
          : row.status === 'cancelled'
            ? 'Cancelled'
            : row.status;
  return { text: `${word}${by ? ` by ${by}` : ''}`, at, colour: row.status === 'approved' ? 'good' : row.status === 'denied' ? 'attention' : 'default' };
}

/**
 * The approval cards as the jobs' flows render them (services/jobs/ports.ts): the composition root passes
 * this to CardDelivery, so services never import cards.
 */
export const approvalCardRenderers: ApprovalCardRenderers = {
  approvalCard(row, view, now, message) {
    const data = cardDataOf(row, now, message);
    return { card: renderApprovalCard(data, view), summary: summaryEntryFrom(row, data) };
  },
  summaryCard(rows, batch, now, withNames) {
    return renderSummaryCard({ ...batch, now, entries: rows.map((r) => summaryLineOf(r, withNames)) });
  },
  reRequestNotice: renderReRequestNotice,
};
