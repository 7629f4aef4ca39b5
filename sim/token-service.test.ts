import { decodeJwt } from 'jose';
import { MicrosoftAppCredentials } from 'botframework-connector';
// The class botbuilder's CloudAdapter uses for OAuthUrl; not re-exported from the package index.
import { UserTokenClientImpl } from 'botframework-connector/lib/auth/userTokenClientImpl';
import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { control, startTestSim } from './test-support';

describe('simulated Bot Framework token service', () => {
  let sim: SimHandle;
  let client: UserTokenClientImpl;
  beforeAll(async () => {
    sim = await startTestSim();
    // Anonymous, like the demo bot without Bot Framework credentials.
    client = new UserTokenClientImpl('', new MicrosoftAppCredentials('', ''), sim.url);
  });
  afterAll(() => sim.close());

  it('returns a user token for a signed-in Teams user, keyed by the Teams user id', async () => {
    const t = await client.getUserToken('user-id-1', 'GraphConnection', 'msteams', undefined as unknown as string);
    expect(t).toMatchObject({ channelId: 'msteams', connectionName: 'GraphConnection', token: expect.any(String), expiration: expect.any(String) });
    expect(decodeJwt(t.token)).toMatchObject({ oid: USER.megan, aud: `api://botid-${DEMO_BOT_APP.clientId}`, scp: 'access_as_user' });
  });

  it('hands out the stored token again until the session changes, as the service keeps it', async () => {
    const first = await client.getUserToken('user-id-1', 'GraphConnection', 'msteams', undefined as unknown as string);
    const again = await client.getUserToken('user-id-1', 'GraphConnection', 'msteams', undefined as unknown as string);
    expect(again.token).toBe(first.token);
    await control(sim, 'POST', '/_sim/signin', { user: 'meganb@contoso.example' });
    const after = await client.getUserToken('user-id-1', 'GraphConnection', 'msteams', undefined as unknown as string);
    expect(after.token).not.toBe(first.token);
    expect(decodeJwt(after.token).oid).toBe(USER.megan);
  });

  it('reports no token after sign-out and until the user signs in again', async () => {
    await client.signOutUser('user-id-2', 'GraphConnection', 'msteams');
    expect((await client.getUserToken('user-id-2', 'GraphConnection', 'msteams', undefined as unknown as string))?.token).toBeUndefined();
    await control(sim, 'POST', '/_sim/signin', { user: 'adelev@contoso.example' });
    expect((await client.getUserToken('user-id-2', 'GraphConnection', 'msteams', undefined as unknown as string)).token).toEqual(expect.any(String));
    await control(sim, 'POST', '/_sim/signout', { user: 'adelev@contoso.example' });
    const raw = await fetch(`${sim.url}/api/usertoken/GetToken?userId=user-id-2&connectionName=GraphConnection&channelId=msteams`);
    expect(raw.status).toBe(404);
  });

  it('exchanges a Teams SSO token of the same user and signs them in', async () => {
    const sso = await sim.issueUserAssertion(USER.adele);
    const res = await client.exchangeToken('user-id-2', 'GraphConnection', 'msteams', { token: sso });
    expect(res.token).toEqual(expect.any(String));
    expect(decodeJwt(res.token).oid).toBe(USER.adele);
    expect(sim.state.isSignedIn(USER.adele)).toBe(true);
  });

  it("refuses to exchange another user's token or a forged one", async () => {
    const raw = async (token: string) =>
      fetch(`${sim.url}/api/usertoken/exchange?userId=user-id-3&connectionName=GraphConnection&channelId=msteams`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    const other = await raw(await sim.issueUserAssertion(USER.megan));
    expect(other.status).toBe(400);
    expect(((await other.json()) as any).error.code).toBe('ServiceError');
    // What botbuilder sees (it answers Teams 412 when no token comes back).
    const viaClient = await client
      .exchangeToken('user-id-3', 'GraphConnection', 'msteams', { token: await sim.issueUserAssertion(USER.megan) })
      .catch(() => undefined);
    expect(viaClient?.token).toBeUndefined();
    const forged = await raw(await sim.issueToken({ aud: `api://botid-${DEMO_BOT_APP.clientId}`, oid: USER.isaiah }, { signWith: 'foreign' }));
    expect(forged.status).toBe(400);
  });

  it('refuses a bearer that the simulated Entra did not issue', async () => {
    const res = await fetch(`${sim.url}/api/usertoken/GetToken?userId=user-id-1&connectionName=c&channelId=msteams`, {
      headers: { Authorization: 'Bearer not-a-token' },
    });
    expect(res.status).toBe(401);
  });

  it('hands out a sign-in resource with the SSO token exchange resource', async () => {
    const r = await client.getSignInResource(
      'GraphConnection',
      {
        type: 'message',
        channelId: 'msteams',
        serviceUrl: 'http://localhost',
        id: '1',
        from: { id: 'user-id-1', name: 'Megan' },
        recipient: { id: 'bot', name: 'bot' },
        conversation: { id: 'c1' },
      } as any,
      undefined as unknown as string,
    );
    expect(r.signInLink).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    expect(r.tokenExchangeResource).toMatchObject({ id: expect.any(String), uri: expect.stringMatching(/^api:\/\/botid-/), providerId: expect.any(String) });
  });
});
