// This file implements the tests of deadline.ts under fake timers, from the perspective of a
// hot path that sets and withdraws a deadline on every request.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadline } from './deadline.ts';

describe('Deadline', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); vi.restoreAllMocks(); });

  it('expires once, ms after the last `after`, however often it was moved later', () => {
    let expired = 0;
    const d = new Deadline(() => { expired += 1; });
    d.after(1000);
    vi.advanceTimersByTime(600);
    d.after(1000); // now due at 1600: the timer armed for 1000 fires early and re-arms
    vi.advanceTimersByTime(999);
    expect(expired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(expired).toBe(1);
    expect(d.set).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(expired).toBe(1);
  });

  it('re-arms at once when moved earlier than its timer', () => {
    let expired = 0;
    const d = new Deadline(() => { expired += 1; });
    d.after(5000);
    d.after(100);
    vi.advanceTimersByTime(100);
    expect(expired).toBe(1);
  });

  it('does not expire once withdrawn; its timer stops when it fires; close leaves no timer', () => {
    let expired = 0;
    const d = new Deadline(() => { expired += 1; });
    d.after(1000);
    d.withdraw();
    vi.advanceTimersByTime(1000);
    expect(expired).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    d.after(1000);
    d.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(expired).toBe(0);
  });

  it('creates no timer per request while requests flow: set and withdrawn 1000 times a second', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let expired = 0;
    const d = new Deadline(() => { expired += 1; });
    for (let i = 0; i < 5000; i += 1) {
      d.after(1000);
      vi.advanceTimersByTime(1);
      d.withdraw();
    }
    expect(expired).toBe(0);
    // One timer per second of traffic (each fires early and re-arms), not one per request.
    expect(spy.mock.calls.length).toBeLessThanOrEqual(6);
  });
});
