/**
 * Escalation approvers (issue 22, part 4): User Administrator's PIM policy names Alex as escalation approver
 * with PIM's escalation time of 720 minutes. Before that time his click is refused and his view of the card
 * has no buttons; after it he gets the controls and his decision is recorded in PIM. The bot's clock and the
 * simulator's move together.
 */
import { USER } from '../../sim/seed';
import { utcText } from '../../services/approvals/request-display';
import { cardAction, type Harness, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';

function textOf(card: unknown): string {
  return JSON.stringify(card);
}

describe('escalation approvers get the controls once PIM escalates', () => {
  let h: Harness;
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({}, { now });
  });
  afterEach(async () => {
    await h.close();
  });

  async function advance(minutes: number) {
    offsetMs += minutes * 60_000;
    expect((await simJson(h.sim, 'POST', '/_sim/clock', { advanceMinutes: minutes })).status).toBe(200);
  }

  async function pendingRequest() {
    const created = await simJson(h.sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'User Administrator',
      justification: GOOD,
      durationMinutes: 60,
    });
    expect(created.body.status).toBe('PendingApproval');
    await h.bot.delivery.drain();
    const row = (await h.bot.store.requests.byPimId(created.body.id))!;
    return { pimId: created.body.id as string, row };
  }

  it("lists the request in the escalation approver's 'approvals' only once PIM's escalation time has passed", async () => {
    await pendingRequest();
    const alexChat = `a:${teamsUser(USER.alex).teamsUserId}-personal`;
    const said = () => h.connector.posts.filter((p) => p.conversationId === alexChat).map((p) => p.activity.text ?? '');
    await personalMessage(h, USER.alex, 'approvals');
    expect(said()).toEqual(['Nothing is waiting for your approval right now.']);
    await advance(721);
    await personalMessage(h, USER.alex, 'approvals');
    await h.bot.delivery.drain();
    expect(said().filter((t) => t.includes('1 request waits') && t.includes('User Administrator'))).toHaveLength(1);
    const copies = h.connector.posts.filter(
      (p) => p.conversationId === alexChat && JSON.stringify(p.activity.attachments ?? []).includes('"verb":"pim.approve"'),
    );
    expect(copies).toHaveLength(1);
  });

  it("refuses the escalation approver's click (no buttons) before the escalation time, and records it after", async () => {
    const { pimId, row } = await pendingRequest();
    expect(JSON.parse(row.display!)).toMatchObject({ approverIds: [USER.adele, USER.megan], escalationApproverIds: [USER.alex], escalationTimeInMinutes: 720 });
    const opensAt = utcText(new Date(Date.parse(row.created_at) + 720 * 60_000));
    const data = { requestId: row.id, version: row.version, decisionJustification: 'Nobody answered; checked with the CFO by phone' };
    const alex = teamsUser(USER.alex);

    // Just after the request: refused, told when PIM lets him decide, and no buttons on his view.
    const early = await cardAction(h.bot.url, alex, 'pim.approve', data);
    expect(early.httpStatus).toBe(200);
    expect(early.body.statusCode).toBe(200);
    expect(textOf(early.body.value)).toContain(
      `You are an escalation approver of User Administrator in PIM: PIM lets you decide from ${opensAt}, if nobody has by then.`,
    );
    expect(textOf(early.body.value)).not.toContain('"verb":"pim.approve"');
    const earlyView = await cardAction(h.bot.url, alex, 'pim.refresh', { requestId: row.id, version: row.version });
    expect(textOf(earlyView.body.value)).not.toContain('"verb":"pim.approve"');
    expect(textOf(earlyView.body.value)).not.toContain('"verb":"pim.deny"');

    // A minute before the escalation time: still refused.
    await advance(719);
    const almost = await cardAction(h.bot.url, alex, 'pim.approve', data);
    expect(textOf(almost.body.value)).toContain(`PIM lets you decide from ${opensAt}, if nobody has by then.`);
    expect(textOf(almost.body.value)).not.toContain('"verb":"pim.approve"');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
    expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');

    // Past it: his view has the controls, and his decision is recorded in PIM as his.
    await advance(2);
    const lateView = await cardAction(h.bot.url, alex, 'pim.refresh', { requestId: row.id, version: row.version });
    expect(textOf(lateView.body.value)).toContain('"verb":"pim.approve"');
    expect(textOf(lateView.body.value)).toContain('"verb":"pim.deny"');
    const late = await cardAction(h.bot.url, alex, 'pim.approve', data);
    expect(late.httpStatus).toBe(200);
    expect(late.body.statusCode).toBe(200);
    expect(textOf(late.body.value)).toContain('Alex Wilber');
    expect(textOf(late.body.value)).not.toContain('"verb":"pim.approve"');
    const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
    expect(sim.body.status).toBe('Granted');
    expect(sim.body.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      justification: 'Nobody answered; checked with the CFO by phone',
      reviewedBy: { id: USER.alex },
    });
    expect(await h.bot.store.requests.get(row.id)).toMatchObject({ status: 'approved', decided_by_id: USER.alex });
  });

  it('someone who is neither approver nor escalation approver is still refused after the escalation time', async () => {
    const { pimId, row } = await pendingRequest();
    await advance(721);
    const res = await cardAction(h.bot.url, teamsUser(USER.patti), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Looks fine to me, approving it',
    });
    expect(textOf(res.body.value)).toContain('Only approvers of User Administrator in PIM can decide on this request. Who can: Adele Vance, Megan Bowen.');
    expect(textOf(res.body.value)).not.toContain('"verb":"pim.approve"');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
  });
});
