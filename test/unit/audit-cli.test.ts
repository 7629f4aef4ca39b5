/** `npm run audit`'s command line: flags checked before the database is touched, clear errors, exit codes. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runAuditCli } from '../../scripts/audit/cli';
import { Store } from '../../services/store/store';

describe('npm run audit', () => {
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    url = `sqlite:${join(dir, 'bot.sqlite')}`;
    const store = await Store.open(url);
    await store.audit.record(
      {
        kind: 'evaluation',
        actor: 'u1',
        pimRequestId: 'p1',
        evaluationId: 'e1',
        outcome: 'Approved',
        details: { reasons: ['=1+1'] },
        at: new Date('2026-11-05T10:00:00Z'),
      },
      { kind: 'nudge', actor: 'bot', pimRequestId: 'p1', outcome: 'sent', details: { index: 1 }, at: new Date('2026-11-30T23:59:59Z') },
      { kind: 'nudge', actor: 'bot', pimRequestId: 'p1', outcome: 'sent', details: { index: 2 }, at: new Date('2026-12-01T00:00:00Z') },
    );
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runAuditCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { DATABASE_URL: url }, cwd: dir });
    return { code, out, err };
  }

  it('verifies and prints the head', async () => {
    const r = await run('verify');
    expect(r).toMatchObject({ code: EXIT.ok, err: '' });
    expect(r.out).toMatch(/^3 rows, chain intact, head 3:[0-9a-f]{64}\n$/);
    expect((await run('head')).out.trim()).toBe(r.out.match(/head (\S+)/)![1]);
  });

  it('exports whole UTC days, both ends included', async () => {
    const r = await run('export', '--from', '2026-11-01', '--to', '2026-11-30', '--format', 'json');
    expect(r.code).toBe(EXIT.ok);
    expect((JSON.parse(r.out) as Array<{ seq: number }>).map((x) => x.seq)).toEqual([1, 2]);
    expect(r.err).toContain('2 rows exported');
  });

  it('writes CSV to a new file and never overwrites one', async () => {
    const r = await run('export', '--from', '2026-11-01', '--to', '2026-12-31', '--format', 'csv', '--out', 'trail.csv');
    expect(r.code).toBe(EXIT.ok);
    const csv = readFileSync(join(dir, 'trail.csv'), 'utf8');
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(4);
    writeFileSync(join(dir, 'keep.csv'), 'mine');
    const again = await run('export', '--from', '2026-11-01', '--to', '2026-12-31', '--format', 'csv', '--out', 'keep.csv');
    expect(again.code).toBe(EXIT.usage);
    expect(again.err).toContain('keep.csv exists already');
    expect(readFileSync(join(dir, 'keep.csv'), 'utf8')).toBe('mine');
  });

  it.each([
    [['export', '--to', '2026-11-30', '--format', 'csv'], '--from is required'],
    [['export', '--from', '2026-11-31', '--to', '2026-12-01', '--format', 'csv'], '--from 2026-11-31 is not a calendar date'],
    [['export', '--from', 'yesterday', '--to', '2026-12-01', '--format', 'csv'], '--from must be a date (YYYY-MM-DD) or an ISO date-time'],
    [['export', '--from', '2026-12-01', '--to', '2026-11-01', '--format', 'csv'], '--from must be before --to'],
    [['export', '--from', '2026-11-01', '--to', '2026-11-30', '--format', 'xlsx'], '--format must be csv or json'],
    [['export', '--from', '2026-11-01', '--to', '2026-11-30'], '--format is required: csv or json'],
    [['verify', '--expect-head', 'abc'], '--expect-head must be an anchor'],
    [['verify', '--format', 'csv'], 'verify does not take --format'],
    [['verify', '--bogus'], "Unknown option '--bogus'"],
    [['purge'], "Unknown command 'purge'"],
    [[], 'Usage:'],
  ])('refuses %j with a message that says what to fix', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(message);
    expect(r.out).toBe('');
  });

  it('does not create a database that is not there', async () => {
    let err = '';
    const code = await runAuditCli(['verify'], {
      stdout: () => undefined,
      stderr: (t) => (err += t),
      env: { DATABASE_URL: 'sqlite:missing/bot.sqlite' },
      cwd: dir,
    });
    expect(code).toBe(EXIT.failed);
    expect(err).toContain('No database at missing/bot.sqlite');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
