import type { TabSignIn } from '../../services/config/config';
import type { BotHttpServer } from './http-server';

/** GET /api/tab/config when the tab signs in outside Teams: what MSAL in the page needs. */
export interface TabConfigBody {
  signInOutsideTeams: true;
  /** `<authority host>/<tenant id>`. */
  authority: string;
  /** The single-page app registration (TAB_SIGN_IN_CLIENT_ID). */
  clientId: string;
  /** The bot's SSO scope, `api://botid-<bot app id>/access_as_user`. */
  scopes: string[];
  /** The authority's host, for MSAL's knownAuthorities (no instance discovery). */
  knownAuthority: string;
}

/**
 * The PIM tab's sign-in settings for a browser outside Teams (GET /api/tab/config, no authentication: the
 * page reads it before it has a token). It says only what any sign-in page of the tenant shows (the
 * authority, a public client id, the scope); 404 `{signInOutsideTeams: false}` when TAB_SIGN_IN_CLIENT_ID is
 * unset, and the tab then works inside Teams only (Teams hands it the SSO token).
 */
export function registerTabConfigRoute(server: BotHttpServer, signIn: TabSignIn | null): void {
  server.route('GET', '/api/tab/config', async (_req, res) => {
    res.header('Cache-Control', 'no-store');
    if (!signIn) {
      res.send(404, {
        signInOutsideTeams: false,
        error: { code: 'tab_sign_in_not_configured', message: 'The PIM tab signs in inside Teams only: TAB_SIGN_IN_CLIENT_ID is not set.' },
      });
      return;
    }
    const body: TabConfigBody = {
      signInOutsideTeams: true,
      authority: signIn.authority,
      clientId: signIn.clientId,
      scopes: [...signIn.scopes],
      knownAuthority: signIn.knownAuthority,
    };
    res.send(200, body);
  });
}
