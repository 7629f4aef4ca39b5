import { generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { DEMO_BOT_APP, DEMO_TENANT_ID, USER } from '../../sim/seed';
import { checkNameText, checkWord } from '../../cards/approval-card';
import { cardDataOf } from '../../cards/approval-view';
import { cardAction, type Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

/**
 * The PIM tab's JSON API through the real HTTP server: every call carries the user's
 * Teams SSO token, and a decision from the tab is the card's decision, recorded once in PIM.
 */

const DECISION = 'Verified with the CFO by phone';

async function tabGet(h: Harness, path: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${h.bot.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function tabDecide(
  h: Harness,
  token: string,
  requestId: string,
  body: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.bot.url}/api/tab/approvals/${requestId}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The PIM decisions (PATCHes of an approval step) the simulator received since the calls were last cleared. */
async function pimPatches(h: Harness): Promise<number> {
  const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string }>;
  return calls.filter((c) => c.method === 'PATCH' && /stages|steps/i.test(c.path)).length;
}

describe('the PIM tab API', () => {
  let h: Harness;
  let token: (user: string) => Promise<string>;
  /** Every line the bot logged, and every token a test sent: no line may carry a token. */
  let lines: string[];
  let issued: string[];
  beforeEach(async () => {
    lines = [];
    issued = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    h = await startHarness({}, { sweepIntervalMs: 3_600_000, logger });
    token = async (user) => {
      const t = await h.sim.issueUserAssertion(user);
      issued.push(t);
      return t;
    };
  });
  afterEach(async () => {
    await h.close();
    expect(lines.length).toBeGreaterThan(0);
    for (const t of issued) {
      const signature = t.split('.')[2]!;
      expect(lines.filter((l) => l.includes(signature))).toEqual([]);
    }
  });

  describe('authentication', () => {
    it('answers 401 with what to fix when there is no token, a forged one, an expired one or one for another audience', async () => {
      const missing = await tabGet(h, '/api/tab/approvals');
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('token_missing');
      expect(missing.body.error.message).toContain('Authorization: Bearer');
      expect(missing.headers.get('www-authenticate')).toContain('Bearer');

      const notBearer = await fetch(`${h.bot.url}/api/tab/requests`, { headers: { authorization: 'Basic YWRlbGU6cHc=' } });
      expect(notBearer.status).toBe(401);
      expect(((await notBearer.json()) as any).error.code).toBe('token_malformed');

      // The same claims as a real SSO token, signed with a key that is not the tenant's.
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({ oid: USER.adele, tid: DEMO_TENANT_ID, preferred_username: 'adelev@contoso.example' })
        .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
        .setIssuer(`${h.sim.url}/${DEMO_TENANT_ID}/v2.0`)
        .setAudience(`api://botid-${DEMO_BOT_APP.clientId}`)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      issued.push(forged);
      const bad = await tabGet(h, '/api/tab/approvals', forged);
      expect(bad.status).toBe(401);
      expect(bad.body.error.code).toBe('token_signature');

      const expiredToken = await h.sim.issueUserAssertion(USER.adele, { expiresInSeconds: -3600 });
      issued.push(expiredToken);
      const expired = await tabGet(h, '/api/tab/approvals', expiredToken);
      expect(expired.status).toBe(401);
      expect(expired.body.error.code).toBe('token_expired');
      expect(expired.body.error.message).toContain('getAuthToken()');

      const otherToken = await h.sim.issueUserAssertion(USER.adele, { audience: 'api://someone-else' });
      issued.push(otherToken);
      const otherAudience = await tabGet(h, '/api/tab/approvals', otherToken);
      expect(otherAudience.status).toBe(401);
      expect(otherAudience.body.error.code).toBe('token_audience');

      // A decision with a bad token is refused before its body is read: nothing reaches PIM.
      const { row } = await pendingRequest(h);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const refused = await tabDecide(h, forged, row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version });
      expect(refused.status).toBe(401);
      expect(await pimPatches(h)).toBe(0);
      expect((await h.bot.store.requests.get(row.id))!.status).toBe('pending');
    });

    it('answers with the caller the token proves', async () => {
      const ok = await tabGet(h, '/api/tab/requests', await token(USER.isaiah));
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ items: [], nextCursor: null });
    });
  });

  describe('lists', () => {
    it('shows approvers exactly the pending requests they may decide, and the requester their own under /requests', async () => {
      const { row } = await pendingRequest(h);
      const adele = await tabGet(h, '/api/tab/approvals', await token(USER.adele));
      expect(adele.status).toBe(200);
      expect(adele.body.items).toHaveLength(1);
      expect(adele.body.nextCursor).toBeNull();
      expect(adele.body.items[0]).toMatchObject({
        requestId: row.id,
        version: row.version,
        role: 'User Administrator',
        scope: '/',
        requester: { id: USER.isaiah, name: 'Isaiah Langer', upn: 'isaiahl@contoso.example' },
        justification: 'Reset MFA for the locked-out CFO under incident INC0012345',
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      });
      expect(Array.isArray(adele.body.items[0].riskFlags)).toBe(true);
      expect(Array.isArray(adele.body.items[0].reasons)).toBe(true);
      // What the card shows an approver: the checks, and the card's own identity-risk and history blocks.
      const stored = (await h.bot.store.requests.get(row.id))!;
      const card = cardDataOf(stored, new Date());
      expect(adele.body.items[0].checks).toEqual(
        card.checkLines!.map((l) => ({ result: l.result, onFail: l.onFail, word: checkWord(l), title: checkNameText(l.name), summary: l.summary })),
      );
      // In words, never the check's internal name.
      expect(adele.body.items[0].checks.map((c: any) => c.title)).not.toContain('businessHours');
      expect(adele.body.items[0].checks.length).toBeGreaterThan(0);
      expect(adele.body.items[0].history).toEqual(card.history);
      expect(adele.body.items[0].history.line).toEqual(expect.any(String));
      expect(adele.body.items[0].identityRisk).toEqual(card.identityRisk ?? null);
      expect((await tabGet(h, '/api/tab/approvals', await token(USER.megan))).body.items).toHaveLength(1);

      // The requester does not approve their own request; a non-approver has nothing to decide.
      expect((await tabGet(h, '/api/tab/approvals', await token(USER.isaiah))).body.items).toHaveLength(0);
      expect((await tabGet(h, '/api/tab/approvals', await token(USER.diego))).body.items).toHaveLength(0);

      const mine = await tabGet(h, '/api/tab/requests', await token(USER.isaiah));
      expect(mine.status).toBe(200);
      expect(mine.body.items).toHaveLength(1);
      expect(mine.body.items[0]).toMatchObject({ requestId: row.id, status: 'pending', role: 'User Administrator', decidedBy: null });
      expect((await tabGet(h, '/api/tab/requests', await token(USER.adele))).body.items).toHaveLength(0);
    });

    it('pages newest first with a cursor, and refuses a bad limit or cursor', async () => {
      const first = await pendingRequest(h);
      const second = await pendingRequest(h, { principal: USER.lynne });
      const third = await pendingRequest(h, { principal: USER.patti });
      const adele = await token(USER.adele);
      const page1 = await tabGet(h, '/api/tab/approvals?limit=2', adele);
      expect(page1.body.items.map((i: any) => i.requestId)).toEqual([third.row.id, second.row.id]);
      expect(page1.body.nextCursor).toEqual(expect.any(String));
      const page2 = await tabGet(h, `/api/tab/approvals?limit=2&cursor=${page1.body.nextCursor}`, adele);
      expect(page2.body.items.map((i: any) => i.requestId)).toEqual([first.row.id]);
      expect(page2.body.nextCursor).toBeNull();

      const tooMany = await tabGet(h, '/api/tab/approvals?limit=101', adele);
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error).toMatchObject({ code: 'invalid_query', field: 'limit' });
      const badCursor = await tabGet(h, '/api/tab/requests?cursor=nonsense', adele);
      expect(badCursor.status).toBe(400);
      expect(badCursor.body.error.code).toBe('bad_cursor');
    });
  });

  describe('deciding from the tab', () => {
    it('records exactly one decision in PIM as the approver, updates the channel card, and tells a second decider who decided', async () => {
      const { pimId, row } = await pendingRequest(h);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const res = await tabDecide(h, await token(USER.adele), row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        result: 'approved',
        request: { requestId: row.id, status: 'approved', decidedBy: { id: USER.adele, name: 'Adele Vance' } },
      });
      expect(res.body.request.decisionJustification).toBe(DECISION);
      expect(await pimPatches(h)).toBe(1);
      // The audit trail says the decision came from the tab.
      const decisions = [];
      for await (const a of h.bot.store.audit.rows()) if (a.kind === 'card.decision' && a.request_id === row.id) decisions.push(JSON.parse(a.details));
      expect(decisions).toEqual([{ reviewResult: 'Approve', justification: DECISION, via: 'tab' }]);

      const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
      expect(sim.body.status).toBe('Granted');
      expect(sim.body.approval.steps).toHaveLength(1);
      expect(sim.body.approval.steps[0]).toMatchObject({ reviewResult: 'Approve', justification: DECISION, reviewedBy: { id: USER.adele } });

      await h.bot.delivery.drain();
      expect(h.connector.updates).toHaveLength(1);
      expect(h.connector.updates[0]!.activityId).toBe(h.connector.posts[0]!.activityId);
      const card = JSON.stringify(h.connector.updates[0]!.activity.attachments![0].content);
      expect(card).toContain('Adele Vance');
      expect(card).toContain(DECISION);
      expect(card).not.toContain('Action.Execute');

      // A second decision, from the tab or the card, is told who decided; PIM gets nothing more.
      const again = await tabDecide(h, await token(USER.megan), row.id, {
        reviewResult: 'Deny',
        justification: 'Not without a second check',
        version: row.version,
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('already_decided');
      expect(again.body.error.message).toContain('Adele Vance already approved');
      expect(again.body.request.decidedBy.name).toBe('Adele Vance');
      const click = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.deny', {
        requestId: row.id,
        version: row.version,
        decisionJustification: 'Not without a second check',
      });
      expect(JSON.stringify(click.body)).toContain('Adele Vance already approved');
      expect(await pimPatches(h)).toBe(1);

      // The requester follows it under /requests; approvers have nothing left to decide.
      const mine = await tabGet(h, '/api/tab/requests', await token(USER.isaiah));
      expect(mine.body.items[0]).toMatchObject({ status: 'approved', decidedBy: { id: USER.adele }, decisionJustification: DECISION });
      expect((await tabGet(h, '/api/tab/approvals', await token(USER.megan))).body.items).toHaveLength(0);
    });

    it('a card click first: the tab is told who decided (409)', async () => {
      const { row } = await pendingRequest(h);
      const click = await cardAction(h.bot.url, teamsUser(USER.megan), 'pim.deny', {
        requestId: row.id,
        version: row.version,
        decisionJustification: 'Not during the freeze',
      });
      expect(click.httpStatus).toBe(200);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const res = await tabDecide(h, await token(USER.adele), row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version });
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain('Megan Bowen already denied');
      expect(res.body.request).toMatchObject({ status: 'denied', decidedBy: { id: USER.megan } });
      expect(await pimPatches(h)).toBe(0);
    });

    it('a tab decision and a card click at the same time record once', async () => {
      const { pimId, row } = await pendingRequest(h);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const adele = await token(USER.adele);
      const [tab, click] = await Promise.all([
        tabDecide(h, adele, row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version }),
        cardAction(h.bot.url, teamsUser(USER.megan), 'pim.deny', { requestId: row.id, version: row.version, decisionJustification: 'Not during the freeze' }),
      ]);
      expect(click.httpStatus).toBe(200);
      expect([200, 409]).toContain(tab.status);
      expect(await pimPatches(h)).toBe(1);
      const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
      expect(sim.body.approval.steps.filter((s: any) => s.reviewResult !== 'NotReviewed')).toHaveLength(1);
      const final = (await h.bot.store.requests.get(row.id))!;
      expect(final.decided_by_id).toBe(tab.status === 200 ? USER.adele : USER.megan);
    });

    it('refuses a non-approver (403, saying who can) and the requester (403); PIM is unchanged', async () => {
      const { pimId, row } = await pendingRequest(h);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const diego = await tabDecide(h, await token(USER.diego), row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version });
      expect(diego.status).toBe(403);
      expect(diego.body.error.code).toBe('not_an_approver');
      expect(diego.body.error.message).toContain('Only approvers of User Administrator in PIM can decide on this request. Who can:');
      expect(diego.body.error.message).toContain('Adele Vance');
      const self = await tabDecide(h, await token(USER.isaiah), row.id, { reviewResult: 'Approve', justification: DECISION, version: row.version });
      expect(self.status).toBe(403);
      expect(self.body.error.code).toBe('self_approval');

      expect(await pimPatches(h)).toBe(0);
      const sim = await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`);
      expect(sim.body.status).toBe('PendingApproval');
      expect(sim.body.approval.steps[0].reviewResult).toBe('NotReviewed');
      const after = (await h.bot.store.requests.get(row.id))!;
      expect(after.status).toBe('pending');
      expect(after.version).toBe(row.version);
    });

    it('answers 400 to bad bodies and 404 to an unknown request, changing nothing', async () => {
      const { pimId, row } = await pendingRequest(h);
      await simJson(h.sim, 'DELETE', '/_sim/calls');
      const adele = await token(USER.adele);
      const good = { reviewResult: 'Approve', justification: DECISION, version: row.version };
      const cases: Array<[unknown, string, string | undefined]> = [
        [{ justification: DECISION, version: row.version }, 'invalid_body', 'reviewResult'],
        [{ ...good, reviewResult: 'Maybe' }, 'invalid_body', 'reviewResult'],
        [{ ...good, version: '1' }, 'invalid_body', 'version'],
        [{ ...good, justification: 42 }, 'invalid_body', 'justification'],
        [{ ...good, approverId: USER.megan }, 'invalid_body', undefined],
        [{ ...good, justification: '  ok \u200b ' }, 'justification_too_short', 'justification'],
        [{ ...good, justification: 'x'.repeat(2001) }, 'invalid_body', 'justification'],
        ['{"reviewResult":', 'malformed_json', undefined],
      ];
      for (const [body, code, field] of cases) {
        const res = await tabDecide(h, adele, row.id, body);
        expect({ status: res.status, code: res.body.error.code, field: res.body.error.field }).toEqual({ status: 400, code, field });
      }
      expect((await tabDecide(h, adele, row.id, good, 'text/plain')).status).toBe(415);
      expect((await tabDecide(h, adele, 'not-a-uuid', good)).body.error).toMatchObject({ code: 'bad_request_id', field: 'requestId' });
      const unknown = await tabDecide(h, adele, '00000000-0000-4000-8000-000000000000', good);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('unknown_request');
      const stale = await tabDecide(h, adele, row.id, { ...good, version: row.version + 7 });
      expect(stale.status).toBe(409);
      expect(stale.body.error.code).toBe('stale_version');

      expect(await pimPatches(h)).toBe(0);
      expect((await simJson(h.sim, 'GET', `/_sim/requests/${pimId}`)).body.approval.steps[0].reviewResult).toBe('NotReviewed');
      const after = (await h.bot.store.requests.get(row.id))!;
      expect(after.status).toBe('pending');
      expect(after.version).toBe(row.version);
    });
  });
});
