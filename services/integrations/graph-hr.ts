import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from '../graph/graph-errors';
import { found, isRecord } from './findings';
import type { ActivationWindow, Evidence, HrCheck, HrSignals, Requester } from './ports';

/**
 * One user read. The Graph client's own retry handler honours Retry-After inside this; the decision
 * budget's signal cancels it sooner.
 */
const GRAPH_HR_READ_TIMEOUT_MS = 2000;

interface HrUser {
  id?: string;
  accountEnabled?: boolean | null;
  employeeLeaveDateTime?: string | null;
}

/**
 * HR signals from Microsoft Graph, app-only: a disabled account, or a leave date (`employeeLeaveDateTime`,
 * set by HR provisioning) that has passed or falls before the activation ends. Reading that property
 * needs User-LifeCycleInfo.Read.All next to User.Read.All.
 */
export class GraphHrSignals implements HrSignals {
  constructor(private readonly client: Client) {}

  async check(requester: Requester, window: ActivationWindow, signal: AbortSignal): Promise<HrCheck> {
    const asked = "the requester's account status and leave date";
    const started = Date.now();
    const evidence = (answer: string): Evidence => ({ asked, system: 'Microsoft Graph', answer, ms: Date.now() - started });
    let u: unknown;
    try {
      u = await this.client
        .api(`/users/${encodeURIComponent(requester.id)}`)
        .select(['id', 'accountEnabled', 'employeeLeaveDateTime'])
        .option('signal', AbortSignal.any([signal, AbortSignal.timeout(GRAPH_HR_READ_TIMEOUT_MS)]))
        .get();
    } catch (err) {
      if (signal.aborted)
        return found.unknown(
          'HR status could not be read: Microsoft Graph did not answer in time (the decision budget ran out).',
          evidence('no answer within the decision budget'),
        );
      const e = toGraphCallError(err, 'Reading HR signals');
      if (e.status === 404) return found.fail('The account no longer exists in the directory.', evidence('HTTP 404, no such user'));
      return found.unknown(`HR status could not be read: ${e.message}`, evidence(e.status ? `HTTP ${e.status}` : 'no answer'));
    }
    const ok = evidence('HTTP 200');
    if (!isRecord(u)) return found.unknown("HR status could not be read: Microsoft Graph's answer was not a user.", evidence('HTTP 200, not a user object'));
    const user = u as HrUser;
    // Both fields must be in the answer: Graph returns selected properties, null when empty; a missing one was withheld.
    if (typeof user.accountEnabled !== 'boolean')
      return found.unknown('HR status could not be read: Microsoft Graph did not return accountEnabled.', evidence('HTTP 200, accountEnabled missing'));
    if (!('employeeLeaveDateTime' in user)) {
      return found.unknown(
        'HR status could not be read: Microsoft Graph did not return employeeLeaveDateTime (the app may lack User-LifeCycleInfo.Read.All).',
        evidence('HTTP 200, employeeLeaveDateTime missing'),
      );
    }
    const problems: string[] = [];
    if (!user.accountEnabled) problems.push('The account is disabled.');
    if (user.employeeLeaveDateTime !== null && user.employeeLeaveDateTime !== undefined) {
      const leave = new Date(user.employeeLeaveDateTime);
      if (Number.isNaN(leave.getTime()))
        return found.unknown('HR status could not be read: the leave date is not a date.', evidence('HTTP 200, employeeLeaveDateTime unreadable'));
      const day = leave.toISOString().slice(0, 10);
      if (leave.getTime() <= window.start.getTime()) problems.push(`The requester left the company on ${day}.`);
      else if (window.end === null) problems.push(`The requester leaves the company on ${day}, and the activation has no end.`);
      else if (leave.getTime() < window.end.getTime()) problems.push(`The requester leaves the company on ${day}, before the activation would end.`);
    }
    return problems.length === 0 ? found.pass('Account enabled, no leave date inside the activation', ok) : found.fail(problems.join(' '), ok);
  }
}
