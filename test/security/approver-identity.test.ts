/**
 * Issue 18: the approver's identity is proven by their token, never read from the activity alone. An
 * invoke whose `from.aadObjectId` names an approver while its `from.id` (whose token the Bot Framework
 * token service hands out) is someone else's, or whose token was issued by another tenant or not signed by
 * Entra, is refused before anything is claimed, audited or sent to PIM; the same check guards the chat's
 * activation submit and the digest's Extend button. A real approver's click afterwards is recorded with the
 * token's `oid` as who decided.
 */
import pino from 'pino';
import { UserTokenClientImpl } from 'botframework-connector/lib/auth/userTokenClientImpl';
import { DEMO_BOT_APP, ROLE, USER } from '../../sim/seed';
import { cardAction, type Harness, pendingRequest, personalMessage, simJson, startHarness, teamsUser } from '../support/harness';
import { executeActions } from '../support/card-actions';

const FOREIGN_TENANT = 'f0f0f0f0-0000-4000-8000-00000000f0f0';
const SSO_RESOURCE = `api://botid-${DEMO_BOT_APP.clientId}`;

/** Megan (an approver of User Administrator) as the activity names her, sent from another Teams user's id. */
function impersonating(victim: string, sender: string): { teamsUserId: string; id: string; displayName: string } {
  const v = teamsUser(victim);
  return { ...v, teamsUserId: teamsUser(sender).teamsUserId };
}

