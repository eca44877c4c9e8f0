// This file implements a DaemonStatus for unit tests from the perspective of a test of the
// control socket or of `cgi-fpm status`: a plausible daemon with one pool, fields overridable.
// (Kept out of dist/ by tsconfig.build.json's `*-test-peer.ts` rule.)
import type { DaemonStatus, PoolStatus } from './status.ts';

/** A `static` exec pool named `blog` that has served a few requests, then `overrides`. */
export function testPoolStatus(overrides: Partial<PoolStatus> = {}): PoolStatus {
  return {
    name: 'blog',
    pm: 'static',
    runtime: 'exec',
    idle: 3,
    busy: 1,
    spawning: 0,
    maxChildren: 4,
    queueLength: 2,
    maxQueueLength: 7,
    queueMax: 100,
    maxQueueWaitMs: 1500,
    totalQueueWaitMs: 3000,
    accepted: 1200,
    overloaded: 5,
    maxChildrenReached: 9,
    slowRequests: 1,
    restarts: 2,
    respawns: 1,
    scaleUps: 1,
    crashes: 1,
    killed: 0,
    recycled: 1,
    maxActive: 3,
    startedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    processes: [],
    backoff: { state: 'none', delayMs: 0, failures: 0 },
    ...overrides,
  };
}

/** A running daemon started at 2026-01-02T03:04:05Z, up 1 h 2 min 3 s, then `overrides`. */
export function testDaemonStatus(overrides: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    pid: 4242,
    state: 'running',
    configFile: '/etc/cgi-fpm/cgi-fpm.toml',
    startedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    uptimeMs: 3_723_000,
    reloads: 1,
    pools: [testPoolStatus()],
    ...overrides,
  };
}
