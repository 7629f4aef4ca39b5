/**
 * `npm run sim`: the tenant simulator on its own, for the demo and for poking at by hand.
 * Start other processes with NODE_EXTRA_CA_CERTS=.local/pki/ca.pem so they trust it.
 */
import path from 'node:path';
import pino from 'pino';
import { startSimulator } from './server';

async function main(): Promise<void> {
  const logger = pino({ name: 'sim', level: process.env.SIM_LOG_LEVEL ?? 'info' });
  const targetUrl = process.env.BOT_EVALUATE_URL;
  const resourceId = process.env.BOT_APP_ID_URI;
  const sim = await startSimulator({
    port: Number(process.env.SIM_PORT ?? 3979),
    host: process.env.SIM_HOST ?? '127.0.0.1',
    pkiDir: path.resolve(process.env.SIM_PKI_DIR ?? '.local/pki'),
    logger,
    customExtension: targetUrl && resourceId ? { targetUrl, resourceId } : undefined,
  });
  logger.info({ url: sim.url, issuer: sim.issuer, customExtension: targetUrl ?? null }, 'simulator ready');
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  pino({ name: 'sim' }).fatal({ err }, 'simulator failed to start');
  process.exit(1);
});
