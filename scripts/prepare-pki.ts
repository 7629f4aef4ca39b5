/**
 * Runs before any Node process that talks to the simulator: those processes need
 * NODE_EXTRA_CA_CERTS=.local/pki/ca.pem at start-up, so the file must exist first.
 */
import path from 'node:path';
import { ensurePki } from '../sim/pki';

const dir = path.resolve(process.argv[2] ?? '.local/pki');
const pki = ensurePki(dir);
process.stdout.write(`${pki.caCertPath}\n`);
