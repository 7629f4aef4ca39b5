/**
 * The demo tenant with what the card benchmarks need on top: many requesters (PIM lets one person have
 * one pending request per role, and every approval needs a fresh pending request) and extra roles, each
 * with its own approver channel, so escalations spread over channels the way a tenant's roles do instead
 * of queueing behind Teams' per-channel limits. Ids are fixed, so parent and children agree on them.
 */
import { DEMO_BOT_APP, ROLE, seedTenant, USER, type SeedRole, type SeedTenant, type SeedUser } from '../../../sim/seed';

export const APP_ID_URI = `api://127.0.0.1/${DEMO_BOT_APP.clientId}`;
export const GOOD_JUSTIFICATION = 'Reset MFA for the locked-out CFO under incident INC0012345';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

export function requesterId(i: number): string {
  return `be0c0000-0000-4000-8000-${hex(i, 12)}`;
}

export function benchRoleId(k: number): string {
  return `be0c0001-0000-4000-8000-${hex(k, 12)}`;
}

export function requesterUser(i: number): SeedUser {
  return {
    id: requesterId(i),
    userPrincipalName: `bench.requester${i}@contoso.example`,
    displayName: `Bench Requester ${i}`,
    givenName: 'Bench',
    surname: `Requester ${i}`,
    jobTitle: 'Site Reliability Engineer',
    department: 'Platform Engineering',
    teamsUserId: `bench-user-${i}`,
    accountEnabled: true,
  };
}

export interface BenchTenantOptions {
  /** Users eligible for User Administrator (approvers: Adele Vance, Megan Bowen) and for every extra role. */
  requesters: number;
  /** Extra roles needing approval by Adele Vance or Megan Bowen. */
  extraRoles: number;
}

export function benchTenant(o: BenchTenantOptions): SeedTenant {
  const seed = structuredClone(seedTenant);
  const ids = Array.from({ length: o.requesters }, (_, i) => requesterId(i));
  seed.users.push(...ids.map((_, i) => requesterUser(i)));
  const userAdmin = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
  userAdmin.eligible.push(...ids);
  for (let k = 0; k < o.extraRoles; k++) {
    const role: SeedRole = {
      id: benchRoleId(k),
      templateId: benchRoleId(k),
      displayName: `Bench Operations Role ${k}`,
      description: 'A role of the benchmark tenant.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.adele },
          { kind: 'singleUser', userId: USER.megan },
        ],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [...ids],
    };
    seed.roles.push(role);
  }
  return seed;
}

/** The body PIM posts to a custom extension for an Entra role activation. */
export function pimRequestBody(o: {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  justification: string;
  ticketNumber?: string;
}): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: o.id,
    status: 'PendingApproval',
    action: 'selfActivate',
    principalId: o.principalId,
    roleDefinitionId: o.roleDefinitionId,
    directoryScopeId: '/',
    justification: o.justification,
    scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'afterDuration', duration: 'PT1H' } },
    ticketInfo: o.ticketNumber ? { ticketNumber: o.ticketNumber, ticketSystem: 'ServiceNow' } : { ticketNumber: null, ticketSystem: null },
  };
}
