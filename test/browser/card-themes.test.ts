/**
 * Every card the bot sends (test/support/card-gallery.ts), rendered by the Adaptive Cards JS renderer in
 * Chromium with Teams' light and dark host configs and a Teams high-contrast one (test/support/host-configs.ts):
 *
 * - contrast: every text run the card shows, measured from computed styles against what is really behind it
 *   (semi-transparent colours composited down to the first opaque background), must reach 4.5:1 (WCAG AA for
 *   body text, asked of all text here); axe-core's `color-contrast` rule must report no violation either;
 * - the fold: on the approver's pending card with every block an approver can get, the bottom of Approve (the
 *   Action.Execute with verb pim.approve) must sit at most 800 px below the card's top, so that with Teams'
 *   header and compose box (about 200 px) it shows in a 1000 px tall window without scrolling.
 *
 * Screenshots of every card in every host go to test/artifacts/cards/<card-state>-<theme>.png; with
 * UPDATE_DOCS_IMAGES=1 the approver's pending card in light and dark also goes to docs/images/ for the README.
 *
 * Teams draws cards in Segoe UI, which Linux lacks: the page maps it to Liberation Sans (metrics of Arial, a
 * little narrower than Segoe UI); line heights come from the renderer (1.33 × font size) whatever the font.
 *
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install chromium`; CHROMIUM_PATH overrides).
 * Without it the test fails: a skipped browser test would hide that the cards' looks are unchecked.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from '../support/chromium';
import { APPROVER_WORST_CASE, cardGallery, type GalleryCard } from '../support/card-gallery';
import { loadTeamsHosts, THEME_NAMES, type HostConfigJson, type TeamsHost, type ThemeName } from '../support/host-configs';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test/artifacts/cards');
const DOCS_IMAGES = process.env.UPDATE_DOCS_IMAGES === '1' ? path.join(ROOT, 'docs/images') : null;
const RENDERER = require.resolve('adaptivecards/dist/adaptivecards.min.js');
const AXE = require.resolve('axe-core/axe.min.js');

/** A Teams message column: the card at 500 px, in a window 1000 px tall. */
const CARD_WIDTH = 500;
const VIEWPORT = { width: CARD_WIDTH + 40, height: 1000 };
/** What is left of a 1000 px window under Teams' own header and above its compose box. */
const FOLD_PX = 800;
const MIN_CONTRAST = 4.5;
const APPROVE_VERB = 'pim.approve';

const HOSTS = loadTeamsHosts();
const GALLERY = cardGallery();

/** One run of text as the page shows it, with the colours that meet the eye. */
interface TextRun {
  text: string;
  /** The text colour composited onto its background, and that background, as #rrggbb. */
  fg: string;
  bg: string;
  ratio: number;
  font: string;
  /** Drawn by the host, not the card: the renderer's aria-hidden required-input `*`, coloured by the host config. */
  hostCue: boolean;
  /** Shown only after a Details/ShowCard button was pressed. */
  expanded: boolean;
}

interface AxeFinding {
  text: string;
  fg: string;
  bg: string;
  ratio: number;
  expected: string;
}

interface Rendered {
  /** Bottom of the Approve button below the card's top, in px; null when the card shows none. */
  approveBottom: number | null;
  cardHeight: number;
}

interface Checked {
  runs: TextRun[];
  axe: AxeFinding[];
}

/** What the page knows (installed by `pageHelpers`). */
interface CardCheck {
  render(card: unknown, hostConfig: unknown, approveVerb: string): Promise<Rendered>;
  check(): Promise<Checked>;
}

/**
 * Installed into each host page as `window.cardCheck`: renders a card into #host, then measures it. Runs in
 * the browser, so it uses nothing from this module.
 */
