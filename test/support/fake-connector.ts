/** The Bot Connector stand-in is part of the simulator (sim/bot-connector.ts); tests import it from here too. */
export * from '../../sim/bot-connector';
