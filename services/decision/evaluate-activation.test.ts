import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseActivationRequest, ShapeError, isoDurationMinutes } from './activation-request';
import { evaluateActivation, EvaluationContext } from './evaluate-activation';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/pim-extension', name), 'utf8')) as Record<string, any>;

const GLOBAL_ADMIN = '62e90394-69f5-4237-9190-012177145e10';
const HELPDESK = '729827e3-9c14-49f7-bb1b-9608f156bbb8';
const WEEKDAY_NOON = new Date('2026-03-02T12:00:00Z');

function ctx(roles: EvaluationContext['rules']['roles'] = {}, humanOnlyRoleIds: string[] = []): EvaluationContext {
  return { rules: { roles, humanOnlyRoleIds }, businessHoursUtc: { start: 7, end: 19 } };
}

function entra(overrides: Record<string, unknown> = {}) {
  return normaliseActivationRequest({ ...fixture('request-entra-role.json'), scheduleInfo: { startDateTime: WEEKDAY_NOON.toISOString(), expiration: { type: 'afterDuration', duration: 'PT4H' } }, ...overrides });
}

describe('normalising PIM request shapes', () => {
  it('normalises the Entra role shape', () => {
    const r = normaliseActivationRequest(fixture('request-entra-role.json'));
    expect(r).toMatchObject({ kind: 'entraRole', pimRequestId: '10000000-0000-4000-8000-000000000001', roleDefinitionId: '30000000-0000-4000-8000-000000000003', scope: '/', durationMinutes: 240, ticket: { system: 'ServiceNow', number: 'CHG0042001' } });
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
  it.each([['PT4H', 240], ['PT90M', 90], ['PT1H30M', 90], ['P1D', 1440], ['PT', null], ['4h', null]])('duration %s is %s minutes', (d, m) => {
    expect(isoDurationMinutes(d as string)).toBe(m);
  });
});

describe('decision rules', () => {
  it('never auto-approves a human-only role, whatever the role config says', () => {
    const v = evaluateActivation(entra({ roleDefinitionId: GLOBAL_ADMIN }), ctx({ [GLOBAL_ADMIN]: { autoApprove: 'whenChecksPass' } }), WEEKDAY_NOON);
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toContain('Human-only role');
    expect(v.reasons[0]).toMatch(/human-only role/);
  });
  it('treats configured roles as human-only too', () => {
    const v = evaluateActivation(entra({ roleDefinitionId: HELPDESK }), ctx({ [HELPDESK]: { autoApprove: 'whenChecksPass' } }, [HELPDESK.toUpperCase()]), WEEKDAY_NOON);
    expect(v.outcome).toBe('Approved');
  });
  it('auto-approves a role configured for it when every check passes', () => {
    const v = evaluateActivation(entra({ roleDefinitionId: HELPDESK }), ctx({ [HELPDESK]: { autoApprove: 'whenChecksPass', requireTicket: true } }), WEEKDAY_NOON);
    expect(v.outcome).toBe('AutoApproved');
  });
  it('denies a placeholder justification where the role says deny, with advice', () => {
    const v = evaluateActivation(entra({ justification: 'test' }), ctx({ default: { justification: 'deny' } }), WEEKDAY_NOON);
    expect(v.outcome).toBe('Denied');
    expect(v.reasons[0]).toMatch(/placeholder.*what you will do/);
  });
  it('flags a weak justification for a human where the role says flag', () => {
    const v = evaluateActivation(entra({ roleDefinitionId: HELPDESK, justification: 'fix' }), ctx({ [HELPDESK]: { autoApprove: 'whenChecksPass' } }), WEEKDAY_NOON);
    expect(v.outcome).toBe('Approved');
    expect(v.riskFlags).toEqual(['Weak justification']);
  });
  it.each([
    [null, /No ticket number/],
    [{ ticketNumber: 'INC12', ticketSystem: 'ServiceNow' }, /not a ServiceNow number/],
    [{ ticketNumber: 'ops 12', ticketSystem: 'Jira' }, /not a Jira number/],
    [{ ticketNumber: 'X-1', ticketSystem: '' }, /no ticket system/],
  ])('denies ticket %j where the role requires one', (ticketInfo, message) => {
    const v = evaluateActivation(entra({ ticketInfo }), ctx({ default: { requireTicket: true } }), WEEKDAY_NOON);
    expect(v.outcome).toBe('Denied');
    expect(v.reasons.join(' ')).toMatch(message);
  });
  it('accepts well-formed tickets of each known system', () => {
    for (const ticketInfo of [{ ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' }, { ticketNumber: 'OPS-1234', ticketSystem: 'Jira' }, { ticketNumber: 'RFC-2026-001', ticketSystem: 'Remedy' }]) {
      expect(evaluateActivation(entra({ ticketInfo }), ctx({ default: { requireTicket: true } }), WEEKDAY_NOON).outcome).toBe('Approved');
    }
  });
  it('flags off-hours requests', () => {
    const v = evaluateActivation(entra({ scheduleInfo: { startDateTime: '2026-03-01T03:00:00Z' } }), ctx(), WEEKDAY_NOON);
    expect(v.riskFlags).toContain('Off-hours request');
  });
  it('answers Approved in audit mode and records what it would have said', () => {
    const v = evaluateActivation(entra({ justification: 'n/a' }), ctx({ default: { justification: 'deny', mode: 'audit' } }), WEEKDAY_NOON);
    expect(v).toMatchObject({ outcome: 'Approved', wouldBe: 'Denied', mode: 'audit' });
    expect(v.reasons.at(-1)).toMatch(/Audit mode: enforce mode would have answered Denied/);
  });
});
