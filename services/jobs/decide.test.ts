import pino from 'pino';
import type { ApprovalStep, PimApprovals } from '../graph/pim-approvals';
import type { ApprovalRequestRow } from '../store/store';
import { type ApprovalClick, ApprovalDecisions, type ApproverSignIn, type DecidePorts, visibleLength } from './decide';

const APPROVER = '00000000-0000-4000-8000-00000000000a';
const REQUESTER = '00000000-0000-4000-8000-00000000000b';
const NOW = new Date('2026-03-02T08:00:00Z');

function pendingRow(): ApprovalRequestRow {
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
    created_at: NOW.toISOString(),
    display: null,
    decided_by_name: null,
  } as unknown as ApprovalRequestRow;
}

/** The flow over in-memory ports: one request, PIM listing APPROVER, and a PIM client that records the PATCH. */
function setup(row = pendingRow()) {
  let current = row;
  const reviews: string[] = [];
  const signIns: number[] = [];
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
      approvalPolicy: async () => ({ approverIds: [APPROVER] }),
      user: async (id: string) => ({ id, displayName: 'Ada Approver', userPrincipalName: 'ada@contoso.com' }),
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
    now: () => NOW,
  };
  const click = (over: Partial<ApprovalClick> = {}): ApprovalClick => ({
    verb: 'approve',
    requestId: row.id,
    justification: 'ticket INC0012345 checked',
    actorId: APPROVER,
    signIn: async (): Promise<ApproverSignIn> => {
      signIns.push(1);
      return { kind: 'proven', token: 'token', user: { oid: APPROVER, tid: 't', name: 'Ada', upn: 'ada@contoso.com' } };
    },
    log: pino({ level: 'silent' }),
    ...over,
  });
  return { flow: new ApprovalDecisions(ports), click, reviews, signIns, current: () => current };
}

describe('ApprovalDecisions (Teams-free)', () => {
  it('records an approver’s decision in PIM as them and returns the decided card', async () => {
    const s = setup();
    const outcome = await s.flow.handle(s.click());
    expect(s.reviews).toEqual(['step-1:Approve']);
    expect(outcome).toMatchObject({ kind: 'card', viewer: APPROVER, row: { status: 'approved', decided_by_id: APPROVER } });
    expect(s.current().status).toBe('approved');
  });

  it('refuses the requester before any sign-in or claim', async () => {
    const s = setup();
    const outcome = await s.flow.handle(s.click({ actorId: REQUESTER }));
    expect(outcome).toMatchObject({ kind: 'card', message: expect.stringContaining('your own request') });
    expect(s.signIns).toHaveLength(0);
    expect(s.current().status).toBe('pending');
  });

  it('asks no token for a justification too short to record', async () => {
    const s = setup();
    const outcome = await s.flow.handle(s.click({ justification: ' \u200b ok ' }));
    expect(outcome).toMatchObject({ kind: 'card', message: expect.stringContaining('at least 10 characters') });
    expect(s.signIns).toHaveLength(0);
  });

  it('shows a non-approver the observer card and claims nothing', async () => {
    const s = setup();
    const outcome = await s.flow.handle(s.click({ actorId: '00000000-0000-4000-8000-00000000000c' }));
    expect(outcome).toMatchObject({ kind: 'card', view: 'observer' });
    expect(s.current().status).toBe('pending');
  });

  it('passes a missing sign-in and a refused identity back to the adapter without claiming', async () => {
    const s = setup();
    expect(await s.flow.handle(s.click({ signIn: async () => ({ kind: 'noToken' }) }))).toEqual({ kind: 'signInRequired' });
    expect(await s.flow.handle(s.click({ signIn: async () => ({ kind: 'identityRefused', message: 'not you' }) }))).toMatchObject({
      kind: 'identityRefused',
      message: 'not you',
    });
    expect(s.current().status).toBe('pending');
    expect(s.reviews).toHaveLength(0);
  });

  it('refuses an unknown request and a click without an object id', async () => {
    const s = setup();
    expect(await s.flow.handle(s.click({ requestId: '00000000-0000-4000-8000-0000000000ff' }))).toMatchObject({ kind: 'refused' });
    expect(await s.flow.handle(s.click({ actorId: undefined }))).toMatchObject({ kind: 'refused' });
  });

  it('counts only visible characters of a justification', () => {
    expect(visibleLength('a\u200bb c\u0000')).toBe(3);
  });
});
