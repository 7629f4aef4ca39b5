import type { Client } from '@microsoft/microsoft-graph-client';
import type { SimHandle } from '../../sim/server';
import { USER } from '../../sim/seed';
import { botAppCredential, control, startTestSim } from '../../sim/test-support';
import { createGraphClient } from './graph-client';
import { readRequestStatuses, retryAfterMs } from './pim-requests';

const REQ = '/roleManagement/directory/roleAssignmentScheduleRequests';
const unknownId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

describe('reading PIM request statuses in JSON batches', () => {
  let sim: SimHandle;
  let graph: Client;
  let waits: number[];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };
  const signal = () => new AbortController().signal;

  beforeEach(async () => {
    sim = await startTestSim();
    graph = createGraphClient(sim.url, botAppCredential(sim));
    waits = [];
  });
  afterEach(() => sim.close());

  async function pending(principal: string): Promise<string> {
    const created = await control(sim, 'POST', '/_sim/requests', { principal, role: 'User Administrator', justification: 'Reading statuses for INC0012345' });
    expect(created.body.status).toBe('PendingApproval');
    return created.body.id as string;
  }

  async function batchCalls(): Promise<Array<{ status: number; items: number }>> {
    const calls = (await control(sim, 'GET', '/_sim/calls')).body.value as any[];
    const outer = calls.filter((c) => c.path === '/v1.0/$batch');
    // Each item names its batch's request-id; batches in the order they arrived.
    const out = outer.map((b) => ({ status: b.status as number, items: calls.filter((c) => c.batchItemOf === b.requestId).length }));
    expect(out).toHaveLength(outer.length);
    return out;
  }

  it('reads 45 requests in three batches of at most 20, correlating answers by id', async () => {
    const real = [await pending(USER.isaiah), await pending(USER.lynne), await pending(USER.patti)];
    await control(sim, 'POST', '/_sim/decide', { requestId: real[1], approver: USER.adele, reviewResult: 'Deny', justification: 'Not today' });
    const ids = [...real, ...Array.from({ length: 42 }, (_, i) => unknownId(i))];
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, ids, signal(), { sleep });
    expect(reads.size).toBe(45);
    expect(reads.get(real[0]!)).toEqual({ status: 'PendingApproval' });
    expect(reads.get(real[1]!)).toEqual({ status: 'Denied' });
    expect(reads.get(real[2]!)).toEqual({ status: 'PendingApproval' });
    expect(reads.get(unknownId(41))).toEqual({ error: { status: 404, code: 'NotFound' } });
    expect(await batchCalls()).toEqual([
      { status: 200, items: 20 },
      { status: 200, items: 20 },
      { status: 200, items: 5 },
    ]);
    expect(waits).toEqual([]);
  });

  it('retries only the throttled items, after their Retry-After', async () => {
    const a = await pending(USER.isaiah);
    const b = await pending(USER.lynne);
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${b}`, status: 429, retryAfterSeconds: 2, times: 1 });
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, [a, b], signal(), { sleep });
    expect(reads.get(a)).toEqual({ status: 'PendingApproval' });
    expect(reads.get(b)).toEqual({ status: 'PendingApproval' });
    expect(waits).toEqual([2000]);
    expect(await batchCalls()).toEqual([
      { status: 200, items: 2 },
      { status: 200, items: 1 },
    ]);
  });

  it('waits out a throttled batch as a whole', async () => {
    const a = await pending(USER.isaiah);
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '\\$batch', status: 429, retryAfterSeconds: 3, times: 1 });
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, [a], signal(), { sleep });
    expect(reads.get(a)).toEqual({ status: 'PendingApproval' });
    expect(waits).toEqual([3000]);
    expect((await batchCalls()).map((c) => c.status)).toEqual([429, 200]);
  });

  it('gives up on a failing Graph at once: no retry of a 500, no further batches', async () => {
    const ids = Array.from({ length: 45 }, (_, i) => unknownId(i));
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '\\$batch', status: 500 });
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, ids, signal(), { sleep, concurrency: 1 });
    expect(reads.size).toBe(45);
    expect([...reads.values()].every((r) => 'error' in r && r.error.status === 500 && r.error.code === 'InternalServerError')).toBe(true);
    expect((await batchCalls()).map((c) => c.status)).toEqual([500]);
    expect(waits).toEqual([]);
  });

  it('reads several batches at once, and sends none after one fails for good beyond those already in flight', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => unknownId(i)); // 10 batches
    await control(sim, 'POST', '/_sim/faults', { pathPattern: '\\$batch', status: 500 });
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, ids, signal(), { sleep, concurrency: 3 });
    expect(reads.size).toBe(200);
    expect([...reads.values()].every((r) => 'error' in r && r.error.status === 500)).toBe(true);
    expect((await batchCalls()).map((c) => c.status)).toEqual([500, 500, 500]);
  });

  it('with batches in flight at once, still reads every request', async () => {
    const ids = [...Array.from({ length: 70 }, (_, i) => unknownId(i))];
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, ids, signal(), { sleep, concurrency: 3 });
    expect(reads.size).toBe(70);
    expect([...reads.values()].every((r) => 'error' in r && r.error.status === 404)).toBe(true);
    expect((await batchCalls()).length).toBe(4);
  });

  it('caps retries of an item that stays unavailable and reports it unread', async () => {
    const a = await pending(USER.isaiah);
    const b = await pending(USER.lynne);
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${b}`, status: 503 });
    await control(sim, 'DELETE', '/_sim/calls');
    const reads = await readRequestStatuses(graph, [a, b], signal(), { sleep });
    expect(reads.get(a)).toEqual({ status: 'PendingApproval' });
    expect(reads.get(b)).toEqual({ error: { status: 503, code: 'ServiceUnavailable' } });
    // No Retry-After: exponential backoff with jitter, three retries.
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(1000 * 2 ** i);
    });
    expect((await batchCalls()).map((c) => c.items)).toEqual([2, 1, 1, 1]);
  });

  it('does not sit out a Retry-After longer than its cap; the next run reads the item', async () => {
    const a = await pending(USER.isaiah);
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${a}`, status: 429, retryAfterSeconds: 600, times: 1 });
    const reads = await readRequestStatuses(graph, [a], signal(), { sleep });
    expect(reads.get(a)).toEqual({ error: { status: 429, code: 'TooManyRequests' } });
    expect(waits).toEqual([]);
  });

  it('stops when the caller aborts', async () => {
    const a = await pending(USER.isaiah);
    await control(sim, 'POST', '/_sim/faults', { pathPattern: `${REQ}/${a}`, status: 429, retryAfterSeconds: 5 });
    const stop = new AbortController();
    const reading = readRequestStatuses(graph, [a], stop.signal);
    setTimeout(() => stop.abort(), 300);
    await expect(reading).rejects.toBeDefined();
  });
});

describe('Retry-After', () => {
  it.each([
    ['7', 7000],
    [' 0 ', 0],
    ['', null],
    ['soon', null],
  ])('reads %j', (value, expected) => {
    expect(retryAfterMs(value)).toBe(expected);
  });

  it('reads an HTTP date', () => {
    const now = Date.parse('2025-03-02T08:00:00Z');
    expect(retryAfterMs('Sun, 02 Mar 2025 08:00:05 GMT', now)).toBe(5000);
  });
});
