/**
 * Elevation by chat through the Teams playground's API, with the same wiring as `npm run demo`: Alex
 * (the playground's current user, `user-id-0`) types commands in the personal chat, presses buttons on
 * the cards the bot answers with, and the simulator's PIM, Entra and token service play the tenant.
 *
 * Alex is eligible for Global Administrator (approval, MFA, ticket, 2 h), Security Operator (approval,
 * ticket, 4 h; eligibility ends in 9 days), Reports Reader (no approval) and Exchange Administrator
 * (authentication context c1, no approval); Alex also approves Security Operator and Helpdesk Administrator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDemo, type RunningDemo } from '../../scripts/demo';
import { DEMO_TENANT_ID, ROLE, seedTenant, USER } from '../../sim/seed';
import { executeAction, executeActions } from '../support/card-actions';
import { attachPlayground, type MessageEvent, type Playground } from '../support/playground';

jest.setTimeout(60_000);

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const OAUTH_CARD = 'application/vnd.microsoft.card.oauth';
const ALEX = 'user-id-0';

/** Values of the card's inputs as Teams would send them unchanged (id → value). */
function inputValues(node: unknown, found: Record<string, string> = {}): Record<string, string> {
  if (Array.isArray(node)) for (const item of node) inputValues(item, found);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.type === 'string' && o.type.startsWith('Input.') && typeof o.id === 'string' && typeof o.value === 'string') found[o.id] = o.value;
    for (const value of Object.values(o)) inputValues(value, found);
  }
  return found;
}

const cardOf = (e: MessageEvent) => e.message.attachments?.find((a) => a.contentType === ADAPTIVE_CARD)?.content;
/** The user's daily digest (it arrives on its own schedule, not as an answer). */
const isDigest = (e: MessageEvent) => JSON.stringify(e.message.attachments ?? []).includes('Your daily PIM digest');
const textOfEvent = (e: MessageEvent) => `${e.message.text ?? ''} ${JSON.stringify(e.message.attachments ?? [])}`;

