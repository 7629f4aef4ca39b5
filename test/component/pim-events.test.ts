import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signEvent } from '../../services/events/event-signature';
import { DEMO_PIM_CALLER_APP_ID, ROLE, USER } from '../../sim/seed';
import { APP_ID_URI, type Harness, pimHolds, sayHello, startHarness } from '../support/harness';

const SECRET = 'test-only-events-secret-0123456789abcdef';
/** The customer's Logic App, allowed to send events with its Entra token. */
const LOGIC_APP_ID = 'a11ce000-0000-4000-8000-00000000e7e7';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/pim-extension', name), 'utf8')) as Record<string, any>;

/** An Entra-role request as PIM shapes it, for a seeded requester and a role whose policy needs approval. */
function pimRequest(overrides: Record<string, unknown> = {}) {
  return { ...fixture('request-entra-role.json'), id: randomUUID(), principalId: USER.isaiah, roleDefinitionId: ROLE.userAdministrator, ...overrides };
}

function escalation(request = pimRequest(), extra: Record<string, unknown> = {}) {
  return {
    eventId: randomUUID(),
    type: 'escalation',
    occurredAt: new Date().toISOString(),
    request,
    reasons: ['Change CHG0042001 is outside its approved window.'],
    ...extra,
  };
}

function postApproval(request: Record<string, unknown>, outcome: string, extra: Record<string, unknown> = {}) {
  return { eventId: randomUUID(), type: 'postApproval', occurredAt: new Date().toISOString(), request, outcome, ...extra };
}

const cardOf = (activity: any) => JSON.stringify(activity.attachments[0].content);
const unixNow = () => Math.floor(Date.now() / 1000);

interface Send {
  raw?: string;
  /** Sign these bytes instead of the ones sent (a tampered body). */
  signed?: string;
  timestamp?: number;
  secret?: string;
  signature?: string | null;
  token?: string;
  contentType?: string;
  path?: string;
}

async function send(h: Harness, body: unknown, o: Send = {}): Promise<{ status: number; body: any }> {
  const raw = o.raw ?? JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/json' };
  if (o.token) {
    headers.authorization = `Bearer ${o.token}`;
  } else if (o.signature !== null) {
    const ts = o.timestamp ?? unixNow();
    headers['x-pim-bot-timestamp'] = String(ts);
    headers['x-pim-bot-signature'] = o.signature ?? signEvent(o.secret ?? SECRET, ts, o.signed ?? raw);
  }
  const res = await fetch(`${h.bot.url}${o.path ?? '/api/pim/events'}`, { method: 'POST', headers, body: raw });
  return { status: res.status, body: await res.json() };
}

