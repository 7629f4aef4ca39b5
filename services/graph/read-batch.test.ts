/**
 * Reads made together travel in one Graph JSON batch, and each still gets its own answer: the same body or
 * the same error as made alone; a throttled or failed item, or a failed batch, is made again on its own.
 */
import type { SimHandle } from '../../sim/server';
import { GROUP, ROLE, USER } from '../../sim/seed';
import { botAppCredential, control, startTestSim } from '../../sim/test-support';
import { GraphDirectory } from './directory';
import { createGraphClient } from './graph-client';
import { GraphCallError } from './graph-errors';
import { GraphReadBatch } from './read-batch';

describe('Graph reads made together', () => {
  let sim: SimHandle;
  let directory: GraphDirectory;

  beforeEach(async () => {
    sim = await startTestSim();
    directory = new GraphDirectory(createGraphClient(sim.url, botAppCredential(sim)));
    await control(sim, 'DELETE', '/_sim/calls');
  });
  afterEach(() => sim.close());

  const calls = async () =>
    (await control(sim, 'GET', '/_sim/calls')).body.value as Array<{ method: string; path: string; status: number; batchItemOf?: string }>;
  const overHttp = async () => (await calls()).filter((c) => !c.batchItemOf && /^\/(v1\.0|beta)\//.test(c.path)).map((c) => `${c.method} ${c.path}`);

  it('travel in one $batch request, each answered as it is made alone', async () => {
    const alone = [await directory.user(USER.adele), await directory.user(USER.megan)];
    await control(sim, 'DELETE', '/_sim/calls');
    const batch = directory.readBatch();
    const together = await Promise.all([directory.user(USER.adele, batch), directory.user(USER.megan, batch)]);
    expect(together).toEqual(alone);
    expect(await overHttp()).toEqual(['POST /v1.0/$batch']);
    expect(
      (await calls())
        .filter((c) => c.batchItemOf)
        .map((c) => c.path)
        .sort(),
    ).toEqual([`/v1.0/users/${USER.adele}`, `/v1.0/users/${USER.megan}`].sort());
  });

  it('a read on its own is made directly', async () => {
    await directory.user(USER.adele, directory.readBatch());
    expect(await overHttp()).toEqual([`GET /v1.0/users/${USER.adele}`]);
  });

  it('an item Graph refuses rejects as the read alone would (status, code), and the others are answered', async () => {
    const missing = '00000000-0000-4000-8000-00000000dead';
    const aloneError = await directory.user(missing).catch((e: unknown) => e);
    const batch = directory.readBatch();
    const [found, refused] = await Promise.allSettled([directory.user(USER.adele, batch), directory.user(missing, batch)]);
    expect(found).toMatchObject({ status: 'fulfilled', value: { id: USER.adele } });
    expect(refused.status).toBe('rejected');
    const err = (refused as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(GraphCallError);
    expect(aloneError).toBeInstanceOf(GraphCallError);
    expect({ status: err.status, code: err.code }).toEqual({ status: (aloneError as GraphCallError).status, code: (aloneError as GraphCallError).code });
    expect(err.status).toBe(404);
  });

  it('PIM’s copy of a request absent from PIM is null in a batch too', async () => {
    const ref = {
      kind: 'entraRole',
      roleDefinitionId: ROLE.userAdministrator,
      scope: '/',
      pimRequestId: '00000000-0000-4000-8000-00000000beef',
      principalId: USER.isaiah,
      createdAt: '',
    };
    const batch = directory.readBatch();
    const [copy, user] = await Promise.all([directory.pimRequestCopy(ref, batch), directory.user(USER.isaiah, batch)]);
    expect(copy).toBeNull();
    expect(user.id).toBe(USER.isaiah);
  });

  it('a throttled item is read again on its own, with the client’s retries', async () => {
    await control(sim, 'POST', '/_sim/faults', { method: 'GET', pathPattern: `/users/${USER.megan}$`, status: 429, retryAfterSeconds: 0, times: 1 });
    const batch = directory.readBatch();
    const [adele, megan] = await Promise.all([directory.user(USER.adele, batch), directory.user(USER.megan, batch)]);
    expect([adele.id, megan.id]).toEqual([USER.adele, USER.megan]);
    expect(await overHttp()).toEqual(['POST /v1.0/$batch', `GET /v1.0/users/${USER.megan}`]);
  });

  it('a batch that fails as a whole is made read by read', async () => {
    await control(sim, 'POST', '/_sim/faults', { method: 'POST', pathPattern: '\\$batch', status: 400, times: 1 });
    const batch = new GraphReadBatch(createGraphClient(sim.url, botAppCredential(sim)));
    const reads = [USER.adele, USER.megan].map((id) => batch.read(`/users/${id}?$select=id`, () => directory.user(id)));
    expect((await Promise.all(reads)).map((u) => (u as { id: string }).id)).toEqual([USER.adele, USER.megan]);
    expect((await overHttp()).filter((c) => c.startsWith('GET')).sort()).toEqual([`GET /v1.0/users/${USER.adele}`, `GET /v1.0/users/${USER.megan}`].sort());
  });

  it('expands approver groups side by side, reading a group it was told of alongside the policy', async () => {
    const policy = await directory.approvalPolicy(
      { kind: 'entraRole', roleDefinitionId: ROLE.securityOperator, scope: '/' },
      { groupHint: [GROUP.secOpsApprovers] },
    );
    expect(policy.approverGroupIds).toEqual([GROUP.secOpsApprovers]);
    expect(policy.approverIds).toEqual(expect.arrayContaining([USER.megan, USER.patti, USER.alex]));
    const made = await calls();
    const members = made.find((c) => c.path.includes('/transitiveMembers'))!;
    const rules = made.find((c) => c.path.includes('roleManagementPolicyAssignments'))!;
    // The group was asked for first (it was known), and once only.
    expect(made.indexOf(members)).toBeLessThan(made.indexOf(rules));
    expect(made.filter((c) => c.path.includes('/transitiveMembers'))).toHaveLength(1);
  });
});
