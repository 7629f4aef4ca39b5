import { type AppConfig, ConfigError, loadConfig } from '../services/config/config';
import { startBot } from './create-bot';

/** Entry point: read the config once, start, stop cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee README.md, "Configuration", for every variable.\n`);
      process.exit(78);
    }
    throw err;
  }
  const bot = await startBot(config);
  const stop = async () => {
    await bot.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
