/**
 * The approval loop end to end, through the same wiring as `npm run demo` (`startDemo`): the simulator's
 * PIM calls the bot's decision endpoint, the bot posts the card to the playground's "PIM Approvals"
 * channel, an approver clicks on the card in the playground, the bot records the decision in PIM as that
 * approver, and the card in the channel is rewritten without buttons.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDemo, type RunningDemo } from '../../scripts/demo';
import { PLAYGROUND_CHANNEL_ID } from '../../scripts/playground-config';
import { AZURE, DEMO_TAB_APP, seedTenant, USER } from '../../sim/seed';
import { executeActions } from '../support/card-actions';
import { attachPlayground, type MessageEvent, type Playground } from '../support/playground';

jest.setTimeout(30_000);

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const teamsIdOf = (userId: string) => seedTenant.users.find((u) => u.id === userId)!.teamsUserId;

function cardOf(e: MessageEvent): unknown {
  const attachment = e.message.attachments?.find((a) => a.contentType === ADAPTIVE_CARD);
  return attachment?.content;
}

describe('approval in the Teams playground, end to end', () => {
  let dir: string;
  let demo: RunningDemo;
  let playground: Playground;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pim-e2e-'));
    demo = await startDemo({ simPort: 0, botPort: 0, playgroundPort: 0, databaseUrl: `sqlite:${path.join(dir, 'bot.sqlite')}`, quiet: true, env: {} });
    playground = await attachPlayground(demo.playground);
  });

  afterAll(async () => {
    await playground?.stop();
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function sim(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${demo.simUrl}${apiPath}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** Creates a PIM request through the simulator's control API and waits for its card in the channel. */
  async function requestAndCard(principal: string, role: string | Record<string, unknown>, justification: string) {
    const mark = playground.mark();
    const target = typeof role === 'string' ? { role } : role;
    const created = await sim('POST', '/_sim/requests', { principal, ...target, justification, durationMinutes: 120 });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('PendingApproval');
    const posted = await playground.waitForMessage(
      (e) => e.action === 'createMessage' && e.actionConversationId === PLAYGROUND_CHANNEL_ID && JSON.stringify(cardOf(e) ?? '').includes(justification),
      10_000,
      { after: mark },
    );
    return { pimId: created.body.id as string, posted, card: cardOf(posted) };
  }

  async function clickOnCard(posted: MessageEvent, card: unknown, verb: string, asUser: string, decisionJustification: string) {
    const action = executeActions(card).find((a) => a.verb === verb);
    expect(action).toBeDefined();
    const mark = playground.mark();
    // Teams merges the card's inputs into the action's data when the button is clicked.
    const result = await playground.executeAction({
      from: teamsIdOf(asUser),
      replyToId: posted.message.messageId,
      verb,
      data: { ...action!.data, decisionJustification },
    });
    return { result, mark };
  }

  it('posts the card, records an approval in PIM as the approver, and updates the card in the channel', async () => {
    const justification = 'Reset MFA for the locked-out CFO, INC0012345';
    const { pimId, posted, card } = await requestAndCard('isaiahl@contoso.example', 'User Administrator', justification);
    const text = JSON.stringify(card);
    expect(text).toContain('Isaiah Langer');
    expect(text).toContain('User Administrator');
    expect(executeActions(card).map((a) => a.verb)).toEqual(expect.arrayContaining(['pim.approve', 'pim.deny']));

    const decision = 'Verified with the CFO by phone';
    const { result, mark } = await clickOnCard(posted, card, 'pim.approve', USER.adele, decision);
    expect(result.type).toBe(ADAPTIVE_CARD);
    expect(JSON.stringify(result.value)).toContain('Approved by Adele Vance');

    const recorded = await sim('GET', `/_sim/requests/${pimId}`);
    expect(recorded.body.status).toBe('Granted');
    expect(recorded.body.approval.steps[0]).toMatchObject({
      status: 'Completed',
      reviewResult: 'Approve',
      reviewedBy: { id: USER.adele, userPrincipalName: 'adelev@contoso.example' },
      justification: decision,
    });

    const updated = await playground.waitForMessage((e) => e.action === 'updateMessage' && e.message.messageId === posted.message.messageId, 10_000, {
      after: mark,
    });
    expect(updated.actionConversationId).toBe(PLAYGROUND_CHANNEL_ID);
    const final = cardOf(updated);
    expect(executeActions(final).filter((a) => a.verb === 'pim.approve' || a.verb === 'pim.deny')).toHaveLength(0);
    expect(JSON.stringify(final)).toContain('Approved by Adele Vance (adelev@contoso.example)');
    expect(JSON.stringify(final)).toContain(decision);
  });

  it('records a denial in PIM and updates the card in the channel', async () => {
    const justification = 'Bulk licence changes for the new starters, INC0012399';
    const { pimId, posted, card } = await requestAndCard('lynner@contoso.example', 'User Administrator', justification);

    const decision = 'No change ticket covers this work today';
    const { result, mark } = await clickOnCard(posted, card, 'pim.deny', USER.megan, decision);
    expect(JSON.stringify(result.value)).toContain('Denied by Megan Bowen');

    const recorded = await sim('GET', `/_sim/requests/${pimId}`);
    expect(recorded.body.status).toBe('Denied');
    expect(recorded.body.approval.steps[0]).toMatchObject({
      reviewResult: 'Deny',
      reviewedBy: { id: USER.megan, userPrincipalName: 'meganb@contoso.example' },
      justification: decision,
    });

    const updated = await playground.waitForMessage((e) => e.action === 'updateMessage' && e.message.messageId === posted.message.messageId, 10_000, {
      after: mark,
    });
    const final = cardOf(updated);
    expect(executeActions(final).filter((a) => a.verb === 'pim.approve' || a.verb === 'pim.deny')).toHaveLength(0);
    expect(JSON.stringify(final)).toContain('Denied by Megan Bowen (meganb@contoso.example)');
  });

  it("refuses an escalation approver before PIM's escalation time, and records nothing", async () => {
    const justification = 'Rotate the break-glass account password, INC0012400';
    const { pimId, posted, card } = await requestAndCard('pattif@contoso.example', 'User Administrator', justification);
    // Alex (the playground's current user) approves other roles; for User Administrator he is only the escalation
    // approver, whom PIM lets decide after its escalation time (720 minutes), not now.
    const { result } = await clickOnCard(posted, card, 'pim.approve', USER.alex, 'Looks fine to me, approving');
    expect(JSON.stringify(result.value)).toContain('You are an escalation approver of User Administrator in PIM: PIM lets you decide from');
    expect(executeActions(result.value).filter((a) => a.verb === 'pim.approve' || a.verb === 'pim.deny')).toHaveLength(0);
    expect((await sim('GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');
  });

  it.each([
    ['a PIM for Groups request', { group: 'SQL Admins', accessId: 'member' }, 'SQL Admins'],
    ['an Azure resource request', { azureRole: 'Contributor', scope: AZURE.subscription }, 'Contributor'],
  ])('approves %s from the card in the channel', async (_name, target, shown) => {
    const justification = `Restore last night's payroll backup for ${shown}, INC0012345`;
    const { pimId, posted, card } = await requestAndCard('isaiahl@contoso.example', target, justification);
    expect(JSON.stringify(card)).toContain(shown);
    const decision = 'Restore agreed with the data owner';
    const { result, mark } = await clickOnCard(posted, card, 'pim.approve', USER.megan, decision);
    expect(JSON.stringify(result.value)).toContain('Approved by Megan Bowen');
    const recorded = await sim('GET', `/_sim/requests/${pimId}`);
    expect(recorded.body.status).toBe('Granted');
    expect(recorded.body.approval.steps[0]).toMatchObject({ reviewResult: 'Approve', reviewedBy: { id: USER.megan }, justification: decision });
    const updated = await playground.waitForMessage((e) => e.action === 'updateMessage' && e.message.messageId === posted.message.messageId, 10_000, {
      after: mark,
    });
    expect(executeActions(cardOf(updated)).filter((a) => a.verb === 'pim.approve')).toHaveLength(0);
  });
  it("serves the PIM tab at the banner's link, signing in outside Teams with the simulator's tab app", async () => {
    const link = /PIM tab:\s+(\S+)/.exec(demo.banner)?.[1];
    expect(link).toBe(`${demo.botUrl}/tab/`);
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self' teams.microsoft.com");
    const config = await fetch(`${demo.botUrl}/api/tab/config`);
    expect(config.status).toBe(200);
    expect(await config.json()).toMatchObject({
      signInOutsideTeams: true,
      clientId: DEMO_TAB_APP.clientId,
      authority: `${demo.simUrl}/${seedTenant.tenantId}`,
    });
    // The dashboard is Adele's (the demo's admin group), not Megan's.
    const adele = await demo.sim.issueUserAssertion(USER.adele);
    const megan = await demo.sim.issueUserAssertion(USER.megan);
    const me = async (token: string) => (await (await fetch(`${demo.botUrl}/api/tab/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as any;
    expect((await me(adele)).isAdmin).toBe(true);
    expect((await me(megan)).isAdmin).toBe(false);
  });
});
