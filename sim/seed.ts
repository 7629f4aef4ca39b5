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
  /** Graph `mail`; the UPN when absent. */
  mail?: string;
  /** Graph `employeeLeaveDateTime`: an ISO date, or hours from the simulator clock at request time. */
  employeeLeaveDateTime?: string | { hoursFromNow: number };
}

export interface SeedGroup {
  id: string;
  displayName: string;
  members: string[];
  /** The group's owners (users): they manage its membership, and its PIM assignments. */
  owners?: string[];
  /** Graph's `isAssignableToRole`: Entra roles can be assigned to the group (then Privileged Role Administrators manage it too). */
  isAssignableToRole?: boolean;
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
    /** Escalation approvers of the approval stage (escalation is enabled when there are any). */
    escalationApprovers?: SeedApprover[];
    /**
     * The stage's escalationTimeInMinutes: how long a request waits on the primary approvers before the
     * escalation approvers may decide too. Default 720 when there are escalation approvers.
     */
    escalationTimeInMinutes?: number;
    /** ISO 8601 duration, for example PT8H. */
    maximumDuration: string;
    /** EnablementRule entries for end-user activation. */
    enabledRules: Array<'MultiFactorAuthentication' | 'Justification' | 'Ticketing'>;
    isApproverJustificationRequired: boolean;
    /**
     * A Conditional Access authentication context (for example `c1`) the activation requires: the
     * caller's token must carry it in `acrs`. PIM offers it instead of MultiFactorAuthentication (the
     * two are exclusive in the role settings), so a policy with one should not list the other.
     */
    authenticationContext?: string;
  };
  /** Users who hold an eligible assignment at directory scope. */
  eligible: string[];
  /** Eligible assignments that end: days after the simulator started its clock. Others are permanent. */
  eligibilityEnds?: SeedEligibilityEnd[];
  /**
   * Users (or groups) who hold the role as a permanent active assignment at directory scope, outside PIM's
   * activations: Graph's roleAssignments list them (sim/graph-role-assignments.ts), and PIM's default
   * approvers (Privileged Role Administrators, Global Administrators) are read from them.
   */
  assigned?: string[];
}

/** When one user's eligible assignment ends, in days from the simulator clock at start. */
export interface SeedEligibilityEnd {
  userId: string;
  daysFromNow: number;
}

/** A group onboarded to PIM for Groups: one policy for member and owner activation here. */
export interface SeedPimGroup {
  groupId: string;
  policy: SeedRole['policy'];
  /** Users with an eligible membership or ownership. */
  eligible: { member: string[]; owner: string[] };
  /** Eligible memberships or ownerships that end (accessId absent: both). Others are permanent. */
  eligibilityEnds?: Array<SeedEligibilityEnd & { accessId?: 'member' | 'owner' }>;
}

/** An Azure RBAC role eligible at one ARM scope (PIM for Azure resources). */
export interface SeedAzureRole {
  /** The role definition GUID (built-in roles have fixed ids). */
  id: string;
  displayName: string;
  description: string;
  /** ARM scope of the eligible assignments and the policy, e.g. /subscriptions/{id}. */
  scope: string;
  policy: SeedRole['policy'];
  eligible: string[];
  /** Eligible assignments that end; others are permanent. */
  eligibilityEnds?: SeedEligibilityEnd[];
}

/** An active Azure RBAC role assignment outside PIM (ARM's roleAssignments list it), such as an Owner of a subscription. */
export interface SeedAzureRoleAssignment {
  /** The ARM scope the assignment is made at. */
  scope: string;
  /** The role definition GUID (Owner 8e3af657-a8ff-4c85-8aa3-bc7c1e4b54b8, User Access Administrator 18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d). */
  roleDefinitionId: string;
  principalId: string;
  principalType: 'User' | 'Group';
}

/** An Azure subscription's display name, as ARM's expandedProperties show the scope. */
export interface SeedAzureSubscription {
  subscriptionId: string;
  displayName: string;
}

export interface SeedTenant {
  tenantId: string;
  tenantDisplayName: string;
  users: SeedUser[];
  groups: SeedGroup[];
  roles: SeedRole[];
  /** Groups onboarded to PIM for Groups. */
  pimGroups?: SeedPimGroup[];
  /** Azure resource roles managed by PIM (served under /arm). */
  azureRoles?: SeedAzureRole[];
  /** Display names of the subscriptions the Azure roles live in. */
  azureSubscriptions?: SeedAzureSubscription[];
  /** Active Azure role assignments outside PIM (Owners, User Access Administrators) served by ARM's roleAssignments. */
  azureRoleAssignments?: SeedAzureRoleAssignment[];
  /** Systems of record the decision service checks (ticket systems, on-call, HR data lives on users). */
  integrations?: SeedIntegrations;
  /** Microsoft Entra ID Protection: users with a risk record and their risk detections (sim/graph-identity-protection.ts). */
  identityProtection?: SeedIdentityProtection;
  /** Teams presence at start (sim/graph-presence.ts); users not listed are Available. */
  presence?: SeedPresence[];
}

