import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

/**
 * The PIM tab's page: bot/tab/web/main.ts (browser TypeScript, Fluent web components, Chart.js) bundled by
 * esbuild into one entry script and one stylesheet in dist/tab/, named by content hash (so the static route
 * can let browsers keep them for good), and index.html with those names filled in. What the page imports
 * dynamically comes as chunks loaded only when needed: Teams' SDK (in Teams), MSAL (sign-in outside Teams)
 * and Chart.js (the admins' dashboard), so the first view waits for none of them it does not use.
 *
 *   npm run build:tab           minified and gzipped, no source maps (what production serves)
 *   tsx scripts/build-tab.ts --dev   readable, with linked source maps
 *   tsx scripts/build-tab.ts --out <dir>   somewhere else than dist/tab
 */

const ROOT = path.join(__dirname, '..');
export const TAB_SOURCE_DIR = path.join(ROOT, 'bot/tab/web');
export const TAB_OUT_DIR = path.join(ROOT, 'dist/tab');

export interface BuildTabOptions {
  minify: boolean;
  outDir?: string;
  /**
   * Replaces the page's own modules (by their name in bot/tab/web, e.g. `host`, `auth`) with other files:
   * the browser tests swap Teams and sign-in for stand-ins; production never passes this.
   */
  replace?: Record<string, string>;
}

export interface BuiltTab {
  outDir: string;
  /** File names in outDir: the entry script, the stylesheet, the lazily loaded chunks. */
  js: string;
  css: string | null;
  chunks: string[];
  /** Bytes of every file written (index.html, script, stylesheet, their .gz in a minified build, maps in a readable one). */
  sizes: Record<string, number>;
}

export async function buildTab(opts: BuildTabOptions): Promise<BuiltTab> {
  const outDir = opts.outDir ?? TAB_OUT_DIR;
  // Built beside the target and swapped in whole, so a server reading dist/tab never sees half a build.
  const stage = `${outDir}.building-${process.pid}`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  try {
    const built = await buildInto(stage, opts);
    rmSync(outDir, { recursive: true, force: true });
    renameSync(stage, outDir);
    return { ...built, outDir };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function buildInto(outDir: string, opts: BuildTabOptions): Promise<BuiltTab> {
  const result = await build({
    entryPoints: { app: path.join(TAB_SOURCE_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    splitting: true,
    // What Teams runs tabs in: Edge WebView2 on desktop, current browsers on the web and mobile.
    target: ['es2022', 'chrome111', 'edge111', 'safari16.4', 'firefox115'],
    platform: 'browser',
    minify: opts.minify,
    sourcemap: opts.minify ? false : 'linked',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outdir: outDir,
    metafile: true,
    write: true,
    logLevel: 'silent',
    tsconfig: path.join(TAB_SOURCE_DIR, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': JSON.stringify(opts.minify ? 'production' : 'development') },
    plugins: opts.replace ? [replaceModules(opts.replace)] : [],
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
  const js = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
  const chunks = outputs.filter((f) => f.startsWith('chunk-') && f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css')) ?? null;
  if (!js) throw new Error('esbuild wrote no script for the tab');
  // The chunks the entry imports statically, preloaded from index.html so the browser fetches them alongside
  // the entry instead of after parsing it (one round trip less before the first view).
  const entryKey = Object.keys(result.metafile.outputs).find((k) => path.basename(k) === js)!;
  const preload = new Set<string>();
  const walk = (key: string) => {
    for (const imp of result.metafile.outputs[key]?.imports ?? []) {
      if (imp.kind !== 'import-statement' || imp.external || preload.has(imp.path)) continue;
      preload.add(imp.path);
      walk(imp.path);
    }
  };
  walk(entryKey);
  const preloads = [...preload].map((k) => `<link rel="modulepreload" href="./${path.basename(k)}" />`).join('\n    ');
  const html = readFileSync(path.join(TAB_SOURCE_DIR, 'index.html'), 'utf8')
    .replace('%PRELOADS%', preloads)
    .replace('%APP_JS%', `./${js}`)
    .replace(css ? '%APP_CSS%' : /\s*<link rel="stylesheet" href="%APP_CSS%" \/>/, css ? `./${css}` : '');
  writeFileSync(path.join(outDir, 'index.html'), html);
  const written = [...outputs, 'index.html'];
  if (opts.minify) {
    // Gzipped beside the originals, once here rather than per request: the static route sends them to
    // browsers that accept gzip (every one Teams runs in), a quarter of the bytes.
    for (const f of [js, css, ...chunks].filter((x): x is string => x !== null)) {
      writeFileSync(path.join(outDir, `${f}.gz`), gzipSync(readFileSync(path.join(outDir, f)), { level: 9 }));
      written.push(`${f}.gz`);
    }
  }
  const sizes: Record<string, number> = {};
  for (const f of written) sizes[f] = readFileSync(path.join(outDir, f)).length;
  return { outDir, js, css, chunks, sizes };
}

function replaceModules(replace: Record<string, string>): Plugin {
  return {
    name: 'replace-tab-modules',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        if (path.dirname(target) !== TAB_SOURCE_DIR) return undefined;
        const swap = replace[path.basename(target).replace(/\.ts$/, '')];
        return swap ? { path: swap } : undefined;
      });
    },
  };
}

if (require.main === module) {
  const dev = process.argv.includes('--dev');
  const out = process.argv.indexOf('--out');
  buildTab({ minify: !dev, outDir: out > 0 && process.argv[out + 1] ? path.resolve(process.argv[out + 1]!) : undefined })
    .then((built) => {
      const total = Object.values(built.sizes).reduce((a, b) => a + b, 0);
      console.log(
        `tab built in ${path.relative(ROOT, built.outDir)}: ${Object.entries(built.sizes)
          .map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`)
          .join(', ')} (total ${(total / 1024).toFixed(1)} KiB)`,
      );
    })
    .catch((err: Error) => {
      console.error(`The tab did not build: ${err.message}`);
      process.exit(1);
    });
}
