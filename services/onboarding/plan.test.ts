import { OnboardingError } from './graph-port';
import { APP_ID, APP_OBJECT_ID, CUSTOM_EXTENSION_RULE_ID, planOnboarding, resolveCall, type CurrentState, type Desired } from './plan';

const desired: Desired = {
  appName: 'PIM Approvals Bot',
  host: 'https://pim-bot.contoso.com',
  extensionName: 'PIM Approvals Bot decision endpoint',
  timeoutMs: 10_000,
  maxRetries: 3,
  credential: { kind: 'secret', displayName: 'PIM Approvals Bot (npm run onboard)', rotate: false },
  replaceLinkedExtension: false,
};
const APP = '11111111-2222-4333-8444-555555555555';
const OBJ = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const now = new Date('2026-05-01T00:00:00Z');
let n = 0;
const ids = () => ({ now, newGuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` });
const empty: CurrentState = {
  app: null,
  servicePrincipalExists: false,
  extension: null,
  policies: [{ roleId: 'r1', roleName: 'Security Operator', policyId: 'p1', rule: { customExtensionId: null, isEnabled: false } }],
};

describe('the onboarding plan', () => {
  it('creates the registration first and sets its identifier URIs once the client id exists', () => {
    const plan = planOnboarding(desired, empty, ids());
    const calls = plan.changes.filter((c) => c.call).map((c) => `${c.call!.method} ${c.call!.path}`);
    expect(calls).toEqual([
      'POST /v1.0/applications',
      `PATCH /v1.0/applications/${APP_OBJECT_ID}`,
      'POST /v1.0/servicePrincipals',
      `POST /v1.0/applications/${APP_OBJECT_ID}/addPassword`,
      'POST /beta/identityGovernance/privilegedAccess/customExtensions',
      `PATCH /beta/policies/roleManagementPolicies/p1/rules/${CUSTOM_EXTENSION_RULE_ID}`,
    ]);
    const create = plan.changes[0]!.call!.body as any;
    expect(create.api.requestedAccessTokenVersion).toBe(2);
    expect(create.identifierUris).toBeUndefined();
    const uris = resolveCall(plan.changes[1]!.call!, { appId: APP, appObjectId: OBJ });
    expect(uris).toEqual({
      method: 'PATCH',
      path: `/v1.0/applications/${OBJ}`,
      body: { identifierUris: [`api://botid-${APP}`, `api://pim-bot.contoso.com/${APP}`] },
    });
    const ext = plan.changes.find((c) => c.resource === 'PIM custom extension')!.call!.body as any;
    expect(ext.authenticationConfiguration.resourceId).toBe(`api://pim-bot.contoso.com/${APP_ID}`);
    const rule = plan.changes.at(-1)!.call!.body as any;
    expect(rule).toMatchObject({ customExtensionId: ext.id, isEnabled: true });
  });

  it('on an existing v1 registration, switches to v2 tokens before it adds the host-based URI', () => {
    const plan = planOnboarding(
      desired,
      {
        ...empty,
        servicePrincipalExists: true,
        app: {
          id: OBJ,
          appId: APP,
          displayName: 'PIM Approvals Bot',
          identifierUris: [`api://${APP}`, `api://old-host.contoso.com/${APP}`],
          api: { requestedAccessTokenVersion: null },
          passwordCredentials: [{ keyId: 'k', displayName: desired.credential.displayName, endDateTime: '2026-09-01T00:00:00Z' }],
        },
      },
      ids(),
    );
    const appCalls = plan.changes.filter((c) => c.call?.path === `/v1.0/applications/${OBJ}`).map((c) => Object.keys(c.call!.body as object));
    expect(appCalls).toEqual([['api'], ['requiredResourceAccess', 'web'], ['identifierUris']]);
    const uris = plan.changes.find((c) => c.resource === 'Application ID URIs')!.call!.body as any;
    // The old decision endpoint URI goes; the default api://<appId> stays.
    expect(uris.identifierUris.sort()).toEqual([`api://${APP}`, `api://botid-${APP}`, `api://pim-bot.contoso.com/${APP}`].sort());
    expect(plan.changes.find((c) => c.resource === 'client secret')!.action).toBe('unchanged');
    expect(plan.changes.find((c) => c.resource === 'service principal')!.action).toBe('unchanged');
  });

  it('adds a secret when ours has expired, or on --rotate-secret', () => {
    const app = {
      id: OBJ,
      appId: APP,
      displayName: 'x',
      passwordCredentials: [{ keyId: 'k', displayName: desired.credential.displayName, endDateTime: '2026-04-01T00:00:00Z' }],
    };
    expect(planOnboarding(desired, { ...empty, app }, ids()).changes.find((c) => c.resource === 'client secret')!.action).toBe('create');
    const valid = { ...app, passwordCredentials: [{ ...app.passwordCredentials[0]!, endDateTime: '2027-01-01T00:00:00Z' }] };
    expect(planOnboarding(desired, { ...empty, app: valid }, ids()).changes.find((c) => c.resource === 'client secret')!.action).toBe('unchanged');
    const rotate = { ...desired, credential: { ...desired.credential, rotate: true } as Desired['credential'] };
    expect(planOnboarding(rotate, { ...empty, app: valid }, ids()).changes.find((c) => c.resource === 'client secret')!.action).toBe('create');
  });

  it('will not take over a role that already calls another custom extension unless told to', () => {
    const taken: CurrentState = {
      ...empty,
      policies: [{ roleId: 'r1', roleName: 'Security Operator', policyId: 'p1', rule: { customExtensionId: 'someone-elses', isEnabled: true } }],
    };
    expect(() => planOnboarding(desired, taken, ids())).toThrow(OnboardingError);
    expect(() => planOnboarding(desired, taken, ids())).toThrow(/--replace-linked-extension/);
    const plan = planOnboarding({ ...desired, replaceLinkedExtension: true }, taken, ids());
    expect(plan.changes.at(-1)!.action).toBe('update');
  });

  it('uploads a certificate only when the registration has no other one', () => {
    const cert = { kind: 'certificate' as const, displayName: 'c', base64Der: 'MIIB', thumbprint: 'dGh1bWI=', notAfter: '2027-01-01T00:00:00Z' };
    const app = { id: OBJ, appId: APP, displayName: 'x', keyCredentials: [] };
    expect(planOnboarding({ ...desired, credential: cert }, { ...empty, app }, ids()).changes.find((c) => c.resource === 'certificate')!.call!.body).toEqual({
      keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: 'MIIB', displayName: 'c' }],
    });
    const ours = { ...app, keyCredentials: [{ keyId: 'k', displayName: 'c', customKeyIdentifier: 'dGh1bWI=', endDateTime: '2027-01-01T00:00:00Z' }] };
    expect(planOnboarding({ ...desired, credential: cert }, { ...empty, app: ours }, ids()).changes.find((c) => c.resource === 'certificate')!.action).toBe(
      'unchanged',
    );
    const other = { ...app, keyCredentials: [{ ...ours.keyCredentials[0]!, customKeyIdentifier: 'b3RoZXI=' }] };
    expect(() => planOnboarding({ ...desired, credential: cert }, { ...empty, app: other }, ids())).toThrow(/already has 1 other certificate/);
  });
});
