import { createHash } from 'node:crypto';
import { canonicalJson, chainHash, GENESIS_HASH } from './canonical';
import { boundedDetails, chainRow } from './audit-trail';

describe('the canonical form the chain hashes', () => {
  it('sorts keys at every level and writes no whitespace, whatever order the object was built in', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', true], c: null } })).toBe('{"a":{"c":null,"d":[1,"x",true]},"b":1}');
    expect(canonicalJson({ a: { c: null, d: [1, 'x', true] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [1, 'x', true], c: null } }));
  });

  it('orders keys by UTF-16 code units (as RFC 8785 does), not by locale', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, a: 4 })).toBe('{"Z":3,"a":4,"z":2,"é":1}');
  });

  it('leaves out undefined members, writes undefined array slots as null, and escapes strings as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 'line\n"quoted"'] })).toBe('{"b":[null,"line\\n\\"quoted\\""]}');
  });

  it('refuses values JSON cannot carry faithfully instead of changing them', () => {
    expect(() => canonicalJson({ n: NaN })).toThrow(/no form for NaN/);
    expect(() => canonicalJson({ n: Infinity })).toThrow(/no form/);
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/plain objects only, not Date/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });

  it('hashes the previous hash followed by the canonical row', () => {
    const fields = {
      seq: 1,
      at: '2026-11-23T09:00:00.000Z',
      kind: 'evaluation',
      actor: 'u1',
      pimRequestId: 'p1',
      requestId: null,
      evaluationId: 'e1',
      outcome: 'Approved',
      details: { z: 1, a: 2 },
    };
    const expected = createHash('sha256')
      .update(
        `${GENESIS_HASH}{"actor":"u1","at":"2026-11-23T09:00:00.000Z","details":{"a":2,"z":1},"evaluationId":"e1","kind":"evaluation","outcome":"Approved","pimRequestId":"p1","requestId":null,"seq":1}`,
      )
      .digest('hex');
    expect(chainHash(GENESIS_HASH, fields)).toBe(expected);
    expect(chainHash('f'.repeat(64), fields)).not.toBe(expected);
  });

  it('builds a row whose columns are what the hash covers', () => {
    const row = chainRow(
      { seq: 41, hash: 'a'.repeat(64) },
      { kind: 'nudge', actor: 'bot', requestId: 'r1', outcome: 'sent', details: { index: 2 }, at: new Date('2026-11-23T10:00:00Z') },
    );
    expect(row).toMatchObject({
      seq: 42,
      prev_hash: 'a'.repeat(64),
      at: '2026-11-23T10:00:00.000Z',
      pim_request_id: null,
      evaluation_id: null,
      details: '{"index":2}',
    });
    expect(row.hash).toBe(
      chainHash('a'.repeat(64), {
        seq: 42,
        at: row.at,
        kind: 'nudge',
        actor: 'bot',
        pimRequestId: null,
        requestId: 'r1',
        evaluationId: null,
        outcome: 'sent',
        details: { index: 2 },
      }),
    );
  });
});

describe('what details may hold', () => {
  it('refuses credential-looking keys anywhere in the details', () => {
    expect(() => boundedDetails({ accessToken: 'eyJ...' })).toThrow(/accessToken.*credentials never/);
    expect(() => boundedDetails({ graph: { Authorization: 'Bearer x' } })).toThrow(/graph\.Authorization/);
    expect(() => boundedDetails({ clientSecret: 'x' })).toThrow(/clientSecret/);
  });

  it('cuts very long strings with a marker and keeps justification-sized text whole', () => {
    const justification = 'Verified with the CFO by phone, INC0012345';
    const out = boundedDetails({ justification, blob: 'x'.repeat(10_000) }) as Record<string, string>;
    expect(out.justification).toBe(justification);
    expect(out.blob!.length).toBeLessThan(4100);
    expect(out.blob).toMatch(/\[cut at 4000 characters\]$/);
  });

  it('drops undefined members so the stored form and the hashed form are the same', () => {
    expect(boundedDetails({ a: undefined, b: 1 })).toEqual({ b: 1 });
  });
});
