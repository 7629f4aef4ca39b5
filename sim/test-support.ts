/** Helpers shared by the simulator's own tests (and usable by component tests elsewhere). */
import path from 'node:path';
import { ClientSecretCredential, OnBehalfOfCredential, type OnBehalfOfCredentialSecretOptions } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { startSimulator, type SimHandle, type SimulatorOptions } from './server';
import { DEMO_BOT_APP } from './seed';

export const PKI_DIR = path.resolve(__dirname, '..', '.local', 'pki');
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** Fails early with the fix, instead of a TLS error deep inside MSAL. */
export function assertCaTrusted(): void {
  if (!process.env.NODE_EXTRA_CA_CERTS) {
    throw new Error('Run `npx tsx scripts/prepare-pki.ts` and start jest with NODE_EXTRA_CA_CERTS=.local/pki/ca.pem');
  }
}

export function startTestSim(opts: Partial<SimulatorOptions> = {}): Promise<SimHandle> {
  assertCaTrusted();
  return startSimulator({ port: 0, pkiDir: PKI_DIR, ...opts });
}

export function botAppCredential(sim: SimHandle): ClientSecretCredential {
  return new ClientSecretCredential(sim.tenantId, DEMO_BOT_APP.clientId, DEMO_BOT_APP.clientSecret, {
    authorityHost: sim.authorityHost,
    disableInstanceDiscovery: true,
  });
}

export function oboCredential(sim: SimHandle, userAssertionToken: string): OnBehalfOfCredential {
  // @azure/identity 4.13's OnBehalfOfCredential typings omit disableInstanceDiscovery, but the
  // credential passes it to MSAL; without it MSAL tries instance discovery against the sim and fails.
  const options: OnBehalfOfCredentialSecretOptions & { authorityHost: string; disableInstanceDiscovery: boolean } = {
    tenantId: sim.tenantId,
    clientId: DEMO_BOT_APP.clientId,
    clientSecret: DEMO_BOT_APP.clientSecret,
    userAssertionToken,
    authorityHost: sim.authorityHost,
    disableInstanceDiscovery: true,
  };
  return new OnBehalfOfCredential(options);
}

/** A delegated Graph token for a seeded user, obtained the production way: SSO token, then OBO. */
export async function delegatedGraphToken(sim: SimHandle, user: string): Promise<string> {
  const assertion = await sim.issueUserAssertion(user);
  const t = await oboCredential(sim, assertion).getToken(GRAPH_SCOPE);
  return t.token;
}

export function graphClientWithToken(sim: SimHandle, getToken: () => Promise<string>, version: 'v1.0' | 'beta' = 'v1.0'): Client {
  return Client.init({
    authProvider: (done) => {
      getToken().then(
        (t) => done(null, t),
        (e: Error) => done(e, null),
      );
    },
    baseUrl: `${sim.url}/`,
    defaultVersion: version,
    customHosts: new Set([new URL(sim.url).hostname]),
  });
}

export async function control<T = any>(sim: SimHandle, method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sim.url}${p}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
