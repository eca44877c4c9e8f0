// This file implements the interleaved measurement from the perspective of the bench loop: every
// target is warmed up once, then measured in short slices, round after round, in alternating
// order (A B C, C B A, …), so that a machine getting slower or faster during the run weighs on
// every target alike; a row reports the median of its slices and a ratio the median of its
// per-round ratios (the research's "paired" method: only ratios measured side by side count).
import type { WrkResult } from './wrk.ts';

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The order of round `round` (0-based): forward on even rounds, backward on odd ones. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

/**
 * One row's result from its slices: counts and durations summed, req/s and latencies the
 * median of the slices' (each slice's req/s is kept in `slices` for the ratios and the JSON).
 * @throws RangeError when there is no slice
 */
export function combineSlices(slices: readonly WrkResult[]): WrkResult & { readonly slices: readonly WrkResult[] } {
  if (slices.length === 0) throw new RangeError('bench: no slice to combine');
  const sum = (pick: (r: WrkResult) => number): number => slices.reduce((total, r) => total + pick(r), 0);
  const errors = {
    http: sum((r) => r.errors.http),
    connect: sum((r) => r.errors.connect),
    read: sum((r) => r.errors.read),
    write: sum((r) => r.errors.write),
    timeout: sum((r) => r.errors.timeout),
  };
  return {
    requests: sum((r) => r.requests),
    durationS: sum((r) => r.durationS),
    rps: median(slices.map((r) => r.rps)),
    p50Ms: median(slices.map((r) => r.p50Ms)),
    p99Ms: median(slices.map((r) => r.p99Ms)),
    errors,
    errorTotal: sum((r) => r.errorTotal),
    slices,
  };
}

/**
 * The median over rounds of `top[i].rps / bottom[i].rps`: slices of one round ran minutes
 * apart at most, so each quotient compares the two targets under the same conditions.
 */
export function pairedRatio(top: readonly WrkResult[], bottom: readonly WrkResult[]): number {
  const quotients: number[] = [];
  for (let i = 0; i < Math.min(top.length, bottom.length); i++) {
    const t = top[i]?.rps ?? 0;
    const b = bottom[i]?.rps ?? 0;
    if (b > 0) quotients.push(t / b);
  }
  return median(quotients);
}

/**
 * How far apart a row's slices are: the fastest slice's req/s over the slowest's (1 when
 * steady; NaN without a slice). Well above 1, the machine's speed changed during the run (other
 * tenants of a shared host), and the rows and ratios are less certain.
 */
export function sliceSpread(slices: readonly WrkResult[]): number {
  const values = slices.map((r) => r.rps);
  if (values.length === 0) return Number.NaN;
  return Math.max(...values) / Math.min(...values);
}
