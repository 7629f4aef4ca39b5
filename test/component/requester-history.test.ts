import { ROLE, seedTenant, TICKET, USER } from '../../sim/seed';
import type { ActivitySeedTenant } from '../../sim/scale-seed';
import { type Harness, pendingRequest, simJson, startHarness } from '../support/harness';
import { textRuns } from '../support/card-text';

/**
 * The requester's history on the approval card, from PIM's request history (Graph) and our own store.
 * Isaiah activated User Administrator 3 and 20 days ago and 100 days ago (PIM history seeded in the
 * simulator); the decision service refused him once for a missing ticket, and an approver denied him once.
 */
describe("the requester's history on the approval card", () => {
  let h: Harness;
  const seed: ActivitySeedTenant = {
    ...seedTenant,
    activity: {
      activations: [
        { kind: 'entraRole', principalId: USER.isaiah, roleDefinitionId: ROLE.userAdministrator, target: '/', startHoursFromNow: -3 * 24, durationHours: 2 },
        { kind: 'entraRole', principalId: USER.isaiah, roleDefinitionId: ROLE.userAdministrator, target: '/', startHoursFromNow: -20 * 24, durationHours: 2 },
        { kind: 'entraRole', principalId: USER.isaiah, roleDefinitionId: ROLE.userAdministrator, target: '/', startHoursFromNow: -100 * 24, durationHours: 2 },
        // Another role: not this card's history.
        {
          kind: 'entraRole',
          principalId: USER.isaiah,
          roleDefinitionId: ROLE.helpdeskAdministrator,
          target: '/',
          startHoursFromNow: -2 * 24,
          durationHours: 2,
        },
      ],
    },
  };
  // User Administrator needs a ticket: a request without one is denied by the decision service.
  const policy = () => ({ version: 1, roles: { [ROLE.userAdministrator]: { ticket: { required: true, verify: false } } } });

  beforeAll(async () => {
    h = await startHarness({}, { seed, policy });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await simJson(h.sim, 'DELETE', '/_sim/faults');
  });

  const cardOf = async (rowId: string) => {
    const post = h.connector.posts.filter((p) => JSON.stringify(p.activity).includes(rowId)).at(-1);
    expect(post).toBeDefined();
    return (post!.activity as any).attachments[0].content as Record<string, unknown>;
  };

  it('shows activations in 90 days, the last one, and denials with who denied and why', async () => {
    const refused = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: 'Reset MFA for the locked-out CFO',
    });
    expect(refused.body.status).toBe('Denied');
    // An earlier request Megan denied: in PIM, and in our store as a decision on the card records it.
    const reason = 'Use the break-glass runbook for the CFO instead';
    const { row: earlier } = await pendingRequest(h, { ticketNumber: TICKET.openIncident });
    expect(
      (await simJson(h.sim, 'POST', '/_sim/decide', { approver: USER.megan, requestId: earlier.pim_request_id, reviewResult: 'Deny', justification: reason }))
        .status,
    ).toBe(200);
    await h.bot.store.requests.transition(
      earlier,
      { type: 'decidedElsewhere', result: 'denied' },
      {
        decided_by_id: USER.megan,
        decided_by_name: 'Megan Bowen',
        decided_at: new Date().toISOString(),
        decision_justification: reason,
      },
    );

    const { row } = await pendingRequest(h, { ticketNumber: TICKET.openIncident });
    const runs = textRuns(await cardOf(row.id));
    expect(runs).toContain('2 activations in 90 days · last 3 days ago · 2 denials');
    expect(runs.filter((t) => t.includes('first activation'))).toEqual([]);
    expect(runs).toContain('Last activation 3 days ago');
    // Its time, in the viewer's own zone: a DATE()/TIME() Teams formats, in the TextBlock under the line.
    const card = JSON.stringify(await cardOf(row.id));
    expect(card).toMatch(/"Last activation 3 days ago".*?"text":"\{\{DATE\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, SHORT\)\}\} \{\{TIME\(/);
    expect(runs.find((t) => t.includes('by Megan Bowen: "Use the break-glass runbook for the CFO instead"'))).toBeDefined();
    expect(runs.find((t) => t.includes('by the decision service: "No ticket number was supplied.'))).toBeDefined();
  });

  it('flags a first activation of the role', async () => {
    const { row } = await pendingRequest(h, {
      principal: USER.lynne,
      role: 'Helpdesk Administrator',
      justification: 'Unlock accounts for the service desk queue, INC0012345',
    });
    const runs = textRuns(await cardOf(row.id));
    expect(runs).toContain('0 activations in 90 days · no denials · ⚠ first activation of this role');
  });

  it('says the history is unavailable when PIM cannot be read, and still posts the card', async () => {
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: 'roleAssignmentScheduleRequests\\?.*principalId', status: 500, times: 20 });
    const { row } = await pendingRequest(h, {
      principal: USER.patti,
      role: 'Helpdesk Administrator',
      justification: 'Unlock accounts for the service desk queue, INC0012345',
    });
    const runs = textRuns(await cardOf(row.id));
    expect(runs).toEqual(expect.arrayContaining(['History: ', 'History unavailable']));
    expect(runs.filter((t) => t.includes('first activation'))).toEqual([]);
  });
});
