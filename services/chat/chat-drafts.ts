import type { DraftValues } from '../elevation/activation-problems';
import { type ActivationTarget, targetKey } from '../elevation/types';
import type { ChatDraftRow, ChatRequestRow } from '../store/chat-store';

/**
 * The chat's drafts (a form on its way to PIM) as the store keeps them: the row a new form starts as, the
 * values it holds, and the target it names. Shared by the chat adapter and the chat use cases.
 */

/** The PIM target a chat request is for, as stored with it. */
export function chatRequestTarget(row: Pick<ChatRequestRow, 'kind' | 'role_definition_id' | 'scope' | 'role_title'>): ActivationTarget {
  return { kind: row.kind as ActivationTarget['kind'], roleDefinitionId: row.role_definition_id, scope: row.scope, displayName: row.role_title };
}

/** True when both name the same kind, role and scope (names are not compared). */
export function sameTarget(a: ActivationTarget, b: ActivationTarget): boolean {
  return targetKey(a) === targetKey(b);
}

export function emptyValues(): DraftValues {
  return { durationMinutes: null, ticketSystem: null, ticketNumber: null, justification: null };
}

/** A draft's value columns. */
export function draftValues(v: DraftValues) {
  return { duration_minutes: v.durationMinutes, ticket_system: v.ticketSystem, ticket_number: v.ticketNumber, justification: v.justification };
}

/** The target as a draft stores it (no eligibility dates or other extras). */
export function pickTarget(t: ActivationTarget): ActivationTarget {
  return { kind: t.kind, roleDefinitionId: t.roleDefinitionId, scope: t.scope, displayName: t.displayName };
}

/** The target a draft names, or null before the user picked one. */
export function draftTarget(draft: Pick<ChatDraftRow, 'target'>): ActivationTarget | null {
  return draft.target ? (JSON.parse(draft.target) as ActivationTarget) : null;
}

/** A new open draft for `userId`, with or without its target. */
export function newDraft(id: string, userId: string, target: ActivationTarget | null, v: DraftValues, timeZone: string, now: Date) {
  const at = now.toISOString();
  return {
    id,
    user_id: userId,
    target: target ? JSON.stringify(pickTarget(target)) : null,
    ...draftValues(v),
    claims: null,
    status: 'open',
    chat_request_id: null,
    time_zone: timeZone,
    created_at: at,
    updated_at: at,
  };
}