/** A user's Teams presence as Graph's `presence` resource reports it; changed at run time with POST /_sim/presence. */
export interface SeedPresence {
  userId: string;
  availability: 'Available' | 'AvailableIdle' | 'Away' | 'BeRightBack' | 'Busy' | 'BusyIdle' | 'DoNotDisturb' | 'Offline' | 'PresenceUnknown';
  activity: string;
  /** outOfOfficeSettings: automatic replies on (message) or an out-of-office calendar event. */
  outOfOffice?: { message: string };
}

/** A user ID Protection has rated; users not listed have no record (Graph answers 404 for them). */
export interface SeedRiskyUser {
  userId: string;
  riskLevel: 'low' | 'medium' | 'high' | 'hidden' | 'none';
  riskState: 'atRisk' | 'confirmedCompromised' | 'remediated' | 'dismissed' | 'confirmedSafe' | 'none';
  riskDetail: string;
  /** riskLastUpdatedDateTime, in hours before the simulator clock at request time. */
  updatedHoursAgo: number;
}

export interface SeedRiskDetection {
  id: string;
  userId: string;
  riskEventType: string;
  riskLevel: 'low' | 'medium' | 'high' | 'hidden' | 'none';
  riskState: SeedRiskyUser['riskState'];
  riskDetail: string;
  activity: 'signin' | 'user';
  detectionTimingType: 'realtime' | 'nearRealtime' | 'offline';
  source: string;
  ipAddress: string | null;
  location: { city: string; state: string; countryOrRegion: string } | null;
  /** detectedDateTime, in hours before the simulator clock at request time. */
  detectedHoursAgo: number;
}

export interface SeedIdentityProtection {
  riskyUsers: SeedRiskyUser[];
  riskDetections: SeedRiskDetection[];
}

/** A time relative to the simulator clock at request time, so seeded windows always cover "now". */
export interface RelativeTime {
  hoursFromNow: number;
}

export interface SeedSnowUser {
  sysId: string;
  userName: string;
  email: string;
  name: string;
}

export interface SeedSnowGroup {
  sysId: string;
  name: string;
  /** sys_user sys_ids. */
  members: string[];
}

export interface SeedSnowTicket {
  sysId: string;
  table: 'incident' | 'change_request';
  number: string;
  shortDescription: string;
  /** ServiceNow's choice value and label, e.g. `2`/`In Progress` (incident) or `-1`/`Implement` (change). */
  state: { value: string; label: string };
  /** Incidents: ServiceNow's priority choice value and label, e.g. `1`/`1 - Critical` (break-glass reads it). */
  priority?: { value: string; label: string };
  active: boolean;
  /** sys_user sys_id. */
  assignedTo?: string;
  /** sys_user_group sys_id. */
  assignmentGroup?: string;
  /** Changes: `approved`, `requested`, `not requested`, `rejected`. */
  approval?: string;
  /** Changes: the planned window. */
  plannedStart?: RelativeTime;
  plannedEnd?: RelativeTime;
}

export interface SeedJiraIssue {
  id: string;
  key: string;
  summary: string;
  status: { id: string; name: string; category: 'new' | 'indeterminate' | 'done' };
  /** Entra user id of the assignee (the simulator maps it to an Atlassian account). */
  assignee?: string;
}

export interface SeedPagerDutyOnCall {
  /** PagerDuty user id. */
  userId: string;
  escalationPolicyId: string;
  /** Null when the escalation rule targets the user directly. */
  scheduleId: string | null;
  level: number;
  /** Null start and end: always on call for this rule (PagerDuty answers null). */
  start: RelativeTime | null;
  end: RelativeTime | null;
}

export interface SeedOpsgenieSchedule {
  id: string;
  name: string;
  enabled: boolean;
  /** Shifts; Opsgenie answers the usernames (emails) of whoever covers the asked date. */
  shifts: Array<{ username: string; start: RelativeTime; end: RelativeTime }>;
}

export interface SeedIntegrations {
  serviceNow: { users: SeedSnowUser[]; groups: SeedSnowGroup[]; tickets: SeedSnowTicket[] };
  jira: { issues: SeedJiraIssue[] };
  pagerDuty: {
    users: Array<{ id: string; name: string; email: string }>;
    escalationPolicies: Array<{ id: string; name: string }>;
    schedules: Array<{ id: string; name: string }>;
    oncalls: SeedPagerDutyOnCall[];
  };
  opsgenie: { schedules: SeedOpsgenieSchedule[] };
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
  /** HR signals: leaves the company an hour after the simulator starts its clock. */
  joni: uid(8),
  /** HR signals: account disabled, left three days ago. */
  grady: uid(9),
} as const;

