/**
 * The PIM tab's sign-in outside Teams, in a real browser: a page at a loopback origin's /tab/ runs the
 * tab's own host and sign-in modules (bot/tab/web/host.ts, auth.ts, bundled here with esbuild), reads
 * GET /api/tab/config, and MSAL (authorization code with PKCE) sends the browser to the simulator's
 * sign-in page; Megan Bowen is picked, the browser comes back to /tab/, MSAL redeems the code
 * cross-origin, and the tab API answers Megan's own requests to her token.
 *
 * The page is served by a small server here that also forwards /api/* to the bot, so the page and the API
 * share an origin as they do when the bot serves the tab. Needs Debian's chromium (test/support/chromium.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { DEMO_TAB_APP, USER } from '../../sim/seed';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium';
import { type Harness, pendingRequest, startHarness } from '../support/harness';

jest.setTimeout(90_000);

const WEB = path.join(__dirname, '../../bot/tab/web');

/** The smallest tab: who the host is, sign in, then the API with the token; the outcome in #result. */
const PAGE_SCRIPT = `
import { detectHost } from './host';
import { signIn } from './auth';
const out = (v) => { const el = document.getElementById('result'); el.textContent = JSON.stringify(v); el.dataset.done = '1'; };
(async () => {
  const host = await detectHost();
  const session = await signIn(host);
  if (!session) return; // on the way to the sign-in page
  const call = async (p) => {
    const res = await fetch(p, { headers: { Authorization: 'Bearer ' + (await session.token()) } });
    return { status: res.status, body: await res.json() };
  };
  const requests = await call('/api/tab/requests');
  const approvals = await call('/api/tab/approvals');
  out({ inTeams: host.inTeams, theme: host.theme, user: session.user, requests, approvals, path: location.pathname + location.search + location.hash });
})().catch((err) => out({ error: String(err && err.message || err), code: err && err.code }));
`;

const PAGE_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PIM tab</title></head>
<body><main><h1>PIM</h1><pre id="result" aria-live="polite"></pre></main><script src="/tab/app.js"></script></body></html>`;

async function bundle(): Promise<string> {
  const out = await build({
    stdin: { contents: PAGE_SCRIPT, resolveDir: WEB, sourcefile: 'tab-sign-in-page.ts', loader: 'ts' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/** Serves the page at /tab/ and forwards /api/* to the bot. */
async function startPageServer(botUrl: string, script: string): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://page');
    if (url.pathname === '/tab/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
    } else if (url.pathname === '/tab/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(script);
    } else if (url.pathname.startsWith('/api/')) {
      const target = new URL(url.pathname + url.search, botUrl);
      const headers = { ...req.headers, host: target.host };
      const forward = http.request(target, { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(forward);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the PIM tab signing in outside Teams', () => {
  let h: Harness;
  let page: { origin: string; close(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    requireChromium();
    h = await startHarness({ TAB_SIGN_IN_CLIENT_ID: DEMO_TAB_APP.clientId });
    page = await startPageServer(h.bot.url, await bundle());
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await page?.close();
    await h?.close();
  });

  it('sends the browser to the sign-in page, comes back as Megan, and the tab API answers her', async () => {
    // Isaiah asks for User Administrator, whose approvers are Adele and Megan.
    const { row } = await pendingRequest(h, { principal: USER.isaiah, role: 'User Administrator' });
    // The simulator's TLS certificate is from the local CA the browser does not know.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    // Hermetic: nothing leaves loopback (MSAL must not reach login.microsoftonline.com either).
    const offLoopback: string[] = [];
    await context.route(
      (url) => !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname),
      (route) => {
        offLoopback.push(route.request().url());
        return route.abort('blockedbyclient');
      },
    );
    const tab = await context.newPage();
    const logs: string[] = [];
    tab.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await tab.goto(`${page.origin}/tab/?theme=dark`);

    await tab.getByRole('heading', { name: 'Sign in to Contoso (simulated)' }).waitFor({ timeout: 15_000 });
    expect(new URL(tab.url()).pathname).toBe(`/${h.sim.tenantId}/oauth2/v2.0/authorize`);
    await tab.getByLabel(/Megan Bowen/).check();
    await tab.getByRole('button', { name: 'Sign in' }).click();

    const result = tab.locator('#result[data-done="1"]');
    await result.waitFor({ timeout: 20_000 }).catch((err: Error) => {
      const calls = h.sim.state.calls.filter((c) => /oauth2|well-known/.test(c.path)).map((c) => `${c.method} ${c.path} ${c.status}`);
      throw new Error(`${err.message}\nat ${tab.url()}\nbrowser console:\n${logs.join('\n')}\nsimulator calls:\n${calls.join('\n')}`);
    });
    const outcome = JSON.parse((await result.textContent()) ?? '{}');
    expect(outcome.error).toBeUndefined();
    expect(outcome).toMatchObject({
      inTeams: false,
      theme: 'dark',
      user: { name: 'Megan Bowen', upn: 'meganb@contoso.example' },
      requests: { status: 200 },
      approvals: { status: 200 },
      // The address the user opened is back (the sign-in round trip put its query into MSAL's state).
      path: '/tab/?theme=dark',
    });
    // Megan's identity reached the API: the request she may approve is listed for her.
    expect(outcome.approvals.body.items.map((i: { requestId: string }) => i.requestId)).toEqual([row.id]);
    expect(offLoopback).toEqual([]);

    // MSAL redeemed the code at the simulator's token endpoint, cross-origin, and only for the SPA app.
    const tokenCalls = h.sim.state.calls.filter((c) => c.path.endsWith('/oauth2/v2.0/token') && c.appid === DEMO_TAB_APP.clientId);
    expect(tokenCalls.map((c) => c.status)).toEqual([200]);

    // A reload signs in silently from MSAL's session cache: no sign-in page, the API answers again.
    await tab.reload();
    await result.waitFor({ timeout: 20_000 });
    expect(JSON.parse((await result.textContent()) ?? '{}')).toMatchObject({ requests: { status: 200 }, user: { upn: 'meganb@contoso.example' } });
    const signInPages = h.sim.state.calls.filter((c) => c.method === 'GET' && c.path.endsWith('/oauth2/v2.0/authorize'));
    expect(signInPages).toHaveLength(1);
    await context.close();
  });

  it('serves the sign-in settings the page needs at GET /api/tab/config, without a token', async () => {
    const res = await fetch(`${page.origin}/api/tab/config`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      signInOutsideTeams: true,
      authority: `${h.sim.url}/${h.sim.tenantId}`,
      clientId: DEMO_TAB_APP.clientId,
      scopes: [`api://botid-${h.env.BOT_APP_ID}/access_as_user`],
      knownAuthority: new URL(h.sim.url).host,
    });
  });
});
