import type { RequesterLookup } from '../integrations/ports';
import type { UserProfile } from './directory';
import { GraphCallError } from './graph-errors';

/**
 * The requester as the directory knows them, for the decision's checks: found, not found (Graph 404:
 * no such user), or unknown (any other failure, or an answer without a user principal name). Never
 * rejects, so no caller can mistake a failed read for an answer.
 */
export async function requesterLookup(directory: { user(id: string): Promise<UserProfile> }, principalId: string): Promise<RequesterLookup> {
  const started = Date.now();
  const evidence = (answer: string) => ({ asked: `the requester ${principalId}`, system: 'Microsoft Graph', answer, ms: Date.now() - started });
  try {
    const u = await directory.user(principalId);
    if (!u.userPrincipalName)
      return { status: 'unknown', detail: 'the directory answered without the user principal name', evidence: evidence('HTTP 200, userPrincipalName missing') };
    return { status: 'found', requester: { id: u.id, userPrincipalName: u.userPrincipalName, mail: u.mail }, evidence: evidence('HTTP 200') };
  } catch (err) {
    if (err instanceof GraphCallError && err.status === 404)
      return { status: 'notFound', detail: `the directory has no user ${principalId}`, evidence: evidence('HTTP 404, no such user') };
    const status = err instanceof GraphCallError && err.status > 0 ? `HTTP ${err.status}` : 'no answer';
    return { status: 'unknown', detail: `the requester could not be read from the directory (${status})`, evidence: evidence(status) };
  }
}
