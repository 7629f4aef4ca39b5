/**
 * Elevation by chat end to end, as in the demo: Alex asks for Security Operator in the personal chat,
 * confirms on the card, the simulator's PIM calls the decision endpoint, the approver card appears in the
 * channel, Megan approves there, and Alex's status message in the chat is rewritten to "Active until …".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clickOnNewestCard, decideNewestExtension } from '../../scripts/demo-approve';
import { startDemo, type RunningDemo } from '../../scripts/demo';
import { PLAYGROUND_CHANNEL_ID } from '../../scripts/playground-config';
import { executeAction } from '../support/card-actions';
import { attachPlayground, type MessageEvent, type Playground } from '../support/playground';

jest.setTimeout(60_000);

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const cardOf = (e: MessageEvent) => e.message.attachments?.find((a) => a.contentType === ADAPTIVE_CARD)?.content;
/** The user's daily digest arrives on its own schedule (the demo's digests follow the real clock): never an answer. */
const isDigest = (e: MessageEvent) => JSON.stringify(e.message.attachments ?? []).includes('Your daily PIM digest');

describe('elevation by chat, end to end', () => {
  let dir: string;
  let demo: RunningDemo;
  let pg: Playground;
  let databaseUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pim-chat-e2e-'));
    databaseUrl = `sqlite:${path.join(dir, 'bot.sqlite')}`;
    demo = await startDemo({ simPort: 0, botPort: 0, playgroundPort: 0, databaseUrl, quiet: true, env: {} });
    pg = await attachPlayground(demo.playground);
  });

  afterAll(async () => {
    await pg?.stop();
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a chat request that needs approval ends as "active until" after the approver approves in the channel', async () => {
    const chatId = (await pg.config()).config.personalChat.id;
    let mark = pg.mark();
    await pg.sendMessage(chatId, 'activate security operator for 2h ticket ServiceNow INC0012345 because investigating alert');
    const confirm = await pg.waitForMessage((e) => e.action === 'createMessage' && e.actionConversationId === chatId && !isDigest(e), 15_000, { after: mark });
    const form = cardOf(confirm);
    expect(JSON.stringify(form)).toContain('Confirm your request');
    expect(JSON.stringify(form)).toContain('INC0012345');

    mark = pg.mark();
    const submitted = await pg.executeAction({
      from: 'user-id-0',
      replyToId: confirm.message.messageId,
      verb: 'chat.submit',
      data: {
        ...executeAction(form, 'chat.submit').data,
        durationMinutes: '120',
        ticketSystem: 'ServiceNow',
        ticketNumber: 'INC0012345',
        justification: 'investigating alert',
      },
    });
    expect(JSON.stringify(submitted.value)).toContain('Waiting for approval');

    // The approval loop: PIM called the decision endpoint; the card is in the approvers' channel.
    const posted = await pg.waitForMessage(
      (e) =>
        e.action === 'createMessage' && e.actionConversationId === PLAYGROUND_CHANNEL_ID && JSON.stringify(cardOf(e) ?? '').includes('investigating alert'),
      15_000,
      { after: mark },
    );
    const approverCard = cardOf(posted);
    expect(JSON.stringify(approverCard)).toContain('Alex');
    expect(JSON.stringify(approverCard)).toContain('"verb":"pim.approve"');
    await demo.bot.delivery.drain(); // the card's message id is stored once Teams (the playground) answered the post
    mark = pg.mark();
    // What `npm run demo:approve -- --as megan` does: Megan clicks Approve on the newest card in the channel.
    const decided = await clickOnNewestCard({
      as: 'megan',
      because: 'Alert INC0012345 confirmed with the SOC lead',
      databaseUrl,
      playgroundPort: demo.playground.port,
    });
    expect(decided).toContain('Approved by Megan Bowen');

    // Alex's status message in the personal chat is rewritten in place.
    const updated = await pg.waitForMessage(
      (e) => e.action === 'updateMessage' && e.actionConversationId === chatId && e.message.messageId === confirm.message.messageId,
      15_000,
      { after: mark },
    );
    const status = JSON.stringify(cardOf(updated));
    expect(status).toContain('Active until');
    expect(status).toContain('Megan Bowen');
    expect(status).toContain('Alert INC0012345 confirmed with the SOC lead');
  });

  it("an extension asked in the chat is decided on its card in the channel, as in the README's demo", async () => {
    const chatId = (await pg.config()).config.personalChat.id;
    let mark = pg.mark();
    await pg.sendMessage(chatId, 'extend security operator');
    const answer = await pg.waitForMessage((e) => e.action === 'createMessage' && e.actionConversationId === chatId && !isDigest(e), 15_000, { after: mark });
    expect(JSON.stringify(answer.message)).toContain('Asked PIM to extend your eligibility for Security Operator');
    // The bot reads PIM's waiting extension requests on the reconciler's schedule (10 s in the demo); a sweep now.
    await demo.bot.extensionDesk.sweep();
    const posted = await pg.waitForMessage(
      (e) => e.action === 'createMessage' && e.actionConversationId === PLAYGROUND_CHANNEL_ID && JSON.stringify(cardOf(e) ?? '').includes('Extension request'),
      15_000,
      { after: mark },
    );
    expect(JSON.stringify(cardOf(posted))).toContain('"verb":"extension.apply"');
    await demo.bot.delivery.drain();
    mark = pg.mark();
    // What `npm run demo:approve -- --as megan --extension` and `-- --as adele --extension` do.
    expect(await decideNewestExtension({ as: 'megan', databaseUrl, playgroundPort: demo.playground.port })).toContain(
      'Only Privileged Role Administrators and Global Administrators',
    );
    expect(await decideNewestExtension({ as: 'adele', databaseUrl, playgroundPort: demo.playground.port })).toContain('Extended by Adele Vance');
    const updated = await pg.waitForMessage(
      (e) =>
        e.action === 'updateMessage' && e.actionConversationId === PLAYGROUND_CHANNEL_ID && JSON.stringify(cardOf(e) ?? '').includes('Extended by Adele Vance'),
      15_000,
      { after: mark },
    );
    expect(JSON.stringify(cardOf(updated))).not.toContain('extension.apply');
  });
});
