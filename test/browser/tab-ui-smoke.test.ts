/**
 * The PIM tab's page renders in Chromium (issue 23): served by the bot's real static route (its
 * Content-Security-Policy included), with Teams and sign-in replaced by stand-ins (test/support/tab/) and
 * the tab API answered by canned JSON shaped like /api/tab/*. In Teams' light, dark and high-contrast
 * themes, every view shows its heading and axe-core finds no serious or critical violation; nothing on
 * the page is refused by the CSP and nothing logs an error.
 *
 * A smoke test only: the views' behaviour end to end is tested against the real API elsewhere.
 * Needs Debian's chromium (test/support/chromium.ts); without it the test fails rather than skips.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type Browser, chromium, type Page, type Route } from 'playwright-core';
import { BotHttpServer } from '../../bot/http/http-server';
import { registerTabStatic } from '../../bot/http/tab-static';
import { buildTab } from '../../scripts/build-tab';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '../..');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const THEMES = ['default', 'dark', 'contrast'] as const;
const TOKEN = 'test-tab-token';

/** Each view: its tab, its heading, what shows once its data is in, and what to open so axe sees it too. */
const VIEWS: Array<{ tab: string; heading: string; ready: string; open?: (page: Page) => Promise<void> }> = [
  { tab: 'Awaiting my approval', heading: 'Awaiting my approval', ready: '[data-request-id="req-1"]' },
  { tab: 'My requests', heading: 'My requests', ready: '[data-request-id="req-9"]' },
  {
    tab: 'My access',
    heading: 'My access',
    ready: '[data-testid="access-eligible"]',
    open: async (page) => {
      await page.getByRole('button', { name: 'Activate Security Operator' }).click();
      await page.getByTestId('access-form').waitFor();
    },
  },
  { tab: 'History', heading: 'History', ready: '[data-testid="history-approvals"]' },
  {
    tab: 'Dashboard',
    heading: 'Dashboard',
    ready: 'canvas[data-chart="outcomes"]',
    // The charts' tables, in their disclosures.
    open: async (page) => {
      await page.evaluate(() => {
        for (const d of Array.from(document.querySelectorAll('details'))) d.open = true;
      });
    },
  },
];

const adele = { id: 'u-adele', name: 'Adele Vance', upn: 'adele@contoso.example' };
const megan = { id: 'u-megan', name: 'Megan Bowen', upn: 'megan@contoso.example' };
const hours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

