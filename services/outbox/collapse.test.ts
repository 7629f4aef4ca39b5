import { admit, collapseOptions, DEFAULT_COLLAPSE, planSummaryPages } from './collapse';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

describe('collapse: which cards wait for a summary', () => {
  test.each([
    ['the first card of a quiet channel opens a window and goes', null, 0, 0, { windowStart: 0, hold: false }],
    ['the fifth card of the minute still goes', 0, 4, 30_000, { windowStart: 0, hold: false }],
    ['the sixth card of the minute waits', 0, 5, 30_000, { windowStart: 0, hold: true }],
    ['the last millisecond of the window still counts', 0, 5, 59_999, { windowStart: 0, hold: true }],
    ['once the minute is over a new window opens', 0, 5, 60_000, { windowStart: 60_000, hold: false }],
  ])('%s', (_label, latestStart, individual, now, expected) => {
    const a = admit({ latestStart: latestStart === null ? null : at(latestStart), individual }, at(now), DEFAULT_COLLAPSE);
    expect(a).toEqual({ windowStart: at(expected.windowStart), hold: expected.hold, closesAt: at(expected.windowStart + 60_000) });
  });

  test('threshold 0 holds every card for the summary', () => {
    expect(admit({ latestStart: null, individual: 0 }, at(0), collapseOptions({ threshold: 0 })).hold).toBe(true);
  });

  test('refuses settings that would lose requests or break the card size', () => {
    expect(() => collapseOptions({ threshold: -1 })).toThrow(/threshold/);
    expect(() => collapseOptions({ pageSize: 1 })).toThrow(/page size/);
    expect(() => collapseOptions({ pageSize: 500 })).toThrow(/page size/);
    expect(() => collapseOptions({ windowMs: 0 })).toThrow(/window/);
  });
});

describe('collapse: summary pages', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

  test.each([
    [0, []],
    [1, []],
    [2, [2]],
    [15, [15]],
    [16, [15, 1]],
    [495, Array(33).fill(15)],
  ])('%i held cards make pages of %j', (n, sizes) => {
    const pages = planSummaryPages(ids(n), { pageSize: 15 });
    expect(pages.map((p) => p.length)).toEqual(sizes);
    if (n >= 2) expect(pages.flat()).toEqual(ids(n));
  });

  test('a page shrinks until it fits, and every entry still lands on exactly one page', () => {
    const pages = planSummaryPages(ids(20), { pageSize: 15 }, (page) => page.reduce((sum, x) => sum + (x % 2 ? 3 : 1), 0) <= 10);
    expect(pages.flat()).toEqual(ids(20));
    for (const page of pages) expect(page.reduce((sum, x) => sum + (x % 2 ? 3 : 1), 0)).toBeLessThanOrEqual(10);
  });

  test('an entry too big for any page still goes, alone', () => {
    expect(planSummaryPages(ids(3), { pageSize: 15 }, () => false)).toEqual([[0], [1], [2]]);
  });
});
