import type { ApprovalCardData, ApprovalView } from '../cards/approval-card';
import { releasedClaimText } from '../cards/card-text';
import { isFinal, type RequestStatus } from '../services/approvals/request-lifecycle';
import type { PimRequestRef } from '../services/graph/directory';
import type { ApprovalRequestRow } from '../services/store/store';
import { parseCheckLines } from './check-lines';
import { historyBlockOf, riskBlockOf, type RequesterSignals } from './requester-signals';

/** Requester and role details fetched from Graph once, kept with the request for every render. */
export interface RequestDisplay {
  requester: { displayName: string; userPrincipalName: string; jobTitle: string | null; department: string | null };
  roleDisplayName: string;
  /** Approvers as PIM listed them when the card was posted; decisions re-check with Graph. */
  approverIds: string[];
  /** The policy's escalation approvers (contacts when nobody decides; decisions still need an approver). */
  escalationApproverIds?: string[];
  /**
   * The approver groups the policy named when the card was posted: a decision reads their members alongside
   * the policy (it still reads both afresh, and only the groups the policy names now count).
   */
  approverGroupIds?: string[];
  /** Azure resources: PIM's approval id (ARM path) when the card was posted; a decision reads its stages early. */
  pimApprovalId?: string | null;
  /** From the role's PIM policy; undefined when it could not be read (the card is posted then). */
  approvalRequired?: boolean;
  /** The requester's identity risk and history with the role, read when the card was posted. */
  signals?: RequesterSignals;
}

/** The request as the Graph/ARM ports name it. */
export function refOf(row: ApprovalRequestRow): PimRequestRef {
  return {
    kind: row.kind,
    roleDefinitionId: row.role_definition_id,
    scope: row.scope,
    pimRequestId: row.pim_request_id,
    principalId: row.principal_id,
    createdAt: row.created_at,
  };
}

export function parseDisplay(row: ApprovalRequestRow): RequestDisplay {
  if (row.display) return JSON.parse(row.display) as RequestDisplay;
  return {
    requester: { displayName: row.principal_id, userPrincipalName: row.principal_id, jobTitle: null, department: null },
    roleDisplayName: row.role_definition_id,
    approverIds: [],
  };
}

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
    status,
    decision:
      row.decided_by_id && row.decided_at
        ? {
            byDisplayName: row.decided_by_name ?? row.decided_by_upn ?? row.decided_by_id,
            byUserPrincipalName: row.decided_by_upn ?? '',
            atText: utcText(new Date(row.decided_at)),
            justification: row.decision_justification ?? '',
          }
        : null,
    // A released claim is said on every copy of the still-pending request, after this viewer's own line.
    message: [message, releaseLine(row)].filter((m): m is string => !!m).join(' ') || null,
    identityRisk: display.signals ? riskBlockOf(display.signals) : null,
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

function expiresText(expiresAt: string, now: Date, status: RequestStatus): string {
  const expires = new Date(expiresAt);
  if (isFinal(status)) return `PIM window closed (it would have expired ${utcText(expires)})`;
  const left = expires.getTime() - now.getTime();
  if (left <= 0) return `Expired ${utcText(expires)}`;
  const h = Math.floor(left / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  return `${h} h ${m} min left (PIM drops it ${utcText(expires)})`;
}

export function utcText(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * A claim given back without a decision recorded in PIM (a lost Graph answer, PIM failing, a replica
 * that died mid-click): what the row keeps so every card copy can say so until the next decision.
 */
export interface ClaimRelease {
  /** The approver whose click was not recorded. */
  by: string;
  name: string;
  /** When they clicked (the claim's time), ISO. */
  at: string;
  result: string | null;
}

export function parseClaimRelease(row: Pick<ApprovalRequestRow, 'last_release'>): ClaimRelease | null {
  if (!row.last_release) return null;
  try {
    const r = JSON.parse(row.last_release) as Partial<ClaimRelease>;
    return typeof r.by === 'string' && typeof r.at === 'string'
      ? { by: r.by, name: typeof r.name === 'string' ? r.name : r.by, at: r.at, result: r.result ?? null }
      : null;
  } catch {
    return null;
  }
}

/** A released claim as the cards show it, while the request is still pending (a decision since clears it). */
export function pendingRelease(row: Pick<ApprovalRequestRow, 'status' | 'last_release'>): { name: string; atText: string } | null {
  if (row.status !== 'pending') return null;
  const r = parseClaimRelease(row);
  return r ? { name: r.name, atText: utcText(new Date(r.at)) } : null;
}

/** The line every copy of a pending request shows after a released claim. */
export function releaseLine(row: ApprovalRequestRow): string | null {
  const r = pendingRelease(row);
  return r ? releasedClaimText(r.name, r.atText) : null;
}
