/**
 * Channel messages through the outbox, end to end (simulator → bot → Bot Connector stand-in): a busy
 * minute collapses into a summary card whose lines stay actionable, follow decisions and carry nudges;
 * a 429 from Teams pauses the channel for its Retry-After instead of being retried blindly.
 */
import { ROLE, seedTenant, USER, type SeedTenant } from '../../sim/seed';
import { executeActions } from '../support/card-actions';
import { cardAction, CHANNEL_ID, type Harness, pendingRequest, simJson, startHarness, teamsUser } from '../support/harness';

const GOOD = 'Reset MFA for the locked-out CFO under incident INC0012345';
const ROLES = 5;
const cardOf = (a: { activity: any }) => a.activity.attachments[0].content;

function seedWithRoles(): SeedTenant {
  // PIM keeps one pending request per user and role: a few more roles Isaiah may activate.
  const seed: SeedTenant = structuredClone(seedTenant);
  const template = seed.roles.find((r) => r.id === ROLE.userAdministrator)!;
  for (let i = 0; i < ROLES; i++) {
    const id = `0c7d1a52-8e44-4b0f-9d3e-${String(i).padStart(12, '0')}`;
    seed.roles.push({ ...structuredClone(template), id, templateId: id, displayName: `Busy Minute Role ${i}`, eligible: [USER.isaiah] });
  }
  return seed;
}

