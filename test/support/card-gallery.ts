/**
 * Every Adaptive Card the bot sends, in every state worth looking at, built through the bot's own renderers
 * (never hand-written JSON): the approval card through `approvalCardRenderers` from request rows, as each
 * kind of viewer gets it (`viewFor`), the summary card, the chat cards and the digests. Used by
 * test/browser/card-themes.test.ts (contrast, fold, screenshots in Teams' light, dark and high-contrast hosts).
 */
import type { AdaptiveCardJson } from '../../cards/adaptive-card';
import { approvalCardRenderers, viewFor } from '../../cards/approval-view';
import {
  renderActivationForm,
  renderCancelChooser,
  renderEndingSoon,
  renderHelpCard,
  renderNoticeCard,
  renderRequestStatus,
  renderRoleChooser,
  withStatusNote,
  type ActivationFormData,
  type RequestState,
  type RequestStatusData,
} from '../../cards/chat';
import { renderAdminAskCard, renderAdminDigestCards, renderUserDigestCard } from '../../cards/digest';
import { type ExtensionCardData, renderExtensionCard } from '../../cards/extension';
import { renderBreakGlassCard, renderEmergencyNoteCard, renderEmergencyReviewCard } from '../../cards/emergency/emergency-cards';
import type { ApprovalCheckLine } from '../../services/approvals/check-lines';
import type { RequestDisplay, RequesterSignals } from '../../services/approvals/request-display';
import type { AdminDigest, SpotAuditEntry } from '../../services/digests/admin-digest';
import type { UserDigest } from '../../services/digests/user-digest';
import type { ApprovalRequestRow } from '../../services/store/store';

export interface GalleryCard {
  /** `<card>-<state>`: the screenshot's file name without the theme. */
  name: string;
  card: AdaptiveCardJson;
}

/** The approver's pending card with every block an approver can get: the worst realistic case for the fold. */
export const APPROVER_WORST_CASE = 'approval-approver-pending-signals';

export const GALLERY_NOW = new Date('2026-03-02T08:10:00Z');

// --- Approval card: request rows as the store keeps them -------------------------------------------------

const APPROVER = 'adele-oid';
const REQUESTER = 'patti-oid';
const OBSERVER = 'lee-oid';

