import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { signEvent } from '../../services/events/event-signature';
import { DEMO_PIM_CALLER_APP_ID, ROLE, USER } from '../../sim/seed';
import { APP_ID_URI, CHANNEL_ID, cardAction, type Harness, simJson, startHarness, teamsUser } from '../support/harness';
import { type Auth, type BadHmac, caseAt, type FuzzCase, type FuzzUser, type FuzzWorld, seedFromEnv } from './generate';

/**
 * Issue 7, item 5: at least 10,000 generated malformed or hostile bodies against /api/pim/evaluate,
 * /api/pim/events and /api/messages, with VALID authentication for most of them (a PIM token; an HMAC
 * signature over exactly the hostile bytes; /api/messages runs without Bot Framework auth in demo mode),
 * so they reach validation instead of stopping at a 401. A smaller share of the PIM and event bodies has
 * broken authentication (there is none to break on /api/messages in demo mode).
 *
 * The bot must answer each with a clear refusal (never 5xx, never a crash), store nothing, post no card,
 * decide nothing in PIM, write no upload, and not grow its heap. The generator (./generate.ts) says per
 * case what the answer must be; every case it makes is invalid by construction.
 *
 * Seed: FUZZ_SEED (default fixed, so `npm test` is reproducible; FUZZ_SEED=random explores). Size:
 * FUZZ_CASES (default 10,500; the issue asks for at least 10,000). FUZZ_ENDPOINTS=messages replays one
 * endpoint's cases; FUZZ_VERBOSE=1 prints the tally of cases and answers.
 */

const SECRET = 'test-only-fuzz-events-secret-0123456789abcdef';
const SEED = seedFromEnv();
const TOTAL = Number(process.env.FUZZ_CASES ?? 10_500);
/** FUZZ_ENDPOINTS=evaluate,events replays only those endpoints' cases (same indices, same bodies). */
const ONLY = process.env.FUZZ_ENDPOINTS?.split(',').map((e) => e.trim());
const CONCURRENCY = 16;
/** When the first heap sample is taken: the bot, jest and undici have warmed up by then. */
const WARM_UP = Math.min(2_000, Math.floor(TOTAL / 5));
const MAX_HEAP_GROWTH_BYTES = 32 * 1024 * 1024;
/** An error answer that echoes a large part of a hostile body back is a reflection risk, and not a clear message. */
const MAX_REFUSAL_BYTES = 32 * 1024;
const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const PATHS = { evaluate: '/api/pim/evaluate', events: '/api/pim/events', messages: '/api/messages' } as const;

/**
 * A full garbage collection before each heap sample, so the figures compare live objects. jest gives
 * test files no `--expose-gc`; V8 lets a running process switch the flag on and hand out `gc` from a
 * new context. If that ever stops working the samples are taken without it (noisier, same bound).
 */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

interface Answer {
  status: number;
  contentType: string;
  bytes: number;
  body: unknown;
  error?: string;
}

interface Failure {
  c: FuzzCase;
  problem: string;
  answer: Answer;
}

const u = (id: string): FuzzUser => {
  const t = teamsUser(id);
  return { objectId: t.id, teamsUserId: t.teamsUserId, displayName: t.displayName };
};

