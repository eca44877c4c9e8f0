// This file implements `pm = "ondemand"` (issue 4) from the perspective of an HTTP client
// behind nginx and of an operator watching the processes: the pool starts with no worker, the
// first request forks one and is answered 200, the worker is stopped once it has been idle for
// pm.process_idle_timeout (not before), and the next request forks a new one again.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, liveWorkers, poolStatus } from './helpers/control.ts';
import { waitForRequestLog } from './helpers/logs.ts';
import { childPids } from './helpers/processes.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const IDLE_TIMEOUT_MS = 1000;

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'echo.sh', echoQueryScript());
    return {
      main: {
        ...defaultPool(root, fastcgiSocket),
        pm: 'ondemand',
        'pm.max_children': 2,
        'pm.process_idle_timeout': `${IDLE_TIMEOUT_MS}ms`,
      },
    };
  },
});

/**
 * One request: 200 with its body, served by a worker forked for it (the pool's `forks`-th; the
 * count stays when the worker has since been idle long enough to stop). Resolves with the
 * worker's pid and when the request was sent (before the worker could go idle).
 */
async function requestSpawnsOne(query: string, forks: number): Promise<{ pid: number; sentAt: number }> {
  const s = stack();
  const since = s.daemon.logs.length;
  const sentAt = Date.now();
  const response = await s.request(`/echo.sh?${query}`);
  expect([response.status, response.text]).toEqual([200, echoed(query)]);
  const pid = Number((await waitForRequestLog(s.daemon, 'echo.sh', since)).pid);
  const pool = await poolStatus(controlSocketIn(s.dir), 'main');
  expect(pool.restarts).toBe(forks);
  expect(liveWorkers(pool)).toBeLessThanOrEqual(1);
  expect(childPids(s.daemon.pid).every((p) => p === pid)).toBe(true);
  return { pid, sentAt };
}

/** Waits until the pool has no worker; resolves with when that was seen. */
async function waitForNoWorker(): Promise<number> {
  const s = stack();
  const control = controlSocketIn(s.dir);
  await waitUntil(
    'no worker left',
    async () => liveWorkers(await poolStatus(control, 'main')) === 0 && childPids(s.daemon.pid).length === 0,
    EVENT_TIMEOUT_MS,
    20,
  );
  return Date.now();
}

describe('pm = "ondemand" with pm.process_idle_timeout = 1s', () => {
  it('starts without workers, forks one per demand, and stops it after the idle timeout, twice', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const initial = await poolStatus(control, 'main');
    expect({ pm: initial.pm, live: liveWorkers(initial) }).toEqual({ pm: 'ondemand', live: 0 });
    expect(childPids(s.daemon.pid)).toEqual([]);

    const first = await requestSpawnsOne('first', 1);
    const goneAt = await waitForNoWorker();
    // Stopped because it was idle that long, not at once (a lower bound the daemon's own timer
    // sets: sound on any machine).
    expect(goneAt - first.sentAt).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);

    const second = await requestSpawnsOne('second', 2);
    expect(second.pid).not.toBe(first.pid);
    await waitForNoWorker();

    const pool = await poolStatus(control, 'main');
    expect(pool.accepted).toBe(2);
    expect(pool.backoff.state).toBe('none');
  });
});