describe('channel messages through the outbox', () => {
  let h: Harness;
  let offsetMs = 0;

  beforeEach(async () => {
    offsetMs = 0;
    h = await startHarness({ CARD_SUMMARY_AFTER: '2' }, { seed: seedWithRoles(), now: () => new Date(Date.now() + offsetMs) });
  });
  afterEach(async () => {
    await h.close();
  });

  const request = async (role: string) => (await pendingRequest(h, { role, justification: GOOD, ticketNumber: 'INC0012345', ticketSystem: 'ServiceNow' })).row;

  it('a busy minute: two cards go alone, the rest wait for one summary card whose lines open the full card, follow decisions and take nudges', async () => {
    const rows = [];
    for (let i = 0; i < ROLES; i++) rows.push(await request(`Busy Minute Role ${i}`));
    expect(h.connector.posts).toHaveLength(2);
    expect(h.connector.posts.map((p) => executeActions(cardOf(p)).find((a) => a.verb === 'pim.approve')?.data.requestId)).toEqual([rows[0]!.id, rows[1]!.id]);

    // The minute closes: the three held requests go out on one summary card, none lost, none twice.
    offsetMs += 61_000;
    await h.bot.delivery.drain();
    expect(h.connector.posts).toHaveLength(3);
    const summary = h.connector.posts[2]!;
    const opens = executeActions(cardOf(summary));
    expect(opens.map((a) => [a.verb, a.data.requestId])).toEqual(rows.slice(2).map((r) => ['pim.refresh', r.id]));
    for (const row of rows.slice(2)) {
      expect(await h.bot.store.cardCopies.of(row.id)).toEqual([
        expect.objectContaining({ activity_id: summary.activityId, summary: 1, conversation_id: CHANNEL_ID }),
      ]);
    }
    const listed = rows[3]!;

    // Open on a line is the approval card's refresh: an approver gets Approve and Deny.
    const opened = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.refresh', { requestId: listed.id, version: listed.version });
    expect(executeActions(opened.body.value).map((a) => a.verb)).toEqual(expect.arrayContaining(['pim.approve', 'pim.deny']));

    // A decision re-renders the summary in place: that line says who approved; the others stay open.
    const decided = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: listed.id,
      version: listed.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(decided.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    const summaryUpdates = h.connector.updates.filter((u) => u.activityId === summary.activityId);
    expect(summaryUpdates).toHaveLength(1);
    const text = JSON.stringify(cardOf(summaryUpdates[0]!));
    expect(text).toContain('Approved by Adele Vance');
    expect(text).toContain('3 approval requests waiting');
    expect(await h.bot.store.requests.withStaleCards()).toHaveLength(0);

    // A nudge for a listed request goes in the summary's thread, mentioning the approvers.
    const waiting = (await h.bot.store.requests.get(rows[4]!.id))!;
    expect(await h.bot.reminders.remindNow(waiting, USER.isaiah)).toMatch(/^I reminded /);
    await h.bot.delivery.drain();
    const replies = h.connector.posts.filter((p) => p.conversationId === `${CHANNEL_ID};messageid=${summary.activityId}`);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.activity.text).toContain('<at>Adele Vance</at>');
    expect(replies[0]!.activity.entities!.map((e: any) => e.mentioned.id)).toEqual(expect.arrayContaining([USER.adele]));
  });

  it("a listed request whose approval PIM did not record says so on the summary's line, as its card would, until it is decided", async () => {
    const rows = [];
    for (let i = 0; i < 4; i++) rows.push(await request(`Busy Minute Role ${i}`));
    offsetMs += 61_000;
    await h.bot.delivery.drain();
    const summary = h.connector.posts[2]!;
    expect(executeActions(cardOf(summary)).map((a) => a.data.requestId)).toEqual([rows[2]!.id, rows[3]!.id]);
    const listed = rows[2]!;

    // PIM fails the PATCH: the claim is given back, with who clicked and when kept on the row.
    await simJson(h.sim, 'POST', '/_sim/faults', { method: 'PATCH', pathPattern: 'roleAssignmentApprovals', status: 500, times: 10 });
    await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: listed.id,
      version: listed.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    const released = (await h.bot.store.requests.get(listed.id))!;
    expect(released.status).toBe('pending');
    const clickedAt = (JSON.parse(released.last_release!) as { at: string }).at;
    const line = "Adele Vance's decision was not recorded in PIM; please decide again.";
    // When she clicked, as an instant Teams writes in each viewer's own zone.
    const clicked = `Clicked {{DATE(${clickedAt.slice(0, 19)}Z, SHORT)}} {{TIME(${clickedAt.slice(0, 19)}Z)}}`;

    // The summary is re-rendered in place: that line says so, in the approval card's words; the other does not.
    await h.bot.delivery.drain();
    const updates = () => h.connector.updates.filter((u) => u.activityId === summary.activityId);
    expect(updates()).toHaveLength(1);
    const lines = cardOf(updates()[0]!).body[2].items as unknown[];
    expect(lines).toHaveLength(2);
    expect(JSON.stringify(lines[0])).toContain(JSON.stringify(line));
    expect(JSON.stringify(lines[0])).toContain(JSON.stringify(clicked));
    expect(JSON.stringify(lines[1])).not.toContain('not recorded');
    expect(JSON.stringify(cardOf(updates()[0]!))).toContain('2 approval requests waiting');
    expect(await h.bot.store.requests.withStaleCards()).toHaveLength(0);

    // Decided on a second click: the line says how it ended, and the release is gone.
    await simJson(h.sim, 'DELETE', '/_sim/faults');
    const again = await cardAction(h.bot.url, teamsUser(USER.adele), 'pim.approve', {
      requestId: listed.id,
      version: released.version,
      decisionJustification: 'Verified with the CFO by phone',
    });
    expect(again.body.statusCode).toBe(200);
    await h.bot.delivery.drain();
    const last = JSON.stringify(cardOf(updates().at(-1)!));
    expect(last).toContain('Approved by Adele Vance');
    expect(last).not.toContain('not recorded');
  });

  it('a 429 from Teams pauses the channel for its Retry-After (no blind retry), then the card goes once', async () => {
    h.connector.failNext(429, 1, { retryAfterSeconds: 30 });
    const row = await request('Busy Minute Role 0');
    expect(h.connector.calls.map((c) => c.status)).toEqual([429]);
    const queued = (await h.bot.outbox.byDedupeKey(`card:${row.id}:${CHANNEL_ID}`))!;
    expect(queued).toMatchObject({ status: 'pending', attempts: 0 });
    const waitMs = Date.parse(queued.not_before) - (Date.now() + offsetMs);
    expect(waitMs).toBeGreaterThan(25_000);
    expect(waitMs).toBeLessThanOrEqual(30_000);

    offsetMs += 10_000;
    await h.bot.delivery.drain();
    expect(h.connector.calls).toHaveLength(1);

    offsetMs += 21_000;
    await h.bot.delivery.drain();
    expect(h.connector.calls.map((c) => c.status)).toEqual([429, 200]);
    expect(await h.bot.store.cardCopies.of(row.id)).toEqual([expect.objectContaining({ activity_id: h.connector.posts[0]!.activityId, summary: 0 })]);
  });
});
