// This file implements the tests of await-pools.ts from the perspective of `cgi-fpm start`
// under a service manager: READY only once every pool runs its initial workers, STATUS=degraded
// meanwhile, a timeout that fails the start, and a stop that ends the wait.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus, PoolStatus } from '../../supervisor/status.ts';
import type { NotifyMessage } from '../../systemd/notify-message.ts';
import { Readiness } from '../../systemd/readiness.ts';
import { awaitPools, type AwaitPoolsOptions } from './await-pools.ts';

function pool(name: string, idle: number): PoolStatus {
  return {
    name, pm: 'static', runtime: 'exec', idle, busy: 0, spawning: 0, maxChildren: 2, queueLength: 0,
    maxQueueLength: 0, queueMax: 10, maxQueueWaitMs: 0, totalQueueWaitMs: 0, accepted: 0, overloaded: 0,
    maxChildrenReached: 0, slowRequests: 0, restarts: 0, respawns: 0, scaleUps: 0, crashes: 0, killed: 0, recycled: 0,
    maxActive: 0, startedAtMs: 0, processes: [],
    backoff: { state: 'none', delayMs: 0, failures: 0 },
  };
}

function setUp(idle: () => number, timeoutMs: number | undefined, stopped = new Promise<void>(() => undefined)) {
  const sent: NotifyMessage[] = [];
  const status = (): DaemonStatus => ({
    pid: 1, state: 'running', configFile: '/c.toml', startedAtMs: 0, uptimeMs: 0, reloads: 0,
    pools: [pool('www', 2), pool('api', idle())],
  });
  const readiness = new Readiness({
    notifier: { send: (m) => { sent.push(m); }, flush: () => Promise.resolve() },
    watchdogIntervalMs: undefined, status, now: () => 0, monotonicUsec: () => 0n,
  });
  const options: AwaitPoolsOptions = {
    status, wanted: new Map([['www', 2], ['api', 2]]), readiness, log: pino({ level: 'silent' }),
    timeoutMs, stopped, now: () => Date.now(),
  };
  return { options, sent, readiness };
}

describe('awaitPools', () => {
  it('is ready at once when every pool runs its initial workers, and sends nothing itself', async () => {
    const { options, sent } = setUp(() => 2, 1000);
    expect(await awaitPools(options)).toEqual({ kind: 'ready' });
    expect(sent).toEqual([]);
  });

  it('says degraded until the short pool runs its workers, then ready', async () => {
    let idle = 0;
    const { options, sent } = setUp(() => idle, 0);
    const waiting = awaitPools(options);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent).toEqual([['STATUS=degraded: pool "api": 0 of 2 workers running; 1 of 2 pools ready, waiting']]);
    idle = 2;
    expect(await waiting).toEqual({ kind: 'ready' });
  });

  it('gives up past the bound, naming the short pools', async () => {
    const { options } = setUp(() => 1, 1);
    expect(await awaitPools(options)).toEqual({ kind: 'timeout', short: [{ pool: 'api', running: 1, wanted: 2 }] });
  });

  it('ends the wait when the daemon stops', async () => {
    const { options } = setUp(() => 0, 0, Promise.resolve());
    expect(await awaitPools(options)).toEqual({ kind: 'stopped' });
  });

  it('without a bound or a service manager, looks once and reports degraded', async () => {
    const { options, sent } = setUp(() => 0, undefined);
    expect(await awaitPools(options)).toEqual({ kind: 'degraded', short: [{ pool: 'api', running: 0, wanted: 2 }] });
    expect(sent).toEqual([]);
  });
});
