// This file implements the tests of notify-message.ts from the perspective of systemd reading
// the assignments and an operator reading the status line in `systemctl status`.
import { describe, expect, it } from 'vitest';
import type { DaemonStatus, PoolStatus } from '../supervisor/status.ts';
import {
  readyMessage,
  reloadingMessage,
  statusMessage,
  statusText,
  stoppingMessage,
  watchdogMessage,
} from './notify-message.ts';

function pool(name: string, counts: Partial<PoolStatus>): PoolStatus {
  return {
    name,
    pm: 'static',
    runtime: 'exec',
    idle: 0,
    busy: 0,
    spawning: 0,
    maxChildren: 4,
    queueLength: 0,
    maxQueueLength: 0,
    queueMax: 10,
    maxQueueWaitMs: 0,
    totalQueueWaitMs: 0,
    accepted: 0,
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
    ...counts,
  };
}

function daemon(pools: PoolStatus[]): DaemonStatus {
  return {
    pid: 1,
    state: 'running',
    configFile: '/etc/x.toml',
    startedAtMs: 0,
    uptimeMs: 0,
    reloads: 0,
    pools,
  };
}

describe('statusText', () => {
  it.each([
    [[pool('a', { idle: 2 })], 0, '1 pool, workers: 0 busy, 2 idle; 0.0 req/s'],
    [
      [pool('a', { idle: 1, busy: 2 }), pool('b', { idle: 3, busy: 1 })],
      12.46,
      '2 pools, workers: 3 busy, 4 idle; 12.5 req/s',
    ],
    [
      [pool('a', { busy: 4, queueLength: 3 }), pool('b', { spawning: 2 })],
      100,
      '2 pools, workers: 4 busy, 0 idle, 2 starting, 3 queued; 100.0 req/s',
    ],
    [[], 0, '0 pools, workers: 0 busy, 0 idle; 0.0 req/s'],
  ])('%#: %s', (pools, rate, text) => {
    expect(statusText(daemon(pools), rate)).toBe(text);
  });
});

describe('messages', () => {
  it('READY=1 goes with the status', () => {
    expect(readyMessage('1 pool')).toEqual(['READY=1', 'STATUS=1 pool']);
  });

  it('a status is one line', () => {
    expect(statusMessage('a\nb\r\nc')).toEqual(['STATUS=a b c']);
  });

  it('RELOADING=1 carries CLOCK_MONOTONIC in µs', () => {
    expect(reloadingMessage(123_456_789n)).toEqual([
      'RELOADING=1',
      'MONOTONIC_USEC=123456789',
      'STATUS=reloading the config',
    ]);
  });

  it('STOPPING=1 and WATCHDOG=1', () => {
    expect(stoppingMessage()).toEqual(['STOPPING=1', 'STATUS=stopping: finishing requests in flight']);
    expect(watchdogMessage()).toEqual(['WATCHDOG=1']);
  });
});
