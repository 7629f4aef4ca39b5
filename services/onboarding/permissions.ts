/**
 * Every permission the bot's app registration asks for, in one list. `npm run onboard` builds the
 * registration's `requiredResourceAccess` from it and docs/permissions.md is generated from it
 * (`renderPermissionsMarkdown`; a test fails when the file is stale).
 *
 * Ids are the permission GUIDs Microsoft Graph (and Azure Service Management) publish on their
 * service principals: an app role id for application permissions, an oauth2PermissionScope id for
 * delegated ones. The same name has different ids in the two kinds.
 */

export const GRAPH_RESOURCE_APP_ID = '00000003-0000-0000-c000-000000000000';
/** Azure Service Management (management.azure.com): PIM for Azure resources. */
export const ARM_RESOURCE_APP_ID = '797f4846-ba00-4fd7-ba43-dac1f8f63013';

export type PermissionKind = 'application' | 'delegated';

export interface BotPermission {
  resource: 'Microsoft Graph' | 'Azure Service Management';
  name: string;
  kind: PermissionKind;
  id: string;
  /** What the bot does with it (the docs table's last column). */
  why: string;
}

export const BOT_PERMISSIONS: readonly BotPermission[] = [
  // --- application (the bot's own identity: reads, digests, reaching users) -----------------------
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'User.Read.All',
    id: 'df021288-bdef-4463-88db-98f22de89214',
    why: 'Requester and approver profiles on cards; HR signals (accountEnabled, employeeLeaveDateTime) for the decision endpoint; user names in the PIM tab assignments export',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'GroupMember.Read.All',
    id: '98830695-27a2-44f7-8c18-0c3ebc9698f6',
    why: 'Expanding approver groups and PIM for Groups owners to find who may decide; the PIM tab admin check (checkMemberGroups on TAB_ADMIN_GROUP_ID)',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'RoleManagement.Read.Directory',
    id: '483bed4a-2ad3-4361-a73b-c83ccdbdc53c',
    why: "Role definitions (names on cards, role lookups in chat commands); who holds Privileged Role Administrator and Global Administrator (PIM's default approvers, and who administers a role)",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'RoleManagementPolicy.Read.Directory',
    id: 'fdc4c997-9942-4479-bfcb-75a36d1138df',
    why: 'Role policies: approvers, maximum duration, MFA/ticket/justification rules shown before a request',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'RoleAssignmentSchedule.Read.Directory',
    id: 'd5fe8ce8-684c-4c83-a52c-46e882ce4be1',
    why: 'Reconciler and digests: pending requests, active assignments, activation history',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'RoleEligibilitySchedule.Read.Directory',
    id: 'ff278e11-4a33-4d0c-83d2-d01dc58929a5',
    why: 'Digests: eligible assignments that expire within 14 days or are dormant',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'PrivilegedAssignmentSchedule.Read.AzureADGroup',
    id: 'cd4161cb-f098-48f8-a884-1eda9a42434c',
    why: 'PIM for Groups: pending requests and active memberships (reconciler, digests)',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'PrivilegedEligibilitySchedule.Read.AzureADGroup',
    id: 'edb419d6-7edc-42a3-9345-509bfdf5d87c',
    why: 'PIM for Groups: eligible memberships for the digests',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'RoleManagementPolicy.Read.AzureADGroup',
    id: '69e67828-780e-47fd-b28c-7b27d14864e6',
    why: 'PIM for Groups: group policies (approvers, durations)',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'MailboxSettings.Read',
    id: '40f97065-369a-49f4-947c-6a255697ae91',
    why: "Users' time zones: digests at their morning, quiet hours, and times in the messages the bot writes them (without it: `DEFAULT_TIME_ZONE`)",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'TeamsAppInstallation.ReadWriteSelfForUser.All',
    id: '908de74d-f8b2-4d6b-a9ed-2a17b3b78179',
    why: 'Installing the bot for a user it has no chat with, and reading that 1:1 chat id',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'TeamsActivity.Send',
    id: 'a267235f-af13-44dc-8385-c1dc93023186',
    why: 'Activity feed notification when the app cannot be installed for a user',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'AppCatalog.Read.All',
    id: 'e12dae10-5a57-4817-b79d-dfbec5348930',
    why: "Finding the Teams app's catalog id from its manifest id",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'IdentityRiskyUser.Read.All',
    id: 'dc5007c0-2d7d-4c42-879c-2dab87571379',
    why: "Risk signals: the requester's Entra ID Protection user risk, for the decision endpoint and the card",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'IdentityRiskEvent.Read.All',
    id: '6e472fd1-ad78-48da-a0f0-97ab2c6b769e',
    why: "Risk signals: the requester's recent risk detections",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'application',
    name: 'Presence.Read.All',
    id: 'a70e0c2d-e793-494c-94c4-118fa0a67f42',
    why: 'Teams presence of approvers, to route and escalate to someone who is available',
  },
  // --- delegated (as the signed-in approver or requester, through SSO and on-behalf-of) ----------
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'User.Read',
    id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d',
    why: "Sign-in (Teams SSO) and the signed-in user's own profile",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'RoleAssignmentSchedule.ReadWrite.Directory',
    id: '8c026be3-8e26-4774-9372-8d5d6f21daff',
    why: 'Approving or denying as the approver (PIM refuses service principals); self-activation, extension and cancel by chat',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup',
    id: '06dbc45d-6708-4ef0-a797-f797ee68bf4b',
    why: 'PIM for Groups: approving as the approver, activating a membership by chat',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'PrivilegedEligibilitySchedule.Read.AzureADGroup',
    id: '8f44f93d-ecef-46ae-a9bf-338508d44d6b',
    why: "PIM for Groups: the signed-in user's eligible groups in chat",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'RoleManagement.Read.Directory',
    id: '741c54c3-0c1e-44a1-818b-3f97ab4e8c83',
    why: 'Role names in chat self-service',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'RoleEligibilitySchedule.Read.Directory',
    id: 'eb0788c2-6d4e-4658-8c9e-c0fb8053f03d',
    why: "The signed-in user's eligible roles in chat",
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'RoleManagementPolicy.Read.Directory',
    id: '3de2cdbe-0ff5-47d5-bdee-7f45b4749ead',
    why: 'Policy-aware prompts in chat (maximum duration, ticket and justification rules)',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'RoleEligibilitySchedule.ReadWrite.Directory',
    id: '62ade113-f8e0-4bf9-a6ba-5acb31db32fd',
    why: 'Extending or renewing an eligible role assignment as the administrator who decides it on the card (adminExtend, adminRenew)',
  },
  {
    resource: 'Microsoft Graph',
    kind: 'delegated',
    name: 'PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup',
    id: 'ba974594-d163-484e-ba39-c330d5897667',
    why: "PIM for Groups: extending or renewing an eligible membership or ownership as the group's administrator",
  },
  {
    resource: 'Azure Service Management',
    kind: 'delegated',
    name: 'user_impersonation',
    id: '41094075-9dad-400e-a0bd-54e686782033',
    why: 'PIM for Azure resources: approving as the approver through Azure Resource Manager',
  },
];

