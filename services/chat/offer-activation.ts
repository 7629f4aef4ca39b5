import { randomUUID } from 'node:crypto';
import { checkDraft, type DraftValues } from '../elevation/activation-problems';
import type { SelfService } from '../elevation/self-service';
import type { ActivationPolicy, ActivationTarget, EligibleTarget } from '../elevation/types';
import type { ChatStore } from '../store/chat-store';
import { newDraft, sameTarget } from './chat-drafts';

export interface OfferActivationPorts {
  chat: Pick<ChatStore, 'insertDraft'>;
  directory: { activationPolicy(target: ActivationTarget): Promise<ActivationPolicy> };
  now(): Date;
}

/** What an "activate" asks the user next: nothing (it is active or already asked for), or a new draft to confirm or complete. */
export type ActivationOffer =
  | { kind: 'alreadyActive'; endDateTime: string | null }
  | { kind: 'alreadyPending'; status: string }
  | { kind: 'draft'; draftId: string; policy: ActivationPolicy; values: DraftValues; problems: string[] };

/**
 * Checks an activation against PIM's policy and what the user already has active or pending, and opens
 * the draft the form or the confirmation card shows.
 */
export async function offerActivation(
  ports: OfferActivationPorts,
  pim: Pick<SelfService, 'active' | 'pendingRequests'>,
  request: { userId: string; target: EligibleTarget; values: DraftValues; timeZone: string },
): Promise<ActivationOffer> {
  const { target } = request;
  const [policy, active, pending] = await Promise.all([ports.directory.activationPolicy(target), pim.active(), pim.pendingRequests()]);
  const running = active.find((a) => sameTarget(a, target) && (!a.endDateTime || Date.parse(a.endDateTime) > ports.now().getTime()));
  if (running) return { kind: 'alreadyActive', endDateTime: running.endDateTime };
  const open = pending.find((p) => p.action === 'selfActivate' && sameTarget(p, target));
  if (open) return { kind: 'alreadyPending', status: open.status };
  const checked = checkDraft(request.values, policy, target.displayName);
  const draftId = randomUUID();
  await ports.chat.insertDraft(newDraft(draftId, request.userId, target, checked.values, request.timeZone, ports.now()));
  return { kind: 'draft', draftId, policy, values: checked.values, problems: checked.problems };
}
