import type { RequesterHistory } from './requester-history';
import type { PimRequestRef } from '../graph/directory';
import type { UserRiskRecord } from '../integrations/ports';
import type { ApprovalRequestRow } from '../store/store';

/**
 * What an approval request row keeps for display besides PIM's own fields: the requester and role details
 * read when its card was posted, the requester signals, and a released claim. Pure reads of the row; the
 * card's wording of them is cards/approval-view.ts.
 */

/** Which view of an approval card a person gets: only approvers see buttons, and only while it is pending. */
export type ApprovalView = 'approver' | 'requester' | 'observer' | 'final';

/** Requester and role details fetched from Graph once, kept with the request for every render. */
export interface RequestDisplay {
  requester: { displayName: string; userPrincipalName: string; jobTitle: string | null; department: string | null };
  roleDisplayName: string;
  /** Approvers as PIM listed them when the card was posted; decisions re-check with Graph. */
  approverIds: string[];
  /**
   * The policy's escalation approvers: contacts when nobody decides, and deciders too once PIM's escalation
   * time has passed (`escalationTimeInMinutes` after the request was created; see `decidersNow`).
   */
  escalationApproverIds?: string[];
  /** The stage's escalationTimeInMinutes when the card was posted; absent or null: unknown, so escalation approvers never decide here. */
  escalationTimeInMinutes?: number | null;
  /**
   * The approver groups the policy named when the card was posted: a decision reads their members alongside
   * the policy (it still reads both afresh, and only the groups the policy names now count).
   */
  approverGroupIds?: string[];
  /** Who can approve, in words, as the policy named them when the card was posted (shown to everyone). */
  approverNames?: string[];
  /** Azure resources: PIM's approval id (ARM path) when the card was posted; a decision reads its stages early. */
  pimApprovalId?: string | null;
  /** From the role's PIM policy; undefined when it could not be read (the card is posted then). */
  approvalRequired?: boolean;
  /** The requester's identity risk and history with the role, read when the card was posted. */
  signals?: RequesterSignals;
}

/** What the card shows about the requester, fetched once when the card is posted and kept with the request. */
export interface RequesterSignals {
  /** Absent when ID Protection is not configured; `record` null when it could not be read. */
  identityRisk?: { checkedAt: string; record: UserRiskRecord | null };
  /** `summary` null when the history could not be read. */
  history?: { summary: RequesterHistory | null };
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

/** The request's approvers as the card names them: object ids in lower case, each once, never the requester. */
export function approversExceptRequester(row: ApprovalRequestRow): string[] {
  const requester = row.principal_id.toLowerCase();
  return [...new Set(parseDisplay(row).approverIds.map((id) => id.toLowerCase()))].filter((id) => id !== requester);
}

/**
 * When PIM lets a request's escalation approvers decide too: `minutes` (the stage's escalationTimeInMinutes)
 * after the request was created. Null when the time is unknown (fail closed: never).
 */
export function escalationOpensAt(minutes: number | null | undefined, createdAt: string): Date | null {
  const created = Date.parse(createdAt);
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 0 || Number.isNaN(created)) return null;
  return new Date(created + minutes * 60_000);
}

/** Whether PIM's escalation time has passed for a request created at `createdAt` (false when unknown). */
export function escalationOpen(minutes: number | null | undefined, createdAt: string, now: Date): boolean {
  const at = escalationOpensAt(minutes, createdAt);
  return at !== null && now.getTime() >= at.getTime();
}

/**
 * Who may decide a request now, as its card knows them (lower case, each once): the approvers PIM listed when
 * the card was posted, and its escalation approvers once PIM's escalation time has passed. Decisions re-check
 * with Graph; this only decides who sees the buttons.
 */
export function decidersNow(row: ApprovalRequestRow, now: Date): string[] {
  const display = parseDisplay(row);
  const escalation = escalationOpen(display.escalationTimeInMinutes, row.created_at, now) ? (display.escalationApproverIds ?? []) : [];
  return [...new Set([...display.approverIds, ...escalation].map((id) => id.toLowerCase()))];
}

export function parseDisplay(row: ApprovalRequestRow): RequestDisplay {
  if (row.display) return JSON.parse(row.display) as RequestDisplay;
  return {
    requester: { displayName: row.principal_id, userPrincipalName: row.principal_id, jobTitle: null, department: null },
    roleDisplayName: row.role_definition_id,
    approverIds: [],
  };
}

/** A time as every card and message of the bot writes it: `2026-03-02 08:04 UTC`. */
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
export function pendingRelease(row: Pick<ApprovalRequestRow, 'status' | 'last_release'>): { name: string; atText: string; at: string } | null {
  if (row.status !== 'pending') return null;
  const r = parseClaimRelease(row);
  return r ? { name: r.name, atText: utcText(new Date(r.at)), at: r.at } : null;
}

export function claimReleaseOf(row: ApprovalRequestRow, name: string | null): ClaimRelease | null {
  if (!row.claimed_by) return null;
  return { by: row.claimed_by, name: name ?? row.claimed_by, at: row.claimed_at ?? new Date().toISOString(), result: row.claimed_result };
}
