/**
 * The PIM tab's sign-in: a token for the bot's SSO resource (`api://botid-<bot id>/access_as_user`), which
 * the tab API checks like every user token (services/auth/user-token.ts).
 *
 * Inside Teams, Teams hands it over: authentication.getAuthToken() (Teams caches and renews it).
 * Outside Teams the page signs in itself with MSAL (authorization code with PKCE) against the tenant's
 * Entra, as the single-page app GET /api/tab/config names (TAB_SIGN_IN_CLIENT_ID), with the token cache in
 * sessionStorage (gone with the browser tab) and the authority listed in knownAuthorities, so MSAL never
 * calls login.microsoftonline.com for instance discovery (the demo's authority is the simulator).
 * Each library is loaded only where it is used (teams-js fetches a list from a Microsoft CDN on load).
 */
import type { AccountInfo } from '@azure/msal-browser';
import type { TabHost } from './host';

export interface TabSession {
  /** A current token for the tab API (cached, renewed when it nears expiry). */
  token(): Promise<string>;
  user: { name: string; upn: string };
}

/**
 * Why the page could not sign in: `not_configured` (outside Teams with no TAB_SIGN_IN_CLIENT_ID: the tab
 * works in Teams only), `config_unavailable` (GET /api/tab/config failed), `sign_in_failed` (Entra or
 * Teams refused; `message` says why), `redirecting` (a token needs the user again and the page is leaving
 * for the sign-in page: show nothing).
 */
export type TabSignInErrorCode = 'not_configured' | 'config_unavailable' | 'sign_in_failed' | 'redirecting';

export class TabSignInError extends Error {
  constructor(
    readonly code: TabSignInErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TabSignInError';
  }
}

/** GET /api/tab/config (bot/http/tab-config-route.ts). */
interface TabSignInConfig {
  signInOutsideTeams: boolean;
  authority: string;
  clientId: string;
  scopes: string[];
  knownAuthority: string;
}

/** Where the page lives and MSAL's redirect URI (the SPA registration's redirect URI). */
const TAB_PATH = '/tab/';

/**
 * Signs the user in: a session with a token source and who they are, or null when the page is on its way
 * to the sign-in page (it comes back to /tab/ and signIn() is called again on that load).
 */
export async function signIn(host: TabHost): Promise<TabSession | null> {
  return host.inTeams ? teamsSession() : browserSession();
}

async function teamsSession(): Promise<TabSession> {
  const { authentication } = await import('@microsoft/teams-js');
  const token = async () => {
    try {
      return await authentication.getAuthToken();
    } catch (err) {
      throw new TabSignInError('sign_in_failed', `Teams could not sign you in to the PIM tab: ${errorText(err)}`);
    }
  };
  const claims = decodePayload(await token());
  return { token, user: userOf(claims.name, claims.preferred_username ?? claims.upn) };
}

async function browserSession(): Promise<TabSession | null> {
  const config = await readConfig();
  const { InteractionRequiredAuthError, PublicClientApplication } = await import('@azure/msal-browser');
  const pca = new PublicClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      knownAuthorities: [config.knownAuthority],
      redirectUri: `${window.location.origin}${TAB_PATH}`,
      postLogoutRedirectUri: `${window.location.origin}${TAB_PATH}`,
    },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await pca.initialize();
  let account: AccountInfo | null;
  try {
    const result = await pca.handleRedirectPromise();
    // Back from the sign-in page: put back the address the user had opened (its view, its query).
    if (result?.state?.startsWith(TAB_PATH)) window.history.replaceState(null, '', result.state);
    account = result?.account ?? pca.getActiveAccount() ?? pca.getAllAccounts()[0] ?? null;
  } catch (err) {
    throw new TabSignInError('sign_in_failed', `Sign-in did not complete: ${errorText(err)}`);
  }
  const request = { scopes: config.scopes, state: here() };
  if (!account) {
    await pca.loginRedirect(request);
    return null;
  }
  pca.setActiveAccount(account);
  const signedIn = account;
  const token = async () => {
    try {
      return (await pca.acquireTokenSilent({ scopes: config.scopes, account: signedIn })).accessToken;
    } catch (err) {
      if (err instanceof InteractionRequiredAuthError) {
        await pca.acquireTokenRedirect({ ...request, account: signedIn, state: here() });
        throw new TabSignInError('redirecting', 'Your sign-in has expired; taking you to the sign-in page.');
      }
      throw new TabSignInError('sign_in_failed', `Could not get a token for the PIM tab: ${errorText(err)}`);
    }
  };
  // A first token now: a session that cannot get one is no session (and this redirects when it must).
  await token();
  return { token, user: userOf(signedIn.name, signedIn.username) };
}

async function readConfig(): Promise<TabSignInConfig> {
  let res: Response;
  try {
    res = await fetch('/api/tab/config', { headers: { Accept: 'application/json' }, credentials: 'omit' });
  } catch (err) {
    throw new TabSignInError('config_unavailable', `The PIM service could not be reached: ${errorText(err)}`);
  }
  const body = (await res.json().catch(() => null)) as Partial<TabSignInConfig> | null;
  if (res.status === 404 || body?.signInOutsideTeams === false) {
    throw new TabSignInError('not_configured', 'This tab signs in inside Microsoft Teams only. Open it from the PIM app in Teams.');
  }
  if (!res.ok || !body || typeof body.clientId !== 'string' || typeof body.authority !== 'string' || !Array.isArray(body.scopes)) {
    throw new TabSignInError('config_unavailable', `The PIM service did not give its sign-in settings (HTTP ${res.status}).`);
  }
  return {
    signInOutsideTeams: true,
    clientId: body.clientId,
    authority: body.authority,
    scopes: body.scopes.filter((s): s is string => typeof s === 'string'),
    knownAuthority: typeof body.knownAuthority === 'string' ? body.knownAuthority : new URL(body.authority).host,
  };
}

/** The page's address below /tab/, carried through the sign-in round trip in MSAL's state. */
function here(): string {
  const { pathname, search, hash } = window.location;
  return pathname.startsWith(TAB_PATH) ? `${pathname}${search}${hash.startsWith('#code=') ? '' : hash}` : TAB_PATH;
}

/** A JWT's payload, read for display only (the API verifies the token; the page never trusts it). */
function decodePayload(token: string): { name?: string; preferred_username?: string; upn?: string } {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as { name?: string; preferred_username?: string; upn?: string };
  } catch {
    return {};
  }
}

function userOf(name: string | undefined, upn: string | undefined): { name: string; upn: string } {
  return { name: name || upn || 'Signed-in user', upn: upn ?? '' };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
