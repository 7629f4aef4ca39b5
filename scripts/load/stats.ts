/** Latency percentiles and a least-squares slope, for the load run's tables. */

export interface Latencies {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (q in 0..1) of values sorted ascending. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function latencies(values: readonly number[]): Latencies {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  return { n: arr.length, p50: quantile(arr, 0.5), p95: quantile(arr, 0.95), p99: quantile(arr, 0.99), max: arr.at(-1) ?? Number.NaN };
}

/** Slope (y per x) of the least-squares line through the points; NaN for fewer than two distinct x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export function ms(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function mb(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(0) : '–';
}
