/**
 * The PIM tab's static route: the built page's files with their content types, cache rules and security
 * headers; paths that try to leave dist/tab refused; a clear 503 page while the tab is not built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import pino from 'pino';
import { BotHttpServer } from './http-server';
import { acceptsGzip, fileName, registerTabStatic, tabContentSecurityPolicy } from './tab-static';

const AUTHORITY = 'https://login.microsoftonline.com';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw GET: the path goes on the wire as written (no client-side normalisation of `..`). */
function get(base: string, rawPath: string, headers: Record<string, string> = {}): Promise<Answer & { raw: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: rawPath, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(dir: string): Promise<{ server: BotHttpServer; url: string }> {
  const server = new BotHttpServer(pino({ level: 'silent' }));
  registerTabStatic(server, { dir, connectSrc: [`${AUTHORITY}/some/path`] });
  await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}` };
}

describe('the PIM tab static route', () => {
  let root: string;
  let dist: string;
  let server: BotHttpServer;
  let url: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tab-static-'));
    dist = path.join(root, 'dist', 'tab');
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>PIM</title><script type="module" src="./app-ABCDEFGH.js"></script>');
    writeFileSync(path.join(dist, 'app-ABCDEFGH.js'), 'console.log("tab")');
    writeFileSync(path.join(dist, 'app-IJKLMNOP.css'), 'body{}');
    writeFileSync(path.join(dist, 'app-ABCDEFGH.js.gz'), gzipSync('console.log("tab")'));
    writeFileSync(path.join(dist, 'notes.txt'), 'a file of a type the tab never serves');
    // Files next to dist/tab that a traversal would reach.
    writeFileSync(path.join(root, 'secret.json'), '{"secret":"must not be served"}');
    writeFileSync(path.join(root, 'dist', 'secret.json'), '{"secret":"must not be served"}');
    ({ server, url } = await serve(dist));
  });

  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at /tab/ as HTML that is revalidated every time', async () => {
    const res = await get(url, '/tab/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toContain('<title>PIM</title>');
    expect((await get(url, '/tab/index.html')).body).toBe(res.body);
  });

  it('redirects /tab to /tab/', async () => {
    const res = await get(url, '/tab');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/tab/');
  });

  it('serves the hashed script and stylesheet with their types, cached for good', async () => {
    const js = await get(url, '/tab/app-ABCDEFGH.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log("tab")');
    const css = await get(url, '/tab/app-IJKLMNOP.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['cache-control']).toContain('immutable');
  });

  it('sends the gzipped build to a browser that accepts gzip, the plain file to one that does not', async () => {
    const zipped = await get(url, '/tab/app-ABCDEFGH.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(gunzipSync(zipped.raw).toString('utf8')).toBe('console.log("tab")');
    const plain = await get(url, '/tab/app-ABCDEFGH.js', { 'Accept-Encoding': 'gzip;q=0, identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log("tab")');
    // No .gz beside it: the plain file, whatever the browser accepts.
    expect((await get(url, '/tab/app-IJKLMNOP.css', { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    // The .gz files are not addressable themselves.
    expect((await get(url, '/tab/app-ABCDEFGH.js.gz')).status).toBe(404);
    expect(acceptsGzip('br;q=1.0, gzip;q=0.8, *;q=0.1')).toBe(true);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it('sends a strict Content-Security-Policy that lets only Teams frame the page, and nosniff', async () => {
    const res = await get(url, '/tab/');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toBe(tabContentSecurityPolicy([AUTHORITY]));
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", AUTHORITY]);
    expect(directives['frame-src']).toEqual([AUTHORITY]);
    expect(directives['frame-ancestors']).toEqual(["'self'", 'teams.microsoft.com', '*.teams.microsoft.com', '*.skype.com', '*.cloud.microsoft']);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'none'"]);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // On refusals too.
    expect((await get(url, '/tab/missing.js')).headers['content-security-policy']).toBe(csp);
  });

  it('answers unknown files and types the tab does not serve with a 404 JSON error', async () => {
    for (const p of ['/tab/missing.js', '/tab/notes.txt', '/tab/.hidden.js']) {
      const res = await get(url, p);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'not_found', message: expect.stringContaining('/tab/') } });
    }
  });

  it.each([
    '/tab/../secret.json',
    '/tab/../../secret.json',
    '/tab/%2e%2e/secret.json',
    '/tab/%2E%2E%2Fsecret.json',
    '/tab/..%2f..%2fsecret.json',
    '/tab/..%5csecret.json',
    '/tab/%2e%2e%2f%2e%2e%2fsecret.json',
    '/tab/sub/../../secret.json',
    '/tab/%252e%252e%252fsecret.json',
    '/tab/%00secret.json',
    '/tab//etc/passwd',
    '/tab/%2fetc%2fpasswd',
  ])('refuses the traversal %s', async (p) => {
    const res = await get(url, p);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain('must not be served');
    expect(res.body).not.toContain('root:');
  });

  it('knows the only names it serves', () => {
    expect(fileName('/tab/')).toBe('index.html');
    expect(fileName('/tab/app-ABCDEFGH.js')).toBe('app-ABCDEFGH.js');
    expect(fileName('/tab/%2e%2e%2fsecret.json')).toBeNull();
    expect(fileName('/tab/a/b.js')).toBeNull();
    expect(fileName('/tab/..')).toBeNull();
    expect(fileName('/tab/%E0%A4%A')).toBeNull();
  });

  it('answers 503 with a page saying how to build the tab when it is not built', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'tab-empty-'));
    const bare = await serve(path.join(empty, 'dist', 'tab'));
    try {
      for (const p of ['/tab/', '/tab/app-ABCDEFGH.js']) {
        const res = await get(bare.url, p);
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toContain('npm run build');
      }
    } finally {
      await bare.server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses a connect-src that is not a URL, saying what to give', () => {
    expect(() => tabContentSecurityPolicy(['login.microsoftonline.com'])).toThrow(/not a URL.*origin/);
  });
});
