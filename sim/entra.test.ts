import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { ClientSecretCredential } from '@azure/identity';
import type { SimHandle } from './server';
import { DEMO_BOT_APP, USER } from './seed';
import { GRAPH_SCOPE, botAppCredential, oboCredential, startTestSim } from './test-support';

describe('simulated Entra ID', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());

  it('serves OpenID metadata whose issuer follows the Host the caller used', async () => {
    const res = await fetch(`${sim.url}/${sim.tenantId}/v2.0/.well-known/openid-configuration`);
    const meta = (await res.json()) as Record<string, string>;
    expect(meta.issuer).toBe(`${sim.url}/${sim.tenantId}/v2.0`);
    expect(meta.token_endpoint).toBe(`${sim.url}/${sim.tenantId}/oauth2/v2.0/token`);
    const viaLocalhost = sim.url.replace('127.0.0.1', 'localhost');
    const meta2 = (await (await fetch(`${viaLocalhost}/${sim.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(meta2.issuer).toBe(`${viaLocalhost}/${sim.tenantId}/v2.0`);
  });

  it('gives the bot an app-only Graph token through the real ClientSecretCredential', async () => {
    const t = await botAppCredential(sim).getToken(GRAPH_SCOPE);
    const claims = decodeJwt(t.token);
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      iss: sim.issuer,
      tid: sim.tenantId,
      azp: DEMO_BOT_APP.clientId,
      appid: DEMO_BOT_APP.clientId,
      idtyp: 'app',
    });
    expect(claims.roles).toEqual(
      expect.arrayContaining(['User.Read.All', 'RoleManagement.Read.Directory', 'RoleManagementPolicy.Read.Directory', 'GroupMember.Read.All']),
    );
    expect(typeof claims.oid).toBe('string');
    // The token verifies against the published JWKS, as any resource server would check it.
    const jwks = createRemoteJWKSet(new URL(`${sim.url}/${sim.tenantId}/discovery/v2.0/keys`));
    await expect(jwtVerify(t.token, jwks, { issuer: sim.issuer, audience: 'https://graph.microsoft.com' })).resolves.toBeDefined();
  });

  it('refuses a wrong client secret with invalid_client', async () => {
    const bad = new ClientSecretCredential(sim.tenantId, DEMO_BOT_APP.clientId, 'wrong', { authorityHost: sim.authorityHost, disableInstanceDiscovery: true });
    await expect(bad.getToken(GRAPH_SCOPE)).rejects.toThrow(/invalid_client|AADSTS7000215/);
    const res = await fetch(`${sim.url}/${sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEMO_BOT_APP.clientId, client_secret: 'wrong', grant_type: 'client_credentials', scope: GRAPH_SCOPE }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(String(body.error_description)).toMatch(/^AADSTS7000215: /);
    expect(body).toHaveProperty('trace_id');
    expect(body).toHaveProperty('correlation_id');
  });

  it('refuses an unsupported grant type', async () => {
    const res = await fetch(`${sim.url}/${sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEMO_BOT_APP.clientId, client_secret: DEMO_BOT_APP.clientSecret, grant_type: 'password', scope: GRAPH_SCOPE }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('exchanges a Teams SSO token on behalf of the user through the real OnBehalfOfCredential', async () => {
    const assertion = await sim.issueUserAssertion('meganb@contoso.example');
    expect(decodeJwt(assertion)).toMatchObject({ aud: `api://botid-${DEMO_BOT_APP.clientId}`, scp: 'access_as_user', oid: USER.megan });
    const t = await oboCredential(sim, assertion).getToken(GRAPH_SCOPE);
    const claims = decodeJwt(t.token);
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      oid: USER.megan,
      upn: 'meganb@contoso.example',
      preferred_username: 'meganb@contoso.example',
      name: 'Megan Bowen',
      idtyp: 'user',
    });
    expect(String(claims.scp).split(' ')).toEqual(expect.arrayContaining(['RoleAssignmentSchedule.ReadWrite.Directory', 'User.Read']));
  });

  it('refuses on-behalf-of for an expired, forged or mis-addressed assertion', async () => {
    const expired = await sim.issueUserAssertion(USER.megan, { expiresInSeconds: -3600 });
    await expect(oboCredential(sim, expired).getToken(GRAPH_SCOPE)).rejects.toThrow(/invalid_grant|AADSTS500133/);
    const forged = await sim.issueToken({ aud: `api://botid-${DEMO_BOT_APP.clientId}`, oid: USER.megan, scp: 'access_as_user' }, { signWith: 'foreign' });
    await expect(oboCredential(sim, forged).getToken(GRAPH_SCOPE)).rejects.toThrow(/AADSTS50013/);
    const otherAud = await sim.issueUserAssertion(USER.megan, { audience: 'api://someone-else' });
    await expect(oboCredential(sim, otherAud).getToken(GRAPH_SCOPE)).rejects.toThrow(/AADSTS50013/);
  });
});
