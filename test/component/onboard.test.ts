import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../scripts/onboard/index';
import { directoryApps } from '../../sim/graph-applications';
import { ROLE, USER } from '../../sim/seed';
import type { SimHandle } from '../../sim/server';
import { control, startTestSim } from '../../sim/test-support';
import { ARM_RESOURCE_APP_ID, BOT_PERMISSIONS, GRAPH_RESOURCE_APP_ID } from '../../services/onboarding/permissions';
import { TEAMS_CLIENTS } from '../../services/onboarding/plan';

const ADMIN = 'adelev@contoso.example';
const HOST = 'https://pim-bot.contoso.example';
const ROLES = 'Security Operator,User Administrator';

interface Run {
  code: number;
  out: string;
  err: string;
  writes?: number;
  appId?: string;
}

describe('npm run onboard against the simulated tenant', () => {
  let sim: SimHandle;
  let dir: string;

  beforeAll(async () => {
    sim = await startTestSim();
    dir = await mkdtemp(path.join(tmpdir(), 'onboard-'));
  });
  afterAll(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the CLI in-process; the device code prompt is approved as `as` with the given consented scopes. */
  async function run(args: string[], opts: { as?: string; scopes?: string[] } = {}): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const r = await main(['--tenant', sim.tenantId, '--authority-host', sim.url, '--graph-base-url', sim.url, ...args], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: {},
      cwd: dir,
      onDeviceCode: async (info) => {
        const res = await control(sim, 'POST', '/_sim/entra/device/approve', { userCode: info.userCode, user: opts.as ?? ADMIN, scopes: opts.scopes });
        expect(res.status).toBe(200);
      },
    });
    return { code: r.code, out: out.join('\n'), err: err.join('\n'), writes: r.result?.writes, appId: r.result?.appId };
  }

  /** Graph writes the simulator saw since the call log was last cleared. */
  function graphWrites(): string[] {
    return sim.state.calls.filter((c) => /^\/(v1\.0|beta)\//.test(c.path) && c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
  }

  async function graphGet(p: string): Promise<any> {
    const token = await sim.issueToken({
      aud: 'https://graph.microsoft.com',
      oid: USER.adele,
      idtyp: 'user',
      scp: 'Application.Read.All RoleManagementPolicy.Read.Directory PrivilegedAccess-CustomExt.Read.All',
    });
    const res = await fetch(`${sim.url}${p}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.json();
  }

  async function linkedExtensionOf(roleId: string): Promise<{ customExtensionId: string | null; isEnabled: boolean }> {
    const filter = encodeURIComponent(`scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${roleId}'`);
    const body = await graphGet(`/beta/policies/roleManagementPolicyAssignments?$filter=${filter}&$expand=${encodeURIComponent('policy($expand=rules)')}`);
    return body.value[0].policy.rules.find((r: any) => r.id === 'CustomExtension_PreApproval_EndUser_Assignment');
  }

  it('onboards a tenant from nothing, and a second run changes nothing', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    const first = await run(['--host', HOST, '--roles', ROLES]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const appId = first.appId!;
    expect(appId).toMatch(/^[0-9a-f-]{36}$/);

    // The registration, as Graph now returns it.
    const apps = (await graphGet(`/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`)).value;
    expect(apps).toHaveLength(1);
    const app = apps[0];
    expect(app.displayName).toBe('PIM Approvals Bot');
    expect(app.signInAudience).toBe('AzureADMyOrg');
    expect(app.api.requestedAccessTokenVersion).toBe(2);
    expect(app.identifierUris.sort()).toEqual([`api://botid-${appId}`, `api://pim-bot.contoso.example/${appId}`].sort());
    const scope = app.api.oauth2PermissionScopes.find((s: any) => s.value === 'access_as_user');
    expect(scope).toMatchObject({ isEnabled: true, type: 'User' });
    expect(app.api.preAuthorizedApplications.map((p: any) => p.appId).sort()).toEqual(TEAMS_CLIENTS.map((c) => c.appId).sort());
    for (const p of app.api.preAuthorizedApplications) expect(p.delegatedPermissionIds).toEqual([scope.id]);
    const graphAccess = app.requiredResourceAccess.find((r: any) => r.resourceAppId === GRAPH_RESOURCE_APP_ID).resourceAccess;
    expect(graphAccess).toHaveLength(BOT_PERMISSIONS.filter((p) => p.resource === 'Microsoft Graph').length);
    expect(graphAccess).toContainEqual({ id: '8c026be3-8e26-4774-9372-8d5d6f21daff', type: 'Scope' }); // RoleAssignmentSchedule.ReadWrite.Directory
    expect(graphAccess).toContainEqual({ id: 'df021288-bdef-4463-88db-98f22de89214', type: 'Role' }); // User.Read.All
    expect(app.requiredResourceAccess.find((r: any) => r.resourceAppId === ARM_RESOURCE_APP_ID).resourceAccess).toEqual([
      { id: '41094075-9dad-400e-a0bd-54e686782033', type: 'Scope' },
    ]);
    expect(app.web.redirectUris).toContain('https://token.botframework.com/.auth/web/redirect');
    expect(app.passwordCredentials).toHaveLength(1);
    expect((await graphGet(`/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}`)).value).toHaveLength(1);

    // The custom extension and the policies that call it.
    const exts = (await graphGet('/beta/identityGovernance/privilegedAccess/customExtensions')).value;
    expect(exts).toHaveLength(1);
    expect(exts[0]).toMatchObject({
      '@odata.type': '#microsoft.graph.roleManagementCustomCalloutExtension',
      displayName: 'PIM Approvals Bot decision endpoint',
      endpointConfiguration: { '@odata.type': '#microsoft.graph.httpRequestEndpoint', targetUrl: `${HOST}/api/pim/evaluate` },
      authenticationConfiguration: { '@odata.type': '#microsoft.graph.azureAdTokenAuthentication', resourceId: `api://pim-bot.contoso.example/${appId}` },
      clientConfiguration: { timeoutInMilliseconds: 10000, maximumRetries: 3 },
    });
    for (const role of [ROLE.securityOperator, ROLE.userAdministrator])
      expect(await linkedExtensionOf(role)).toMatchObject({ customExtensionId: exts[0].id, isEnabled: true });
    expect((await linkedExtensionOf(ROLE.helpdeskAdministrator)).isEnabled).toBe(false);

    // The secret went to a file only its owner can read, and nowhere in the output.
    const secretFile = path.join(dir, '.local/onboard/bot-app-secret.env');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = /BOT_APP_SECRET=(\S+)/.exec(await readFile(secretFile, 'utf8'))![1]!;
    expect(secret.length).toBeGreaterThan(20);
    expect(first.out).not.toContain(secret);
    expect(first.out).toContain(`/${sim.tenantId}/adminconsent?client_id=${appId}`);
    expect(first.out).toContain(`PIM_ENDPOINT_APP_ID_URI=api://pim-bot.contoso.example/${appId}`);
    expect(first.out).toContain(`BOT_APP_ID=${appId}`);
    expect(first.writes).toBe(graphWrites().length);

    // Second run: reads only.
    await control(sim, 'DELETE', '/_sim/calls');
    const second = await run(['--host', HOST, '--roles', ROLES]);
    expect(second.code).toBe(0);
    expect(second.writes).toBe(0);
    expect(graphWrites()).toEqual([]);
    expect(second.out).toContain('nothing to change');
    expect(second.out).not.toMatch(/\b(create|update) {2,}/);
    expect(directoryApps(sim.state).apps.size).toBe(1);
  });

  it('moves the decision endpoint to a new host without a new secret, and rotates the secret only when asked', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    const moved = await run(['--host', 'https://approvals.contoso.example', '--roles', ROLES]);
    expect(moved.code).toBe(0);
    const appId = moved.appId!;
    expect(graphWrites().sort()).toEqual(
      [
        `PATCH /beta/identityGovernance/privilegedAccess/customExtensions/${(await graphGet('/beta/identityGovernance/privilegedAccess/customExtensions')).value[0].id}`,
        `PATCH /v1.0/applications/${[...directoryApps(sim.state).apps.values()][0]!.id}`,
      ].sort(),
    );
    const app = [...directoryApps(sim.state).apps.values()][0]!;
    expect(app.identifierUris.sort()).toEqual([`api://approvals.contoso.example/${appId}`, `api://botid-${appId}`].sort());
    expect(app.passwordCredentials).toHaveLength(1);

    await control(sim, 'DELETE', '/_sim/calls');
    const rotated = await run(['--host', 'https://approvals.contoso.example', '--roles', ROLES, '--rotate-secret']);
    expect(rotated.code).toBe(0);
    expect(graphWrites()).toEqual([`POST /v1.0/applications/${app.id}/addPassword`]);
    expect(app.passwordCredentials).toHaveLength(2);
  });

  it('--dry-run lists every read and write and changes nothing', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    const before = directoryApps(sim.state).apps.size;
    const dry = await run(['--host', HOST, '--roles', 'Helpdesk Administrator', '--app-name', 'Dry Run Bot', '--dry-run']);
    expect(dry.err).toBe('');
    expect(dry.code).toBe(0);
    expect(graphWrites()).toEqual([]);
    expect(directoryApps(sim.state).apps.size).toBe(before);
    expect(dry.out).toContain("GET /v1.0/applications?$filter=displayName eq 'Dry Run Bot'");
    expect(dry.out).toContain(`GET /v1.0/roleManagement/directory/roleDefinitions?$filter=displayName eq 'Helpdesk Administrator'`);
    expect(dry.out).toContain('GET /beta/identityGovernance/privilegedAccess/customExtensions');
    expect(dry.out).toContain('POST /v1.0/applications {"displayName":"Dry Run Bot"');
    expect(dry.out).toContain('PATCH /v1.0/applications/{appObjectId} {"identifierUris":["api://botid-{appId}","api://pim-bot.contoso.example/{appId}"]}');
    expect(dry.out).toContain('POST /v1.0/servicePrincipals');
    expect(dry.out).toContain('POST /v1.0/applications/{appObjectId}/addPassword');
    expect(dry.out).toContain('POST /beta/identityGovernance/privilegedAccess/customExtensions');
    expect(dry.out).toMatch(/PATCH \/beta\/policies\/roleManagementPolicies\/\S+\/rules\/CustomExtension_PreApproval_EndUser_Assignment/);
    expect(dry.out).toContain('Dry run: nothing was changed.');
  });

  it('refuses bad input with the flag to fix', async () => {
    const noHost = await run(['--roles', ROLES]);
    expect(noHost.code).toBe(2);
    expect(noHost.err).toContain('required: --host');
    const plainHttp = await run(['--host', 'http://pim-bot.contoso.example', '--roles', ROLES]);
    expect(plainHttp.code).toBe(2);
    expect(plainHttp.err).toContain('--host: PIM calls the decision endpoint over HTTPS only');
    const shortTimeout = await run(['--host', HOST, '--roles', ROLES, '--timeout-ms', '2000']);
    expect(shortTimeout.code).toBe(2);
    expect(shortTimeout.err).toContain('--timeout-ms: must exceed');
    const shortcutInProduction = await main(['--tenant', sim.tenantId, '--host', HOST, '--roles', ROLES, '--sim-approve-as', ADMIN], {
      out: () => {},
      err: (l) => (noHost.err = l),
      env: {},
    });
    expect(shortcutInProduction.code).toBe(2);
    expect(noHost.err).toContain('--sim-approve-as: only for the local simulator');
    const unknownRole = await run(['--host', HOST, '--roles', 'Chief Coffee Officer', '--dry-run']);
    expect(unknownRole.code).toBe(1);
    expect(unknownRole.err).toContain("no Entra role is named 'Chief Coffee Officer'");
  });

  it('stops with a clear message when the admin did not consent to every scope it needs', async () => {
    await control(sim, 'DELETE', '/_sim/calls');
    const r = await run(['--host', HOST, '--roles', ROLES, '--app-name', 'Consent Bot'], {
      scopes: ['Application.ReadWrite.All', 'RoleManagement.Read.Directory'],
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain('The sign-in lacks PrivilegedAccess-CustomExt.ReadWrite.All, RoleManagementPolicy.ReadWrite.Directory');
    expect(graphWrites()).toEqual([]);
  });

  it("the simulated Graph refuses each onboarding write without its permission, in Graph's error shape", async () => {
    const token = await sim.issueToken({ aud: 'https://graph.microsoft.com', oid: USER.adele, idtyp: 'user', scp: 'Application.ReadWrite.All' });
    const res = await fetch(`${sim.url}/beta/identityGovernance/privilegedAccess/customExtensions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ '@odata.type': '#microsoft.graph.roleManagementCustomCalloutExtension', displayName: 'x' }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'Authorization_RequestDenied',
        message: expect.stringContaining('PrivilegedAccess-CustomExt.ReadWrite.All'),
        innerError: { 'request-id': expect.any(String) },
      },
    });
  });

  it('runs as a command: npx tsx scripts/onboard/index.ts --dry-run', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      [
        'tsx',
        path.join(__dirname, '../../scripts/onboard/index.ts'),
        '--dry-run',
        '--tenant',
        sim.tenantId,
        '--host',
        HOST,
        '--roles',
        'Reports Reader',
        '--app-name',
        'Spawned Bot',
        '--authority-host',
        sim.url,
        '--graph-base-url',
        sim.url,
        '--sim-approve-as',
        ADMIN,
      ],
      { cwd: dir, env: { ...process.env, NODE_EXTRA_CA_CERTS: path.resolve(process.env.NODE_EXTRA_CA_CERTS!) }, timeout: 60_000 },
    );
    expect(stdout).toContain('To sign in, use a web browser');
    expect(stdout).toContain("GET /v1.0/applications?$filter=displayName eq 'Spawned Bot'");
    expect(stdout).toContain('Dry run: nothing was changed.');
  });
});
