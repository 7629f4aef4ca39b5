import { randomUUID } from 'node:crypto';
import { demoPolicy } from '../../scripts/demo-policy';
import type { FaultSpec } from '../../sim/faults';
import { ROLE, TICKET, USER } from '../../sim/seed';
import { type EntraCallout, calloutFixture, entraCallout, entraKey, postCallout, type StoredCheck, storedEvaluation } from '../support/decision-calls';
import { type Harness, simJson, startHarness } from '../support/harness';

/**
 * The decision endpoint fails closed, one class of fault or rule at a time, through HTTP: PIM's signed
 * callout in, the answer and the checks the bot stored out. A check that could not be completed is
 * `unavailable` and only ever sends the request to a person; a failed deny check outranks everything.
 */

/** The production default: a check slow only because the CI machine is loaded must not decide the outcome. */
const BUDGET_MS = 3000;

/** Entra built-in roles the simulator does not seed: the decision reads only their rule in the policy. */
const RULE = {
  anyProvider: '194ae4cb-b126-40b2-bd5b-6091b380977d', // Security Administrator
  audit: '5d6b6bb7-de71-4623-b4af-96380a352509', // Security Reader
  justificationDeny: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', // Application Administrator
  anySystem: 'b0f54661-2d74-4c50-afa3-1ec803f12efe', // Billing Administrator
  optionalTicket: '69091246-20e8-4a56-aa4d-066075b2a7a8', // Teams Administrator
  hr: '3a2c62db-5318-420d-8d74-23affee5d9d5', // Intune Administrator
} as const;

const snow = (number: string) => ({ number, system: 'ServiceNow' });

/** The demo policy with one rule per class below; every role that may auto-approve ignores the hour of day but one. */
function policy(simUrl: string): Record<string, unknown> {
  const p = demoPolicy(simUrl) as { roles: Record<string, unknown> };
  const autoTicketOnly = { ticket: { required: true, verify: false }, autoApprove: { when: ['ticket'] } };
  const onCallOnly = { onCall: true, hr: false, identityRisk: false, autoApprove: { when: ['onCall'] }, offHours: 'ignore' };
  p.roles = {
    ...p.roles,
    [ROLE.securityOperator]: {
      justification: 'flag',
      ticket: { required: true, mustBeAssignedToRequester: true, systems: ['ServiceNow'] },
      onCall: true,
      autoApprove: { when: ['onCall', 'ticket'] },
      offHours: 'ignore',
    },
    [ROLE.helpdeskAdministrator]: {
      ticket: { required: true, mustBeAssignedToRequester: true, systems: ['Jira'] },
      autoApprove: { when: ['ticket'] },
      offHours: 'ignore',
    },
    // The same rule twice: off-hours flagged (the default) and ignored.
    [ROLE.userAdministrator]: { ...autoTicketOnly },
    [ROLE.reportsReader]: { ...autoTicketOnly, offHours: 'ignore' },
    [ROLE.exchangeAdministrator]: onCallOnly,
    [RULE.anyProvider]: { ...onCallOnly, onCall: { anyProviderSuffices: true } },
    [RULE.audit]: { ...autoTicketOnly, mode: 'audit', offHours: 'ignore' },
    [RULE.justificationDeny]: { ...autoTicketOnly, justification: 'deny', offHours: 'ignore' },
    [RULE.anySystem]: { ticket: { required: true }, autoApprove: { when: ['ticket'] }, offHours: 'ignore' },
    [RULE.optionalTicket]: { ticket: { required: false }, offHours: 'ignore' },
    [RULE.hr]: { hr: true, autoApprove: { when: ['hr'] }, offHours: 'ignore' },
  };
  return p;
}

interface Seen {
  label: string;
  outcome: string;
  reasons: string[];
  checks: Record<string, Pick<StoredCheck, 'result' | 'onFail' | 'summary'>>;
  /** What enforce mode would have answered, as stored (differs from `outcome` only in audit mode). */
  wouldBe: string;
  mode: string;
}

