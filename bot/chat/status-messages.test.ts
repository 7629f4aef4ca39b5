import pino from 'pino';
import type { OutboxDelivery } from '../../services/outbox/outbox';
import type { CopyFinding } from '../../services/outbox/sent-copies';
import { Store } from '../../services/store/store';
import { renderSummary } from '../../test/support/outbox-cards';
import type { ChatNotifier } from '../teams/chat-notifier';
import { ChatStatusMessages, patchFromApproval } from './status-messages';

const T0 = new Date('2026-11-23T10:00:00Z');

function fakeNotifier() {
  const sent: Array<{ card: any }> = [];
  const updated: Array<{ activityId: string; card: any }> = [];
  let failures = 0;
  const n: ChatNotifier = {
    postCard: async () => 'x',
    updateCard: async () => undefined,
    sendText: async () => '',
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
    deleteMessage: async () => undefined,
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
    id: '11111111-1111-4111-8111-111111111111',
    user_id: 'alex',
    kind: 'entraRole',
    role_definition_id: 'role-1',
    scope: '/',
    role_title: 'Security Operator',
    pim_request_id: 'pim-1',
    approval_key: 'pim-1',
    duration_minutes: 120,
    ticket_system: 'ServiceNow',
    ticket_number: 'INC0012345',
    justification: 'investigating alert',
    state: 'pending',
    approver_names: '["Megan Bowen"]',
    decided_by_name: null,
    decided_at: null,
    decision_justification: null,
    decision_service: null,
    active_from: null,
    active_until: null,
    ended_at: null,
    message: null,
    conversation_ref: '{"conversation":{"id":"a:1"}}',
    activity_id: 'm0',
    version: 1,
    rendered_version: 1,
    time_zone: 'UTC',
    created_at: at,
    updated_at: at,
    ...over,
  };
}

