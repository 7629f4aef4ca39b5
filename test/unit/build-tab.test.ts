/**
 * The PIM tab's production bundle (scripts/build-tab.ts, `npm run build:tab`): one minified entry script and
 * one stylesheet named by content hash, the chunks the page loads only when it needs them (Teams' SDK,
 * MSAL, Chart.js), index.html pointing at them, no source maps, gzipped copies, Chart.js with only the
 * chart types the dashboard draws, and size budgets so the first view stays fast.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BuiltTab, buildTab } from '../../scripts/build-tab';

/**
 * Measured 2026-12-07, minified (gzipped):
 * - first view, the entry and the chunk it imports (Fluent web components, FAST, the Teams themes, the
 *   tab's own code): 179 KiB (47 KiB);
 * - loaded on demand: Teams' SDK 201 KiB (55 KiB) in Teams, MSAL 336 KiB (87 KiB) outside Teams,
 *   Chart.js with bar and doughnut 171 KiB (60 KiB) on the dashboard;
 * - all scripts 889 KiB; the stylesheet 3 KiB.
 * The budgets leave room to grow a little; a jump past them (a library pulled into the first view by a
 * static import) fails here.
 */
const FIRST_VIEW_BUDGET_BYTES = 240 * 1024;
const FIRST_VIEW_GZIP_BUDGET_BYTES = 70 * 1024;
const ALL_SCRIPTS_BUDGET_BYTES = 1100 * 1024;
const STYLESHEET_BUDGET_BYTES = 16 * 1024;

describe('the PIM tab build', () => {
  let dir: string;
  let built: BuiltTab;
  let html: string;
  const read = (f: string) => readFileSync(path.join(built.outDir, f), 'utf8');
  const scripts = () => [built.js, ...built.chunks];
  /** The scripts the first view loads: the entry and what index.html preloads for it. */
  const firstView = () => [built.js, ...[...html.matchAll(/<link rel="modulepreload" href="\.\/([^"]+)"/g)].map((m) => m[1]!)];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tab-build-'));
    built = await buildTab({ minify: true, outDir: path.join(dir, 'tab') });
    html = read('index.html');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes index.html, the hashed entry, stylesheet and chunks (each also gzipped), and nothing else', () => {
    expect(built.js).toMatch(/^app-[A-Z0-9]{8}\.js$/);
    expect(built.css).toMatch(/^app-[A-Z0-9]{8}\.css$/);
    for (const c of built.chunks) expect(c).toMatch(/^chunk-[A-Z0-9]{8}\.js$/);
    const expected = [built.css!, ...scripts()].flatMap((f) => [f, `${f}.gz`]);
    expect(readdirSync(built.outDir).sort()).toEqual([...expected, 'index.html'].sort());
    expect(html).toContain(`<script type="module" src="./${built.js}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="./${built.css}" />`);
    expect(html).not.toContain('%');
    // The entry's static imports are preloaded, and are chunks that exist.
    expect(firstView().length).toBeGreaterThan(1);
    for (const f of firstView()) expect(built.chunks.concat(built.js)).toContain(f);
    // No inline script or style: the page's Content-Security-Policy allows neither.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
  });

  it('ships no source maps and is minified', () => {
    expect(readdirSync(built.outDir).filter((f) => f.endsWith('.map'))).toEqual([]);
    for (const f of [...scripts(), built.css!]) expect(read(f)).not.toContain('sourceMappingURL');
    // Minified: no indented code lines (Fluent's CSS template literals keep their own line breaks).
    for (const f of scripts()) expect(read(f)).not.toMatch(/\n {2,}(const|let|return|function) /);
  });

  it('stays within its size budgets, the first view above all', () => {
    const size = (files: string[]) => files.reduce((n, f) => n + built.sizes[f]!, 0);
    expect(size(firstView())).toBeLessThan(FIRST_VIEW_BUDGET_BYTES);
    expect(size(firstView().map((f) => `${f}.gz`))).toBeLessThan(FIRST_VIEW_GZIP_BUDGET_BYTES);
    expect(size(scripts())).toBeLessThan(ALL_SCRIPTS_BUDGET_BYTES);
    expect(built.sizes[built.css!]).toBeLessThan(STYLESHEET_BUDGET_BYTES);
  });

  it('loads Chart.js, MSAL and Teams SDK only on demand, and carries only the chart types the dashboard registers', () => {
    const first = firstView().map(read).join('\n');
    const all = scripts().map(read).join('\n');
    // Strings of Chart.js's core, MSAL and Teams' SDK: in the bundle, not in the first view.
    // (Booleans, not the strings: a failure would print the whole bundle.)
    for (const marker of ['Canvas is already in use', 'msal.js.browser', 'has not yet been initialized']) {
      expect({ marker, inBundle: all.includes(marker), inFirstView: first.includes(marker) }).toEqual({ marker, inBundle: true, inFirstView: false });
    }
    // Not registered, so not bundled: radar, polar area, scatter.
    for (const unused of ['polarArea', 'radar', 'scatter']) expect({ unused, found: all.includes(unused) }).toEqual({ unused, found: false });
  });

  it('writes linked source maps only in a development build', async () => {
    const dev = await buildTab({ minify: false, outDir: path.join(dir, 'dev') });
    expect(readdirSync(dev.outDir).some((f) => f.endsWith('.js.map'))).toBe(true);
    expect(readdirSync(dev.outDir).some((f) => f.endsWith('.gz'))).toBe(false);
    // And the production one is really minified: well under the readable build.
    const total = (b: BuiltTab) => [b.js, ...b.chunks].reduce((n, f) => n + b.sizes[f]!, 0);
    expect(total(built)).toBeLessThan(0.7 * total(dev));
  });
});
