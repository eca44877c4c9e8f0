// This file implements the pool queue's bounds from the perspective of HTTP clients behind
// nginx when every worker is busy: past `queue.max` or after `queue.timeout` the daemon answers
// 503 with Retry-After itself (a CGI `Status: 503`, since nginx ignores FCGI_OVERLOADED) and
// logs "pool overloaded" with the reason. The busy worker runs a gated script the test holds,
// so what happens while it is busy is known, not guessed from the clock.
import { describe, expect, it } from 'vitest';
import { CONTROL_GLOBAL, controlSocketIn, poolStatus } from './helpers/control.ts';
import { GateSlot, released } from './helpers/gate.ts';
import { queuePools, waitForOverload, waitForQueue } from './helpers/queue-pools.ts';
import { useStack } from './helpers/use-stack.ts';

/** queue.timeout of pool "timed" (pool "full" lets a request wait a minute). */
const QUEUE_TIMEOUT_MS = 1000;

const gate = new GateSlot();
const stack = useStack({
  global: CONTROL_GLOBAL,
  pools: (paths) => queuePools(paths, gate, QUEUE_TIMEOUT_MS),
});

describe('1-worker pools with queue.max = 1', () => {
  it('answer 503 + Retry-After at once to a request that finds the queue full', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    try {
      const busy = s.request('/full/hold.sh?busy1');
      await gate.get().waitStarted('busy1');
      const queued = s.request('/full/hold.sh?queued1');
      await waitForQueue(control, 'full', 1);
      const overflow = await s.request('/full/hold.sh?overflow1');
      expect(overflow.status).toBe(503);
      expect(overflow.headers['retry-after']).toMatch(/^\d+$/);
      // Refused at once, not after waiting for the queue: answered while the worker is still
      // held and the queued request still waits, for the reason "queue full".
      const pool = await poolStatus(control, 'full');
      expect({ busy: pool.busy, queueLength: pool.queueLength }).toEqual({ busy: 1, queueLength: 1 });
      expect(await waitForOverload(s.daemon, 'full', 'queue full', since)).toMatchObject({
        queued: 1,
        queueMax: 1,
      });
      expect(await gate.get().started('overflow1')).toBeUndefined();

      // The worker freed, the queued request gets it.
      await gate.get().release('busy1');
      expect((await busy).text).toBe(released('busy1'));
      await gate.get().waitStarted('queued1');
      await gate.get().release('queued1');
      expect([(await queued).status, (await queued).text]).toEqual([200, released('queued1')]);
      expect(await gate.get().started('overflow1')).toBeUndefined();
    } finally {
      await gate.get().release('busy1', 'queued1', 'overflow1');
    }
  });

  it('answers 503 + Retry-After to a request still queued after queue.timeout', async () => {
    const s = stack();
    const control = controlSocketIn(s.dir);
    const since = s.daemon.logs.length;
    try {
      let busyAnswered = false;
      const busy = s.request('/timed/hold.sh?busy2').finally(() => {
        busyAnswered = true;
      });
      await gate.get().waitStarted('busy2');
      const started = Date.now();
      const waited = await s.request('/timed/hold.sh?waited2');
      const elapsed = Date.now() - started;
      expect(waited.status).toBe(503);
      expect(waited.headers['retry-after']).toMatch(/^\d+$/);
      // Not before queue.timeout (a bound the daemon's own timer sets, sound on any machine)...
      expect(elapsed).toBeGreaterThanOrEqual(QUEUE_TIMEOUT_MS - 100);
      // ...and because of it: the worker was held all along, the request never ran.
      expect(busyAnswered).toBe(false);
      expect((await poolStatus(control, 'timed')).busy).toBe(1);
      expect(await gate.get().started('waited2')).toBeUndefined();
      await waitForOverload(s.daemon, 'timed', 'queue timeout', since);

      await gate.get().release('busy2');
      expect((await busy).status).toBe(200);
      await gate.get().release('after2');
      const after = await s.request('/timed/hold.sh?after2');
      expect([after.status, after.text]).toEqual([200, released('after2')]);
    } finally {
      await gate.get().release('busy2', 'waited2', 'after2');
    }
  });
});
