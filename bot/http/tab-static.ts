import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { HttpError } from './http-body';
import type { BotHttpServer, BotResponse } from './http-server';

/**
 * The PIM personal tab's page (issue 23): GET /tab/ and /tab/<file> from the folder scripts/build-tab.ts
 * writes (dist/tab). Only flat file names of known types are served, so no path can leave the folder.
 */

/** Where Teams frames a tab: the Teams web and desktop clients and the Microsoft 365 hosts they now live under. */
export const TEAMS_FRAME_ANCESTORS = ['teams.microsoft.com', '*.teams.microsoft.com', '*.skype.com', '*.cloud.microsoft'] as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** A file name the build writes: letters, digits, dot, dash, underscore; no leading dot, no path. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** esbuild's `[name]-[hash]` and `chunk-[hash]` names: their content never changes under that name. */
const HASHED_NAME = /-[A-Z0-9]{8}\.(js|css)$/;

/**
 * dist/tab beside the running code: from source (bot/http) the repository's dist/tab; from the compiled bot
 * (dist/bot/http) the dist/tab next to it, as the image lays them out.
 */
export function defaultTabDir(): string {
  const up = path.resolve(__dirname, '../..');
  return path.basename(up) === 'dist' ? path.join(up, 'tab') : path.join(up, 'dist', 'tab');
}

export interface TabStaticOptions {
  /** The built tab (dist/tab). */
  dir: string;
  /** Origins the page may call besides its own: the sign-in authority (Entra, or the simulator in demo). */
  connectSrc: string[];
}

/** The Content-Security-Policy of every answer under /tab/: only the bundle's own files run, only in Teams' frames. */
export function tabContentSecurityPolicy(connectSrc: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Fluent's and Chart.js's styles are constructed stylesheets and CSSOM writes, which style-src does not govern.
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${["'self'", ...connectSrc.map(originOf)].join(' ')}`,
    // MSAL renews a token in a hidden frame of the authority when its refresh token no longer serves.
    `frame-src ${connectSrc.length ? connectSrc.map(originOf).join(' ') : "'none'"}`,
    `frame-ancestors 'self' ${TEAMS_FRAME_ANCESTORS.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join('; ');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new Error(`tab connect-src: ${JSON.stringify(url)} is not a URL; give an origin such as https://login.microsoftonline.com`);
  }
}

export function registerTabStatic(server: BotHttpServer, opts: TabStaticOptions): void {
  const dir = path.resolve(opts.dir);
  const csp = tabContentSecurityPolicy(opts.connectSrc);
  const secure = (res: BotResponse) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
  };

  server.route('GET', '/tab', async (_req, res) => {
    res.setHeader('Location', '/tab/');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(301, { redirect: '/tab/' });
  });
  server.route('GET', '/tab/*', async (req, res) => {
    const rawPath = new URL(req.url ?? '/', 'http://tab').pathname;
    const name = fileName(rawPath);
    secure(res);
    const index = path.join(dir, 'index.html');
    if (!(await isFile(index))) {
      // A page, not JSON: whoever sees this is looking at the tab in a browser.
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Retry-After', '30');
      res.writeHead(503);
      res.end(NOT_BUILT_PAGE);
      return;
    }
    const type = name ? CONTENT_TYPES[path.extname(name)] : undefined;
    const file = name ? path.join(dir, name) : null;
    // The joined path must still be a direct child of dir (belt and braces: SAFE_NAME already has no separator).
    if (!name || !type || !file || path.dirname(file) !== dir || !(await isFile(file))) {
      throw new HttpError(404, 'not_found', 'No such file in the PIM tab. Open /tab/ for the tab.');
    }
    // The build's gzipped copy when the browser takes gzip (the script is a quarter of its size so).
    const gz = `${file}.gz`;
    const gzip = acceptsGzip(req.headers['accept-encoding']) && (await isFile(gz));
    const body = await readFile(gzip ? gz : file);
    res.setHeader('Vary', 'Accept-Encoding');
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', body.length);
    res.setHeader('Cache-Control', HASHED_NAME.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.writeHead(200);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

/** The one file a /tab/ path names (`index.html` for /tab/), or null for anything that is not a flat, safe name. */
export function fileName(urlPath: string): string | null {
  if (!urlPath.startsWith('/tab/')) return null;
  let rest: string;
  try {
    rest = decodeURIComponent(urlPath.slice('/tab/'.length));
  } catch {
    return null;
  }
  if (rest === '') return 'index.html';
  if (!SAFE_NAME.test(rest) || rest.includes('..')) return null;
  return rest;
}

/** Accept-Encoding names gzip (or *) without refusing it with q=0. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const offers = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase().split(',');
  return offers.some((o) => {
    const [coding, ...params] = o.split(';').map((x) => x.trim());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PIM tab not built</title></head>
<body><h1>The PIM tab is not built</h1>
<p>This server has no built tab page (dist/tab/index.html is missing). On the server, run <code>npm run build</code>
(or <code>npm run build:tab</code> for the tab alone) and reload.</p></body></html>
`;