/**
 * What the admin who runs `npm run onboard` consents to for the sign-in (delegated, on the Microsoft
 * Graph Command Line Tools client). These are not added to the bot's registration.
 */
export const ONBOARDING_ADMIN_SCOPES: ReadonlyArray<{ name: string; why: string }> = [
  { name: 'Application.ReadWrite.All', why: 'Create or update the app registration and its service principal, add the client secret or certificate' },
  { name: 'RoleManagement.Read.Directory', why: 'Resolve the role names given in --roles to role definitions' },
  { name: 'PrivilegedAccess-CustomExt.ReadWrite.All', why: 'Create or update the PIM custom extension (least privilege documented for that API)' },
  { name: 'RoleManagementPolicy.ReadWrite.Directory', why: "Read the roles' PIM policies and link the custom extension rule" },
];

/**
 * Resource-specific consent permissions the Teams app manifest asks for (`authorization.permissions.resourceSpecific`):
 * granted per team or chat when the app is added there, not on the app registration.
 */
export const RSC_PERMISSIONS: ReadonlyArray<{ name: string; type: 'Application'; why: string }> = [
  {
    name: 'ChannelMessage.Read.Group',
    type: 'Application',
    why: "Reading back the bot's own recent posts in an approver channel when Teams' answer to a post was lost, so the card is never posted twice (needs the channel's teamId in APPROVER_CHANNELS)",
  },
  { name: 'ChatMessage.Read.Chat', type: 'Application', why: "The same for messages to a user's personal chat with the bot (request notices)" },
];

