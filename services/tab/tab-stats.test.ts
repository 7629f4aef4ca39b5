import { bucketCounts, countAndMedian, dateRange, median, minutesBetween, PENDING_BUCKETS, topCounts, validDate } from './tab-stats';

describe('tab dashboard arithmetic', () => {
  it('takes the median of odd and even counts, and none of nothing', () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([1 / 3, 2 / 3])).toBe(0.5);
  });

  it('puts decision times in their buckets, bounds going to the next one', () => {
    const counts = bucketCounts([0, 4.99, 5, 14, 15, 59, 60, 239, 240, 1439, 1440, 3000]);
    expect(counts).toEqual([
      { label: '<5m', count: 2 },
      { label: '5-15m', count: 2 },
      { label: '15-60m', count: 2 },
      { label: '1-4h', count: 2 },
      { label: '4-24h', count: 2 },
      { label: '24h+', count: 2 },
    ]);
    expect(bucketCounts([], PENDING_BUCKETS).every((b) => b.count === 0)).toBe(true);
    expect(bucketCounts([30, 23 * 60], PENDING_BUCKETS).find((b) => b.label === '20-24h')!.count).toBe(1);
  });

  it('measures minutes between two times, refusing missing or reversed ones', () => {
    expect(minutesBetween('2026-01-01T00:00:00Z', '2026-01-01T01:30:00Z')).toBe(90);
    expect(minutesBetween('2026-01-01T01:00:00Z', '2026-01-01T00:00:00Z')).toBeNull();
    expect(minutesBetween(null, '2026-01-01T00:00:00Z')).toBeNull();
  });

  it('counts and takes medians per key; ranks top counts with ties by name', () => {
    const m = countAndMedian([
      { key: 'A', minutes: 10 },
      { key: 'A', minutes: 20 },
      { key: 'B', minutes: null },
    ]);
    expect(m.get('A')).toEqual({ count: 2, medianMinutes: 15 });
    expect(m.get('B')).toEqual({ count: 1, medianMinutes: null });
    expect(
      topCounts(
        new Map([
          ['b', 2],
          ['a', 2],
          ['c', 5],
        ]),
        2,
      ),
    ).toEqual([
      { name: 'c', count: 5 },
      { name: 'a', count: 2 },
    ]);
  });

  it('reads a date range, both days included, with the field at fault', () => {
    const now = new Date('2026-03-15T12:00:00Z');
    expect(dateRange({}, now)).toEqual({ from: '2026-02-14', to: '2026-03-15', fromIso: '2026-02-14T00:00:00.000Z', toIso: '2026-03-16T00:00:00.000Z' });
    expect(dateRange({ from: '2026-03-01', to: '2026-03-01' }, now)).toMatchObject({ fromIso: '2026-03-01T00:00:00.000Z', toIso: '2026-03-02T00:00:00.000Z' });
    expect(dateRange({ from: '2026-03-02', to: '2026-03-01' }, now)).toMatchObject({ field: 'from' });
    expect(dateRange({ to: '2026-02-30' }, now)).toMatchObject({ field: 'to' });
    expect(dateRange({ from: '2024-01-01', to: '2026-01-01' }, now)).toMatchObject({ field: 'from' });
    // In the reader's zone: Berlin's 1 March runs from 23:00 UTC the day before; Los Angeles' today may be UTC's yesterday.
    expect(dateRange({ from: '2026-03-01', to: '2026-03-01' }, now, 'Europe/Berlin')).toMatchObject({
      fromIso: '2026-02-28T23:00:00.000Z',
      toIso: '2026-03-01T23:00:00.000Z',
    });
    // Across the spring change in the US (8 March 2026) the day has 23 hours.
    expect(dateRange({ from: '2026-03-08', to: '2026-03-08' }, now, 'America/Los_Angeles')).toMatchObject({
      fromIso: '2026-03-08T08:00:00.000Z',
      toIso: '2026-03-09T07:00:00.000Z',
    });
    expect((dateRange({}, new Date('2026-03-15T03:00:00Z'), 'America/Los_Angeles') as { to: string }).to).toBe('2026-03-14');
    expect(validDate('2026-1-01')).toBe(false);
  });
});