/** Evaluates one callout with these faults in place (every matching call), then clears them. */
async function evaluate(h: Harness, label: string, callout: EntraCallout, faults: FaultSpec[] = []): Promise<Seen> {
  await simJson(h.sim, 'DELETE', '/_sim/faults');
  for (const f of faults) {
    const added = await simJson(h.sim, 'POST', '/_sim/faults', f);
    if (added.status !== 201) throw new Error(`fault ${JSON.stringify(f)} refused: ${JSON.stringify(added.body)}`);
  }
  try {
    const body = entraCallout(callout);
    const answer = await postCallout(h, body);
    const stored = await storedEvaluation(h, entraKey(body));
    expect(stored.outcome).toBe(answer.evaluationOutcome);
    return {
      label,
      outcome: answer.evaluationOutcome,
      reasons: answer.reason,
      checks: Object.fromEntries(stored.checks.map((c) => [c.name, { result: c.result, onFail: c.onFail, summary: c.summary }])),
      wouldBe: stored.wouldBe,
      mode: stored.mode,
    };
  } finally {
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    await h.bot.delivery.drain();
  }
}

const status = (pathPattern: string, code: number): FaultSpec => ({ pathPattern, status: code });
const SYS_USER = '^/servicenow/api/now/table/sys_user$';
const GRMEMBER = '^/servicenow/api/now/table/sys_user_grmember$';
const PAGERDUTY = '^/pagerduty/';
const OPSGENIE = '^/opsgenie/';

/** Next Sunday 03:00 UTC (a week on when today is Sunday): outside any business hours. */
function nextSundayAt3Utc(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 3, 0, 0));
  d.setUTCDate(d.getUTCDate() + ((7 - now.getUTCDay()) % 7 || 7));
  return d.toISOString();
}

