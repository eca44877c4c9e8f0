// This file implements the tests of connection-timeouts.ts under fake timers, from the
// perspective of a connection's life: accept → header → busy → idle → header …
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionClock, type TimeoutKey } from './connection-timeouts.ts';

const timeouts = { clientHeaderTimeoutMs: 1000, keepaliveTimeoutMs: 5000 };

describe('ConnectionClock', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  function clock(limits = timeouts): { clock: ConnectionClock; expired: [TimeoutKey, number][] } {
    const expired: [TimeoutKey, number][] = [];
    return { clock: new ConnectionClock(() => limits, (key, ms) => { expired.push([key, ms]); }), expired };
  }

  it('closes a connection whose header does not complete in time, however many bytes trickle in', () => {
    const { clock: c, expired } = clock();
    for (let i = 0; i < 9; i++) {
      vi.advanceTimersByTime(100);
      c.received();
    }
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([['client_header_timeout', 1000]]);
    expect(c.phase).toBe('closed');
  });

  it('runs no timer while a request runs, the keep-alive wait after it, the header limit on its next byte', () => {
    const { clock: c, expired } = clock();
    c.busy();
    vi.advanceTimersByTime(60_000);
    expect(expired).toEqual([]);
    c.idle();
    vi.advanceTimersByTime(4999);
    c.received();
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual([['client_header_timeout', 1000]]);
  });

  it('closes an idle kept-alive connection after keepalive_timeout; 0 means no limit; close stops it', () => {
    const { clock: c, expired } = clock();
    c.busy();
    c.idle();
    vi.advanceTimersByTime(5000);
    expect(expired).toEqual([['keepalive_timeout', 5000]]);
    const none = clock({ clientHeaderTimeoutMs: 0, keepaliveTimeoutMs: 0 });
    vi.advanceTimersByTime(1e9);
    none.clock.busy();
    none.clock.idle();
    vi.advanceTimersByTime(1e9);
    expect(none.expired).toEqual([]);
    const closed = clock();
    closed.clock.close();
    vi.advanceTimersByTime(1e9);
    expect(closed.expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('arms no timer per request on a busy kept-alive connection (deadlines move, timers stay)', () => {
    const { clock: c, expired } = clock();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 2000; i += 1) {
      c.busy();
      vi.advanceTimersByTime(1);
      c.idle();
      c.received();
    }
    expect(expired).toEqual([]);
    expect(spy.mock.calls.length).toBeLessThanOrEqual(6);
    spy.mockRestore();
  });
});