export const GROUP = {
  secOpsApprovers: '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01',
  /** PIM for Groups: membership grants SQL admin rights; activation needs Megan's or Adele's approval. */
  sqlAdmins: '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c10',
  /** The PIM tab's admin dashboard (TAB_ADMIN_GROUP_ID in the demo): Adele only. */
  tabAdmins: '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c20',
} as const;

/** The demo Azure subscription and its PIM-managed role (Contributor's built-in role definition id). */
export const AZURE = {
  subscriptionId: '5ab5c0de-1b2c-4d3e-8f40-5a6b7c8d9e01',
  subscription: '/subscriptions/5ab5c0de-1b2c-4d3e-8f40-5a6b7c8d9e01',
  subscriptionDisplayName: 'Contoso Production',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  /** Built-in Owner and User Access Administrator: who manages role assignments at a scope. */
  owner: '8e3af657-a8ff-4c85-8aa3-bc7c1e4b54b8',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d',
} as const;

export const ROLE = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  securityOperator: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  helpdeskAdministrator: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  /** No approval, justification only: a self-activation is granted at once. */
  reportsReader: '4a5d8f65-41da-4de4-8968-e035b65339cf',
  /** No approval, but the Conditional Access authentication context `c1` is required to activate. */
  exchangeAdministrator: '29232cdf-9323-42fd-ade2-1d097af3e4de',
  /** Approval required, no approvers named: PIM's default approvers (Privileged Role and Global Administrators) decide. */
  authenticationAdministrator: 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  /** Not eligible to anyone: Diego holds it (permanent active), a default approver of Authentication Administrator. */
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
} as const;

export const DEMO_TENANT_ID = 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17';

/** ServiceNow sys_ids (32 hex characters, as ServiceNow makes them). */
export const SNOW = {
  userAlex: '5b7c2f1e9d3a4c6b8e0f1a2b3c4d5e01',
  userIsaiah: '5b7c2f1e9d3a4c6b8e0f1a2b3c4d5e04',
  userPatti: '5b7c2f1e9d3a4c6b8e0f1a2b3c4d5e05',
  userMegan: '5b7c2f1e9d3a4c6b8e0f1a2b3c4d5e02',
  userLynne: '5b7c2f1e9d3a4c6b8e0f1a2b3c4d5e06',
  groupPlatform: '8f3e1d2c4b5a69788796a5b4c3d2e1f1',
  groupSecOps: '8f3e1d2c4b5a69788796a5b4c3d2e1f2',
} as const;

/** Ticket numbers the demo and tests use; what each one is for is in `seedIntegrations` below. */
export const TICKET = {
  /** Incident, In Progress, assigned to Isaiah, group Platform Engineering (Alex is a member). */
  openIncident: 'INC0012345',
  /** Incident, Closed. */
  closedIncident: 'INC0099999',
  /** Incident, In Progress, assigned to the Security Operations group (Patti and Megan). */
  secOpsIncident: 'INC0012777',
  /** Incident, priority 1 (Critical), In Progress, assigned to Alex (on call now): the break-glass demo's P1. */
  p1Incident: 'INC0013001',
  /** Change, approved, Implement, assigned to Alex, planned now-2h .. now+4h. */
  approvedChange: 'CHG0042001',
  /** Change, approved, Scheduled, assigned to the Platform Engineering group only, planned now-1h .. now+6h. */
  groupChange: 'CHG0042002',
  /** Change, approved, Scheduled, assigned to Alex, planned tomorrow (does not cover now). */
  futureChange: 'CHG0042003',
  /** Change, Assess (approval requested), assigned to Alex, planned now-1h .. now+3h. */
  unapprovedChange: 'CHG0042004',
  /** Jira issue In Progress, assigned to Alex. */
  jiraInProgress: 'OPS-1234',
  /** Jira issue Done, assigned to Isaiah. */
  jiraDone: 'OPS-999',
} as const;

export const PAGERDUTY = {
  userAlex: 'PA1EXW1',
  userIsaiah: 'PI5AIAH',
  userMegan: 'PM3GANB',
  policyPlatform: 'PPLTEP1',
  policySecurity: 'PSECEP1',
  schedulePlatformPrimary: 'PPLTPRI',
  scheduleSecurityPrimary: 'PSECPRI',
} as const;

export const OPSGENIE = {
  /** Patti is on call now. */
  scheduleSecOps: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c01',
  /** Nobody from the seed is on call now (Lynne's shift starts in 8 hours). */
  scheduleServiceDesk: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c02',
} as const;

const inHours = (hoursFromNow: number) => ({ hoursFromNow });

/**
 * ID Protection's view of the demo tenant: Patti is at high risk (the demo policy refuses her Helpdesk
 * Administrator activation and sends her User Administrator one to a person), Lynne at medium risk,
 * Megan's earlier risk was remediated and Adele's dismissed (neither counts); everyone else has no record.
 */
