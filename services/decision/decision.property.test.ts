import fc from 'fast-check';
import { JiraTickets } from '../integrations/jira';
import { OpsgenieOnCall } from '../integrations/opsgenie';
import { PagerDutyOnCall } from '../integrations/pagerduty';
import type { Finding, HrSignals, IdentityRiskSignals, RequesterLookup, UserRiskRecord } from '../integrations/ports';
import { IntegrationUnavailable } from '../integrations/ports';
import { ServiceNowTickets } from '../integrations/servicenow';
import { normaliseActivationRequest } from './activation-request';
import { type CheckInput, type CheckName, decide, type DecisionInput } from './decision-table';
import { type DecisionPorts, evaluateActivation, type Verdict } from './evaluate-activation';
import { parsePolicy } from './policy';

/**
 * Generated tests of "never grant by mistake". Two levels:
 *  1. the decision table alone, over generated check results (PROPERTY_RUNS × 4 cases, 10,000 by default);
 *  2. the whole decision — policy, request, the real ServiceNow, Jira, PagerDuty and Opsgenie adapters over a
 *     generated fetch that plays each system's state and injects faults per sub-call (5xx, 403, 429 beyond the
 *     retry cap, a hang past the budget, a truncated, malformed or empty body, a field left out), plus the
 *     directory, HR and ID Protection ports — each case run twice, without and with its faults.
 * Seeded (PROPERTY_SEED, default below) and reproducible; fast-check shrinks a failure to its smallest case
 * and prints the seed and path to replay it. `npm run test:properties` runs ten times as many (UNIT_PROPERTY_RUNS).
 */
const SEED = Number(process.env.PROPERTY_SEED ?? 20261207);
const RUNS = Number(process.env.UNIT_PROPERTY_RUNS ?? 2500);

const CHECKS: CheckName[] = ['justification', 'ticket', 'onCall', 'hr', 'identityRisk', 'maintenanceWindow', 'businessHours'];
const LISTABLE: CheckName[] = ['ticket', 'onCall', 'hr', 'maintenanceWindow'];

const checkInput = (name: CheckName) =>
  fc.record({
    name: fc.constant(name),
    result: fc.constantFrom('pass', 'fail', 'unavailable', 'skipped' as const),
    onFail: fc.constantFrom('deny', 'review' as const),
  }) as fc.Arbitrary<CheckInput>;

const decisionInput: fc.Arbitrary<DecisionInput> = fc.record({
  humanOnly: fc.boolean(),
  mode: fc.constantFrom('enforce', 'audit' as const),
  checks: fc.tuple(...CHECKS.map(checkInput)).chain((all) => fc.subarray(all)),
  autoApproveWhen: fc.option(fc.subarray(LISTABLE), { nil: null }),
});

/** Makes one check's result worse, as a fault can: a pass or a fail becomes unavailable. */
function degrade(input: DecisionInput, index: number): DecisionInput {
  return { ...input, checks: input.checks.map((c, i) => (i === index && c.result !== 'skipped' ? { ...c, result: 'unavailable' as const } : c)) };
}

