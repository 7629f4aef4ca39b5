import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { startTestSim } from './test-support';

describe('simulated Microsoft Graph: mailbox settings', () => {
  let sim: SimHandle;
  const appClaims = (roles: string[]) => ({
    aud: 'https://graph.microsoft.com',
    idtyp: 'app',
    roles,
    appid: DEMO_BOT_APP.clientId,
    azp: DEMO_BOT_APP.clientId,
    oid: 'sp-bot',
  });
  const userClaims = (oid: string, scp: string) => ({ aud: 'https://graph.microsoft.com', scp, oid, appid: DEMO_BOT_APP.clientId, azp: DEMO_BOT_APP.clientId });
  const get = async (path: string, token: string) => {
    const res = await fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  let appToken: string;

  beforeAll(async () => {
    sim = await startTestSim();
    appToken = await sim.issueToken(appClaims(['MailboxSettings.Read']));
  });
  afterAll(() => sim.close());

  it("returns a user's settings as Graph does, with the Windows time zone id and the OData context", async () => {
    const { status, body } = await get(`/v1.0/users/${USER.megan}/mailboxSettings`, appToken);
    expect(status).toBe(200);
    expect(body['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#users('${USER.megan}')/mailboxSettings`);
    expect(body).toMatchObject({
      timeZone: 'W. Europe Standard Time',
      language: { locale: 'de-DE', displayName: 'German (Germany)' },
      workingHours: {
        daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
        startTime: '08:00:00.0000000',
        endTime: '17:00:00.0000000',
        timeZone: { name: 'W. Europe Standard Time' },
      },
      automaticRepliesSetting: { status: 'disabled' },
    });
  });

  it('honours $select=timeZone, by UPN and on beta too', async () => {
    const { status, body } = await get('/beta/users/pattif@contoso.example/mailboxSettings?$select=timeZone', appToken);
    expect(status).toBe(200);
    expect(body).toEqual({ '@odata.context': `${sim.url}/beta/$metadata#users('${USER.patti}')/mailboxSettings`, timeZone: 'India Standard Time' });
  });

  it('leaves timeZone out for a mailbox whose time zone was never set', async () => {
    const { status, body } = await get(`/v1.0/users/${USER.diego}/mailboxSettings?$select=timeZone`, appToken);
    expect(status).toBe(200);
    expect(body).toEqual({ '@odata.context': expect.any(String) });
  });

  it('answers 404 ErrorInvalidUser for an unknown user', async () => {
    const { status, body } = await get('/v1.0/users/nobody@contoso.example/mailboxSettings', appToken);
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ code: 'ErrorInvalidUser', message: "The requested user 'nobody@contoso.example' is invalid." });
  });

  it('refuses an app without MailboxSettings.Read (User.Read.All is not enough) with 403 ErrorAccessDenied', async () => {
    const { status, body } = await get(`/v1.0/users/${USER.megan}/mailboxSettings`, await sim.issueToken(appClaims(['User.Read.All'])));
    expect(status).toBe(403);
    expect(body.error.code).toBe('ErrorAccessDenied');
  });

  it("lets a user read their own settings through /me, not someone else's", async () => {
    const alex = await sim.issueToken(userClaims(USER.alex, 'MailboxSettings.Read User.Read'));
    const me = await get('/v1.0/me/mailboxSettings?$select=timeZone', alex);
    expect(me).toEqual({ status: 200, body: { '@odata.context': `${sim.url}/v1.0/$metadata#Me/mailboxSettings`, timeZone: 'Pacific Standard Time' } });
    expect((await get(`/v1.0/users/${USER.alex}/mailboxSettings`, alex)).status).toBe(200);
    expect((await get(`/v1.0/users/${USER.megan}/mailboxSettings`, alex)).status).toBe(403);
    const noScope = await sim.issueToken(userClaims(USER.alex, 'User.Read'));
    expect((await get('/v1.0/me/mailboxSettings', noScope)).status).toBe(403);
    expect((await get('/v1.0/me/mailboxSettings', appToken)).status).toBe(400);
  });
});
