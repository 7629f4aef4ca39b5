import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BOT_PERMISSIONS, renderPermissionsMarkdown, requiredResourceAccess, RSC_PERMISSIONS } from './permissions';

describe('the permissions list', () => {
  it('is what docs/permissions.md says (regenerate with npx tsx scripts/onboard/permissions-doc.ts)', () => {
    expect(readFileSync(path.resolve(__dirname, '../../docs/permissions.md'), 'utf8')).toBe(renderPermissionsMarkdown());
  });

  it('names each permission once per kind, with a GUID and a reason', () => {
    const keys = BOT_PERMISSIONS.map((p) => `${p.resource}/${p.kind}/${p.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(BOT_PERMISSIONS.map((p) => p.id)).size).toBe(BOT_PERMISSIONS.length);
    for (const p of BOT_PERMISSIONS) {
      expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(p.why.length).toBeGreaterThan(10);
    }
  });

  it('covers every Graph permission the simulator grants the demo bot, and the ones in flight', () => {
    const names = (kind: string) => BOT_PERMISSIONS.filter((p) => p.kind === kind && p.resource === 'Microsoft Graph').map((p) => p.name);
    const serverSource = readFileSync(path.resolve(__dirname, '../../sim/server.ts'), 'utf8');
    const listed = (constName: string) => {
      const body = new RegExp(`const ${constName} = \\[([\\s\\S]*?)\\];`).exec(serverSource)![1]!;
      return [...body.matchAll(/'([A-Za-z.]+)'/g)].map((m) => m[1]!);
    };
    for (const n of listed('BOT_GRAPH_APP_ROLES')) expect(names('application')).toContain(n);
    for (const n of listed('BOT_GRAPH_DELEGATED')) expect(names('delegated')).toContain(n);
    // Resource-specific consent comes from the Teams app manifest, not the registration.
    expect(listed('BOT_RSC_ROLES')).toEqual(RSC_PERMISSIONS.map((p) => p.name));
    expect(names('application')).toEqual(expect.arrayContaining(['IdentityRiskyUser.Read.All', 'IdentityRiskEvent.Read.All', 'Presence.Read.All']));
  });

  it('becomes requiredResourceAccess: app roles as Role, scopes as Scope, one entry per API', () => {
    const rra = requiredResourceAccess();
    expect(rra.map((r) => r.resourceAppId)).toEqual(['00000003-0000-0000-c000-000000000000', '797f4846-ba00-4fd7-ba43-dac1f8f63013']);
    expect(rra[0]!.resourceAccess).toContainEqual({ id: 'df021288-bdef-4463-88db-98f22de89214', type: 'Role' });
    expect(rra[0]!.resourceAccess).toContainEqual({ id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'Scope' });
  });
});
