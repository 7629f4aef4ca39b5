/**
 * PIM's default approvers (issue 22, part 4): a role whose PIM policy requires approval and names nobody is
 * approved by the Privileged Role Administrators and Global Administrators (Diego holds Privileged Role
 * Administrator, Adele Global Administrator in the seeded tenant), through the real entry points: PIM's
 * callout, the card in the approver channel, a click on it, Graph's approval step.
 */
import { ROLE, USER } from '../../sim/seed';
import { cardAction, type Harness, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset the MFA methods of the locked-out payroll engineer under INC0012345';

function textOf(card: unknown): string {
  return JSON.stringify(card);
}

describe('a role whose PIM policy names no approvers', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function pendingRequest() {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', { principal: USER.lynne, role: 'Authentication Administrator', justification: GOOD });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = await h.bot.store.requests.byPimId(created.body.id);
    expect(row).toBeDefined();
    return { pimId: created.body.id as string, row: row! };
  }

  it("posts the card naming PIM's default approvers, and stores them as the people who see the buttons", async () => {
    const { row } = await pendingRequest();
    expect(h.connector.posts).toHaveLength(1);
    const card = textOf(h.connector.posts[0]!.activity.attachments![0].content);
    expect(card).toContain('Authentication Administrator');
    expect(card).toContain('Privileged Role Administrators, Global Administrators');
    expect(JSON.parse(row.display!).approverIds).toEqual([USER.diego, USER.adele]);
    expect(JSON.parse(row.display!).approverNames).toEqual(['Privileged Role Administrators', 'Global Administrators']);
  });

  it('is decided by a Privileged Role Administrator, and refused for someone who holds neither role and for the requester', async () => {
    const { pimId, row } = await pendingRequest();
    const data = { requestId: row.id, version: row.version, decisionJustification: 'Confirmed with Lynne and the ticket owner' };

    const outsider = await cardAction(h.bot.url, teamsUser(USER.alex), 'pim.approve', data);
    expect(outsider.httpStatus).toBe(200);
    expect(outsider.body.statusCode).toBe(200);
    expect(textOf(outsider.body.value)).toContain(
      'Only approvers of Authentication Administrator in PIM can decide on this request. Who can: Privileged Role Administrators, Global Administrators.',
    );
    expect(textOf(outsider.body.value)).not.toContain('pim.approve');

    const requester = await cardAction(h.bot.url, teamsUser(USER.lynne), 'pim.approve', data);
    expect(textOf(requester.body.value)).toContain('You cannot approve or deny your own request. Another approver must decide.');
    expect(textOf(requester.body.value)).not.toContain('"verb":"pim.approve"');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');

    // The Privileged Role Administrator's own view has the buttons.
    const refreshed = await cardAction(h.bot.url, teamsUser(USER.diego), 'pim.refresh', { requestId: row.id, version: row.version });
    expect(textOf(refreshed.body.value)).toContain('"verb":"pim.approve"');
    expect(textOf(refreshed.body.value)).toContain('"verb":"pim.deny"');

    const decided = await cardAction(h.bot.url, teamsUser(USER.diego), 'pim.approve', data);
    expect(decided.httpStatus).toBe(200);
    expect(decided.body.statusCode).toBe(200);
    expect(textOf(decided.body.value)).toContain('Diego Siciliani');
    expect(textOf(decided.body.value)).not.toContain('pim.approve');
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    expect(sim.body.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      justification: 'Confirmed with Lynne and the ticket owner',
      reviewedBy: { id: USER.diego },
    });
    const stored = await h.bot.store.requests.get(row.id);
    expect(stored).toMatchObject({ status: 'approved', decided_by_id: USER.diego, decided_by_name: 'Diego Siciliani' });
  });

  it('a Global Administrator may deny it too', async () => {
    const { pimId, row } = await pendingRequest();
    const res = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.deny', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'No ticket owner confirmation yet',
    });
    expect(res.body.statusCode).toBe(200);
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Denied');
    expect(sim.body.approval.steps[0].reviewedBy.id).toBe(USER.adele);
    expect(ROLE.authenticationAdministrator).toBe(row.role_definition_id);
  });
});