describe('approver proof: the token must belong to the Teams user who clicked', () => {
  let h: Harness;
  let lines: Array<Record<string, any>>;
  let raw: string[];

  beforeEach(async () => {
    lines = [];
    raw = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (s: string) => {
          raw.push(s);
          lines.push(JSON.parse(s));
        },
      },
    );
    h = await startHarness({}, { logger, sweepIntervalMs: 10 * 60_000 });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await h.close();
  });

  async function auditCount(): Promise<number> {
    let n = 0;
    for await (const _ of h.bot.store.audit.rows()) n += 1;
    return n;
  }

  async function auditRows(): Promise<Array<{ kind: string; actor: string; outcome: string }>> {
    const out: Array<{ kind: string; actor: string; outcome: string }> = [];
    for await (const r of h.bot.store.audit.rows()) out.push({ kind: r.kind, actor: (r as { actor: string }).actor, outcome: r.outcome });
    return out;
  }

  async function calls(): Promise<Array<{ method: string; path: string; oid?: string }>> {
    return (await simJson(h.sim, 'GET', '/_sim/calls')).body.value;
  }

  /** Nothing went to PIM as anyone: no approval step read or written, no call as a user (only the bot's app-only reads). */
  async function expectNothingSentToPim(): Promise<void> {
    const made = await calls();
    expect(made.filter((c) => c.method === 'PATCH')).toHaveLength(0);
    expect(made.filter((c) => /roleAssignmentApprovals|roleAssignmentScheduleRequests|selfActivate|selfExtend/.test(c.path))).toHaveLength(0);
    expect(made.filter((c) => (Object.values(USER) as string[]).includes(String(c.oid)))).toHaveLength(0);
  }

  const refusals = () => lines.filter((l) => l.level === 40 && /does not prove/.test(String(l.msg)));

  /** What the token service would hand the bot: a token the test made, for the next lookup only. */
  function tokenServiceAnswers(token: string): void {
    jest
      .spyOn(UserTokenClientImpl.prototype, 'getUserToken')
      .mockResolvedValueOnce({ channelId: 'msteams', connectionName: 'pim-sso', token, expiration: new Date(Date.now() + 3600_000).toISOString() } as never);
  }

  it("refuses a click naming an approver from another user's Teams id, then records the real approver by the token's oid", async () => {
    const { pimId, row } = await pendingRequest(h);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();

    // Megan approves User Administrator; Lynne does not. The activity says Megan, its from.id is Lynne's.
    const res = await cardAction(h.bot.url, impersonating(USER.megan, USER.lynne), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(res.httpStatus).toBe(200);
    expect(res.body.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(JSON.stringify(res.body.value)).toContain('This sign-in belongs to another account');

    const after = (await h.bot.store.requests.get(row.id))!;
    expect(after).toMatchObject({ status: 'pending', version: row.version, claimed_by: null, decided_by_id: null });
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.status).toBe('PendingApproval');

    // One warn line, naming who the activity claimed and whose the token was; never the token.
    expect(refusals()).toHaveLength(1);
    expect(refusals()[0]).toMatchObject({ check: 'account', claimedOid: USER.megan, tokenOid: USER.lynne, requestId: row.id });
    expect(raw.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    // The token that proved someone else is dropped, so Lynne's next click signs in afresh.
    expect(h.sim.state.isSignedIn(USER.lynne)).toBe(false);

    // Megan herself (Teams may send her object id in capitals): recorded, as the token's oid.
    const megan = teamsUser(USER.megan);
    const ok = await cardAction(h.bot.url, { ...megan, id: megan.id.toUpperCase() }, 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(JSON.stringify(ok.body.value)).toContain('Megan Bowen');
    expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.approval.steps[0]).toMatchObject({
      reviewResult: 'Approve',
      reviewedBy: { id: USER.megan },
    });
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.megan, decided_by_name: 'Megan Bowen' });
    const added = (await auditRows()).slice(before);
    expect(added.map((r) => [r.kind, r.actor])).toEqual([
      ['card.decision', USER.megan],
      ['graph.result', USER.megan],
    ]);
    expect((await calls()).filter((c) => c.method === 'PATCH')).toHaveLength(1);
  });

  it('refuses the same impersonation when Teams retries the click with an SSO token (token exchange)', async () => {
    const { row } = await pendingRequest(h);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();
    // Teams exchanges the SSO token of the user behind from.id (Lynne); the activity still says Megan.
    const sso = await h.sim.issueUserAssertion(USER.lynne);
    const res = await cardAction(
      h.bot.url,
      impersonating(USER.megan, USER.lynne),
      'pim.deny',
      { requestId: row.id, version: row.version, decisionJustification: 'No change ticket for this work' },
      { authentication: { token: sso } },
    );
    expect(JSON.stringify(res.body.value)).toContain('This sign-in belongs to another account');
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'pending', version: row.version });
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect(refusals()).toHaveLength(1);
  });

  it("refuses a token issued by another tenant, even for the approver's object id", async () => {
    const { row } = await pendingRequest(h);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();
    // Entra signs every tenant's tokens with the same keys: this one verifies, but its tid is not ours.
    const foreign = await h.sim.issueToken({
      iss: `${h.sim.url}/${FOREIGN_TENANT}/v2.0`,
      tid: FOREIGN_TENANT,
      aud: SSO_RESOURCE,
      oid: USER.megan,
      name: 'Megan Bowen',
      scp: 'access_as_user',
    });
    tokenServiceAnswers(foreign);
    const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(JSON.stringify(res.body.value)).toContain("another organisation's account");
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'pending', version: row.version, claimed_by: null });
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect(refusals()).toHaveLength(1);
    expect(refusals()[0]).toMatchObject({ check: 'tenant', tokenTid: FOREIGN_TENANT, claimedOid: USER.megan });
  });

  it('refuses a token the tenant did not sign, though every claim in it is right (local signature check)', async () => {
    const { row } = await pendingRequest(h);
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();
    const forged = await h.sim.issueToken({ aud: SSO_RESOURCE, oid: USER.megan, name: 'Megan Bowen', scp: 'access_as_user' }, { signWith: 'foreign' });
    tokenServiceAnswers(forged);
    const res = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(JSON.stringify(res.body.value)).toContain('Your sign-in could not be verified');
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'pending', version: row.version });
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect(refusals()).toEqual([expect.objectContaining({ check: 'signature', claimedOid: USER.megan })]);

    // The bad token was dropped: Megan's next click asks her to sign in, and once signed in she decides.
    const again = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(again.body.statusCode).toBe(401);
    await simJson(h.sim, 'POST', '/_sim/signin', { user: USER.megan });
    const ok = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.approve', {
      requestId: row.id,
      version: row.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(JSON.stringify(ok.body.value)).toContain('Megan Bowen');
    expect((await h.bot.store.requests.get(row.id))!).toMatchObject({ status: 'approved', decided_by_id: USER.megan });
  });

  it("refuses a chat activation submit whose sign-in is someone else's: nothing goes to PIM, the form stays", async () => {
    await personalMessage(h, USER.alex, 'activate Security Operator for 2 hours ticket INC0012345 to triage the phishing alert 4711');
    await h.connector.waitFor(() => h.connector.posts.some((p) => JSON.stringify(p.activity.attachments ?? []).includes('chat.submit')));
    const form = h.connector.posts.map((p) => p.activity.attachments?.[0]?.content).find((c) => JSON.stringify(c ?? {}).includes('chat.submit'));
    const submit = executeActions(form).find((a) => a.verb === 'chat.submit')!;
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();

    const res = await cardAction(h.bot.url, impersonating(USER.alex, USER.lynne), 'chat.submit', {
      ...submit.data,
      durationMinutes: '120',
      ticketSystem: 'ServiceNow',
      ticketNumber: 'INC0012345',
      justification: 'Triage the phishing alert 4711',
    });
    expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
    expect(String(res.body.value)).toContain('This sign-in belongs to another account');
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect(
      (await simJson(h.sim, 'GET', '/_sim/requests')).body.value.filter(
        (r: any) => r.principalId === USER.alex && r.roleDefinitionId === ROLE.securityOperator,
      ),
    ).toHaveLength(0);
    expect((await h.bot.store.chat.draft(submit.data.draftId))!.status).toBe('open');
    expect(refusals()).toEqual([expect.objectContaining({ check: 'account', claimedOid: USER.alex, tokenOid: USER.lynne })]);
  });

  it("refuses a digest Extend click whose sign-in is someone else's", async () => {
    await simJson(h.sim, 'DELETE', '/_sim/calls');
    const before = await auditCount();
    const res = await cardAction(h.bot.url, impersonating(USER.alex, USER.lynne), 'digest.extend', {
      kind: 'entraRole',
      roleDefinitionId: ROLE.securityOperator,
      scope: '/',
      assignment: 'eligible',
    });
    expect(String(res.body.value)).toContain('This sign-in belongs to another account');
    expect(await auditCount()).toBe(before);
    await expectNothingSentToPim();
    expect(refusals()).toEqual([expect.objectContaining({ check: 'account', claimedOid: USER.alex, tokenOid: USER.lynne })]);
  });
});
