export type Summary = {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  min: number;
};

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
  };
}

export const ms = (v: number) =>
  Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a';

/**
 * How sure a comparison of percentiles is: `compare`(`p` of a, `p` of b) on
 * resamples of both (the bootstrap), as the 5th and 95th percentiles of what
 * it gives. A tail percentile on a shared machine moves between runs.
 */
export function bootstrapInterval(
  a: readonly number[],
  b: readonly number[],
  p: number,
  compare: (x: number, y: number) => number,
  rounds = 200,
): { low: number; high: number } {
  // A fixed-seed generator: the same samples give the same interval.
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resampled = (values: readonly number[]) =>
    percentile(
      Array.from(
        Float64Array.from(values, () => values[Math.floor(random() * values.length)]!).sort(),
      ),
      p,
    );
  const outcomes = Float64Array.from({ length: rounds }, () =>
    compare(resampled(a), resampled(b)),
  ).sort();
  return {
    low: percentile(Array.from(outcomes), 5),
    high: percentile(Array.from(outcomes), 95),
  };
}
