import { SIM_OPENAI } from './openai';
import type { SimHandle } from './server';
import { control, startTestSim } from './test-support';

describe('simulated Azure OpenAI chat completions', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startTestSim();
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    await control(sim, 'DELETE', '/_sim/openai/replies');
    await control(sim, 'DELETE', '/_sim/openai/calls');
  });

  const messages = [
    { role: 'system', content: 'Answer in JSON. Eligible: User Administrator, Security Operator.' },
    { role: 'user', content: [{ type: 'text', text: 'need user admin for an hour, secret words' }] },
  ];

  async function complete(opts: { deployment?: string; key?: string | null; apiVersion?: string | null; body?: unknown } = {}) {
    const version = opts.apiVersion === undefined ? SIM_OPENAI.apiVersion : opts.apiVersion;
    const url = `${sim.url}/openai/deployments/${opts.deployment ?? SIM_OPENAI.deployment}/chat/completions${version === null ? '' : `?api-version=${version}`}`;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    const key = opts.key === undefined ? SIM_OPENAI.apiKey : opts.key;
    if (key !== null) headers['api-key'] = key;
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(opts.body ?? { messages, response_format: { type: 'json_object' }, temperature: 0 }),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('answers scripted replies first in, first out, shaped like Azure', async () => {
    await control(sim, 'POST', '/_sim/openai/replies', { content: '{"command":"roles"}' });
    await control(sim, 'POST', '/_sim/openai/replies', { content: ['{"command":"status"}', '{"command":"help"}'] });
    const first = await complete();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: SIM_OPENAI.model,
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '{"command":"roles"}' } }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    });
    expect((await complete()).body.choices[0].message.content).toBe('{"command":"status"}');
    expect((await complete()).body.choices[0].message.content).toBe('{"command":"help"}');
    expect(JSON.parse((await complete()).body.choices[0].message.content)).toMatchObject({ command: 'none', role: null });
  });

  it('clears the queue', async () => {
    await control(sim, 'POST', '/_sim/openai/replies', { content: ['{"command":"roles"}'] });
    expect(await control(sim, 'GET', '/_sim/openai/replies')).toEqual({ status: 200, body: { queued: 1 } });
    expect((await control(sim, 'DELETE', '/_sim/openai/replies')).status).toBe(204);
    expect(JSON.parse((await complete()).body.choices[0].message.content).command).toBe('none');
    expect((await control(sim, 'POST', '/_sim/openai/replies', { content: 42 })).body.error.message).toMatch(/^content: required/);
  });

  it("refuses a wrong or missing key with Azure's 401 envelope", async () => {
    for (const key of ['wrong', null]) {
      const r = await complete({ key });
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: { code: '401', message: expect.stringMatching(/^Access denied due to invalid subscription key/) } });
    }
  });

  it('answers 404 for an unknown deployment or a missing api-version, 400 for a malformed one', async () => {
    expect(await complete({ deployment: 'gpt-nope' })).toEqual({ status: 404, body: { error: { code: 'DeploymentNotFound', message: expect.any(String) } } });
    expect(await complete({ apiVersion: null })).toEqual({ status: 404, body: { error: { code: '404', message: 'Resource not found' } } });
    expect((await complete({ apiVersion: 'latest' })).status).toBe(400);
  });

  it('checks the request like Azure: messages required, JSON mode needs the word json', async () => {
    const none = await complete({ body: { messages: [] } });
    expect(none.status).toBe(400);
    expect(none.body.error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
    const noJsonWord = await complete({ body: { messages: [{ role: 'user', content: 'hello' }], response_format: { type: 'json_object' } } });
    expect(noJsonWord.status).toBe(400);
    expect(noJsonWord.body.error.message).toMatch(/must contain the word 'json'/);
    expect((await complete({ body: { messages: [{ role: 'wizard', content: 'x' }] } })).status).toBe(400);
  });

  it('logs sizes and the seeded names in the system message, never the prompt', async () => {
    await complete();
    await complete({ key: 'wrong' });
    const { body } = await control(sim, 'GET', '/_sim/openai/calls');
    expect(body.value).toEqual([
      expect.objectContaining({
        deployment: SIM_OPENAI.deployment,
        apiVersion: SIM_OPENAI.apiVersion,
        status: 200,
        messageCount: 2,
        jsonMode: true,
        namesInSystemMessages: ['Security Operator', 'User Administrator'],
      }),
      expect.objectContaining({ status: 401, messageCount: 0 }),
    ]);
    expect(JSON.stringify(body)).not.toMatch(/secret words/);
  });

  it('takes injected faults like every other simulated service', async () => {
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/openai/', status: 429, retryAfterSeconds: 2, times: 1 });
    const limited = await complete();
    expect(limited.status).toBe(429);
    expect((await complete()).status).toBe(200);
    await control(sim, 'DELETE', '/_sim/faults');
  });
});
