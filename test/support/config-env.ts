import { ConfigError, loadConfig } from '../../services/config/config';
import { DEMO_BOT_APP } from '../../sim/seed';

/** A complete production environment (public cloud): every Microsoft endpoint at its default. */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  APP_MODE: 'production',
  TENANT_ID: 'c0ffee00-7e4f-4c59-9a1d-2f6e8c4b0a17',
  BOT_APP_ID: 'b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  BOT_APP_SECRET: 'a-real-secret',
  PIM_ENDPOINT_APP_ID_URI: 'api://pim-bot.contoso.com/b07b07b0-5c1a-4e7b-9a52-6d3c0e7a1b75',
  PIM_ALLOWED_CALLER_APP_IDS: '1c67c054-65c8-4f7f-92a1-eb7ba6e48627',
  APPROVER_CHANNELS: '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"https://smba.trafficmanager.net/emea/"}}',
  DATABASE_URL: 'sqlite:/var/lib/pim-bot/bot.sqlite',
};

/** A complete demo environment: loopback, the simulator on 3979, a connector on 56150, the simulator's bot secret. */
export const DEMO_ENV: Readonly<Record<string, string>> = {
  ...PRODUCTION_ENV,
  APP_MODE: 'demo',
  DEMO_ACKNOWLEDGE: 'loopback-only',
  HOST: '127.0.0.1',
  BOT_APP_SECRET: DEMO_BOT_APP.clientSecret,
  ENTRA_AUTHORITY_HOST: 'https://127.0.0.1:3979',
  GRAPH_BASE_URL: 'https://127.0.0.1:3979',
  BOT_OAUTH_URL: 'https://127.0.0.1:3979',
  APPROVER_CHANNELS: '{"default":{"conversationId":"19:abc@thread.tacv2","serviceUrl":"http://127.0.0.1:56150/_connector"}}',
};

/** The problems loadConfig names for an environment ([] when it loads). */
export function configProblems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
