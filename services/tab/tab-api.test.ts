import pino from 'pino';
import { UserTokenError, type UserTokenVerifier } from '../auth/user-token';
import type { ApprovalClick, DecisionOutcome } from '../jobs/decide';
import type { ApprovalRequestRow } from '../store/store';
import { TabApi, TabError, tabCaller } from './tab-api';

const ME = 'aaaaaaaa-0000-4000-8000-000000000001';
const REQUESTER = 'bbbbbbbb-0000-4000-8000-000000000002';
const ESCALATION = 'cccccccc-0000-4000-8000-000000000003';
const NOW = new Date('2026-03-02T12:00:00Z');
const log = pino({ level: 'silent' });

function row(overrides: Partial<ApprovalRequestRow> = {}): ApprovalRequestRow {
  return {
    id: '0b8f6a3e-1c2d-4e5f-8a9b-000000000001',
    pim_request_id: 'pim-1',
    evaluation_id: 'eval-1',
    kind: 'entraRole',
    principal_id: REQUESTER,
    role_definition_id: 'role-1',
    scope: '/',
    justification: 'Reset MFA for the CFO',
    ticket_system: 'ServiceNow',
    ticket_number: 'INC0012345',
    duration: 'PT2H',
    duration_minutes: 120,
    start_at: null,
    risk_flags: '["off-hours"]',
    reasons: '["Ticket is open"]',
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
    display: JSON.stringify({
      requester: { displayName: 'Isaiah Langer', userPrincipalName: 'isaiahl@contoso.example', jobTitle: null, department: null },
      roleDisplayName: 'User Administrator',
      approverIds: [ME, REQUESTER],
      escalationApproverIds: [ESCALATION],
      escalationTimeInMinutes: 60,
      approverNames: ['Adele Vance'],
    }),
    cards_posted_at: null,
    nudge_count: 0,
    escalated_at: null,
    requester_reminded_at: null,
    approvers_reachable_at: null,
    escalated_early: 0,
    check_lines: '[]',
    unbound_at: null,
    last_release: null,
    created_at: '2026-03-02T11:30:00.000Z',
    expires_at: '2026-03-03T11:30:00.000Z',
    updated_at: '2026-03-02T11:30:00.000Z',
    ...overrides,
  } as ApprovalRequestRow;
}

function api(rows: ApprovalRequestRow[], outcome: (click: ApprovalClick) => DecisionOutcome, now = NOW) {
  const clicks: ApprovalClick[] = [];
  const tab = new TabApi({
    requests: {
      get: async (id) => rows.find((r) => r.id === id),
      pendingPage: async (kind, after) => (after ? [] : rows.filter((r) => r.kind === kind && r.status === 'pending')),
      byPrincipalPage: async (principal) => rows.filter((r) => r.principal_id === principal),
    },
    decisions: {
      handle: async (click) => {
        clicks.push(click);
        return outcome(click);
      },
    },
    minJustification: 10,
    now: () => now,
  });
  return { tab, clicks };
}

const caller = { user: { oid: ME, tid: 't', name: 'Adele Vance', upn: 'adelev@contoso.example' }, token: 'sso-token' };
const body = { reviewResult: 'Approve', justification: 'Verified by phone', version: 3 };

async function refusal(p: Promise<unknown>): Promise<TabError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TabError);
  return err as TabError;
}

describe('tabCaller', () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

  it('asks the verifier to bind the token to the oid it carries, and hands back the proven user and the token', async () => {
    const verify = jest.fn<ReturnType<UserTokenVerifier>, Parameters<UserTokenVerifier>>(async (_t, oid) => ({ oid: oid!, tid: 't', name: null, upn: null }));
    const token = jwt({ oid: ME });
    await expect(tabCaller(verify, `Bearer ${token}`)).resolves.toEqual({ user: { oid: ME, tid: 't', name: null, upn: null }, token });
    expect(verify).toHaveBeenCalledWith(token, ME);
  });

  it.each([
    [undefined, 'token_missing'],
    ['Basic YWRlbGU6cHc=', 'token_malformed'],
    ['Bearer not-a-jwt', 'token_malformed'],
    [`Bearer ${jwt({ sub: 'x' })}`, 'token_malformed'],
  ])('refuses %s with 401 %s before verifying', async (header, code) => {
    const verify = jest.fn();
    const err = await refusal(tabCaller(verify, header));
    expect({ status: err.status, code: err.code }).toEqual({ status: 401, code });
    expect(err.message).toContain('Authorization: Bearer');
    expect(verify).not.toHaveBeenCalled();
  });

  it("names the verifier's failed check (401), and answers 503 when the tenant's keys cannot be read", async () => {
    const fails = (check: ConstructorParameters<typeof UserTokenError>[0]) => async () => {
      throw new UserTokenError(check, `failed ${check}.`);
    };
    const expired = await refusal(tabCaller(fails('expired'), `Bearer ${jwt({ oid: ME })}`));
    expect({ status: expired.status, code: expired.code }).toEqual({ status: 401, code: 'token_expired' });
    expect(expired.message).toContain('getAuthToken()');
    const keys = await refusal(tabCaller(fails('keys_unavailable'), `Bearer ${jwt({ oid: ME })}`));
    expect({ status: keys.status, code: keys.code }).toEqual({ status: 503, code: 'token_keys_unavailable' });
  });
});

