import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from '../graph/graph-errors';
import { IntegrationUnavailable, type ActivationWindow, type HrCheck, type HrSignals, type Requester } from './ports';

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
    let u: HrUser;
    try {
      u = await this.client
        .api(`/users/${encodeURIComponent(requester.id)}`)
        .select(['id', 'accountEnabled', 'employeeLeaveDateTime'])
        .option('signal', AbortSignal.any([signal, AbortSignal.timeout(GRAPH_HR_READ_TIMEOUT_MS)]))
        .get();
    } catch (err) {
      if (signal.aborted) throw new IntegrationUnavailable('Microsoft Graph', 'Microsoft Graph did not answer in time while reading HR signals (the decision budget ran out).');
      const e = toGraphCallError(err, 'Reading HR signals');
      if (e.status === 404) return { eligible: false, problems: ['The account no longer exists in the directory.'] };
      throw new IntegrationUnavailable('Microsoft Graph', e.message);
    }
    const problems: string[] = [];
    if (u.accountEnabled === false) problems.push('The account is disabled.');
    const leave = u.employeeLeaveDateTime ? new Date(u.employeeLeaveDateTime) : null;
    if (leave && !Number.isNaN(leave.getTime())) {
      const day = leave.toISOString().slice(0, 10);
      if (leave.getTime() <= window.start.getTime()) problems.push(`The requester left the company on ${day}.`);
      else if (leave.getTime() < window.end.getTime()) problems.push(`The requester leaves the company on ${day}, before the activation would end.`);
    }
    return { eligible: problems.length === 0, problems };
  }
}
