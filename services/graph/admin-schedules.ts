import { randomUUID } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import type { ArmClient } from './arm';
import { GROUP_PIM_PATH } from './directory';
import { toGraphCallError } from './graph-errors';

/** The administrator waits on the card; past this the call is reported as not answered (and checked by reading). */
const TIMEOUT_MS = 10_000;
const RD = '/roleManagement/directory';
const AUTH = '/providers/Microsoft.Authorization';
const ARM_API = '2020-10-01';

/** Whose assignment of what an administrator changes. `scope`: '/' (Entra), the group id, or the ARM scope. */
export interface ScheduleTarget {
  kind: string;
  roleDefinitionId: string;
  scope: string;
  principalId: string;
  assignment: 'eligible' | 'active';
}

export type AdminScheduleAction = 'adminExtend' | 'adminRenew';

/**
 * Port: PIM as the administrator who decides an extension or renewal (delegated, on-behalf-of). Graph has no
 * approval object for a selfExtend or selfRenew: an administrator answers by extending or renewing the
 * assignment itself, which PIM applies at once.
 */
export interface AdminSchedules {
  apply(
    target: ScheduleTarget,
    action: AdminScheduleAction,
    endDateTime: string,
    justification: string,
    now: Date,
  ): Promise<{ pimRequestId: string; status: string }>;
}

/**
 * Graph for Entra roles (roleEligibilityScheduleRequests, or roleAssignmentScheduleRequests for an active
 * assignment) and PIM for Groups (eligibilityScheduleRequests / assignmentScheduleRequests); ARM's
 * roleEligibilityScheduleRequests / roleAssignmentScheduleRequests (AdminExtend, AdminRenew) for Azure resources.
 */
export class GraphAdminSchedules implements AdminSchedules {
  constructor(
    private readonly graph: Client,
    private readonly arm?: ArmClient,
  ) {}

  async apply(t: ScheduleTarget, action: AdminScheduleAction, endDateTime: string, justification: string, now: Date) {
    const what = action === 'adminExtend' ? 'Extending the assignment' : 'Renewing the assignment';
    const schedule = { startDateTime: now.toISOString(), expiration: { type: 'afterDateTime', endDateTime } };
    if (t.kind === 'azureResource') {
      if (!this.arm) throw new Error('Azure resource assignments need the ARM client');
      const name = randomUUID();
      const collection = t.assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests';
      const res = await this.arm.call<{ name?: string; properties: { status: string } }>(
        'PUT',
        `${t.scope}${AUTH}/${collection}/${name}?api-version=${ARM_API}`,
        what,
        {
          properties: {
            principalId: t.principalId,
            roleDefinitionId: t.roleDefinitionId,
            requestType: action === 'adminExtend' ? 'AdminExtend' : 'AdminRenew',
            justification,
            scheduleInfo: { ...schedule, expiration: { type: 'AfterDateTime', endDateTime } },
          },
        },
      );
      return { pimRequestId: res.name ?? name, status: res.properties.status };
    }
    const [path, body] =
      t.kind === 'group'
        ? [
            `${GROUP_PIM_PATH}/${t.assignment === 'eligible' ? 'eligibilityScheduleRequests' : 'assignmentScheduleRequests'}`,
            { action, principalId: t.principalId, groupId: t.scope, accessId: t.roleDefinitionId, justification, scheduleInfo: schedule },
          ]
        : [
            `${RD}/${t.assignment === 'eligible' ? 'roleEligibilityScheduleRequests' : 'roleAssignmentScheduleRequests'}`,
            { action, principalId: t.principalId, roleDefinitionId: t.roleDefinitionId, directoryScopeId: t.scope, justification, scheduleInfo: schedule },
          ];
    try {
      const r = await this.graph.api(path).option('signal', AbortSignal.timeout(TIMEOUT_MS)).post(body);
      return { pimRequestId: String(r.id), status: String(r.status) };
    } catch (err) {
      throw toGraphCallError(err, what);
    }
  }
}
