// This file implements the tests of direct-watch.ts from the perspective of a supervisor
// watching a direct worker it sees no request of: the heartbeat period follows PHP-FPM's rule,
// answers are bounded data, and a request past request_terminate_timeout or a worker that
// stopped answering gets killed (fake timers: no wall clock).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../log/logger.ts';
import { DirectWatch, heartbeatMs, HEARTBEAT_MAX_MS, HEARTBEAT_MIN_MS } from './direct-watch.ts';

const log = createLogger({ level: 'silent', pretty: false });

function watch(terminateMs: number): { w: DirectWatch; sent: unknown[]; kills: number[] } {
  const sent: unknown[] = [];
  const kills: number[] = [];
  const w = new DirectWatch(terminateMs, {
    now: () => Date.now(), log,
    actions: { send: (m) => { sent.push(m); }, kill: () => { kills.push(Date.now()); } },
  });
  return { w, sent, kills };
}

describe('heartbeatMs', () => {
  it('is min(1 s, timeout / 3), at least 130 ms', () => {
    expect(heartbeatMs(0)).toBe(HEARTBEAT_MAX_MS);
    expect(heartbeatMs(60_000)).toBe(1000);
    expect(heartbeatMs(1500)).toBe(500);
    expect(heartbeatMs(100)).toBe(HEARTBEAT_MIN_MS);
  });
});

describe('DirectWatch', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('asks for the state each period and reads the answers, bounded', () => {
    const { w, sent, kills } = watch(3000);
    w.start();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([{ type: 'state' }]);
    w.answered({ type: 'state', accepted: 5, requests: 4, active: [{ elapsedMs: 10, method: 'GET', uri: 'x'.repeat(5000), script: 7 }] });
    expect([w.accepted, w.requests]).toEqual([5, 4]);
    expect(w.active[0]?.uri.length).toBe(1024);
    expect(w.active[0]?.script).toBe('');
    // Forged or stale counters never go backwards, and garbage reads as nothing.
    w.answered({ accepted: -3, requests: 'many', active: 'no' });
    expect([w.accepted, w.requests, w.active.length]).toEqual([5, 4, 0]);
    expect(kills).toEqual([]);
    w.stop();
  });

  it('kills the worker when a request runs past request_terminate_timeout', () => {
    const { w, kills } = watch(3000);
    w.start();
    w.answered({ accepted: 1, requests: 0, active: [{ elapsedMs: 3000, method: 'GET', uri: '/spin', script: '' }] });
    vi.advanceTimersByTime(1000);
    expect(kills).toHaveLength(1);
  });

  it('waits for the next answer when the last one showed the request younger than the timeout', () => {
    // The worker answers its own 504 at the limit: between two answers a request may end there.
    const { w, sent, kills } = watch(3000);
    w.start();
    w.answered({ accepted: 1, requests: 0, active: [{ elapsedMs: 2600, method: 'GET', uri: '/slow', script: '' }] });
    vi.advanceTimersByTime(1000);
    expect(kills).toEqual([]);
    expect(sent).toEqual([{ type: 'state' }]);
    w.answered({ accepted: 1, requests: 1, active: [] });
    vi.advanceTimersByTime(1000);
    expect(kills).toEqual([]);
    w.stop();
  });

  it('kills the worker when it stopped answering for longer than the timeout', () => {
    const { w, kills } = watch(3000);
    w.start();
    vi.advanceTimersByTime(3000);
    expect(kills).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(kills).toHaveLength(1);
  });

  it('never kills without request_terminate_timeout', () => {
    const { w, sent, kills } = watch(0);
    w.start();
    vi.advanceTimersByTime(60_000);
    expect(kills).toEqual([]);
    expect(sent.length).toBe(60);
    w.stop();
  });
});
