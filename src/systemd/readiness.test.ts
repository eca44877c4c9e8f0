// This file implements the tests of readiness.ts from the perspective of systemd and s6
// watching the daemon's life: READY once, STATUS refreshed while running, RELOADING … READY
// around reloads, STOPPING, WATCHDOG pings, and nothing at all when nobody listens.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DaemonStatus, PoolStatus } from '../supervisor/status.ts';
import type { NotifyMessage } from './notify-message.ts';
import type { Notifier, NotifyKind } from './notify.ts';
import { Readiness, type ReadinessDeps } from './readiness.ts';

class RecordingNotifier implements Notifier {
  readonly sent: { message: NotifyMessage; kind: NotifyKind }[] = [];
  flushedWith: number | undefined;
  send(message: NotifyMessage, kind: NotifyKind = 'lifecycle'): void {
    this.sent.push({ message, kind });
  }
  flush(timeoutMs: number): Promise<void> {
    this.flushedWith = timeoutMs;
    return Promise.resolve();
  }
  messages(): NotifyMessage[] {
    return this.sent.map((s) => s.message);
  }
}

let accepted = 0;
let busy = 0;

function status(): DaemonStatus {
  const pool: PoolStatus = {
    name: 'www',
    pm: 'static',
    runtime: 'exec',
    idle: 2 - busy,
    busy,
    spawning: 0,
    maxChildren: 2,
    queueLength: 0,
    maxQueueLength: 0,
    queueMax: 10,
    maxQueueWaitMs: 0,
    totalQueueWaitMs: 0,
    accepted,
    overloaded: 0,
    maxChildrenReached: 0,
    slowRequests: 0,
    restarts: 0,
    respawns: 0,
    scaleUps: 0,
    crashes: 0,
    killed: 0,
    recycled: 0,
    maxActive: 0,
    startedAtMs: 0,
    processes: [],
    backoff: { state: 'none', delayMs: 0, failures: 0 },
  };
  return {
    pid: 1,
    state: 'running',
    configFile: '/x.toml',
    startedAtMs: 0,
    uptimeMs: 0,
    reloads: 0,
    pools: [pool],
  };
}

function setUp(overrides: Partial<ReadinessDeps> = {}): {
  readiness: Readiness;
  notifier: RecordingNotifier;
} {
  const notifier = new RecordingNotifier();
  const readiness = new Readiness({
    notifier,
    watchdogIntervalMs: undefined,
    status,
    now: () => Date.now(),
    monotonicUsec: () => 5_000_000n,
    ...overrides,
  });
  return { readiness, notifier };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  accepted = 0;
  busy = 0;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Readiness', () => {
  it('says READY=1 with the status once, then refreshes STATUS every 5 s while it changes', () => {
    const { readiness, notifier } = setUp();
    readiness.ready();
    readiness.ready();
    expect(notifier.messages()).toEqual([['READY=1', 'STATUS=1 pool, workers: 0 busy, 2 idle; 0.0 req/s']]);
    accepted = 50;
    busy = 1;
    vi.advanceTimersByTime(5000);
    expect(notifier.sent.at(-1)).toEqual({
      message: ['STATUS=1 pool, workers: 1 busy, 1 idle; 10.0 req/s'],
      kind: 'status',
    });
    vi.advanceTimersByTime(5000);
    expect(notifier.sent.at(-1)?.message).toEqual(['STATUS=1 pool, workers: 1 busy, 1 idle; 0.0 req/s']);
    vi.advanceTimersByTime(5000);
    expect(notifier.sent).toHaveLength(3);
  });

  it('while degraded sends STATUS= without READY=1, once per change, and nothing after READY', () => {
    const { readiness, notifier } = setUp();
    readiness.degraded('degraded: pool "a": 0 of 2 workers running');
    readiness.degraded('degraded: pool "a": 0 of 2 workers running');
    readiness.degraded('degraded: pool "a": 1 of 2 workers running');
    expect(notifier.sent).toEqual([
      { message: ['STATUS=degraded: pool "a": 0 of 2 workers running'], kind: 'status' },
      { message: ['STATUS=degraded: pool "a": 1 of 2 workers running'], kind: 'status' },
    ]);
    readiness.ready();
    readiness.degraded('degraded: late');
    expect(notifier.messages().slice(2)).toEqual([['READY=1', 'STATUS=1 pool, workers: 0 busy, 2 idle; 0.0 req/s']]);
  });

  it('wraps each reload in RELOADING=1 (with MONOTONIC_USEC) … READY=1', () => {
    const { readiness, notifier } = setUp();
    readiness.reloading();
    expect(notifier.sent).toEqual([]);
    readiness.ready();
    readiness.reloading();
    readiness.reloaded();
    readiness.reloading();
    readiness.reloaded();
    expect(notifier.messages().map((m) => m[0])).toEqual([
      'READY=1',
      'RELOADING=1',
      'READY=1',
      'RELOADING=1',
      'READY=1',
    ]);
    expect(notifier.messages()[1]).toEqual([
      'RELOADING=1',
      'MONOTONIC_USEC=5000000',
      'STATUS=reloading the config',
    ]);
  });

  it('says STOPPING=1 once, then nothing more: no READY after a reload cut short, no timers', () => {
    const { readiness, notifier } = setUp({ watchdogIntervalMs: 1000 });
    readiness.ready();
    readiness.reloading();
    readiness.stopping();
    readiness.stopping();
    readiness.reloaded();
    const count = notifier.sent.length;
    vi.advanceTimersByTime(60_000);
    expect(notifier.sent).toHaveLength(count);
    expect(notifier.messages().map((m) => m[0])).toEqual([
      'READY=1',
      'WATCHDOG=1',
      'RELOADING=1',
      'STOPPING=1',
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pings the watchdog at its interval from READY on', () => {
    const { readiness, notifier } = setUp({ watchdogIntervalMs: 2000 });
    readiness.ready();
    vi.advanceTimersByTime(6000);
    const pings = notifier.sent.filter((s) => s.kind === 'watchdog');
    expect(pings).toHaveLength(4);
    expect(pings[0]?.message).toEqual(['WATCHDOG=1']);
  });

  it('tells s6 once (onReady), even without systemd, and sets no timer then', () => {
    const onReady = vi.fn();
    const readiness = new Readiness({
      notifier: undefined,
      watchdogIntervalMs: undefined,
      status,
      now: () => Date.now(),
      monotonicUsec: () => 0n,
      onReady,
    });
    readiness.ready();
    readiness.reloading();
    readiness.reloaded();
    expect(onReady).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close stops the timers and flushes the notifier within its bound', async () => {
    const { readiness, notifier } = setUp({ watchdogIntervalMs: 1000 });
    readiness.ready();
    await readiness.close(2000);
    expect(vi.getTimerCount()).toBe(0);
    expect(notifier.flushedWith).toBe(2000);
  });

  it('never reports a negative rate when a reload replaced the pools', () => {
    const { readiness, notifier } = setUp();
    accepted = 100;
    readiness.ready();
    accepted = 0;
    busy = 2;
    vi.advanceTimersByTime(5000);
    expect(notifier.sent.at(-1)?.message).toEqual(['STATUS=1 pool, workers: 2 busy, 0 idle; 0.0 req/s']);
  });
});
