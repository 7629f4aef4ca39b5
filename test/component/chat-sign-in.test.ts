/**
 * Teams SSO in the personal chat, as Teams drives it (the playground has no token service, so the
 * activities are sent to the bot directly): a command typed before sign-in gets an OAuth card with a
 * token exchange resource; Teams' `signin/tokenExchange` with the user's SSO token signs them in and the
 * command runs; a token that cannot be exchanged gets 412 so Teams falls back to the sign-in link.
 */
import { DEMO_TENANT_ID, USER } from '../../sim/seed';
import { type Harness, simJson, startHarness, teamsUser } from '../support/harness';

describe('signing in from the personal chat', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  function activity(extra: Record<string, unknown>) {
    const alex = teamsUser(USER.alex);
    return {
      id: `a-${Math.random().toString(16).slice(2)}`,
      channelId: 'msteams',
      serviceUrl: h.connector.serviceUrl,
      from: { id: alex.teamsUserId, name: alex.displayName, aadObjectId: alex.id },
      recipient: { id: '28:bot', name: 'PIM Approvals' },
      conversation: { id: 'a:alex-personal', conversationType: 'personal', tenantId: DEMO_TENANT_ID },
      channelData: { tenant: { id: DEMO_TENANT_ID } },
      ...extra,
    };
  }

  async function send(a: Record<string, unknown>): Promise<{ status: number; body: any }> {
    const res = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity(a)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  const texts = () => h.connector.posts.map((p) => `${p.activity.text ?? ''} ${JSON.stringify(p.activity.attachments ?? [])}`);

  it('asks an unsigned user to sign in, then runs their command once Teams exchanges the SSO token', async () => {
    await simJson(h.sim, 'POST', '/_sim/signout', { user: USER.alex });
    await send({ type: 'message', text: 'roles' });
    await h.connector.waitFor(() => h.connector.posts.length >= 1);
    const oauth = h.connector.posts[0]!.activity.attachments![0];
    expect(oauth.contentType).toBe('application/vnd.microsoft.card.oauth');
    expect(oauth.content.tokenExchangeResource.uri).toContain('api://botid-');
    expect(texts().join(' ')).not.toContain('You can activate');

    const bad = await send({
      type: 'invoke',
      name: 'signin/tokenExchange',
      value: { id: oauth.content.tokenExchangeResource.id, connectionName: oauth.content.connectionName, token: 'not-a-token' },
    });
    expect(bad.status).toBe(412);
    expect(texts().join(' ')).not.toContain('You can activate');

    const sso = await h.sim.issueUserAssertion(USER.alex);
    const good = await send({
      type: 'invoke',
      name: 'signin/tokenExchange',
      value: { id: oauth.content.tokenExchangeResource.id, connectionName: oauth.content.connectionName, token: sso },
    });
    expect(good.status).toBe(200);
    await h.connector.waitFor(() => texts().some((t) => t.includes('You can activate')));
    expect(texts().find((t) => t.includes('You can activate'))).toContain('Security Operator');
  });

  it('answers help without asking anyone to sign in', async () => {
    await simJson(h.sim, 'POST', '/_sim/signout', { user: USER.alex });
    await send({ type: 'message', text: 'help' });
    await h.connector.waitFor(() => h.connector.posts.length >= 1);
    expect(texts()[0]).toContain('activate <role>');
    expect(texts()[0]).not.toContain('card.oauth');
  });

  it('points people who mention the bot in a channel to the personal chat', async () => {
    await send({
      type: 'message',
      text: 'activate security operator',
      conversation: { id: '19:x@thread.tacv2', conversationType: 'channel', isGroup: true, tenantId: DEMO_TENANT_ID },
    });
    await h.connector.waitFor(() => h.connector.posts.length >= 1);
    expect(texts()[0]).toContain('personal chat');
  });
});
