import pino from 'pino';
import { renderSummary } from '../../test/support/outbox-cards';
import { fakeClock, fakeSender, memoryStore } from '../../test/support/outbox-store';
import { GraphCallError } from '../graph/graph-errors';
import type { AdminSchedules } from '../graph/admin-schedules';
import { requestedEndOf } from '../graph/extension-requests';
import { Outbox } from '../outbox/outbox';
import type { Store } from '../store/store';
import { type AskTarget, defaultEndDate, ExtensionDesk, type ExtensionReads, minEndDate, newEndOf, type PendingExtensionRequest } from './extension-desk';

const ADMIN = 'adele';
const REQUESTER = 'alex';
const CHANNEL = { conversationId: '19:admins@thread.tacv2', serviceUrl: 'https://smba.example/' };
const DAY = 86_400_000;

describe('extension dates', () => {
  const now = new Date('2026-03-02T08:00:00Z');
  test('the new end is the chosen day at the current end’s time of day, else the day’s last second (UTC)', () => {
    expect(newEndOf('2026-06-01', '2026-03-11T14:30:00Z')).toBe('2026-06-01T14:30:00.000Z');
    expect(newEndOf('2026-06-01', null)).toBe('2026-06-01T23:59:59.000Z');
    expect(newEndOf('01/06/2026', null)).toBeNull();
    expect(newEndOf(null, null)).toBeNull();
  });
  test('the date input offers the end asked for, else 90 days past the later of today and the current end', () => {
    expect(defaultEndDate({ requested_end: '2026-06-09T08:00:00Z', current_end: '2026-03-11T08:00:00Z' }, now)).toBe('2026-06-09');
    expect(defaultEndDate({ requested_end: null, current_end: '2026-03-11T08:00:00Z' }, now)).toBe('2026-06-09');
    expect(defaultEndDate({ requested_end: null, current_end: '2026-02-20T08:00:00Z' }, now)).toBe('2026-05-31');
    expect(minEndDate({ current_end: '2026-03-11T08:00:00Z' }, now)).toBe('2026-03-12');
    expect(minEndDate({ current_end: null }, now)).toBe('2026-03-03');
  });
  test("a request's asked-for end: its end date, or its start plus its duration, else none", () => {
    expect(requestedEndOf({ startDateTime: '2026-03-02T08:00:00Z', expiration: { type: 'afterDuration', duration: 'P90D' } })).toBe('2026-05-31T08:00:00.000Z');
    expect(requestedEndOf({ expiration: { type: 'afterDateTime', endDateTime: '2026-07-01T00:00:00Z' } })).toBe('2026-07-01T00:00:00.000Z');
    expect(requestedEndOf({ expiration: { type: 'notSpecified' } })).toBeNull();
    expect(requestedEndOf(null)).toBeNull();
  });
});

