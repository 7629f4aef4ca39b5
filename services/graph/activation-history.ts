import type { Client } from '@microsoft/microsoft-graph-client';
import type { HistoryEntry } from '../approvals/requester-history';
import { toGraphCallError } from './graph-errors';
import { GROUP_PIM_PATH } from './directory';
import type { ReadBatch } from './read-batch';

/** One page read; the card is posted without history rather than wait longer. */
const HISTORY_PAGE_TIMEOUT_MS = 5000;
/** Pages read at most (999 requests each): more history than that adds nothing to a card. */
const MAX_PAGES = 3;

const FIELDS = ['id', 'status', 'action', 'createdDateTime'];

/** PIM statuses of an activation that happened (Graph's `status` on a schedule request). */
const ACTIVATED = new Set(['provisioned', 'granted', 'schedulecreated', 'pendingschedulecreation', 'pendingprovisioning']);

export interface HistoryTarget {
  kind: string;
  principalId: string;
  /** Entra role definition id; `member`/`owner` for a group. */
  roleDefinitionId: string;
  /** '/' or the group id. */
  scope: string;
}

/**
 * The requester's earlier activation requests for one role, from PIM through Graph with the bot's own
 * (application) identity: `roleAssignmentScheduleRequests` for Entra roles and the group
 * `assignmentScheduleRequests` for PIM for Groups, filtered by principal, role (or group and access) and
 * `action eq 'selfActivate'` (RoleAssignmentSchedule.Read.Directory, PrivilegedAssignmentSchedule.Read.AzureADGroup).
 * Azure resource history is not read here (ARM); the store's own records cover it.
 */
export class GraphActivationHistory {
  constructor(private readonly client: Client) {}

  /** `via`: a batch the first page may travel in (the card's other reads go with it). */
  async entries(t: HistoryTarget, signal?: AbortSignal, via?: ReadBatch): Promise<HistoryEntry[]> {
    const q = (v: string) => v.replace(/'/g, "''");
    let path: string;
    let filter: string;
    if (t.kind === 'entraRole') {
      path = '/roleManagement/directory/roleAssignmentScheduleRequests';
      filter = `principalId eq '${q(t.principalId)}' and roleDefinitionId eq '${q(t.roleDefinitionId)}' and action eq 'selfActivate'`;
    } else if (t.kind === 'group') {
      path = `${GROUP_PIM_PATH}/assignmentScheduleRequests`;
      filter = `principalId eq '${q(t.principalId)}' and groupId eq '${q(t.scope)}' and accessId eq '${q(t.roleDefinitionId)}' and action eq 'selfActivate'`;
    } else {
      return [];
    }
    const out: HistoryEntry[] = [];
    let next: string | undefined;
    for (let pageNo = 0; pageNo < MAX_PAGES && (pageNo === 0 || next); pageNo++) {
      const within = signal ? AbortSignal.any([signal, AbortSignal.timeout(HISTORY_PAGE_TIMEOUT_MS)]) : AbortSignal.timeout(HISTORY_PAGE_TIMEOUT_MS);
      let page: { value?: Array<Record<string, unknown>>; '@odata.nextLink'?: string };
      try {
        const req = pageNo === 0 ? this.client.api(path).filter(filter).select(FIELDS).top(999) : this.client.api(next!);
        const direct = () => req.option('signal', within).get();
        page =
          pageNo === 0 && via ? await via.read(`${path}?$filter=${encodeURIComponent(filter)}&$select=${FIELDS.join(',')}&$top=999`, direct) : await direct();
      } catch (err) {
        throw toGraphCallError(err, "Reading the requester's activation history");
      }
      next = page['@odata.nextLink'];
      for (const r of page.value ?? []) {
        const status = String(r.status ?? '').toLowerCase();
        const outcome = ACTIVATED.has(status) ? 'activated' : status === 'denied' ? 'denied' : null;
        if (!outcome || typeof r.id !== 'string' || typeof r.createdDateTime !== 'string') continue;
        out.push({ key: r.id, at: r.createdDateTime, outcome, source: 'pim' });
      }
    }
    return out;
  }
}
