import type { SimHandle } from '../../sim/server';
import { DEMO_INTEGRATION_CREDENTIALS, OPSGENIE, PAGERDUTY, TICKET, USER } from '../../sim/seed';
import { simIntegrationSettings } from '../../sim/integrations/settings';
import { botAppCredential, control, startTestSim } from '../../sim/test-support';
import { createGraphClient } from '../graph/graph-client';
import { createIntegrations, parseIntegrationsSettings, type Integrations } from './settings';
import { GraphHrSignals } from './graph-hr';
import { JiraTickets } from './jira';
import { OpsgenieOnCall } from './opsgenie';
import { PagerDutyOnCall } from './pagerduty';
import type { ActivationWindow, Requester, TicketCheck, TicketQuestion } from './ports';
import { ServiceNowTickets } from './servicenow';

const person = (id: string, upn: string): Requester => ({ id, userPrincipalName: upn, mail: upn });
const alex = person(USER.alex, 'alexw@contoso.example');
const isaiah = person(USER.isaiah, 'isaiahl@contoso.example');
const patti = person(USER.patti, 'pattif@contoso.example');
const lynne = person(USER.lynne, 'lynner@contoso.example');
const megan = person(USER.megan, 'meganb@contoso.example');
const HOUR = 3_600_000;

describe('integration adapters against the simulator', () => {
  let sim: SimHandle;
  let all: Integrations;
  let now: Date;
  const budget = () => AbortSignal.timeout(5000);
  const windowOf = (startH: number, endH: number): ActivationWindow => ({
    start: new Date(now.getTime() + startH * HOUR),
    end: new Date(now.getTime() + endH * HOUR),
  });
  const snow = () => all.ticketSystems.find((t) => t.names.includes('ServiceNow'))!;
  const jira = () => all.ticketSystems.find((t) => t.names.includes('Jira'))!;
  const pd = () => all.onCall.find((o) => o.name === 'PagerDuty')!;
  const og = () => all.onCall.find((o) => o.name === 'Opsgenie')!;

  beforeAll(async () => {
    sim = await startTestSim();
    all = createIntegrations(parseIntegrationsSettings(simIntegrationSettings(sim.url)), { graph: createGraphClient(sim.url, botAppCredential(sim)) });
  });
  afterAll(() => sim.close());
  beforeEach(() => {
    now = sim.state.now();
  });
  afterEach(async () => {
    await control(sim, 'DELETE', '/_sim/faults');
  });
  const calls = async (pattern: RegExp) =>
    ((await control(sim, 'GET', '/_sim/calls')).body.value as Array<{ path: string; status: number }>).filter((c) => pattern.test(c.path));

  /** Each aspect's status, in the order reported. */
  const aspects = (r: TicketCheck) => Object.fromEntries(r.findings.map((f) => [f.aspect, f.status]));
  const ask = (number: string, requester: Requester, window: ActivationWindow, assignment = true): TicketQuestion => ({
    number,
    requester,
    window,
    assignment,
  });

  describe('ServiceNow', () => {
    it('finds an open incident assigned to the requester, with the evidence of each question', async () => {
      const r = await snow().check(ask(TICKET.openIncident, isaiah, windowOf(0, 2)), budget());
      expect(r.summary).toBe('INC0012345 "Payroll API returns 500 for EU tenants" (In Progress)');
      expect(aspects(r)).toEqual({ exists: 'pass', open: 'pass', assignment: 'pass' });
      expect(r.findings[0]!.evidence).toEqual([{ asked: 'incident INC0012345', system: 'ServiceNow', answer: 'HTTP 200', ms: expect.any(Number) }]);
      expect(r.findings[2]!.evidence.map((e) => e.asked)).toEqual(["the requester's ServiceNow user"]);
    });

    it('does not look up the requester when the assignment is not asked for', async () => {
      await control(sim, 'DELETE', '/_sim/calls');
      const r = await snow().check(ask(TICKET.openIncident, isaiah, windowOf(0, 2), false), budget());
      expect(aspects(r)).toEqual({ exists: 'pass', open: 'pass' });
      expect((await calls(/sys_user/)).length).toBe(0);
    });

    it('counts membership of the assignment group as assigned, and a stranger as not', async () => {
      expect(aspects(await snow().check(ask(TICKET.openIncident, alex, windowOf(0, 2)), budget())).assignment).toBe('pass');
      expect(aspects(await snow().check(ask(TICKET.openIncident, patti, windowOf(0, 2)), budget())).assignment).toBe('fail');
      // Patti's ServiceNow user_name is not her UPN: found by email, then by group.
      expect(aspects(await snow().check(ask(TICKET.secOpsIncident, patti, windowOf(0, 2)), budget())).assignment).toBe('pass');
    });

    it('reports a closed incident as found but not open', async () => {
      const r = await snow().check(ask(TICKET.closedIncident, alex, windowOf(0, 2)), budget());
      expect(aspects(r)).toMatchObject({ exists: 'pass', open: 'fail' });
      expect(r.summary).toContain('(Closed)');
    });

    it('answers not found for an unknown number and for a prefix it does not serve', async () => {
      expect(aspects(await snow().check(ask('INC0000001', alex, windowOf(0, 2)), budget()))).toEqual({ exists: 'fail' });
      const odd = await snow().check(ask('RITM0001234', alex, windowOf(0, 2)), budget());
      expect(odd.findings).toEqual([
        expect.objectContaining({
          aspect: 'exists',
          status: 'fail',
          detail: expect.stringMatching(/not a ServiceNow incident \(INC\.\.\.\) or change \(CHG\.\.\.\)/),
        }),
      ]);
    });

    it('checks that an approved change covers the activation window', async () => {
      const inside = await snow().check(ask(TICKET.approvedChange, alex, windowOf(0, 2)), budget());
      expect(aspects(inside)).toEqual({ exists: 'pass', open: 'pass', changeApproved: 'pass', changeWindow: 'pass', assignment: 'pass' });
      expect(inside.summary).toBe('CHG0042001 "Rotate payroll signing certificate" (Implement)');
      const tooLong = await snow().check(ask(TICKET.approvedChange, alex, windowOf(0, 6)), budget());
      expect(tooLong.findings.find((f) => f.aspect === 'changeWindow')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^Change CHG0042001 is planned for .* UTC to .* UTC, which does not cover the activation/),
      });
      expect(aspects(await snow().check(ask(TICKET.futureChange, alex, windowOf(0, 2)), budget())).changeWindow).toBe('fail');
      // An activation with no end cannot be covered by any window.
      expect(aspects(await snow().check(ask(TICKET.approvedChange, alex, { start: now, end: null }), budget())).changeWindow).toBe('fail');
    });

    it('finds a change assigned only to a group the requester belongs to', async () => {
      expect(aspects(await snow().check(ask(TICKET.groupChange, alex, windowOf(0, 2)), budget()))).toMatchObject({ assignment: 'pass', changeWindow: 'pass' });
      expect(aspects(await snow().check(ask(TICKET.groupChange, patti, windowOf(0, 2)), budget())).assignment).toBe('fail');
    });

    it('says so when a change is not approved yet', async () => {
      const r = await snow().check(ask(TICKET.unapprovedChange, alex, windowOf(0, 2)), budget());
      expect(aspects(r)).toMatchObject({ open: 'pass', changeWindow: 'pass', changeApproved: 'fail' });
      expect(r.findings.find((f) => f.aspect === 'changeApproved')!.detail).toMatch(/^Change CHG0042004 is not approved yet \(Requested\)/);
    });

    it('also works with an OAuth bearer token', async () => {
      const bearer = new ServiceNowTickets({
        baseUrl: `${sim.url}/servicenow`,
        auth: { kind: 'bearer', token: DEMO_INTEGRATION_CREDENTIALS.serviceNow.bearerToken },
      });
      expect(aspects(await bearer.check(ask(TICKET.openIncident, isaiah, windowOf(0, 1)), budget())).exists).toBe('pass');
    });

    it.each([500, 403])('leaves the assignment unknown, never passed, when the requester lookup answers %s', async (status) => {
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/servicenow/api/now/table/sys_user$', status });
      const r = await snow().check(ask(TICKET.openIncident, isaiah, windowOf(0, 2)), budget());
      expect(aspects(r)).toEqual({ exists: 'pass', open: 'pass', assignment: 'unknown' });
      expect(r.findings[2]!.evidence).toEqual([expect.objectContaining({ system: 'ServiceNow', answer: `HTTP ${status}` })]);
    });

    it.each([500, 403])('leaves the assignment unknown when the group membership read answers %s', async (status) => {
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/servicenow/api/now/table/sys_user_grmember', status });
      expect(aspects(await snow().check(ask(TICKET.groupChange, alex, windowOf(0, 2)), budget())).assignment).toBe('unknown');
    });
  });

  describe('Jira', () => {
    it('finds an issue in progress assigned to the requester', async () => {
      const r = await jira().check(ask(TICKET.jiraInProgress, alex, windowOf(0, 1)), budget());
      expect(r.summary).toBe('OPS-1234 "Failover drill for the payroll database" (In Progress)');
      expect(aspects(r)).toEqual({ exists: 'pass', open: 'pass', assignment: 'pass' });
      expect(aspects(await jira().check(ask(TICKET.jiraInProgress, isaiah, windowOf(0, 1)), budget())).assignment).toBe('fail');
    });

    it('reports a Done issue as not open and an unknown key as not found', async () => {
      expect(aspects(await jira().check(ask(TICKET.jiraDone, isaiah, windowOf(0, 1), false), budget()))).toEqual({ exists: 'pass', open: 'fail' });
      expect(aspects(await jira().check(ask('OPS-424242', alex, windowOf(0, 1)), budget()))).toEqual({ exists: 'fail' });
    });

    it('leaves the assignee unknown when the check is off', async () => {
      const c = DEMO_INTEGRATION_CREDENTIALS.jira;
      const noAssignee = new JiraTickets({ baseUrl: `${sim.url}/jira`, email: c.email, apiToken: c.apiToken });
      const r = await noAssignee.check(ask(TICKET.jiraInProgress, isaiah, windowOf(0, 1)), budget());
      expect(r.findings.find((f) => f.aspect === 'assignment')).toMatchObject({ status: 'unknown', detail: expect.stringMatching(/checkAssignee is off/) });
    });
  });

  describe('PagerDuty', () => {
    it('says Alex is on call now for Platform primary, until the end of his shift', async () => {
      const r = await pd().isOnCall(alex, now, budget());
      expect(r.status).toBe('pass');
      expect(r.detail).toBe(
        `On call for "Platform primary" until ${new Date(Math.floor((now.getTime() + 5 * HOUR) / 60000) * 60000).toISOString().slice(0, 16).replace('T', ' ')} UTC (PagerDuty)`,
      );
      expect(r.evidence.map((e) => e.asked)).toEqual(["the requester's PagerDuty user", "the requester's on-call entries now"]);
    });

    it('says Isaiah is not on call now but is in six hours', async () => {
      expect((await pd().isOnCall(isaiah, now, budget())).status).toBe('fail');
      expect((await pd().isOnCall(isaiah, new Date(now.getTime() + 6 * HOUR), budget())).status).toBe('pass');
    });

    it('ignores on-calls of escalation policies that are not configured', async () => {
      expect((await pd().isOnCall(megan, now, budget())).status).toBe('fail');
      const anyPolicy = new PagerDutyOnCall({ baseUrl: `${sim.url}/pagerduty`, apiKey: DEMO_INTEGRATION_CREDENTIALS.pagerDuty.apiKey });
      expect(await anyPolicy.isOnCall(megan, now, budget())).toMatchObject({ status: 'pass', detail: expect.stringContaining('"Security primary"') });
    });

    it('answers not on call for someone PagerDuty does not know', async () => {
      expect(await pd().isOnCall(patti, now, budget())).toMatchObject({ status: 'fail', detail: 'No PagerDuty user has the email pattif@contoso.example.' });
    });
  });

  describe('Opsgenie', () => {
    it('says Patti is on call for SecOps now', async () => {
      expect(await og().isOnCall(patti, now, budget())).toMatchObject({ status: 'pass', detail: 'On call for "SecOps" (Opsgenie)' });
    });

    it('says Lynne is not on call now but is in ten hours', async () => {
      expect((await og().isOnCall(lynne, now, budget())).status).toBe('fail');
      expect(await og().isOnCall(lynne, new Date(now.getTime() + 10 * HOUR), budget())).toMatchObject({
        status: 'pass',
        detail: 'On call for "Service Desk" (Opsgenie)',
      });
    });

    it('answers unknown rather than no when a schedule cannot be read', async () => {
      const broken = new OpsgenieOnCall({
        baseUrl: `${sim.url}/opsgenie`,
        apiKey: DEMO_INTEGRATION_CREDENTIALS.opsgenie.apiKey,
        scheduleIds: [OPSGENIE.scheduleServiceDesk, 'no-such-schedule'],
      });
      const r = await broken.isOnCall(lynne, now, budget());
      expect(r.status).toBe('unknown');
      expect(r.evidence).toEqual([
        expect.objectContaining({ answer: 'HTTP 200' }),
        expect.objectContaining({ asked: 'on-call recipients of schedule no-such-schedule', answer: 'HTTP 404' }),
      ]);
    });
  });

  describe('HR signals from Graph', () => {
    it('finds an active account with no leave date eligible', async () => {
      expect((await all.hr!.check(alex, windowOf(0, 2), budget())).status).toBe('pass');
    });

    it('finds a leaver ineligible when the leave date falls inside the activation (or the activation has no end), and eligible before it', async () => {
      const joni = person(USER.joni, 'jonis@contoso.example');
      const r = await all.hr!.check(joni, windowOf(0, 2), budget());
      expect(r).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^The requester leaves the company on \d{4}-\d{2}-\d{2}, before the activation would end\.$/),
      });
      expect((await all.hr!.check(joni, windowOf(0, 0.5), budget())).status).toBe('pass');
      expect(await all.hr!.check(joni, { start: now, end: null }, budget())).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/and the activation has no end/),
      });
    });

    it('finds a disabled account that already left ineligible, with both reasons', async () => {
      const r = await all.hr!.check(person(USER.grady, 'gradya@contoso.example'), windowOf(0, 1), budget());
      expect(r).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^The account is disabled\. The requester left the company on /) });
    });

    it('finds an account missing from the directory ineligible', async () => {
      const ghost = new GraphHrSignals(createGraphClient(sim.url, botAppCredential(sim)));
      expect(await ghost.check(person('00000000-0000-4000-8000-000000000000', 'ghost@contoso.example'), windowOf(0, 1), budget())).toMatchObject({
        status: 'fail',
        detail: 'The account no longer exists in the directory.',
      });
    });

    it('answers unknown, never eligible, when Graph fails', async () => {
      // 403 (no consent for User-LifeCycleInfo.Read.All, say): the Graph client does not retry it.
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/v1\\.0/users/', status: 403 });
      const r = await all.hr!.check(alex, windowOf(0, 1), budget());
      expect(r.status).toBe('unknown');
      expect(r.evidence).toEqual([expect.objectContaining({ system: 'Microsoft Graph', answer: 'HTTP 403' })]);
    });
  });

  describe('when the systems misbehave', () => {
    it('waits out a 429 with Retry-After, then succeeds', async () => {
      await control(sim, 'DELETE', '/_sim/calls');
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/jira/rest/api/3/issue/', status: 429, retryAfterSeconds: 1, times: 1 });
      const started = Date.now();
      const r = await jira().check(ask(TICKET.jiraInProgress, alex, windowOf(0, 1)), budget());
      expect(aspects(r).exists).toBe('pass');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect((await calls(/^\/jira\//)).map((c) => c.status)).toEqual([429, 200]);
    });

    it('gives up after the attempt cap on repeated 500s, answering unknown with the evidence', async () => {
      await control(sim, 'DELETE', '/_sim/calls');
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/pagerduty/', status: 500 });
      const r = await pd().isOnCall(alex, now, budget());
      expect(r.status).toBe('unknown');
      expect(r.detail).toMatch(/^PagerDuty could not say whether the requester is on call: the requester's user could not be read \(HTTP 500\)/);
      expect(r.evidence).toEqual([expect.objectContaining({ system: 'PagerDuty', answer: 'HTTP 500' })]);
      expect((await calls(/^\/pagerduty\//)).map((c) => c.status)).toEqual([500, 500, 500]);
    });

    it('is cancelled by the decision budget when the system hangs', async () => {
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/servicenow/', latencyMs: 30_000 });
      const started = Date.now();
      const r = await snow().check(ask(TICKET.openIncident, isaiah, windowOf(0, 1)), AbortSignal.timeout(800));
      const took = Date.now() - started;
      expect(r.findings).toEqual([expect.objectContaining({ aspect: 'exists', status: 'unknown' })]);
      expect(r.findings[0]!.evidence[0]!.answer).toMatch(/decision budget|no answer within/);
      expect(took).toBeGreaterThanOrEqual(750);
      expect(took).toBeLessThan(1300);
    });

    it('says the credentials were refused, for each system, without retrying', async () => {
      const s = parseIntegrationsSettings(simIntegrationSettings(sim.url, { hr: false, identityRisk: false }));
      const wrong = createIntegrations({
        ...s,
        serviceNow: { ...s.serviceNow!, auth: { kind: 'basic', username: 'pim.integration', password: 'wrong' } },
        jira: { ...s.jira!, apiToken: 'wrong' },
        pagerDuty: { ...s.pagerDuty!, apiKey: 'wrong' },
        opsgenie: { ...s.opsgenie!, apiKey: 'wrong' },
      });
      await control(sim, 'DELETE', '/_sim/calls');
      const [sn, ji, pdr, ogr] = await Promise.all([
        wrong.ticketSystems[0]!.check(ask(TICKET.openIncident, isaiah, windowOf(0, 1)), budget()),
        wrong.ticketSystems[1]!.check(ask(TICKET.jiraInProgress, alex, windowOf(0, 1)), budget()),
        wrong.onCall[0]!.isOnCall(alex, now, budget()),
        wrong.onCall[1]!.isOnCall(patti, now, budget()),
      ]);
      const findings = [sn!.findings[0]!, ji!.findings[0]!, pdr!, ogr!];
      expect(findings.map((f) => f.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
      expect(findings.map((f) => f.evidence.at(-1)!.system)).toEqual(['ServiceNow', 'Jira', 'PagerDuty', 'Opsgenie']);
      for (const f of findings) {
        expect(f.evidence.at(-1)!.answer).toBe('HTTP 401');
        expect(JSON.stringify(f)).not.toMatch(/wrong/);
      }
      // ServiceNow reads the ticket and the user in parallel; nobody retries a 401.
      expect((await calls(/^\/(servicenow|jira|pagerduty|opsgenie)\//)).every((c) => c.status === 401)).toBe(true);
      expect(await calls(/^\/(servicenow|jira|pagerduty|opsgenie)\//)).toHaveLength(6);
    });

    it('answers faults in each API error format', async () => {
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/(servicenow|opsgenie)/', status: 503 });
      const auth = { Authorization: `GenieKey ${DEMO_INTEGRATION_CREDENTIALS.opsgenie.apiKey}` };
      const sn = await fetch(`${sim.url}/servicenow/api/now/table/incident`);
      expect(await sn.json()).toMatchObject({ status: 'failure', error: { message: expect.any(String) } });
      const o = await fetch(`${sim.url}/opsgenie/v2/schedules/${OPSGENIE.scheduleSecOps}/on-calls`, { headers: auth });
      expect(await o.json()).toMatchObject({ message: expect.any(String), requestId: expect.any(String) });
    });
  });

  describe('simulated API shapes', () => {
    it('ServiceNow pairs display values and values when sysparm_display_value=all', async () => {
      const c = DEMO_INTEGRATION_CREDENTIALS.serviceNow;
      const res = await fetch(
        `${sim.url}/servicenow/api/now/table/change_request?sysparm_query=number=${TICKET.approvedChange}&sysparm_display_value=all&sysparm_fields=number,state,assigned_to,start_date`,
        {
          headers: { Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` },
        },
      );
      const body = (await res.json()) as any;
      expect(body.result[0].state).toEqual({ display_value: 'Implement', value: '-1' });
      expect(body.result[0].assigned_to).toMatchObject({
        display_value: 'Alex Wilber',
        link: expect.stringMatching(/\/servicenow\/api\/now\/table\/sys_user\/[0-9a-f]{32}$/),
      });
      expect(body.result[0].start_date.value).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      const denied = await fetch(`${sim.url}/servicenow/api/now/table/incident`);
      expect(denied.status).toBe(401);
      expect(await denied.json()).toEqual({ error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    });

    it('PagerDuty lists on-call entries with references and paging fields', async () => {
      const res = await fetch(`${sim.url}/pagerduty/oncalls?user_ids[]=${PAGERDUTY.userAlex}`, {
        headers: { Authorization: `Token token=${DEMO_INTEGRATION_CREDENTIALS.pagerDuty.apiKey}`, Accept: 'application/vnd.pagerduty+json;version=2' },
      });
      const body = (await res.json()) as any;
      expect(body).toMatchObject({ limit: 25, offset: 0, more: false, total: null });
      expect(body.oncalls[0]).toMatchObject({
        user: { id: PAGERDUTY.userAlex, type: 'user_reference', summary: 'Alex Wilber' },
        schedule: { id: PAGERDUTY.schedulePlatformPrimary, type: 'schedule_reference', summary: 'Platform primary' },
        escalation_policy: { id: PAGERDUTY.policyPlatform, type: 'escalation_policy_reference' },
        escalation_level: 1,
      });
    });

    it('Jira answers 404 in its error format', async () => {
      const c = DEMO_INTEGRATION_CREDENTIALS.jira;
      const res = await fetch(`${sim.url}/jira/rest/api/3/issue/NOPE-1`, {
        headers: { Authorization: `Basic ${Buffer.from(`${c.email}:${c.apiToken}`).toString('base64')}` },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
    });
  });
});
