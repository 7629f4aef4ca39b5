import pino from 'pino';
import { SIM_OPENAI } from '../../sim/openai';
import type { SimHandle } from '../../sim/server';
import { control, startTestSim } from '../../sim/test-support';
import type { AzureOpenAiSettings, NaturalLanguage } from '../../services/chat/natural-language';
import { createAzureOpenAiPlanner } from './nl-planner';
import type { RoleCandidate } from '../../services/chat/parse-command';

const userAdmin: RoleCandidate = { id: 'entraRole:fe930be7-5e62-47db-91af-98c3a49a38b1', displayName: 'User Administrator', kind: 'entraRole' };
const secOp: RoleCandidate = { id: 'entraRole:5f2222b1-57c3-48ba-8ad5-d4759f1fde6f', displayName: 'Security Operator', kind: 'entraRole' };
const sqlMember: RoleCandidate = { id: 'group:sql-admins:member', displayName: 'SQL Admins (member)', kind: 'group' };
const sqlOwner: RoleCandidate = { id: 'group:sql-admins:owner', displayName: 'SQL Admins (owner)', kind: 'group' };
const eligible = [userAdmin, secOp, sqlMember, sqlOwner];
const NOW = new Date('2025-03-14T09:00:00Z');
const USER_TEXT = 'need user admin for an hour for INC0012345, locked-out CFO';

const reply = (fields: Record<string, unknown>) =>
  JSON.stringify({ command: 'activate', role: null, durationMinutes: null, ticketSystem: null, ticketNumber: null, justification: null, ...fields });

