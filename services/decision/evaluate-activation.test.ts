import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseActivationRequest, ShapeError, isoDurationMinutes } from './activation-request';
import { type DecisionPorts, evaluateActivation } from './evaluate-activation';
import { parsePolicy } from './policy';
import type { Finding, FindingStatus, HrSignals, OnCallService, TicketAspect, TicketSystem } from '../integrations/ports';
import { IntegrationUnavailable } from '../integrations/ports';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/pim-extension', name), 'utf8')) as Record<string, any>;

const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';
const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const WEEKDAY_NOON = new Date('2026-03-02T12:00:00Z');

function entra(overrides: Record<string, unknown> = {}) {
  return normaliseActivationRequest({
    ...fixture('request-entra-role.json'),
    scheduleInfo: { startDateTime: WEEKDAY_NOON.toISOString(), expiration: { type: 'afterDuration', duration: 'PT4H' } },
    ...overrides,
  });
}

describe('normalising PIM request shapes', () => {
  it('normalises the Entra role shape', () => {
    const r = normaliseActivationRequest(fixture('request-entra-role.json'));
    expect(r).toMatchObject({
      kind: 'entraRole',
      pimRequestId: '10000000-0000-4000-8000-000000000001',
      roleDefinitionId: '30000000-0000-4000-8000-000000000003',
      scope: '/',
      durationMinutes: 240,
      ticket: { system: 'ServiceNow', number: 'CHG0042001' },
    });
  });
  it('normalises the group shape', () => {
    const r = normaliseActivationRequest(fixture('request-group.json'));
    expect(r).toMatchObject({ kind: 'group', roleDefinitionId: 'member', scope: '40000000-0000-4000-8000-000000000004', durationMinutes: 120 });
  });
  it('normalises the Azure resource shape with a stable key', () => {
    const body = fixture('request-azure-resource.json');
    const a = normaliseActivationRequest(body);
    const b = normaliseActivationRequest(JSON.parse(JSON.stringify(body)));
    expect(a).toMatchObject({ kind: 'azureResource', pimRequestId: null, scope: '/subscriptions/50000000-0000-4000-8000-000000000005', durationMinutes: 480 });
    expect(a.requestKey).toBe(b.requestKey);
    expect(normaliseActivationRequest({ properties: { ...body.properties, justification: 'other text entirely here' } }).requestKey).not.toBe(a.requestKey);
  });
  it.each([
    [[], /JSON object/],
    [{ hello: 'world' }, /Unknown request shape/],
    [{ ...fixture('request-entra-role.json'), principalId: 'not-a-guid' }, /principalId: must be a GUID/],
    [{ ...fixture('request-group.json'), accessId: 'admin' }, /accessId/],
    [{ properties: { principalId: '20000000-0000-4000-8000-000000000002' } }, /Invalid Azure resource/],
  ])('rejects %j with a message naming the problem', (body, message) => {
    expect(() => normaliseActivationRequest(body)).toThrow(ShapeError);
    expect(() => normaliseActivationRequest(body)).toThrow(message);
  });
  it.each([
    ['PT4H', 240],
    ['PT90M', 90],
    ['PT1H30M', 90],
    ['P1D', 1440],
    ['PT', null],
    ['4h', null],
  ])('duration %s is %s minutes', (d, m) => {
    expect(isoDurationMinutes(d as string)).toBe(m);
  });
});

const ISAIAH = { id: '20000000-0000-4000-8000-000000000002', userPrincipalName: 'isaiahl@contoso.example', mail: 'isaiahl@contoso.example' };
const EV = { asked: 'test', system: 'ServiceNow', answer: 'HTTP 200', ms: 1 };
const finding = (status: FindingStatus, detail: string): Finding => ({ status, detail, evidence: [EV] });

const FAIL_TEXT: Record<TicketAspect, (n: string) => string> = {
  exists: (n) => `Ticket ${n} was not found in ServiceNow. Check the number.`,
  open: (n) => `Ticket ${n} is closed. Reopen it or cite an open ticket.`,
  assignment: (n) => `Ticket ${n} is not assigned to you or your group.`,
  changeApproved: (n) => `Change ${n} is not approved yet.`,
  changeWindow: (n) => `Change ${n}'s planned window does not cover the activation.`,
};