describe('TabApi.awaiting', () => {
  it('lists what the caller may decide now, never the requester, and escalation approvers only once the escalation time has passed', async () => {
    const rows = [row()];
    expect((await api(rows, () => ({ kind: 'signInRequired' })).tab.awaiting(ME, { limit: 25 })).items.map((i) => i.requestId)).toEqual([rows[0]!.id]);
    expect((await api(rows, () => ({ kind: 'signInRequired' })).tab.awaiting(REQUESTER, { limit: 25 })).items).toEqual([]);
    // Created 11:30 with a 60-minute escalation time: not yet at 12:00, from 12:30 on.
    expect((await api(rows, () => ({ kind: 'signInRequired' })).tab.awaiting(ESCALATION, { limit: 25 })).items).toEqual([]);
    const later = api(rows, () => ({ kind: 'signInRequired' }), new Date('2026-03-02T12:31:00Z'));
    expect((await later.tab.awaiting(ESCALATION, { limit: 25 })).items).toHaveLength(1);
  });
});

describe('TabApi.decide', () => {
  const decided = (r: ApprovalRequestRow): DecisionOutcome => ({ kind: 'card', row: r, viewer: ME });

  it("hands the card's decision flow the caller's proven sign-in and the trimmed justification; 200 once recorded", async () => {
    const recorded = row({ status: 'approved', decided_by_id: ME, decided_by_name: 'Adele Vance', decision_justification: 'Verified by phone' });
    const { tab, clicks } = api([row()], () => decided(recorded));
    const res = await tab.decide(caller, row().id, { ...body, justification: '  Verified by phone ' }, log);
    expect(res.status).toBe(200);
    expect(res.body.request).toMatchObject({ status: 'approved', decidedBy: { id: ME, name: 'Adele Vance' }, decisionJustification: 'Verified by phone' });
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ verb: 'approve', requestId: row().id, justification: 'Verified by phone', actorId: ME });
    await expect(clicks[0]!.signIn()).resolves.toEqual({ kind: 'proven', token: 'sso-token', user: caller.user });
  });

  it.each<[string, Partial<ApprovalRequestRow>, Partial<Extract<DecisionOutcome, { kind: 'card' }>>, number, string]>([
    ['PIM is slow: the claim is the caller’s', { status: 'recording', claimed_by: ME }, {}, 202, 'recording'],
    [
      'another approver won',
      { status: 'denied', decided_by_id: REQUESTER, decided_by_name: 'Megan Bowen' },
      { message: 'Megan Bowen already denied' },
      409,
      'already_decided',
    ],
    ['another claim is being recorded', { status: 'recording', claimed_by: ESCALATION }, {}, 409, 'decision_in_progress'],
    ['not an approver', {}, { view: 'observer', message: 'Only approvers of User Administrator in PIM can decide on this request.' }, 403, 'not_an_approver'],
    ['PIM does not list the caller', {}, { message: 'PIM does not list you as an approver of this request, so nothing was recorded.' }, 403, 'not_an_approver'],
    ['PIM refused', {}, { message: 'PIM refused your decision: no. Nothing was recorded.' }, 403, 'pim_refused'],
    [
      'approver list unreadable',
      {},
      { message: 'The bot could not read the approver list from PIM just now, so nothing was recorded.' },
      503,
      'approvers_unavailable',
    ],
    ['PIM failed', {}, { message: 'PIM did not answer, so your decision may not be recorded.' }, 503, 'not_recorded'],
  ])('%s', async (_what, after, outcome, status, code) => {
    const { tab } = api([row()], () => ({ kind: 'card', row: row(after), viewer: ME, ...outcome }));
    const answer = await tab.decide(caller, row().id, body, log).then(
      (r) => ({ status: r.status, code: r.body.result }),
      (e: TabError) => ({ status: e.status, code: e.code }),
    );
    expect(answer).toEqual({ status, code });
  });

  it('answers 403 self_approval when the flow refuses the requester', async () => {
    const { tab } = api([row()], () => ({ kind: 'card', row: row(), viewer: REQUESTER, message: 'You cannot approve or deny your own request.' }));
    const err = await refusal(tab.decide({ ...caller, user: { ...caller.user, oid: REQUESTER } }, row().id, body, log));
    expect({ status: err.status, code: err.code }).toEqual({ status: 403, code: 'self_approval' });
  });

  it('refuses a stale version, a decided request and an unknown one before the decision flow runs', async () => {
    const { tab, clicks } = api([row(), row({ id: '0b8f6a3e-1c2d-4e5f-8a9b-000000000002', status: 'approved', decided_by_name: 'Megan Bowen' })], () => {
      throw new Error('not called');
    });
    expect((await refusal(tab.decide(caller, row().id, { ...body, version: 2 }, log))).code).toBe('stale_version');
    const done = await refusal(tab.decide(caller, '0b8f6a3e-1c2d-4e5f-8a9b-000000000002', body, log));
    expect({ status: done.status, code: done.code, message: done.message }).toEqual({
      status: 409,
      code: 'already_decided',
      message: 'Megan Bowen already approved this request.',
    });
    expect((await refusal(tab.decide(caller, '0b8f6a3e-1c2d-4e5f-8a9b-00000000ffff', body, log))).status).toBe(404);
    expect(clicks).toHaveLength(0);
  });
});