/** Canned answers shaped like the tab API's. */
const API: Record<string, unknown> = {
  '/api/tab/me': { user: adele, isAdmin: true, timeZone: 'Europe/Berlin' },
  '/api/tab/approvals': {
    items: [
      {
        requestId: 'req-1',
        version: 3,
        kind: 'entraRole',
        role: 'Security Operator',
        roleDefinitionId: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
        scope: '/',
        requester: megan,
        justification: 'Investigating alert 4711 from Defender',
        duration: '2 hours',
        durationMinutes: 120,
        ticket: { system: 'ServiceNow', number: 'INC0012345' },
        createdAt: hours(-1),
        expiresAt: hours(23),
        riskFlags: ['riskyUser', 'outsideMaintenanceWindow'],
        reasons: ['The ticket is open and assigned to the requester', 'The requester is not on call'],
        checks: [
          { result: 'pass', onFail: 'deny', word: '✓ Passed', title: 'Ticket', summary: 'INC0012345 is open and assigned to Megan Bowen' },
          { result: 'fail', onFail: 'review', word: '⚠ Flagged', title: 'On call', summary: 'Megan Bowen is not on call' },
          { result: 'unavailable', onFail: 'review', word: '? Could not be completed', title: 'Identity risk', summary: 'ID Protection did not answer' },
        ],
        identityRisk: {
          tone: 'warning',
          headline: 'Identity risk: medium (at risk)',
          facts: [
            { title: 'State', value: 'at risk' },
            { title: 'Updated', value: '2026-12-06 10:00 UTC', at: hours(-20) },
          ],
          detections: [{ text: 'Unfamiliar sign-in properties · medium risk, at risk · Seattle, US', at: hours(-21) }],
        },
        history: {
          line: '2 activations in 90 days · last 3 days ago',
          firstActivation: false,
          details: [{ text: 'Last activation 3 days ago', at: hours(-72) }],
        },
        approverNames: ['Adele Vance', 'Alex Wilber'],
      },
    ],
    nextCursor: null,
  },
  '/api/tab/requests': {
    items: [
      {
        requestId: 'req-9',
        version: 1,
        kind: 'group',
        role: 'SQL Admins (member)',
        roleDefinitionId: 'member',
        scope: 'SQL Admins',
        status: 'pending',
        justification: 'Patch the reporting database',
        duration: '1 hour',
        ticket: null,
        createdAt: hours(-0.5),
        expiresAt: hours(23.5),
        decidedBy: null,
        decidedAt: null,
        decisionJustification: null,
      },
      {
        requestId: 'req-8',
        version: 4,
        kind: 'entraRole',
        role: 'Exchange Administrator',
        roleDefinitionId: '29232cdf-9323-42fd-ade2-1d097af3e4de',
        scope: '/',
        status: 'denied',
        justification: 'Mailbox migration',
        duration: '4 hours',
        ticket: { system: 'Jira', number: 'OPS-12' },
        createdAt: hours(-30),
        expiresAt: hours(-6),
        decidedBy: megan,
        decidedAt: hours(-29),
        decisionJustification: 'Use the migration service account instead',
      },
    ],
    nextCursor: null,
  },
  '/api/tab/access': {
    eligible: [
      {
        key: 'e1',
        kind: 'entraRole',
        name: 'Security Operator',
        scope: '/',
        scopeName: 'Whole directory',
        start: hours(-2000),
        end: hours(200),
        actions: { activate: true, extend: true, renew: false, end: false },
      },
    ],
    active: [
      {
        key: 'a1',
        kind: 'azureResource',
        name: 'Contributor',
        scope: '/subscriptions/0000',
        scopeName: 'Production subscription',
        start: hours(-1),
        end: hours(1),
        actions: { activate: false, extend: false, renew: false, end: true },
      },
    ],
    expired: [
      {
        key: 'x1',
        kind: 'group',
        name: 'SQL Admins',
        memberType: 'member',
        scope: 'g1',
        scopeName: 'SQL Admins',
        start: hours(-900),
        end: hours(-100),
        actions: { activate: false, extend: false, renew: true, end: false },
      },
    ],
  },
  '/api/tab/history': {
    activations: [
      { role: 'Security Operator', kind: 'entraRole', scope: '/', status: 'approved', createdAt: hours(-48), decidedAt: hours(-47), decidedBy: 'Megan Bowen' },
    ],
    approvals: [
      { role: 'Exchange Administrator', requester: 'Megan Bowen', result: 'denied', decidedAt: hours(-29), justification: 'Use the service account' },
    ],
  },
  '/api/tab/admin/dashboard': {
    range: { from: '2026-11-07', to: '2026-12-07', timeZone: 'Europe/Berlin' },
    roles: [{ id: 'r1', name: 'Security Operator' }],
    decisionTime: {
      buckets: [
        { label: 'Under 15 min', count: 12 },
        { label: '15-60 min', count: 7 },
        { label: '1-4 h', count: 3 },
        { label: 'Over 4 h', count: 1 },
      ],
      byRole: [{ role: 'Security Operator', count: 14, medianMinutes: 11 }],
      byHour: [
        { hour: 9, count: 8, medianMinutes: 9 },
        { hour: 14, count: 6, medianMinutes: 20 },
      ],
    },
    outcomes: [
      { outcome: 'approved', count: 18 },
      { outcome: 'denied', count: 3 },
      { outcome: 'expired', count: 2 },
    ],
    pendingByAge: [
      { bucket: 'Under 1 h', count: 2 },
      { bucket: '1-8 h', count: 1 },
    ],
    nudges: { reminders: 9, escalations: 2 },
    topRoles: [{ role: 'Security Operator', count: 14 }],
    topRequesters: [{ name: 'Megan Bowen', count: 6 }],
    dormant: [{ principal: 'Alex Wilber', role: 'Global Reader', kind: 'entraRole', lastActivation: null }],
    permanent: [{ principal: 'Break Glass 1', role: 'Global Administrator', kind: 'entraRole' }],
    spotAudits: [
      { requestId: 'req-5', role: 'Security Operator', requester: 'Megan Bowen', decidedBy: 'Adele Vance', decidedAt: hours(-20), justification: 'On call' },
    ],
  },
};

