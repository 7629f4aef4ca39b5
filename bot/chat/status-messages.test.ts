import pino from 'pino';
import { Store } from '../../services/store/store';
import type { ChatNotifier } from '../chat-notifier';
import { ChatStatusMessages, patchFromApproval } from './status-messages';

const T0 = new Date('2026-11-23T10:00:00Z');

function fakeNotifier() {
  const sent: Array<{ card: any }> = [];
  const updated: Array<{ activityId: string; card: any }> = [];
  let failures = 0;
  const n: ChatNotifier = {
    postCard: async () => 'x',
    updateCard: async () => undefined,
    sendText: async () => undefined,
    replyInThread: async () => 'r',
    sendCardTo: async (_ref, card) => {
      if (failures-- > 0) throw new Error('Teams is down');
      sent.push({ card });
      return `m${sent.length}`;
    },
    updateCardAt: async (_ref, activityId, card) => {
      if (failures-- > 0) throw new Error('Teams is down');
      updated.push({ activityId, card });
    },
  };
  return { n, sent, updated, fail: (k: number) => (failures = k) };
}

async function setup(now: { t: Date }) {
  const store = await Store.open('sqlite::memory:');
  const notifier = fakeNotifier();
  const status = new ChatStatusMessages({ chat: store.chat, store, notifier: notifier.n, log: pino({ level: 'silent' }), now: () => now.t });
  return { store, notifier, status };
}

function chatRow(over: Record<string, unknown> = {}) {
  const at = T0.toISOString();
  return {
    id: '11111111-1111-4111-8111-111111111111', user_id: 'alex', kind: 'entraRole', role_definition_id: 'role-1', scope: '/', role_title: 'Security Operator',
    pim_request_id: 'pim-1', approval_key: 'pim-1', duration_minutes: 120, ticket_system: 'ServiceNow', ticket_number: 'INC0012345', justification: 'investigating alert',
    state: 'pending', approver_names: '["Megan Bowen"]', decided_by_name: null, decided_at: null, decision_justification: null, decision_service: null,
    active_from: null, active_until: null, ended_at: null, message: null, conversation_ref: '{"conversation":{"id":"a:1"}}', activity_id: 'm0',
    version: 1, rendered_version: 1, time_zone: 'UTC', created_at: at, updated_at: at, ...over,
  };
}

describe('status messages of chat requests', () => {
  it('turns an approval into "active until" the approval time plus the duration', () => {
    const approval = { status: 'approved', decided_by_name: 'Megan Bowen', decided_by_upn: 'meganb@contoso.example', decided_at: '2026-11-23T10:05:00.000Z', decision_justification: 'confirmed', start_at: '2026-11-23T10:00:00.000Z' } as any;
    expect(patchFromApproval(chatRow() as any, approval, undefined, T0)).toMatchObject({
      state: 'active', decided_by_name: 'Megan Bowen', decision_justification: 'confirmed', active_from: '2026-11-23T10:05:00.000Z', active_until: '2026-11-23T12:05:00.000Z',
    });
    expect(patchFromApproval(chatRow() as any, { ...approval, status: 'denied' }, undefined, T0)).toMatchObject({ state: 'denied', decided_by_name: 'Megan Bowen' });
    expect(patchFromApproval(chatRow() as any, { ...approval, status: 'pending', decided_at: null }, undefined, T0)).toBeUndefined();
    // A post-approval event's end time wins over the computed one.
    expect(patchFromApproval(chatRow() as any, approval, { outcome: 'activated', activeUntil: new Date('2026-11-23T11:00:00Z') }, T0)).toMatchObject({ active_until: '2026-11-23T11:00:00.000Z' });
  });

  it('rewrites the message in place when the approval changes, and ends it when the time is up', async () => {
    const now = { t: T0 };
    const { store, notifier, status } = await setup(now);
    await store.chat.insertRequest(chatRow());
    const approval = { pim_request_id: 'pim-1', kind: 'entraRole', status: 'approved', decided_by_name: 'Megan Bowen', decided_by_upn: null, decided_at: '2026-11-23T10:05:00.000Z', decision_justification: 'confirmed', start_at: null } as any;
    expect(await status.onApprovalChanged(approval)).toBe(true);
    expect(notifier.updated).toHaveLength(1);
    expect(notifier.updated[0]!.activityId).toBe('m0');
    expect(JSON.stringify(notifier.updated[0]!.card)).toContain('Active until');

    now.t = new Date('2026-11-23T12:06:00Z');
    await status.sweep();
    const row = await store.chat.request(chatRow().id);
    expect(row).toMatchObject({ state: 'ended', ended_at: '2026-11-23T12:05:00.000Z' });
    expect(notifier.updated).toHaveLength(2);
    expect(JSON.stringify(notifier.updated[1]!.card)).toContain('Ended');
    await store.close();
  });

  it('keeps a message Teams did not take as owed, and the sweep delivers it', async () => {
    const now = { t: T0 };
    const { store, notifier, status } = await setup(now);
    await store.chat.insertRequest(chatRow());
    notifier.fail(1);
    await status.onApprovalChanged({ pim_request_id: 'pim-1', kind: 'entraRole', status: 'denied', decided_by_name: 'Megan Bowen', decided_at: T0.toISOString(), decision_justification: 'no ticket' } as any);
    expect(notifier.updated).toHaveLength(0);
    expect((await store.chat.staleMessages()).map((r) => r.id)).toEqual([chatRow().id]);
    await status.sweep();
    expect(notifier.updated).toHaveLength(1);
    expect(JSON.stringify(notifier.updated[0]!.card)).toContain('no ticket');
    expect(await store.chat.staleMessages()).toHaveLength(0);
    await store.close();
  });

  it('does nothing for approvals no chat request follows', async () => {
    const { store, status } = await setup({ t: T0 });
    expect(await status.onApprovalChanged({ pim_request_id: 'other', kind: 'entraRole', status: 'approved' } as any)).toBe(false);
    await store.close();
  });
});
