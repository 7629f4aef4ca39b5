import type { SimHandle } from '../../sim/server';
import { DEMO_INTEGRATION_CREDENTIALS, OPSGENIE, PAGERDUTY, TICKET, USER } from '../../sim/seed';
import { simIntegrationSettings } from '../../sim/integrations/settings';
import { botAppCredential, control, startTestSim } from '../../sim/test-support';
import { createGraphClient } from '../graph/graph-client';
import { createIntegrations, parseIntegrationsSettings, type Integrations } from './config';
import { GraphHrSignals } from './graph-hr';
import { JiraTickets } from './jira';
import { OpsgenieOnCall } from './opsgenie';
import { PagerDutyOnCall } from './pagerduty';
import { IntegrationUnavailable, type ActivationWindow, type Requester } from './ports';
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
  const windowOf = (startH: number, endH: number): ActivationWindow => ({ start: new Date(now.getTime() + startH * HOUR), end: new Date(now.getTime() + endH * HOUR) });
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

  describe('ServiceNow', () => {
    it('finds an open incident assigned to the requester', async () => {
      const r = await snow().check(TICKET.openIncident, isaiah, windowOf(0, 2), budget());
      expect(r).toEqual({ found: true, open: true, assignedToRequester: true, windowCovered: null, summary: 'INC0012345 "Payroll API returns 500 for EU tenants" (In Progress)', problems: [] });
    });

    it('counts membership of the assignment group as assigned, and a stranger as not', async () => {
      expect((await snow().check(TICKET.openIncident, alex, windowOf(0, 2), budget())).assignedToRequester).toBe(true);
      expect((await snow().check(TICKET.openIncident, patti, windowOf(0, 2), budget())).assignedToRequester).toBe(false);
      // Patti's ServiceNow user_name is not her UPN: found by email, then by group.
      expect((await snow().check(TICKET.secOpsIncident, patti, windowOf(0, 2), budget())).assignedToRequester).toBe(true);
    });

    it('reports a closed incident as found but not open', async () => {
      const r = await snow().check(TICKET.closedIncident, alex, windowOf(0, 2), budget());
      expect(r).toMatchObject({ found: true, open: false, summary: expect.stringContaining('(Closed)') });
    });

    it('answers not found for an unknown number and for a prefix it does not serve', async () => {
      expect(await snow().check('INC0000001', alex, windowOf(0, 2), budget())).toMatchObject({ found: false, open: false });
      const odd = await snow().check('RITM0001234', alex, windowOf(0, 2), budget());
      expect(odd.found).toBe(false);
      expect(odd.problems[0]).toMatch(/not a ServiceNow incident \(INC\.\.\.\) or change \(CHG\.\.\.\)/);
    });

    it('checks that an approved change covers the activation window', async () => {
      const inside = await snow().check(TICKET.approvedChange, alex, windowOf(0, 2), budget());
      expect(inside).toMatchObject({ found: true, open: true, assignedToRequester: true, windowCovered: true, problems: [] });
      expect(inside.summary).toBe('CHG0042001 "Rotate payroll signing certificate" (Implement)');
      const tooLong = await snow().check(TICKET.approvedChange, alex, windowOf(0, 6), budget());
      expect(tooLong.windowCovered).toBe(false);
      expect(tooLong.problems[0]).toMatch(/^Change CHG0042001 is planned for .* UTC to .* UTC, which does not cover the activation/);
      expect((await snow().check(TICKET.futureChange, alex, windowOf(0, 2), budget())).windowCovered).toBe(false);
    });

    it('finds a change assigned only to a group the requester belongs to', async () => {
      expect(await snow().check(TICKET.groupChange, alex, windowOf(0, 2), budget())).toMatchObject({ assignedToRequester: true, windowCovered: true });
      expect((await snow().check(TICKET.groupChange, patti, windowOf(0, 2), budget())).assignedToRequester).toBe(false);
    });

    it('says so when a change is not approved yet', async () => {
      const r = await snow().check(TICKET.unapprovedChange, alex, windowOf(0, 2), budget());
      expect(r).toMatchObject({ open: true, windowCovered: true });
      expect(r.problems).toEqual([expect.stringMatching(/^Change CHG0042004 is not approved yet \(Requested\)/)]);
    });

    it('also works with an OAuth bearer token', async () => {
      const bearer = new ServiceNowTickets({ baseUrl: `${sim.url}/servicenow`, auth: { kind: 'bearer', token: DEMO_INTEGRATION_CREDENTIALS.serviceNow.bearerToken } });
      expect((await bearer.check(TICKET.openIncident, isaiah, windowOf(0, 1), budget())).found).toBe(true);
    });
  });

  describe('Jira', () => {
    it('finds an issue in progress assigned to the requester', async () => {
      const r = await jira().check(TICKET.jiraInProgress, alex, windowOf(0, 1), budget());
      expect(r).toEqual({ found: true, open: true, assignedToRequester: true, windowCovered: null, summary: 'OPS-1234 "Failover drill for the payroll database" (In Progress)', problems: [] });
      expect((await jira().check(TICKET.jiraInProgress, isaiah, windowOf(0, 1), budget())).assignedToRequester).toBe(false);
    });

    it('reports a Done issue as not open and an unknown key as not found', async () => {
      expect(await jira().check(TICKET.jiraDone, isaiah, windowOf(0, 1), budget())).toMatchObject({ found: true, open: false });
      expect(await jira().check('OPS-424242', alex, windowOf(0, 1), budget())).toMatchObject({ found: false, open: false });
    });

    it('leaves the assignee unknown when the check is off', async () => {
      const c = DEMO_INTEGRATION_CREDENTIALS.jira;
      const noAssignee = new JiraTickets({ baseUrl: `${sim.url}/jira`, email: c.email, apiToken: c.apiToken });
      expect((await noAssignee.check(TICKET.jiraInProgress, isaiah, windowOf(0, 1), budget())).assignedToRequester).toBeNull();
    });
  });

  describe('PagerDuty', () => {
    it('says Alex is on call now for Platform primary, until the end of his shift', async () => {
      const r = await pd().isOnCall(alex, now, budget());
      expect(r.onCall).toBe(true);
      expect(r.detail).toBe(`On call for "Platform primary" until ${new Date(Math.floor((now.getTime() + 5 * HOUR) / 60000) * 60000).toISOString().slice(0, 16).replace('T', ' ')} UTC (PagerDuty)`);
    });

    it('says Isaiah is not on call now but is in six hours', async () => {
      expect((await pd().isOnCall(isaiah, now, budget())).onCall).toBe(false);
      expect((await pd().isOnCall(isaiah, new Date(now.getTime() + 6 * HOUR), budget())).onCall).toBe(true);
    });

    it('ignores on-calls of escalation policies that are not configured', async () => {
      expect((await pd().isOnCall(megan, now, budget())).onCall).toBe(false);
      const anyPolicy = new PagerDutyOnCall({ baseUrl: `${sim.url}/pagerduty`, apiKey: DEMO_INTEGRATION_CREDENTIALS.pagerDuty.apiKey });
      expect(await anyPolicy.isOnCall(megan, now, budget())).toMatchObject({ onCall: true, detail: expect.stringContaining('"Security primary"') });
    });

    it('answers not on call for someone PagerDuty does not know', async () => {
      expect(await pd().isOnCall(patti, now, budget())).toEqual({ onCall: false, detail: 'No PagerDuty user has the email pattif@contoso.example.' });
    });
  });

  describe('Opsgenie', () => {
    it('says Patti is on call for SecOps now', async () => {
      expect(await og().isOnCall(patti, now, budget())).toEqual({ onCall: true, detail: 'On call for "SecOps" (Opsgenie)' });
    });

    it('says Lynne is not on call now but is in ten hours', async () => {
      expect((await og().isOnCall(lynne, now, budget())).onCall).toBe(false);
      expect(await og().isOnCall(lynne, new Date(now.getTime() + 10 * HOUR), budget())).toEqual({ onCall: true, detail: 'On call for "Service Desk" (Opsgenie)' });
    });

    it('fails rather than says no when a schedule cannot be read', async () => {
      const broken = new OpsgenieOnCall({ baseUrl: `${sim.url}/opsgenie`, apiKey: DEMO_INTEGRATION_CREDENTIALS.opsgenie.apiKey, scheduleIds: [OPSGENIE.scheduleServiceDesk, 'no-such-schedule'] });
      await expect(broken.isOnCall(lynne, now, budget())).rejects.toThrow(/HTTP 404 \(Schedule with identifier \[no-such-schedule\] doesn't exist\)/);
    });
  });

  describe('HR signals from Graph', () => {
    it('finds an active account with no leave date eligible', async () => {
      expect(await all.hr!.check(alex, windowOf(0, 2), budget())).toEqual({ eligible: true, problems: [] });
    });

    it('finds a leaver ineligible when the leave date falls inside the activation, and eligible before it', async () => {
      const joni = person(USER.joni, 'jonis@contoso.example');
      const r = await all.hr!.check(joni, windowOf(0, 2), budget());
      expect(r.eligible).toBe(false);
      expect(r.problems).toEqual([expect.stringMatching(/^The requester leaves the company on \d{4}-\d{2}-\d{2}, before the activation would end\.$/)]);
      expect(await all.hr!.check(joni, windowOf(0, 0.5), budget())).toEqual({ eligible: true, problems: [] });
    });

    it('finds a disabled account that already left ineligible, with both reasons', async () => {
      const r = await all.hr!.check(person(USER.grady, 'gradya@contoso.example'), windowOf(0, 1), budget());
      expect(r.eligible).toBe(false);
      expect(r.problems).toEqual(['The account is disabled.', expect.stringMatching(/^The requester left the company on /)]);
    });

    it('finds an account missing from the directory ineligible', async () => {
      const ghost = new GraphHrSignals(createGraphClient(sim.url, botAppCredential(sim)));
      expect(await ghost.check(person('00000000-0000-4000-8000-000000000000', 'ghost@contoso.example'), windowOf(0, 1), budget())).toEqual({ eligible: false, problems: ['The account no longer exists in the directory.'] });
    });
  });

  describe('when the systems misbehave', () => {
    const calls = async (pattern: RegExp) => ((await control(sim, 'GET', '/_sim/calls')).body.value as Array<{ path: string; status: number }>).filter((c) => pattern.test(c.path));

    it('waits out a 429 with Retry-After, then succeeds', async () => {
      await control(sim, 'DELETE', '/_sim/calls');
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/jira/rest/api/3/issue/', status: 429, retryAfterSeconds: 1, times: 1 });
      const started = Date.now();
      const r = await jira().check(TICKET.jiraInProgress, alex, windowOf(0, 1), budget());
      expect(r.found).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect((await calls(/^\/jira\//)).map((c) => c.status)).toEqual([429, 200]);
    });

    it('gives up after the attempt cap on repeated 500s with IntegrationUnavailable', async () => {
      await control(sim, 'DELETE', '/_sim/calls');
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/pagerduty/', status: 500 });
      const err = await pd().isOnCall(alex, now, budget()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrationUnavailable);
      expect((err as IntegrationUnavailable).system).toBe('PagerDuty');
      expect((err as Error).message).toMatch(/^PagerDuty did not answer while looking up the requester: HTTP 500/);
      expect((await calls(/^\/pagerduty\//)).map((c) => c.status)).toEqual([500, 500, 500]);
    });

    it('is cancelled by the decision budget when the system hangs', async () => {
      await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/servicenow/', latencyMs: 30_000 });
      const started = Date.now();
      const err = await snow().check(TICKET.openIncident, isaiah, windowOf(0, 1), AbortSignal.timeout(800)).catch((e: unknown) => e);
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(IntegrationUnavailable);
      expect((err as Error).message).toMatch(/decision budget ran out/);
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
      const failures = await Promise.all([
        wrong.ticketSystems[0]!.check(TICKET.openIncident, isaiah, windowOf(0, 1), budget()).catch((e: unknown) => e),
        wrong.ticketSystems[1]!.check(TICKET.jiraInProgress, alex, windowOf(0, 1), budget()).catch((e: unknown) => e),
        wrong.onCall[0]!.isOnCall(alex, now, budget()).catch((e: unknown) => e),
        wrong.onCall[1]!.isOnCall(patti, now, budget()).catch((e: unknown) => e),
      ]);
      expect(failures.map((e) => (e as IntegrationUnavailable).system)).toEqual(['ServiceNow', 'Jira', 'PagerDuty', 'Opsgenie']);
      for (const e of failures) {
        expect(e).toBeInstanceOf(IntegrationUnavailable);
        expect((e as Error).message).toMatch(/refused the credentials \(HTTP 401/);
        expect((e as Error).message).not.toMatch(/wrong/);
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
      const res = await fetch(`${sim.url}/servicenow/api/now/table/change_request?sysparm_query=number=${TICKET.approvedChange}&sysparm_display_value=all&sysparm_fields=number,state,assigned_to,start_date`, {
        headers: { Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` },
      });
      const body = (await res.json()) as any;
      expect(body.result[0].state).toEqual({ display_value: 'Implement', value: '-1' });
      expect(body.result[0].assigned_to).toMatchObject({ display_value: 'Alex Wilber', link: expect.stringMatching(/\/servicenow\/api\/now\/table\/sys_user\/[0-9a-f]{32}$/) });
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
      const res = await fetch(`${sim.url}/jira/rest/api/3/issue/NOPE-1`, { headers: { Authorization: `Basic ${Buffer.from(`${c.email}:${c.apiToken}`).toString('base64')}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
    });
  });
});
