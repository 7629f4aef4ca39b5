import pino from 'pino';
import type { AuditEntry } from '../audit/audit-trail';
import type { ActivationInput } from '../elevation/self-service';
import type { ActivationPolicy, EligibleTarget } from '../elevation/types';
import { Store } from '../store/store';
import { emptyValues, newDraft } from './chat-drafts';
import { policyRetry, SubmitActivation } from './submit-activation';

const T0 = new Date('2026-11-23T10:00:00Z');
const USER = 'user-1';
const ROLE: EligibleTarget = { kind: 'entraRole', roleDefinitionId: 'role-1', scope: '/', displayName: 'Security Operator', eligibleUntil: null };
const POLICY: ActivationPolicy = {
  maximumMinutes: 480,
  justificationRequired: true,
  ticketRequired: false,
  mfaRequired: false,
  authenticationContext: null,
  approvalRequired: true,
  approverIds: ['approver-1', USER],
};
const VALUES = { durationMinutes: 120, ticketSystem: null, ticketNumber: null, justification: 'investigating the alert from the SIEM' };
const PLACE = { conversationRef: '{"conversation":{"id":"c"}}', replyToId: 'activity-1' };

/** The use case against a real (in-memory) store, a recording audit trail and a fake PIM: no Teams anywhere. */
async function setUp() {
  const store = await Store.open('sqlite::memory:');
  const audited: AuditEntry[] = [];
  const submit = new SubmitActivation({
    chat: store.chat,
    evaluations: store.evaluations,
    approvals: store.requests,
    audit: { record: async (e: AuditEntry) => audited.push(e) },
    directory: { user: async (id) => ({ displayName: `Name of ${id}` }), activationPolicy: async () => POLICY },
    log: pino({ level: 'silent' }),
    now: () => T0,
  });
  await store.chat.insertDraft(newDraft('draft-1', USER, ROLE, emptyValues(), 'UTC', T0));
  return { store, audited, submit };
}

describe('SubmitActivation', () => {
  it('refuses a draft that is unknown or someone else’s before anything is saved', async () => {
    const { store, submit } = await setUp();
    expect(await submit.prepare(USER, 'no-such-draft', {})).toEqual({ kind: 'unknownDraft' });
    expect(await submit.prepare('someone-else', 'draft-1', {})).toEqual({ kind: 'notYours' });
    await store.close();
  });

  it('files the activation as the user, audits it and stores the chat request its status message follows', async () => {
    const { store, audited, submit } = await setUp();
    const ready = await submit.prepare(USER, 'draft-1', VALUES);
    if (ready.kind !== 'ready') throw new Error(`expected a ready draft, got ${ready.kind}`);
    const filed: ActivationInput[] = [];
    const pim = {
      eligible: async () => [ROLE],
      activate: async (_t: unknown, input: ActivationInput) => {
        filed.push(input);
        return { pimRequestId: 'pim-1', status: 'PendingApproval', createdDateTime: null };
      },
    };
    const r = await submit.submit({ userId: USER, draft: ready.draft, target: ready.target, values: ready.values, pim, statusMessage: PLACE });
    if (r.kind !== 'submitted') throw new Error(`expected submitted, got ${r.kind}`);
    expect(filed).toEqual([expect.objectContaining({ principalId: USER, durationMinutes: 120, start: T0 })]);
    expect(r.request).toMatchObject({ state: 'pending', pim_request_id: 'pim-1', activity_id: 'activity-1', rendered_version: 1 });
    // The requester is never shown as their own approver.
    expect(JSON.parse(r.request.approver_names)).toEqual(['Name of approver-1']);
    expect(audited).toEqual([expect.objectContaining({ kind: 'self_activation', actor: USER, pimRequestId: 'pim-1', outcome: 'PendingApproval' })]);
    expect(await store.chat.draft('draft-1')).toMatchObject({ status: 'submitted', chat_request_id: r.request.id });
    expect(await submit.prepare(USER, 'draft-1', {})).toEqual({ kind: 'alreadySubmitted', request: r.request });
    await store.close();
  });

  it('sends nothing when PIM no longer lists the role for the user', async () => {
    const { store, audited, submit } = await setUp();
    const ready = await submit.prepare(USER, 'draft-1', VALUES);
    if (ready.kind !== 'ready') throw new Error(`expected a ready draft, got ${ready.kind}`);
    const activate = jest.fn();
    const r = await submit.submit({ ...ready, userId: USER, pim: { eligible: async () => [], activate }, statusMessage: PLACE });
    expect(r).toEqual({ kind: 'notEligible', target: ready.target });
    expect(activate).not.toHaveBeenCalled();
    expect(audited).toEqual([]);
    expect(await store.chat.draft('draft-1')).toMatchObject({ status: 'discarded' });
    await store.close();
  });

  it('reopens the draft and audits the refusal when PIM refuses', async () => {
    const { store, audited, submit } = await setUp();
    const ready = await submit.prepare(USER, 'draft-1', VALUES);
    if (ready.kind !== 'ready') throw new Error(`expected a ready draft, got ${ready.kind}`);
    const pim = {
      eligible: async () => [ROLE],
      activate: async () => {
        throw new Error('socket hang up');
      },
    };
    const r = await submit.submit({ ...ready, userId: USER, pim, statusMessage: PLACE });
    expect(r).toMatchObject({ kind: 'refused', refusal: { kind: 'other' }, retry: null });
    expect(audited).toEqual([expect.objectContaining({ outcome: 'refused', pimRequestId: null })]);
    expect(await store.chat.draft('draft-1')).toMatchObject({ status: 'open' });
    await store.close();
  });

  it('turns a policy refusal into the form to fill again', () => {
    const retry = policyRetry(['TicketingRule', 'ExpirationRule'], ROLE, POLICY, { ...VALUES, durationMinutes: 600 });
    expect(retry.policyPatch).toEqual({ ticketRequired: true });
    expect(retry.values.durationMinutes).toBe(480);
    expect(retry.problems).toHaveLength(2);
  });
});
