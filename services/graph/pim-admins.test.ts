import type { SimHandle } from '../../sim/server';
import { AZURE, GROUP, ROLE, USER, seedTenant, type SeedTenant } from '../../sim/seed';
import { botAppCredential, control, startTestSim } from '../../sim/test-support';
import { ArmAzureReads, ArmClient } from './arm';
import { GraphDirectory } from './directory';
import { createGraphClient } from './graph-client';
import { GraphPimAdministrators, mergePeople } from './pim-admins';

describe('who administers a PIM target, and PIM’s default approvers', () => {
  let sim: SimHandle;
  let admins: GraphPimAdministrators;
  let directory: GraphDirectory;

  async function start(seed?: SeedTenant) {
    sim = await startTestSim(seed ? { seed } : {});
    const credential = botAppCredential(sim);
    const graph = createGraphClient(sim.url, credential);
    const arm = new ArmClient(`${sim.url}/arm`, credential);
    admins = new GraphPimAdministrators(graph, arm);
    directory = new GraphDirectory(graph, new ArmAzureReads(arm, (id) => directory.groupMembers(id)));
  }
  afterEach(() => sim.close());

  it('Entra roles: the Privileged Role Administrators and Global Administrators who hold the role now', async () => {
    await start();
    expect(await admins.of({ kind: 'entraRole', roleDefinitionId: ROLE.userAdministrator, scope: '/' })).toEqual({
      ids: [USER.diego, USER.adele],
      names: ['Diego Siciliani', 'Adele Vance'],
    });
    // Isaiah activates Global Administrator (Megan approves): an administrator while it runs.
    const filed = await control(sim, 'POST', '/_sim/requests', {
      principal: USER.isaiah,
      role: 'Global Administrator',
      justification: 'Break-glass check for INC0012345',
      ticketNumber: 'INC0012345',
    });
    expect(
      (await control(sim, 'POST', '/_sim/decide', { requestId: filed.body.id, approver: USER.megan, reviewResult: 'Approve', justification: 'ok' })).status,
    ).toBe(200);
    expect((await admins.of({ kind: 'entraRole', roleDefinitionId: ROLE.userAdministrator, scope: '/' })).ids).toEqual([USER.diego, USER.adele, USER.isaiah]);
  });

  it('PIM for Groups: the owners and Global Administrators; Privileged Role Administrators only for role-assignable groups', async () => {
    await start();
    expect(await admins.of({ kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins })).toEqual({
      ids: [USER.megan, USER.adele],
      names: ['Megan Bowen', 'Adele Vance'],
    });
    await sim.close();
    const seed: SeedTenant = structuredClone(seedTenant);
    seed.groups.find((g) => g.id === GROUP.sqlAdmins)!.isAssignableToRole = true;
    await start(seed);
    expect((await admins.of({ kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins })).ids).toEqual([USER.megan, USER.diego, USER.adele]);
  });

  it('Azure resources: Owners and User Access Administrators at the scope or above it, groups expanded', async () => {
    const seed: SeedTenant = structuredClone(seedTenant);
    seed.azureRoleAssignments!.push(
      {
        scope: `${AZURE.subscription}/resourceGroups/payroll`,
        roleDefinitionId: AZURE.userAccessAdministrator,
        principalId: GROUP.secOpsApprovers,
        principalType: 'Group',
      },
      // Contributor does not manage role assignments.
      { scope: AZURE.subscription, roleDefinitionId: AZURE.contributor, principalId: USER.lynne, principalType: 'User' },
    );
    await start(seed);
    expect(await admins.of({ kind: 'azureResource', roleDefinitionId: AZURE.contributor, scope: `${AZURE.subscription}/resourceGroups/payroll` })).toEqual({
      ids: [USER.diego, USER.megan, USER.patti],
      names: ['Diego Siciliani', 'Megan Bowen', 'Patti Fernandez'],
    });
    // At the subscription, the resource group's User Access Administrators do not count.
    expect((await admins.of({ kind: 'azureResource', roleDefinitionId: AZURE.contributor, scope: AZURE.subscription })).ids).toEqual([USER.diego]);
  });

  it('fails closed: a read that fails rejects', async () => {
    await start();
    expect(
      (await control(sim, 'POST', '/_sim/faults', { pathPattern: '^/v1\\.0/roleManagement/directory/roleAssignments', status: 403, times: 10 })).status,
    ).toBe(201);
    await expect(admins.of({ kind: 'entraRole', roleDefinitionId: ROLE.userAdministrator, scope: '/' })).rejects.toMatchObject({ status: 403 });
    await expect(directory.approvalPolicy({ kind: 'entraRole', roleDefinitionId: ROLE.authenticationAdministrator, scope: '/' })).rejects.toMatchObject({
      status: 403,
    });
  });

  it("a policy that requires approval and names nobody: PIM's default approvers, by name of role", async () => {
    await start();
    const policy = await directory.approvalPolicy({ kind: 'entraRole', roleDefinitionId: ROLE.authenticationAdministrator, scope: '/' });
    expect(policy).toMatchObject({
      isApprovalRequired: true,
      approverIds: [USER.diego, USER.adele],
      approverNames: ['Privileged Role Administrators', 'Global Administrators'],
      escalationApproverIds: [],
      escalationTimeInMinutes: null,
    });
    expect((await directory.activationPolicy({ kind: 'entraRole', roleDefinitionId: ROLE.authenticationAdministrator, scope: '/' })).approverIds).toEqual([
      USER.diego,
      USER.adele,
    ]);
    // A policy that names approvers keeps them, with its escalation time.
    expect(await directory.approvalPolicy({ kind: 'entraRole', roleDefinitionId: ROLE.userAdministrator, scope: '/' })).toMatchObject({
      approverIds: [USER.adele, USER.megan],
      escalationApproverIds: [USER.alex],
      escalationTimeInMinutes: 720,
    });
    // PIM for Groups documents no default approvers: nobody.
    await sim.close();
    const seed: SeedTenant = structuredClone(seedTenant);
    seed.pimGroups![0]!.policy.primaryApprovers = [];
    await start(seed);
    expect(await directory.approvalPolicy({ kind: 'group', roleDefinitionId: 'member', scope: GROUP.sqlAdmins })).toMatchObject({
      approverIds: [],
      approverNames: [],
    });
  });

  it('merges people in order, each once', () => {
    expect(
      mergePeople([
        [
          { id: 'a', name: 'A' },
          { id: 'b', name: 'B' },
        ],
        [
          { id: 'b', name: 'B again' },
          { id: 'c', name: 'C' },
        ],
      ]),
    ).toEqual({ ids: ['a', 'b', 'c'], names: ['A', 'B', 'C'] });
  });
});