const CHECK_LINES: ApprovalCheckLine[] = [
  { name: 'ticket', result: 'pass', onFail: 'deny', summary: 'INC0012345 is open and assigned to the Identity team (ServiceNow)' },
  { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now (PagerDuty: no current shift)' },
  { name: 'justification', result: 'pass', onFail: 'review', summary: 'Readable justification citing INC0012345' },
];

const WORST_CHECK_LINES: ApprovalCheckLine[] = [
  { name: 'ticket', result: 'unavailable', onFail: 'deny', summary: 'INC0012345 open; assignment could not be read (ServiceNow HTTP 403)' },
  { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now (PagerDuty: no current shift)' },
  { name: 'identityRisk', result: 'fail', onFail: 'review', summary: 'User risk high (at risk) in ID Protection' },
  { name: 'justification', result: 'pass', onFail: 'review', summary: 'Readable justification citing INC0012345' },
];

const HIGH_RISK: RequesterSignals['identityRisk'] = {
  checkedAt: '2026-03-02T08:00:05Z',
  record: {
    riskLevel: 'high',
    riskState: 'atRisk',
    riskDetail: 'none',
    riskLastUpdatedDateTime: '2026-03-02T06:00:00Z',
    detections: [
      {
        riskEventType: 'unfamiliarFeatures',
        riskLevel: 'high',
        riskState: 'atRisk',
        detectedDateTime: '2026-03-02T06:00:00Z',
        ipAddress: '203.0.113.24',
        city: 'Lagos',
        countryOrRegion: 'NG',
        activity: 'signin',
        detectionTimingType: 'realtime',
      },
      {
        riskEventType: 'leakedCredentials',
        riskLevel: 'high',
        riskState: 'atRisk',
        detectedDateTime: '2026-03-01T22:14:00Z',
        ipAddress: null,
        city: null,
        countryOrRegion: null,
        activity: 'user',
        detectionTimingType: 'offline',
      },
    ],
    detectionsUnavailable: false,
  },
};

/** Never activated this role, denied once before: first activation and a denial with its reason. */
const FIRST_ACTIVATION: RequesterSignals['history'] = {
  summary: {
    windowDays: 90,
    activations: 0,
    lastActivationAt: null,
    denials: [{ at: '2026-02-20T10:00:00Z', by: 'Megan Bowen', reason: 'No ticket cited' }],
    denialCount: 1,
    firstActivation: true,
  },
};

const REGULAR_HISTORY: RequesterSignals['history'] = {
  summary: { windowDays: 90, activations: 5, lastActivationAt: '2026-02-27T09:00:00Z', denials: [], denialCount: 0, firstActivation: false },
};

const LONG_JUSTIFICATION =
  'Incident INC0012345: the CFO and two finance staff are locked out after a suspected password-spray attack overnight. ' +
  'I need to reset their MFA registrations, revoke their sessions and review the sign-in logs for the finance mailboxes ' +
  'before the payment run at 10:00. The on-call engineer is on leave; Megan asked me to cover.';

function display(o: { requester?: Partial<RequestDisplay['requester']>; role?: string; signals?: RequesterSignals } = {}): string {
  const d: RequestDisplay = {
    requester: {
      displayName: 'Patti Fernandez',
      userPrincipalName: 'pattif@contoso.com',
      jobTitle: 'Identity engineer',
      department: 'Security Operations',
      ...o.requester,
    },
    roleDisplayName: o.role ?? 'User Administrator',
    approverIds: [APPROVER],
    ...(o.signals ? { signals: o.signals } : {}),
  };
  return JSON.stringify(d);
}

function row(overrides: Partial<ApprovalRequestRow> = {}): ApprovalRequestRow {
  return {
    id: '0b8f6a3e-1c2d-4e5f-8a9b-000000000001',
    pim_request_id: 'pim-1',
    evaluation_id: 'ev-1',
    kind: 'entraRole',
    principal_id: REQUESTER,
    role_definition_id: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
    scope: '/',
    justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
    ticket_system: 'ServiceNow',
    ticket_number: 'INC0012345',
    duration: 'PT2H',
    duration_minutes: 120,
    start_at: null,
    risk_flags: '[]',
    reasons: JSON.stringify(['Ticket INC0012345 is open and assigned to the requester', 'Not on call now, so an approver decides']),
    status: 'pending',
    version: 3,
    claimed_by: null,
    claimed_at: null,
    claimed_result: null,
    decided_by_id: null,
    decided_by_upn: null,
    decided_by_name: null,
    decided_at: null,
    decision_justification: null,
    display: display({ signals: { history: REGULAR_HISTORY } }),
    cards_posted_at: '2026-03-02T08:01:00.000Z',
    nudge_count: 0,
    escalated_at: null,
    requester_reminded_at: null,
    approvers_reachable_at: null,
    escalated_early: 0,
    check_lines: JSON.stringify(CHECK_LINES),
    unbound_at: null,
    last_release: null,
    created_at: '2026-03-02T08:00:00.000Z',
    expires_at: '2026-03-03T08:00:00.000Z',
    updated_at: '2026-03-02T08:05:00.000Z',
    ...overrides,
  };
}

const DECIDED_BY_CARD = {
  decided_by_id: APPROVER,
  decided_by_upn: 'adelev@contoso.com',
  decided_by_name: 'Adele Vance',
  decided_at: '2026-03-02T08:07:00.000Z',
  decision_justification: 'Called Patti back on her desk phone; the incident is real and she is covering on-call.',
} satisfies Partial<ApprovalRequestRow>;

/** The card the person `actor` gets for `r`, with `message` said on it, as the bot renders it. */
function approvalCard(r: ApprovalRequestRow, actor: string, message?: string): AdaptiveCardJson {
  return approvalCardRenderers.approvalCard(r, viewFor(r, actor, [APPROVER]), GALLERY_NOW, message).card as AdaptiveCardJson;
}

function approvalCards(): GalleryCard[] {
  const pending = row();
  const worst = row({
    justification: LONG_JUSTIFICATION,
    risk_flags: JSON.stringify(['High user risk', 'First activation of this role', 'Requested outside business hours']),
    reasons: JSON.stringify([
      "ID Protection rates the requester's user risk high (at risk), so an approver decides.",
      'Not on call now (PagerDuty), so an approver decides.',
    ]),
    check_lines: JSON.stringify(WORST_CHECK_LINES),
    display: display({ role: 'Privileged Authentication Administrator', signals: { identityRisk: HIGH_RISK, history: FIRST_ACTIVATION } }),
  });
  const riskUnchecked = row({ display: display({ signals: { identityRisk: { checkedAt: '2026-03-02T08:00:05Z', record: null }, history: REGULAR_HISTORY } }) });
  const noRisk = row({
    display: display({
      signals: {
        identityRisk: {
          checkedAt: '2026-03-02T08:00:05Z',
          record: { riskLevel: 'none', riskState: 'none', riskDetail: null, riskLastUpdatedDateTime: null, detections: [], detectionsUnavailable: false },
        },
        history: REGULAR_HISTORY,
      },
    }),
  });
  const released = row({ last_release: JSON.stringify({ by: 'megan-oid', name: 'Megan Bowen', at: '2026-03-02T08:04:31.000Z', result: 'Approve' }) });
  const final = (o: Partial<ApprovalRequestRow>) => row({ version: 5, updated_at: '2026-03-02T08:07:05.000Z', ...o });
  return [
    { name: 'approval-approver-pending', card: approvalCard(pending, APPROVER) },
    {
      name: 'approval-approver-pending-error',
      card: approvalCard(pending, APPROVER, 'Add a justification of at least 10 characters: it is recorded in PIM with your decision.'),
    },
    { name: APPROVER_WORST_CASE, card: approvalCard(worst, APPROVER) },
    { name: 'approval-approver-pending-released', card: approvalCard(released, APPROVER) },
    {
      name: 'approval-approver-recording',
      card: approvalCard(row({ status: 'recording', claimed_by: APPROVER, claimed_at: '2026-03-02T08:07:00.000Z' }), APPROVER),
    },
    { name: 'approval-requester-pending', card: approvalCard(noRisk, REQUESTER) },
    {
      name: 'approval-observer-pending',
      card: approvalCard(riskUnchecked, OBSERVER, 'Only approvers of User Administrator in PIM can decide on this request.'),
    },
    { name: 'approval-approved', card: approvalCard(final({ status: 'approved', ...DECIDED_BY_CARD }), OBSERVER) },
    { name: 'approval-approved-outside-teams', card: approvalCard(final({ status: 'approved' }), OBSERVER) },
    {
      name: 'approval-denied',
      card: approvalCard(
        final({ status: 'denied', ...DECIDED_BY_CARD, decision_justification: 'No open incident matches; ask the service desk to raise one.' }),
        REQUESTER,
      ),
    },
    { name: 'approval-expired', card: approvalCard(final({ status: 'expired' }), APPROVER) },
    { name: 'approval-cancelled', card: approvalCard(final({ status: 'cancelled' }), OBSERVER) },
  ];
}

// --- Summary card -------------------------------------------------------------------------------------------

function summaryCards(): GalleryCard[] {
  const people = [
    ['Isaiah Langer', 'isaiahl@contoso.com', 'Helpdesk Administrator'],
    ['Lynne Robbins', 'lynner@contoso.com', 'Security Operator'],
    ['Diego Siciliani', 'diegos@contoso.com', 'Exchange Administrator'],
    ['Patti Fernandez', 'pattif@contoso.com', 'User Administrator'],
  ] as const;
  const rows = people.map(([name, upn, role], i) =>
    row({
      id: `0b8f6a3e-1c2d-4e5f-8a9b-00000000010${i}`,
      principal_id: `p${i}`,
      created_at: new Date(GALLERY_NOW.getTime() - (i + 1) * 7 * 60_000).toISOString(),
      display: display({ requester: { displayName: name, userPrincipalName: upn }, role }),
    }),
  );
  const released = { ...rows[1]!, last_release: JSON.stringify({ by: 'megan-oid', name: 'Megan Bowen', at: '2026-03-02T08:04:31.000Z', result: 'Approve' }) };
  const batch = { part: 1, parts: 1, batchTotal: 4 };
  const closed = [
    { ...rows[0]!, status: 'approved', ...DECIDED_BY_CARD },
    { ...rows[1]!, status: 'denied', ...DECIDED_BY_CARD },
    { ...rows[2]!, status: 'recording' },
    { ...rows[3]!, status: 'expired' },
  ];
  return [
    {
      name: 'summary-pending',
      card: approvalCardRenderers.summaryCard([rows[0]!, released, rows[2]!, rows[3]!], batch, GALLERY_NOW, true) as AdaptiveCardJson,
    },
    { name: 'summary-decided', card: approvalCardRenderers.summaryCard(closed, batch, GALLERY_NOW, true) as AdaptiveCardJson },
  ];
}

// --- Chat cards ---------------------------------------------------------------------------------------------

const CHAT_DECISION = { byName: 'Megan Bowen', at: '2026-11-23T13:05:00Z', justification: 'Matches the open incident.' };

function status(overrides: Partial<RequestStatusData>): RequestStatusData {
  return {
    chatRequestId: 'chat-42',
    roleTitle: 'Security Operator',
    durationMinutes: 120,
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    justification: 'Investigating INC0012345.',
    state: 'pending',
    approverNames: ['Megan Bowen', 'Patti Fernandez'],
    decision: null,
    decisionService: null,
    activeFrom: null,
    activeUntil: null,
    endedAt: null,
    message: null,
    pimRequestId: 'b1c2d3e4-0000-4000-8000-000000000009',
    timeZone: 'Europe/Berlin',
    updatedAt: '2026-11-23T13:06:00Z',
    ...overrides,
  };
}

const STATUS_STATES: Array<[RequestState, Partial<RequestStatusData>]> = [
  ['submitting', { pimRequestId: null }],
  ['pending', {}],
  ['approved', { decision: CHAT_DECISION }],
  ['active', { decision: CHAT_DECISION, activeFrom: '2026-11-23T13:06:00Z', activeUntil: '2026-11-23T15:06:00Z' }],
  ['ended', { decision: CHAT_DECISION, activeUntil: '2026-11-23T15:06:00Z', endedAt: '2026-11-23T14:30:00Z' }],
  ['denied', { decision: { ...CHAT_DECISION, justification: 'No incident on record.' } }],
  ['expired', {}],
  ['cancelled', {}],
  ['failed', { message: 'PIM refused the request: RoleAssignmentRequestPolicyValidationFailed. Request id 7d1c. Try a shorter duration.' }],
];

function form(overrides: Partial<ActivationFormData>): ActivationFormData {
  return {
    draftId: 'draft-9',
    target: { key: 'entraRole|5f2222b1-57c3-48ba-8ad5-d4759f1fde6f|/', title: 'Security Operator', kind: 'entraRole' },
    policy: {
      maximumMinutes: 240,
      justificationRequired: true,
      ticketRequired: true,
      mfaRequired: true,
      authenticationContext: null,
      approvalRequired: true,
      approverIds: ['a1', 'a2'],
      approverNames: ['Megan Bowen', 'Patti Fernandez'],
    },
    values: { durationMinutes: 120, ticketSystem: 'ServiceNow', ticketNumber: 'INC0012345', justification: 'Investigating INC0012345.' },
    problems: [],
    mode: 'confirm',
    ...overrides,
  };
}

function chatCards(): GalleryCard[] {
  const statuses = STATUS_STATES.map(([state, o]) => ({ name: `chat-status-${state}`, card: renderRequestStatus(status({ state, ...o })) }));
  return [
    ...statuses,
    {
      name: 'chat-status-pending-reminded',
      card: withStatusNote(renderRequestStatus(status({})), 'Reminded Megan Bowen and Patti Fernandez in the approvers channel.'),
    },
    {
      name: 'chat-form-problems',
      card: renderActivationForm(
        form({
          mode: 'form',
          values: { durationMinutes: null, ticketSystem: null, ticketNumber: null, justification: null },
          problems: ['PIM needs a ticket for Security Operator: enter the incident or change number.', 'Pick how long you need the role.'],
        }),
      ),
    },
    { name: 'chat-form-confirm', card: renderActivationForm(form({})) },
    {
      name: 'chat-ending-soon',
      card: renderEndingSoon({ chatRequestId: '11111111-1111-4111-8111-111111111111', roleTitle: 'Security Operator', activeUntil: '2026-03-02T10:10:00Z' }),
    },
    {
      name: 'chat-role-chooser',
      card: renderRoleChooser({
        draftId: 'draft-1',
        message: 'Which role? "sec" matches more than one.',
        choices: [
          { key: 'entraRole|5d6b6bb7-de71-4623-b4af-96380a352509|/', title: 'Security Reader' },
          { key: 'entraRole|5f2222b1-57c3-48ba-8ad5-d4759f1fde6f|/', title: 'Security Operator' },
          { key: 'group|member|3f2a7c9e-0000-4000-8000-000000000001', title: 'SQL Admins (member)' },
        ],
      }),
    },
    { name: 'chat-role-chooser-empty', card: renderRoleChooser({ draftId: 'draft-2', choices: [] }) },
    {
      name: 'chat-cancel-chooser',
      card: renderCancelChooser({
        timeZone: 'Europe/London',
        choices: [
          {
            roleTitle: 'Global Administrator',
            scopeText: null,
            statusText: 'waiting for an approver',
            requestedAt: '2026-12-07T09:40:00Z',
            chatRequestId: '3f2a9c1e-1111-4222-8333-444455556666',
          },
          {
            roleTitle: 'Extension of Security Operator',
            scopeText: 'an administrative unit',
            statusText: 'waiting for your administrators to decide',
            requestedAt: '2026-12-07T09:44:00Z',
            pimRequestId: 'b1c2d3e4-0000-4000-8000-000000000009',
          },
        ],
      }),
    },
    { name: 'chat-help', card: renderHelpCard() },
    { name: 'chat-notice', card: renderNoticeCard({ title: 'Not submitted', text: 'Nothing was sent to PIM. Type "activate <role>" when you need it.' }) },
    {
      name: 'chat-re-request-notice',
      card: approvalCardRenderers.reRequestNotice({
        text: 'Your request for User Administrator expired: PIM dropped it after 24 hours without a decision.',
        requestId: '0b8f6a3e-1c2d-4e5f-8a9b-000000000001',
      }) as AdaptiveCardJson,
    },
  ];
}

// --- Digests ------------------------------------------------------------------------------------------------

const GA = '62e90394-69f5-4237-9190-012177145e10';
const SECOP = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';
const SQL = '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c10';
const READER = '4a5d8f65-41da-4de4-8968-e035b65339cf';
const EXO = '29232cdf-9323-42fd-ade2-1d097af3e4de';

function userDigest(): UserDigest {
  return {
    principalId: 'u1',
    timeZone: 'Europe/Berlin',
    date: '2026-11-23',
    generatedAt: '2026-11-23T08:00:00Z',
    ending: [
      {
        kind: 'entraRole',
        roleDefinitionId: SECOP,
        scope: '/',
        assignment: 'eligible',
        endDateTime: '2026-12-02T08:00:00Z',
        daysLeft: 9,
        extend: 'selfExtend',
      },
      { kind: 'group', roleDefinitionId: 'member', scope: SQL, assignment: 'eligible', endDateTime: '2026-11-25T08:00:00Z', daysLeft: 2, extend: 'askAdmins' },
    ],
    endingToday: [{ kind: 'entraRole', roleDefinitionId: READER, scope: '/', endDateTime: '2026-11-23T16:30:00Z' }],
  };
}

function sampled(i: number, extra: Partial<SpotAuditEntry> = {}): SpotAuditEntry {
  return {
    requestId: `req-${i}`,
    pimRequestId: `pim-${i}`,
    kind: 'entraRole',
    roleDefinitionId: SECOP,
    scope: '/',
    principalId: 'alex',
    approvedById: 'megan',
    approvedByName: 'Megan Bowen',
    approvedAt: '2026-11-22T15:00:00Z',
    justification: 'Investigating INC0012345',
    decisionJustification: 'Matches the incident',
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    reviews: [],
    ...extra,
  };
}

function adminDigest(sample: SpotAuditEntry[]): AdminDigest {
  return {
    date: '2026-11-23',
    timeZone: 'Europe/Berlin',
    generatedAt: '2026-11-23T08:00:00Z',
    expiringThisWeek: {
      total: 3,
      until: '2026-11-29T23:00:00.000Z',
      targets: [
        {
          target: { kind: 'entraRole', roleDefinitionId: SECOP, scope: '/' },
          count: 3,
          soonest: [{ principalId: 'alex', endDateTime: '2026-11-25T08:00:00Z' }],
        },
      ],
    },
    dormant: {
      days: 30,
      total: 12,
      targets: [{ target: { kind: 'entraRole', roleDefinitionId: GA, scope: '/' }, count: 12 }],
      oldest: [{ kind: 'entraRole', roleDefinitionId: GA, scope: '/', principalId: 'isaiah', lastActivatedAt: null, eligibleSince: null }],
    },
    permanentPrivileged: {
      total: 1,
      items: [{ kind: 'entraRole', roleDefinitionId: GA, scope: '/', principalId: 'diego', startDateTime: '2026-05-01T00:00:00Z' }],
    },
    pending: {
      total: 2,
      items: [
        {
          requestId: 'p1',
          pimRequestId: 'pim-p1',
          kind: 'entraRole',
          roleDefinitionId: GA,
          scope: '/',
          principalId: 'isaiah',
          status: 'pending',
          createdAt: '2026-11-22T18:40:00Z',
          ageMinutes: 800,
        },
        {
          requestId: 'p2',
          pimRequestId: 'pim-p2',
          kind: 'entraRole',
          roleDefinitionId: SECOP,
          scope: '/',
          principalId: 'alex',
          status: 'pending',
          createdAt: '2026-11-23T07:20:00Z',
          ageMinutes: 40,
        },
      ],
    },
    spotAudit: { date: '2026-11-22', approvals: 14, rate: 0.1, sample },
    flags: [
      {
        requestId: 'req-9',
        pimRequestId: 'pim-9',
        kind: 'entraRole',
        principalId: 'alex',
        roleDefinitionId: SECOP,
        scope: '/',
        approvedById: 'megan',
        approvedByName: 'Megan Bowen',
        approvedAt: '2026-11-22T15:00:00Z',
        reviewerId: 'adele',
        reviewerName: 'Adele Vance',
        note: 'No open incident',
        flaggedAt: '2026-11-22T16:00:00Z',
      },
    ],
  };
}

const DIGEST_NAMES = {
  users: new Map([
    ['alex', 'Alex Wilber'],
    ['isaiah', 'Isaiah Langer'],
    ['diego', 'Diego Siciliani'],
    ['megan', 'Megan Bowen'],
    ['adele', 'Adele Vance'],
  ]),
  targets: new Map([
    [`entraRole|${SECOP}|/`, 'Security Operator'],
    [`entraRole|${GA}|/`, 'Global Administrator'],
  ]),
};

function digestCards(): GalleryCard[] {
  const targetNames = new Map([
    [`entraRole|${SECOP}|/`, 'Security Operator'],
    [`group|member|${SQL}`, 'SQL Admins (member)'],
    [`entraRole|${READER}|/`, 'Reports Reader'],
    [`entraRole|${EXO}|/`, 'Exchange Administrator'],
    [`group|owner|${SQL}`, 'SQL Admins (owner)'],
  ]);
  const withExpired: UserDigest = {
    ...userDigest(),
    expired: [
      { kind: 'entraRole', roleDefinitionId: EXO, scope: '/', endedAt: '2026-11-20T08:00:00Z', renew: 'selfRenew' },
      { kind: 'group', roleDefinitionId: 'owner', scope: SQL, endedAt: '2026-11-02T08:00:00Z', renew: 'askAdmins' },
    ],
  };
  const reviewed = sampled(2, { reviews: [{ reviewerId: 'patti', reviewerName: 'Patti Fernandez', verdict: 'looksRight' }] });
  // Nine sampled approvals: the first card holds eight, the ninth goes on a continuation card.
  const [main, continued] = renderAdminDigestCards({
    digest: adminDigest([sampled(1), reviewed, ...Array.from({ length: 7 }, (_, i) => sampled(i + 3))]),
    names: DIGEST_NAMES,
  });
  return [
    { name: 'digest-user', card: renderUserDigestCard({ digest: userDigest(), targetNames }) },
    // With the "Expired in the last 30 days" section: Renew, and Ask admins to renew for a group.
    { name: 'digest-user-expired', card: renderUserDigestCard({ digest: withExpired, targetNames }) },
    { name: 'digest-admin', card: main! },
    { name: 'digest-admin-continued', card: continued! },
    {
      name: 'digest-admin-ask',
      card: renderAdminAskCard({
        requester: 'Alex Wilber (alexw@contoso.com)',
        ask: 'asks to extend their eligible assignment of Security Operator, which ends Wed 2 Dec: PIM cannot extend it for them.',
      }),
    },
  ];
}

/** Every card, once each; names are unique. */
export function cardGallery(): GalleryCard[] {
  return [...approvalCards(), ...summaryCards(), ...chatCards(), ...digestCards(), ...extensionCards(), ...emergencyCards()];
}

/** Break-glass: the BREAK-GLASS broadcast, the post-incident note (asked, recorded) and the review list (open, answered). */
function emergencyCards(): GalleryCard[] {
  const grant = {
    grantId: '5b3f1c2e-0000-4000-8000-00000000b6a5',
    requester: 'Alex Wilber (alexw@contoso.example)',
    role: 'Security Operator',
    incident: 'INC0013001 (priority 1 - Critical)',
    onCall: 'PagerDuty on call, Opsgenie on call',
    justification: 'EMERGENCY: P1 sign-in outage, restoring conditional access for the admins',
    grantedAt: '2026-03-02T03:05:00Z',
    endsAt: '2026-03-02T05:05:00Z',
    durationMinutes: 120,
  };
  const note = { grantId: grant.grantId, role: grant.role, incident: 'INC0013001', endedAt: grant.endsAt };
  const entry = { ...grant, note: 'Re-enabled the admin conditional access policy; outage over at 03:40.', overdue: false, reviewBy: '2026-03-03T03:05:00Z' };
  return [
    { name: 'emergency-broadcast', card: renderBreakGlassCard({ ...grant, pim: 'request 9d1c… confirmed in PIM (Provisioned)' }) },
    { name: 'emergency-note-asked', card: renderEmergencyNoteCard(note) },
    { name: 'emergency-note-recorded', card: renderEmergencyNoteCard({ ...note, answer: `Post-incident note recorded: ${entry.note}` }) },
    {
      name: 'emergency-review-open',
      card: renderEmergencyReviewCard({ entries: [entry, { ...entry, grantId: 'other', note: null, overdue: true }], reviewWithinHours: 24 }),
    },
    {
      name: 'emergency-review-answered',
      card: renderEmergencyReviewCard({
        entries: [entry],
        reviewWithinHours: 24,
        answers: new Map([[grant.grantId, 'Megan Bowen reviewed this grant: looks right']]),
      }),
    },
  ];
}

function extensionCards(): GalleryCard[] {
  const base: ExtensionCardData = {
    askId: '0b6c7d8e-1f2a-4b3c-9d4e-5f6a7b8c9d0e',
    action: 'extend',
    assignment: 'eligible',
    requester: 'Alex Wilber (alexw@contoso.com)',
    target: 'Security Operator',
    scope: null,
    currentEnd: '2026-03-11T08:00:00Z',
    requestedEnd: '2026-06-09T08:00:00Z',
    reason: 'Extension requested from the daily PIM digest in Teams',
    activations90d: { count: 7, lastAt: '2026-02-26T14:30:00Z' },
    hr: { status: 'pass', detail: 'Account enabled, no leave date inside the activation' },
    risk: { status: 'fail', detail: 'User risk high (atRisk)' },
    whoCan: 'Privileged Role Administrators and Global Administrators (Diego Siciliani, Adele Vance)',
    defaultEnd: '2026-06-09',
    minEnd: '2026-03-12',
    state: { kind: 'open' },
  };
  return [
    { name: 'extension-open', card: renderExtensionCard(base) },
    {
      name: 'extension-refused',
      card: renderExtensionCard({
        ...base,
        activations90d: null,
        hr: { status: 'unknown', detail: 'HR status could not be read: Microsoft Graph did not answer in time.' },
        message: 'Only Privileged Role Administrators and Global Administrators (Diego Siciliani, Adele Vance) can decide this in PIM.',
      }),
    },
    {
      name: 'extension-renewal-extended',
      card: renderExtensionCard({
        ...base,
        action: 'renew',
        currentEnd: '2026-02-20T08:00:00Z',
        state: {
          kind: 'renewed',
          byName: 'Adele Vance',
          at: '2026-03-02T08:05:00Z',
          newEnd: '2026-06-01T08:00:00Z',
          note: 'Still on the incident rota this quarter.',
        },
      }),
    },
    {
      name: 'extension-declined',
      card: renderExtensionCard({
        ...base,
        state: { kind: 'declined', byName: 'Diego Siciliani', at: '2026-03-02T08:05:00Z', note: 'Use the new on-call role instead.' },
      }),
    },
    {
      name: 'extension-withdrawn',
      card: renderExtensionCard({ ...base, state: { kind: 'withdrawn', why: 'Withdrawn: the requester cancelled the request in PIM.' } }),
    },
  ];
}
