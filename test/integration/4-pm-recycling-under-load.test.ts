// This file implements worker recycling (issue 4) from the perspective of HTTP clients behind
// nginx looping on two pools: one with `pm.max_requests = 5`, one with a `pm.max_memory` no
// worker can stay under ("1MB", so every worker asks to be replaced after each request).
// Recycling is graceful: not one request fails, and it shows in `cgi-fpm status` (`recycled`,
// `restarts`) and in the log ("worker recycled" with its reason).
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, daemonStatus, poolOf } from './helpers/control.ts';
import { expect200, runLoad } from './helpers/load.ts';
import { echoed, echoQueryScript, writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { join } from 'node:path';

const MAX_REQUESTS = 5;
const REQUESTS_PER_CLIENT = 15;
const MEMORY_REQUESTS_PER_CLIENT = 8;

const stack = useStack({
  global: CONTROL_GLOBAL,
  keepAlive: true,
  pools: async ({ root, fastcgiSocket }) => {
    await writeScript(root, 'requests/echo.sh', echoQueryScript());
    await writeScript(root, 'memory/echo.sh', echoQueryScript());
    return {
      requests: {
        ...defaultPool(join(root, 'requests'), fastcgiSocket),
        pm: { max_children: 2, max_requests: MAX_REQUESTS },
      },
      memory: {
        ...defaultPool(join(root, 'memory'), fastcgiSocket),
        pm: { max_children: 2, max_memory: '1MB' },
      },
    };
  },
});

describe('recycling by pm.max_requests = 5 and pm.max_memory = "1MB" under a loop of requests', () => {
  // Every request to "memory" costs a worker start: a loaded machine may take a while.
  it('fails no request and shows the recycling in status and logs', { timeout: 180_000 }, async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    // Two clients on each pool at once. Every request to "memory" ends with its worker
    // replaced, so fewer there: each replacement costs a worker start.
    const loop = (pool: string, requests: number) =>
      runLoad({
        clients: 2,
        // Bounded by the request count; the duration only stops a runaway loop.
        durationMs: 170_000,
        maxRequestsPerClient: requests,
        send: (c, i) => s.request(`/${pool}/echo.sh?${pool}${c}-${i}`),
        check: (response, c, i) => expect200(response, echoed(`${pool}${c}-${i}`)),
      });
    const [byCount, bySize] = await Promise.all([
      loop('requests', REQUESTS_PER_CLIENT),
      loop('memory', MEMORY_REQUESTS_PER_CLIENT),
    ]);
    expect([...byCount.failures, ...bySize.failures]).toEqual([]);
    expect(byCount.ok + bySize.ok).toBe(2 * (REQUESTS_PER_CLIENT + MEMORY_REQUESTS_PER_CLIENT));

    const status = await daemonStatus(controlSocketIn(s.dir));
    const byRequests = poolOf(status, 'requests');
    const byMemory = poolOf(status, 'memory');
    // 30 requests over workers that serve at most 5 each: at least 30 / 5 - 2 recycled.
    expect(byRequests.recycled).toBeGreaterThanOrEqual((2 * REQUESTS_PER_CLIENT) / MAX_REQUESTS - 2);
    expect(byRequests.restarts).toBeGreaterThanOrEqual(byRequests.recycled);
    expect(byMemory.recycled).toBeGreaterThan(0);
    expect(byMemory.restarts).toBeGreaterThan(0);
    for (const pool of [byRequests, byMemory]) expect(pool.backoff.state).toBe('none');

    const recycled = s.daemon.logs.slice(since).filter((e) => e.msg === 'worker recycled');
    const reasons = new Set(recycled.map((e) => `${String(e.pool)}:${String(e.reason)}`));
    expect([...reasons].sort()).toEqual(['memory:max_memory', 'requests:max_requests']);
    const memoryLine = recycled.find((e) => e.reason === 'max_memory');
    expect(memoryLine?.rssBytes).toBeGreaterThan(1024 * 1024);
    // A worker serves pm.max_requests requests at most (minus its jitter), never more.
    const served = recycled.filter((e) => e.reason === 'max_requests').map((e) => e.served);
    expect(
      served.every((n) => typeof n === 'number' && n >= 1 && n <= MAX_REQUESTS),
      `served before recycling: ${served.join(', ')}`,
    ).toBe(true);
    // No request was answered by the supervisor for a worker that went away.
    const errors = s.daemon.logs
      .slice(since)
      .filter((e) => e.msg === 'worker exited' || (e.msg === 'request' && e.status !== 200));
    expect(errors).toEqual([]);
  });
});
