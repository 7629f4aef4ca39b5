import { Pacer, shareOf, TEAMS_LIMITS, TENANT_SCOPE } from './pacer';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

/** Reserves as fast as allowed from `startMs` until `count` sends have gone; returns their times. */
function sendAsFastAsAllowed(pacer: Pacer, conversationId: string, count: number, startMs = 0): number[] {
  const times: number[] = [];
  let now = startMs;
  while (times.length < count) {
    const r = pacer.reserve(conversationId, at(now));
    if (r.ok) times.push(now);
    else {
      expect(r.retryAt.getTime()).toBeGreaterThan(T0 + now);
      now = r.retryAt.getTime() - T0;
    }
  }
  return times;
}

/** The most sends in any half-open window [t, t + perMs) of the sorted times. */
function busiest(times: readonly number[], perMs: number): number {
  let most = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('pacer', () => {
  test('lets 7 sends to a conversation through in a second and refuses the 8th until the first has aged out', () => {
    const pacer = new Pacer();
    for (let i = 0; i < 7; i++) expect(pacer.reserve('c1', at(i * 10))).toEqual({ ok: true });
    const refused = pacer.reserve('c1', at(100));
    expect(refused).toEqual({ ok: false, retryAt: at(1000) });
    expect(pacer.reserve('c1', at(999)).ok).toBe(false);
    expect(pacer.reserve('c1', at(1000))).toEqual({ ok: true });
  });

  test('a refused reservation takes no slot', () => {
    const pacer = new Pacer({ conversation: [{ count: 1, perMs: 1000 }], tenant: [{ count: 100, perMs: 1000 }] });
    expect(pacer.reserve('c1', at(0)).ok).toBe(true);
    for (let i = 1; i < 10; i++) expect(pacer.reserve('c1', at(i * 50)).ok).toBe(false);
    expect(pacer.reserve('c1', at(1000)).ok).toBe(true);
  });

  test('check does not take the slot that reserve would', () => {
    const pacer = new Pacer({ conversation: [{ count: 1, perMs: 1000 }], tenant: [] });
    expect(pacer.check('c1', at(0)).ok).toBe(true);
    expect(pacer.check('c1', at(0)).ok).toBe(true);
    expect(pacer.reserve('c1', at(0)).ok).toBe(true);
    expect(pacer.check('c1', at(0)).ok).toBe(false);
  });

  test('sending flat out to one conversation keeps every Teams window: 7/1 s, 8/2 s, 60/30 s', () => {
    const pacer = new Pacer();
    const times = sendAsFastAsAllowed(pacer, 'c1', 300);
    expect(busiest(times, 1_000)).toBe(7);
    expect(busiest(times, 2_000)).toBe(8);
    expect(busiest(times, 30_000)).toBe(60);
    // 60 per 30 s is the binding limit over a long run: 300 sends need at least four full windows.
    expect(times[299]! - times[0]!).toBeGreaterThanOrEqual(4 * 30_000);
  });

  test('the hourly limit of 1800 sends per conversation holds', () => {
    const pacer = new Pacer();
    const times = sendAsFastAsAllowed(pacer, 'c1', 1_850);
    expect(busiest(times, 3_600_000)).toBe(1_800);
  });

  test('the tenant budget of 30 per second holds across conversations', () => {
    const pacer = new Pacer();
    const granted: number[] = [];
    // 40 conversations each asking once every 10 ms for 3 seconds.
    for (let ms = 0; ms < 3_000; ms += 10) {
      for (let c = 0; c < 40; c++) if (pacer.reserve(`c${c}`, at(ms)).ok) granted.push(ms);
    }
    expect(busiest(granted, 1_000)).toBe(30);
    expect(granted.length).toBe(90);
  });

  test('a conversation at its limit does not hold back another conversation', () => {
    const pacer = new Pacer();
    sendAsFastAsAllowed(pacer, 'busy', 7);
    expect(pacer.reserve('busy', at(0)).ok).toBe(false);
    expect(pacer.reserve('quiet', at(0)).ok).toBe(true);
  });

  test('a paused conversation waits for the pause to end (429 Retry-After), others do not', () => {
    const pacer = new Pacer();
    pacer.pause('c1', at(5_000));
    expect(pacer.reserve('c1', at(0))).toEqual({ ok: false, retryAt: at(5_000) });
    expect(pacer.pausedUntil('c1', at(1))).toEqual(at(5_000));
    expect(pacer.reserve('c2', at(0)).ok).toBe(true);
    expect(pacer.reserve('c1', at(5_000)).ok).toBe(true);
    expect(pacer.pausedUntil('c1', at(5_000))).toBeNull();
  });

  test('a shorter pause never shortens a longer one', () => {
    const pacer = new Pacer();
    pacer.pause('c1', at(10_000));
    pacer.pause('c1', at(2_000));
    expect(pacer.reserve('c1', at(3_000))).toEqual({ ok: false, retryAt: at(10_000) });
  });

  test('a tenant pause holds every conversation', () => {
    const pacer = new Pacer();
    pacer.pause(TENANT_SCOPE, at(2_000));
    expect(pacer.reserve('c1', at(0))).toEqual({ ok: false, retryAt: at(2_000) });
    expect(pacer.reserve('c2', at(1_999)).ok).toBe(false);
    expect(pacer.reserve('c2', at(2_000)).ok).toBe(true);
  });

  test('recorded sends (seeded after a restart) count against the windows', () => {
    const pacer = new Pacer();
    for (let i = 0; i < 60; i++) pacer.record('c1', at(i * 400));
    // 60 sends between 0 and 23.6 s: the next may go when the first leaves the 30 s window.
    expect(pacer.reserve('c1', at(24_000))).toEqual({ ok: false, retryAt: at(30_000) });
  });

  test('the default limits are the ones Teams documents', () => {
    expect(TEAMS_LIMITS.conversation).toEqual(
      expect.arrayContaining([
        { count: 7, perMs: 1_000 },
        { count: 60, perMs: 30_000 },
      ]),
    );
    expect(TEAMS_LIMITS.tenant).toEqual([{ count: 30, perMs: 1_000 }]);
  });

  test('forget gives back a slot the shared pace refused, so only real sends fill the windows', () => {
    const pacer = new Pacer({ conversation: [{ count: 2, perMs: 1_000 }], tenant: [{ count: 3, perMs: 1_000 }] });
    const t = new Date(0);
    expect(pacer.reserve('a', t).ok).toBe(true);
    expect(pacer.reserve('a', t).ok).toBe(true);
    expect(pacer.reserve('a', t).ok).toBe(false);
    pacer.forget('a', t);
    expect(pacer.reserve('b', t).ok).toBe(true);
    expect(pacer.reserve('a', t).ok).toBe(true);
    expect(pacer.reserve('b', t).ok).toBe(false);
    // Forgetting a send that was never counted changes nothing.
    pacer.forget('c', t);
    expect(pacer.reserve('b', t).ok).toBe(false);
  });

  test('refuses limits it cannot apply', () => {
    expect(() => new Pacer({ conversation: [{ count: 0, perMs: 1000 }], tenant: [] })).toThrow(/count must be a whole number/);
  });
});

describe('shares of the limits for replicas', () => {
  test('two replicas each get half of every window, so together they never exceed Teams', () => {
    const half = shareOf(TEAMS_LIMITS, 2);
    expect(half.conversation).toEqual([
      { count: 3, perMs: 1_000 },
      { count: 4, perMs: 2_000 },
      { count: 30, perMs: 30_000 },
      { count: 900, perMs: 3_600_000 },
    ]);
    expect(half.tenant).toEqual([{ count: 15, perMs: 1_000 }]);
    expect(shareOf(TEAMS_LIMITS, 1)).toEqual(TEAMS_LIMITS);
    expect(shareOf(TEAMS_LIMITS, 64).conversation[0]).toEqual({ count: 1, perMs: 1_000 });
    expect(() => shareOf(TEAMS_LIMITS, 0)).toThrow('replicas must be a whole number ≥ 1');
  });
});
