/**
 * An approver's click, in a real browser: the playground's web UI (the Teams client of the demo) shows
 * the approval card in the "PIM Approvals" channel, Alex Wilber (the UI's current user, an approver of
 * Helpdesk Administrator) types a justification and clicks Approve, and the card turns into its final
 * state. Saves the card as approvers see it, before and after the decision (approval-card.png,
 * approval-card-approved.png), to test/artifacts/, or to docs/images/ for the README with
 * UPDATE_DOCS_IMAGES=1 (`npm run docs:screenshots`), so a test run leaves the working tree clean.
 *
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`; CHROMIUM_PATH overrides).
 * Without it the test fails: a skipped browser test would hide that the UI path is untested.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium';
import { PNG } from 'pngjs';
import { startDemo, type RunningDemo } from '../../scripts/demo';
import { PLAYGROUND_CHANNEL_NAME } from '../../scripts/playground-config';
import { USER } from '../../sim/seed';

jest.setTimeout(60_000);

const ARTIFACTS = path.join(__dirname, '../artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'approved-card.png');
/** The README's pictures of the card: `npm run docs:screenshots` refreshes them from this test. */
const DOCS_IMAGES = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(__dirname, '../../docs/images') : ARTIFACTS;
const DOCS_PENDING = path.join(DOCS_IMAGES, 'approval-card.png');
const DOCS_APPROVED = path.join(DOCS_IMAGES, 'approval-card-approved.png');

describe('approving in the playground web UI', () => {
  let dir: string;
  let profile: string;
  let demo: RunningDemo | undefined;
  let browser: BrowserContext | undefined;

  beforeAll(async () => {
    requireChromium();
    dir = mkdtempSync(path.join(tmpdir(), 'pim-browser-'));
    profile = mkdtempSync(path.join(tmpdir(), 'pim-chromium-'));
    demo = await startDemo({ simPort: 0, botPort: 0, playgroundPort: 0, databaseUrl: `sqlite:${path.join(dir, 'bot.sqlite')}`, quiet: true, env: {} });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1100 },
    });
    // Hermetic: the UI also asks for resources on the internet (fonts, telemetry); only loopback is allowed.
    await browser.route(
      (url) => !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname),
      (route) => route.abort('blockedbyclient'),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    for (const d of [dir, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function openChannel(): Promise<Page> {
    const page = browser!.pages()[0] ?? (await browser!.newPage());
    // The UI shows only what arrives on its conversation stream while it is open (no history), so the
    // request is created after the stream is connected and the channel is showing.
    const streamOpen = page.waitForEvent('websocket', { predicate: (ws) => ws.url().includes('/_ws_conversation/'), timeout: 15_000 });
    await page.goto(demo!.playground.url);
    await streamOpen;
    await page.getByText(PLAYGROUND_CHANNEL_NAME, { exact: true }).click();
    await page.getByText('Start a new post').waitFor({ timeout: 10_000 });
    return page;
  }

  it("shows the card, records Alex Wilber's approval in PIM, and shows the final card", async () => {
    const page = await openChannel();
    const requestJustification = 'Unlock accounts for the service desk queue, INC0012345';
    const created = await fetch(`${demo!.simUrl}/_sim/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        principal: 'lynner@contoso.example',
        role: 'Helpdesk Administrator',
        justification: requestJustification,
        durationMinutes: 120,
        ticketNumber: 'INC0012345',
        ticketSystem: 'ServiceNow',
      }),
    });
    expect(created.status).toBe(201);
    const pimId = ((await created.json()) as { id: string }).id;

    const card = page.locator('.ac-adaptiveCard', { hasText: 'Lynne Robbins' });
    await card.waitFor({ timeout: 15_000 });
    await expectText(card, 'Helpdesk Administrator');
    await expectText(card, requestJustification);
    await card.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 5_000 });
    mkdirSync(DOCS_IMAGES, { recursive: true });
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: DOCS_PENDING });
    expect(PNG.sync.read(readFileSync(DOCS_PENDING)).width).toBeGreaterThan(200);

    const decision = 'Called Lynne back on her desk phone; queue is real';
    // Typed, as a person does: the playground's card renderer keeps an input's value only from key
    // events it accepts one by one (a programmatic fill() leaves the card thinking the box is empty).
    // The playground re-renders the channel's cards when another message arrives there (from 09:00 UTC the
    // demo's admin digest is posted at start-up, on a busy machine while this types), which empties the box:
    // type until it holds the whole text, then click.
    // The re-render can also land between the last key and the click: the card then refuses the click itself
    // ("Explain your decision"), nothing reaches the bot, and typing again and clicking again is what a person
    // would do.
    const box = card.getByPlaceholder('Why do you approve or deny?');
    const finalLine = card.getByText('Approved by Alex Wilber (alexw@contoso.example)');
    const refused = card.getByText('Explain your decision: it is recorded in PIM.');
    for (let attempt = 0; ; attempt++) {
      await box.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type(decision);
      if ((await box.inputValue()) !== decision) {
        if (attempt === 4) throw new Error(`the justification box holds "${await box.inputValue()}" after 5 tries`);
        continue;
      }
      // Typing clears an earlier refusal, so a refusal seen after this click is this click's.
      await refused.waitFor({ state: 'hidden', timeout: 5_000 });
      await card.getByRole('button', { name: 'Approve' }).click();
      const seen = (line: typeof finalLine, what: 'decided' | 'emptied') =>
        line.waitFor({ timeout: 15_000 }).then(
          () => what,
          () => 'neither' as const,
        );
      const outcome = await Promise.race([seen(finalLine, 'decided'), seen(refused, 'emptied')]);
      if (outcome === 'neither') {
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'approve-failure.png'), fullPage: true });
        throw new Error('15 s after the click the card shows neither the decision nor a refusal (see test/artifacts/approve-failure.png)');
      }
      if (outcome === 'decided') break;
      if (attempt === 4) throw new Error('the card refused the click as unjustified 5 times: the box keeps being emptied');
    }
    await expectText(card, decision);
    expect(await card.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Deny' }).count()).toBe(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: SCREENSHOT });
    expect(existsSync(SCREENSHOT)).toBe(true);
    copyFileSync(SCREENSHOT, DOCS_APPROVED);

    const recorded = (await (await fetch(`${demo!.simUrl}/_sim/requests/${pimId}`)).json()) as any;
    expect(recorded.status).toBe('Granted');
    expect(recorded.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      reviewedBy: { id: USER.alex, userPrincipalName: 'alexw@contoso.example' },
      justification: decision,
    });
  });
});

async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await locator.getByText(text, { exact: false }).first().waitFor({ timeout: 5_000 });
}
