/**
 * What an approval came to, read where users and PIM see it, never from the bot: PIM's approval steps and
 * the calls the simulator received (tests/support's harness), and what Teams shows (the Bot Connector
 * stand-in's store). For tests that must count "exactly once".
 */
import type { TeamsMessage } from '../../sim/teams-messages';
import { executeActions } from './card-actions';
import { CHANNEL_ID, simJson, type Harness } from './harness';

/** A PATCH of an Entra role approval step (the decision the bot records in PIM as the approver). */
export const APPROVAL_STEP_PATCH = /\/roleAssignmentApprovals\/[^/]+\/steps\/[^/]+$/;

export interface LoggedCall {
  method: string;
  path: string;
  /** 0 while the simulator has not answered (its answer held by a fault). */
  status: number;
  oid?: string;
  /** The caller went away (gave up, or died) before the answer. */
  abandoned?: boolean;
}

/**
 * Every PATCH of a PIM approval step the simulator received, in arrival order: answered ones, ones whose
 * answer is still held, and ones whose caller went away before the answer (the simulator logs a call when
 * it arrives).
 */
export async function approvalPatches(h: Pick<Harness, 'sim'>): Promise<LoggedCall[]> {
  const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as LoggedCall[];
  return calls.filter((c) => c.method === 'PATCH' && APPROVAL_STEP_PATCH.test(c.path));
}

export interface PimDecision {
  reviewResult: string;
  reviewedBy: string | null;
  justification: string | null;
}

/** PIM's request status and the decisions its approval steps hold (completed steps only). */
export async function pimOutcome(h: Pick<Harness, 'sim'>, pimId: string): Promise<{ status: string; decisions: PimDecision[] }> {
  const r = (await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body as {
    status: string;
    approval: { steps: Array<{ status: string; reviewResult: string; reviewedBy: { id: string } | null; justification: string | null }> } | null;
  };
  const decisions = (r.approval?.steps ?? [])
    .filter((s) => s.status === 'Completed' && s.reviewResult !== 'NotReviewed')
    .map((s) => ({ reviewResult: s.reviewResult, reviewedBy: s.reviewedBy?.id ?? null, justification: s.justification }));
  return { status: r.status, decisions };
}

export interface ShownCard {
  id: string;
  /** The card's JSON, for text checks. */
  text: string;
  /** Its Action.Execute verbs (an open approval card has pim.approve and pim.deny). */
  verbs: string[];
  card: unknown;
}

/** The cards a channel shows as thread roots (posts not deleted), oldest first: what approvers see. */
export function shownCards(h: Pick<Harness, 'connector'>, channelId: string = CHANNEL_ID): ShownCard[] {
  return h.connector
    .visible(channelId)
    .filter((m) => m.replyToId === null)
    .map((m) => {
      const card = (m.activity as { attachments?: Array<{ content?: unknown }> }).attachments?.[0]?.content ?? null;
      return { id: m.id, text: JSON.stringify(card), verbs: executeActions(card).map((a) => a.verb), card };
    });
}

/** Whether a card is in a final state: no Approve or Deny button left. */
export function isFinal(card: ShownCard): boolean {
  return !card.verbs.includes('pim.approve') && !card.verbs.includes('pim.deny');
}

/** Messages a conversation shows (not deleted) whose activity matches `pattern`. */
export function shownIn(h: Pick<Harness, 'connector'>, conversationId: string, pattern: RegExp): TeamsMessage[] {
  return h.connector.visible(conversationId).filter((m) => pattern.test(JSON.stringify(m.activity)));
}

/** Polls `check` (every 50 ms, up to `timeoutMs`) until it holds: waits for a state, never for a time that usually suffices. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
