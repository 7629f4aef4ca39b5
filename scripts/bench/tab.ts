/**
 * `npm run bench` (tab part): how long the PIM tab takes to show its first view, in Debian's Chromium on
 * loopback, against the bot (its own process, SQLite) and the simulator (its own process). Target: under 1 s.
 * Two tenants:
 *   - the demo's (seeded users and roles), with BENCH_TAB_PENDING requests awaiting Megan Bowen;
 *   - the generated tenant (50,000 users eligible for User Administrator plus the demo's), with the same.
 * Megan signs in once (MSAL, authorization code + PKCE on the simulator's page); then the tab is opened
 * BENCH_TAB_LOADS times in the same browser: first view = from navigation start to the "Awaiting my
 * approval" list drawn with its data (the page's `pim-tab-first-view` mark), so the bundle, the silent
 * token from MSAL's cache, /api/tab/me and /api/tab/approvals are all in it. Adele's Dashboard (the admin
 * view: requests, evaluations, the tenant's dormant and permanent assignments) is timed the same way,
 * opened by its URL (?view=dashboard); its first open reads the whole tenant, later ones its 5-minute cache.
 * Needs chromium (`apt-get install -y chromium`) and NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { GROUP, DEMO_TAB_APP } from '../../sim/seed';
import { buildTab } from '../build-tab';
import type { BotArgs } from './children/bot';
import type { SimArgs, SimReady } from './children/sim';
import { botEnv, SIM_CHILD, startBotChild } from './lib/bot-env';
import { type Child, startChild } from './lib/children';
import { startBenchConnector } from './lib/connector';
import { envNumber, fixed, machineLine, summarize, table } from './lib/stats';

const LOADS = envNumber('BENCH_TAB_LOADS', 20);
const PENDING = envNumber('BENCH_TAB_PENDING', 200);
const USERS = envNumber('BENCH_TAB_USERS', 50_000);
const TARGET_MS = 1_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

interface Row {
  tenant: string;
  view: string;
  first: number;
  samples: number[];
}

/** Signs in on the simulator's page (a pick list, or a user name field on a large tenant); the tab's first view drawn. */
async function signIn(browser: Browser, botUrl: string, upn: string, view: string): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  await context.route(
    (url) => !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname),
    (route) => route.abort('blockedbyclient'),
  );
  const page = await context.newPage();
  await page.goto(`${botUrl}/tab/?view=${view}`);
  await page.getByRole('heading', { name: /^Sign in to / }).waitFor({ timeout: 30_000 });
  const field = page.locator('input#username');
  if (await field.count()) await field.fill(upn);
  else await page.locator(`input[value="${upn}"]`).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('html[data-first-view="ready"]').waitFor({ timeout: 120_000 });
  return page;
}

/** Opens the tab again; ms from navigation start to the first view drawn with its data. */
async function load(page: Page, botUrl: string, view: string): Promise<number> {
  await page.goto(`${botUrl}/tab/?view=${view}`);
  await page.locator('html[data-first-view="ready"]').waitFor({ timeout: 120_000 });
  return page.evaluate(() => performance.getEntriesByName('pim-tab-first-view')[0]?.startTime ?? Number.NaN);
}

async function measure(tenantLabel: string, tenant: SimArgs['tenant'], browser: Browser, rows: Row[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-tab-'));
  const connector = await startBenchConnector();
  const children: Array<Child<unknown>> = [];
  try {
    process.stderr.write(`tab bench: ${tenantLabel}…\n`);
    const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant } satisfies SimArgs);
    children.push(sim);
    const bot = await startBotChild(`bot (tab, ${tenantLabel})`, {
      env: botEnv({
        simUrl: sim.ready.url,
        serviceUrl: connector.serviceUrl,
        dbPath: join(dir, 'tab.sqlite'),
        extra: { TAB_SIGN_IN_CLIENT_ID: DEMO_TAB_APP.clientId, TAB_ADMIN_GROUP_ID: GROUP.tabAdmins, RECONCILE_INTERVAL_MS: String(3_600_000) },
      }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(bot);
    const seeded = await sim.rpc<{ ids: string[]; principals: string[]; roleDefinitionId: string }>('seedPending', { n: PENDING });
    await bot.rpc('seedTracked', { pimIds: seeded.ids, principals: seeded.principals, roleDefinitionId: seeded.roleDefinitionId });

    for (const [who, upn, view] of [
      ['Megan: Awaiting my approval', 'meganb@contoso.example', 'approvals'],
      ['Adele: Dashboard', 'adelev@contoso.example', 'dashboard'],
    ] as const) {
      const page = await signIn(browser, bot.ready.url, upn, view);
      const first = await page.evaluate(() => performance.getEntriesByName('pim-tab-first-view')[0]?.startTime ?? Number.NaN);
      const samples: number[] = [];
      for (let i = 0; i < LOADS; i++) samples.push(await load(page, bot.ready.url, view));
      rows.push({ tenant: tenantLabel, view: who, first, samples });
      await page.context().close();
    }
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH.`);
  const built = await buildTab({ minify: true });
  process.stderr.write(`tab bundle built in ${built.outDir}\n`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const rows: Row[] = [];
  try {
    await measure('demo', 'demo', browser, rows);
    await measure(`${USERS.toLocaleString('en-US')} users`, { requesters: USERS, extraRoles: 0 }, browser, rows);
  } finally {
    await browser.close();
  }
  const out = process.stdout;
  out.write(`\n### PIM tab: first view in Chromium on loopback, ${machineLine()}\n\n`);
  out.write(
    `${PENDING} requests awaiting Megan Bowen; each view opened ${LOADS} times after signing in (the first open, right after the sign-in redirect, apart). Target: p90 under ${TARGET_MS} ms.\n\n`,
  );
  out.write(
    table(
      ['tenant', 'view', 'first open (ms)', 'p50 (ms)', 'p90 (ms)', 'max (ms)', `p90 under ${TARGET_MS} ms`],
      rows.map((r) => {
        const s = summarize(r.samples);
        return [r.tenant, r.view, fixed(r.first, 0), fixed(s.p50, 0), fixed(s.p90, 0), fixed(s.max, 0), s.p90 < TARGET_MS ? 'yes' : 'NO'];
      }),
    ),
  );
  out.write('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
