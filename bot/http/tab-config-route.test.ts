import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig, type TabSignIn } from '../../services/config/config';
import { configProblems, DEMO_ENV, PRODUCTION_ENV } from '../../test/support/config-env';
import { BotHttpServer } from './http-server';
import { registerTabConfigRoute } from './tab-config-route';

const SPA = '7ab5e1c0-3d2f-4b8a-9c61-0e5f2a7d4b93';

describe('the PIM tab sign-in settings (TAB_SIGN_IN_CLIENT_ID, GET /api/tab/config)', () => {
  it('derives the authority from ENTRA_AUTHORITY_HOST and TENANT_ID and asks for the bot SSO scope', () => {
    expect(loadConfig({ ...PRODUCTION_ENV, TAB_SIGN_IN_CLIENT_ID: SPA.toUpperCase() }).tabSignIn).toEqual({
      clientId: SPA,
      authority: `https://login.microsoftonline.com/${PRODUCTION_ENV.TENANT_ID}`,
      knownAuthority: 'login.microsoftonline.com',
      scopes: [`api://botid-${PRODUCTION_ENV.BOT_APP_ID}/access_as_user`],
    });
    expect(loadConfig({ ...DEMO_ENV, TAB_SIGN_IN_CLIENT_ID: SPA }).tabSignIn).toMatchObject({
      authority: `https://127.0.0.1:3979/${PRODUCTION_ENV.TENANT_ID}`,
      knownAuthority: '127.0.0.1:3979',
    });
  });

  it('is off when unset or blank, and refuses a value that is not a client id', () => {
    expect(loadConfig(PRODUCTION_ENV).tabSignIn).toBeNull();
    expect(loadConfig({ ...PRODUCTION_ENV, TAB_SIGN_IN_CLIENT_ID: ' ' }).tabSignIn).toBeNull();
    expect(configProblems({ ...PRODUCTION_ENV, TAB_SIGN_IN_CLIENT_ID: 'pim-tab' })).toEqual([
      'TAB_SIGN_IN_CLIENT_ID: must be the client id (a GUID) of a single-page app registration',
    ]);
  });

  async function get(signIn: TabSignIn | null): Promise<{ status: number; body: any; cache: string | null }> {
    const server = new BotHttpServer(pino({ level: 'silent' }));
    registerTabConfigRoute(server, signIn);
    await server.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}/api/tab/config`);
      return { status: res.status, body: await res.json(), cache: res.headers.get('cache-control') };
    } finally {
      await server.close();
    }
  }

  it('answers the settings without a token', async () => {
    const signIn = loadConfig({ ...PRODUCTION_ENV, TAB_SIGN_IN_CLIENT_ID: SPA }).tabSignIn;
    expect(await get(signIn)).toEqual({ status: 200, cache: 'no-store', body: { signInOutsideTeams: true, ...signIn } });
  });

  it('answers 404 signInOutsideTeams:false when the tab signs in inside Teams only', async () => {
    const res = await get(null);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ signInOutsideTeams: false, error: { code: 'tab_sign_in_not_configured' } });
  });
});
