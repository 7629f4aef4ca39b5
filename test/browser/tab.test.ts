/**
 * The PIM tab end to end, in a real browser, against the real bot and the simulator: the page the bot serves
 * at /tab/, signed in outside Teams with MSAL (authorization code + PKCE) on the simulator's sign-in page.
 *   - Megan, an approver, approves from the tab: PIM records exactly one decision as her, and the channel
 *     card is rewritten to show who decided and why.
 *   - Lynne, a requester, cancels a pending request and ends a running activation from the tab.
 *   - Adele, a member of the dashboard admins group, sees the dashboard; a CSV downloads and parses.
 * axe-core finds no serious or critical violation in any view with real data. Each view is saved as a
 * picture to test/artifacts/, or to docs/images/ for the README with UPDATE_DOCS_IMAGES=1
 * (`npm run docs:screenshots`). Needs Debian's chromium (test/support/chromium.ts).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { AZURE, DEMO_TAB_APP, GROUP, USER } from '../../sim/seed';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium';
import { type Harness, pendingRequest, simJson, startHarness } from '../support/harness';

jest.setTimeout(120_000);

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const IMAGES = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(__dirname, '../../docs/images') : path.join(__dirname, '../artifacts');
const DECISION = 'Checked INC0012345 with the service desk: the CFO is locked out';

interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: unknown[];
}

/** Serious and critical axe-core findings on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: any[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n: any) => n.target) }));
  });
  return (found as AxeFinding[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} ${JSON.stringify(v.targets)}`);
}

/** PIM decisions (PATCHes of an approval step) the simulator received since its calls were cleared. */
async function pimDecisions(h: Harness): Promise<number> {
  const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>;
  return calls.filter((c) => c.method === 'PATCH' && /stages|steps/i.test(c.path)).length;
}

