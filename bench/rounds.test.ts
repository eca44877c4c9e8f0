import { describe, expect, it } from 'vitest';
import { combineSlices, median, pairedRatio, roundOrder, sliceSpread } from './rounds.ts';
import type { WrkResult } from './wrk.ts';

function slice(rps: number, over: Partial<WrkResult> = {}): WrkResult {
  const errors = { http: 0, connect: 0, read: 0, write: 0, timeout: 0 };
  return { requests: rps * 2, durationS: 2, rps, p50Ms: 1000 / rps, p99Ms: 4000 / rps, errors, errorTotal: 0, ...over };
}

describe('bench rounds', () => {
  it('takes the median of odd and even counts, NaN of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('alternates the order of the targets from round to round', () => {
    expect(roundOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(['a', 'b', 'c'], 1)).toEqual(['c', 'b', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 2)).toEqual(['a', 'b', 'c']);
  });

  it('combines slices: counts summed, req/s and latencies their medians', () => {
    const failing = slice(100, { errors: { http: 2, connect: 0, read: 1, write: 0, timeout: 0 }, errorTotal: 3 });
    const combined = combineSlices([slice(50), failing, slice(200)]);
    expect(combined.requests).toBe(700);
    expect(combined.durationS).toBe(6);
    expect(combined.rps).toBe(100);
    expect(combined.p50Ms).toBe(10);
    expect(combined.p99Ms).toBe(40);
    expect(combined.errors).toEqual({ http: 2, connect: 0, read: 1, write: 0, timeout: 0 });
    expect(combined.errorTotal).toBe(3);
    expect(combined.slices).toHaveLength(3);
    expect(() => combineSlices([])).toThrow(RangeError);
  });

  it('pairs slices of the same round: a machine slowing down weighs on both sides', () => {
    // Round 2 ran on a machine half as fast: both targets slowed, their ratio did not.
    const fast = [slice(2000), slice(1000), slice(2000)];
    const slow = [slice(40), slice(20), slice(40)];
    expect(pairedRatio(fast, slow)).toBe(50);
    expect(pairedRatio([slice(10)], [slice(0)])).toBeNaN();
  });

  it('tells how far apart the slices of a row ran: fastest over slowest', () => {
    expect(sliceSpread([slice(100), slice(300), slice(150)])).toBe(3);
    expect(sliceSpread([slice(100)])).toBe(1);
    expect(sliceSpread([])).toBeNaN();
  });
});