function pageHelpers(): void {
  type Rgba = { r: number; g: number; b: number; a: number };
  const w = window as any;
  let current: { ac: any; root: HTMLElement } | null = null;

  const parse = (css: string): Rgba => {
    const m = css.match(/rgba?\(([^)]+)\)/);
    if (!m) return { r: 0, g: 0, b: 0, a: 0 };
    const [r, g, b, a] = m[1]!
      .split(/[,\s/]+/)
      .filter(Boolean)
      .map(Number);
    return { r: r!, g: g!, b: b!, a: a ?? 1 };
  };
  /** `top` painted over `under` (source-over). */
  const over = (top: Rgba, under: Rgba): Rgba => {
    const a = top.a + under.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (t: number, u: number) => (t * top.a + u * under.a * (1 - top.a)) / a;
    return { r: mix(top.r, under.r), g: mix(top.g, under.g), b: mix(top.b, under.b), a };
  };
  /** The backgrounds from `el` up to the first opaque one, composited (the canvas is white under all). */
  const backgroundOf = (el: Element): Rgba => {
    const layers: Rgba[] = [];
    for (let n: Element | null = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.a > 0) layers.push(c);
      if (c.a >= 1) break;
    }
    return layers.reduceRight((under, layer) => over(layer, under), { r: 255, g: 255, b: 255, a: 1 } as Rgba);
  };
  const opacityOf = (el: Element): number => {
    let o = 1;
    for (let n: Element | null = el; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  /** WCAG 2 relative luminance. */
  const luminance = (c: Rgba): number => {
    const ch = (v: number) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  };
  const hex = (c: Rgba) => `#${[c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
  const visible = (el: Element): boolean => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const measure = (el: Element, text: string, expanded: boolean) => {
    const style = getComputedStyle(el);
    const bg = backgroundOf(el);
    const ink = parse(style.color);
    const fg = over({ ...ink, a: ink.a * opacityOf(el) }, bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    return {
      text: text.replace(/\s+/g, ' ').trim().slice(0, 90),
      fg: hex(fg),
      bg: hex(bg),
      ratio: Math.round(((hi! + 0.05) / (lo! + 0.05)) * 100) / 100,
      font: `${style.fontSize} ${style.fontWeight}`,
      hostCue: el.closest('[aria-hidden="true"]') !== null,
      expanded,
    };
  };
  /** Each element's own visible text (a TextRun's span, a TextBlock, a label, a button title) and what inputs show. */
  const textElements = (root: HTMLElement): Map<Element, string> => {
    const found = new Map<Element, string>();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim() || el.closest('select, option') || !visible(el)) continue;
      found.set(el, `${found.get(el) ?? ''}${n.textContent}`);
    }
    // Prefilled values and the chosen option (placeholders are the host's styling, not the card's).
    for (const el of Array.from(root.querySelectorAll('input, textarea, select'))) {
      if (!visible(el)) continue;
      const text = el instanceof HTMLSelectElement ? (el.selectedOptions[0]?.text ?? '') : (el as HTMLInputElement).value;
      if (text.trim()) found.set(el, text);
    }
    return found;
  };

  w.cardCheck = {
    async render(card: unknown, hostConfig: unknown, approveVerb: string) {
      const host = document.getElementById('host')!;
      host.replaceChildren();
      const ac = new w.AdaptiveCards.AdaptiveCard();
      ac.hostConfig = new w.AdaptiveCards.HostConfig(hostConfig);
      ac.parse(card);
      const root: HTMLElement = ac.render();
      host.appendChild(root);
      current = { ac, root };
      await document.fonts.ready;
      const top = root.getBoundingClientRect().top;
      const approve = ac.getAllActions().find((a: any) => a.getJsonTypeName() === 'Action.Execute' && a.verb === approveVerb);
      const button: HTMLElement | undefined = approve?.renderedElement;
      return {
        approveBottom: button && visible(button) ? Math.round(button.getBoundingClientRect().bottom - top) : null,
        cardHeight: Math.round(root.getBoundingClientRect().height),
      };
    },
    /** Measures the card as shown, then again with every Details toggle and ShowCard opened, and runs axe on it open. */
    async check() {
      if (!current) throw new Error('no card rendered');
      const { ac, root } = current;
      const runs = [...textElements(root)].map(([el, text]) => measure(el, text, false));
      const seen = new Set(textElements(root).keys());
      const pressed = new Set<unknown>();
      for (let pass = 0; pass < 3; pass++) {
        for (const a of ac.getAllActions()) {
          const type = a.getJsonTypeName();
          const el: HTMLElement | undefined = a.renderedElement;
          if ((type !== 'Action.ToggleVisibility' && type !== 'Action.ShowCard') || pressed.has(a) || !el || !visible(el)) continue;
          pressed.add(a);
          el.click();
        }
      }
      for (const [el, text] of textElements(root)) if (!seen.has(el)) runs.push(measure(el, text, true));

      const axeFindings: Array<{ text: string; fg: string; bg: string; ratio: number; expected: string }> = [];
      const result = await w.axe.run(root, { runOnly: { type: 'rule', values: ['color-contrast'] }, resultTypes: ['violations'] });
      for (const v of result.violations) {
        for (const node of v.nodes) {
          const data = node.any[0]?.data ?? {};
          const target = document.querySelector(node.target[0]);
          axeFindings.push({
            text: (target?.textContent ?? node.html).replace(/\s+/g, ' ').trim().slice(0, 90),
            fg: data.fgColor,
            bg: data.bgColor,
            ratio: data.contrastRatio,
            expected: data.expectedContrastRatio,
          });
        }
      }
      return { runs, axe: axeFindings };
    },
  };
}

function page(theme: ThemeName): Page {
  const p = pages.get(theme);
  if (!p) throw new Error(`no page for ${theme}: beforeAll failed`);
  return p;
}

let browser: Browser | undefined;
const pages = new Map<ThemeName, Page>();
const contrastTable: Array<{ card: string; theme: ThemeName; runs: number; below: number; worst: string; axe: number }> = [];
const hostCueTable: Array<{ card: string; theme: ThemeName; text: string; ratio: number; fg: string; bg: string }> = [];
const foldTable: Array<{ card: string; theme: ThemeName; approveBottomPx: number | null; limitPx: number; cardHeightPx: number }> = [];

/** The blank page of one host: its CSS, Teams' page background, Segoe UI mapped to an installed font, renderer, axe and helpers. */
async function openHost(b: Browser, host: TeamsHost): Promise<Page> {
  const context = await b.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  // Hermetic: the page needs nothing from any network.
  await context.route('**/*', (route) => route.abort('blockedbyclient'));
  const p = await context.newPage();
  const font = host.hostConfig.fontTypes.default.fontFamily;
  await p.setContent(`<!doctype html><html><head><meta charset="utf-8"><style>
@font-face { font-family: 'Segoe UI'; src: local('Liberation Sans'), local('LiberationSans'); font-weight: 100 500; }
@font-face { font-family: 'Segoe UI'; src: local('Liberation Sans Bold'), local('LiberationSans-Bold'); font-weight: 600 900; }
html, body { margin: 0; background: ${host.pageBackground}; font-family: ${font}; }
#frame { padding: 12px; width: ${CARD_WIDTH}px; }
#host { width: ${CARD_WIDTH}px; }
</style><style>${host.css}</style></head><body><div id="frame"><div id="host"></div></div></body></html>`);
  await p.addScriptTag({ path: RENDERER });
  await p.addScriptTag({ path: AXE });
  await p.addScriptTag({ content: `(${pageHelpers.toString()})();` });
  return p;
}

function render(p: Page, card: unknown, hostConfig: HostConfigJson): Promise<Rendered> {
  return p.evaluate(({ card, hostConfig, verb }) => (window as unknown as { cardCheck: CardCheck }).cardCheck.render(card, hostConfig, verb), {
    card,
    hostConfig,
    verb: APPROVE_VERB,
  });
}

function check(p: Page): Promise<Checked> {
  return p.evaluate(() => (window as unknown as { cardCheck: CardCheck }).cardCheck.check());
}

function report(card: string, theme: ThemeName, below: TextRun[], axe: AxeFinding[]): string {
  const lines = [`${card} in Teams ${theme}: text below ${MIN_CONTRAST}:1`];
  for (const r of below) lines.push(`  ${r.ratio.toFixed(2)}:1  ${r.fg} on ${r.bg}  (${r.font})${r.expanded ? ' [after Details]' : ''}  "${r.text}"`);
  if (axe.length > 0) lines.push('  axe-core color-contrast violations:');
  for (const a of axe) lines.push(`  ${a.ratio}:1 (needs ${a.expected})  ${a.fg} on ${a.bg}  "${a.text}"`);
  return lines.join('\n');
}

beforeAll(async () => {
  requireChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  if (DOCS_IMAGES) mkdirSync(DOCS_IMAGES, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  for (const theme of THEME_NAMES) pages.set(theme, await openHost(browser, HOSTS[theme]));
});

afterAll(async () => {
  await browser?.close();
  const failing = contrastTable.filter((r) => r.below > 0 || r.axe > 0);
  if (failing.length > 0) console.table(failing);
  // The host's own marks (the required-input `*` in the host config's attention colour): for the host config to fix, not the cards.
  if (hostCueTable.length > 0) console.table(hostCueTable);
  if (foldTable.length > 0) console.table(foldTable);
});

describe.each(THEME_NAMES)('in the Teams %s host', (theme) => {
  test.each(GALLERY.map((g): [string, GalleryCard] => [g.name, g]))(
    `%s: every text run reaches ${MIN_CONTRAST}:1 against what is behind it, and axe finds no contrast violation`,
    async (name, { card }) => {
      const p = page(theme);
      await render(p, card, HOSTS[theme].hostConfig);
      const file = path.join(ARTIFACTS, `${name}-${theme}.png`);
      await p.locator('#frame').screenshot({ path: file });
      if (DOCS_IMAGES && name === APPROVER_WORST_CASE && theme !== 'highContrast') {
        copyFileSync(file, path.join(DOCS_IMAGES, `approval-card-${theme}.png`));
      }
      const { runs, axe } = await check(p);
      const cardRuns = runs.filter((r) => !r.hostCue);
      expect(cardRuns.length).toBeGreaterThan(0);
      for (const r of runs.filter((r) => r.hostCue && r.ratio < MIN_CONTRAST))
        hostCueTable.push({ card: name, theme, text: r.text, ratio: r.ratio, fg: r.fg, bg: r.bg });
      const below = cardRuns.filter((r) => r.ratio < MIN_CONTRAST);
      const worst = cardRuns.reduce((w, r) => (r.ratio < w.ratio ? r : w));
      contrastTable.push({
        card: name,
        theme,
        runs: cardRuns.length,
        below: below.length,
        worst: `${worst.ratio}:1 "${worst.text.slice(0, 30)}"`,
        axe: axe.length,
      });
      if (below.length > 0 || axe.length > 0) throw new Error(report(name, theme, below, axe));
    },
  );
});

describe(`the fold: the approver's pending card with every block (${APPROVER_WORST_CASE})`, () => {
  const worst = GALLERY.find((g) => g.name === APPROVER_WORST_CASE)!;

  test.each(THEME_NAMES)(`in Teams %s, Approve (${APPROVE_VERB}) ends at most ${FOLD_PX} px below the card's top`, async (theme) => {
    const shown = await render(page(theme), worst.card, HOSTS[theme].hostConfig);
    foldTable.push({ card: worst.name, theme, approveBottomPx: shown.approveBottom, limitPx: FOLD_PX, cardHeightPx: shown.cardHeight });
    if (shown.approveBottom === null) throw new Error(`${worst.name} in Teams ${theme}: no visible Action.Execute with verb ${APPROVE_VERB}`);
    if (shown.approveBottom > FOLD_PX) {
      throw new Error(
        `${worst.name} in Teams ${theme}: Approve ends ${shown.approveBottom} px below the card's top (card ${shown.cardHeight} px tall); ` +
          `at most ${FOLD_PX} px fit under Teams' header in a 1000 px window, ${shown.approveBottom - FOLD_PX} px too many.`,
      );
    }
  });
});