describe(`hostile input at scale (FUZZ_SEED=${SEED})`, () => {
  let h: Harness;
  let world: FuzzWorld;
  const tokens: Record<'pim' | 'foreign' | 'expired' | 'audience' | 'caller', string> = { pim: '', foreign: '', expired: '', audience: '', caller: '' };
  const gc = collector();

  // What the run produced, for the assertions below.
  const failures: Failure[] = [];
  const problems = new Map<string, number>();
  const tally = new Map<string, number>();
  const statuses = new Map<string, number>();
  let sent = 0;
  let wallMs = 0;
  const heap = { start: 0, warm: 0, end: 0, gc: false };
  let dbBefore: Record<string, string> = {};
  let dbAfter: Record<string, string> = {};
  let simBefore = '';
  let simAfter = '';
  const simWrites: string[] = [];
  let connectorBefore = { posts: 0, updates: 0 };
  let connectorAfter = { posts: 0, updates: 0 };
  const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
  /** Files a multipart parser would have written for uploads (formidable names them upload_*). */
  const uploads = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('upload_')));
  let uploadsBefore = new Set<string>();
  let uploadsNew: string[] = [];

  /** Every table of the bot's database (SQLite or PostgreSQL) as a row count and a digest of its rows. */
  async function dbSnapshot(): Promise<Record<string, string>> {
    const db = h.bot.store.db;
    const out: Record<string, string> = {};
    for (const table of await db.introspection.getTables({ withInternalKyselyTables: true })) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(db);
      const lines = rows.rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
      out[table.name] = `${lines.length} rows, ${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
    }
    return out;
  }

  /** PIM writes the bot made (decisions, activations, cancellations); reads and token requests are fine. Clears the simulator's call log. */
  async function collectSimWrites(): Promise<void> {
    const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>;
    for (const c of calls) {
      if (c.method === 'GET' || /\/oauth2\/|\/token$|\$batch$/.test(c.path)) continue;
      simWrites.push(`${c.method} ${c.path}`);
    }
    await simJson(h.sim, 'DELETE', '/_sim/calls');
  }

  function heapUsed(): number {
    gc?.();
    return process.memoryUsage().heapUsed;
  }

  function headers(c: FuzzCase): Record<string, string> {
    const out: Record<string, string> = {};
    if (c.contentType !== null) out['content-type'] = c.contentType;
    const auth: Auth = c.auth;
    const now = Math.floor(Date.now() / 1000);
    switch (auth.kind) {
      case 'pimToken':
        out.authorization = `Bearer ${tokens.pim}`;
        break;
      case 'badToken':
        out.authorization = `Bearer ${tokens[auth.token]}`;
        break;
      case 'rawAuthorization':
        if (auth.value !== undefined) out.authorization = auth.value;
        break;
      case 'hmac':
        out['x-pim-bot-timestamp'] = String(now);
        out['x-pim-bot-signature'] = signEvent(SECRET, now, c.body);
        break;
      case 'badHmac':
        Object.assign(out, badHmac(auth.variant, c.body, now));
        break;
      case 'none':
        break;
    }
    return out;
  }

  function badHmac(variant: BadHmac, body: Buffer, now: number): Record<string, string> {
    const sig = (ts: number, secret = SECRET, bytes: Buffer = body) => signEvent(secret, ts, bytes);
    switch (variant) {
      case 'stale':
        return { 'x-pim-bot-timestamp': String(now - 600), 'x-pim-bot-signature': sig(now - 600) };
      case 'future':
        return { 'x-pim-bot-timestamp': String(now + 600), 'x-pim-bot-signature': sig(now + 600) };
      case 'wrongSecret':
        return { 'x-pim-bot-timestamp': String(now), 'x-pim-bot-signature': sig(now, `${SECRET}-not`) };
      case 'otherBytes':
        return { 'x-pim-bot-timestamp': String(now), 'x-pim-bot-signature': sig(now, SECRET, Buffer.concat([body, Buffer.from(' ')])) };
      case 'noSignature':
        return { 'x-pim-bot-timestamp': String(now) };
      case 'noTimestamp':
        return { 'x-pim-bot-signature': sig(now) };
      case 'noHeaders':
        return {};
      case 'badSignatureFormat':
        return { 'x-pim-bot-timestamp': String(now), 'x-pim-bot-signature': sig(now).replace('sha256=', now % 2 ? 'SHA256=' : 'sha1=') };
      case 'badTimestampFormat':
        return { 'x-pim-bot-timestamp': `${now}.5`, 'x-pim-bot-signature': sig(now) };
      case 'bearerInstead':
        return { authorization: 'Bearer not.a.jwt' };
    }
  }

  async function send(c: FuzzCase): Promise<Answer> {
    try {
      const res = await fetch(`${h.bot.url}${PATHS[c.endpoint]}`, { method: 'POST', headers: headers(c), body: new Uint8Array(c.body) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // kept as text: the checks say it is not JSON
      }
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', bytes: Buffer.byteLength(text), body };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return {
        status: 0,
        contentType: '',
        bytes: 0,
        body: null,
        error: `${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`,
      };
    }
  }

  /** What is wrong with the answer to `c`, or null. */
  function problemWith(c: FuzzCase, a: Answer): string | null {
    if (a.error) return `connection error: ${a.error}`;
    if (a.status >= 500) return `HTTP ${a.status}`;
    const body = a.body as Record<string, any> | null;
    switch (c.expect.kind) {
      case 'http4xx': {
        if (a.status < 400 || a.status > 499) return `HTTP ${a.status} where a 4xx refusal was due`;
        if (!/json/i.test(a.contentType) || (typeof a.body === 'string' && !a.contentType))
          return `a ${a.status} that is not JSON (${a.contentType || 'no content type'})`;
        const message = typeof body === 'string' ? body : (body?.error?.message ?? body?.message);
        if (!clear(message)) return `a ${a.status} without a clear message: ${JSON.stringify(body)?.slice(0, 120)}`;
        if (a.bytes > MAX_REFUSAL_BYTES) return `a ${a.status} of ${a.bytes} bytes (echoes the input?)`;
        return null;
      }
      case 'invoke4xx': {
        if (a.status !== 200) return `HTTP ${a.status} where Teams needs 200 with an invoke body`;
        const code = body?.statusCode;
        if (typeof code !== 'number' || code < 400 || code > 499)
          return `invoke statusCode ${String(code)} where a 4xx refusal was due (${JSON.stringify(body)?.slice(0, 160)})`;
        if (body?.type !== 'application/vnd.microsoft.error') return `invoke refusal of type ${String(body?.type)}`;
        if (!clear(body?.value?.message)) return `invoke refusal without a clear message: ${JSON.stringify(body)?.slice(0, 120)}`;
        if (a.bytes > MAX_REFUSAL_BYTES) return `an invoke refusal of ${a.bytes} bytes (echoes the input?)`;
        return null;
      }
      case 'invokeRefusal': {
        if (a.status !== 200) return `HTTP ${a.status} where Teams needs 200 with an invoke body`;
        if (body?.statusCode !== 200)
          return `invoke statusCode ${String(body?.statusCode)} where a card saying why was due (${JSON.stringify(body)?.slice(0, 160)})`;
        const card = JSON.stringify(body.value);
        if (!card.includes(c.expect.says)) return `the answer does not say "${c.expect.says}": ${card?.slice(0, 200)}`;
        if (c.expect.noDecision && /"verb":"pim\.(approve|deny)"/.test(card)) return 'the refusal card still offers Approve or Deny to this user';
        return null;
      }
    }
  }

  function clear(message: unknown): boolean {
    return typeof message === 'string' && message.trim().length >= 15 && /[a-z]{3,}.*\s.*[a-z]{3,}/is.test(message);
  }

  function record(c: FuzzCase, a: Answer): void {
    sent++;
    const key = `${c.endpoint} ${c.family}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    const statusKey = `${c.endpoint} ${a.error ? 'error' : a.status}${(a.body as { statusCode?: number } | null)?.statusCode ? `/invoke ${(a.body as { statusCode: number }).statusCode}` : ''}`;
    statuses.set(statusKey, (statuses.get(statusKey) ?? 0) + 1);
    const problem = problemWith(c, a);
    if (!problem) return;
    const kind = `${c.endpoint} ${c.family}: ${problem.replace(/\d{3,}/g, 'N').slice(0, 90)}`;
    problems.set(kind, (problems.get(kind) ?? 0) + 1);
    if (failures.length < 40) failures.push({ c, problem, answer: a });
  }

  function describeFailure(f: Failure): string {
    return [
      `case ${f.c.index} (FUZZ_SEED=${f.c.seed}) ${f.c.endpoint} [${f.c.family}] ${f.problem}`,
      `  mutations: ${f.c.what.join('; ').slice(0, 400)}`,
      `  sent: ${f.c.body.length} bytes as ${f.c.contentType ?? 'no Content-Type'}, auth ${JSON.stringify(f.c.auth).slice(0, 80)}`,
      `  answer: ${f.answer.status} ${JSON.stringify(f.answer.body)?.slice(0, 300)}`,
    ].join('\n');
  }

  beforeAll(async () => {
    // The reconciler stays out of the way: its hourly run is no part of what the bodies may change.
    h = await startHarness({ EVENTS_HMAC_SECRET: SECRET, RECONCILE_INTERVAL_MS: String(3_600_000) });
    const claims = { aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' };
    const past = Math.floor(Date.now() / 1000) - 7200;
    tokens.pim = await h.sim.issueToken(claims, { expiresInSeconds: 3600 });
    tokens.foreign = await h.sim.issueToken(claims, { signWith: 'foreign' });
    tokens.expired = await h.sim.issueToken({ ...claims, iat: past, nbf: past, exp: past + 600 });
    tokens.audience = await h.sim.issueToken({ ...claims, aud: 'api://127.0.0.1/someone-else' });
    tokens.caller = await h.sim.issueToken({ ...claims, azp: '99999999-0000-4000-8000-000000000000', appid: '99999999-0000-4000-8000-000000000000' });

    // The valid state the forged actions aim at, made through the product's own paths before the baseline.
    const pending = await pimRequest(USER.isaiah, 'User Administrator');
    const selfPending = await pimRequest(USER.alex, 'Security Operator');
    const decided = await pimRequest(USER.patti, 'User Administrator');
    const approved = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: decided,
      version: 1,
      decisionJustification: 'Verified with the requester by phone',
    });
    expect(approved.body.statusCode).toBe(200);
    expect((await h.bot.store.requests.get(decided))!.status).toBe('approved');
    const chat = await chatState(USER.megan);

    world = {
      tenantId: h.env.TENANT_ID!,
      channelId: CHANNEL_ID,
      principalId: USER.isaiah,
      roleDefinitionId: ROLE.userAdministrator,
      pending: {
        id: pending,
        roleName: 'User Administrator',
        requester: u(USER.isaiah),
        approvers: [u(USER.megan), u(USER.adele)],
        outsiders: [u(USER.lynne), u(USER.diego), u(USER.patti)],
      },
      selfPending: { id: selfPending, requester: u(USER.alex) },
      decided: { id: decided, requester: u(USER.patti), approver: u(USER.adele), otherApprover: u(USER.megan) },
      chat: { owner: u(USER.megan), draftId: chat.draftId, chatRequestId: chat.chatRequestId, intruder: u(USER.alex) },
    };

    await h.bot.delivery.drain();
    await collectSimWrites();
    simWrites.length = 0;
    dbBefore = await dbSnapshot();
    simBefore = JSON.stringify((await simJson(h.sim, 'GET', '/_sim/requests')).body);
    connectorBefore = { posts: h.connector.posts.length, updates: h.connector.updates.length };
    uploadsBefore = uploads();

    // The run: CONCURRENCY requests in flight, cases generated as they are sent.
    heap.start = heapUsed();
    const started = Date.now();
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= TOTAL) return;
        const c = caseAt(world, SEED, i);
        if (ONLY && !ONLY.includes(c.endpoint)) continue;
        record(c, await send(c));
        if (++done === WARM_UP) {
          await collectSimWrites();
          heap.warm = heapUsed();
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    wallMs = Date.now() - started;

    await h.bot.delivery.drain();
    await collectSimWrites();
    heap.end = heapUsed();
    heap.gc = gc !== null;
    dbAfter = await dbSnapshot();
    simAfter = JSON.stringify((await simJson(h.sim, 'GET', '/_sim/requests')).body);
    connectorAfter = { posts: h.connector.posts.length, updates: h.connector.updates.length };
    uploadsNew = [...uploads()].filter((f) => !uploadsBefore.has(f));

    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    const lines = [...tally].sort().map(([k, n]) => `  ${k}: ${n}`);
    const answered = [...statuses].sort().map(([k, n]) => `  ${k}: ${n}`);
    process.stdout.write(
      `fuzz: FUZZ_SEED=${SEED}, ${sent} bodies in ${(wallMs / 1000).toFixed(1)} s (${CONCURRENCY} in flight); heap used ${mb(heap.start)} before, ${mb(heap.warm)} after ${WARM_UP}, ${mb(heap.end)} after all` +
        ` (${heap.gc ? 'after a full GC' : 'no GC available'}); ${failures.length ? `${[...problems.values()].reduce((a, b) => a + b, 0)} PROBLEMS` : 'no problems'}\n` +
        // The tally per endpoint and family, and the answers seen: FUZZ_VERBOSE=1, or when something is wrong.
        (failures.length || process.env.FUZZ_VERBOSE ? `cases:\n${lines.join('\n')}\nanswers:\n${answered.join('\n')}\n` : ''),
    );
  }, 600_000);

  afterAll(async () => {
    await h?.close();
    for (const f of uploadsNew) rmSync(join(tmpdir(), f), { force: true });
  });

  /** A PIM activation through the simulator: PIM calls the decision endpoint, which posts the card. */
  async function pimRequest(principal: string, role: string): Promise<string> {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal,
      role,
      justification: GOOD,
      durationMinutes: 120,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(created.body.id);
    expect(row).toBeDefined();
    return row!.id;
  }

  /** A chat draft and a tracked chat request of `userId`, as elevation by chat leaves them. */
  async function chatState(userId: string): Promise<{ draftId: string; chatRequestId: string }> {
    const at = new Date().toISOString();
    const draftId = randomUUID();
    const chatRequestId = randomUUID();
    await h.bot.store.chat.insertDraft({
      id: draftId,
      user_id: userId,
      target: JSON.stringify({ kind: 'entraRole', roleDefinitionId: ROLE.userAdministrator, scope: '/', displayName: 'User Administrator' }),
      duration_minutes: 60,
      ticket_system: null,
      ticket_number: null,
      justification: GOOD,
      claims: null,
      status: 'open',
      chat_request_id: null,
      time_zone: 'UTC',
      created_at: at,
      updated_at: at,
    });
    await h.bot.store.chat.insertRequest({
      id: chatRequestId,
      user_id: userId,
      kind: 'entraRole',
      role_definition_id: ROLE.userAdministrator,
      scope: '/',
      role_title: 'User Administrator',
      pim_request_id: randomUUID(),
      approval_key: null,
      duration_minutes: 60,
      ticket_system: null,
      ticket_number: null,
      justification: GOOD,
      state: 'pending',
      approver_names: '[]',
      decided_by_name: null,
      decided_at: null,
      decision_justification: null,
      decision_service: null,
      active_from: null,
      active_until: null,
      ended_at: null,
      message: null,
      conversation_ref: JSON.stringify({ conversation: { id: `a:${userId}-personal` }, serviceUrl: 'http://127.0.0.1:9/' }),
      activity_id: null,
      version: 1,
      rendered_version: 1,
      time_zone: 'UTC',
      created_at: at,
      updated_at: at,
    });
    return { draftId, chatRequestId };
  }

  it('sends at least 10,000 bodies across the three endpoints', () => {
    // FUZZ_CASES and FUZZ_ENDPOINTS are for exploring and replaying; the default run is the issue's.
    if (process.env.FUZZ_CASES || ONLY) return;
    expect(sent).toBe(TOTAL);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    for (const endpoint of ['evaluate', 'events', 'messages']) {
      expect([...tally].filter(([k]) => k.startsWith(`${endpoint} `)).reduce((s, [, n]) => s + n, 0)).toBeGreaterThan(TOTAL / 4);
    }
  });

  it('answers every hostile body with a clear refusal: no 5xx, no dropped connection, a 4xx (or a 4xx invoke) that says what is wrong', () => {
    const summary = [...problems].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} x ${k}`);
    if (failures.length)
      throw new Error(
        `FUZZ_SEED=${SEED}: ${summary.length} kinds of problem\n${summary.join('\n')}\n\nfirst failures:\n${failures.slice(0, 15).map(describeFailure).join('\n\n')}`,
      );
  });

  it('stores nothing: every table of the bot is as it was, no card is posted or updated, PIM decided nothing, no upload is written', () => {
    expect(dbAfter).toEqual(dbBefore);
    expect(connectorAfter).toEqual(connectorBefore);
    expect(simWrites).toEqual([]);
    expect(simAfter).toBe(simBefore);
    expect(uploadsNew).toEqual([]);
  });

  it('lets no prototype key of a body reach Object.prototype', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(protoKeysBefore);
    const probe: Record<string, unknown> = {};
    expect([probe.polluted, probe.isAdmin]).toEqual([undefined, undefined]);
  });

  it('does not grow its heap with the number of bodies', () => {
    // What is measured: process.memoryUsage().heapUsed of this one process (bot, simulator, jest and
    // ts-jest together: about 400 MB at rest) after a full GC, once the first WARM_UP bodies are
    // answered and again after all of them. Native memory (SQLite pages, sockets, Buffers) is not in it;
    // JS objects the bot keeps per request are. Between the two samples the figure moves by a MB or two;
    // a leak of ~5 KB per body (e.g. keeping each raw body, or a record per request) shows as 40+ MB
    // over the ~8,500 bodies after the warm-up. 32 MB sits well between the two.
    expect(heap.end - heap.warm).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });

  it('still answers valid requests on all three endpoints afterwards', async () => {
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);

    const body = {
      id: randomUUID(),
      status: 'PendingApproval',
      action: 'selfActivate',
      principalId: USER.isaiah,
      roleDefinitionId: ROLE.userAdministrator,
      directoryScopeId: '/',
      justification: GOOD,
    };
    const evaluated = await fetch(`${h.bot.url}/api/pim/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.pim}` },
      body: JSON.stringify(body),
    });
    expect(evaluated.status).toBe(200);
    expect(((await evaluated.json()) as { evaluationOutcome: string }).evaluationOutcome).toBe('Approved');

    const event = JSON.stringify({ eventId: randomUUID(), type: 'escalation', occurredAt: new Date().toISOString(), request: { ...body, id: randomUUID() } });
    const ts = Math.floor(Date.now() / 1000);
    const escalated = await fetch(`${h.bot.url}/api/pim/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pim-bot-timestamp': String(ts), 'x-pim-bot-signature': signEvent(SECRET, ts, event) },
      body: event,
    });
    expect(escalated.status).toBe(200);
    expect(((await escalated.json()) as { status: string }).status).toBe('escalated');

    const refreshed = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.refresh', { requestId: world.pending.id, version: 1 });
    expect(refreshed.httpStatus).toBe(200);
    expect(refreshed.body.statusCode).toBe(200);
    expect(JSON.stringify(refreshed.body.value)).toContain('pim.approve');
    await h.bot.delivery.drain();
  });
});
