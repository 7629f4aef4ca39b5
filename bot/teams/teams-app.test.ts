import type { IncomingMessage } from 'node:http';
import { refuseMalformedActivity, refuseNonJsonActivity } from './teams-app';

/** A card action as Teams sends it (the shape test/support/harness.ts uses). */
const cardAction = {
  type: 'invoke',
  name: 'adaptiveCard/action',
  id: 'invoke-1',
  channelId: 'msteams',
  serviceUrl: 'https://smba.trafficmanager.net/teams/',
  from: { id: '29:1abc', name: 'Megan Bowen', aadObjectId: '00000000-0000-4000-8000-000000000002' },
  recipient: { id: '28:bot', name: 'PIM Approvals' },
  conversation: { id: '19:approvers@thread.tacv2', isGroup: true, conversationType: 'channel', tenantId: 't1' },
  channelData: { tenant: { id: 't1' } },
  value: { action: { type: 'Action.Execute', verb: 'pim.refresh', data: { requestId: 'x' } } },
};

describe('the envelope of an activity on /api/messages', () => {
  const accepted: Array<[string, unknown]> = [
    ['a card action', cardAction],
    [
      'a personal message',
      {
        ...cardAction,
        type: 'message',
        name: undefined,
        value: undefined,
        text: 'activate **User Administrator**',
        conversation: { id: 'a:1', conversationType: 'personal', tenantId: 't1' },
      },
    ],
    ['a members-added update without text', { ...cardAction, type: 'conversationUpdate', name: undefined, value: undefined, membersAdded: [{ id: '28:bot' }] }],
    ['null where a channel sends null', { ...cardAction, replyToId: null, text: null, from: { ...cardAction.from, aadObjectId: null } }],
  ];
  it.each(accepted)('lets %s through', (_name, body) => {
    expect(refuseMalformedActivity(body)).toBeNull();
  });

  const refused: Array<[string, unknown, string]> = [
    ['a JSON array', [cardAction], ''],
    ['no type', { ...cardAction, type: undefined }, 'type'],
    ['a type that is no string', { ...cardAction, type: 42 }, 'type'],
    ['no service URL', { ...cardAction, serviceUrl: undefined }, 'serviceUrl'],
    ['a service URL that is no http(s) URL', { ...cardAction, serviceUrl: 'file:///etc/passwd' }, 'serviceUrl'],
    ['an Entra object id that is no string', { ...cardAction, from: { ...cardAction.from, aadObjectId: 42 } }, 'from.aadObjectId'],
    ['an empty conversation id', { ...cardAction, conversation: { id: '' } }, 'conversation.id'],
    ['no sender', { ...cardAction, from: undefined }, 'from'],
  ];
  it.each(refused)('refuses %s with 400 naming the field', (_name, body, field) => {
    const result = refuseMalformedActivity(body);
    expect(result?.status).toBe(400);
    expect(result?.body).toMatchObject({ error: { code: 'invalid_activity', message: expect.stringMatching(/activity/) } });
    expect((result!.body as { error: { field?: string } }).error.field ?? '').toBe(field);
  });

  it.each([
    ['application/json', null],
    ['application/json; charset=utf-8', null],
    ['multipart/form-data; boundary=x', 415],
    ['application/x-www-form-urlencoded', 415],
    [undefined, 415],
  ])('answers Content-Type %s with %s', (contentType, status) => {
    const req = { headers: contentType ? { 'content-type': contentType } : {} } as IncomingMessage;
    expect(refuseNonJsonActivity(req)?.status ?? null).toBe(status);
  });
});