describe('natural-language planner against the simulated Azure OpenAI', () => {
  let sim: SimHandle;
  let settings: AzureOpenAiSettings;
  let logLines: string[];
  let planner: NaturalLanguage;
  let consoleLog: jest.SpyInstance;

  beforeAll(async () => {
    sim = await startTestSim();
    settings = { endpoint: sim.url, apiKey: SIM_OPENAI.apiKey, deployment: SIM_OPENAI.deployment, apiVersion: SIM_OPENAI.apiVersion };
  });
  afterAll(() => sim.close());

  beforeEach(async () => {
    logLines = [];
    planner = createAzureOpenAiPlanner(settings, { logger: pino({ level: 'debug' }, { write: (s: string) => logLines.push(s) }) });
    // teams-ai's OpenAIModel prints failed calls with console.log; keep test output quiet and inspect it.
    consoleLog = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    await control(sim, 'DELETE', '/_sim/openai/replies');
    await control(sim, 'DELETE', '/_sim/openai/calls');
    await control(sim, 'DELETE', '/_sim/faults');
  });
  afterEach(() => {
    // Whatever happened, neither the user's words nor the model's reply reached a log.
    const logged = [...logLines, ...consoleLog.mock.calls.map((c) => String(c[0]))].join('\n');
    expect(logged).not.toMatch(/locked-out CFO/);
    expect(logged).not.toMatch(/INC0012345/);
    consoleLog.mockRestore();
  });

  async function script(...contents: string[]): Promise<void> {
    expect(await control(sim, 'POST', '/_sim/openai/replies', { content: contents })).toMatchObject({ status: 201 });
  }

  async function openAiCalls(): Promise<any[]> {
    return (await control(sim, 'GET', '/_sim/openai/calls')).body.value;
  }

  it('maps free text onto an activation of the matched eligible role', async () => {
    await script(
      reply({ role: 'User Administrator', durationMinutes: 60, ticketSystem: 'ServiceNow', ticketNumber: 'INC0012345', justification: 'locked-out CFO' }),
    );
    const cmd = await planner.interpret(USER_TEXT, eligible, NOW, 'Europe/Berlin');
    expect(cmd).toEqual({
      kind: 'activate',
      role: { candidate: userAdmin, confidence: 'exact' },
      durationMinutes: 60,
      ticket: { system: 'ServiceNow', number: 'INC0012345' },
      justification: 'locked-out CFO',
    });
    expect(cmd?.kind === 'activate' && cmd.role.candidate).toBe(userAdmin);

    const [call, ...more] = await openAiCalls();
    expect(more).toEqual([]);
    expect(call).toMatchObject({ deployment: 'gpt-4o-mini', apiVersion: '2024-10-21', status: 200, messageCount: 2, jsonMode: true });
    // The eligible names are in the system message; a seeded role the user is not eligible for is not.
    expect(call.namesInSystemMessages).toEqual(expect.arrayContaining(['User Administrator', 'Security Operator', 'SQL Admins']));
    expect(call.namesInSystemMessages).not.toContain('Global Administrator');
    expect(call.promptChars).toBeGreaterThan(USER_TEXT.length);

    const http = (await control(sim, 'GET', '/_sim/calls')).body.value.filter((c: any) => c.path.startsWith('/openai/'));
    expect(http).toEqual([
      expect.objectContaining({ method: 'POST', path: '/openai/deployments/gpt-4o-mini/chat/completions', query: 'api-version=2024-10-21', status: 200 }),
    ]);
    expect(logLines.join('')).toMatch(/"command":"activate"/);
  });

  it('accepts the role as the user abbreviated it and infers the ticket system like the parser', async () => {
    await script(reply({ role: 'sec op', durationMinutes: 90, ticketNumber: 'INC0012345' }));
    expect(await planner.interpret('sec op 90 min INC0012345 please', eligible, NOW, 'UTC')).toEqual({
      kind: 'activate',
      role: { candidate: secOp, confidence: 'fuzzy' },
      durationMinutes: 90,
      ticket: { system: 'ServiceNow', number: 'INC0012345' },
      justification: null,
    });
  });

  it('asks which role when the model names one the user is not eligible for, and never returns it', async () => {
    await script(
      reply({ role: 'Global Administrator', durationMinutes: 60 }),
      reply({ role: userAdmin.id.replace('entraRole:', '') }),
      reply({ command: 'extend', role: 'Exchange Administrator' }),
    );
    const global = await planner.interpret('make me global admin for an hour', eligible, NOW, 'UTC');
    expect(global).toEqual({
      kind: 'clarify',
      question: expect.stringContaining(
        'I could not find "Global Administrator" among your roles. You are eligible for: User Administrator, Security Operator',
      ),
    });
    // An id from the model is not a name: it is not trusted, even when it is the id of an eligible role.
    expect((await planner.interpret('activate the first one', eligible, NOW, 'UTC'))?.kind).toBe('clarify');
    expect((await planner.interpret('extend exchange admin', eligible, NOW, 'UTC'))?.kind).toBe('clarify');
  });

  it('asks which one when the role is ambiguous or missing', async () => {
    await script(reply({ role: 'SQL Admins' }), reply({ role: null, durationMinutes: 30 }));
    expect(await planner.interpret('sql admins pls', eligible, NOW, 'UTC')).toEqual({
      kind: 'clarify',
      question: 'Which one do you mean: SQL Admins (member) or SQL Admins (owner)? For example "activate SQL Admins (member)".',
    });
    expect(await planner.interpret('need access for 30 min', eligible, NOW, 'UTC')).toEqual({
      kind: 'clarify',
      question: expect.stringMatching(/^Which role do you want to activate\? You are eligible for: /),
    });
  });

  it('takes the other commands and uses eligible ids, not model ids, for cancel and extend', async () => {
    await script(
      JSON.stringify({ command: 'roles' }),
      JSON.stringify({ command: 'status' }),
      JSON.stringify({ command: 'help' }),
      JSON.stringify({ command: 'cancel', role: null }),
      JSON.stringify({ command: 'cancel', role: 'Security Operator', roleId: 'attacker-chosen' }),
      JSON.stringify({ command: 'extend', role: 'User Administrator', id: 'attacker-chosen' }),
    );
    const results = [];
    for (const text of [
      'which roles do I have',
      'anything waiting?',
      'what can you do',
      'never mind',
      'drop the sec op request',
      'my user admin eligibility ends soon',
    ]) {
      results.push(await planner.interpret(text, eligible, NOW, 'UTC'));
    }
    expect(results).toEqual([
      { kind: 'roles' },
      { kind: 'status' },
      { kind: 'help' },
      { kind: 'cancel', requestRef: null },
      { kind: 'cancel', requestRef: secOp.id },
      { kind: 'extend', role: { candidate: userAdmin, confidence: 'exact' } },
    ]);
  });

  it('drops a ticket number the user never typed and questions a duration out of range', async () => {
    await script(
      reply({ role: 'User Administrator', ticketNumber: 'INC0099999', justification: 'password reset' }),
      reply({ role: 'User Administrator', durationMinutes: 3 * 24 * 60 }),
      reply({ role: 'User Administrator', durationMinutes: 0 }),
    );
    expect(await planner.interpret('user admin for a password reset', eligible, NOW, 'UTC')).toMatchObject({
      kind: 'activate',
      ticket: null,
      justification: 'password reset',
    });
    expect(await planner.interpret('user admin for three days', eligible, NOW, 'UTC')).toEqual({
      kind: 'clarify',
      question: expect.stringMatching(/^How long do you need User Administrator\? Durations go from 1 minute up to 24 hours/),
    });
    expect((await planner.interpret('user admin for no time', eligible, NOW, 'UTC'))?.kind).toBe('clarify');
  });

  it('returns null when the model finds no command, or nothing is scripted', async () => {
    await script(reply({ command: 'none' }));
    expect(await planner.interpret('what is the weather in Oslo', eligible, NOW, 'UTC')).toBeNull();
    expect(await planner.interpret('and tomorrow?', eligible, NOW, 'UTC')).toBeNull();
    expect((await openAiCalls()).map((c) => c.status)).toEqual([200, 200]);
  });

  it('returns null for a reply that is not the expected JSON', async () => {
    await script(
      'Sure! You want User Administrator for an hour.',
      JSON.stringify({ command: 'activate', role: 'User Administrator', durationMinutes: 'an hour' }),
      JSON.stringify({ command: 'delete-everything' }),
      '[]',
    );
    for (let i = 0; i < 4; i++) expect(await planner.interpret(USER_TEXT, eligible, NOW, 'UTC')).toBeNull();
    expect(logLines.filter((l) => l.includes('"code":"invalid_reply"'))).toHaveLength(4);
  });

  it('reads a JSON object even when the model fences it', async () => {
    await script(`\`\`\`json\n${reply({ role: 'Security Operator' })}\n\`\`\``);
    expect(await planner.interpret('sec op', eligible, NOW, 'UTC')).toMatchObject({ kind: 'activate', role: { candidate: secOp } });
  });

  it('returns null when Azure OpenAI refuses the key', async () => {
    await script(reply({ role: 'User Administrator' }));
    const wrongKey = createAzureOpenAiPlanner(
      { ...settings, apiKey: 'not-the-key' },
      { logger: pino({ level: 'debug' }, { write: (s: string) => logLines.push(s) }) },
    );
    expect(await wrongKey.interpret(USER_TEXT, eligible, NOW, 'UTC')).toBeNull();
    expect((await openAiCalls()).map((c) => c.status)).toEqual([401]);
    expect(logLines.join('')).toMatch(/"code":"http_401"/);
    // The scripted reply was not consumed by the refused call.
    expect((await control(sim, 'GET', '/_sim/openai/replies')).body).toEqual({ queued: 1 });
  });

  it('returns null for an unknown deployment', async () => {
    const wrongDeployment = createAzureOpenAiPlanner({ ...settings, deployment: 'gpt-does-not-exist' });
    expect(await wrongDeployment.interpret(USER_TEXT, eligible, NOW, 'UTC')).toBeNull();
    expect((await openAiCalls()).map((c) => [c.deployment, c.status])).toEqual([['gpt-does-not-exist', 404]]);
  });

  it('gives up after its timeout', async () => {
    // The late answer is an error, so the abandoned call cannot consume a reply scripted for another test.
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/openai/', latencyMs: 3000, status: 503, times: 1 });
    const impatient = createAzureOpenAiPlanner(settings, { timeoutMs: 300, logger: pino({ level: 'debug' }, { write: (s: string) => logLines.push(s) }) });
    const started = Date.now();
    expect(await impatient.interpret(USER_TEXT, eligible, NOW, 'UTC')).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(logLines.join('')).toMatch(/"code":"timeout"/);
  });

  it('does not call the model for an empty message', async () => {
    expect(await planner.interpret('   ', eligible, NOW, 'UTC')).toBeNull();
    expect(await openAiCalls()).toEqual([]);
  });
});
