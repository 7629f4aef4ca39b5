import pino from 'pino';
import type { AuditEntry } from '../audit/audit-trail';
import type { ExpiredTarget } from '../elevation/types';
import { GraphCallError } from '../graph/graph-errors';
import { type AdminAsk, DigestActionFlow } from './digest-actions';

const NOW = new Date('2026-11-23T08:00:00Z');
const USER = 'aaaaaaaa-0000-0000-0000-000000000005';
const OWNER = 'aaaaaaaa-0000-0000-0000-000000000002';
const EXO: ExpiredTarget = { kind: 'entraRole', roleDefinitionId: 'exo', scope: '/', displayName: 'Exchange Administrator', endedAt: '2026-11-20T08:00:00Z' };
const SQL: ExpiredTarget = {
  kind: 'group',
  roleDefinitionId: 'member',
  scope: 'sql-group',
  displayName: 'SQL Admins (member)',
  endedAt: '2026-11-18T08:00:00Z',
};
const CHANNEL = { conversationId: '19:admins', serviceUrl: 'https://smba.example/' };

function setup(renew: (t: ExpiredTarget) => Promise<{ pimRequestId: string; status: string; createdDateTime: string | null }>) {
  const asks: AdminAsk[] = [];
  const audit: AuditEntry[] = [];
  const replies: string[] = [];
  const renewed: Array<{ target: unknown; justification: string }> = [];
  const flow = new DigestActionFlow({
    requests: { get: async () => undefined },
    reviews: { record: async () => undefined } as never,
    audit: { record: async (e: AuditEntry) => audit.push(e) },
    directory: {
      user: async (id: string) => ({ id, displayName: id === OWNER ? 'Megan Bowen' : 'Patti Fernandez', userPrincipalName: `${id}@contoso.example` }) as never,
      groupOwners: async () => [OWNER],
    },
    notifier: {
      postCard: async () => 'activity-1',
      replyInThread: async (_t: unknown, _root: string, text: string) => {
        replies.push(text);
        return 'reply-1';
      },
    },
    renderers: {
      adminAskCard: (d: { requester: string; ask: AdminAsk }) => {
        asks.push(d.ask);
        return {};
      },
    },
    adminChannel: CHANNEL,
    log: pino({ level: 'silent' }),
    now: () => NOW,
  });
  const pim = {
    expired: async (now: Date) => {
      expect(now).toEqual(NOW);
      return [EXO, SQL];
    },
    renew: async (t: ExpiredTarget, input: { justification: string }) => {
      renewed.push({ target: t, justification: input.justification });
      return renew(t);
    },
  };
  return { flow, pim, asks, audit, replies, renewed };
}

describe('renewing an expired eligibility (DigestActionFlow.renew)', () => {
  it('files selfRenew for a role, as PIM lists it, and audits it', async () => {
    const s = setup(async () => ({ pimRequestId: 'pim-1', status: 'PendingAdminDecision', createdDateTime: null }));
    const out = await s.flow.renew(USER, { kind: 'entraRole', roleDefinitionId: 'EXO', scope: '/' }, s.pim, 'chat');
    expect(out).toEqual({ kind: 'requested', displayName: 'Exchange Administrator', status: 'PendingAdminDecision', endedAt: EXO.endedAt });
    expect(s.renewed).toEqual([{ target: EXO, justification: 'Renewal of an expired eligibility requested in Teams' }]);
    expect(s.asks).toEqual([]);
    expect(s.audit).toHaveLength(1);
    expect(s.audit[0]).toMatchObject({
      kind: 'digest.action',
      actor: USER,
      outcome: 'requested',
      pimRequestId: 'pim-1',
      details: {
        action: 'renew',
        target: { kind: 'entraRole', roleDefinitionId: 'exo', scope: '/', assignment: 'expired' },
        pimStatus: 'PendingAdminDecision',
      },
    });
  });

  it("asks the admins (and the group's owners) for a group, which PIM cannot self-renew; PIM gets nothing", async () => {
    const s = setup(async () => {
      throw new Error('no PIM call for a group');
    });
    const out = await s.flow.renew(USER, { kind: 'group', roleDefinitionId: 'member', scope: 'sql-group' }, s.pim);
    expect(out).toEqual({ kind: 'adminsAsked', displayName: 'SQL Admins (member)', endedAt: SQL.endedAt, posted: true, owners: ['Megan Bowen'] });
    expect(s.asks).toEqual([{ action: 'renew', displayName: 'SQL Admins (member)', endedAt: SQL.endedAt }]);
    expect(s.replies).toEqual(['<at>Megan Bowen</at>: you own this group, so its PIM assignments are yours to manage.']);
    expect(s.renewed).toEqual([]);
    expect(s.audit.map((e) => [e.outcome, (e.details as { action: string }).action])).toEqual([['admins_asked', 'renew']]);
  });

  it('answers "not listed" for what PIM does not list as expired, and passes on a refusal', async () => {
    const s = setup(async () => {
      throw new GraphCallError(400, 'PendingRoleAssignmentRequest', 'There is already an existing pending Role assignment request.');
    });
    expect(await s.flow.renew(USER, { kind: 'entraRole', roleDefinitionId: 'ga', scope: '/' }, s.pim)).toEqual({ kind: 'notListed' });
    expect(s.renewed).toEqual([]);
    const out = await s.flow.renew(USER, { kind: 'entraRole', roleDefinitionId: 'exo', scope: '/' }, s.pim);
    expect(out).toEqual({ kind: 'refused', displayName: 'Exchange Administrator', refusal: { kind: 'alreadyPending' } });
    expect(s.audit.map((e) => [e.outcome, (e.details as { pimStatus: string }).pimStatus])).toEqual([['refused', 'alreadyPending']]);
  });
});
