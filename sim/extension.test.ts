import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { SimHandle } from './server';
import { DEMO_PIM_CALLER_APP_ID, ROLE, USER } from './seed';
import { control, startTestSim } from './test-support';

const APP_ID_URI = 'api://127.0.0.1/b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75';

/** A stand-in for the bot's /api/pim/evaluate: verifies PIM's token like the bot must, then answers as told. */
class Receiver {
  calls: Array<{ body: any; claims: any; contentType?: string }> = [];
  answer: (n: number) => { status: number; body?: unknown; delayMs?: number } = () => ({
    status: 200,
    body: { evaluationId: 'e1', evaluationOutcome: 'Approved', reason: [] },
  });
  private server = http.createServer((req, res) => void this.handle(req, res));
  constructor(private readonly sim: SimHandle) {}
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/pim/evaluate`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const jwks = createRemoteJWKSet(new URL(`${this.sim.url}/${this.sim.tenantId}/discovery/v2.0/keys`));
    let claims: any;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer: this.sim.issuer, audience: APP_ID_URI }));
    } catch {
      res.writeHead(401);
      res.end();
      return;
    }
    this.calls.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), claims, contentType: req.headers['content-type'] });
    const a = this.answer(this.calls.length);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (res.destroyed) return;
    // Not chained: restify, loaded by other suites in the same process, patches ServerResponse.writeHead
    // into one that returns nothing.
    res.writeHead(a.status, { 'Content-Type': 'application/json' });
    res.end(a.body === undefined ? '' : JSON.stringify(a.body));
  }
}

describe('simulated PIM calling the pre-approval custom extension', () => {
  let sim: SimHandle;
  let rx: Receiver;
  beforeAll(async () => {
    sim = await startTestSim();
    rx = new Receiver(sim);
    await rx.start();
    sim.setCustomExtension({ targetUrl: rx.url, resourceId: APP_ID_URI, timeoutMs: 500, maximumRetries: 3 });
  });
  afterAll(async () => {
    await rx.stop();
    await sim.close();
  });
  beforeEach(() => {
    rx.calls = [];
  });

  const file = (principal: string, role: string) =>
    control(sim, 'POST', '/_sim/requests', {
      principal,
      role,
      justification: 'Rotate certificate',
      ticketNumber: 'CHG0042001',
      ticketSystem: 'ServiceNow',
      durationMinutes: 120,
    });

  it('posts the Entra role request body with a token signed by the simulated Entra for our App ID URI', async () => {
    rx.answer = () => ({ status: 200, body: { evaluationId: 'ev-1', evaluationOutcome: 'Approved', reason: ['Ticket open'] } });
    const r = await file('isaiahl@contoso.example', 'User Administrator');
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('PendingApproval');
    expect(rx.calls).toHaveLength(1);
    const { body, claims, contentType } = rx.calls[0]!;
    expect(contentType).toMatch(/^application\/json/);
    expect(Object.keys(body).sort()).toEqual(
      ['@odata.type', 'action', 'directoryScopeId', 'id', 'justification', 'principalId', 'roleDefinitionId', 'scheduleInfo', 'status', 'ticketInfo'].sort(),
    );
    expect(body).toMatchObject({
      '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
      id: r.body.id,
      action: 'selfActivate',
      principalId: USER.isaiah,
      roleDefinitionId: ROLE.userAdministrator,
      directoryScopeId: '/',
      justification: 'Rotate certificate',
      scheduleInfo: { expiration: { type: 'afterDuration', duration: 'PT2H' } },
      ticketInfo: { ticketNumber: 'CHG0042001', ticketSystem: 'ServiceNow' },
    });
    expect(claims).toMatchObject({ aud: APP_ID_URI, iss: `${sim.url}/${sim.tenantId}/v2.0`, azp: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
    expect(claims.exp - claims.iat).toBeGreaterThanOrEqual(3000);
    const view = (await control(sim, 'GET', `/_sim/requests/${r.body.id}`)).body;
    expect(view.evaluation).toEqual({ evaluationId: 'ev-1', evaluationOutcome: 'Approved', reason: ['Ticket open'] });
    expect(view.approval.steps[0]).toMatchObject({ status: 'InProgress', reviewResult: 'NotReviewed' });
  });

  it('grants at once on AutoApproved and blocks on Denied', async () => {
    rx.answer = () => ({ status: 200, body: { evaluationId: 'ev-2', evaluationOutcome: 'AutoApproved', reason: ['On call'] } });
    expect((await file('lynner@contoso.example', 'Helpdesk Administrator')).body.status).toBe('Granted');
    rx.answer = () => ({ status: 200, body: { evaluationId: 'ev-3', evaluationOutcome: 'Denied', reason: ['No open ticket'] } });
    const denied = await file('pattif@contoso.example', 'Helpdesk Administrator');
    expect(denied.body.status).toBe('Denied');
    expect((await control(sim, 'GET', `/_sim/requests/${denied.body.id}`)).body.evaluation.reason).toEqual(['No open ticket']);
  });

  it('retries 5xx and timeouts with the same request id, then applies the verdict', async () => {
    rx.answer = (n) =>
      n === 1
        ? { status: 503 }
        : n === 2
          ? { status: 200, delayMs: 800, body: {} }
          : { status: 200, body: { evaluationId: 'ev-4', evaluationOutcome: 'Approved', reason: [] } };
    const r = await file('isaiahl@contoso.example', 'Helpdesk Administrator');
    expect(r.body.status).toBe('PendingApproval');
    expect(rx.calls).toHaveLength(3);
    expect(new Set(rx.calls.map((c) => c.body.id))).toEqual(new Set([r.body.id]));
  });

  it('fails closed when the extension keeps failing or answers nonsense', async () => {
    rx.answer = () => ({ status: 500 });
    const r = await file('lynner@contoso.example', 'User Administrator');
    expect(r.body.status).toBe('Failed');
    expect(rx.calls).toHaveLength(4);
    expect((await control(sim, 'GET', `/_sim/requests/${r.body.id}`)).body.failureReason).toMatch(/HTTP 500.*4 attempts/);
    rx.calls = [];
    rx.answer = () => ({ status: 200, body: { evaluationId: 'x', evaluationOutcome: 'Maybe' } });
    const bad = await file('pattif@contoso.example', 'User Administrator');
    expect(bad.body.status).toBe('Failed');
    expect(rx.calls).toHaveLength(1);
  });

  it('applies the policy alone when no extension is configured', async () => {
    sim.setCustomExtension(undefined);
    try {
      const r = await file('alexw@contoso.example', 'Global Administrator');
      expect(r.body.status).toBe('PendingApproval');
      expect(rx.calls).toHaveLength(0);
    } finally {
      sim.setCustomExtension({ targetUrl: rx.url, resourceId: APP_ID_URI, timeoutMs: 500, maximumRetries: 3 });
    }
  });
});