describe('the PIM tab in Chromium, against the bot and the simulator', () => {
  let h: Harness;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    requireChromium();
    mkdirSync(IMAGES, { recursive: true });
    h = await startHarness(
      { TAB_SIGN_IN_CLIENT_ID: DEMO_TAB_APP.clientId, TAB_ADMIN_GROUP_ID: GROUP.tabAdmins, AZURE_PIM_SCOPES: AZURE.subscription },
      { sweepIntervalMs: 3_600_000 },
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await h?.close();
  });

  /** A browser of the user's own, signed in on the simulator's page; the tab open on its first view. */
  async function signedIn(name: string, theme: 'default' | 'dark' | 'contrast' = 'default'): Promise<{ page: Page; problems: string[] }> {
    // The simulator's certificate is from the local CA the browser does not know.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const problems: string[] = [];
    // Hermetic: nothing leaves loopback.
    await context.route(
      (url) => !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname),
      (route) => {
        problems.push(`off loopback: ${route.request().url()}`);
        return route.abort('blockedbyclient');
      },
    );
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${h.bot.url}/tab/?theme=${theme}`);
    await page.getByRole('heading', { name: 'Sign in to Contoso (simulated)' }).waitFor({ timeout: 20_000 });
    await page.getByLabel(new RegExp(name)).check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 2, name: 'Awaiting my approval' }).waitFor({ timeout: 20_000 });
    return { page, problems };
  }

  async function openView(page: Page, tab: string): Promise<ReturnType<Page['locator']>> {
    await page.getByRole('tab', { name: tab }).click();
    const panel = page.locator('[role="tabpanel"]:not([hidden])');
    await panel.getByRole('heading', { level: 2, name: tab }).waitFor();
    return panel;
  }

  it('an approver approves from the tab: one PIM decision as her, and the channel card shows who decided and why', async () => {
    const { pimId, row } = await pendingRequest(h, { principal: USER.isaiah, role: 'User Administrator' });
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const { page, problems } = await signedIn('Megan Bowen');

    const item = page.locator(`[data-request-id="${row.id}"]`);
    await item.waitFor();
    expect(await item.textContent()).toContain('Isaiah Langer');
    // What the card shows an approver: the checks and the requester's history with the role.
    expect(await item.textContent()).toContain('History with this role');
    expect(await item.textContent()).toContain('✓ Passed · Justification');
    // Durations and times are written for people: no ISO 8601 text.
    expect(await item.textContent()).not.toMatch(/PT\d|\d{4}-\d{2}-\d{2}T/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(IMAGES, 'tab-approvals.png') });

    await item.locator('[data-testid="decision-justification"] textarea').fill(DECISION);
    await item.getByRole('button', { name: 'Approve' }).click();
    const outcome = item.getByTestId('decision-outcome');
    await outcome.waitFor({ timeout: 20_000 });
    expect(await outcome.textContent()).toContain('Megan Bowen');

    // PIM holds exactly one decision, Megan's, with her reason.
    expect(await pimDecisions(h)).toBe(1);
    const pim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(pim.body.status).toBe('Granted');
    expect(pim.body.approval.steps).toHaveLength(1);
    expect(pim.body.approval.steps[0]).toMatchObject({ reviewResult: 'Approve', justification: DECISION, reviewedBy: { id: USER.megan } });

    // The channel's card is rewritten in place: who decided and why, no buttons left.
    await h.bot.delivery.drain();
    const post = h.connector.posts.find((p) => JSON.stringify(p.activity).includes(row.id));
    expect(post).toBeDefined();
    const updates = h.connector.updates.filter((u) => u.activityId === post!.activityId);
    expect(updates).toHaveLength(1);
    const card = JSON.stringify(updates[0]!.activity.attachments![0].content);
    expect(card).toContain('Megan Bowen');
    expect(card).toContain(DECISION);
    expect(card).not.toContain('Action.Execute');
    expect(problems).toEqual([]);
  });

  it('a requester cancels a pending request and ends a running activation from the tab', async () => {
    const { pimId, row } = await pendingRequest(h, {
      principal: USER.lynne,
      role: 'Helpdesk Administrator',
      justification: 'Unlock accounts for the service desk queue, INC0012345',
    });
    const { page, problems } = await signedIn('Lynne Robbins');

    // My requests: the pending one, cancelled from the tab; PIM has it as cancelled.
    const requests = await openView(page, 'My requests');
    const mine = requests.locator(`[data-request-id="${row.id}"]`);
    await mine.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(IMAGES, 'tab-requests.png') });
    await mine.getByRole('button', { name: 'Cancel request' }).click();
    await requests.locator(`[data-request-id="${row.id}"][data-status="cancelled"]`).waitFor({ timeout: 20_000 });
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('Canceled');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('cancelled');

    // My access: Reports Reader activated (no approval needed), then ended once PIM's first 5 minutes are over.
    const access = await openView(page, 'My access');
    await access.getByRole('button', { name: 'Activate Reports Reader' }).click();
    const form = access.getByTestId('access-form');
    await form.waitFor();
    await form.locator('textarea').first().fill('Monthly sign-in report for the audit');
    await form.getByTestId('access-submit').click();
    const endNow = access.getByRole('button', { name: 'End now Reports Reader' });
    await endNow.waitFor({ timeout: 20_000 });
    expect(await access.textContent()).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(IMAGES, 'tab-access.png'), fullPage: true });
    await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: 6 });
    await endNow.click();
    await endNow.waitFor({ state: 'detached', timeout: 20_000 });
    // PIM no longer lists it among her active assignments.
    const token = await h.sim.issueUserAssertion(USER.lynne);
    const after = (await (await fetch(`${h.bot.url}/api/tab/access`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      active: Array<{ name: string }>;
    };
    expect(after.active.map((a) => a.name)).not.toContain('Reports Reader');

    const history = await openView(page, 'History');
    await history.getByTestId('history-activations').waitFor();
    expect(await history.getByTestId('history-activations').textContent()).toContain('Helpdesk Administrator');
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(IMAGES, 'tab-history.png') });
    expect(problems).toEqual([]);
  });

  it.each(['default', 'dark', 'contrast'] as const)('an admin sees the dashboard in the %s theme, and its CSV downloads and parses', async (theme) => {
    const { page, problems } = await signedIn('Adele Vance', theme);
    const dash = await openView(page, 'Dashboard');
    await dash.locator('canvas[data-chart="outcomes"]').waitFor({ timeout: 20_000 });
    await page.evaluate(() => {
      for (const d of Array.from(document.querySelectorAll('details'))) d.open = true;
    });
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: path.join(IMAGES, theme === 'default' ? 'tab-dashboard.png' : `tab-dashboard-${theme}.png`), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), dash.getByTestId('csv-requests').click()]);
    const file = await download.path();
    const lines = readFileSync(file!, 'utf8').trim().split(/\r?\n/);
    const header = lines[0]!.split(',');
    expect(header.length).toBeGreaterThan(3);
    // One line per request the bot holds in the range (the earlier tests made two; none in the first run of this one).
    const held = await h.bot.store.db.selectFrom('approval_requests').select(['id']).execute();
    expect(lines.length - 1).toBe(held.length);
    for (const row of held) expect(lines.some((l) => l.startsWith(`${row.id},`))).toBe(true);
    expect(problems).toEqual([]);
  });

  it('is not a dashboard for someone outside the admins group', async () => {
    const { page } = await signedIn('Megan Bowen');
    expect(await page.getByRole('tab', { name: 'Dashboard' }).count()).toBe(0);
    const token = await h.sim.issueUserAssertion(USER.megan);
    const res = await fetch(`${h.bot.url}/api/tab/admin/dashboard`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
  });
});
