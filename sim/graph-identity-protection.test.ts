import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { startTestSim } from './test-support';

describe('simulated Microsoft Graph: ID Protection', () => {
  let sim: SimHandle;
  const appClaims = (roles: string[]) => ({
    aud: 'https://graph.microsoft.com',
    idtyp: 'app',
    roles,
    appid: DEMO_BOT_APP.clientId,
    azp: DEMO_BOT_APP.clientId,
    oid: 'sp-bot',
  });
  const get = async (path: string, token: string) => {
    const res = await fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  let token: string;

  beforeAll(async () => {
    sim = await startTestSim();
    token = await sim.issueToken(appClaims(['IdentityRiskyUser.Read.All', 'IdentityRiskEvent.Read.All']));
  });
  afterAll(() => sim.close());

  it("returns a risky user in Graph's shape, with the update time relative to the simulator clock", async () => {
    const { status, body } = await get(`/v1.0/identityProtection/riskyUsers/${USER.patti}`, token);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      '@odata.context': `${sim.url}/v1.0/$metadata#identityProtection/riskyUsers/$entity`,
      id: USER.patti,
      isDeleted: false,
      isProcessing: false,
      riskLevel: 'high',
      riskState: 'atRisk',
      riskDetail: 'none',
      userDisplayName: 'Patti Fernandez',
      userPrincipalName: 'pattif@contoso.example',
    });
    expect(Math.abs(Date.parse(body.riskLastUpdatedDateTime) - (Date.now() - 2 * 3_600_000))).toBeLessThan(60_000);
  });

  it('answers 404 for a user ID Protection never rated', async () => {
    const { status, body } = await get(`/v1.0/identityProtection/riskyUsers/${USER.alex}`, token);
    expect(status).toBe(404);
    expect(body.error.code).toBe('ResourceNotFound');
  });

  it('lists risky users by $filter', async () => {
    const { status, body } = await get(`/v1.0/identityProtection/riskyUsers?$filter=${encodeURIComponent("riskState eq 'atRisk'")}`, token);
    expect(status).toBe(200);
    expect(body.value.map((u: any) => [u.id, u.riskLevel])).toEqual([
      [USER.patti, 'high'],
      [USER.lynne, 'medium'],
    ]);
    expect((await get(`/v1.0/identityProtection/riskyUsers?$filter=${encodeURIComponent('riskLevel gt 1')}`, token)).status).toBe(400);
  });

  it("lists a user's risk detections newest first, honouring $top and $orderby", async () => {
    const q = `$filter=${encodeURIComponent(`userId eq '${USER.patti}'`)}&$top=2&$orderby=${encodeURIComponent('detectedDateTime desc')}`;
    const { status, body } = await get(`/beta/identityProtection/riskDetections?${q}`, token);
    expect(status).toBe(200);
    expect(body.value.map((d: any) => d.riskEventType)).toEqual(['unfamiliarFeatures', 'anonymizedIPAddress']);
    expect(body.value[0]).toMatchObject({
      userId: USER.patti,
      riskLevel: 'high',
      riskState: 'atRisk',
      activity: 'signin',
      detectionTimingType: 'realtime',
      ipAddress: '203.0.113.24',
      location: { city: 'Lagos', countryOrRegion: 'NG' },
    });
    expect(body['@odata.nextLink']).toContain('$skiptoken=');
    const asc = await get(
      `/v1.0/identityProtection/riskDetections?$filter=${encodeURIComponent(`userId eq '${USER.patti}'`)}&$orderby=detectedDateTime%20asc`,
      token,
    );
    expect(asc.body.value[0].riskEventType).toBe('unlikelyTravel');
    expect((await get('/v1.0/identityProtection/riskDetections?$orderby=riskLevel', token)).status).toBe(400);
  });

  it('refuses an app without the ID Protection permissions with 403', async () => {
    const other = await sim.issueToken(appClaims(['User.Read.All']));
    expect((await get(`/v1.0/identityProtection/riskyUsers/${USER.patti}`, other)).status).toBe(403);
    expect((await get('/v1.0/identityProtection/riskDetections', other)).status).toBe(403);
    const usersOnly = await sim.issueToken(appClaims(['IdentityRiskyUser.Read.All']));
    expect((await get(`/v1.0/identityProtection/riskyUsers/${USER.patti}`, usersOnly)).status).toBe(200);
    expect((await get('/v1.0/identityProtection/riskDetections', usersOnly)).status).toBe(403);
  });
});
