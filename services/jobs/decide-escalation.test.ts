import pino from 'pino';
import type { RoleApprovalPolicy } from '../graph/directory';
import type { ApprovalStep, PimApprovals } from '../graph/pim-approvals';
import type { ApprovalRequestRow } from '../store/store';
import { type ApprovalClick, ApprovalDecisions, type ApproverSignIn, type DecidePorts } from './decide';

const APPROVER = '00000000-0000-4000-8000-00000000000a';
const REQUESTER = '00000000-0000-4000-8000-00000000000b';
const ESCALATION = '00000000-0000-4000-8000-00000000000c';
const CREATED = new Date('2026-03-02T08:00:00Z');
const minutes = (n: number) => new Date(CREATED.getTime() + n * 60_000);

function pendingRow(escalationTimeInMinutes: number | null | undefined): ApprovalRequestRow {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    status: 'pending',
    version: 1,
    kind: 'entraRole',
    principal_id: REQUESTER,
    role_definition_id: 'role-1',
    scope: '/',
    pim_request_id: 'pim-1',
    evaluation_id: null,
    created_at: CREATED.toISOString(),
    display: JSON.stringify({
      requester: { displayName: 'Rita Requester', userPrincipalName: 'rita@contoso.com', jobTitle: null, department: null },
      roleDisplayName: 'User Administrator',
      approverIds: [APPROVER],
      escalationApproverIds: [ESCALATION],
      ...(escalationTimeInMinutes === undefined ? {} : { escalationTimeInMinutes }),
    }),
    decided_by_name: null,
  } as unknown as ApprovalRequestRow;
}

/** The flow over in-memory ports; PIM's policy names APPROVER, and ESCALATION as escalation approver after `policyMinutes`. */
function setup(opts: { stored?: number | null; policyMinutes?: number | null; now: Date }) {
  let current = pendingRow(opts.stored === undefined ? 720 : opts.stored);
  let now = opts.now;
  const reviews: string[] = [];
  const policyReads: Array<boolean | undefined> = [];
  const pim: PimApprovals = {
    steps: async () => [{ id: 'step-1', status: 'InProgress', assignedToMe: true, reviewResult: 'NotReviewed' } as ApprovalStep],
    review: async (_pimId: string, stepId: string, result: string) => {
      reviews.push(`${stepId}:${result}`);
    },
  } as unknown as PimApprovals;
  const ports: DecidePorts = {
    requests: {
      get: async (id: string) => (id === current.id ? current : undefined),
      transition: async (from, event, patch) => {
        if (from.version !== current.version) return undefined;
        const status = event.type === 'claim' ? 'recording' : event.type === 'recorded' ? event.result : current.status;
        current = { ...current, ...patch, status, version: current.version + 1 } as ApprovalRequestRow;
        return current;
      },
    } as DecidePorts['requests'],
    directory: {
      approvalPolicy: async (_ref: unknown, o?: { escalation?: boolean }) => {
        policyReads.push(o?.escalation);
        const policy: RoleApprovalPolicy = {
          isApprovalRequired: true,
          isApproverJustificationRequired: true,
          approverIds: [APPROVER],
          escalationApproverIds: o?.escalation === false ? [] : [ESCALATION],
          escalationTimeInMinutes: opts.policyMinutes === undefined ? 720 : opts.policyMinutes,
          approverNames: ['Ada Approver'],
        };
        return policy;
      },
      user: async (id: string) => ({ id, displayName: 'Eve Escalation', userPrincipalName: 'eve@contoso.com' }),
      requestStatus: async () => 'PendingApproval',
    } as unknown as DecidePorts['directory'],
    delivery: {
      kick: () => undefined,
      refreshCopies: async () => undefined,
      notifyRequester: async () => true,
      tellRequester: async () => true,
    },
    pimAs: () => pim,
    minJustification: 10,
    now: () => now,
  };
  const click = (over: Partial<ApprovalClick> = {}): ApprovalClick => ({
    verb: 'approve',
    requestId: current.id,
    justification: 'ticket INC0012345 checked',
    actorId: ESCALATION,
    signIn: async (): Promise<ApproverSignIn> => ({ kind: 'proven', token: 'token', user: { oid: ESCALATION, tid: 't', name: 'Eve', upn: 'eve@contoso.com' } }),
    log: pino({ level: 'silent' }),
    ...over,
  });
  return {
    flow: new ApprovalDecisions(ports),
    click,
    reviews,
    policyReads,
    current: () => current,
    setNow: (d: Date) => {
      now = d;
    },
  };
}

describe('escalation approvers on the card (PIM escalation time)', () => {
  it('refuses an escalation approver before the escalation time, saying when PIM lets them decide, and shows no buttons', async () => {
    const s = setup({ now: minutes(719) });
    const out = await s.flow.handle(s.click());
    expect(out).toMatchObject({
      kind: 'card',
      view: 'observer',
      message: 'You are an escalation approver of User Administrator in PIM: PIM lets you decide from 2026-03-02 20:00 UTC, if nobody has by then.',
    });
    expect(s.reviews).toEqual([]);
    const refresh = await s.flow.handle(s.click({ verb: 'refresh' }));
    expect(refresh).toMatchObject({ kind: 'card', approverIds: [APPROVER] });
  });

  it('records an escalation approver’s decision once the escalation time has passed, and gives them the buttons', async () => {
    const s = setup({ now: minutes(720) });
    const refresh = await s.flow.handle(s.click({ verb: 'refresh' }));
    expect(refresh).toMatchObject({ kind: 'card', approverIds: [APPROVER, ESCALATION] });
    const out = await s.flow.handle(s.click());
    expect(out).toMatchObject({ kind: 'card', viewer: ESCALATION });
    expect(s.reviews).toEqual(['step-1:Approve']);
    expect(s.current().status).toBe('approved');
    // The card said the time had passed, so the escalation approvers were read with the policy: one read.
    expect(s.policyReads).toEqual([true]);
  });

  it('goes by the policy read with the click: a card posted without the time reads the escalation approvers afresh', async () => {
    const s = setup({ stored: null, now: minutes(800) });
    expect(await s.flow.handle(s.click({ verb: 'refresh' }))).toMatchObject({ approverIds: [APPROVER] });
    await s.flow.handle(s.click());
    expect(s.reviews).toEqual(['step-1:Approve']);
    expect(s.policyReads).toEqual([false, undefined]);
  });

  it('fails closed when PIM does not say when escalation starts', async () => {
    const s = setup({ policyMinutes: null, now: minutes(2000) });
    const out = await s.flow.handle(s.click());
    expect(out).toMatchObject({
      kind: 'card',
      view: 'observer',
      message: 'Only approvers of User Administrator in PIM can decide on this request. Who can: Ada Approver.',
    });
    expect(s.reviews).toEqual([]);
  });

  it('a primary approver decides as before, whatever the time', async () => {
    const s = setup({ now: minutes(5) });
    await s.flow.handle(
      s.click({
        actorId: APPROVER,
        signIn: async () => ({ kind: 'proven', token: 't', user: { oid: APPROVER, tid: 't', name: 'Ada', upn: 'ada@contoso.com' } }),
      }),
    );
    expect(s.reviews).toEqual(['step-1:Approve']);
  });
});