describe('events from the customer decision service and PIM post-approval calls', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ EVENTS_HMAC_SECRET: SECRET, EVENTS_ALLOWED_APP_IDS: LOGIC_APP_ID });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Escalates a fresh request and waits for its card; returns the PIM request, our row and the posted card. */
  async function escalated(request = pimRequest()) {
    const posts = h.connector.posts.length;
    await pimHolds(h, request);
    const res = await send(h, escalation(request));
    expect(res).toEqual({ status: 200, body: { status: 'escalated', eventId: expect.any(String), requestId: expect.any(String) } });
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts + 1);
    const row = (await h.bot.store.requests.byPimId(request.id))!;
    return { request, row, post: h.connector.posts.at(-1)! };
  }

  it('posts one approval card for an HMAC-signed escalation, with the reasons and the Escalated flag', async () => {
    const { row, post } = await escalated();
    expect(row).toMatchObject({ status: 'pending', principal_id: USER.isaiah, role_definition_id: ROLE.userAdministrator });
    expect(JSON.parse(row.risk_flags)).toEqual(['Escalated']);
    const card = cardOf(post.activity);
    expect(card).toContain('Escalated');
    expect(card).toContain('Change CHG0042001 is outside its approved window.');
    expect(card).toContain('"verb":"pim.approve"');
  });

  it('answers a repeated event id as a duplicate and posts no second card', async () => {
    const event = escalation();
    const first = await send(h, event);
    expect(first.body.status).toBe('escalated');
    await h.bot.delivery.drain();
    const posts = h.connector.posts.length;
    const [again, concurrently] = await Promise.all([send(h, event), send(h, event)]);
    expect(again).toEqual({ status: 200, body: { status: 'duplicate', eventId: event.eventId } });
    expect(concurrently.body.status).toBe('duplicate');
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
    expect(await h.bot.store.events.get(event.eventId)).toMatchObject({ type: 'escalation', source: 'hmac', result: 'escalated' });
  });

  it('posts no second card for a second escalation of the same PIM request', async () => {
    const { request, row } = await escalated();
    const posts = h.connector.posts.length;
    const second = await send(h, escalation(request, { reasons: ['Still outside the window.'] }));
    expect(second.body).toMatchObject({ status: 'already_tracked', requestId: row.id, requestStatus: 'pending' });
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
  });

  it('posts no second card when our own endpoint already put the request before an approver', async () => {
    const request = pimRequest();
    const pimToken = await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });
    const evaluated = await send(h, request, { token: pimToken, path: '/api/pim/evaluate' });
    expect(evaluated.body.evaluationOutcome).toBe('Approved');
    await h.bot.delivery.drain();
    const posts = h.connector.posts.length;
    expect((await send(h, escalation(request))).body.status).toBe('already_tracked');
    await h.bot.delivery.drain();
    expect(h.connector.posts.length).toBe(posts);
  });

  describe('refuses events it cannot authenticate, naming the failed check, and stores nothing', () => {
    const cases: Array<[string, () => Promise<Send>, string]> = [
      ['a replayed request whose timestamp is ten minutes old', async () => ({ timestamp: unixNow() - 600 }), 'hmac_stale_timestamp'],
      ['a timestamp ten minutes ahead', async () => ({ timestamp: unixNow() + 600 }), 'hmac_stale_timestamp'],
      ['a signature made with another secret', async () => ({ secret: `${SECRET}-other` }), 'hmac_bad_signature'],
      ['a body changed after signing', async () => ({ signed: JSON.stringify(escalation()) }), 'hmac_bad_signature'],
      ['no signature headers', async () => ({ signature: null }), 'hmac_missing'],
      ['a signature that is not sha256=<hex>', async () => ({ signature: 'deadbeef' }), 'hmac_bad_format'],
      [
        'an Entra token from an app not allowed to send events',
        async () => ({ token: await h.sim.issueToken({ aud: APP_ID_URI, azp: '99999999-0000-4000-8000-000000000000' }) }),
        'token_caller',
      ],
      [
        "PIM's own token (PIM uses /api/pim/post-approval)",
        async () => ({ token: await h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID }) }),
        'token_caller',
      ],
      [
        'an Entra token with a forged signature',
        async () => ({ token: await h.sim.issueToken({ aud: APP_ID_URI, azp: LOGIC_APP_ID }, { signWith: 'foreign' }) }),
        'token_signature',
      ],
    ];
    it.each(cases)('%s', async (_name, make, code) => {
      const events = await h.bot.store.events.count();
      const evaluations = await h.bot.store.evaluations.count();
      const posts = h.connector.posts.length;
      const res = await send(h, escalation(), await make());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message.length).toBeGreaterThan(20);
      await h.bot.delivery.drain();
      expect(await h.bot.store.events.count()).toBe(events);
      expect(await h.bot.store.evaluations.count()).toBe(evaluations);
      expect(h.connector.posts.length).toBe(posts);
    });

    it('tells an app that is not allowed which setting to change', async () => {
      const res = await send(h, escalation(), { token: await h.sim.issueToken({ aud: APP_ID_URI, azp: '99999999-0000-4000-8000-000000000000' }) });
      expect(res.body.error.message).toMatch(/EVENTS_ALLOWED_APP_IDS/);
    });
  });

  it('accepts an event with an Entra token from an allowed app', async () => {
    const token = await h.sim.issueToken({ aud: APP_ID_URI, azp: LOGIC_APP_ID, appid: LOGIC_APP_ID, idtyp: 'app' });
    const event = escalation();
    const res = await send(h, event, { token });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('escalated');
    expect((await h.bot.store.events.get(event.eventId))!.source).toBe(`entra:${LOGIC_APP_ID}`);
    await h.bot.delivery.drain();
  });

  it('closes every copy of the card on a denial, names the decider, and tells the requester', async () => {
    await sayHello(h, USER.isaiah, 'a:isaiah-events');
    const { request, row, post } = await escalated();
    const res = await send(
      h,
      postApproval(request, 'denied', {
        decidedBy: { id: USER.megan, displayName: 'Megan Bowen', userPrincipalName: 'meganb@contoso.example' },
        justification: 'The change is not approved for today',
      }),
    );
    expect(res).toEqual({ status: 200, body: { status: 'applied', eventId: expect.any(String), requestId: row.id, requestStatus: 'denied' } });
    await h.bot.delivery.drain();

    expect(await h.bot.store.requests.get(row.id)).toMatchObject({
      status: 'denied',
      decided_by_id: USER.megan,
      decided_by_name: 'Megan Bowen',
      decision_justification: 'The change is not approved for today',
    });
    const copies = h.connector.updates.filter((u) => u.activityId === post.activityId);
    expect(copies).toHaveLength((await h.bot.store.cardCopies.of(row.id)).length);
    const updated = cardOf(copies.at(-1)!.activity);
    expect(updated).toContain('Megan Bowen');
    expect(updated).toContain('The change is not approved for today');
    expect(updated).not.toContain('Action.Execute');
    const toRequester = h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-events').map((p) => String(p.activity.text));
    expect(toRequester.at(-1)).toMatch(/User Administrator was denied by Megan Bowen .*"The change is not approved for today"/);
  });

  it('tells the requester until when an activated role is active', async () => {
    await sayHello(h, USER.isaiah, 'a:isaiah-events');
    const { request, row } = await escalated(
      pimRequest({ scheduleInfo: { startDateTime: '2026-03-02T08:00:00Z', expiration: { type: 'afterDuration', duration: 'PT2H' } } }),
    );
    const res = await send(h, postApproval(request, 'activated', { decidedBy: { id: USER.adele, displayName: 'Adele Vance' } }));
    expect(res.body.requestStatus).toBe('approved');
    await h.bot.delivery.drain();
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('approved');
    const toRequester = h.connector.posts.filter((p) => p.conversationId === 'a:isaiah-events').map((p) => String(p.activity.text));
    // In the requester's own zone (their mailbox's: Eastern for Isaiah), named.
    expect(toRequester.at(-1)).toMatch(/User Administrator role is active now until Mon 2 Mar, 05:00 EST \(approved by Adele Vance\)/);
  });

  it('changes nothing when the request was already closed differently', async () => {
    const { request, row } = await escalated();
    expect((await send(h, postApproval(request, 'denied'))).body.status).toBe('applied');
    await h.bot.delivery.drain();
    const updates = h.connector.updates.length;
    const late = await send(h, postApproval(request, 'granted'));
    expect(late.body).toMatchObject({ status: 'already_closed', requestStatus: 'denied' });
    await h.bot.delivery.drain();
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('denied');
    expect(h.connector.updates.length).toBe(updates);
  });

  it('records a post-approval event for a request it never saw and answers 202', async () => {
    const event = postApproval(pimRequest(), 'granted');
    const res = await send(h, event);
    expect(res).toEqual({ status: 202, body: { status: 'recorded', eventId: event.eventId, message: expect.any(String) } });
    expect(await h.bot.store.events.get(event.eventId)).toMatchObject({
      type: 'postApproval',
      outcome: 'granted',
      result: 'recorded',
      pim_request_id: event.request.id,
    });
  });

  describe('rejects bad bodies with a clear error, and stores nothing', () => {
    // The field is '' where no field is at fault (jest would take a missing last column for `done`).
    const cases: Array<[string, Send & { body?: unknown }, number, string, string]> = [
      ['malformed JSON', { raw: '{"eventId": ' }, 400, 'malformed_json', ''],
      ['a missing eventId', { body: { ...escalation(), eventId: undefined } }, 400, 'invalid_event', 'eventId'],
      ['a postApproval without outcome', { body: { ...postApproval(pimRequest(), 'denied'), outcome: undefined } }, 400, 'invalid_event', 'outcome'],
      ['a request of no PIM shape', { body: escalation({ hello: 'world' } as never) }, 400, 'invalid_event', 'request'],
      ['a wrong content type', { contentType: 'text/plain', body: escalation() }, 415, 'unsupported_media_type', ''],
      ['a body over 64 KiB', { body: escalation(pimRequest({ justification: 'x'.repeat(70_000) })) }, 413, 'body_too_large', ''],
    ];
    it.each(cases)('%s', async (_name, input, status, code, field) => {
      const events = await h.bot.store.events.count();
      const evaluations = await h.bot.store.evaluations.count();
      const posts = h.connector.posts.length;
      const res = await send(h, input.body, input);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.field ?? '').toBe(field);
      await h.bot.delivery.drain();
      expect(await h.bot.store.events.count()).toBe(events);
      expect(await h.bot.store.evaluations.count()).toBe(evaluations);
      expect(h.connector.posts.length).toBe(posts);
    });
  });

  describe("PIM's post-approval extension", () => {
    const pimToken = () => h.sim.issueToken({ aud: APP_ID_URI, azp: DEMO_PIM_CALLER_APP_ID, appid: DEMO_PIM_CALLER_APP_ID, idtyp: 'app' });

    it('closes the card from the status PIM sends, once per status', async () => {
      const { request, row, post } = await escalated();
      const res = await send(h, { ...request, status: 'Denied' }, { token: await pimToken(), path: '/api/pim/post-approval' });
      expect(res).toEqual({
        status: 200,
        body: { status: 'applied', eventId: `pim:entraRole:${request.id}:denied`, requestId: row.id, requestStatus: 'denied' },
      });
      await h.bot.delivery.drain();
      expect((await h.bot.store.requests.get(row.id))!.status).toBe('denied');
      expect(cardOf(h.connector.updates.filter((u) => u.activityId === post.activityId).at(-1)!.activity)).not.toContain('Action.Execute');
      const retry = await send(h, { ...request, status: 'Denied' }, { token: await pimToken(), path: '/api/pim/post-approval' });
      expect(retry.body.status).toBe('duplicate');
    });

    it('leaves a request alone while PIM still calls it pending', async () => {
      const { request, row } = await escalated();
      const res = await send(h, { ...request, status: 'PendingApproval' }, { token: await pimToken(), path: '/api/pim/post-approval' });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('ignored');
      expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
    });

    it('refuses a caller that is not PIM, even one allowed on /api/pim/events', async () => {
      const logicApp = await h.sim.issueToken({ aud: APP_ID_URI, azp: LOGIC_APP_ID });
      const res = await send(h, { ...pimRequest(), status: 'Denied' }, { token: logicApp, path: '/api/pim/post-approval' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('token_caller');
    });

    it('asks for the status when the body has none', async () => {
      const { status: _none, ...request } = pimRequest() as Record<string, unknown>;
      const res = await send(h, request, { token: await pimToken(), path: '/api/pim/post-approval' });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'status_missing', field: 'status' });
    });
  });
});

describe('the events endpoint with nothing configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 503 saying how to configure it, and stores nothing', async () => {
    const res = await send(h, escalation());
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('events_not_configured');
    expect(res.body.error.message).toMatch(/EVENTS_HMAC_SECRET/);
    expect(res.body.error.message).toMatch(/EVENTS_ALLOWED_APP_IDS/);
    expect(await h.bot.store.events.count()).toBe(0);
  });
});