async function answerApi(route: Route): Promise<void> {
  const req = route.request();
  const url = new URL(req.url());
  if (req.headers().authorization !== `Bearer ${TOKEN}`) {
    await route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'token_missing', message: 'Sign in again.' } }),
    });
    return;
  }
  const body = API[url.pathname];
  await route.fulfill(
    body
      ? { status: 200, contentType: 'application/json', body: JSON.stringify(body) }
      : { status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'not_found', message: 'No such thing.' } }) },
  );
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('the PIM tab in Chromium', () => {
  let dir: string;
  let server: BotHttpServer;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    requireChromium();
    dir = mkdtempSync(path.join(os.tmpdir(), 'tab-smoke-'));
    const built = await buildTab({
      minify: true,
      outDir: path.join(dir, 'tab'),
      replace: { host: path.join(ROOT, 'test/support/tab/host.ts'), auth: path.join(ROOT, 'test/support/tab/auth.ts') },
    });
    server = new BotHttpServer(pino({ level: 'silent' }));
    registerTabStatic(server, { dir: built.outDir, connectSrc: ['https://login.microsoftonline.com'] });
    await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(THEMES)('every view renders its heading with no serious accessibility violation in the %s theme', async (theme) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy|Refused to/.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/api/tab/**', answerApi);
    await page.goto(`${url}/tab/?theme=${theme}`);
    await page.getByRole('heading', { level: 2, name: VIEWS[0]!.heading }).waitFor();

    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
    const failures: string[] = [];
    for (const view of VIEWS) {
      await page.getByRole('tab', { name: view.tab }).click();
      const panel = page.locator('[role="tabpanel"]:not([hidden])');
      await panel.getByRole('heading', { level: 2, name: view.heading }).waitFor();
      await panel.locator(view.ready).first().waitFor();
      await view.open?.(page);
      if (process.env.TAB_SMOKE_SCREENSHOTS)
        await page.screenshot({ path: path.join(process.env.TAB_SMOKE_SCREENSHOTS, `${theme}-${view.tab.replace(/\W+/g, '-')}.png`), fullPage: true });
      for (const v of await seriousViolations(page)) failures.push(`${theme} / ${view.tab}: ${v.id} (${v.impact}) ${v.help}\n    ${JSON.stringify(v.nodes)}`);
    }
    await page.close();
    expect(problems).toEqual([]);
    expect(failures).toEqual([]);
    // First view (approvals) on loopback, browser start excluded.
  });
  it('a decision needs a justification, then shows who decided; a 409 shows where the request stands', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const sent: unknown[] = [];
    let conflict = false;
    await page.route('**/api/tab/**', async (route) => {
      const req = route.request();
      if (req.method() !== 'POST') return answerApi(route);
      sent.push({ path: new URL(req.url()).pathname, auth: req.headers().authorization, body: req.postDataJSON() });
      const decided = {
        status: conflict ? 'denied' : 'approved',
        decidedBy: conflict ? { id: 'u-alex', name: 'Alex Wilber', upn: 'alex@contoso.example' } : adele,
        decidedAt: hours(0),
        decisionJustification: conflict ? 'Not during the freeze' : 'Alert triage',
      };
      await route.fulfill(
        conflict
          ? {
              status: 409,
              contentType: 'application/json',
              body: JSON.stringify({ error: { code: 'already_decided', message: 'Alex Wilber already denied this request.' }, request: decided }),
            }
          : {
              status: 200,
              contentType: 'application/json',
              body: JSON.stringify({ result: 'approved', message: 'Recorded in PIM: you approved this request.', request: decided }),
            },
      );
    });

    for (const expected of [
      { conflict: false, message: 'Recorded in PIM: you approved this request.', who: 'Adele Vance', why: 'Alert triage', status: 'Approved' },
      { conflict: true, message: 'Alex Wilber already denied this request.', who: 'Alex Wilber', why: 'Not during the freeze', status: 'Denied' },
    ]) {
      conflict = expected.conflict;
      sent.length = 0;
      await page.goto(`${url}/tab/?theme=default`);
      const item = page.locator('[data-request-id="req-1"]');
      await item.waitFor();
      await item.getByRole('button', { name: 'Approve' }).click();
      await item.getByRole('alert').waitFor();
      expect(await item.getByRole('alert').textContent()).toContain('Write why you approve');
      expect(sent).toEqual([]);
      await item.locator('[data-testid="decision-justification"] textarea').fill('Alert triage');
      await item.getByRole('button', { name: 'Approve' }).click();
      const outcome = item.getByTestId('decision-outcome');
      await outcome.waitFor();
      const text = (await outcome.textContent()) ?? '';
      for (const part of [expected.message, expected.who, expected.why, expected.status]) expect(text).toContain(part);
      expect(sent).toEqual([
        { path: '/api/tab/approvals/req-1/decision', auth: `Bearer ${TOKEN}`, body: { reviewResult: 'Approve', justification: 'Alert triage', version: 3 } },
      ]);
      // The form is gone: no second decision from this copy.
      expect(await item.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    }
    await page.close();
    expect(errors).toEqual([]);
  });

  it("recolours the dashboard's charts when Teams changes theme", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**/api/tab/**', answerApi);
    await page.goto(`${url}/tab/?theme=default&view=dashboard`);
    await page.locator('canvas[data-chart="outcomes"]').waitFor();
    const ink = () => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--colorNeutralForeground1').trim());
    const light = await ink();
    await page.evaluate(() => (window as unknown as { setTabTheme(t: string): void }).setTabTheme('dark'));
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await ink()).not.toBe(light);
    await page.close();
    expect(errors).toEqual([]);
  });
});