describe('the decision endpoint fails closed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ DECISION_BUDGET_MS: String(BUDGET_MS) }, { policy });
  });
  afterAll(async () => {
    await h.close();
  });

  const secOp = (ticket: string) => ({ principalId: USER.alex, roleDefinitionId: ROLE.securityOperator, ticket: snow(ticket) });

  it("ServiceNow: when the requester's user record or the group membership cannot be read, the assignment is unavailable and a person decides", async () => {
    const unreadable = {
      result: 'unavailable',
      summary: expect.stringMatching(
        /assign[\s\S]*(could not|couldn't|cannot|can't|unable|not be read|unknown|unavailable)|(could not|couldn't|cannot|unable)[\s\S]*assign/i,
      ),
    };
    // Alex is on call and CHG0042001 is assigned to him; CHG0042002 to his group only.
    expect(await evaluate(h, 'direct, no fault', secOp(TICKET.approvedChange))).toMatchObject({
      outcome: 'AutoApproved',
      checks: { ticket: { result: 'pass' }, onCall: { result: 'pass' } },
    });
    expect(await evaluate(h, 'group, no fault', secOp(TICKET.groupChange))).toMatchObject({ outcome: 'AutoApproved', checks: { ticket: { result: 'pass' } } });
    for (const [label, ticket, fault] of [
      ['sys_user 500', TICKET.approvedChange, status(SYS_USER, 500)],
      ['sys_user 403', TICKET.approvedChange, status(SYS_USER, 403)],
      ['sys_user_grmember 500', TICKET.groupChange, status(GRMEMBER, 500)],
      ['sys_user_grmember 403', TICKET.groupChange, status(GRMEMBER, 403)],
    ] as const) {
      expect(await evaluate(h, label, secOp(ticket), [fault])).toMatchObject({ label, outcome: 'Approved', checks: { ticket: unreadable } });
    }
  });

  it('Jira: an assignee whose e-mail Jira withholds is not a match, so a person decides', async () => {
    const jira = { principalId: USER.alex, roleDefinitionId: ROLE.helpdeskAdministrator, ticket: { number: TICKET.jiraInProgress, system: 'Jira' } };
    expect(await evaluate(h, 'no fault', jira)).toMatchObject({ outcome: 'AutoApproved', checks: { ticket: { result: 'pass' } } });
    expect(await evaluate(h, 'emailAddress dropped', jira, [{ pathPattern: '^/jira/rest/api/3/issue/', dropFields: ['emailAddress'] }])).toMatchObject({
      outcome: 'Approved',
      checks: { ticket: { result: 'unavailable' } },
    });
  });

  it('flags a request that starts off-hours unless the role ignores the hour', async () => {
    const sunday = nextSundayAt3Utc();
    const request = { principalId: USER.isaiah, ticket: snow(TICKET.openIncident), startDateTime: sunday };
    const flagged = await evaluate(h, 'offHours flag', { ...request, roleDefinitionId: ROLE.userAdministrator });
    expect(flagged).toMatchObject({ outcome: 'Approved', checks: { ticket: { result: 'pass' }, businessHours: { result: 'fail', onFail: 'review' } } });
    expect(flagged.reasons.join(' ')).toMatch(/off-hours|off hours|outside business hours/i);
    expect(await evaluate(h, 'offHours ignore', { ...request, roleDefinitionId: ROLE.reportsReader })).toMatchObject({
      outcome: 'AutoApproved',
      checks: { ticket: { result: 'pass' } },
    });
  });

  it('two on-call services: one that fails makes on-call unavailable, unless the role lets one provider suffice', async () => {
    // Patti is on call in Opsgenie only, Alex in PagerDuty only.
    const strict = (principalId: string) => ({ principalId, roleDefinitionId: ROLE.exchangeAdministrator });
    const lenient = (principalId: string) => ({ principalId, roleDefinitionId: RULE.anyProvider });
    expect(await evaluate(h, 'Patti, no fault', strict(USER.patti))).toMatchObject({ outcome: 'AutoApproved', checks: { onCall: { result: 'pass' } } });
    expect(await evaluate(h, 'Alex, no fault', strict(USER.alex))).toMatchObject({ outcome: 'AutoApproved', checks: { onCall: { result: 'pass' } } });
    const unavailable = { outcome: 'Approved', checks: { onCall: { result: 'unavailable' } } };
    expect(await evaluate(h, 'PagerDuty 500, Opsgenie on call', strict(USER.patti), [status(PAGERDUTY, 500)])).toMatchObject({
      label: 'PagerDuty 500, Opsgenie on call',
      ...unavailable,
    });
    expect(await evaluate(h, 'Opsgenie 500, PagerDuty on call', strict(USER.alex), [status(OPSGENIE, 500)])).toMatchObject({
      label: 'Opsgenie 500, PagerDuty on call',
      ...unavailable,
    });
    expect(
      await evaluate(h, 'Opsgenie beyond the budget, PagerDuty on call', strict(USER.alex), [{ pathPattern: OPSGENIE, latencyMs: BUDGET_MS + 2000 }]),
    ).toMatchObject({ label: 'Opsgenie beyond the budget, PagerDuty on call', ...unavailable });
    const passes = { outcome: 'AutoApproved', checks: { onCall: { result: 'pass' } } };
    expect(await evaluate(h, 'anyProviderSuffices, PagerDuty 500', lenient(USER.patti), [status(PAGERDUTY, 500)])).toMatchObject({
      label: 'anyProviderSuffices, PagerDuty 500',
      ...passes,
    });
    expect(await evaluate(h, 'anyProviderSuffices, Opsgenie 500', lenient(USER.alex), [status(OPSGENIE, 500)])).toMatchObject({
      label: 'anyProviderSuffices, Opsgenie 500',
      ...passes,
    });
  });

  it("accepts SNOW for a role limited to ServiceNow: it is one of ServiceNow's names", async () => {
    expect(await evaluate(h, 'SNOW', { ...secOp(TICKET.approvedChange), ticket: { number: TICKET.approvedChange, system: 'SNOW' } })).toMatchObject({
      outcome: 'AutoApproved',
      checks: { ticket: { result: 'pass' } },
    });
  });

  it('audit mode answers Approved and says what enforce mode would have done, never "Approved automatically"', async () => {
    const seen = await evaluate(h, 'audit', { principalId: USER.isaiah, roleDefinitionId: RULE.audit, ticket: snow(TICKET.openIncident) });
    expect(seen).toMatchObject({ outcome: 'Approved', wouldBe: 'AutoApproved', mode: 'audit', checks: { ticket: { result: 'pass' } } });
    expect(seen.reasons.filter((r) => r.startsWith('Approved automatically'))).toEqual([]);
    expect(seen.reasons.filter((r) => r.startsWith('Audit mode'))).toHaveLength(1);
  });

  it('denies a placeholder justification where the role says deny', async () => {
    expect(
      await evaluate(h, 'test x5', {
        principalId: USER.isaiah,
        roleDefinitionId: RULE.justificationDeny,
        ticket: snow(TICKET.openIncident),
        justification: 'test test test test test',
      }),
    ).toMatchObject({ outcome: 'Denied', checks: { justification: { result: 'fail', onFail: 'deny' } } });
  });

  it('a failed deny check outranks an unavailable one: a closed ticket with PagerDuty down is Denied', async () => {
    const seen = await evaluate(h, 'closed + PagerDuty 500', secOp(TICKET.closedIncident), [status(PAGERDUTY, 500)]);
    expect(seen).toMatchObject({ outcome: 'Denied', checks: { ticket: { result: 'fail', onFail: 'deny' }, onCall: { result: 'unavailable' } } });
    expect(seen.reasons.join(' ')).toContain(TICKET.closedIncident);
  });

  it('a ticket system nobody answers for is unavailable; a ticket without a system is denied, asking which', async () => {
    const ticketIn = (system: string) => ({ principalId: USER.isaiah, roleDefinitionId: RULE.anySystem, ticket: { number: 'INC0012345', system } });
    expect(await evaluate(h, 'Remedy', ticketIn('Remedy'))).toMatchObject({ outcome: 'Approved', checks: { ticket: { result: 'unavailable' } } });
    const none = await evaluate(h, 'no system', ticketIn(''));
    expect(none).toMatchObject({ outcome: 'Denied', checks: { ticket: { result: 'fail', onFail: 'deny' } } });
    expect(none.reasons.join(' ')).toMatch(/which[^.]*system|ticket system/i);
  });

  it('an optional ticket, once given, must be open; a change must be approved', async () => {
    const optional = (ticket: string) => ({ principalId: USER.alex, roleDefinitionId: RULE.optionalTicket, ticket: snow(ticket) });
    expect(await evaluate(h, 'closed', optional(TICKET.closedIncident))).toMatchObject({
      label: 'closed',
      outcome: 'Denied',
      checks: { ticket: { result: 'fail', onFail: 'deny' } },
    });
    expect(await evaluate(h, 'awaiting approval', optional(TICKET.unapprovedChange))).toMatchObject({
      label: 'awaiting approval',
      outcome: 'Denied',
      checks: { ticket: { result: 'fail', onFail: 'deny' } },
    });
  });

  it('HR: a leave date before the requested end, or any leave date for an activation without end, is Denied', async () => {
    // Joni leaves an hour from now.
    const joni = { principalId: USER.joni, roleDefinitionId: RULE.hr };
    const threeHours = new Date(Date.now() + 3 * 3_600_000).toISOString();
    const denied = { outcome: 'Denied', checks: { hr: { result: 'fail', onFail: 'deny' } } };
    expect(await evaluate(h, 'afterDateTime', { ...joni, expiration: { type: 'afterDateTime', endDateTime: threeHours } })).toMatchObject({
      label: 'afterDateTime',
      ...denied,
    });
    expect(await evaluate(h, 'noExpiration', { ...joni, expiration: { type: 'noExpiration' } })).toMatchObject({ label: 'noExpiration', ...denied });
  });

  it('a principal the directory does not know is Denied where HR is checked, and goes to a person where only on-call is', async () => {
    const ghost = randomUUID();
    expect(await evaluate(h, 'hr', { principalId: ghost, roleDefinitionId: RULE.hr })).toMatchObject({
      label: 'hr',
      outcome: 'Denied',
      checks: { hr: { result: 'fail', onFail: 'deny' } },
    });
    // Not in the directory is an answer (Graph's 404), not a failed lookup: not on call, so a person decides.
    expect(await evaluate(h, 'onCall only', { principalId: ghost, roleDefinitionId: ROLE.exchangeAdministrator })).toMatchObject({
      label: 'onCall only',
      outcome: 'Approved',
      checks: { onCall: { result: 'fail', onFail: 'review' } },
    });
  });

  it('an Azure resource callout resent unchanged gets the same evaluation; another justification is another request', async () => {
    const body = calloutFixture('request-azure-resource.json');
    body.properties.principalId = USER.isaiah;
    body.properties.scheduleInfo.startDateTime = new Date().toISOString();
    const first = await postCallout(h, body);
    const again = await postCallout(h, structuredClone(body));
    expect(again).toEqual(first);
    const other = structuredClone(body);
    other.properties.justification = `${body.properties.justification as string} (second window)`;
    const second = await postCallout(h, other);
    expect(second.evaluationId).not.toBe(first.evaluationId);
    await h.bot.delivery.drain();
  });
});

describe('HUMAN_ONLY_ROLE_IDS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ DECISION_BUDGET_MS: String(BUDGET_MS), HUMAN_ONLY_ROLE_IDS: ROLE.securityOperator }, { policy });
  });
  afterAll(async () => {
    await h.close();
  });

  it('sends a request every check passes to a person when the role is named human-only', async () => {
    const seen = await evaluate(h, 'human-only', { principalId: USER.alex, roleDefinitionId: ROLE.securityOperator, ticket: snow(TICKET.approvedChange) });
    expect(seen).toMatchObject({ outcome: 'Approved', checks: { ticket: { result: 'pass' }, onCall: { result: 'pass' } } });
    expect(seen.reasons.join(' ')).toMatch(/human-only/i);
  });
});
