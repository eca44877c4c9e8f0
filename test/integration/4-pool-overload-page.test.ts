// This file implements the operator's own overload page (issue 4, `overload_page`) from the
// perspective of HTTP clients behind nginx that find a pool's queue full, or wait in it past
// queue.timeout: both get 503 with Retry-After and the operator's HTML (not the built-in page),
// at once for a full queue (while the request ahead of it still waits), after the timeout for
// a waiting one (while the worker is still busy); the pools count them. The busy worker runs a
// gated script the test holds, so the order of events is known, not guessed from the clock.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TomlDocument } from './helpers/config-file.ts';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { Gate, released } from './helpers/gate.ts';
import type { HttpResponse } from './helpers/http.ts';
import { writeScript } from './helpers/scripts.ts';
import { defaultPool } from './helpers/stack.ts';
import { useStack } from './helpers/use-stack.ts';
import { EVENT_TIMEOUT_MS, waitUntil } from './helpers/wait.ts';

const PAGE = '<!doctype html>\n<title>Busy</title>\n<p>We are busy: please try again in a moment.</p>\n';
const QUEUE_TIMEOUT_MS = 1000;

let gate: Gate | undefined;
const held = (): Gate => {
  if (gate === undefined) throw new Error('gate: not opened (see the beforeAll error)');
  return gate;
};

// Two 1-worker pools with a queue of one place and the same page: "full" lets a request wait a
// minute in its queue (so it is still there, whatever the machine, when the next one comes),
// "timed" 1 s.
const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: async ({ dir, root, fastcgiSocket }) => {
    gate = await Gate.open(join(dir, 'gate'));
    // Relative to the config file's directory.
    await writeFile(join(dir, 'busy.html'), PAGE);
    const pools: Record<string, TomlDocument> = {};
    for (const [name, timeout] of [
      ['full', '60s'],
      ['timed', `${QUEUE_TIMEOUT_MS}ms`],
    ] as const) {
      await writeScript(root, `${name}/hold.sh`, held().shScript());
      pools[name] = {
        ...defaultPool(join(root, name), fastcgiSocket),
        pm: { max_children: 1 },
        'queue.max': 1,
        'queue.timeout': timeout,
        overload_page: 'busy.html',
      };
    }
    return pools;
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
      await held().waitStarted('busy-f');
      const queuedFull = s.request('/full/hold.sh?queued-f');
      await waitUntil(
        'a request queued in pool full',
        async () => (await poolStatus(control, 'full')).queueLength === 1,
        EVENT_TIMEOUT_MS,
        20,
      );
      expectOverloadPage(await s.request('/full/hold.sh?full'));
      // At once: the request ahead of it still waits and the worker is still held.
      expect(await poolStatus(control, 'full')).toMatchObject({ busy: 1, queueLength: 1 });

      // Queue timeout: the worker held, one request waiting past queue.timeout.
      let busyTimedAnswered = false;
      const busyTimed = s.request('/timed/hold.sh?busy-t').finally(() => {
        busyTimedAnswered = true;
      });
      await held().waitStarted('busy-t');
      const queuedAt = Date.now();
      const queuedTimed = await s.request('/timed/hold.sh?queued-t');
      const queuedElapsed = Date.now() - queuedAt;
      expectOverloadPage(queuedTimed);
      // Not before queue.timeout (the daemon's own timer), and because of it: the worker is
      // still held, the waiting request never ran.
      expect(queuedElapsed).toBeGreaterThanOrEqual(QUEUE_TIMEOUT_MS - 100);
      expect(busyTimedAnswered).toBe(false);
      expect(await held().started('queued-t')).toBeUndefined();

      for (const [pool, reason] of [
        ['full', 'queue full'],
        ['timed', 'queue timeout'],
      ]) {
        await s.daemon.waitForLog(
          (e) => e.msg === 'pool overloaded' && e.pool === pool && e.reason === reason,
          EVENT_TIMEOUT_MS,
          since,
        );
      }
      for (const name of ['full', 'timed']) {
        const pool = await poolStatus(control, name);
        expect({ name, overloaded: pool.overloaded, maxQueueLength: pool.maxQueueLength }).toEqual({
          name,
          overloaded: 1,
          maxQueueLength: 1,
        });
      }

      // Once the workers are free, the pools serve again (the queued request of "full" first).
      await held().release('busy-f', 'queued-f', 'busy-t', 'after-f', 'after-t');
      expect((await busyFull).status).toBe(200);
      expect([(await queuedFull).status, (await queuedFull).text]).toEqual([200, released('queued-f')]);
      expect((await busyTimed).status).toBe(200);
      expect((await s.request('/full/hold.sh?after-f')).status).toBe(200);
      expect((await s.request('/timed/hold.sh?after-t')).status).toBe(200);
      expect(await held().started('full')).toBeUndefined();
    } finally {
      await held().release(...names);
    }
  });
});
