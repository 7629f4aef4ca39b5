import { chainRow, type AuditEntry } from './audit-trail';
import { chainHash, GENESIS_HASH } from './canonical';
import { chainedFieldsOf, formatAnchor, parseAnchor, verifyChain, type AuditRow } from './verify-chain';

function entry(i: number): AuditEntry {
  return {
    kind: 'card.decision',
    actor: `approver-${i}`,
    pimRequestId: `pim-${i}`,
    requestId: `req-${i}`,
    evaluationId: `eval-${i}`,
    outcome: i % 2 ? 'Approve' : 'Deny',
    details: { justification: `reason ${i}` },
    at: new Date(Date.UTC(2026, 10, 23, 9, i)),
  };
}

function chain(n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = { seq: 0, hash: GENESIS_HASH };
  for (let i = 1; i <= n; i += 1) {
    const row = chainRow(prev, entry(i));
    rows.push(row);
    prev = { seq: row.seq, hash: row.hash };
  }
  return rows;
}

/** Recomputes every hash from `from` on, as someone covering an edit would. */
function rehash(rows: AuditRow[], from: number): AuditRow[] {
  const out = rows.map((r) => ({ ...r }));
  for (let i = from; i < out.length; i += 1) {
    out[i]!.prev_hash = i === 0 ? GENESIS_HASH : out[i - 1]!.hash;
    out[i]!.hash = chainHash(out[i]!.prev_hash, chainedFieldsOf(out[i]!));
  }
  return out;
}

describe('verifying the chain', () => {
  it('passes an untouched chain and reports its length and head', () => {
    const rows = chain(5);
    expect(verifyChain(rows)).toEqual({ ok: true, rows: 5, head: { seq: 5, hash: rows[4]!.hash } });
  });

  it('passes an empty trail with the genesis head', () => {
    expect(verifyChain([])).toEqual({ ok: true, rows: 0, head: { seq: 0, hash: GENESIS_HASH } });
  });

  it('names the edited row when a detail changes', () => {
    const rows = chain(5);
    rows[2] = { ...rows[2]!, details: JSON.stringify({ justification: 'something else' }) };
    expect(verifyChain(rows)).toMatchObject({ ok: false, rows: 2, problem: { seq: 3, kind: 'edited' } });
  });

  it('names the edited row when a column outside details changes (the approver)', () => {
    const rows = chain(4);
    rows[1] = { ...rows[1]!, actor: 'someone-else' };
    expect(verifyChain(rows).problem).toMatchObject({ seq: 2, kind: 'edited' });
  });

  it('names the first missing seq when a row in the middle is deleted', () => {
    const rows = chain(6);
    rows.splice(3, 1);
    const r = verifyChain(rows);
    expect(r.problem).toMatchObject({ seq: 4, kind: 'deleted' });
    expect(r.problem!.message).toContain('seq 4 is missing');
  });

  it('names the range when several rows are deleted', () => {
    const rows = chain(8);
    rows.splice(2, 3);
    expect(verifyChain(rows).problem).toMatchObject({ seq: 3, kind: 'deleted', message: expect.stringContaining('seq 3..5 are missing') });
  });

  it('finds a row that was edited and given a fresh hash: the next row no longer links to it', () => {
    const rows = chain(5);
    rows[1] = { ...rows[1]!, outcome: 'Approve', details: JSON.stringify({ justification: 'rewritten' }) };
    rows[1]!.hash = chainHash(rows[1]!.prev_hash, chainedFieldsOf(rows[1]!));
    expect(verifyChain(rows).problem).toMatchObject({ seq: 3, kind: 'relinked' });
  });

  it('finds rows read out of order', () => {
    const rows = chain(4);
    [rows[1], rows[2]] = [rows[2]!, rows[1]!];
    // Read as 1, 3, 2, 4: seq 2 is not where it belongs.
    expect(verifyChain(rows).problem).toMatchObject({ seq: 2, kind: 'deleted' });
    const backwards = chain(3).reverse();
    expect(verifyChain(backwards).problem).toMatchObject({ seq: 1, kind: 'deleted', message: expect.stringContaining('seq 1..2 are missing') });
  });

  it('finds two rows whose seq numbers were swapped', () => {
    const rows = chain(4);
    const a = rows[1]!;
    const b = rows[2]!;
    rows[1] = { ...b, seq: 2 };
    rows[2] = { ...a, seq: 3 };
    expect(verifyChain(rows).problem).toMatchObject({ seq: 2, kind: 'edited' });
  });

  it('reports details that are not JSON as an edit', () => {
    const rows = chain(3);
    rows[0] = { ...rows[0]!, details: '{not json' };
    expect(verifyChain(rows).problem).toMatchObject({ seq: 1, kind: 'unreadable' });
  });

  it('cannot see rows deleted from the end by itself, but an anchor can', () => {
    const rows = chain(6);
    const anchor = { seq: 6, hash: rows[5]!.hash };
    const truncated = rows.slice(0, 4);
    expect(verifyChain(truncated).ok).toBe(true);
    const r = verifyChain(truncated, anchor);
    expect(r).toMatchObject({ ok: false, problem: { seq: 6, kind: 'truncated' } });
    expect(r.problem!.message).toContain('rows 5..6 were deleted from the end');
    expect(verifyChain(truncated, { hash: anchor.hash }).problem).toMatchObject({ kind: 'truncated', seq: 5 });
  });

  it('accepts an anchor older than the head (rows appended since)', () => {
    const rows = chain(6);
    expect(verifyChain(rows, { seq: 3, hash: rows[2]!.hash })).toMatchObject({ ok: true, anchorSeq: 3 });
  });

  it('catches a chain recomputed after an edit, given an anchor from before', () => {
    const rows = chain(5);
    const anchor = { seq: 5, hash: rows[4]!.hash };
    const edited = rows.map((r) => ({ ...r }));
    edited[2]!.details = JSON.stringify({ justification: 'covered up' });
    const rewritten = rehash(edited, 2);
    expect(verifyChain(rewritten).ok).toBe(true);
    expect(verifyChain(rewritten, anchor).problem).toMatchObject({ seq: 5, kind: 'edited' });
  });

  it('reads anchors as the bot logs them, and refuses anything else', () => {
    const hash = 'AB'.repeat(32);
    expect(parseAnchor(`12:${hash}`)).toEqual({ seq: 12, hash: hash.toLowerCase() });
    expect(parseAnchor(hash)).toEqual({ hash: hash.toLowerCase() });
    expect(parseAnchor('12:abc')).toBeNull();
    expect(parseAnchor(`x:${hash}`)).toBeNull();
    expect(formatAnchor({ seq: 3, hash: 'c'.repeat(64) })).toBe(`3:${'c'.repeat(64)}`);
  });
});
