import type { ConversationReference, TurnContext } from 'botbuilder';
import type { Logger } from 'pino';
import { approversExceptRequester } from '../../services/approvals/request-display';
import type { ApprovalStep } from '../../services/graph/pim-approvals';
import { errInfo } from '../../services/observability/err-info';
import type { ApprovalRequestRow, Store } from '../../services/store/store';
import type { ChannelAdapter } from '../http/messages-route';
import type { ApproverIdentity } from './approver-identity';
import { userTokenClient } from './approver-token';

/** Approvers asked in turn, at most: each costs a token-service call and a Graph (or ARM) read. */
const MAX_APPROVERS_ASKED = 3;

/**
 * Reads PIM's approval steps of a request decided outside Teams, as one of its approvers. Graph lets only
 * users read approvals (delegated; the app identity is refused), and the reconciler has no click to take a
 * token from, so it asks the Bot Framework token service for the token an approver already signed in to the
 * bot with (the same stored sign-in their clicks use; nobody is asked to sign in), checks that the token is
 * that approver's, and reads the steps on their behalf (Graph for Entra roles and groups, ARM for Azure).
 *
 * Read only: nothing is ever decided this way. Approvers are tried in the policy's order (the requester never),
 * up to three, skipping those who never opened a chat with the bot (no conversation to ask the token service
 * in) or are not signed in. Throws the last failure when no approver could read them, so the reconciler
 * records the decision as taken outside Teams.
 */
export function signedInApproverSteps(deps: {
  adapter: ChannelAdapter;
  /** The app id the bot sends with ('' in the demo). */
  connectorAppId: string;
  store: Pick<Store, 'conversations'>;
  approver: ApproverIdentity;
  log: Logger;
}): (row: ApprovalRequestRow, signal: AbortSignal) => Promise<ApprovalStep[]> {
  return async (row, signal) => {
    const approvers = approversExceptRequester(row);
    let lastError: unknown = new Error('No approver of this request is signed in to the bot');
    let asked = 0;
    for (const aadObjectId of approvers) {
      if (asked >= MAX_APPROVERS_ASKED || signal.aborted) break;
      const reference = (await deps.store.conversations.get(aadObjectId)) as Partial<ConversationReference> | undefined;
      if (!reference?.user?.id) continue;
      asked++;
      const log = deps.log.child({ requestId: row.id, approver: aadObjectId });
      try {
        const token = await storedToken(deps, reference, aadObjectId);
        if (!token) continue;
        const steps = await deps.approver.pimAs.approvals(row, token).steps(row.pim_request_id);
        log.info({ steps: steps.length }, "PIM approval steps read as a signed-in approver (the decision's reviewer)");
        return steps;
      } catch (err) {
        log.warn({ err: errInfo(err) }, 'PIM approval steps not readable as this approver');
        lastError = err;
      }
    }
    throw lastError;
  };
}

/** The approver's stored sign-in, or undefined when they have none; a token that is not theirs is never used. */
async function storedToken(
  deps: { adapter: ChannelAdapter; connectorAppId: string; approver: ApproverIdentity },
  reference: Partial<ConversationReference>,
  aadObjectId: string,
): Promise<string | undefined> {
  let token: string | undefined;
  // A proactive turn in the approver's chat with the bot: the adapter builds the token service client for it.
  await deps.adapter.continueConversationAsync(deps.connectorAppId, reference, async (ctx: TurnContext) => {
    const client = userTokenClient(ctx, deps.approver.sso);
    const found = await client.getUserToken(reference.user!.id, deps.approver.sso.connectionName, reference.channelId ?? 'msteams', '');
    token = found?.token || undefined;
  });
  if (!token) return undefined;
  // Throws (UserTokenError) unless the token's oid is this approver's and its tenant, issuer and audience ours.
  await deps.approver.sso.verifyUser(token, aadObjectId);
  return token;
}
