/**
 * The production build, as the container runs it: `tsc -p tsconfig.build.json` and the tab's bundle into a temp dir, then
 * the Dockerfile's own CMD (read from the Dockerfile, so the two cannot drift) against the simulator.
 * Checks /healthz, /readyz (ready, then not once the Bot Connector is gone), /metrics after a PIM
 * evaluation, correlation ids in the JSON logs, and the Dockerfile's HEALTHCHECK command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { buildProduction, dockerfileCommands } from '../../scripts/production-build';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type SimHandle } from '../../sim/server';
import { startFakeConnector, type FakeConnector } from '../support/fake-connector';
import { USER } from '../../sim/seed';
import { demoEnv, PKI_DIR, APP_ID_URI, simJson } from '../support/harness';

describe('the compiled build started with the Dockerfile CMD', () => {
  const docker = dockerfileCommands();
  let dir: string;
  let sim: SimHandle;
  let connector: FakeConnector;
  let child: ChildProcess;
  let url = '';
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pim-dist-'));
    buildProduction(dir);

    sim = await startSimulator({ pkiDir: PKI_DIR, port: 0 });
    connector = await startFakeConnector();
    const env = { ...demoEnv(sim.url, connector.serviceUrl, join(dir, 'bot.sqlite')), LOG_LEVEL: 'info', CARD_SUMMARY_AFTER: '0' };
    const [command, ...args] = docker.cmd;
    expect(command).toBe('node');
    child = spawn(process.execPath, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: join(PKI_DIR, 'ca.pem'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`the bot did not start within 60 s: ${stderr.slice(-800)}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          logLines.push(parsed);
          if (parsed.msg === 'bot listening') {
            clearTimeout(timer);
            resolve(parsed.url as string);
          }
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bot exited (${code}) before listening: ${stderr.slice(-800)}`));
      });
    });
    sim.setCustomExtension({ targetUrl: `${url}/api/pim/evaluate`, resourceId: APP_ID_URI, timeoutMs: 5000, maximumRetries: 1 });
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await sim?.close();
    await connector?.close().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz, with the caller’s correlation id echoed', async () => {
    const res = await fetch(`${url}/healthz`, { headers: { 'x-correlation-id': 'probe-42' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('x-correlation-id')).toBe('probe-42');
  });

  it("serves the PIM tab's page from the dist/tab the build wrote, under its Content-Security-Policy", async () => {
    const page = await fetch(`${url}/tab/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self' teams.microsoft.com");
    const script = /<script type="module" src="\.\/([^"]+)"/.exec(await page.text())?.[1];
    expect((await fetch(`${url}/tab/${script}`)).status).toBe(200);
  });

  it('the Dockerfile HEALTHCHECK command passes against it', () => {
    const [command, ...args] = docker.healthcheck;
    expect(command).toBe('node');
    const port = new URL(url).port;
    const run = spawnSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '', PORT: port }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(0);
  });

  it('is ready: database, Graph token and connector checked (no Bot Framework token in demo)', async () => {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect({ status: res.status, body }).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(Object.keys(body.checks).sort()).toEqual(['connector', 'database', 'graphToken']);
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
  });

  it('counts a PIM evaluation in /metrics, and logs it with the request’s correlation id', async () => {
    const created = await simJson(sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
    });
    expect(created.status).toBeLessThan(300);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^pim_evaluations_total\{outcome="Approved",rule="[a-zA-Z]+"\} 1$/m);
    expect(text).toMatch(/^pim_decision_duration_seconds_count\{outcome="Approved"\} 1$/m);
    expect(text).toMatch(/^pim_pending_requests\{age_bucket="lt_15m"\} 1$/m);
    expect(text).toMatch(/^outbox_depth \d+$/m);
    expect(text).toMatch(/^graph_requests_total\{api="graph",status_class="2xx"\} [1-9]\d*$/m);
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toMatch(/^pim_ready 1$/m);
    expect(text).toMatch(/^pim_readiness_check_ok\{check="connector"\} 1$/m);

    const evaluated = logLines.find((l) => l.msg === 'activation evaluated');
    expect(evaluated).toBeDefined();
    expect(evaluated!.correlationId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(evaluated!.pimRequestId).toBe(created.body.id);
    // No log line carries a bearer token.
    expect(JSON.stringify(logLines)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('reports not ready, naming the connector, once the Bot Connector is unreachable', async () => {
    await connector.close();
    let body: { status: string; checks: Record<string, { ok: boolean; detail: string }> } | undefined;
    let status = 0;
    // The report is cached for a few seconds; poll until the fresh one shows.
    for (let i = 0; i < 40 && status !== 503; i++) {
      const res = await fetch(`${url}/readyz`);
      status = res.status;
      body = (await res.json()) as typeof body;
      if (status !== 503) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(503);
    expect(body!.status).toBe('not ready');
    expect(body!.checks.connector).toMatchObject({ ok: false, detail: expect.stringMatching(/^unreachable/) });
    expect(body!.checks.database!.ok).toBe(true);
  });
});
