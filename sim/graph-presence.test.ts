import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { botAppCredential, control, startTestSim } from './test-support';
import { createGraphClient } from '../services/graph/graph-client';
import { GraphPresenceReader } from '../services/graph/presence';
import { GraphCallError } from '../services/graph/graph-errors';

describe('simulated Microsoft Graph: Teams presence', () => {
  let sim: SimHandle;
  const appClaims = (roles: string[]) => ({
    aud: 'https://graph.microsoft.com',
    idtyp: 'app',
    roles,
    appid: DEMO_BOT_APP.clientId,
    azp: DEMO_BOT_APP.clientId,
    oid: 'sp-bot',
  });
  const post = async (body: unknown, token: string, path = '/v1.0/communications/getPresencesByUserId') => {
    const res = await fetch(`${sim.url}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeEach(async () => {
    sim = await startTestSim();
  });
  afterEach(() => sim.close());

  it('answers getPresencesByUserId with the seeded presence in the presence resource shape', async () => {
    const token = await sim.issueToken(appClaims(['Presence.Read.All']));
    const { status, body } = await post({ ids: [USER.megan, USER.patti, USER.adele] }, token);
    expect(status).toBe(200);
    expect(body['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#Collection(microsoft.graph.presence)`);
    const byId = Object.fromEntries((body.value as any[]).map((p) => [p.id, p]));
    expect(byId[USER.megan]).toMatchObject({ availability: 'Busy', activity: 'InAMeeting', outOfOfficeSettings: { isOutOfOffice: false, message: null } });
    expect(byId[USER.patti]).toMatchObject({ availability: 'Offline', activity: 'OffWork', outOfOfficeSettings: { isOutOfOffice: true } });
    expect(byId[USER.adele]).toMatchObject({ availability: 'Available', activity: 'Available' });
    expect(typeof byId[USER.adele].sequenceNumber).toBe('string');
  });

  it('refuses an app token without Presence.Read.All with 403, and bad bodies with 400 saying what is wrong', async () => {
    const without = await sim.issueToken(appClaims(['User.Read.All']));
    const denied = await post({ ids: [USER.megan] }, without);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('Forbidden');
    expect(denied.body.error.message).toContain('Presence.Read.All');

    const token = await sim.issueToken(appClaims(['Presence.Read.All']));
    expect((await post({}, token)).body.error.message).toContain("'ids'");
    const tooMany = await post({ ids: Array.from({ length: 651 }, () => USER.megan) }, token);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('650');
    const notGuid = await post({ ids: ['meganb@contoso.example'] }, token);
    expect(notGuid.status).toBe(400);
    expect(notGuid.body.error.message).toContain('GUID');
  });

  it('changes presence through the control API, and the adapter reads it with the bot app identity', async () => {
    const set = await control(sim, 'POST', '/_sim/presence', { userId: 'adelev@contoso.example', availability: 'Away', outOfOffice: 'Back on Monday' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      id: USER.adele,
      availability: 'Away',
      activity: 'Away',
      outOfOfficeSettings: { isOutOfOffice: true, message: 'Back on Monday' },
    });
    expect((await control(sim, 'POST', '/_sim/presence', { userId: USER.adele, availability: 'Gone fishing' })).status).toBe(400);
    expect((await control(sim, 'POST', '/_sim/presence', { userId: 'nobody@contoso.example', availability: 'Away' })).status).toBe(400);

    const reader = new GraphPresenceReader(createGraphClient(sim.url, botAppCredential(sim)));
    const seen = await reader.presences([USER.adele, USER.megan.toUpperCase(), USER.alex]);
    expect(seen.get(USER.adele)).toEqual({ id: USER.adele, availability: 'Away', activity: 'Away', outOfOffice: true });
    expect(seen.get(USER.megan)).toEqual({ id: USER.megan, availability: 'Busy', activity: 'InAMeeting', outOfOffice: false });
    expect(seen.get(USER.alex)?.availability).toBe('Available');
  });

  it('reads more than 650 users in several calls, and reports a failing Graph as a GraphCallError', async () => {
    const reader = new GraphPresenceReader(createGraphClient(sim.url, botAppCredential(sim)));
    const ids = [USER.alex, ...Array.from({ length: 700 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)];
    await control(sim, 'DELETE', '/_sim/calls');
    const seen = await reader.presences(ids);
    expect([...seen.keys()]).toEqual([USER.alex]);
    const calls = (await control(sim, 'GET', '/_sim/calls')).body.value.filter((c: any) => /getPresencesByUserId/.test(c.path));
    expect(calls).toHaveLength(2);

    sim.faults.add({ pathPattern: 'getPresencesByUserId', status: 403 });
    await expect(reader.presences([USER.alex])).rejects.toMatchObject({ name: 'GraphCallError', status: 403, code: 'Forbidden' });
    await expect(reader.presences([USER.alex])).rejects.toBeInstanceOf(GraphCallError);
  });
});
