/** Stand-in for bot/tab/web/auth.ts in browser tests: a signed-in user whose token the stubbed API accepts. */
import type { TabHost } from './host';

export interface TabSession {
  token(): Promise<string>;
  user: { name: string; upn: string };
}

export const TEST_TAB_TOKEN = 'test-tab-token';

export async function signIn(_host: TabHost): Promise<TabSession | null> {
  return { token: async () => TEST_TAB_TOKEN, user: { name: 'Adele Vance', upn: 'adele@contoso.example' } };
}