describe('extension desk: one PIM call per decision, whatever fails', () => {
  let store: Store;
  let outbox: Outbox;
  const clock = fakeClock();
  let pending: PendingExtensionRequest[];
  let end: string | null | undefined;
  let adminsRead: () => Promise<{ ids: string[]; names: string[] }>;

  beforeEach(async () => {
    store = await memoryStore();
    outbox = new Outbox({ renderSummary, db: store.db, sender: fakeSender(clock), now: clock.now, random: () => 1 });
    end = new Date(clock.now().getTime() + 9 * DAY).toISOString();
    pending = [
      {
        pimRequestId: 'pim-1',
        kind: 'entraRole',
        roleDefinitionId: 'role-secop',
        scope: '/',
        principalId: REQUESTER,
        assignment: 'eligible',
        action: 'extend',
        reason: 'Still on the rota',
        requestedEnd: null,
        createdAt: clock.now().toISOString(),
      },
    ];
    adminsRead = async () => ({ ids: [ADMIN, 'diego'], names: ['Adele Vance', 'Diego Siciliani'] });
  });
  afterEach(() => store.close());

  function desk() {
    const reads: ExtensionReads = {
      pending: async () => pending,
      status: async (_ask) => 'PendingAdminDecision',
      currentEnd: async (_t: AskTarget) => end,
    };
    return new ExtensionDesk({
      asks: store.extensionAsks,
      conversations: store.conversations,
      audit: store.audit,
      reads,
      directory: {
        user: async (id) => ({ id, displayName: id, userPrincipalName: `${id}@contoso.com`, jobTitle: null, department: null, mail: null }),
        roleDisplayName: async () => 'Security Operator',
        groupOwners: async () => [],
      },
      admins: { of: () => adminsRead() },
      history: null,
      hr: null,
      outbox,
      render: (row) => ({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: row.status }] }),
      adminChannel: CHANNEL,
      minNote: 10,
      log: pino({ level: 'silent' }),
      now: clock.now,
    });
  }
  const day = (days: number) => new Date(clock.now().getTime() + days * DAY).toISOString().slice(0, 10);
  const audits = async () => (await store.db.selectFrom('audit_log').selectAll().where('kind', '=', 'extension.decision').execute()).map((a) => a.outcome);

  async function oneAsk(d: ExtensionDesk): Promise<string> {
    expect(await d.discover()).toBe(1);
    expect(await d.discover()).toBe(0);
    const [row] = await store.extensionAsks.inStatus(['open']);
    return row!.id;
  }

  test('two administrators clicking at once make one PIM call; the second is told another is deciding', async () => {
    const d = desk();
    const askId = await oneAsk(d);
    let calls = 0;
    let release!: () => void;
    const slow: AdminSchedules = {
      apply: async () => {
        calls++;
        await new Promise<void>((r) => (release = r));
        return { pimRequestId: 'admin-1', status: 'Provisioned' };
      },
    };
    const first = d.decide(askId, { id: ADMIN, name: 'Adele Vance' }, 'apply', { endDate: day(100), note: 'Quarter rota continues' }, slow);
    // The first click holds the claim once its PIM call has begun.
    for (const giveUp = Date.now() + 10_000; calls === 0 && Date.now() < giveUp; ) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toBe(1);
    const second = await d.decide(askId, { id: 'diego', name: 'Diego Siciliani' }, 'apply', { endDate: day(120), note: 'Quarter rota continues' }, slow);
    expect(second).toMatchObject({ kind: 'shown', message: 'Another administrator is deciding this right now.' });
    release();
    expect(await first).toMatchObject({ kind: 'shown', row: { status: 'extended', decided_by_name: 'Adele Vance' } });
    expect(calls).toBe(1);
    expect(await audits()).toEqual(['extended']);
  });

  test('a PIM answer lost after PIM made the change counts as done, once', async () => {
    const d = desk();
    const askId = await oneAsk(d);
    const lost: AdminSchedules = {
      apply: async (_t, _a, newEnd) => {
        end = newEnd; // PIM applied it ...
        throw new GraphCallError(504, 'Timeout', 'Extending the assignment: Microsoft Graph did not answer in time.'); // ... and the answer was lost
      },
    };
    const r = await d.decide(askId, { id: ADMIN, name: 'Adele Vance' }, 'apply', { endDate: day(100), note: 'Quarter rota continues' }, lost);
    expect(r).toMatchObject({ kind: 'shown', row: { status: 'extended' } });
    expect(await audits()).toEqual(['extended']);
  });

  test("PIM's refusal reopens the card with PIM's words; nothing is recorded as decided", async () => {
    const d = desk();
    const askId = await oneAsk(d);
    const refusing: AdminSchedules = {
      apply: async () => {
        throw new GraphCallError(403, 'Forbidden', 'Extending the assignment: the caller may not extend assignments of this role.');
      },
    };
    const r = await d.decide(askId, { id: ADMIN, name: 'Adele Vance' }, 'apply', { endDate: day(100), note: 'Quarter rota continues' }, refusing);
    expect(r).toMatchObject({ kind: 'pimRefused', message: expect.stringContaining('may not extend') });
    expect((await store.extensionAsks.get(askId))!).toMatchObject({ status: 'open', decided_by_id: null });
    expect(await audits()).toEqual(['failed']);
  });

  test('refuses, changing nothing: the requester, a non-administrator, an unreadable administrator list, a past date', async () => {
    const d = desk();
    const askId = await oneAsk(d);
    const never: AdminSchedules = {
      apply: async () => {
        throw new Error('PIM must not be called');
      },
    };
    const note = 'Quarter rota continues';
    expect(await d.decide(askId, { id: REQUESTER, name: 'Alex' }, 'apply', { endDate: day(100), note }, never)).toMatchObject({ kind: 'refused' });
    expect(await d.decide(askId, { id: 'megan', name: 'Megan' }, 'decline', { endDate: null, note }, never)).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('Only Privileged Role Administrators and Global Administrators (Adele Vance, Diego Siciliani)'),
    });
    expect(await d.decide(askId, { id: ADMIN, name: 'Adele' }, 'apply', { endDate: day(5), note }, never)).toMatchObject({
      kind: 'refused',
      message: 'The new end must be later than the current end.',
    });
    adminsRead = async () => {
      throw new GraphCallError(503, 'ServiceUnavailable', 'Reading the role holders: Graph is down');
    };
    expect(await d.decide(askId, { id: ADMIN, name: 'Adele' }, 'apply', { endDate: day(100), note }, never)).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('could not read from PIM who may decide'),
    });
    expect((await store.extensionAsks.get(askId))!.status).toBe('open');
    expect(await audits()).toEqual([]);
  });

  test('a decision left recording by a crash is settled from the assignment’s end', async () => {
    const d = desk();
    const askId = await oneAsk(d);
    await store.extensionAsks.move(askId, 'open', 'recording', { claimed_by: ADMIN }, clock.now());
    end = new Date(clock.now().getTime() + 100 * DAY).toISOString(); // PIM applied it before the crash
    clock.advance(3 * 60_000);
    await d.sweep();
    expect((await store.extensionAsks.get(askId))!).toMatchObject({ status: 'extended', decided_by_id: ADMIN, new_end: end });
    expect(await audits()).toEqual(['extended_settled']);
  });
});
