// This file implements the operator's own overload page (issue 4, `overload_page`) from the
// perspective of HTTP clients behind nginx that find the pool's queue full, or wait in it past
// queue.timeout: both get 503 with Retry-After and the operator's HTML (not the built-in page),
// at once for a full queue, after the timeout for a waiting one; the pool counts them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { waitForEvent } from './helpers/logs.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';

const PAGE = '<!doctype html>\n<title>Busy</title>\n<p>We are busy: please try again in a moment.</p>\n';

const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    // Relative to the config file's directory.
    await writeFile(join(dir, 'busy.html'), PAGE);
    return {
      main: {
        ...defaultPool(root, fastcgiSocket),
        pm: { max_children: 1 },
        'queue.max': 1,
        'queue.timeout': '1s',
        overload_page: 'busy.html',
      },
    };
  },
});

describe('overload_page = "busy.html" on a 1-worker pool with queue.max = 1, queue.timeout = 1s', () => {
  it('answers a full queue at once and a queue timeout after 1 s with 503, Retry-After and the page', async () => {
    const s = stack();
    const since = s.daemon.logs.length;
    const busy = s.request('/slow-2s.sh?busy', { timeoutMs: 15_000 });
    await delay(300);
    const queuedAt = Date.now();
    const queued = s
      .request('/hello.sh?queued', { timeoutMs: 15_000 })
      .then((r) => ({ r, elapsed: Date.now() - queuedAt }));
    await delay(300);
    const fullAt = Date.now();
    const full = await s.request('/hello.sh?full', { timeoutMs: 15_000 });
    const fullElapsed = Date.now() - fullAt;

    for (const response of [full, (await queued).r]) {
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.text).toBe(PAGE);
    }
    expect(fullElapsed).toBeLessThan(900);
    expect((await queued).elapsed).toBeGreaterThanOrEqual(900);
    expect((await queued).elapsed).toBeLessThan(1900);
    expect((await busy).status).toBe(200);

    const overloaded = await waitForEvent(s.daemon, 'pool overloaded', since);
    expect(overloaded.pool).toBe('main');
    const pool = await poolStatus(controlSocketIn(s.dir), 'main');
    expect(pool.overloaded).toBe(2);
    expect(pool.maxQueueLength).toBe(1);
    // Once the worker is free, the pool serves again.
    expect((await s.request('/hello.sh')).status).toBe(200);
  });
});
