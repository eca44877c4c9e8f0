import { describe, expect, it } from 'vitest';
import { BACKOFF_MAX_MS, CrashBackoff } from './backoff.ts';

describe('CrashBackoff', () => {
  it('replaces the first death at once, then doubles from 1 s, capped at 60 s', () => {
    const b = new CrashBackoff(() => 0.5); // no jitter
    expect(b.failed(0, 'boom')).toBeUndefined();
    expect(b.waitMs(0)).toBe(0);
    expect(b.failed(0, 'boom')).toBe('entered');
    expect(b.delayMs).toBe(1000);
    expect(b.failed(0, undefined)).toBeUndefined();
    expect(b.delayMs).toBe(2000);
    for (let i = 0; i < 10; i++) b.failed(0, undefined);
    expect(b.delayMs).toBe(BACKOFF_MAX_MS);
    expect(b.lastFailure).toBe('boom');
    expect(b.waitMs(10_000)).toBe(50_000);
  });
  it('jitters by ±20 % within the bounds', () => {
    const low = new CrashBackoff(() => 0);
    low.failed(0, 'x');
    low.failed(0, 'x');
    low.failed(0, 'x');
    expect(low.delayMs).toBe(1600);
    const high = new CrashBackoff(() => 1);
    for (let i = 0; i < 3; i++) high.failed(0, 'x');
    expect(high.delayMs).toBe(2400);
  });
  it('one success clears it and reports recovery once', () => {
    const b = new CrashBackoff(() => 0.5);
    b.failed(0, 'x');
    b.failed(0, 'x');
    expect(b.succeeded()).toBe('recovered');
    expect(b.succeeded()).toBeUndefined();
    expect(b.active).toBe(false);
    expect(b.waitMs(0)).toBe(0);
  });
});
