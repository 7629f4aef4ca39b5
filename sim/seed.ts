/**
 * The seeded demo tenant. One source of truth for the simulator's directory, PIM policies and the
 * Teams playground's users (their `aadObjectId` is the simulator's object id, so any seeded user who
 * acts in the playground is the same person Graph and PIM know).
 *
 * Role ids are the real Entra built-in role template ids, so rules keyed on template ids (human-only
 * roles) behave as they would in a real tenant.
 */

export interface SeedUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string;
  surname: string;
  jobTitle: string;
  department: string;
  /** Teams user id the playground gives this user (`activity.from.id`); the current user is `user-id-0`. */
  teamsUserId: string;
  accountEnabled: boolean;
}

export interface SeedGroup {
  id: string;
  displayName: string;
  members: string[];
}

/** A subject as PIM's approval stage names it: one user, or the members of a group. */
export type SeedApprover = { kind: 'singleUser'; userId: string } | { kind: 'groupMembers'; groupId: string };

export interface SeedRole {
  /** Role definition id; for built-in roles this equals the template id. */
  id: string;
  templateId: string;
  displayName: string;
  description: string;
  policy: {
    isApprovalRequired: boolean;
    primaryApprovers: SeedApprover[];
    /** ISO 8601 duration, for example PT8H. */
    maximumDuration: string;
    /** EnablementRule entries for end-user activation. */
    enabledRules: Array<'MultiFactorAuthentication' | 'Justification' | 'Ticketing'>;
    isApproverJustificationRequired: boolean;
  };
  /** Users who hold an eligible assignment at directory scope. */
  eligible: string[];
}

export interface SeedTenant {
  tenantId: string;
  tenantDisplayName: string;
  users: SeedUser[];
  groups: SeedGroup[];
  roles: SeedRole[];
}

const uid = (n: number) => `6e1f2a30-4b5c-4d6e-8f70-0a1b2c3d4e${n.toString(16).padStart(2, '0')}`;

export const USER = {
  alex: uid(1),
  megan: uid(2),
  adele: uid(3),
  isaiah: uid(4),
  patti: uid(5),
  lynne: uid(6),
  diego: uid(7),
} as const;

export const GROUP = {
  secOpsApprovers: '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01',
} as const;

export const ROLE = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  securityOperator: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  helpdeskAdministrator: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
} as const;

export const DEMO_TENANT_ID = 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17';

export const seedTenant: SeedTenant = {
  tenantId: DEMO_TENANT_ID,
  tenantDisplayName: 'Contoso (simulated)',
  users: [
    {
      id: USER.alex, userPrincipalName: 'alexw@contoso.example', displayName: 'Alex Wilber', givenName: 'Alex',
      surname: 'Wilber', jobTitle: 'Site Reliability Engineer', department: 'Platform Engineering',
      teamsUserId: 'user-id-0', accountEnabled: true,
    },
    {
      id: USER.megan, userPrincipalName: 'meganb@contoso.example', displayName: 'Megan Bowen', givenName: 'Megan',
      surname: 'Bowen', jobTitle: 'Security Lead', department: 'Security Operations',
      teamsUserId: 'user-id-1', accountEnabled: true,
    },
    {
      id: USER.adele, userPrincipalName: 'adelev@contoso.example', displayName: 'Adele Vance', givenName: 'Adele',
      surname: 'Vance', jobTitle: 'IT Operations Manager', department: 'IT Operations',
      teamsUserId: 'user-id-2', accountEnabled: true,
    },
    {
      id: USER.isaiah, userPrincipalName: 'isaiahl@contoso.example', displayName: 'Isaiah Langer', givenName: 'Isaiah',
      surname: 'Langer', jobTitle: 'Cloud Engineer', department: 'Platform Engineering',
      teamsUserId: 'user-id-3', accountEnabled: true,
    },
    {
      id: USER.patti, userPrincipalName: 'pattif@contoso.example', displayName: 'Patti Fernandez', givenName: 'Patti',
      surname: 'Fernandez', jobTitle: 'Security Analyst', department: 'Security Operations',
      teamsUserId: 'user-id-4', accountEnabled: true,
    },
    {
      id: USER.lynne, userPrincipalName: 'lynner@contoso.example', displayName: 'Lynne Robbins', givenName: 'Lynne',
      surname: 'Robbins', jobTitle: 'Service Desk Analyst', department: 'IT Operations',
      teamsUserId: 'user-id-5', accountEnabled: true,
    },
    {
      // Not shown in the playground (it shows exactly six users): a backup approver for later issues.
      id: USER.diego, userPrincipalName: 'diegos@contoso.example', displayName: 'Diego Siciliani', givenName: 'Diego',
      surname: 'Siciliani', jobTitle: 'CISO', department: 'Security Operations',
      teamsUserId: 'user-id-6', accountEnabled: true,
    },
  ],
  groups: [
    { id: GROUP.secOpsApprovers, displayName: 'PIM Approvers - Security Operations', members: [USER.megan, USER.patti] },
  ],
  roles: [
    {
      id: ROLE.globalAdministrator, templateId: ROLE.globalAdministrator, displayName: 'Global Administrator',
      description: 'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [{ kind: 'singleUser', userId: USER.megan }, { kind: 'singleUser', userId: USER.adele }],
        maximumDuration: 'PT2H',
        enabledRules: ['MultiFactorAuthentication', 'Justification', 'Ticketing'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.isaiah, USER.alex],
    },
    {
      id: ROLE.securityOperator, templateId: ROLE.securityOperator, displayName: 'Security Operator',
      description: 'Creates and manages security events.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [{ kind: 'groupMembers', groupId: GROUP.secOpsApprovers }, { kind: 'singleUser', userId: USER.alex }],
        maximumDuration: 'PT4H',
        enabledRules: ['Justification', 'Ticketing'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.alex, USER.isaiah, USER.lynne],
    },
    {
      id: ROLE.userAdministrator, templateId: ROLE.userAdministrator, displayName: 'User Administrator',
      description: 'Can manage all aspects of users and groups, including resetting passwords for limited admins.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [{ kind: 'singleUser', userId: USER.adele }, { kind: 'singleUser', userId: USER.megan }],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.isaiah, USER.lynne, USER.patti],
    },
    {
      id: ROLE.helpdeskAdministrator, templateId: ROLE.helpdeskAdministrator, displayName: 'Helpdesk Administrator',
      description: 'Can reset passwords for non-administrators and Helpdesk Administrators.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [{ kind: 'singleUser', userId: USER.alex }, { kind: 'singleUser', userId: USER.adele }],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.lynne, USER.patti, USER.isaiah],
    },
  ],
};

/** The bot's app registration in the demo tenant (client id doubles as the Bot Framework app id). */
export const DEMO_BOT_APP = {
  clientId: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  /** Demo-only secret of the simulated tenant; production config refuses to start with it. */
  clientSecret: 'sim-only-secret-not-valid-anywhere-else',
  displayName: 'PIM Approvals Bot (demo)',
} as const;

/** PIM's caller app id as the simulator signs it into `azp`; unverified for real tenants, so configurable. */
export const DEMO_PIM_CALLER_APP_ID = '1c67c054-65c8-4f7f-92a1-eb7ba6e48627';
