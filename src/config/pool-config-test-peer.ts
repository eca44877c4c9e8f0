// This file implements a PoolConfig for unit tests from the perspective of a test that only
// cares about a few fields: every other field has the config file's default. (Kept out of
// dist/ by tsconfig.build.json's `*-test-peer.ts` rule.)
import type { PoolConfig } from './schema.ts';

/** A pool named `test` with the defaults of an empty `[pools.test]` table, then `overrides`. */
export function testPoolConfig(overrides: Partial<PoolConfig> = {}): PoolConfig {
  return {
    name: 'test',
    listen: {
      address: { kind: 'unix', path: '/run/cgi-fpm/test.sock' }, mode: 0o660, backlog: 511, maxConnections: 1000,
      owner: undefined, group: undefined, allowedClients: undefined, mpxsConns: true,
    },
    root: '/srv',
    user: undefined,
    umask: undefined,
    match: ['**'],
    requireExecutable: true,
    runtime: 'exec',
    dispatch: 'relay',
    pm: {
      mode: 'static', maxChildren: 5, startServers: 2, minSpareServers: 1, maxSpareServers: 3,
      processIdleTimeoutMs: 10_000, maxRequests: 0, maxMemoryBytes: 0,
    },
    requestTerminateTimeoutMs: 60_000,
    requestSlowlogTimeoutMs: 0,
    slowlog: undefined,
    slowlogStack: true,
    status: { path: undefined, listen: undefined, pingPath: undefined, pingResponse: 'pong' },
    access: { log: undefined, format: '%R - %u %t "%m %r" %s' },
    queue: { max: 100, timeoutMs: 30_000 },
    overloadPage: undefined,
    env: {},
    clearEnv: true,
    stderr: 'log',
    exec: { killGroupAtEnd: true, worker: undefined },
    python: { executable: 'python3' },
    isolation: 'persistent',
    preload: [],
    state: { modules: 'reset', globals: 'reset' },
    handler: { module: undefined, concurrency: 1 },
    ...overrides,
  };
}