export const seedIdentityProtection: SeedIdentityProtection = {
  riskyUsers: [
    { userId: USER.patti, riskLevel: 'high', riskState: 'atRisk', riskDetail: 'none', updatedHoursAgo: 2 },
    { userId: USER.lynne, riskLevel: 'medium', riskState: 'atRisk', riskDetail: 'none', updatedHoursAgo: 26 },
    { userId: USER.megan, riskLevel: 'none', riskState: 'remediated', riskDetail: 'userPerformedSecuredPasswordChange', updatedHoursAgo: 240 },
    { userId: USER.adele, riskLevel: 'none', riskState: 'dismissed', riskDetail: 'adminDismissedAllRiskForUser', updatedHoursAgo: 120 },
  ],
  riskDetections: [
    {
      id: '1f0c0ffee2a14b6c8d9e000000000001',
      userId: USER.patti,
      riskEventType: 'unfamiliarFeatures',
      riskLevel: 'high',
      riskState: 'atRisk',
      riskDetail: 'none',
      activity: 'signin',
      detectionTimingType: 'realtime',
      source: 'IdentityProtection',
      ipAddress: '203.0.113.24',
      location: { city: 'Lagos', state: 'Lagos', countryOrRegion: 'NG' },
      detectedHoursAgo: 2,
    },
    {
      id: '1f0c0ffee2a14b6c8d9e000000000002',
      userId: USER.patti,
      riskEventType: 'anonymizedIPAddress',
      riskLevel: 'medium',
      riskState: 'atRisk',
      riskDetail: 'none',
      activity: 'signin',
      detectionTimingType: 'realtime',
      source: 'IdentityProtection',
      ipAddress: '198.51.100.7',
      location: { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL' },
      detectedHoursAgo: 5,
    },
    {
      id: '1f0c0ffee2a14b6c8d9e000000000003',
      userId: USER.patti,
      riskEventType: 'leakedCredentials',
      riskLevel: 'high',
      riskState: 'atRisk',
      riskDetail: 'none',
      activity: 'user',
      detectionTimingType: 'offline',
      source: 'IdentityProtection',
      ipAddress: null,
      location: null,
      detectedHoursAgo: 30,
    },
    {
      id: '1f0c0ffee2a14b6c8d9e000000000004',
      userId: USER.patti,
      riskEventType: 'unlikelyTravel',
      riskLevel: 'low',
      riskState: 'dismissed',
      riskDetail: 'adminDismissedAllRiskForUser',
      activity: 'signin',
      detectionTimingType: 'offline',
      source: 'IdentityProtection',
      ipAddress: '192.0.2.10',
      location: { city: 'Seattle', state: 'Washington', countryOrRegion: 'US' },
      detectedHoursAgo: 400,
    },
    {
      id: '1f0c0ffee2a14b6c8d9e000000000005',
      userId: USER.lynne,
      riskEventType: 'unlikelyTravel',
      riskLevel: 'medium',
      riskState: 'atRisk',
      riskDetail: 'none',
      activity: 'signin',
      detectionTimingType: 'offline',
      source: 'IdentityProtection',
      ipAddress: '203.0.113.90',
      location: { city: 'São Paulo', state: 'São Paulo', countryOrRegion: 'BR' },
      detectedHoursAgo: 26,
    },
    {
      id: '1f0c0ffee2a14b6c8d9e000000000006',
      userId: USER.megan,
      riskEventType: 'passwordSpray',
      riskLevel: 'high',
      riskState: 'remediated',
      riskDetail: 'userPerformedSecuredPasswordChange',
      activity: 'signin',
      detectionTimingType: 'offline',
      source: 'IdentityProtection',
      ipAddress: '198.51.100.200',
      location: { city: 'Frankfurt', state: 'Hesse', countryOrRegion: 'DE' },
      detectedHoursAgo: 250,
    },
  ],
};

/**
 * Teams presence at start, a working day's variety: the User Administrator approvers can act (Adele
 * available, Megan in a meeting), Security Operator's approvers are Alex (available), Megan (busy) and
 * Patti (out of office), so a nudge there mentions Alex then Megan and names Patti. The demo sets Adele and
 * Megan away to watch a User Administrator request escalate early to Alex.
 */
export const seedPresence: SeedPresence[] = [
  { userId: USER.alex, availability: 'Available', activity: 'Available' },
  { userId: USER.megan, availability: 'Busy', activity: 'InAMeeting' },
  { userId: USER.adele, availability: 'Available', activity: 'Available' },
  { userId: USER.isaiah, availability: 'AvailableIdle', activity: 'Inactive' },
  {
    userId: USER.patti,
    availability: 'Offline',
    activity: 'OffWork',
    outOfOffice: { message: 'On leave, back on Monday. For urgent security matters contact Megan Bowen.' },
  },
  { userId: USER.lynne, availability: 'BeRightBack', activity: 'BeRightBack' },
  { userId: USER.diego, availability: 'DoNotDisturb', activity: 'Presenting' },
  { userId: USER.joni, availability: 'Away', activity: 'Away' },
  { userId: USER.grady, availability: 'PresenceUnknown', activity: 'PresenceUnknown' },
];

export const seedIntegrations: SeedIntegrations = {
  serviceNow: {
    users: [
      { sysId: SNOW.userAlex, userName: 'alexw@contoso.example', email: 'alexw@contoso.example', name: 'Alex Wilber' },
      { sysId: SNOW.userIsaiah, userName: 'isaiahl@contoso.example', email: 'isaiahl@contoso.example', name: 'Isaiah Langer' },
      // Patti's ServiceNow user_name is not her UPN: the adapter matches her by email.
      { sysId: SNOW.userPatti, userName: 'patti.fernandez', email: 'pattif@contoso.example', name: 'Patti Fernandez' },
      { sysId: SNOW.userMegan, userName: 'meganb@contoso.example', email: 'meganb@contoso.example', name: 'Megan Bowen' },
      { sysId: SNOW.userLynne, userName: 'lynner@contoso.example', email: 'lynner@contoso.example', name: 'Lynne Robbins' },
    ],
    groups: [
      { sysId: SNOW.groupPlatform, name: 'Platform Engineering', members: [SNOW.userAlex, SNOW.userIsaiah] },
      { sysId: SNOW.groupSecOps, name: 'Security Operations', members: [SNOW.userPatti, SNOW.userMegan] },
    ],
    tickets: [
      {
        sysId: 'a1c0ffee000400080000000000012345',
        table: 'incident',
        number: TICKET.openIncident,
        shortDescription: 'Payroll API returns 500 for EU tenants',
        state: { value: '2', label: 'In Progress' },
        active: true,
        priority: { value: '3', label: '3 - Moderate' },
        assignedTo: SNOW.userIsaiah,
        assignmentGroup: SNOW.groupPlatform,
      },
      {
        sysId: 'a1c0ffee000400080000000000013001',
        table: 'incident',
        number: TICKET.p1Incident,
        shortDescription: 'Sign-in outage: conditional access blocks every admin',
        state: { value: '2', label: 'In Progress' },
        priority: { value: '1', label: '1 - Critical' },
        active: true,
        assignedTo: SNOW.userAlex,
        assignmentGroup: SNOW.groupPlatform,
      },
      {
        sysId: 'a1c0ffee000400080000000000099999',
        table: 'incident',
        number: TICKET.closedIncident,
        shortDescription: 'VPN certificate expired',
        state: { value: '7', label: 'Closed' },
        active: false,
        assignedTo: SNOW.userAlex,
        assignmentGroup: SNOW.groupPlatform,
      },
      {
        sysId: 'a1c0ffee000400080000000000012777',
        table: 'incident',
        number: TICKET.secOpsIncident,
        shortDescription: 'Suspicious sign-ins from an unfamiliar location',
        state: { value: '2', label: 'In Progress' },
        active: true,
        assignmentGroup: SNOW.groupSecOps,
      },
      {
        sysId: 'c4a0ffee000400080000000000042001',
        table: 'change_request',
        number: TICKET.approvedChange,
        shortDescription: 'Rotate payroll signing certificate',
        state: { value: '-1', label: 'Implement' },
        active: true,
        assignedTo: SNOW.userAlex,
        assignmentGroup: SNOW.groupPlatform,
        approval: 'approved',
        plannedStart: inHours(-2),
        plannedEnd: inHours(4),
      },
      {
        sysId: 'c4a0ffee000400080000000000042002',
        table: 'change_request',
        number: TICKET.groupChange,
        shortDescription: 'Patch Kubernetes node pools',
        state: { value: '-2', label: 'Scheduled' },
        active: true,
        assignmentGroup: SNOW.groupPlatform,
        approval: 'approved',
        plannedStart: inHours(-1),
        plannedEnd: inHours(6),
      },
      {
        sysId: 'c4a0ffee000400080000000000042003',
        table: 'change_request',
        number: TICKET.futureChange,
        shortDescription: 'Migrate DNS zones to the new resolver',
        state: { value: '-2', label: 'Scheduled' },
        active: true,
        assignedTo: SNOW.userAlex,
        assignmentGroup: SNOW.groupPlatform,
        approval: 'approved',
        plannedStart: inHours(24),
        plannedEnd: inHours(28),
      },
      {
        sysId: 'c4a0ffee000400080000000000042004',
        table: 'change_request',
        number: TICKET.unapprovedChange,
        shortDescription: 'Widen firewall rule for the billing API',
        state: { value: '-4', label: 'Assess' },
        active: true,
        assignedTo: SNOW.userAlex,
        assignmentGroup: SNOW.groupPlatform,
        approval: 'requested',
        plannedStart: inHours(-1),
        plannedEnd: inHours(3),
      },
    ],
  },
  jira: {
    issues: [
      {
        id: '10234',
        key: TICKET.jiraInProgress,
        summary: 'Failover drill for the payroll database',
        status: { id: '3', name: 'In Progress', category: 'indeterminate' },
        assignee: USER.alex,
      },
      {
        id: '10099',
        key: TICKET.jiraDone,
        summary: 'Decommission the legacy VPN concentrator',
        status: { id: '10001', name: 'Done', category: 'done' },
        assignee: USER.isaiah,
      },
    ],
  },
  pagerDuty: {
    users: [
      { id: PAGERDUTY.userAlex, name: 'Alex Wilber', email: 'alexw@contoso.example' },
      { id: PAGERDUTY.userIsaiah, name: 'Isaiah Langer', email: 'isaiahl@contoso.example' },
      { id: PAGERDUTY.userMegan, name: 'Megan Bowen', email: 'meganb@contoso.example' },
    ],
    escalationPolicies: [
      { id: PAGERDUTY.policyPlatform, name: 'Platform escalation' },
      { id: PAGERDUTY.policySecurity, name: 'Security escalation' },
    ],
    schedules: [
      { id: PAGERDUTY.schedulePlatformPrimary, name: 'Platform primary' },
      { id: PAGERDUTY.scheduleSecurityPrimary, name: 'Security primary' },
    ],
    oncalls: [
      {
        userId: PAGERDUTY.userAlex,
        escalationPolicyId: PAGERDUTY.policyPlatform,
        scheduleId: PAGERDUTY.schedulePlatformPrimary,
        level: 1,
        start: inHours(-3),
        end: inHours(5),
      },
      {
        userId: PAGERDUTY.userIsaiah,
        escalationPolicyId: PAGERDUTY.policyPlatform,
        scheduleId: PAGERDUTY.schedulePlatformPrimary,
        level: 1,
        start: inHours(5),
        end: inHours(13),
      },
      // On call now, but for another escalation policy: filtered out when only Platform is configured.
      {
        userId: PAGERDUTY.userMegan,
        escalationPolicyId: PAGERDUTY.policySecurity,
        scheduleId: PAGERDUTY.scheduleSecurityPrimary,
        level: 1,
        start: inHours(-1),
        end: inHours(7),
      },
    ],
  },
  opsgenie: {
    schedules: [
      {
        id: OPSGENIE.scheduleSecOps,
        name: 'SecOps',
        enabled: true,
        shifts: [
          { username: 'pattif@contoso.example', start: inHours(-4), end: inHours(8) },
          { username: 'meganb@contoso.example', start: inHours(8), end: inHours(20) },
        ],
      },
      {
        id: OPSGENIE.scheduleServiceDesk,
        name: 'Service Desk',
        enabled: true,
        shifts: [{ username: 'lynner@contoso.example', start: inHours(8), end: inHours(16) }],
      },
    ],
  },
};

/**
 * Demo-only credentials of the simulated systems of record; the adapters are configured with these
 * in the demo and the tests. Anything else gets each API's 401.
 */
export const DEMO_INTEGRATION_CREDENTIALS = {
  serviceNow: { username: 'pim.integration', password: 'sim-only-servicenow-password', bearerToken: 'sim-only-servicenow-oauth-token' },
  jira: { email: 'pim-bot@contoso.example', apiToken: 'sim-only-jira-api-token' },
  pagerDuty: { apiKey: 'sim-only-pagerduty-key' },
  opsgenie: { apiKey: 'sim-only-opsgenie-key' },
} as const;

export const seedTenant: SeedTenant = {
  tenantId: DEMO_TENANT_ID,
  tenantDisplayName: 'Contoso (simulated)',
  users: [
    {
      id: USER.alex,
      userPrincipalName: 'alexw@contoso.example',
      displayName: 'Alex Wilber',
      givenName: 'Alex',
      surname: 'Wilber',
      jobTitle: 'Site Reliability Engineer',
      department: 'Platform Engineering',
      teamsUserId: 'user-id-0',
      accountEnabled: true,
    },
    {
      id: USER.megan,
      userPrincipalName: 'meganb@contoso.example',
      displayName: 'Megan Bowen',
      givenName: 'Megan',
      surname: 'Bowen',
      jobTitle: 'Security Lead',
      department: 'Security Operations',
      teamsUserId: 'user-id-1',
      accountEnabled: true,
    },
    {
      id: USER.adele,
      userPrincipalName: 'adelev@contoso.example',
      displayName: 'Adele Vance',
      givenName: 'Adele',
      surname: 'Vance',
      jobTitle: 'IT Operations Manager',
      department: 'IT Operations',
      teamsUserId: 'user-id-2',
      accountEnabled: true,
    },
    {
      id: USER.isaiah,
      userPrincipalName: 'isaiahl@contoso.example',
      displayName: 'Isaiah Langer',
      givenName: 'Isaiah',
      surname: 'Langer',
      jobTitle: 'Cloud Engineer',
      department: 'Platform Engineering',
      teamsUserId: 'user-id-3',
      accountEnabled: true,
    },
    {
      id: USER.patti,
      userPrincipalName: 'pattif@contoso.example',
      displayName: 'Patti Fernandez',
      givenName: 'Patti',
      surname: 'Fernandez',
      jobTitle: 'Security Analyst',
      department: 'Security Operations',
      teamsUserId: 'user-id-4',
      accountEnabled: true,
    },
    {
      id: USER.lynne,
      userPrincipalName: 'lynner@contoso.example',
      displayName: 'Lynne Robbins',
      givenName: 'Lynne',
      surname: 'Robbins',
      jobTitle: 'Service Desk Analyst',
      department: 'IT Operations',
      teamsUserId: 'user-id-5',
      accountEnabled: true,
    },
    {
      // Not shown in the playground (it shows exactly six users): a backup approver for later issues.
      id: USER.diego,
      userPrincipalName: 'diegos@contoso.example',
      displayName: 'Diego Siciliani',
      givenName: 'Diego',
      surname: 'Siciliani',
      jobTitle: 'CISO',
      department: 'Security Operations',
      teamsUserId: 'user-id-6',
      accountEnabled: true,
    },
    {
      // Not in the playground: the HR check's leaver (employeeLeaveDateTime one hour after "now").
      id: USER.joni,
      userPrincipalName: 'jonis@contoso.example',
      displayName: 'Joni Sherman',
      givenName: 'Joni',
      surname: 'Sherman',
      jobTitle: 'Network Engineer',
      department: 'Platform Engineering',
      teamsUserId: 'user-id-7',
      accountEnabled: true,
      employeeLeaveDateTime: { hoursFromNow: 1 },
    },
    {
      // Not in the playground: the HR check's disabled account (left three days ago).
      id: USER.grady,
      userPrincipalName: 'gradya@contoso.example',
      displayName: 'Grady Archie',
      givenName: 'Grady',
      surname: 'Archie',
      jobTitle: 'Database Administrator',
      department: 'IT Operations',
      teamsUserId: 'user-id-8',
      accountEnabled: false,
      employeeLeaveDateTime: { hoursFromNow: -72 },
    },
  ],
  groups: [
    { id: GROUP.secOpsApprovers, displayName: 'PIM Approvers - Security Operations', members: [USER.megan, USER.patti] },
    { id: GROUP.sqlAdmins, displayName: 'SQL Admins', members: [], owners: [USER.megan] },
    { id: GROUP.tabAdmins, displayName: 'PIM dashboard admins', members: [USER.adele] },
  ],
  pimGroups: [
    {
      groupId: GROUP.sqlAdmins,
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.megan },
          { kind: 'singleUser', userId: USER.adele },
        ],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      // Megan is an approver and also eligible: the self-approval case.
      eligible: { member: [USER.isaiah, USER.lynne, USER.megan, USER.alex, USER.patti], owner: [USER.adele] },
      // PIM for Groups has no self-extension: Alex's digest Extend asks the group's owners and the admins.
      // Patti's membership expired five days ago: no selfRenew for groups either, so her Renew asks them too.
      eligibilityEnds: [
        { userId: USER.alex, daysFromNow: 12, accessId: 'member' },
        { userId: USER.patti, daysFromNow: -5, accessId: 'member' },
      ],
    },
  ],
  azureRoles: [
    {
      id: AZURE.contributor,
      displayName: 'Contributor',
      scope: AZURE.subscription,
      description: 'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.megan },
          { kind: 'singleUser', userId: USER.adele },
        ],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.isaiah, USER.adele, USER.alex],
      // Isaiah's eligibility ends within PIM's 14-day extension window: SelfExtend works for him.
      eligibilityEnds: [{ userId: USER.isaiah, daysFromNow: 7 }],
    },
  ],
  azureSubscriptions: [{ subscriptionId: AZURE.subscriptionId, displayName: AZURE.subscriptionDisplayName }],
  // The subscription's Owner (outside PIM): who manages its role assignments.
  azureRoleAssignments: [{ scope: AZURE.subscription, roleDefinitionId: AZURE.owner, principalId: USER.diego, principalType: 'User' }],
  roles: [
    {
      id: ROLE.globalAdministrator,
      templateId: ROLE.globalAdministrator,
      displayName: 'Global Administrator',
      description: 'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.megan },
          { kind: 'singleUser', userId: USER.adele },
        ],
        maximumDuration: 'PT2H',
        enabledRules: ['MultiFactorAuthentication', 'Justification', 'Ticketing'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.isaiah, USER.alex],
      // The tenant's standing Global Administrator: one of PIM's default approvers.
      assigned: [USER.adele],
    },
    {
      id: ROLE.securityOperator,
      templateId: ROLE.securityOperator,
      displayName: 'Security Operator',
      description: 'Creates and manages security events.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'groupMembers', groupId: GROUP.secOpsApprovers },
          { kind: 'singleUser', userId: USER.alex },
        ],
        maximumDuration: 'PT4H',
        enabledRules: ['Justification', 'Ticketing'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.alex, USER.isaiah, USER.lynne],
      eligibilityEnds: [{ userId: USER.alex, daysFromNow: 9 }],
    },
    {
      id: ROLE.userAdministrator,
      templateId: ROLE.userAdministrator,
      displayName: 'User Administrator',
      description: 'Can manage all aspects of users and groups, including resetting passwords for limited admins.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.adele },
          { kind: 'singleUser', userId: USER.megan },
        ],
        // Who is asked when the approvers do not answer in time.
        escalationApprovers: [{ kind: 'singleUser', userId: USER.alex }],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.isaiah, USER.lynne, USER.patti],
      // Outside the 14-day extension window until the clock moves 26 days on.
      eligibilityEnds: [{ userId: USER.patti, daysFromNow: 40 }],
    },
    {
      id: ROLE.helpdeskAdministrator,
      templateId: ROLE.helpdeskAdministrator,
      displayName: 'Helpdesk Administrator',
      description: 'Can reset passwords for non-administrators and Helpdesk Administrators.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [
          { kind: 'singleUser', userId: USER.alex },
          { kind: 'singleUser', userId: USER.adele },
        ],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.lynne, USER.patti, USER.isaiah],
      eligibilityEnds: [{ userId: USER.lynne, daysFromNow: 10 }],
    },
    {
      id: ROLE.reportsReader,
      templateId: ROLE.reportsReader,
      displayName: 'Reports Reader',
      description: 'Can read sign-in and audit reports.',
      policy: {
        isApprovalRequired: false,
        primaryApprovers: [],
        maximumDuration: 'PT8H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: false,
      },
      eligible: [USER.alex, USER.lynne, USER.patti],
    },
    {
      id: ROLE.exchangeAdministrator,
      templateId: ROLE.exchangeAdministrator,
      displayName: 'Exchange Administrator',
      description: 'Can manage all aspects of the Exchange product.',
      policy: {
        isApprovalRequired: false,
        primaryApprovers: [],
        maximumDuration: 'PT4H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: false,
        authenticationContext: 'c1',
      },
      eligible: [USER.alex, USER.isaiah, USER.patti],
      // Patti's eligibility expired three days ago: PIM keeps it for 30 days, and she can ask to renew it (selfRenew).
      eligibilityEnds: [{ userId: USER.patti, daysFromNow: -3 }],
    },
    {
      id: ROLE.authenticationAdministrator,
      templateId: ROLE.authenticationAdministrator,
      displayName: 'Authentication Administrator',
      description: 'Can access to view, set and reset authentication method information for any non-admin user.',
      policy: {
        // Approval required and nobody named: PIM's default approvers, the Privileged Role Administrators and
        // Global Administrators (Diego and Adele), decide.
        isApprovalRequired: true,
        primaryApprovers: [],
        maximumDuration: 'PT4H',
        enabledRules: ['Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [USER.lynne],
    },
    {
      id: ROLE.privilegedRoleAdministrator,
      templateId: ROLE.privilegedRoleAdministrator,
      displayName: 'Privileged Role Administrator',
      description: 'Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.',
      policy: {
        isApprovalRequired: true,
        primaryApprovers: [{ kind: 'singleUser', userId: USER.adele }],
        maximumDuration: 'PT2H',
        enabledRules: ['MultiFactorAuthentication', 'Justification'],
        isApproverJustificationRequired: true,
      },
      eligible: [],
      assigned: [USER.diego],
    },
  ],
  integrations: seedIntegrations,
  identityProtection: seedIdentityProtection,
  presence: seedPresence,
};

