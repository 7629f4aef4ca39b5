import { chainRow } from './audit-trail';
import { chainHash, GENESIS_HASH } from './canonical';
import { csvField, csvRecord, writeExport } from './export';
import type { AuditRow } from './verify-chain';

describe('CSV fields (RFC 4180)', () => {
  it('leaves plain text alone', () => {
    expect(csvField('Approve')).toBe('Approve');
    expect(csvField(42)).toBe('42');
    expect(csvField(null)).toBe('');
  });

  it('quotes fields with commas, quotes and line breaks, doubling quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "yes"')).toBe('"say ""yes"""');
    expect(csvField('line1\nline2')).toBe('"line1\nline2"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('neutralises cells a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvField('+1+2')).toBe("'+1+2");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('a=1')).toBe('a=1');
  });

  it('ends records with CRLF', () => {
    expect(csvRecord(['a', 'b,c', null])).toBe('a,"b,c",\r\n');
  });
});

describe('exports', () => {
  const rows: AuditRow[] = [];
  let prev = { seq: 0, hash: GENESIS_HASH };
  for (const justification of ['=cmd|" /C calc"!A0', 'plain, with a comma', 'two\nlines']) {
    const row = chainRow(prev, {
      kind: 'card.decision',
      actor: 'u1',
      pimRequestId: 'p1',
      requestId: 'r1',
      evaluationId: 'e1',
      outcome: 'Approve',
      details: { justification },
      at: new Date('2026-11-23T09:00:00Z'),
    });
    rows.push(row);
    prev = row;
  }

  async function run(format: 'csv' | 'json'): Promise<{ text: string; n: number }> {
    let text = '';
    const n = await writeExport(rows, format, (c) => {
      text += c;
    });
    return { text, n };
  }

  it('writes a header and one CSV record per row, with justifications escaped', async () => {
    const { text, n } = await run('csv');
    expect(n).toBe(3);
    expect(text.startsWith('seq,at,kind,actor,pim_request_id,request_id,evaluation_id,outcome,details,prev_hash,hash\r\n')).toBe(true);
    // The details cell is JSON (starts with "{"), so only the quotes need escaping there.
    expect(text).toContain('"{""justification"":""=cmd|\\"" /C calc\\""!A0""}"');
    expect(text).toContain('"{""justification"":""two\\nlines""}"');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(4);
  });

  it('writes JSON from which every hash can be recomputed', async () => {
    const { text } = await run('json');
    const parsed = JSON.parse(text) as Array<Record<string, any>>;
    expect(parsed).toHaveLength(3);
    let prevHash = GENESIS_HASH;
    for (const r of parsed) {
      expect(r.prevHash).toBe(prevHash);
      const { prevHash: _p, hash, ...fields } = r;
      expect(chainHash(prevHash, fields as any)).toBe(hash);
      prevHash = hash;
    }
    expect(parsed[0]!.details).toEqual({ justification: '=cmd|" /C calc"!A0' });
  });

  it('writes an empty JSON array when no row is in range', async () => {
    let text = '';
    expect(await writeExport([], 'json', (c) => (text += c))).toBe(0);
    expect(JSON.parse(text)).toEqual([]);
  });
});