describe('elevation by chat in the Teams playground', () => {
  let dir: string;
  let demo: RunningDemo;
  let pg: Playground;
  let chatId: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pim-chat-'));
    demo = await startDemo({ simPort: 0, botPort: 0, playgroundPort: 0, databaseUrl: `sqlite:${path.join(dir, 'bot.sqlite')}`, quiet: true, env: {} });
    pg = await attachPlayground(demo.playground);
    chatId = (await pg.config()).config.personalChat.id;
  });

  afterAll(async () => {
    await pg?.stop();
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

  /**
   * Types in the personal chat and waits for the bot's reply that satisfies `until` (default: any). Alex's daily
   * digest may land in the chat at any moment of the run (the demo's digests follow the real clock): it is
   * never the reply.
   */
  async function say(text: string, until: (e: MessageEvent) => boolean = () => true): Promise<MessageEvent> {
    const mark = pg.mark();
    await pg.sendMessage(chatId, text);
    return pg.waitForMessage((e) => e.action === 'createMessage' && e.actionConversationId === chatId && !isDigest(e) && until(e), 15_000, {
      after: mark,
    });
  }

  /** Presses a button on a card in the personal chat, with the card's inputs as they are plus `inputs`. */
  async function press(on: MessageEvent, verb: string, inputs: Record<string, string> = {}, from = ALEX) {
    const card = cardOf(on);
    const action = executeAction(card, verb);
    return pg.executeAction({ from, replyToId: on.message.messageId, verb, data: { ...inputValues(card), ...inputs, ...action.data } });
  }

  async function pimRequests(principal: string, status?: string): Promise<any[]> {
    const all = (await sim('GET', '/_sim/requests')).body.value as any[];
    return all.filter((r) => r.principalId === principal && (!status || r.status === status));
  }

  it('activates a role that needs no approval in one message and a tap, and the status says until when', async () => {
    const reply = await say('activate reports reader for 90m because quarterly licence report for finance');
    const card = cardOf(reply);
    expect(JSON.stringify(card)).toContain('Reports Reader');
    expect(JSON.stringify(card)).toContain('Confirm');
    const result = await press(reply, 'chat.submit');
    expect(result.type).toBe(ADAPTIVE_CARD);
    const status = JSON.stringify(result.value);
    expect(status).toContain('Active until');
    expect(status).toMatch(/without approval/i);
    const granted = await pimRequests(USER.alex);
    expect(granted.find((r) => r.roleName === 'Reports Reader' || JSON.stringify(r).includes('4a5d8f65'))?.status).toBe('Granted');
  });

  it('asks for the ticket PIM requires before submitting anything', async () => {
    const before = (await pimRequests(USER.alex)).length;
    const reply = await say('activate global admin for 1h because break-glass check after the outage review');
    const text = JSON.stringify(cardOf(reply));
    expect(text).toContain('PIM needs a ticket for Global Administrator');
    expect(text).toContain('ticketNumber');
    expect((await pimRequests(USER.alex)).length).toBe(before);
  });

  it('offers the policy maximum when the duration is above it', async () => {
    const reply = await say('activate global admin for 5h ticket INC0012345 because break-glass check after the outage review');
    const card = cardOf(reply);
    const text = JSON.stringify(card);
    expect(text).toContain('at most 2 hours');
    expect(inputValues(card).durationMinutes).toBe('120');
  });

  it('says who to ask when the user is not eligible for the role', async () => {
    const reply = await say('activate user administrator for 1h ticket INC0012345 because onboarding new starters');
    expect(textOfEvent(reply)).toMatch(/eligible/i);
    expect(textOfEvent(reply)).not.toContain('chat.submit');
  });

  it('turns an MFA refusal into a fresh sign-in, then submits once MFA is done; cancel withdraws it', async () => {
    await sim('POST', '/_sim/signin', { user: USER.alex, mfa: false });
    const reply = await say('activate global admin for 1h ticket INC0012345 because break-glass check after the outage review');
    const mark = pg.mark();
    const refused = await press(reply, 'chat.submit');
    expect(JSON.stringify(refused.value)).toContain('multi-factor authentication');
    const signIn = await pg.waitForMessage(
      (e) => e.actionConversationId === chatId && JSON.stringify(e.message.attachments ?? []).includes(OAUTH_CARD),
      10_000,
      { after: mark },
    );
    expect(textOfEvent(signIn)).toContain('MFA');
    expect(await pimRequests(USER.alex, 'PendingApproval')).toHaveLength(0);

    // The user signs in again, completing MFA, and presses Submit on the same form.
    await sim('POST', '/_sim/signin', { user: USER.alex, mfa: true });
    const submitted = await press(reply, 'chat.submit');
    expect(JSON.stringify(submitted.value)).toContain('Waiting for approval');
    expect(JSON.stringify(submitted.value)).toContain('Megan Bowen');
    expect(await pimRequests(USER.alex, 'PendingApproval')).toHaveLength(1);

    const cancelled = await say('cancel global admin', (e) => /cancel/i.test(textOfEvent(e)));
    expect(textOfEvent(cancelled)).toContain('Cancelled your request for Global Administrator');
    expect(await pimRequests(USER.alex, 'PendingApproval')).toHaveLength(0);
  });

  it('answers an authentication-context challenge with a sign-in, then activates with the stronger token', async () => {
    const reply = await say('activate exchange admin for 1h because mailbox migration cutover tonight');
    const mark = pg.mark();
    const refused = await press(reply, 'chat.submit');
    // PIM's internal name for the rule ("authentication context c1") does not reach the user.
    expect(JSON.stringify(refused.value)).toContain('stronger sign-in');
    expect(JSON.stringify(refused.value)).not.toContain('authentication context c1');
    await pg.waitForMessage((e) => e.actionConversationId === chatId && JSON.stringify(e.message.attachments ?? []).includes(OAUTH_CARD), 10_000, {
      after: mark,
    });

    await sim('POST', '/_sim/signin', { user: USER.alex, mfa: true, acrs: ['c1'] });
    const submitted = await press(reply, 'chat.submit');
    expect(JSON.stringify(submitted.value)).toContain('Active until');
  });

  it('extends inside the 14-day window and says when the window opens otherwise', async () => {
    const inside = await say('extend security operator');
    expect(textOfEvent(inside)).toContain('Asked PIM to extend your eligibility for Security Operator');
    // PIM's status name ("PendingAdminDecision") is said in words.
    expect(textOfEvent(inside)).toContain('waiting for your administrators to decide');
    expect(textOfEvent(inside)).not.toContain('PendingAdminDecision');
    const outside = await say('extend global admin');
    expect(textOfEvent(outside)).toMatch(/Global Administrator (ends|does not expire)/);
    expect(textOfEvent(outside)).not.toContain('Asked PIM to extend');
  });

  it('shows an approver what is waiting for them', async () => {
    const created = await sim('POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'Helpdesk Administrator',
      justification: 'Reset passwords for the Berlin office, INC0012345',
      durationMinutes: 60,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.status).toBe(201);
    await new Promise((r) => setTimeout(r, 500));
    const reply = await say('status', (e) => textOfEvent(e).includes('Your requests'));
    expect(textOfEvent(reply)).toContain('Isaiah Langer asks for Helpdesk Administrator');
  });

  it.each([
    ['a PIM for Groups membership', 'activate sql admins for 1h because restore the payroll database from last night', 'SQL Admins (member)'],
    [
      'an Azure resource role',
      'activate contributor for 2h because scale the payroll app service before the month-end run',
      'Contributor on Contoso Production',
    ],
  ])('requests %s as the user, and PIM sends it for approval', async (_name, command, shown) => {
    const reply = await say(command);
    expect(JSON.stringify(cardOf(reply))).toContain(shown);
    const submitted = await press(reply, 'chat.submit');
    const status = JSON.stringify(submitted.value);
    expect(status).toContain('Waiting for approval');
    expect(status).toContain('Megan Bowen');
    const filed = (await pimRequests(USER.alex, 'PendingApproval')).filter((r) => JSON.stringify(r).includes(command.split('because ')[1]!));
    expect(filed).toHaveLength(1);
  });

  it('refuses a card action from someone other than the requester', async () => {
    const reply = await say('activate security operator for 1h ticket INC0012346 because triage of the phishing wave');
    expect(JSON.stringify(cardOf(reply))).toContain('Security Operator');
    // The playground's personal chat has only Alex in it, so Isaiah's click is sent to the bot directly,
    // shaped as Teams sends an invoke (the demo bot takes unauthenticated activities on loopback only).
    const isaiah = seedTenant.users.find((u) => u.id === USER.isaiah)!;
    const submit = executeActions(cardOf(reply)).find((a) => a.verb === 'chat.submit')!;
    const res = await fetch(`${demo.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: 'inv-1',
        channelId: 'msteams',
        serviceUrl: demo.playground.connectorUrl,
        from: { id: isaiah.teamsUserId, name: isaiah.displayName, aadObjectId: isaiah.id },
        recipient: { id: demo.playground.botId, name: 'PIM Approvals' },
        conversation: { id: 'a:isaiah-personal', conversationType: 'personal', tenantId: DEMO_TENANT_ID },
        replyToId: reply.message.messageId,
        value: { action: { type: 'Action.Execute', verb: 'chat.submit', data: { ...inputValues(cardOf(reply)), ...submit.data } }, trigger: 'manual' },
      }),
    });
    const result = await res.json();
    expect(result.statusCode).toBe(400);
    expect(JSON.stringify(result)).toMatch(/belongs to someone else/);
    const filed = (await pimRequests(USER.alex)).filter((r) => JSON.stringify(r).includes('phishing wave'));
    expect(filed).toHaveLength(0);
  });

  it("shows the decision service's denial and its reason on the status card", async () => {
    const reply = await say('activate security operator for 1h ticket ServiceNow INC0099999 because contain the phishing incident on the finance mailboxes');
    const result = await press(reply, 'chat.submit');
    const status = JSON.stringify(result.value);
    expect(status).toContain('decision service');
    expect(status).toContain('INC0099999');
    expect(status).toMatch(/closed/i);
    expect(status).toContain('chat.again');
  });

  it('says why the decision service approved automatically, and the role is active at once', async () => {
    const reply = await say('activate security operator for 1h ticket ServiceNow CHG0042001 because contain the phishing incident on the finance mailboxes');
    const result = await press(reply, 'chat.submit');
    const status = JSON.stringify(result.value);
    expect(status).toContain('Active until');
    expect(status).toMatch(/approved automatically/i);
    expect(status).toMatch(/on call/i);
    expect((await pimRequests(USER.alex, 'Granted')).some((r) => JSON.stringify(r).includes('CHG0042001'))).toBe(true);
  });

  it('lists eligible and active roles with their end times', async () => {
    const reply = await say('roles', (e) => textOfEvent(e).includes('You can activate'));
    const text = textOfEvent(reply);
    // Teams markdown: headings, then one "- " item a line after a blank line (single newlines run together in Teams).
    expect(reply.message.textFormat ?? 'markdown').toBe('markdown');
    expect(text).toContain('**Active now**\n\n- ');
    expect(text).toMatch(/\n- Reports Reader: until /);
    expect(text).toContain('**You can activate**\n\n- ');
    expect(text).toMatch(/\n- Security Operator \(eligible until /);
  });

  it('still lists Entra roles when PIM for Groups and ARM fail, and says so plainly when Entra roles fail', async () => {
    await sim('POST', '/_sim/faults', { pathPattern: 'privilegedAccess/group|^/arm/', status: 500 });
    try {
      const partial = await say('roles', (e) => textOfEvent(e).includes('You can activate'));
      expect(textOfEvent(partial)).toContain('Global Administrator');
      expect(textOfEvent(partial)).not.toContain('SQL Admins');
    } finally {
      await sim('DELETE', '/_sim/faults');
    }
    await sim('POST', '/_sim/faults', { pathPattern: 'roleEligibilityScheduleInstances', status: 500 });
    try {
      const failed = await say('roles', (e) => textOfEvent(e).includes('could not read'));
      expect(textOfEvent(failed)).toContain('I could not read your eligible roles from PIM');
      expect(textOfEvent(failed)).not.toMatch(/\bat \w+ \(/); // no stack trace
    } finally {
      await sim('DELETE', '/_sim/faults');
    }
  });

  it('lets the Azure OpenAI planner read free text, and still confirms on the card what it understood', async () => {
    const free = 'the CFO is locked out of everything and I have to sort it out now, INC0012345';
    await sim('DELETE', '/_sim/openai/calls');
    await sim('POST', '/_sim/openai/replies', {
      content: JSON.stringify({
        command: 'activate',
        role: 'Global Administrator',
        durationMinutes: 60,
        ticketSystem: 'ServiceNow',
        ticketNumber: 'INC0012345',
        justification: 'reset the locked-out CFO account',
      }),
    });
    const reply = await say(free);
    const card = cardOf(reply);
    expect(JSON.stringify(card)).toContain('Global Administrator');
    expect(JSON.stringify(card)).toContain('Confirm your request');
    expect(inputValues(card)).toMatchObject({ durationMinutes: '60', ticketNumber: 'INC0012345' });
    // Nothing reaches PIM before the user confirms.
    expect((await pimRequests(USER.alex, 'PendingApproval')).filter((r) => r.roleDefinitionId === ROLE.globalAdministrator)).toHaveLength(0);
    const calls = (await sim('GET', '/_sim/openai/calls')).body;
    expect(JSON.stringify(calls)).toContain('Global Administrator');

    // A role the user is not eligible for, proposed by the model, is not offered.
    await sim('POST', '/_sim/openai/replies', {
      content: JSON.stringify({
        command: 'activate',
        role: 'User Administrator',
        durationMinutes: 60,
        ticketSystem: null,
        ticketNumber: null,
        justification: 'onboarding',
      }),
    });
    const refused = await say('please set me up so I can onboard the new starters today');
    expect(JSON.stringify(cardOf(refused) ?? '')).not.toContain('chat.submit');
    expect(textOfEvent(refused)).toMatch(/User Administrator|eligible/);
  });

  it('answers help with a card of commands and examples to copy', async () => {
    const reply = await say('help', (e) => cardOf(e) !== undefined);
    const card = JSON.stringify(cardOf(reply));
    expect(card).toContain('What I can do');
    expect(card).toContain('"fontType":"Monospace"');
    expect(card).toContain('activate security operator for 2h ticket INC0012345');
  });

  it('says the user is not eligible for a shortened role name instead of offering roles that share a word with it', async () => {
    const reply = await say('activate helpdesk admin', (e) => /eligible/i.test(textOfEvent(e)));
    expect(textOfEvent(reply)).toContain('You are not eligible for Helpdesk Administrator');
    expect(textOfEvent(reply)).not.toMatch(/Which one do you mean/);
  });

  it('asks which request a bare "cancel" means when there are several, naming role and when, and cancels only the one picked', async () => {
    const created = await sim('POST', '/_sim/requests', {
      principal: USER.alex,
      role: 'Global Administrator',
      justification: 'Break-glass check after the outage review, INC0012345',
      durationMinutes: 60,
      ticketNumber: 'INC0012345',
      ticketSystem: 'ServiceNow',
    });
    expect(created.status).toBe(201);
    const open = (await pimRequests(USER.alex)).filter((r) => /^Pending/.test(r.status));
    expect(open.length).toBeGreaterThan(1);
    const reply = await say('cancel', (e) => cardOf(e) !== undefined);
    const card = cardOf(reply);
    const text = JSON.stringify(card);
    expect(text).toContain('Which request should I cancel?');
    expect(text).toContain('Global Administrator');
    expect(text).toMatch(/requested \w{3} \d+ \w{3}, \d\d:\d\d/);
    expect(text).not.toMatch(/PendingApproval|PendingAdminDecision/);
    const buttons = executeActions(card).filter((a: { verb?: string }) => a.verb === 'chat.cancelChoice');
    expect(buttons).toHaveLength(open.length);
    // Nothing is cancelled by asking.
    expect((await pimRequests(USER.alex)).filter((r) => /^Pending/.test(r.status))).toHaveLength(open.length);
    const ga = buttons.find((b: { data?: { pimRequestId?: string } }) => b.data?.pimRequestId === created.body.id)!;
    expect(ga).toBeDefined();
    const answer = await pg.executeAction({ from: ALEX, replyToId: reply.message.messageId, verb: 'chat.cancelChoice', data: ga.data });
    expect(JSON.stringify(answer.value)).toContain('Cancelled your request for Global Administrator');
    const after = await pimRequests(USER.alex);
    expect(after.find((r) => r.id === created.body.id)?.status).toMatch(/Cancel/);
    expect(after.filter((r) => /^Pending/.test(r.status))).toHaveLength(open.length - 1);
  });

  // Last in this file: it moves the simulator's clock on by six minutes.
  it('ends an activation early with "done <role>": named, only once PIM allows it, and nothing else ends', async () => {
    // Reports Reader activates without approval; the first test of this file may have activated it already.
    const reportsReaderActive = (await pimRequests(USER.alex, 'Granted')).some((r) => r.roleDefinitionId === ROLE.reportsReader);
    if (!reportsReaderActive) {
      const offer = await say('activate reports reader for 2h because quarterly licence report for finance', (e) => cardOf(e) !== undefined);
      expect(JSON.stringify((await press(offer, 'chat.submit')).value)).toContain('Active until');
    }
    const before = await pimRequests(USER.alex);

    // A bare "done" may answer something else: it asks which role, listing what is active.
    const bare = textOfEvent(await say('done'));
    expect(bare).toContain('Which role do you want to end now?');
    expect(bare).toContain('Reports Reader');
    // A role that is not active is not ended, and says what is.
    expect(textOfEvent(await say('done global admin'))).toMatch(/is not one of your active roles, so there is nothing to end\. Active now: .*Reports Reader/);
    // PIM ends an activation only once it has run five minutes: the bot says from when.
    expect(textOfEvent(await say('done reports reader'))).toMatch(
      /PIM ends an activation only once it has run 5 minutes: .*again from \w{3} \d+ \w{3}, \d\d:\d\d/,
    );
    expect(await pimRequests(USER.alex)).toHaveLength(before.length);

    await sim('POST', '/_sim/clock', { advanceMinutes: 6 });
    expect(textOfEvent(await say("I'm done with reports reader"))).toContain('Done: your Reports Reader activation has ended');
    const after = await pimRequests(USER.alex);
    const ended = after.filter((r) => !before.some((b) => b.id === r.id));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ action: 'selfDeactivate', status: 'Revoked' });
    // The role is no longer active; the next "done" finds nothing to end.
    expect(textOfEvent(await say('roles'))).not.toMatch(/Reports Reader[^\n]*active until/i);
    expect(textOfEvent(await say('done reports reader'))).toMatch(/not one of your active roles|no active role to end/);
  });

  it('ends an activation from its status card with "End now", once PIM allows it; the card then offers to ask again', async () => {
    const before = (await pimRequests(USER.alex)).filter((r) => r.action === 'selfDeactivate').length;
    const offer = await say('activate reports reader for 1h because quarterly licence report for finance', (e) => cardOf(e) !== undefined);
    const status = await press(offer, 'chat.submit');
    expect(JSON.stringify(status.value)).toContain('Active until');
    const endNow = executeAction(status.value, 'chat.endNow');
    const click = () => pg.executeAction({ from: ALEX, replyToId: offer.message.messageId, verb: 'chat.endNow', data: endNow.data });

    const early = JSON.stringify((await click()).value);
    expect(early).toContain('PIM ends an activation only once it has run 5 minutes. Press End now again from');
    expect(early).toContain('Active until');

    await sim('POST', '/_sim/clock', { advanceMinutes: 6 });
    const ended = (await click()).value;
    expect(JSON.stringify(ended)).toContain('Ended early at');
    expect(executeActions(ended).map((a: { verb?: string }) => a.verb)).toEqual(['chat.again']);
    const revoked = (await pimRequests(USER.alex)).filter((r) => r.action === 'selfDeactivate');
    expect(revoked).toHaveLength(before + 1);
    expect(revoked.at(-1)).toMatchObject({ status: 'Revoked', roleDefinitionId: ROLE.reportsReader });
    // A second press finds it ended: the same card, nothing more in PIM.
    expect(JSON.stringify((await click()).value)).toContain('Ended early at');
    expect((await pimRequests(USER.alex)).filter((r) => r.action === 'selfDeactivate')).toHaveLength(before + 1);
  });
});