/** The bot's app registration in the demo tenant (client id doubles as the Bot Framework app id). */
export const DEMO_BOT_APP = {
  clientId: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  /** Demo-only secret of the simulated tenant; production config refuses to start with it. */
  clientSecret: 'sim-only-secret-not-valid-anywhere-else',
  displayName: 'PIM Approvals Bot (demo)',
} as const;

/**
 * The PIM tab's sign-in outside Teams (the demo's browser, the browser tests): a public single-page app
 * registration (no secret; authorization code with PKCE, tokens redeemed cross-origin) asking for the bot's
 * SSO scope, so its access token is the one Teams SSO would hand the tab. Its redirect URIs are loopback
 * origins with path /tab/; the simulator accepts them on any port (Entra ignores the port of loopback
 * redirect URIs, and the demo's bot port varies), every other redirect URI must match exactly.
 */
export const DEMO_TAB_APP = {
  clientId: '7ab5e1c0-3d2f-4b8a-9c61-0e5f2a7d4b93',
  displayName: 'PIM tab (demo)',
  spaRedirectUris: ['http://127.0.0.1/tab/', 'http://localhost/tab/', 'http://[::1]/tab/'],
} as const;

/** PIM's caller app id as the simulator signs it into `azp`; unverified for real tenants, so configurable. */
export const DEMO_PIM_CALLER_APP_ID = '1c67c054-65c8-4f7f-92a1-eb7ba6e48627';