/** A ticket system whose aspects answer as given (pass unless said otherwise). */
function ticketSystem(result: Partial<Record<TicketAspect, FindingStatus>> | Error | 'hang'): TicketSystem {
  return {
    names: ['ServiceNow', 'SNOW'],
    check: (q, signal) => {
      if (result === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      if (result instanceof Error) return Promise.reject(result);
      const n = q.number;
      const aspects: TicketAspect[] = [
        'exists',
        'open',
        ...(q.assignment ? ['assignment' as const] : []),
        ...(n.startsWith('CHG') ? ['changeApproved' as const, 'changeWindow' as const] : []),
      ];
      const findings = aspects.map((aspect) => {
        const status = result[aspect] ?? 'pass';
        return { aspect, ...finding(status, status === 'fail' ? FAIL_TEXT[aspect](n) : `${aspect} ${status}`) };
      });
      const stop = findings.findIndex((f) => f.aspect === 'exists' && f.status !== 'pass');
      return Promise.resolve({ summary: `${n} "Reset MFA"`, findings: stop === 0 ? findings.slice(0, 1) : findings });
    },
  };
}

function onCall(on: boolean | 'unknown' | Error | 'ignore-signal-hang', name = 'PagerDuty'): OnCallService {
  return {
    name,
    isOnCall: () =>
      on === 'ignore-signal-hang'
        ? new Promise(() => undefined)
        : on instanceof Error
          ? Promise.reject(on)
          : Promise.resolve(
              on === 'unknown'
                ? finding('unknown', `${name} could not say`)
                : on
                  ? finding('pass', `On call for "Platform primary" (${name})`)
                  : finding('fail', 'Not on call'),
            ),
  };
}

const hrPort = (status: FindingStatus, detail = 'Account enabled'): HrSignals => ({ check: async () => finding(status, detail) });

function ports(over: Partial<DecisionPorts> = {}): DecisionPorts {
  return {
    requester: async () => ({ status: 'found', requester: ISAIAH, evidence: EV }),
    tickets: [ticketSystem({})],
    onCall: [onCall(true)],
    hr: hrPort('pass'),
    ...over,
  };
}

function policy(roles: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parsePolicy({ version: 1, roles, ...extra }, 'in the test');
}

const ONCALL_AND_TICKET = { ticket: { required: true }, onCall: true, hr: true, autoApprove: { when: ['onCall', 'ticket'] } };
const decide = (body: Record<string, unknown>, pol: ReturnType<typeof policy>, p = ports(), budgetMs = 500) =>
  evaluateActivation(entra(body), { policy: pol, ports: p, budgetMs, now: WEEKDAY_NOON });
const withTicket = { ticketInfo: { ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' } };

describe('decision rules', () => {
  it('auto-approves an on-call requester with an open ticket where the role says so', async () => {
    const v = await decide({ roleDefinitionId: HELPDESK, ...withTicket }, policy({ [HELPDESK]: ONCALL_AND_TICKET }));
    expect(v.outcome).toBe('AutoApproved');
    expect(v.reasons[0]).toMatch(/Approved automatically: On call for "Platform primary".*INC0012345/);
    expect(v.checks.map((c) => [c.name, c.result])).toEqual(
      expect.arrayContaining([
        ['onCall', 'pass'],
        ['ticket', 'pass'],
        ['hr', 'pass'],
      ]),
    );
  });

  it('never auto-approves a human-only role, whatever the policy says', async () => {
    const v = await decide({ roleDefinitionId: GLOBAL_ADMIN, ...withTicket }, policy({ [GLOBAL_ADMIN]: ONCALL_AND_TICKET }));
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Human-only role');
    expect(v.reasons[0]).toMatch(/human-only role/);
  });

  it('treats roles listed in humanOnlyRoleIds as human-only too', async () => {
    const v = await decide(
      { roleDefinitionId: HELPDESK, ...withTicket },
      policy({ [HELPDESK]: ONCALL_AND_TICKET }, { humanOnlyRoleIds: [HELPDESK.toUpperCase()] }),
    );
    expect(v.outcome).toBe('Approved');
  });

  it('denies a closed ticket with a reason naming it', async () => {
    const v = await decide(
      { roleDefinitionId: HELPDESK, ...withTicket },
      policy({ [HELPDESK]: ONCALL_AND_TICKET }),
      ports({ tickets: [ticketSystem({ open: 'fail' })] }),
    );
    expect(v.outcome).toBe('Denied');
    expect(v.reasons.join(' ')).toMatch(/Ticket INC0012345 is closed/);
  });

  it('denies a ticket that is not found, or not assigned where the role requires it', async () => {
    expect(
      (
        await decide({ ...withTicket }, policy({ default: { ticket: { required: true } } }), ports({ tickets: [ticketSystem({ exists: 'fail' })] }))
      ).reasons.join(),
    ).toMatch(/was not found in ServiceNow/);
    const v = await decide(
      { ...withTicket },
      policy({ default: { ticket: { required: true, mustBeAssignedToRequester: true } } }),
      ports({ tickets: [ticketSystem({ assignment: 'fail' })] }),
    );
    expect(v.outcome).toBe('Denied');
    expect(v.reasons.join()).toMatch(/not assigned to you/);
  });

  it('denies a change whose planned window does not cover the activation', async () => {
    const v = await decide(
      { ticketInfo: { ticketNumber: 'CHG0042001', ticketSystem: 'ServiceNow' } },
      policy({ default: { ticket: { required: true } } }),
      ports({ tickets: [ticketSystem({ changeWindow: 'fail' })] }),
    );
    expect(v.reasons.join()).toMatch(/planned window does not cover/);
  });

  it('denies an HR-ineligible requester', async () => {
    const v = await decide({ ...withTicket }, policy({ default: { hr: true } }), ports({ hr: hrPort('fail', 'The account is disabled.') }));
    expect(v.outcome).toBe('Denied');
    expect(v.reasons[0]).toMatch(/account is disabled/);
  });

  it('sends a requester who is not on call to a human', async () => {
    const v = await decide({ roleDefinitionId: HELPDESK, ...withTicket }, policy({ [HELPDESK]: ONCALL_AND_TICKET }), ports({ onCall: [onCall(false)] }));
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Not on call');
  });

  it.each([
    ['fails', onCall(new IntegrationUnavailable('PagerDuty', 'HTTP 503'))],
    ['hangs past the budget, ignoring its signal', onCall('ignore-signal-hang')],
  ])('degrades to human review when the on-call service %s, never to AutoApproved', async (_name, service) => {
    const started = Date.now();
    const v = await decide({ roleDefinitionId: HELPDESK, ...withTicket }, policy({ [HELPDESK]: ONCALL_AND_TICKET }), ports({ onCall: [service] }), 300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(v.outcome).toBe('Approved');
    expect(v.reasons.join()).toMatch(/On.call check (could not be completed|did not answer in time)/);
    expect(v.riskFlags).toContain('On-call not checked');
  });

  it('degrades when the ticket system hangs, and cancels it at the deadline', async () => {
    const v = await decide(
      { roleDefinitionId: HELPDESK, ...withTicket },
      policy({ [HELPDESK]: ONCALL_AND_TICKET }),
      ports({ tickets: [ticketSystem('hang')] }),
      200,
    );
    expect(v.outcome).toBe('Approved');
    expect(v.checks.find((c) => c.name === 'ticket')).toMatchObject({ result: 'unavailable' });
  });

  it('degrades when the requester cannot be looked up', async () => {
    const v = await decide(
      { roleDefinitionId: HELPDESK, ...withTicket },
      policy({ [HELPDESK]: ONCALL_AND_TICKET }),
      ports({ requester: () => Promise.reject(new Error('Graph down')) }),
    );
    expect(v.outcome).toBe('Approved');
  });

  it('says which check is unavailable when no adapter is configured for the ticket system', async () => {
    const v = await decide({ ticketInfo: { ticketNumber: 'OPS-1234', ticketSystem: 'Jira' } }, policy({ default: { ticket: { required: true } } }));
    expect(v.reasons.join()).toMatch(/no connection to Jira is configured/);
  });

  it('checks only the format when the role says verify: false', async () => {
    const v = await decide({ ...withTicket }, policy({ default: { ticket: { required: true, verify: false } } }), ports({ tickets: [] }));
    expect(v.checks.find((c) => c.name === 'ticket')).toMatchObject({ result: 'pass' });
  });

  it('denies a placeholder justification where the role says deny, with advice', async () => {
    const v = await decide({ justification: 'test' }, policy({ default: { justification: 'deny' } }));
    expect(v.outcome).toBe('Denied');
    expect(v.reasons[0]).toMatch(/placeholder.*what you will do/);
  });

  it('flags a weak justification and keeps it from auto-approving', async () => {
    const v = await decide({ roleDefinitionId: HELPDESK, justification: 'fix', ...withTicket }, policy({ [HELPDESK]: ONCALL_AND_TICKET }));
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Weak justification');
  });

  it.each([
    [null, /No ticket number/],
    [{ ticketNumber: 'INC12', ticketSystem: 'ServiceNow' }, /not a ServiceNow number/],
    [{ ticketNumber: 'ops 12', ticketSystem: 'Jira' }, /not a Jira number/],
    [{ ticketNumber: 'X-1', ticketSystem: '' }, /no ticket system/],
    [{ ticketNumber: 'OPS-1', ticketSystem: 'Jira' }, /accepts tickets from ServiceNow, not Jira/],
  ])('denies ticket %j where the role requires a ServiceNow one', async (ticketInfo, message) => {
    const v = await decide({ ticketInfo }, policy({ default: { ticket: { required: true, systems: ['ServiceNow'] } } }));
    expect(v.outcome).toBe('Denied');
    expect(v.reasons.join(' ')).toMatch(message);
  });

  it('denies outside the maintenance window where the role says so, and passes inside', async () => {
    const weekendBerlin = { maintenanceWindows: { windows: [{ timeZone: 'Europe/Berlin', days: ['Sat'], start: '22:00', end: '04:00' }], outside: 'deny' } };
    const outside = await decide(
      { scheduleInfo: { startDateTime: '2026-03-02T12:00:00Z', expiration: { duration: 'PT1H' } } },
      policy({ default: weekendBerlin }),
    );
    expect(outside.outcome).toBe('Denied');
    expect(outside.reasons[0]).toMatch(/not wholly inside one of this role's maintenance windows/);
    // Sat 7 Mar 2026 23:30 in Berlin (CET, UTC+1) is 22:30 UTC; one hour fits before 04:00.
    const inside = await decide(
      { scheduleInfo: { startDateTime: '2026-03-07T22:30:00Z', expiration: { duration: 'PT1H' } } },
      policy({ default: weekendBerlin }),
    );
    expect(inside.checks.find((c) => c.name === 'maintenanceWindow')).toMatchObject({ result: 'pass' });
  });

  it('flags off-hours requests, and the flag blocks auto-approval unless the role ignores off-hours', async () => {
    const night = {
      roleDefinitionId: HELPDESK,
      ...withTicket,
      scheduleInfo: { startDateTime: '2026-03-01T03:00:00Z', expiration: { type: 'afterDuration', duration: 'PT1H' } },
    };
    const v = await decide(night, policy({ [HELPDESK]: ONCALL_AND_TICKET }));
    expect(v.riskFlags).toContain('Off-hours request');
    expect(v).toMatchObject({ outcome: 'Approved', row: 4 });
    expect(v.checks.find((c) => c.name === 'businessHours')).toMatchObject({ result: 'fail', onFail: 'review' });
    const ignored = await decide(night, policy({ [HELPDESK]: { ...ONCALL_AND_TICKET, offHours: 'ignore' } }));
    expect(ignored.outcome).toBe('AutoApproved');
    expect(ignored.checks.find((c) => c.name === 'businessHours')).toMatchObject({ result: 'skipped' });
  });

  it('answers Approved in audit mode and records what it would have said', async () => {
    const v = await decide({ justification: 'n/a' }, policy({ default: { justification: 'deny', mode: 'audit' } }));
    expect(v).toMatchObject({ outcome: 'Approved', wouldBe: 'Denied', mode: 'audit' });
    expect(v.reasons[0]).toMatch(/^Audit mode: an approver decides/);
    expect(v.reasons[1]).toMatch(/^Not applied \(audit mode\): enforce mode would have refused this request: The justification 'n\/a' is a placeholder/);
    for (const r of v.reasons) expect(r).not.toMatch(/^(Approved|Denied)/);
  });

  it('says in audit mode that enforce would have skipped human approval, in words that are not the outcome', async () => {
    const v = await decide({ roleDefinitionId: HELPDESK, ...withTicket }, policy({ [HELPDESK]: { ...ONCALL_AND_TICKET, mode: 'audit' } }));
    expect(v).toMatchObject({ outcome: 'Approved', wouldBe: 'AutoApproved', row: 6 });
    expect(v.reasons).toEqual([
      "Audit mode: an approver decides this request; the role's checks are recorded but not applied.",
      expect.stringMatching(
        /^Not applied \(audit mode\): enforce mode would have skipped human approval, because on-call passed \(PagerDuty on call\); ticket passed \(INC0012345 found, open\)\.$/,
      ),
    ]);
    expect(v.reasons.join(' ')).not.toMatch(/Approved automatically/);
  });

  it('records each check with its latency', async () => {
    const v = await decide({ roleDefinitionId: HELPDESK, ...withTicket }, policy({ [HELPDESK]: ONCALL_AND_TICKET }));
    for (const name of ['justification', 'ticket', 'onCall', 'hr', 'identityRisk', 'maintenanceWindow', 'businessHours']) {
      expect(v.checks.find((c) => c.name === name)).toEqual(
        expect.objectContaining({ latencyMs: expect.any(Number), summary: expect.any(String), evidence: expect.any(Array) }),
      );
    }
  });
});
