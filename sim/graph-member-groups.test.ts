import type { SimHandle } from './server';
import { DEMO_BOT_APP, GROUP, USER } from './seed';
import { startTestSim } from './test-support';

describe('simulated Microsoft Graph: checkMemberGroups', () => {
  let sim: SimHandle;
  let token: string;
  const check = async (userId: string, body: unknown) => {
    const res = await fetch(`${sim.url}/v1.0/users/${userId}/checkMemberGroups`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeEach(async () => {
    sim = await startTestSim();
    token = await sim.issueToken({
      aud: 'https://graph.microsoft.com',
      idtyp: 'app',
      roles: ['GroupMember.Read.All'],
      appid: DEMO_BOT_APP.clientId,
      azp: DEMO_BOT_APP.clientId,
      oid: 'sp-bot',
    });
  });
  afterEach(() => sim.close());

  it('answers which of the given groups the user is a member of, as a collection of strings', async () => {
    const unknownGroup = '00000000-0000-4000-8000-000000000099';
    const adele = await check(USER.adele, { groupIds: [GROUP.tabAdmins, GROUP.secOpsApprovers, unknownGroup] });
    expect(adele.status).toBe(200);
    expect(adele.body['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#Collection(Edm.String)`);
    expect(adele.body.value).toEqual([GROUP.tabAdmins]);
    expect((await check(USER.megan, { groupIds: [GROUP.tabAdmins, GROUP.secOpsApprovers] })).body.value).toEqual([GROUP.secOpsApprovers]);
    expect((await check(USER.isaiah, { groupIds: [GROUP.tabAdmins] })).body.value).toEqual([]);
  });

  it('refuses a missing body, more than 20 ids and an unknown user', async () => {
    expect((await check(USER.adele, {})).status).toBe(400);
    const many = Array.from({ length: 21 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect((await check(USER.adele, { groupIds: many })).status).toBe(400);
    const unknown = await check('00000000-0000-4000-8000-000000000001', { groupIds: [GROUP.tabAdmins] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('Request_ResourceNotFound');
  });
});