describe('status messages of chat requests', () => {
  it('turns an approval into "active until" the approval time plus the duration', () => {
    const approval = {
      status: 'approved',
      decided_by_name: 'Megan Bowen',
      decided_by_upn: 'meganb@contoso.example',
      decided_at: '2026-11-23T10:05:00.000Z',
      decision_justification: 'confirmed',
      start_at: '2026-11-23T10:00:00.000Z',
    } as any;
    expect(patchFromApproval(chatRow() as any, approval, undefined, T0)).toMatchObject({
      state: 'active',
      decided_by_name: 'Megan Bowen',
      decision_justification: 'confirmed',
      active_from: '2026-11-23T10:05:00.000Z',
      active_until: '2026-11-23T12:05:00.000Z',
    });
    expect(patchFromApproval(chatRow() as any, { ...approval, status: 'denied' }, undefined, T0)).toMatchObject({
      state: 'denied',
      decided_by_name: 'Megan Bowen',
    });
    expect(patchFromApproval(chatRow() as any, { ...approval, status: 'pending', decided_at: null }, undefined, T0)).toBeUndefined();
    // A post-approval event's end time wins over the computed one.
    expect(patchFromApproval(chatRow() as any, approval, { outcome: 'activated', activeUntil: new Date('2026-11-23T11:00:00Z') }, T0)).toMatchObject({
      active_until: '2026-11-23T11:00:00.000Z',
    });
  });

  it('rewrites the message in place when the approval changes, and ends it when the time is up', async () => {
    const now = { t: T0 };
    const { store, notifier, status } = await setup(now);
    await store.chat.insertRequest(chatRow());
    const approval = {
      pim_request_id: 'pim-1',
      kind: 'entraRole',
      status: 'approved',
      decided_by_name: 'Megan Bowen',
      decided_by_upn: null,
      decided_at: '2026-11-23T10:05:00.000Z',
      decision_justification: 'confirmed',
      start_at: null,
    } as any;
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
    await status.onApprovalChanged({
      pim_request_id: 'pim-1',
      kind: 'entraRole',
      status: 'denied',
      decided_by_name: 'Megan Bowen',
      decided_at: T0.toISOString(),
      decision_justification: 'no ticket',
    } as any);
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

describe('status messages through the outbox', () => {
  it('posts once per request and rewrites once per version; a lost answer is found, not posted again', async () => {
    const now = { t: T0 };
    const store = await Store.open('sqlite::memory:');
    const sends: Array<{ kind: string; activityId: string | null; card: string }> = [];
    let answerLost = true;
    const sender = {
      async send(d: OutboxDelivery) {
        sends.push({ kind: d.kind, activityId: d.activityId, card: JSON.stringify(d.payload) });
        // Teams takes the first post, but its answer never arrives.
        if (d.kind === 'post' && answerLost) {
          answerLost = false;
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return { activityId: d.kind === 'post' ? 'm-status' : d.activityId! };
      },
    };
    const finder = { find: async (): Promise<CopyFinding> => ({ status: 'found', activityIds: ['m-status'] }) };
    const outbox = store.outbox({ sender, finder, renderSummary, now: () => now.t, random: () => 1 });
    const status = new ChatStatusMessages({ chat: store.chat, store, notifier: fakeNotifier().n, log: pino({ level: 'silent' }), now: () => now.t, outbox });
    await store.chat.insertRequest(
      chatRow({
        activity_id: null,
        rendered_version: 0,
        conversation_ref: '{"conversation":{"id":"a:1"},"serviceUrl":"https://smba.trafficmanager.net/emea/"}',
      }),
    );

    await status.deliver(chatRow().id);
    await status.deliver(chatRow().id);
    await outbox.drain();
    now.t = new Date(T0.getTime() + 5_000);
    await status.sweep();
    await outbox.drain();
    // One post attempt reached Teams; the retry found it instead of posting a second copy.
    expect(sends.map((s) => s.kind)).toEqual(['post']);
    expect(await store.chat.request(chatRow().id)).toMatchObject({ activity_id: 'm-status', rendered_version: 1 });

    await status.onApprovalChanged({
      pim_request_id: 'pim-1',
      kind: 'entraRole',
      status: 'denied',
      decided_by_name: 'Megan Bowen',
      decided_at: T0.toISOString(),
      decision_justification: 'no ticket',
    } as any);
    await status.sweep();
    await outbox.drain();
    expect(sends.map((s) => [s.kind, s.activityId])).toEqual([
      ['post', null],
      ['update', 'm-status'],
    ]);
    expect(sends[1]!.card).toContain('no ticket');
    expect(await store.chat.request(chatRow().id)).toMatchObject({ rendered_version: 2 });
    await store.close();
  });
});

describe('the "ending soon" message', () => {
  async function setupWithOutbox(now: { t: Date }, endingSoonMinutes: number) {
    const store = await Store.open('sqlite::memory:');
    const sends: Array<{ kind: string; card: string }> = [];
    const sender = {
      async send(d: OutboxDelivery) {
        sends.push({ kind: d.kind, card: JSON.stringify(d.payload) });
        return { activityId: `m-${sends.length}` };
      },
    };
    const finder = { find: async (): Promise<CopyFinding> => ({ status: 'absent' }) };
    const outbox = store.outbox({ sender, finder, renderSummary, now: () => now.t, random: () => 1 });
    const status = new ChatStatusMessages({
      chat: store.chat,
      store,
      notifier: fakeNotifier().n,
      log: pino({ level: 'silent' }),
      now: () => now.t,
      outbox,
      endingSoonMinutes,
    });
    const endingSoonCards = () => sends.filter((s) => s.card.includes('Ending soon'));
    return { store, outbox, status, endingSoonCards };
  }
  const active = (minutes: number) =>
    chatRow({
      state: 'active',
      active_from: T0.toISOString(),
      active_until: new Date(T0.getTime() + minutes * 60_000).toISOString(),
      rendered_version: 1,
      activity_id: 'm-status',
      conversation_ref: '{"conversation":{"id":"a:1"},"serviceUrl":"https://smba.trafficmanager.net/emea/"}',
    });

  it('is sent once, inside the last 15 minutes, with Extend the session and End now on the stored request', async () => {
    const now = { t: new Date(T0.getTime() + 60 * 60_000) };
    const { store, outbox, status, endingSoonCards } = await setupWithOutbox(now, 15);
    await store.chat.insertRequest(active(120));
    await status.sweep();
    await outbox.drain();
    expect(endingSoonCards()).toHaveLength(0);

    now.t = new Date(T0.getTime() + 106 * 60_000); // 14 minutes left
    await status.sweep();
    await outbox.drain();
    now.t = new Date(T0.getTime() + 110 * 60_000);
    await status.sweep();
    await outbox.drain();
    expect(endingSoonCards()).toHaveLength(1);
    const card = JSON.parse(endingSoonCards()[0]!.card).card;
    expect(JSON.stringify(card)).toContain('{{DATE(2026-11-23T12:00:00Z, SHORT)}} {{TIME(2026-11-23T12:00:00Z)}}');
    expect(card.actions.map((a: any) => [a.title, a.verb, a.data])).toEqual([
      ['Extend the session', 'chat.again', { chatRequestId: chatRow().id }],
      ['End now', 'chat.endNow', { chatRequestId: chatRow().id }],
    ]);
    // Once it has ended, nothing more is said about it.
    now.t = new Date(T0.getTime() + 121 * 60_000);
    await status.sweep();
    await outbox.drain();
    expect(endingSoonCards()).toHaveLength(1);
    expect(await store.chat.request(chatRow().id)).toMatchObject({ state: 'ended' });
    await store.close();
  });

  it('is not sent for an activation no longer than the lead (it was just asked for), nor when turned off', async () => {
    const now = { t: new Date(T0.getTime() + 5 * 60_000) };
    const short = await setupWithOutbox(now, 15);
    await short.store.chat.insertRequest(active(10));
    await short.status.sweep();
    await short.outbox.drain();
    expect(short.endingSoonCards()).toHaveLength(0);
    await short.store.close();

    now.t = new Date(T0.getTime() + 110 * 60_000);
    const off = await setupWithOutbox(now, 0);
    await off.store.chat.insertRequest(active(120));
    await off.status.sweep();
    await off.outbox.drain();
    expect(off.endingSoonCards()).toHaveLength(0);
    await off.store.close();
  });
});
