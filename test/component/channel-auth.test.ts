import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startBot, RunningBot } from '../../bot/create-bot';
import { loadConfig } from '../../services/config/config';

describe('production mode authenticates the Bot Framework channel', () => {
  let bot: RunningBot;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pim-bot-prod-'));
    bot = await startBot(
      loadConfig({
        APP_MODE: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        TENANT_ID: 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17',
        BOT_APP_ID: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
        BOT_APP_SECRET: 'a-real-secret',
        PIM_ENDPOINT_APP_ID_URI: 'api://127.0.0.1/b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
        PIM_ALLOWED_CALLER_APP_IDS: '1c67c054-65c8-4f7f-92a1-eb7ba6e48627',
        APPROVER_CHANNELS: '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
        DATABASE_URL: `sqlite:${join(dir, 'bot.sqlite')}`,
      }),
      { logger: pino({ level: 'silent' }) },
    );
  });
  afterAll(async () => {
    await bot.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an activity without a Bot Framework token', async () => {
    const res = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'invoke', name: 'adaptiveCard/action', channelId: 'msteams', serviceUrl: 'https://evil.example/', from: { id: 'x', aadObjectId: '6e1f2a30-4b5c-4d6e-8f70-0a1b2c3d4e03' }, conversation: { id: 'c' }, value: {} }),
    });
    expect(res.status).toBe(401);
  });
});
