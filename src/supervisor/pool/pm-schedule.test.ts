// This file implements the tests of pm-schedule.ts under fake timers from the perspective of a
// pool's policy: a burst of waiting requests runs it once, flowing requests run it once a second
// and once more after they stop, a static pool and a stopped one never run it, and a quiet pool
// keeps no timer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAINTENANCE_MS, PmSchedule } from './pm-schedule.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PmSchedule', () => {
  it('runs the policy once per turn for any number of waiting requests', async () => {
    let runs = 0;
    const schedule = new PmSchedule(() => { runs += 1; }, true);
    for (let i = 0; i < 100; i++) schedule.demand();
    expect(runs).toBe(0);
    await Promise.resolve();
    expect(runs).toBe(1);
    schedule.demand();
    await Promise.resolve();
    expect(runs).toBe(2);
  });

  it('ticks every second while requests flow, once more after, then keeps no timer', () => {
    let runs = 0;
    const schedule = new PmSchedule(() => { runs += 1; }, true);
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 50; i++) schedule.activity();
      vi.advanceTimersByTime(MAINTENANCE_MS);
    }
    expect(runs).toBe(3);
    vi.advanceTimersByTime(MAINTENANCE_MS);
    expect(runs).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * MAINTENANCE_MS);
    expect(runs).toBe(4);
  });

  it('never runs for a static pool, nor once stopped', async () => {
    let runs = 0;
    const fixed = new PmSchedule(() => { runs += 1; }, false);
    fixed.demand();
    fixed.activity();
    const stopped = new PmSchedule(() => { runs += 1; }, true);
    stopped.activity();
    stopped.demand();
    stopped.stop();
    await Promise.resolve();
    vi.advanceTimersByTime(5 * MAINTENANCE_MS);
    expect([runs, vi.getTimerCount()]).toEqual([0, 0]);
  });
});
