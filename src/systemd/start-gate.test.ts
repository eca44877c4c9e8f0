// This file implements the tests of start-gate.ts from the perspective of systemd deciding
// whether the daemon started: ready only when every pool runs its initial workers, and a
// STATUS line naming each pool short of them with the cause.
import { describe, expect, it } from 'vitest';
import type { DaemonStatus, PoolStatus } from '../supervisor/status.ts';
import { degradedText, poolShortfalls } from './start-gate.ts';

function pool(name: string, idle: number, busy: number, lastFailure?: string): PoolStatus {
  return {
    name, pm: 'static', runtime: 'handler', idle, busy, spawning: 0, maxChildren: 2, queueLength: 0,
    maxQueueLength: 0, queueMax: 10, maxQueueWaitMs: 0, totalQueueWaitMs: 0, accepted: 0, overloaded: 0,
    maxChildrenReached: 0, slowRequests: 0, restarts: 0, respawns: 0, scaleUps: 0, crashes: 0, killed: 0, recycled: 0,
    maxActive: 0, startedAtMs: 0, processes: [],
    backoff: lastFailure === undefined
      ? { state: 'none', delayMs: 0, failures: 0 }
      : { state: 'backing-off', delayMs: 1000, failures: 2, lastFailure },
  };
}

function daemon(...pools: PoolStatus[]): DaemonStatus {
  return { pid: 1, state: 'running', configFile: '/c.toml', startedAtMs: 0, uptimeMs: 0, reloads: 0, pools };
}

const wanted = new Map([['www', 2], ['api', 2], ['lazy', 0]]);

describe('poolShortfalls', () => {
  it('is empty when every pool runs its initial workers (busy ones count; ondemand wants none)', () => {
    expect(poolShortfalls(daemon(pool('www', 1, 1), pool('api', 2, 0), pool('lazy', 0, 0)), wanted)).toEqual([]);
  });

  it('names each pool short of them, with the cause of its last failed start', () => {
    const status = daemon(pool('www', 2, 0), pool('api', 0, 0, 'runtime: handler: cannot load "/srv/api/app.js": boom'), pool('lazy', 0, 0));
    const short = poolShortfalls(status, wanted);
    expect(short).toEqual([{ pool: 'api', running: 0, wanted: 2, cause: 'runtime: handler: cannot load "/srv/api/app.js": boom' }]);
    expect(degradedText(short, 3, 60_000)).toBe(
      'degraded: pool "api": 0 of 2 workers running (runtime: handler: cannot load "/srv/api/app.js": boom); 2 of 3 pools ready, waiting up to 60s',
    );
  });

  it('lists several pools, and a pool still starting without a cause', () => {
    const short = poolShortfalls(daemon(pool('www', 1, 0), pool('api', 0, 0, 'x')), wanted);
    expect(degradedText(short, 2, undefined)).toBe(
      'degraded: pool "www": 1 of 2 workers running; pool "api": 0 of 2 workers running (x); 0 of 2 pools ready, waiting',
    );
  });
});
