import pino from 'pino';
import { Writable } from 'node:stream';
import { PresenceBoard } from './presence-board';
import { GraphCallError } from '../graph/graph-errors';
import type { PresenceReader, UserPresence } from '../graph/presence';

function recordingLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const presence = (id: string, availability: string): UserPresence => ({ id, availability, activity: availability, outOfOffice: false });

describe('the presence board', () => {
  let nowMs = Date.parse('2026-11-23T10:00:00Z');
  const now = () => new Date(nowMs);
  let calls: string[][];
  let fail: Error | null;
  const reader: PresenceReader = {
    async presences(ids) {
      calls.push([...ids]);
      if (fail) throw fail;
      return new Map(ids.filter((id) => id !== 'ghost').map((id) => [id, presence(id, id === 'm' ? 'Busy' : 'Available')]));
    },
  };

  beforeEach(() => {
    calls = [];
    fail = null;
  });

  it('reads every approver due in the pass in one call, and serves the rest of the pass from it', async () => {
    const { log } = recordingLog();
    const board = new PresenceBoard(reader, { log, now });
    const due = async () => ['a', 'm', 'p', 'ghost'];
    const first = await board.lookup(['A', 'm'], due);
    expect([...first!.keys()]).toEqual(['a', 'm']);
    expect(calls).toEqual([['a', 'm', 'p', 'ghost']]);
    // The second request of the pass, including someone Graph said nothing about: no second call.
    const second = await board.lookup(['p', 'ghost'], due);
    expect([...second!.keys()]).toEqual(['p']);
    expect(calls).toHaveLength(1);
    // A later pass reads again.
    nowMs += 5 * 60_000;
    await board.lookup(['p'], async () => []);
    expect(calls).toEqual([['a', 'm', 'p', 'ghost'], ['p']]);
  });

  it('answers null when presence cannot be read, logs that once, and logs the recovery', async () => {
    const { log, lines } = recordingLog();
    const board = new PresenceBoard(reader, { log, now });
    fail = new GraphCallError(403, 'Forbidden', "Reading the approvers' Teams presence: Insufficient privileges");
    expect(await board.lookup(['a'], async () => [])).toBeNull();
    nowMs += 5 * 60_000;
    expect(await board.lookup(['a'], async () => [])).toBeNull();
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('Presence.Read.All');
    fail = null;
    nowMs += 5 * 60_000;
    expect((await board.lookup(['a'], async () => []))!.get('a')?.availability).toBe('Available');
    expect(lines.filter((l) => l.level === 30 && /readable again/.test(l.msg))).toHaveLength(1);
  });

  it('still reads the ids asked for when listing the other due approvers fails', async () => {
    const { log } = recordingLog();
    const board = new PresenceBoard(reader, { log, now });
    const seen = await board.lookup(['a'], async () => {
      throw new Error('database unavailable');
    });
    expect(seen!.get('a')?.availability).toBe('Available');
    expect(calls).toEqual([['a']]);
  });
});