describe('the decision table, on generated check results', () => {
  it('never auto-approves a human-only role, a flag, a deny or a check that could not be completed', () => {
    fc.assert(
      fc.property(decisionInput, (input) => {
        const d = decide(input);
        if (d.wouldBe !== 'AutoApproved') return true;
        return (
          !input.humanOnly &&
          input.checks.every((c) => c.result === 'pass' || c.result === 'skipped') &&
          (input.autoApproveWhen ?? []).length > 0 &&
          input.autoApproveWhen!.every((n) => input.checks.some((c) => c.name === n && c.result === 'pass'))
        );
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('moves an answer only towards a person when any check could no longer be completed', () => {
    fc.assert(
      fc.property(decisionInput, fc.nat(), (input, pick) => {
        if (input.checks.length === 0) return true;
        const before = decide(input).wouldBe;
        const after = decide(degrade(input, pick % input.checks.length)).wouldBe;
        return after === before || after === 'Approved';
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it('answers Approved in audit mode, keeping what enforce would have said', () => {
    fc.assert(
      fc.property(decisionInput, (input) => {
        const audit = decide({ ...input, mode: 'audit' });
        const enforce = decide({ ...input, mode: 'enforce' });
        return audit.outcome === 'Approved' && audit.wouldBe === enforce.outcome;
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });

  it('is a function of its input: the same input, the same answer', () => {
    fc.assert(
      fc.property(decisionInput, (input) => {
        const a = decide(input);
        const b = decide(structuredClone(input));
        return a.outcome === b.outcome && a.row === b.row;
      }),
      { seed: SEED + 3, numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Level 2: the whole decision over a generated world.

const REQUESTER_ID = '20000000-0000-4000-8000-000000000002';
const EMAIL = 'requester@contoso.test';
const ROLE = '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f';
const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';

type Endpoint = 'snowTicket' | 'snowUser' | 'snowMember' | 'jira' | 'pdUsers' | 'pdOncalls' | 'og';
type Fault =
  | { kind: 'status'; status: 500 | 503 | 403 | 429 }
  | { kind: 'hang' }
  | { kind: 'truncated' }
  | { kind: 'malformed' }
  | { kind: 'empty' }
  | { kind: 'drop'; field: string };

/** The fields each endpoint's checks read; dropping one must never pass a check. */
const FIELDS: Record<Endpoint, string[]> = {
  snowTicket: ['result', 'active', 'state', 'assigned_to', 'assignment_group', 'approval', 'start_date', 'end_date', 'value'],
  snowUser: ['result', 'sys_id'],
  snowMember: ['result'],
  jira: ['fields', 'status', 'statusCategory', 'key', 'assignee', 'emailAddress'],
  pdUsers: ['users', 'email', 'id'],
  pdOncalls: ['oncalls', 'user', 'id'],
  og: ['data', 'onCallRecipients'],
};

interface World {
  snow: {
    exists: boolean;
    change: boolean;
    active: boolean;
    closedState: boolean;
    assignee: 'requester' | 'other' | 'none';
    group: 'member' | 'other' | 'none';
    approved: boolean;
    covers: boolean;
    userKnown: boolean;
  };
  jira: { exists: boolean; done: boolean; assignee: 'requester' | 'other' | 'none' };
  pd: { userKnown: boolean; onCall: boolean };
  og: { onCall: boolean };
  requester: 'found' | 'notFound' | 'unknown';
  hr: 'pass' | 'fail';
  risk: 'none' | 'low' | 'medium' | 'high';
}

interface Rule {
  justification: 'deny' | 'flag';
  ticket: null | { required: boolean; verify: boolean; mustBeAssignedToRequester: boolean; systems?: string[] };
  onCall: boolean | { anyProviderSuffices: boolean };
  hr: boolean;
  identityRisk: false | { high: 'deny' | 'review' | 'allow'; medium: 'deny' | 'review' | 'allow'; low: 'deny' | 'review' | 'allow' };
  offHours: 'flag' | 'ignore';
  maintenance: null | 'deny' | 'flag';
  autoApprove: CheckName[];
  mode: 'enforce' | 'audit';
}

interface Case {
  world: World;
  rule: Rule;
  humanOnly: boolean;
  ticket: null | { system: string; number: string };
  justification: string;
  startHourUtc: number;
  durationHours: number;
  jiraCheckAssignee: boolean;
  providers: Array<'pd' | 'og'>;
  faults: Partial<Record<Endpoint, Fault>>;
  /** Port-level faults: the directory, HR and ID Protection failing or leaving data out. */
  portFaults: { requester: boolean; hr: 'none' | 'throw' | 'unknown'; risk: 'none' | 'throw' | 'fieldsMissing' };
}

/** Mostly `good`: a world where every system says yes is where a wrong AutoApproved can hide, so most cases start there. */
const often = <T>(good: T, arb: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: arb });

const action = fc.constantFrom('deny', 'review', 'allow' as const);
const ruleArb: fc.Arbitrary<Rule> = fc.record({
  justification: fc.constantFrom('deny', 'flag' as const),
  ticket: fc.option(
    fc.record(
      {
        required: fc.boolean(),
        verify: often(true, fc.constant(false)),
        mustBeAssignedToRequester: fc.boolean(),
        systems: often(undefined, fc.constantFrom(['ServiceNow'], ['SNOW'], ['Jira'], ['ServiceNow', 'Jira'])),
      },
      { requiredKeys: ['required', 'verify', 'mustBeAssignedToRequester'] },
    ),
    { nil: null },
  ),
  onCall: fc.oneof(fc.boolean(), fc.record({ anyProviderSuffices: fc.boolean() })),
  hr: fc.boolean(),
  identityRisk: fc.oneof(fc.constant(false as const), fc.record({ high: action, medium: action, low: action })),
  offHours: fc.constantFrom('flag', 'ignore' as const),
  maintenance: often(null, fc.constantFrom('deny', 'flag' as const)),
  autoApprove: often(['ticket', 'onCall'] as CheckName[], fc.subarray(LISTABLE)),
  mode: fc.constantFrom('enforce', 'enforce', 'audit' as const),
});

const faultArb = (endpoint: Endpoint): fc.Arbitrary<Fault> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('status' as const), status: fc.constantFrom(500, 503, 403, 429 as const) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'truncated' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'malformed' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'empty' as const }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...FIELDS[endpoint]) }) },
  );

const ENDPOINTS: Endpoint[] = ['snowTicket', 'snowUser', 'snowMember', 'jira', 'pdUsers', 'pdOncalls', 'og'];

const caseArb: fc.Arbitrary<Case> = fc.record({
  world: fc.record({
    snow: fc.record({
      exists: often(true, fc.boolean()),
      change: fc.boolean(),
      active: often(true, fc.boolean()),
      closedState: often(false, fc.boolean()),
      assignee: often('requester' as const, fc.constantFrom('other', 'none' as const)),
      group: often('member' as const, fc.constantFrom('other', 'none' as const)),
      approved: often(true, fc.boolean()),
      covers: often(true, fc.boolean()),
      userKnown: often(true, fc.boolean()),
    }),
    jira: fc.record({
      exists: often(true, fc.boolean()),
      done: often(false, fc.boolean()),
      assignee: often('requester' as const, fc.constantFrom('other', 'none' as const)),
    }),
    pd: fc.record({ userKnown: often(true, fc.boolean()), onCall: often(true, fc.boolean()) }),
    og: fc.record({ onCall: often(true, fc.boolean()) }),
    requester: often('found' as const, fc.constantFrom('notFound', 'unknown' as const)),
    hr: often('pass' as const, fc.constant('fail' as const)),
    risk: often('none' as const, fc.constantFrom('low', 'medium', 'high' as const)),
  }),
  rule: ruleArb,
  humanOnly: often(false, fc.constant(true)),
  ticket: fc.option(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('INC0012345', 'CHG0042001').map((number) => ({ system: 'ServiceNow', number })) },
      { weight: 1, arbitrary: fc.constant({ system: 'SNOW', number: 'INC0012345' }) },
      { weight: 2, arbitrary: fc.constant({ system: 'Jira', number: 'OPS-1234' }) },
      { weight: 1, arbitrary: fc.constant({ system: 'Remedy', number: 'RMD-77' }) },
      { weight: 1, arbitrary: fc.constant({ system: '', number: 'INC0012345' }) },
    ),
    { nil: null, freq: 6 },
  ),
  justification: often('Contain the phishing incident on the finance mailboxes', fc.constantFrom('test test test test test', 'n/a', 'fix')),
  startHourUtc: often(10, fc.constantFrom(3, 14, 21)),
  durationHours: fc.constantFrom(1, 4),
  jiraCheckAssignee: often(true, fc.constant(false)),
  providers: fc.constantFrom(['pd'], ['og'], ['pd', 'og'], ['og', 'pd'], [] as Array<'pd' | 'og'>),
  faults: fc.dictionary(fc.constantFrom(...ENDPOINTS), fc.constant(null), { maxKeys: 3 }).chain((keys) => {
    const picked = Object.keys(keys) as Endpoint[];
    return fc.tuple(...picked.map(faultArb)).map((fs) => Object.fromEntries(picked.map((e, i) => [e, fs[i]])) as Partial<Record<Endpoint, Fault>>);
  }),
  portFaults: fc.record({
    requester: often(false, fc.constant(true)),
    hr: often('none' as const, fc.constantFrom('throw', 'unknown' as const)),
    risk: often('none' as const, fc.constantFrom('throw', 'fieldsMissing' as const)),
  }),
});

/** Monday 2 March 2026 at the given UTC hour. */
const startOf = (c: Case) => new Date(Date.UTC(2026, 2, 2, c.startHourUtc));

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function dropKey(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((v) => dropKey(v, key));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== key)
        .map(([k, v]) => [k, dropKey(v, key)]),
    );
  return value;
}

const glide = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
const pair = (value: string, display = value) => ({ value, display_value: display });

/** The systems of record as one fetch: each answers from the world, unless a fault is set for that endpoint. */
function worldFetch(c: Case, faults: Partial<Record<Endpoint, Fault>>, hits: Set<Endpoint>) {
  const w = c.world;
  const start = startOf(c);
  const answer = (endpoint: Endpoint, body: unknown, status = 200): Promise<Response> | Response => {
    const fault = faults[endpoint];
    if (!fault) return json(status, body);
    hits.add(endpoint);
    switch (fault.kind) {
      case 'status':
        return json(fault.status, { error: { message: 'injected' } }, fault.status === 429 ? { 'retry-after': '30' } : {});
      case 'hang':
        return new Promise<Response>(() => undefined);
      case 'truncated': {
        const text = JSON.stringify(body);
        return new Response(text.slice(0, Math.floor(text.length / 2)), { status: 200 });
      }
      case 'malformed':
        return new Response('<html><body>Service temporarily unavailable</body></html>', { status: 200 });
      case 'empty':
        return new Response(null, { status: 200 });
      case 'drop':
        return json(status, dropKey(body, fault.field));
    }
  };
  return async (input: string, init: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const signal = init.signal;
    const res = await new Promise<Response>((resolve, reject) => {
      const p = route(url);
      if (signal?.aborted) return reject(new Error('aborted'));
      signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
      Promise.resolve(p).then(resolve, reject);
    });
    return res;
  };

  function route(url: URL): Promise<Response> | Response {
    const p = url.pathname;
    if (url.host === 'snow.test') {
      if (/\/table\/(incident|change_request)$/.test(p)) {
        if (!w.snow.exists) return answer('snowTicket', { result: [] });
        const isChange = p.endsWith('change_request');
        const end = new Date(start.getTime() + (w.snow.covers ? 8 : 0.5) * 3_600_000);
        return answer('snowTicket', {
          result: [
            {
              sys_id: pair('t1'),
              number: pair(isChange ? 'CHG0042001' : 'INC0012345'),
              short_description: pair('Work'),
              state: pair(w.snow.closedState ? (isChange ? '3' : '7') : '2', w.snow.closedState ? 'Closed' : 'In Progress'),
              active: pair(String(w.snow.active)),
              assigned_to: pair(w.snow.assignee === 'requester' ? 'u-req' : w.snow.assignee === 'other' ? 'u-other' : ''),
              assignment_group: pair(w.snow.group === 'none' ? '' : w.snow.group === 'member' ? 'g-mine' : 'g-other'),
              ...(isChange
                ? {
                    approval: pair(w.snow.approved ? 'approved' : 'requested'),
                    start_date: pair(glide(new Date(start.getTime() - 3_600_000))),
                    end_date: pair(glide(end)),
                  }
                : {}),
            },
          ],
        });
      }
      if (p.endsWith('/table/sys_user')) return answer('snowUser', { result: w.snow.userKnown ? [{ sys_id: 'u-req' }] : [] });
      if (p.endsWith('/table/sys_user_grmember'))
        return answer('snowMember', { result: url.searchParams.get('sysparm_query')?.includes('g-mine') ? [{ sys_id: 'm1' }] : [] });
    }
    if (url.host === 'jira.test') {
      if (!w.jira.exists) return answer('jira', { errorMessages: ['Issue does not exist'] }, 404);
      const assignee =
        w.jira.assignee === 'none' ? null : { displayName: 'Someone', emailAddress: w.jira.assignee === 'requester' ? EMAIL : 'other@contoso.test' };
      return answer('jira', {
        key: 'OPS-1234',
        fields: {
          summary: 'Drill',
          status: { name: w.jira.done ? 'Done' : 'In Progress', statusCategory: { key: w.jira.done ? 'done' : 'indeterminate' } },
          assignee,
        },
      });
    }
    if (url.host === 'pd.test') {
      if (p === '/users') return answer('pdUsers', { users: w.pd.userKnown ? [{ id: 'PD1', email: EMAIL }] : [] });
      if (p === '/oncalls') {
        const entry = {
          user: { id: 'PD1' },
          schedule: { summary: 'Primary' },
          start: new Date(start.getTime() - 3_600_000).toISOString(),
          end: new Date(start.getTime() + 3_600_000).toISOString(),
        };
        return answer('pdOncalls', { oncalls: w.pd.onCall ? [entry] : [], more: false, limit: 100 });
      }
    }
    if (url.host === 'og.test')
      return answer('og', { data: { _parent: { name: 'SecOps' }, onCallRecipients: w.og.onCall ? [EMAIL] : ['someone@contoso.test'] } });
    return json(404, { error: 'no route' });
  }
}

interface Run {
  verdict: Verdict;
  hits: Set<Endpoint>;
}

async function runCase(c: Case, withFaults: boolean): Promise<Run> {
  const hits = new Set<Endpoint>();
  const faults = withFaults ? c.faults : {};
  const fetch = worldFetch(c, faults, hits);
  const retry = { maxAttempts: 1 };
  const snow = new ServiceNowTickets({ baseUrl: 'https://snow.test', auth: { kind: 'basic', username: 'u', password: 'p' }, retry }, { fetch });
  const jira = new JiraTickets(
    { baseUrl: 'https://jira.test', email: 'bot@contoso.test', apiToken: 't', checkAssignee: c.jiraCheckAssignee, retry },
    { fetch },
  );
  const providers = c.providers.map((p) =>
    p === 'pd'
      ? new PagerDutyOnCall({ baseUrl: 'https://pd.test', apiKey: 'k', retry }, { fetch })
      : new OpsgenieOnCall({ baseUrl: 'https://og.test', apiKey: 'k', scheduleIds: ['s1'], retry }, { fetch }),
  );
  const evidence = { asked: 'the requester', system: 'Microsoft Graph', answer: 'HTTP 200', ms: 0 };
  const requesterState = withFaults && c.portFaults.requester ? 'unknown' : c.world.requester;
  const requester = async (): Promise<RequesterLookup> =>
    requesterState === 'found'
      ? { status: 'found', requester: { id: REQUESTER_ID, userPrincipalName: EMAIL, mail: EMAIL }, evidence }
      : requesterState === 'notFound'
        ? { status: 'notFound', detail: 'no such user', evidence }
        : { status: 'unknown', detail: 'Graph 503', evidence };
  const hrFault = withFaults ? c.portFaults.hr : 'none';
  const hr: HrSignals = {
    check: async (): Promise<Finding> => {
      if (hrFault === 'throw') throw new IntegrationUnavailable('Microsoft Graph', 'down', 'HTTP 503');
      if (hrFault === 'unknown') return { status: 'unknown', detail: 'accountEnabled missing', evidence: [evidence] };
      return c.world.hr === 'pass'
        ? { status: 'pass', detail: 'ok', evidence: [evidence] }
        : { status: 'fail', detail: 'The account is disabled.', evidence: [evidence] };
    },
  };
  const riskFault = withFaults ? c.portFaults.risk : 'none';
  const identityRisk: IdentityRiskSignals = {
    userRisk: async (): Promise<UserRiskRecord> => {
      if (riskFault === 'throw') throw new IntegrationUnavailable('Microsoft Graph', 'down', 'HTTP 503');
      // A record without level and state is what the adapter refuses to read as "no risk": it throws.
      if (riskFault === 'fieldsMissing') throw new IntegrationUnavailable('Microsoft Graph', 'fields missing', 'fields riskLevel/riskState missing');
      const level = c.world.risk;
      return {
        riskLevel: level,
        riskState: level === 'none' ? 'none' : 'atRisk',
        riskDetail: null,
        riskLastUpdatedDateTime: null,
        detections: [],
        detectionsUnavailable: false,
      };
    },
  };
  const ports: DecisionPorts = { requester, tickets: [snow, jira], onCall: providers, hr, identityRisk };
  const r = c.rule;
  const role = c.humanOnly ? GLOBAL_ADMIN : ROLE;
  const policy = parsePolicy(
    {
      version: 1,
      roles: {
        [role]: {
          justification: r.justification,
          ...(r.ticket ? { ticket: r.ticket } : {}),
          onCall: r.onCall,
          hr: r.hr,
          identityRisk: r.identityRisk,
          offHours: r.offHours,
          ...(r.maintenance
            ? { maintenanceWindows: { outside: r.maintenance, windows: [{ timeZone: 'UTC', days: ['Mon'], start: '09:00', end: '18:00' }] } }
            : {}),
          ...(configuredListed(r).length > 0 ? { autoApprove: { when: configuredListed(r) } } : {}),
          mode: r.mode,
        },
      },
    },
    'generated',
  );
  const request = normaliseActivationRequest({
    '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
    id: '10000000-0000-4000-8000-000000000001',
    action: 'selfActivate',
    principalId: REQUESTER_ID,
    roleDefinitionId: role,
    directoryScopeId: '/',
    justification: c.justification,
    scheduleInfo: { startDateTime: startOf(c).toISOString(), expiration: { type: 'afterDuration', duration: `PT${c.durationHours}H` } },
    ticketInfo: c.ticket ? { ticketNumber: c.ticket.number, ticketSystem: c.ticket.system } : null,
  });
  // A hang can only end at the budget: keep that short, and the budget of every other run out of reach.
  const hangs = Object.values(faults).some((f) => f?.kind === 'hang');
  const verdict = await evaluateActivation(request, { policy, ports, budgetMs: hangs ? 60 : 10_000, now: startOf(c) });
  return { verdict, hits };
}

/** The autoApprove list keeps only checks the rule configures (the validator refuses the others). */
function configuredListed(r: Rule): CheckName[] {
  return r.autoApprove.filter((n) => (n === 'ticket' ? r.ticket : n === 'onCall' ? r.onCall !== false : n === 'hr' ? r.hr : r.maintenance));
}

const FAILURE_KINDS = new Set(['status', 'hang', 'truncated', 'malformed', 'empty']);

describe('the whole decision, on generated policies, requests, systems of record and faults', () => {
  const adapterRuns = Math.max(50, Math.round(RUNS * 1.2));
  const tally: Record<string, number> = {};
  afterAll(() => {
    // The generators must reach auto-approvals (where a fault could wrongly keep one) often enough to matter.
    process.stdout.write(`decision property outcomes (baseline->faulted): ${JSON.stringify(tally)}\n`);
  });

  it(`keeps its promises under faults (${adapterRuns} generated cases, each decided with and without its faults)`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const base = await runCase(c, false);
        const hit = await runCase(c, true);
        tally[`${base.verdict.wouldBe}->${hit.verdict.wouldBe}`] = (tally[`${base.verdict.wouldBe}->${hit.verdict.wouldBe}`] ?? 0) + 1;
        const b = base.verdict;
        const f = hit.verdict;
        // A fault can only keep the answer or move it to a person: never to AutoApproved, never Denied → AutoApproved.
        expect([b.wouldBe, 'Approved']).toContain(f.wouldBe);
        // A failure that reached a call the decision made leaves no auto-approval (unless the role said one provider is enough).
        const anyProvider = typeof c.rule.onCall === 'object' && c.rule.onCall.anyProviderSuffices;
        const failed = [...hit.hits].some((e) => FAILURE_KINDS.has(c.faults[e]!.kind));
        const portFailed = c.portFaults.requester || c.portFaults.hr !== 'none' || c.portFaults.risk !== 'none';
        if (failed && !anyProvider) expect(f.wouldBe).not.toBe('AutoApproved');
        for (const v of [b, f]) {
          // Human-only roles, flags and checks that could not be completed never auto-approve.
          if (c.humanOnly) expect(v.wouldBe).not.toBe('AutoApproved');
          if (v.checks.some((x) => x.result === 'unavailable' || (x.result === 'fail' && x.onFail === 'review'))) expect(v.wouldBe).not.toBe('AutoApproved');
          if (v.mode === 'audit') expect(v.outcome).toBe('Approved');
          // Every check explains itself in one line, and its evidence never holds a credential.
          for (const x of v.checks) expect(x.summary.length).toBeGreaterThan(0);
          expect(JSON.stringify(v.checks)).not.toMatch(/Basic |GenieKey|Token token/);
        }
        // Without faults, a passed check is true of the world (the adapters read it right, and read nothing as a pass).
        const ticket = b.checks.find((x) => x.name === 'ticket')!;
        if (ticket.result === 'pass' && c.rule.ticket?.verify && c.ticket) {
          const jiraTicket = c.ticket.system === 'Jira';
          if (jiraTicket) expect(c.world.jira.exists && !c.world.jira.done).toBe(true);
          else expect(c.world.snow.exists && c.world.snow.active && !c.world.snow.closedState).toBe(true);
          if (c.rule.ticket.mustBeAssignedToRequester) {
            expect(c.world.requester).toBe('found');
            if (jiraTicket) expect(c.jiraCheckAssignee && c.world.jira.assignee === 'requester').toBe(true);
            else expect(c.world.snow.userKnown && (c.world.snow.assignee === 'requester' || c.world.snow.group === 'member')).toBe(true);
          }
        }
        const onCall = b.checks.find((x) => x.name === 'onCall')!;
        if (onCall.result === 'pass') {
          expect(c.world.requester).toBe('found');
          expect(c.providers.some((p) => (p === 'pd' ? c.world.pd.userKnown && c.world.pd.onCall : c.world.og.onCall))).toBe(true);
        }
        // A port that failed under a configured check makes that check unavailable, never passed.
        if (portFailed && c.portFaults.hr !== 'none' && c.rule.hr) expect(f.checks.find((x) => x.name === 'hr')!.result).toBe('unavailable');
        return true;
      }),
      { seed: SEED + 10, numRuns: adapterRuns },
    );
  }, 600_000);
});