/** `requiredResourceAccess` as the application resource takes it, one entry per resource app. */
export function requiredResourceAccess(
  perms: readonly BotPermission[] = BOT_PERMISSIONS,
): Array<{ resourceAppId: string; resourceAccess: Array<{ id: string; type: 'Role' | 'Scope' }> }> {
  const byResource = new Map<string, Array<{ id: string; type: 'Role' | 'Scope' }>>();
  for (const p of perms) {
    const appId = p.resource === 'Microsoft Graph' ? GRAPH_RESOURCE_APP_ID : ARM_RESOURCE_APP_ID;
    const list = byResource.get(appId) ?? [];
    list.push({ id: p.id, type: p.kind === 'application' ? 'Role' : 'Scope' });
    byResource.set(appId, list);
  }
  return [...byResource.entries()].map(([resourceAppId, resourceAccess]) => ({ resourceAppId, resourceAccess }));
}

/** The body of docs/permissions.md. */
export function renderPermissionsMarkdown(): string {
  const row = (p: BotPermission) => `| \`${p.name}\` | ${p.resource} | ${p.kind} | \`${p.id}\` | ${p.why} |`;
  const head = '| Permission | API | Type | Id | Why |\n|---|---|---|---|---|';
  return [
    '# Permissions',
    '',
    '<!-- Generated from services/onboarding/permissions.ts by `npx tsx scripts/onboard/permissions-doc.ts`; do not edit by hand. -->',
    '',
    "`npm run onboard` puts these on the bot's app registration (`requiredResourceAccess`). Application",
    'permissions and the admin-restricted delegated ones take effect after an administrator grants consent',
    '(the command prints the admin-consent link).',
    '',
    "## Application permissions (the bot's own identity)",
    '',
    head,
    ...BOT_PERMISSIONS.filter((p) => p.kind === 'application').map(row),
    '',
    '## Delegated permissions (as the signed-in user, through Teams SSO and on-behalf-of)',
    '',
    'PIM accepts approvals only from people, never from service principals, so every decision is',
    "recorded with the approver's own delegated token.",
    '',
    head,
    ...BOT_PERMISSIONS.filter((p) => p.kind === 'delegated').map(row),
    '',
    '## Resource-specific consent (in the Teams app manifest)',
    '',
    'The Teams app asks for these when it is added to a team or chat (`authorization.permissions.resourceSpecific`',
    'in appPackage/manifest.template.json); they apply to that team or chat only and are not on the app registration.',
    '',
    '| Permission | Type | Why |',
    '|---|---|---|',
    ...RSC_PERMISSIONS.map((p) => `| \`${p.name}\` | ${p.type} | ${p.why} |`),
    '',
    '## What the administrator consents to when running `npm run onboard`',
    '',
    'The command signs the administrator in with the device code flow on the Microsoft Graph Command Line',
    "Tools client and asks for these delegated scopes only; they are not added to the bot's registration.",
    'Creating the custom extension and linking it to role policies also needs the Privileged Role',
    'Administrator role (or Global Administrator).',
    '',
    '| Scope | Why |',
    '|---|---|',
    ...ONBOARDING_ADMIN_SCOPES.map((s) => `| \`${s.name}\` | ${s.why} |`),
    '',
  ].join('\n');
}
