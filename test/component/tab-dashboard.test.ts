import { AZURE, GROUP, USER } from '../../sim/seed';
import { type Harness, pendingRequest, simJson, startHarness } from '../support/harness';

/**
 * The PIM tab's admin dashboard and CSV exports through the real HTTP server: only members of TAB_ADMIN_GROUP_ID
 * (read app-only from Graph, failing closed), numbers that match the requests the test made, CSV that parses.
 */

async function call(h: Harness, method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
  const res = await fetch(`${h.bot.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), for checking what the export wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('the PIM tab: admin dashboard', () => {
  let h: Harness;
  let token: (user: string) => Promise<string>;
  const today = new Date().toISOString().slice(0, 10);
  beforeEach(async () => {
    h = await startHarness({ TAB_ADMIN_GROUP_ID: GROUP.tabAdmins, AZURE_PIM_SCOPES: AZURE.subscription }, { sweepIntervalMs: 3_600_000 });
    token = (user) => h.sim.issueUserAssertion(user);
  });
  afterEach(async () => {
    await h.close();
  });

  it('shows an admin numbers that match the requests made, exports them as CSV, and neutralises formulas', async () => {
    const adele = await token(USER.adele);
    // 1. Isaiah, User Administrator: approved by Adele from the tab.
    const approved = (await pendingRequest(h)).row;
    const decided = await call(h, 'POST', `/api/tab/approvals/${approved.id}/decision`, adele, {
      reviewResult: 'Approve',
      justification: 'Verified with the CFO by phone',
      version: approved.version,
    });
    expect(decided.status).toBe(200);
    // 2. Isaiah, Helpdesk Administrator: still pending. Its justification is a formula.
    const formula = '=HYPERLINK("http://evil.example","click")';
    const pending = (await pendingRequest(h, { role: 'Helpdesk Administrator', justification: formula })).row;
    // 3. Lynne, User Administrator: cancelled by Lynne from the tab.
    const cancelledRow = (await pendingRequest(h, { principal: USER.lynne, justification: 'Unlock the finance service account, INC0012346' })).row;
    expect((await call(h, 'POST', `/api/tab/requests/${cancelledRow.id}/cancel`, await token(USER.lynne))).status).toBe(200);
    const autoOutcomes = await h.bot.store.requestRanges.evaluationOutcomes(`${today}T00:00:00.000Z`, '9999-12-31T00:00:00.000Z');
    const autoApproved = autoOutcomes.find((o) => o.outcome === 'AutoApproved')?.count ?? 0;
    const autoDenied = autoOutcomes.find((o) => o.outcome === 'Denied')?.count ?? 0;

    const me = await call(h, 'GET', '/api/tab/me', adele);
    expect(me.body.isAdmin).toBe(true);

    const d = await call(h, 'GET', `/api/tab/admin/dashboard?from=${today}&to=${today}`, adele);
    expect(d.status).toBe(200);
    expect(d.body.range).toEqual({ from: today, to: today, timeZone: 'UTC' });
    expect(d.body.roles.map((r: any) => r.name)).toEqual(['Helpdesk Administrator', 'User Administrator']);
    expect(d.body.decisionTime.buckets).toEqual([
      { label: '<5m', count: 1 },
      { label: '5-15m', count: 0 },
      { label: '15-60m', count: 0 },
      { label: '1-4h', count: 0 },
      { label: '4-24h', count: 0 },
      { label: '24h+', count: 0 },
    ]);
    expect(d.body.decisionTime.byRole).toHaveLength(1);
    expect(d.body.decisionTime.byRole[0]).toMatchObject({ role: 'User Administrator', count: 1 });
    expect(d.body.decisionTime.byHour).toHaveLength(24);
    expect(d.body.decisionTime.byHour.reduce((n: number, b: any) => n + b.count, 0)).toBe(1);
    // By the hour of the reader's zone when the page names it: Tokyo is 9 hours ahead of UTC, all year.
    const utcHour = d.body.decisionTime.byHour.findIndex((b: any) => b.count === 1);
    // (Tokyo's calendar days: yesterday to tomorrow by UTC's date holds the request whatever the hour.)
    const day = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    const tokyo = await call(h, 'GET', `/api/tab/admin/dashboard?from=${day(-1)}&to=${day(1)}&tz=Asia%2FTokyo`, adele);
    expect(tokyo.body.range).toEqual({ from: day(-1), to: day(1), timeZone: 'Asia/Tokyo' });
    expect(tokyo.body.range.timeZone).toBe('Asia/Tokyo');
    expect(tokyo.body.decisionTime.byHour.findIndex((b: any) => b.count === 1)).toBe((utcHour + 9) % 24);
    const badZone = await call(h, 'GET', `/api/tab/admin/dashboard?tz=Mars%2FOlympus`, adele);
    expect(badZone.status).toBe(400);
    expect(badZone.body.error).toMatchObject({ code: 'invalid_query', field: 'tz' });
    expect(Object.fromEntries(d.body.outcomes.map((o: any) => [o.outcome, o.count]))).toEqual({
      autoApproved,
      autoDenied,
      approved: 1,
      denied: 0,
      expired: 0,
      cancelled: 1,
      pending: 1,
    });
    expect(d.body.pendingByAge.find((b: any) => b.bucket === '<1h').count).toBe(1);
    expect(d.body.pendingByAge.reduce((n: number, b: any) => n + b.count, 0)).toBe(1);
    expect(d.body.nudges).toEqual({ reminders: 0, escalations: 0 });
    expect(d.body.topRoles).toEqual([
      { role: 'User Administrator', count: 2 },
      { role: 'Helpdesk Administrator', count: 1 },
    ]);
    expect(d.body.topRequesters).toEqual([
      { name: 'Isaiah Langer', count: 2 },
      { name: 'Lynne Robbins', count: 1 },
    ]);
    expect(d.body.unavailable).toEqual([]);
    expect(Array.isArray(d.body.dormant)).toBe(true);
    expect(Array.isArray(d.body.permanent)).toBe(true);
    // As the admin digest finds in the demo tenant (services/digests/digests-demo-tenant.test.ts): none permanent.
    expect(d.body.permanent).toEqual([]);
    expect(d.body.spotAudits).toHaveLength(1);
    expect(d.body.spotAudits[0]).toMatchObject({
      requestId: approved.id,
      role: 'User Administrator',
      requester: 'Isaiah Langer',
      approver: 'Adele Vance',
      review: null,
    });

    // Filtered by role.
    const helpdesk = d.body.roles.find((r: any) => r.name === 'Helpdesk Administrator').id;
    const filtered = await call(h, 'GET', `/api/tab/admin/dashboard?from=${today}&to=${today}&role=${helpdesk}`, adele);
    expect(filtered.body.topRoles).toEqual([{ role: 'Helpdesk Administrator', count: 1 }]);
    expect(filtered.body.outcomes.find((o: any) => o.outcome === 'pending').count).toBe(1);
    expect(filtered.body.outcomes.find((o: any) => o.outcome === 'approved').count).toBe(0);

    // CSV: the requests of the range, one row each, the formula neutralised.
    const csv = await call(h, 'GET', `/api/tab/admin/export/requests.csv?from=${today}&to=${today}`, adele);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="requests-${today}-${today}.csv"`);
    const rows = parseCsv(csv.text);
    expect(rows[0]).toEqual([
      'requestId',
      'kind',
      'role',
      'scope',
      'requester',
      'status',
      'createdAt',
      'decidedAt',
      'decidedBy',
      'decisionMinutes',
      'nudges',
      'escalated',
      'justification',
    ]);
    expect(rows).toHaveLength(4);
    const byId = new Map(rows.slice(1).map((r) => [r[0], r]));
    expect(byId.get(approved.id)!.slice(2, 6)).toEqual(['User Administrator', '/', 'Isaiah Langer', 'approved']);
    expect(byId.get(approved.id)![8]).toBe('Adele Vance');
    expect(byId.get(cancelledRow.id)![5]).toBe('cancelled');
    expect(byId.get(pending.id)![12]).toBe(`'${formula}`);

    const top = parseCsv((await call(h, 'GET', `/api/tab/admin/export/top-roles.csv?from=${today}&to=${today}`, adele)).text);
    expect(top).toEqual([
      ['role', 'count'],
      ['User Administrator', '2'],
      ['Helpdesk Administrator', '1'],
    ]);
    const outcomes = parseCsv((await call(h, 'GET', `/api/tab/admin/export/outcomes.csv?from=${today}&to=${today}`, adele)).text);
    expect(outcomes.find((r) => r[0] === 'cancelled')).toEqual(['cancelled', '1']);
    const assignments = await call(h, 'GET', `/api/tab/admin/export/assignments.csv?from=${today}&to=${today}`, adele);
    expect(assignments.status).toBe(200);
    const a = parseCsv(assignments.text);
    expect(a[0]).toEqual([
      'kind',
      'assignment',
      'principalName',
      'principalUpn',
      'principalId',
      'role',
      'roleDefinitionId',
      'scope',
      'memberType',
      'start',
      'end',
    ]);
    const isaiah = (r: string[]) => r[2] === 'Isaiah Langer' && r[3] === 'isaiahl@contoso.example' && r[4] === USER.isaiah;
    expect(a.filter((r) => r[0] === 'entraRole' && r[1] === 'eligible' && isaiah(r) && r[5] === 'User Administrator')).toHaveLength(1);
    // Isaiah's approved activation is active now.
    expect(a.filter((r) => r[0] === 'entraRole' && r[1] === 'active' && isaiah(r) && r[5] === 'User Administrator' && r[8] === 'Activated')).toHaveLength(1);
    // Azure resources at the configured scope: Isaiah is eligible for Contributor on the subscription.
    expect(a.filter((r) => r[0] === 'azureResource' && r[1] === 'eligible' && isaiah(r))).toHaveLength(1);
    // Every user principal is named (the seeded tenant's assignments are all users').
    expect(a.slice(1).filter((r) => r[2] === '')).toEqual([]);

    const unknownView = await call(h, 'GET', `/api/tab/admin/export/everything.csv`, adele);
    expect(unknownView.status).toBe(404);
    const badRange = await call(h, 'GET', `/api/tab/admin/dashboard?from=${today}&to=2000-01-01`, adele);
    expect(badRange.status).toBe(400);
    expect(badRange.body.error.field).toBe('from');
  });

  it('refuses a non-admin (403), and answers 503 when Graph cannot say who is an admin, never admitting them', async () => {
    const isaiah = await token(USER.isaiah);
    const refused = await call(h, 'GET', '/api/tab/admin/dashboard', isaiah);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('not_an_admin');
    const csv = await call(h, 'GET', '/api/tab/admin/export/requests.csv', isaiah);
    expect(csv.status).toBe(403);
    expect((await call(h, 'GET', '/api/tab/me', isaiah)).body.isAdmin).toBe(false);

    const adele = await token(USER.adele);
    expect((await call(h, 'GET', '/api/tab/admin/dashboard', adele)).status).toBe(200);
    expect((await simJson(h.sim, 'POST', '/_sim/faults', { method: 'POST', pathPattern: 'checkMemberGroups', status: 500 })).status).toBeLessThan(300);
    const down = await call(h, 'GET', '/api/tab/admin/dashboard', adele);
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('admin_check_unavailable');
    expect((await call(h, 'GET', '/api/tab/admin/export/requests.csv', adele)).status).toBe(503);
    expect((await call(h, 'GET', '/api/tab/me', adele)).body.isAdmin).toBe(false);
  });
});

describe('the PIM tab: admin dashboard without an admin group', () => {
  it('shows the dashboard to nobody', async () => {
    const h = await startHarness({}, { sweepIntervalMs: 3_600_000 });
    try {
      const adele = await h.sim.issueUserAssertion(USER.adele);
      const res = await call(h, 'GET', '/api/tab/admin/dashboard', adele);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('not_an_admin');
      expect((await call(h, 'GET', '/api/tab/me', adele)).body.isAdmin).toBe(false);
    } finally {
      await h.close();
    }
  });
});
