import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { createUserTokenVerifier } from '../services/auth/user-token';
import { redirectUriMatches } from './entra-authorize';
import type { SimHandle } from './server';
import { DEMO_BOT_APP, DEMO_TAB_APP, seedTenant, USER } from './seed';
import { startTestSim } from './test-support';

const APP_ORIGIN = 'http://127.0.0.1:47123';
const REDIRECT = `${APP_ORIGIN}/tab/`;
const SSO_SCOPE = `api://botid-${DEMO_BOT_APP.clientId}/access_as_user`;

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe('simulated Entra: authorization code with PKCE for a single-page app', () => {
  let sim: SimHandle;
  let authorize: string;
  let token: string;
  beforeAll(async () => {
    sim = await startTestSim();
    authorize = `${sim.url}/${sim.tenantId}/oauth2/v2.0/authorize`;
    token = `${sim.url}/${sim.tenantId}/oauth2/v2.0/token`;
  });
  afterAll(() => sim.close());

  function authorizeUrl(over: Record<string, string | null> = {}, challenge = pkce().challenge): string {
    const q = new URLSearchParams();
    const params: Record<string, string | null> = {
      client_id: DEMO_TAB_APP.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: `${SSO_SCOPE} openid profile offline_access`,
      state: 'state-123',
      nonce: 'nonce-456',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      response_mode: 'fragment',
      client_info: '1',
      ...over,
    };
    for (const [k, v] of Object.entries(params)) if (v !== null) q.set(k, v);
    return `${authorize}?${q}`;
  }

  /** Opens the sign-in page, picks the user, and reads the code off the redirect. */
  async function signIn(url: string, user = 'meganb@contoso.example'): Promise<URL> {
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    const tx = /name="tx" value="([^"]+)"/.exec(html)?.[1];
    expect(tx).toBeTruthy();
    const done = await fetch(authorize, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: sim.url },
      body: new URLSearchParams({ tx: tx!, username: user }),
    });
    expect(done.status).toBe(302);
    return new URL(done.headers.get('location')!);
  }

  const fragment = (u: URL) => new URLSearchParams(u.hash.slice(1));

  function redeem(body: Record<string, string>, origin: string | null = APP_ORIGIN): Promise<Response> {
    return fetch(token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
      body: new URLSearchParams({ client_id: DEMO_TAB_APP.clientId, ...body }),
    });
  }

  it('signs Megan in through the sign-in page and redeems the code with the verifier for tokens the bot accepts', async () => {
    const { verifier, challenge } = pkce();
    const page = await (await fetch(authorizeUrl({}, challenge))).text();
    expect(page).toContain('<h1>Sign in to Contoso (simulated)</h1>');
    expect(page).toContain('Megan Bowen');
    expect(page).toMatch(/<label for="user-\d+"><input type="radio"/);

    const back = await signIn(authorizeUrl({}, challenge));
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    const p = fragment(back);
    expect(p.get('state')).toBe('state-123');
    expect(p.get('code')).toBeTruthy();
    expect(JSON.parse(Buffer.from(p.get('client_info')!, 'base64url').toString())).toEqual({ uid: USER.megan, utid: sim.tenantId });

    const res = await redeem({
      grant_type: 'authorization_code',
      code: p.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      scope: `${SSO_SCOPE} openid profile offline_access`,
      client_info: '1',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    expect(body.scope.split(' ')).toEqual(expect.arrayContaining([SSO_SCOPE, 'openid', 'profile', 'offline_access']));
    expect(body.refresh_token).toBeTruthy();
    expect(JSON.parse(Buffer.from(body.client_info, 'base64url').toString())).toEqual({ uid: USER.megan, utid: sim.tenantId });
    expect(decodeJwt(body.access_token)).toMatchObject({
      aud: `api://botid-${DEMO_BOT_APP.clientId}`,
      scp: 'access_as_user',
      oid: USER.megan,
      tid: sim.tenantId,
      name: 'Megan Bowen',
      preferred_username: 'meganb@contoso.example',
      azp: DEMO_TAB_APP.clientId,
      iss: sim.issuer,
    });
    expect(decodeJwt(body.id_token)).toMatchObject({ aud: DEMO_TAB_APP.clientId, nonce: 'nonce-456', oid: USER.megan, tid: sim.tenantId });

    // The bot's verifier, configured as the bot configures it for Teams SSO tokens.
    const verify = createUserTokenVerifier({
      tenantId: sim.tenantId,
      issuers: [sim.issuer],
      audiences: [`api://botid-${DEMO_BOT_APP.clientId}`, DEMO_BOT_APP.clientId],
      jwksUri: `${sim.url}/${sim.tenantId}/discovery/v2.0/keys`,
    });
    await expect(verify(body.access_token, USER.megan)).resolves.toMatchObject({ oid: USER.megan, upn: 'meganb@contoso.example', name: 'Megan Bowen' });

    // The refresh token gives a fresh access token, cross-origin, without a sign-in.
    const refreshed = await redeem({ grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: `${SSO_SCOPE} openid offline_access` });
    expect(refreshed.status).toBe(200);
    const r = (await refreshed.json()) as Record<string, any>;
    await expect(verify(r.access_token, USER.megan)).resolves.toMatchObject({ oid: USER.megan });
  });

  it('refuses a wrong code_verifier, and the code is spent by the attempt', async () => {
    const { verifier, challenge } = pkce();
    const code = fragment(await signIn(authorizeUrl({}, challenge))).get('code')!;
    const wrong = await redeem({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce().verifier, scope: SSO_SCOPE });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant', error_codes: [501481] });
    const again = await redeem({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, scope: SSO_SCOPE });
    expect(await again.json()).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('refuses a code redeemed twice', async () => {
    const { verifier, challenge } = pkce();
    const code = fragment(await signIn(authorizeUrl({}, challenge))).get('code')!;
    const body = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, scope: SSO_SCOPE };
    expect((await redeem(body)).status).toBe(200);
    const second = await redeem(body);
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error: 'invalid_grant', error_codes: [54005] });
  });

  it('refuses a redemption with another redirect URI, without the Origin of a browser, or with a secret', async () => {
    const { verifier, challenge } = pkce();
    const code = fragment(await signIn(authorizeUrl({}, challenge))).get('code')!;
    const noOrigin = await redeem({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, null);
    expect(await noOrigin.json()).toMatchObject({ error: 'invalid_request', error_codes: [9002327] });
    const secret = await redeem({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_secret: 'x' });
    expect(await secret.json()).toMatchObject({ error: 'invalid_client', error_codes: [700025] });
    const other = await redeem({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:47123/other/', code_verifier: verifier });
    expect(await other.json()).toMatchObject({ error: 'invalid_grant', error_codes: [500112] });
  });

  it('shows an error page for an unknown client or an unregistered redirect URI, and redirects other errors to the app', async () => {
    const unknown = await fetch(authorizeUrl({ client_id: '00000000-0000-0000-0000-00000000abcd' }), { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
    const badRedirect = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/tab/' }), { redirect: 'manual' });
    expect(badRedirect.status).toBe(400);
    expect(await badRedirect.text()).toContain('AADSTS50011');
    const otherPath = await fetch(authorizeUrl({ redirect_uri: 'http://127.0.0.1:47123/elsewhere/' }), { redirect: 'manual' });
    expect(await otherPath.text()).toContain('AADSTS50011');

    const noPkce = await fetch(authorizeUrl({ code_challenge: null, code_challenge_method: null }), { redirect: 'manual' });
    expect(noPkce.status).toBe(302);
    const err = fragment(new URL(noPkce.headers.get('location')!));
    expect(err.get('error')).toBe('invalid_request');
    expect(err.get('error_description')).toMatch(/^AADSTS9002325:/);
    expect(err.get('state')).toBe('state-123');

    const silent = await fetch(authorizeUrl({ prompt: 'none', response_mode: 'query' }), { redirect: 'manual' });
    expect(new URL(silent.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('refuses a sign-in form whose transaction it did not hand out', async () => {
    const res = await fetch(authorize, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tx: 'forged', username: 'meganb@contoso.example' }),
    });
    expect(res.status).toBe(400);
    const forged = await fetch(authorize, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ tx: 'whatever', username: 'meganb@contoso.example' }),
    });
    expect(forged.status).toBe(403);
  });

  it('answers CORS for the app origin on the metadata, keys and token endpoints, and not for another origin', async () => {
    const meta = await fetch(`${sim.url}/${sim.tenantId}/v2.0/.well-known/openid-configuration`, { headers: { origin: 'http://localhost:5173' } });
    expect(meta.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const keys = await fetch(`${sim.url}/${sim.tenantId}/discovery/v2.0/keys`, { headers: { origin: APP_ORIGIN } });
    expect(keys.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const preflight = await fetch(token, {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const evil = await fetch(`${sim.url}/${sim.tenantId}/v2.0/.well-known/openid-configuration`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('signs in silently (prompt=none) once the browser has a session', async () => {
    const { challenge } = pkce();
    const page = await fetch(authorizeUrl({}, challenge));
    const tx = /name="tx" value="([^"]+)"/.exec(await page.text())![1]!;
    const done = await fetch(authorize, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tx, username: 'alexw@contoso.example' }),
    });
    const cookie = done.headers.get('set-cookie')!.split(';')[0]!;
    const silent = await fetch(authorizeUrl({ prompt: 'none' }), { redirect: 'manual', headers: { cookie } });
    expect(silent.status).toBe(302);
    expect(fragment(new URL(silent.headers.get('location')!)).get('code')).toBeTruthy();
  });

  it('matches loopback redirect URIs on any port and others exactly', () => {
    expect(redirectUriMatches('http://127.0.0.1/tab/', 'http://127.0.0.1:3978/tab/')).toBe(true);
    expect(redirectUriMatches('http://localhost/tab/', 'http://localhost:8080/tab/')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1/tab/', 'http://127.0.0.1:3978/tab')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/tab/', 'https://127.0.0.1:3978/tab/')).toBe(false);
    expect(redirectUriMatches('https://app.example/tab/', 'https://app.example:444/tab/')).toBe(false);
    expect(redirectUriMatches('https://app.example/tab/', 'https://app.example/tab/')).toBe(true);
  });
});

describe('simulated Entra: the sign-in page of a large tenant', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    const seed = structuredClone(seedTenant);
    for (let i = 0; i < 60; i++) {
      seed.users.push({
        ...structuredClone(seed.users[0]!),
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        userPrincipalName: `bench${i}@contoso.example`,
        displayName: `Bench User ${i}`,
        teamsUserId: `29:bench-${i}`,
      });
    }
    sim = await startTestSim({ seed });
  });
  afterAll(() => sim.close());

  it('asks for the user name (prefilled by login_hint) instead of listing every account, and signs that user in', async () => {
    const q = new URLSearchParams({
      client_id: DEMO_TAB_APP.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: `${SSO_SCOPE} openid`,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      login_hint: 'bench7@contoso.example',
    });
    const authorize = `${sim.url}/${sim.tenantId}/oauth2/v2.0/authorize`;
    const html = await (await fetch(`${authorize}?${q}`)).text();
    expect(html).not.toContain('type="radio"');
    expect(html).toContain('<input type="text" id="username" name="username" autocomplete="username" required value="bench7@contoso.example">');
    const tx = /name="tx" value="([^"]+)"/.exec(html)![1]!;
    const done = await fetch(authorize, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: sim.url },
      body: new URLSearchParams({ tx, username: 'bench7@contoso.example' }),
    });
    expect(done.status).toBe(302);
    expect(new URL(done.headers.get('location')!).searchParams.get('code')).toEqual(expect.any(String));
  });
});
