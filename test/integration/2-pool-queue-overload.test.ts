// This file implements the pool queue's bounds from the perspective of HTTP clients behind
// nginx when every worker is busy: past `queue.max` or after `queue.timeout` the daemon answers
// 503 with Retry-After itself (a CGI `Status: 503`, since nginx ignores FCGI_OVERLOADED) and
// logs "pool overloaded".
import { describe, expect, it } from 'vitest';
import { waitForEvent } from './helpers/logs.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

// One worker, a queue of one place that waits at most 1 s.
const stack = useStack({
  pools: ({ root, fastcgiSocket }) => ({
    main: {
      ...defaultPool(root, fastcgiSocket),
      pm: { max_children: 1 },
      'queue.max': 1,
      'queue.timeout': '1s',
    },
  }),
});

describe('a 1-worker pool with queue.max = 1 and queue.timeout = 1s', () => {
  it('answers 503 + Retry-After to a request that finds the queue full', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const busy = stack().request('/slow-2s.sh?n=busy', { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const queued = stack().request('/slow-2s.sh?n=queued', { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const overflow = await stack().request('/get-echo.py?n=overflow', { timeoutMs: 20_000 });
    expect(overflow.status).toBe(503);
    expect(overflow.headers['retry-after']).toMatch(/^\d+$/);
    // Refused at once, not after waiting for the queue.
    expect(Date.now() - started).toBeLessThan(900);
    await waitForEvent(daemon, 'pool overloaded', since);
    expect((await busy).status).toBe(200);
    // The queued request could not get the worker within queue.timeout (1 s): 503 too.
    expect((await queued).status).toBe(503);
  });

  it('answers 503 + Retry-After to a request still queued after queue.timeout', async () => {
    const { daemon } = stack();
    const since = daemon.logs.length;
    const busy = stack().request('/slow-2s.sh?n=busy2', { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const waited = await stack().request('/get-echo.py?n=waited', { timeoutMs: 20_000 });
    const elapsed = Date.now() - started;
    expect(waited.status).toBe(503);
    expect(waited.headers['retry-after']).toMatch(/^\d+$/);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1700);
    await waitForEvent(daemon, 'pool overloaded', since);
    expect((await busy).status).toBe(200);
    const after = await stack().request('/get-echo.py?n=after');
    expect(after.status).toBe(200);
  });
});
