// This file implements the operator's own overload page (issue 4, `overload_page`) from the
// perspective of HTTP clients behind nginx that find a pool's queue full, or wait in it past
// queue.timeout: both get 503 with Retry-After and the operator's HTML (not the built-in page),
// at once for a full queue (while the request ahead of it still waits), after the timeout for
// a waiting one (while the worker is still busy); the pools count them. The busy worker runs a
// gated script the test holds, so the order of events is known, not guessed from the clock.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { GateSlot, released } from './helpers/gate.ts';
import type { HttpResponse } from './helpers/http.ts';
import { QUEUE_POOLS, queuePools, waitForOverload, waitForQueue } from './helpers/queue-pools.ts';
import { useStack } from './helpers/use-stack.ts';

const PAGE = '<!doctype html>\n<title>Busy</title>\n<p>We are busy: please try again in a moment.</p>\n';
/** queue.timeout of pool "timed" (pool "full" lets a request wait a minute). */
const QUEUE_TIMEOUT_MS = 1000;

const gate = new GateSlot();
const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async (paths) => {
    // Relative to the config file's directory.
    await writeFile(join(paths.dir, 'busy.html'), PAGE);
    return queuePools(paths, gate, QUEUE_TIMEOUT_MS, { overload_page: 'busy.html' });
  },
});

function expectOverloadPage(response: HttpResponse): void {
  expect(response.status).toBe(503);
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(response.headers['content-type']).toMatch(/^text\/html/);
  expect(response.text).toBe(PAGE);
}

describe('overload_page = "busy.html" on 1-worker pools with queue.max = 1', () => {
  it('answers a full queue at once and a queue timeout after 1 s with 503, Retry-After and the page', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    const names = ['busy-f', 'queued-f', 'full', 'busy-t', 'queued-t', 'after-f', 'after-t'];
    try {
      // Queue full: the worker held, one request waiting (for up to a minute), one more comes.
      const busyFull = s.request('/full/hold.sh?busy-f');
      await gate.get().waitStarted('busy-f');
      const queuedFull = s.request('/full/hold.sh?queued-f');
      await waitForQueue(control, 'full', 1);
      expectOverloadPage(await s.request('/full/hold.sh?full'));
      // At once: the request ahead of it still waits and the worker is still held.
      expect(await poolStatus(control, 'full')).toMatchObject({ busy: 1, queueLength: 1 });

      // Queue timeout: the worker held, one request waiting past queue.timeout.
      let busyTimedAnswered = false;
      const busyTimed = s.request('/timed/hold.sh?busy-t').finally(() => {
        busyTimedAnswered = true;
      });
      await gate.get().waitStarted('busy-t');
      const queuedAt = Date.now();
      const queuedTimed = await s.request('/timed/hold.sh?queued-t');
      const queuedElapsed = Date.now() - queuedAt;
      expectOverloadPage(queuedTimed);
      // Not before queue.timeout (the daemon's own timer), and because of it: the worker is
      // still held, the waiting request never ran.
      expect(queuedElapsed).toBeGreaterThanOrEqual(QUEUE_TIMEOUT_MS - 100);
      expect(busyTimedAnswered).toBe(false);
      expect(await gate.get().started('queued-t')).toBeUndefined();

      await waitForOverload(s.daemon, 'full', 'queue full', since);
      await waitForOverload(s.daemon, 'timed', 'queue timeout', since);
      for (const name of QUEUE_POOLS) {
        const pool = await poolStatus(control, name);
        expect({ name, overloaded: pool.overloaded, maxQueueLength: pool.maxQueueLength }).toEqual({
          name,
          overloaded: 1,
          maxQueueLength: 1,
        });
      }

      // Once the workers are free, the pools serve again (the queued request of "full" first).
      await gate.get().release('busy-f', 'queued-f', 'busy-t', 'after-f', 'after-t');
      expect((await busyFull).status).toBe(200);
      expect([(await queuedFull).status, (await queuedFull).text]).toEqual([200, released('queued-f')]);
      expect((await busyTimed).status).toBe(200);
      expect((await s.request('/full/hold.sh?after-f')).status).toBe(200);
      expect((await s.request('/timed/hold.sh?after-t')).status).toBe(200);
      expect(await gate.get().started('full')).toBeUndefined();
    } finally {
      await gate.get().release(...names);
    }
  });
});
