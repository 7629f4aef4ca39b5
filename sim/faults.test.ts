import { parseFaultSpec, spoilAnswer } from './faults';
import { json } from './http';
import type { SimHandle } from './server';
import { DEMO_INTEGRATION_CREDENTIALS, OPSGENIE, TICKET, USER } from './seed';
import { GRAPH_SCOPE, botAppCredential, control, startTestSim } from './test-support';

describe('answer-spoiling faults (pure)', () => {
  const answer = json(
    200,
    { result: [{ number: 'INC1', active: { value: 'true', display_value: 'true' }, assigned_to: { value: 'u1', active: 'x' } }] },
    { 'X-Total-Count': '1' },
  );

  it('truncates the JSON to its first half, still labelled JSON', () => {
    const r = spoilAnswer(answer, { body: 'truncated' })!;
    const whole = JSON.stringify(answer.body);
    expect(r.status).toBe(200);
    expect(r.body).toBe(whole.slice(0, Math.floor(whole.length / 2)));
    expect(() => JSON.parse(r.body as string)).toThrow();
    expect(r.headers).toEqual({ 'X-Total-Count': '1', 'Content-Type': 'application/json; charset=utf-8' });
  });

  it('replaces the JSON with an HTML page, status kept', () => {
    const r = spoilAnswer(answer, { body: 'malformed' })!;
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^<!DOCTYPE html>/);
    expect(r.headers!['Content-Type']).toMatch(/^text\/html/);
  });

  it('sends no body at all', () => {
    const r = spoilAnswer(answer, { body: 'empty' })!;
    expect(r).toEqual({ status: 200, headers: { 'X-Total-Count': '1', 'Content-Type': 'application/json; charset=utf-8' } });
  });

  it('drops the named keys at any depth, inside arrays too, and nothing else', () => {
    const r = spoilAnswer(answer, { dropFields: ['active'] })!;
    expect(r.body).toEqual({ result: [{ number: 'INC1', assigned_to: { value: 'u1' } }] });
    expect(answer.body).toEqual({ result: [{ number: 'INC1', active: { value: 'true', display_value: 'true' }, assigned_to: { value: 'u1', active: 'x' } }] });
  });

  it('spoils a JSON body that a handler sent as text', () => {
    const r = spoilAnswer({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":{"b":1,"c":2}}' }, { dropFields: ['b'] })!;
    expect(r.body).toEqual({ a: { c: 2 } });
  });

  it('leaves error answers, answers without JSON and answers without the fields alone', () => {
    expect(spoilAnswer(json(404, { error: 'x' }), { body: 'truncated' })).toBeUndefined();
    expect(spoilAnswer(json(500, { active: true }), { dropFields: ['active'] })).toBeUndefined();
    expect(spoilAnswer({ status: 204 }, { body: 'empty' })).toBeUndefined();
    expect(spoilAnswer({ status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'hello' }, { body: 'malformed' })).toBeUndefined();
    expect(spoilAnswer(answer, { dropFields: ['nowhere'] })).toBeUndefined();
  });
});

describe('POST /_sim/faults validation', () => {
  it.each([
    [undefined, 'InvalidFault', /JSON object/],
    [[1], 'InvalidFault', /JSON object/],
    [{ pathPattern: 'x', status: 500, drop_fields: ['a'] }, 'InvalidFault', /unknown field 'drop_fields'/],
    [{ status: 500 }, 'InvalidPathPattern', /^pathPattern: required/],
    [{ pathPattern: '(', status: 500 }, 'InvalidPathPattern', /not a valid regular expression/],
    [{ pathPattern: 'x', status: 200 }, 'InvalidStatus', /^status/],
    [{ pathPattern: 'x', latencyMs: 'slow' }, 'InvalidLatency', /^latencyMs/],
    [{ pathPattern: 'x', latencyMs: -1 }, 'InvalidLatency', /^latencyMs/],
    [{ pathPattern: 'x', status: 429, retryAfterSeconds: 1.5 }, 'InvalidRetryAfter', /^retryAfterSeconds/],
    [{ pathPattern: 'x', body: 'empty', retryAfterSeconds: 3 }, 'InvalidRetryAfter', /goes with status/],
    [{ pathPattern: 'x', status: 500, times: 0 }, 'InvalidTimes', /^times/],
    [{ pathPattern: 'x', method: 'GET /x' }, 'InvalidMethod', /^method/],
    [{ pathPattern: 'x', body: 'garbled' }, 'InvalidBody', /^body: one of 'truncated', 'malformed', 'empty'/],
    [{ pathPattern: 'x', dropFields: 'active' }, 'InvalidDropFields', /^dropFields/],
    [{ pathPattern: 'x', dropFields: [] }, 'InvalidDropFields', /^dropFields/],
    [{ pathPattern: 'x', dropFields: ['active', ''] }, 'InvalidDropFields', /^dropFields/],
    [{ pathPattern: 'x', body: 'empty', dropFields: ['a'] }, 'InvalidFault', /one or the other/],
    [{ pathPattern: 'x', status: 500, body: 'truncated' }, 'InvalidFault', /do not go with status/],
    [{ pathPattern: 'x', status: 500, dropFields: ['a'] }, 'InvalidFault', /do not go with status/],
    [{ pathPattern: 'x', status: 500, answerAfterMs: 10 }, 'InvalidFault', /^answerAfterMs/],
    [{ pathPattern: 'x', times: 2 }, 'InvalidFault', /needs status, latencyMs, answerAfterMs, body or dropFields/],
  ])('refuses %j with %s', (input, code, message) => {
    const r = parseFaultSpec(input);
    expect(r).toEqual({ ok: false, code, message: expect.stringMatching(message) });
  });

  it('accepts the answer-spoiling kinds, alone or after latency, and defaults Retry-After for 429 only', () => {
    expect(parseFaultSpec({ pathPattern: '^/jira/', body: 'truncated', latencyMs: 10, times: 2 })).toEqual({
      ok: true,
      spec: expect.objectContaining({ pathPattern: '^/jira/', body: 'truncated', latencyMs: 10, times: 2, retryAfterSeconds: undefined }),
    });
    expect(parseFaultSpec({ method: 'GET', pathPattern: 'x', dropFields: ['emailAddress'], answerAfterMs: 5 })).toMatchObject({
      ok: true,
      spec: { dropFields: ['emailAddress'], answerAfterMs: 5 },
    });
    expect(parseFaultSpec({ pathPattern: 'x', status: 429 })).toMatchObject({ ok: true, spec: { retryAfterSeconds: 1 } });
  });
});

/** Each simulated system, through its real route, with a body fault on the way out. */
describe('answer-spoiling faults on the simulated services', () => {
  let sim: SimHandle;
  let graphToken: string;
  beforeAll(async () => {
    sim = await startTestSim();
    graphToken = (await botAppCredential(sim).getToken(GRAPH_SCOPE)).token;
  });
  afterAll(() => sim.close());
  afterEach(async () => {
    await control(sim, 'DELETE', '/_sim/faults');
  });

  const c = DEMO_INTEGRATION_CREDENTIALS;
  const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
  const calls = {
    serviceNow: {
      path: `/servicenow/api/now/table/change_request?sysparm_query=number%3D${TICKET.approvedChange}&sysparm_display_value=all`,
      auth: basic(c.serviceNow.username, c.serviceNow.password),
    },
    jira: { path: `/jira/rest/api/3/issue/${TICKET.jiraInProgress}`, auth: basic(c.jira.email, c.jira.apiToken) },
    pagerDuty: { path: '/pagerduty/oncalls', auth: `Token token=${c.pagerDuty.apiKey}` },
    opsgenie: { path: `/opsgenie/v2/schedules/${OPSGENIE.scheduleSecOps}/on-calls?flat=true`, auth: `GenieKey ${c.opsgenie.apiKey}` },
    graph: { path: `/v1.0/users/${USER.joni}?$select=id,accountEnabled,employeeLeaveDateTime`, auth: '' },
  } as const;

  async function get(system: keyof typeof calls): Promise<{ status: number; type: string | null; text: string }> {
    const call = calls[system];
    const res = await fetch(`${sim.url}${call.path}`, { headers: { authorization: call.auth || `Bearer ${graphToken}` } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  async function hits(id: string): Promise<number> {
    const list = (await control(sim, 'GET', '/_sim/faults')).body.value as Array<{ id: string; hits: number }>;
    return list.find((f) => f.id === id)!.hits;
  }

  it.each(Object.keys(calls) as Array<keyof typeof calls>)('%s: truncated, malformed and empty answers with 200', async (system) => {
    const whole = await get(system);
    expect(whole.status).toBe(200);
    const prefix = calls[system].path.split('?')[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

    const truncated = await control(sim, 'POST', '/_sim/faults', { pathPattern: `^${prefix}$`, body: 'truncated', times: 1 });
    expect(truncated.status).toBe(201);
    const cut = await get(system);
    expect(cut.status).toBe(200);
    expect(cut.type).toMatch(/application\/json/);
    expect(() => JSON.parse(cut.text)).toThrow(SyntaxError);
    // The same document, cut: request-specific values (ids, times) aside, the prefix is the answer's own.
    expect(cut.text.length).toBeLessThan(whole.text.length);
    expect(await hits(truncated.body.id)).toBe(1);
    expect((await get(system)).text).not.toBe(cut.text);

    await control(sim, 'POST', '/_sim/faults', { pathPattern: `^${prefix}$`, body: 'malformed', times: 1 });
    const html = await get(system);
    expect(html).toMatchObject({ status: 200, type: expect.stringMatching(/^text\/html/), text: expect.stringMatching(/^<!DOCTYPE html>/) });

    await control(sim, 'POST', '/_sim/faults', { pathPattern: `^${prefix}$`, body: 'empty', times: 1 });
    expect(await get(system)).toEqual({ status: 200, type: expect.stringMatching(/application\/json/), text: '' });
  });

  it.each([
    ['serviceNow', 'active', (b: any) => b.result[0]],
    ['jira', 'emailAddress', (b: any) => b.fields.assignee],
    ['pagerDuty', 'oncalls', (b: any) => b],
    ['opsgenie', 'onCallRecipients', (b: any) => b.data],
    ['graph', 'accountEnabled', (b: any) => b],
  ] as const)('%s: dropFields ["%s"] hides that field and keeps the rest', async (system, field, holder) => {
    const whole = JSON.parse((await get(system)).text);
    expect(holder(whole)).toHaveProperty([field]);
    const f = await control(sim, 'POST', '/_sim/faults', {
      pathPattern: system === 'graph' ? '^/v1\\.0/users/' : `^/${system.toLowerCase()}/`,
      dropFields: [field],
    });
    const spoiled = await get(system);
    expect(spoiled.status).toBe(200);
    const body = JSON.parse(spoiled.text);
    expect(holder(body)).not.toHaveProperty([field]);
    expect(Object.keys(holder(body)).length).toBe(Object.keys(holder(whole)).length - 1);
    expect(await hits(f.body.id)).toBe(1);
  });

  it('passes error answers unchanged and does not count them as hits', async () => {
    const f = await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/jira/', body: 'malformed', times: 1 });
    const missing = await fetch(`${sim.url}/jira/rest/api/3/issue/NOPE-1`, { headers: { authorization: calls.jira.auth } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errorMessages: [expect.any(String)], errors: {} });
    expect(await hits(f.body.id)).toBe(0);
    // Still armed for the next successful answer.
    expect((await get('jira')).text).toMatch(/^<!DOCTYPE html>/);
    expect(await hits(f.body.id)).toBe(1);
  });

  it("lists the calls each fault changed, with the caller's client-request-id", async () => {
    const f = await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/v1\\.0/users/', dropFields: ['accountEnabled'] });
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/pagerduty/', status: 503 });
    const id = '0f0e0d0c-0b0a-4909-8807-060504030201';
    await fetch(`${sim.url}${calls.graph.path}`, { headers: { authorization: `Bearer ${graphToken}`, 'client-request-id': id } });
    await get('graph');
    await fetch(`${sim.url}/v1.0/users/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${graphToken}` } }); // 404: not changed
    await get('pagerDuty');
    const listed = (await control(sim, 'GET', '/_sim/faults')).body.value;
    expect(listed.find((x: any) => x.id === f.body.id).calls).toEqual([
      { method: 'GET', path: `/v1.0/users/${USER.joni}`, clientRequestId: id },
      { method: 'GET', path: `/v1.0/users/${USER.joni}`, clientRequestId: null },
    ]);
    expect(listed.find((x: any) => x.status === 503)).toMatchObject({ hits: 1, calls: [{ method: 'GET', path: '/pagerduty/oncalls', clientRequestId: null }] });
  });

  it('lists body and dropFields with the fault, and answers a bad spec with 400 naming the field', async () => {
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/opsgenie/', dropFields: ['onCallRecipients'] });
    expect((await control(sim, 'GET', '/_sim/faults')).body.value).toEqual([
      expect.objectContaining({ pathPattern: '^/opsgenie/', dropFields: ['onCallRecipients'], hits: 0, remaining: null, calls: [] }),
    ]);
    const bad = await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/opsgenie/', body: 'html' });
    expect(bad).toEqual({ status: 400, body: { error: { code: 'InvalidBody', message: expect.stringMatching(/^body: one of/) } } });
    const notJson = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{pathPattern' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('InvalidJson');
  });
});
